//! Teams (<https://api.mattermost.com/#tag/teams>).

use serde::{Deserialize, Serialize};

use crate::mattermost::ids::TeamId;

/// A team (`model.Team`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Team {
    /// Creation time, Unix milliseconds.
    #[serde(default)]
    pub create_at: i64,
    /// Deletion time (0 when live).
    #[serde(default)]
    pub delete_at: i64,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// The team's id.
    pub id: TeamId,
    /// URL name (the `team_domain` of callbacks).
    pub name: String,
    /// `O` (open) or `I` (invite only).
    #[serde(default, rename = "type")]
    pub team_type: String,
    /// Last update time, Unix milliseconds.
    #[serde(default)]
    pub update_at: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
