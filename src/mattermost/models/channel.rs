//! Channels (<https://api.mattermost.com/#tag/channels>).

use serde::{Deserialize, Serialize};

use super::Extra;
use crate::mattermost::ids::{ChannelId, TeamId, UserId};

/// A channel (`model.Channel`).
///
/// API: <https://api.mattermost.com/#tag/channels/operation/GetChannel>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Channel {
    /// Creation time, Unix milliseconds.
    #[serde(default)]
    pub create_at: i64,
    /// The creator.
    #[serde(default)]
    pub creator_id: String,
    /// Deletion (archive) time (0 when live).
    #[serde(default)]
    pub delete_at: i64,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Header text.
    #[serde(default)]
    pub header: String,
    /// The channel's id.
    pub id: ChannelId,
    /// Time of the last post, Unix milliseconds.
    #[serde(default)]
    pub last_post_at: i64,
    /// URL name (unique in the team).
    #[serde(default)]
    pub name: String,
    /// Purpose text.
    #[serde(default)]
    pub purpose: String,
    /// The team (`""` for direct and group channels).
    #[serde(default)]
    pub team_id: String,
    /// Total messages.
    #[serde(default)]
    pub total_msg_count: i64,
    /// `O` open, `P` private, `D` direct, `G` group.
    #[serde(default, rename = "type")]
    pub channel_type: String,
    /// Last update time.
    #[serde(default)]
    pub update_at: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `POST /channels`.
///
/// API: <https://api.mattermost.com/#tag/channels/operation/CreateChannel>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewChannel {
    /// Display name.
    pub display_name: String,
    /// Header text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// URL name.
    pub name: String,
    /// Purpose text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The team.
    pub team_id: TeamId,
    /// `O` (open) or `P` (private).
    #[serde(rename = "type")]
    pub channel_type: String,
}

impl NewChannel {
    /// An open channel.
    ///
    /// API: <https://api.mattermost.com/#tag/channels/operation/CreateChannel>.
    pub fn open(team_id: TeamId, name: impl Into<String>, display_name: impl Into<String>) -> Self {
        NewChannel {
            display_name: display_name.into(),
            header: None,
            name: name.into(),
            purpose: None,
            team_id,
            channel_type: "O".to_owned(),
        }
    }

    /// A private channel.
    ///
    /// API: <https://api.mattermost.com/#tag/channels/operation/CreateChannel>.
    pub fn private(
        team_id: TeamId,
        name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        NewChannel {
            channel_type: "P".to_owned(),
            ..NewChannel::open(team_id, name, display_name)
        }
    }
}

/// Fields to change with `PUT /channels/{channel_id}/patch`; only set fields are sent, empty
/// strings included.
///
/// API: <https://api.mattermost.com/#tag/channels/operation/PatchChannel>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelPatch {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// New URL name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// A user's membership in a channel (`model.ChannelMember`).
///
/// API: <https://api.mattermost.com/#tag/channels/operation/GetChannelMember>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChannelMember {
    /// The channel.
    pub channel_id: ChannelId,
    /// Last time the user viewed the channel.
    #[serde(default)]
    pub last_viewed_at: i64,
    /// Unread mentions.
    #[serde(default)]
    pub mention_count: i64,
    /// Messages seen.
    #[serde(default)]
    pub msg_count: i64,
    /// Notification settings.
    #[serde(default)]
    pub notify_props: Extra,
    /// Space-separated roles.
    #[serde(default)]
    pub roles: String,
    /// Scheme admin.
    #[serde(default)]
    pub scheme_admin: bool,
    /// Scheme user.
    #[serde(default)]
    pub scheme_user: bool,
    /// The user.
    pub user_id: UserId,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Scheme roles of a team or channel member (`PUT …/members/{user_id}/schemeRoles`).
///
/// API: <https://api.mattermost.com/#tag/channels/operation/UpdateChannelMemberSchemeRoles>.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchemeRoles {
    /// Grant the scheme's admin role.
    pub scheme_admin: bool,
    /// Grant the scheme's user role.
    pub scheme_user: bool,
}
