//! Incoming and outgoing webhooks (<https://api.mattermost.com/#tag/webhooks>).

use serde::{Deserialize, Serialize};

use super::{Extra, MessageAttachment};
use crate::mattermost::ids::{ChannelId, HookId, TeamId};

/// An incoming webhook (`model.IncomingWebhook`); the same shape is sent on create and update.
///
/// API: <https://api.mattermost.com/#tag/webhooks/operation/CreateIncomingWebhook>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IncomingWebhook {
    /// Only post to `channel_id` (a payload's `channel` is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_locked: Option<bool>,
    /// Default channel.
    pub channel_id: ChannelId,
    /// Creation time (server managed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_at: i64,
    /// Deletion time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delete_at: i64,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Default icon URL for its posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// The hook's id, which is also its secret URL key (server managed; required on update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<HookId>,
    /// The team (server managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    /// Last update time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_at: i64,
    /// Owner (defaults to the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Default username for its posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl IncomingWebhook {
    /// A new hook posting to `channel_id`.
    ///
    /// API: <https://api.mattermost.com/#tag/webhooks/operation/CreateIncomingWebhook>.
    pub fn new(channel_id: ChannelId) -> Self {
        IncomingWebhook {
            channel_id,
            ..IncomingWebhook::default()
        }
    }
}

/// What is posted to an incoming webhook (`POST /hooks/{hook_id}`).
///
/// API: <https://developers.mattermost.com/integrate/webhooks/incoming/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IncomingWebhookPayload {
    /// Attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<MessageAttachment>>,
    /// Channel name (or `@username`) to post to instead of the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Icon override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Post props.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Extra>,
    /// Markdown text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Post type (`custom_…`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub post_type: Option<String>,
    /// Username override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Fields this client does not model (`priority` …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl IncomingWebhookPayload {
    /// A payload with just text.
    ///
    /// API: <https://api.mattermost.com/#tag/webhooks/operation/CreateIncomingWebhook>.
    pub fn text(text: impl Into<String>) -> Self {
        IncomingWebhookPayload {
            text: Some(text.into()),
            ..IncomingWebhookPayload::default()
        }
    }
}

/// An outgoing webhook (`model.OutgoingWebhook`); the same shape is sent on create and update.
/// Its `Debug` does not print the verification `token` (whoever has it can forge the hook's
/// callbacks).
///
/// API: <https://api.mattermost.com/#tag/webhooks/operation/CreateOutgoingWebhook>.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutgoingWebhook {
    /// Where Mattermost posts matching messages (`http(s)://`, at least one).
    pub callback_urls: Vec<String>,
    /// Only this public channel (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// `application/json` for a JSON payload, anything else for a form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Creation time (server managed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_at: i64,
    /// Creator (defaults to the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<String>,
    /// Deletion time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delete_at: i64,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Default icon for response posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// The hook's id (server managed; required on update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<HookId>,
    /// The team.
    pub team_id: TeamId,
    /// The verification token (server managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Trigger words.
    #[serde(default)]
    pub trigger_words: Vec<String>,
    /// `0`: first word equals a trigger word; `1`: first word starts with one.
    #[serde(default)]
    pub trigger_when: u8,
    /// Last update time.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_at: i64,
    /// Default username for response posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Prints every field but the token's value.
impl std::fmt::Debug for OutgoingWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingWebhook")
            .field("callback_urls", &self.callback_urls)
            .field("channel_id", &self.channel_id)
            .field("content_type", &self.content_type)
            .field("create_at", &self.create_at)
            .field("creator_id", &self.creator_id)
            .field("delete_at", &self.delete_at)
            .field("description", &self.description)
            .field("display_name", &self.display_name)
            .field("icon_url", &self.icon_url)
            .field("id", &self.id)
            .field("team_id", &self.team_id)
            .field(
                "token",
                &self.token.as_deref().map(super::command::redacted),
            )
            .field("trigger_words", &self.trigger_words)
            .field("trigger_when", &self.trigger_when)
            .field("update_at", &self.update_at)
            .field("username", &self.username)
            .field("extra", &self.extra)
            .finish()
    }
}

impl OutgoingWebhook {
    /// A new hook for `team_id` firing on `trigger_words` and calling `callback_urls`.
    ///
    /// API: <https://api.mattermost.com/#tag/webhooks/operation/CreateIncomingWebhook>.
    pub fn new(
        team_id: TeamId,
        display_name: impl Into<String>,
        trigger_words: Vec<String>,
        callback_urls: Vec<String>,
    ) -> Self {
        OutgoingWebhook {
            callback_urls,
            display_name: display_name.into(),
            team_id,
            trigger_words,
            ..OutgoingWebhook::default()
        }
    }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}
