//! Users (<https://api.mattermost.com/#tag/users>).

use serde::{Deserialize, Serialize};

use crate::mattermost::ids::UserId;

/// A user account (`model.User`), as the API returns it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Creation time, Unix milliseconds.
    #[serde(default)]
    pub create_at: i64,
    /// Deactivation time (0 when active).
    #[serde(default)]
    pub delete_at: i64,
    /// Email address (blank when the viewer may not see it).
    #[serde(default)]
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// The user's id.
    pub id: UserId,
    /// Whether this is a bot account.
    #[serde(default)]
    pub is_bot: bool,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Locale, e.g. `en`.
    #[serde(default)]
    pub locale: String,
    /// Nickname.
    #[serde(default)]
    pub nickname: String,
    /// Space-separated system roles, e.g. `system_user system_admin`.
    #[serde(default)]
    pub roles: String,
    /// Last update time, Unix milliseconds.
    #[serde(default)]
    pub update_at: i64,
    /// Username, without `@`.
    pub username: String,
    /// Fields this client does not model, kept so nothing is lost.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl User {
    /// Whether the user holds the `system_admin` role.
    pub fn is_system_admin(&self) -> bool {
        self.roles.split_whitespace().any(|r| r == "system_admin")
    }
}
