//! Teams (<https://api.mattermost.com/#tag/teams>).

use serde::{Deserialize, Serialize};

use crate::mattermost::ids::TeamId;

/// A team (`model.Team`).
///
/// API: <https://api.mattermost.com/#tag/teams/operation/GetTeam>.
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

/// The body of `POST /teams`.
///
/// API: <https://api.mattermost.com/#tag/teams/operation/CreateTeam>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewTeam {
    /// Display name.
    pub display_name: String,
    /// URL name.
    pub name: String,
    /// `O` (open) or `I` (invite only).
    #[serde(rename = "type")]
    pub team_type: String,
}

impl NewTeam {
    /// A new team of type `team_type` (`O` or `I`).
    ///
    /// API: <https://api.mattermost.com/#tag/teams/operation/CreateTeam>.
    pub fn new(
        name: impl Into<String>,
        display_name: impl Into<String>,
        team_type: impl Into<String>,
    ) -> Self {
        NewTeam {
            display_name: display_name.into(),
            name: name.into(),
            team_type: team_type.into(),
        }
    }
}

/// Fields to change with `PUT /teams/{team_id}/patch`; only set fields are sent.
///
/// API: <https://api.mattermost.com/#tag/teams/operation/PatchTeam>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeamPatch {
    /// Anyone may join.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_open_invite: Option<bool>,
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Invite id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_id: Option<String>,
}

/// A user's membership in a team (`model.TeamMember`).
///
/// API: <https://api.mattermost.com/#tag/teams/operation/GetTeamMember>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeamMember {
    /// Removal time (0 when a member).
    #[serde(default)]
    pub delete_at: i64,
    /// Explicitly granted roles.
    #[serde(default)]
    pub explicit_roles: String,
    /// Space-separated roles.
    #[serde(default)]
    pub roles: String,
    /// Scheme admin.
    #[serde(default)]
    pub scheme_admin: bool,
    /// Scheme user.
    #[serde(default)]
    pub scheme_user: bool,
    /// The team.
    pub team_id: TeamId,
    /// The user.
    pub user_id: crate::mattermost::UserId,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Team statistics (`GET /teams/{team_id}/stats`).
///
/// API: <https://api.mattermost.com/#tag/teams/operation/GetTeamStats>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeamStats {
    /// Active members.
    #[serde(default)]
    pub active_member_count: i64,
    /// The team.
    pub team_id: TeamId,
    /// All members.
    #[serde(default)]
    pub total_member_count: i64,
}

/// The answer of `POST /teams/search` with paging (`{"teams": [...], "total_count": n}`), or a
/// plain list without.
///
/// API: <https://api.mattermost.com/#tag/teams/operation/SearchTeams>.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum TeamSearchResults {
    /// Paged answer.
    Paged {
        /// The teams on this page.
        teams: Vec<Team>,
        /// Matches in all.
        total_count: i64,
    },
    /// Unpaged answer.
    All(Vec<Team>),
}

/// One page of `GET /teams?include_total_count=true`.
///
/// API: <https://api.mattermost.com/#tag/teams/operation/GetAllTeams>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TeamsWithCount {
    /// The teams on this page.
    #[serde(default)]
    pub teams: Vec<Team>,
    /// Teams in all.
    #[serde(default)]
    pub total_count: i64,
}
