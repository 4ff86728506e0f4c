//! Users (<https://api.mattermost.com/#tag/users>).

use serde::{Deserialize, Serialize};

use crate::mattermost::ids::UserId;

/// A user account (`model.User`), as the API returns it.
///
/// API: <https://api.mattermost.com/#tag/users/operation/GetUser>.
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
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/GetUser>.
    pub fn is_system_admin(&self) -> bool {
        self.roles.split_whitespace().any(|r| r == "system_admin")
    }
}

/// The body of `POST /users`.
///
/// API: <https://api.mattermost.com/#tag/users/operation/CreateUser>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewUser {
    /// Email address.
    pub email: String,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Password (for email/password accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Username.
    pub username: String,
}

/// Fields to change with `PUT /users/{user_id}/patch`; only set fields are sent.
///
/// API: <https://api.mattermost.com/#tag/users/operation/PatchUser>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserPatch {
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Notification settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_props: Option<serde_json::Map<String, serde_json::Value>>,
    /// Position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Custom props.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
    /// Username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A login session (`model.Session`); its `token` is never exposed.
///
/// API: <https://api.mattermost.com/#tag/users/operation/GetSessions>.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Session {
    /// Creation time.
    #[serde(default)]
    pub create_at: i64,
    /// Device id (mobile).
    #[serde(default)]
    pub device_id: String,
    /// Expiry time (0 = never).
    #[serde(default)]
    pub expires_at: i64,
    /// The session's id (what `revoke_session` takes).
    pub id: crate::mattermost::SessionId,
    /// OAuth session.
    #[serde(default)]
    pub is_oauth: bool,
    /// Last activity.
    #[serde(default)]
    pub last_activity_at: i64,
    /// Session props (`os`, `browser` …).
    #[serde(default)]
    pub props: serde_json::Map<String, serde_json::Value>,
    /// Roles.
    #[serde(default)]
    pub roles: String,
    /// The user.
    #[serde(default)]
    pub user_id: UserId,
    /// Fields this client does not model (a `token`, if the server sent one, is dropped).
    #[serde(flatten, skip_serializing)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("create_at", &self.create_at)
            .field("expires_at", &self.expires_at)
            .field("last_activity_at", &self.last_activity_at)
            .field("device_id", &self.device_id)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// A personal access token, as created (`model.UserAccessToken`); `token` is shown once.
///
/// API: <https://api.mattermost.com/#tag/users/operation/CreateUserAccessToken>.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct UserAccessToken {
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The token's id (not the secret).
    pub id: String,
    /// Active (sanitized listings).
    #[serde(default)]
    pub is_active: bool,
    /// The secret, present only in the creation answer.
    #[serde(default)]
    pub token: Option<secrecy::SecretString>,
    /// The owner.
    #[serde(default)]
    pub user_id: UserId,
}

impl std::fmt::Debug for UserAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAccessToken")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("description", &self.description)
            .field("is_active", &self.is_active)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The answer of `GET /users/autocomplete`.
///
/// API: <https://api.mattermost.com/#tag/users/operation/AutocompleteUsers>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserAutocomplete {
    /// Matches outside the channel (with `channel_id`).
    #[serde(default)]
    pub out_of_channel: Option<Vec<User>>,
    /// Matches.
    #[serde(default)]
    pub users: Vec<User>,
}

/// The body of `POST /users/search`; only set fields are sent.
///
/// API: <https://api.mattermost.com/#tag/users/operation/SearchUsers>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserSearch {
    /// Include deactivated users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_inactive: Option<bool>,
    /// Only users constrained to the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_constrained: Option<bool>,
    /// Only members of this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_channel_id: Option<String>,
    /// Only members of this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_group_id: Option<String>,
    /// At most this many results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only users outside this channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in_channel_id: Option<String>,
    /// Only users outside this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_in_team_id: Option<String>,
    /// Only members of this team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// The search term.
    pub term: String,
    /// Only users without a team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_team: Option<bool>,
}

/// A user's presence (`model.Status`).
///
/// API: <https://api.mattermost.com/#tag/status/operation/GetUserStatus>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Status {
    /// Do-not-disturb end, Unix seconds (with `dnd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnd_end_time: Option<i64>,
    /// Last activity, Unix milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_activity_at: i64,
    /// Set by the user rather than automatically.
    #[serde(default)]
    pub manual: bool,
    /// `online`, `away`, `dnd` or `offline`.
    pub status: String,
    /// The user.
    pub user_id: UserId,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A custom status (`PUT /users/{user_id}/status/custom`).
///
/// API: <https://api.mattermost.com/#tag/status/operation/UpdateUserCustomStatus>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomStatus {
    /// `thirty_minutes`, `one_hour`, `four_hours`, `today`, `this_week`, `date_and_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Emoji name.
    pub emoji: String,
    /// Expiry, RFC 3339 (with `date_and_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Text.
    pub text: String,
}

/// One user preference (`model.Preference`).
///
/// API: <https://api.mattermost.com/#tag/preferences/operation/GetPreferences>.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Preference {
    /// Category, e.g. `display_settings`.
    pub category: String,
    /// Name within the category.
    pub name: String,
    /// The owner.
    pub user_id: UserId,
    /// Value (always a string).
    pub value: String,
}

impl Preference {
    /// A preference.
    ///
    /// API: <https://api.mattermost.com/#tag/users/operation/GetUser>.
    pub fn new(
        user_id: UserId,
        category: impl Into<String>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Preference {
            category: category.into(),
            name: name.into(),
            user_id,
            value: value.into(),
        }
    }
}
