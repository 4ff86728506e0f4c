//! The reply to a slash command (`model.CommandResponse`, PROTOCOL.md §1.5).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::attachment::MessageAttachment;

/// Who sees a command's reply.
///
/// API: <https://developers.mattermost.com/integrate/slash-commands/custom/>.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseType {
    /// Only the invoking user (Mattermost's default, also for `""`).
    #[default]
    Ephemeral,
    /// A normal post in the channel.
    InChannel,
    /// A value this client does not know.
    Unknown(String),
}

impl ResponseType {
    /// The wire value.
    ///
    /// API: <https://developers.mattermost.com/integrate/slash-commands/custom/>.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseType::Ephemeral => "ephemeral",
            ResponseType::InChannel => "in_channel",
            ResponseType::Unknown(other) => other,
        }
    }
}

impl Serialize for ResponseType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResponseType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        Ok(match value.as_str() {
            "" | "ephemeral" => ResponseType::Ephemeral,
            "in_channel" => ResponseType::InChannel,
            _ => ResponseType::Unknown(value),
        })
    }
}

/// A slash command's reply; also what `POST /commands/execute` returns.
///
/// API: <https://api.mattermost.com/#tag/commands/operation/ExecuteCommand>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CommandResponse {
    /// Attachments with fields, buttons and menus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<MessageAttachment>>,
    /// Post into another channel the user is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Additional posts, each with the same rules (not nested further).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_responses: Option<Vec<CommandResponse>>,
    /// A URL the invoking client navigates to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto_location: Option<String>,
    /// Icon override (needs `EnablePostIconOverride`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Post props.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
    /// Who sees the reply.
    #[serde(default)]
    pub response_type: ResponseType,
    /// Use `text` verbatim instead of converting Slack markup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_slack_parsing: Option<bool>,
    /// Markdown text.
    #[serde(default)]
    pub text: String,
    /// Post type (`custom_…`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub post_type: Option<String>,
    /// Username override (needs `EnablePostUsernameOverride`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl CommandResponse {
    /// A reply only the invoking user sees.
    ///
    /// API: <https://developers.mattermost.com/integrate/slash-commands/custom/>.
    pub fn ephemeral(text: impl Into<String>) -> Self {
        CommandResponse {
            text: text.into(),
            response_type: ResponseType::Ephemeral,
            ..CommandResponse::default()
        }
    }

    /// A reply posted in the channel for everyone.
    ///
    /// API: <https://developers.mattermost.com/integrate/slash-commands/custom/>.
    pub fn in_channel(text: impl Into<String>) -> Self {
        CommandResponse {
            text: text.into(),
            response_type: ResponseType::InChannel,
            ..CommandResponse::default()
        }
    }
}
