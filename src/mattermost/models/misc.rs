//! Bots, emoji, groups, roles and system models.

use serde::{Deserialize, Serialize};

use super::{Extra, User};
use crate::mattermost::ids::{EmojiId, GroupId, UserId};

/// A bot account (`model.Bot`).
///
/// API: <https://api.mattermost.com/#tag/bots/operation/GetBot>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Bot {
    /// Creation time.
    #[serde(default)]
    pub create_at: i64,
    /// Disable time (0 when enabled).
    #[serde(default)]
    pub delete_at: i64,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// The owning user (or plugin id).
    #[serde(default)]
    pub owner_id: String,
    /// Last update time.
    #[serde(default)]
    pub update_at: i64,
    /// The bot's user id.
    pub user_id: UserId,
    /// Username.
    #[serde(default)]
    pub username: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /bots` and `PUT /bots/{bot_user_id}`; unset optional fields are not sent.
///
/// API: <https://api.mattermost.com/#tag/bots/operation/CreateBot>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BotPatch {
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Username (required).
    pub username: String,
}

impl BotPatch {
    /// A body with just the username.
    ///
    /// API: <https://api.mattermost.com/#tag/bots/operation/CreateBot>.
    pub fn new(username: impl Into<String>) -> Self {
        BotPatch {
            username: username.into(),
            ..BotPatch::default()
        }
    }
}

/// A custom emoji (`model.Emoji`).
///
/// API: <https://api.mattermost.com/#tag/emoji/operation/GetEmoji>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Emoji {
    /// Creation time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_at: i64,
    /// The creator.
    pub creator_id: UserId,
    /// Deletion time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delete_at: i64,
    /// The emoji's id (server managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<EmojiId>,
    /// Name without colons.
    pub name: String,
    /// Last update time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_at: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A user group (`model.Group`).
///
/// API: <https://api.mattermost.com/#tag/groups/operation/GetGroups>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Group {
    /// Creation time.
    #[serde(default)]
    pub create_at: i64,
    /// Deletion time.
    #[serde(default)]
    pub delete_at: i64,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Synced to teams or channels.
    #[serde(default)]
    pub has_syncables: bool,
    /// The group's id.
    pub id: GroupId,
    /// Members (with `include_member_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
    /// Mention name.
    #[serde(default)]
    pub name: Option<String>,
    /// Id at the source (LDAP).
    #[serde(default)]
    pub remote_id: Option<String>,
    /// `ldap` or `custom`.
    #[serde(default)]
    pub source: String,
    /// Last update time.
    #[serde(default)]
    pub update_at: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group membership (`model.GroupMember`).
///
/// API: <https://api.mattermost.com/#tag/groups/operation/AddGroupMembers>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupMember {
    /// Creation time.
    #[serde(default)]
    pub create_at: i64,
    /// Removal time.
    #[serde(default)]
    pub delete_at: i64,
    /// The group.
    pub group_id: GroupId,
    /// The user.
    pub user_id: UserId,
}

/// One page of `GET /groups/{group_id}/members`.
///
/// API: <https://api.mattermost.com/#tag/groups/operation/GetGroupUsers>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupMembers {
    /// The users on this page.
    #[serde(default)]
    pub members: Vec<User>,
    /// Members in all.
    #[serde(default)]
    pub total_member_count: i64,
}

/// A role and its permissions (`model.Role`).
///
/// API: <https://api.mattermost.com/#tag/roles/operation/GetRoleByName>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// Built in.
    #[serde(default)]
    pub built_in: bool,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// The role's id.
    pub id: String,
    /// Name, e.g. `system_user`.
    pub name: String,
    /// Permission names.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Managed by a scheme.
    #[serde(default)]
    pub scheme_managed: bool,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of `GET /system/ping` (`SystemStatusResponse`).
///
/// API: <https://api.mattermost.com/#tag/system/operation/GetPing>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemStatus {
    /// Database check (with `get_server_status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_status: Option<String>,
    /// File store check (with `get_server_status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filestore_status: Option<String>,
    /// `OK` when healthy.
    pub status: String,
    /// Everything else (`AndroidLatestVersion`, `ActiveSearchBackend` …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An autocomplete suggestion for a slash command (`model.AutocompleteSuggestion`).
///
/// API: <https://api.mattermost.com/#tag/commands/operation/ListCommandAutocompleteSuggestions>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AutocompleteSuggestion {
    /// The completed command line.
    #[serde(default, rename = "Complete")]
    pub complete: String,
    /// Description.
    #[serde(default, rename = "Description")]
    pub description: String,
    /// Hint.
    #[serde(default, rename = "Hint")]
    pub hint: String,
    /// Icon data.
    #[serde(default, rename = "IconData")]
    pub icon_data: String,
    /// The suggested word.
    #[serde(default, rename = "Suggestion")]
    pub suggestion: String,
}
