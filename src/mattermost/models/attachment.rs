//! Message attachments with fields, buttons and menus (PROTOCOL.md §4.1).
//!
//! One model shared by posts (`props.attachments`), slash-command and webhook replies, and the
//! server's action replies. Unknown keys are kept in `extra` so round trips lose nothing.

use serde::{Deserialize, Serialize};

type Extra = serde_json::Map<String, serde_json::Value>;

/// A Slack-style message attachment.
///
/// API: <https://developers.mattermost.com/integrate/reference/message-attachments/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageAttachment {
    /// Buttons and menus.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<PostAction>,
    /// Author icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_icon: Option<String>,
    /// Author link (needs `author_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_link: Option<String>,
    /// Author name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_name: Option<String>,
    /// `good`, `warning`, `danger` or `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Plain-text summary for notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// A table of fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AttachmentField>,
    /// Footer text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// Footer icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer_icon: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Text above the attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretext: Option<String>,
    /// Markdown body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Thumbnail URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Title link (needs `title`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_link: Option<String>,
    /// Keys this client does not model (`id`, `ts` …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One row of an attachment's field table.
///
/// API: <https://developers.mattermost.com/integrate/reference/message-attachments/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttachmentField {
    /// Show side by side with the next short field.
    #[serde(default)]
    pub short: bool,
    /// Field title.
    #[serde(default)]
    pub title: String,
    /// Field value: a string, or a number the server stringifies.
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A button or a menu (`model.PostAction`).
///
/// API: <https://developers.mattermost.com/integrate/plugins/interactive-messages/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PostAction {
    /// Server-set encrypted copy of the integration; never send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Menus: `""` (static options), `users` or `channels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// Menus: the pre-selected option's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_option: Option<String>,
    /// Greyed out (newer servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Action id; leave it unset so Mattermost generates one (older servers route only
    /// alphanumeric ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where a click is sent, with the private context. Stripped from posts the server returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<ActionIntegration>,
    /// Button label or menu placeholder.
    pub name: String,
    /// Static menu options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ActionOption>,
    /// Button style: `default`, `primary`, `success`, `good`, `warning`, `danger`, `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// `button` or `select`.
    #[serde(rename = "type", default)]
    pub action_type: String,
    /// Keys this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The integration block of an action: the URL Mattermost posts clicks to and its context.
///
/// API: <https://developers.mattermost.com/integrate/plugins/interactive-messages/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActionIntegration {
    /// Any JSON object; comes back in the click request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Map<String, serde_json::Value>>,
    /// `http(s)://…` or a `/plugins/…` path.
    pub url: String,
}

/// An option of a static menu.
///
/// API: <https://developers.mattermost.com/integrate/plugins/interactive-messages/>.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActionOption {
    /// Label.
    pub text: String,
    /// Value sent back as `selected_option`.
    pub value: String,
}
