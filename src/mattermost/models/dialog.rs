//! Interactive dialogs (PROTOCOL.md §3; <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>).
//!
//! Every model keeps unknown keys in `extra`, so dialogs from newer servers round-trip intact.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Extra;

/// A dialog (`model.Dialog`).
///
/// API: <https://api.mattermost.com/#tag/integration_actions/operation/OpenInteractiveDialog>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Dialog {
    /// Echoed back in the submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// The fields; empty makes a confirmation dialog.
    #[serde(default)]
    pub elements: Vec<DialogElement>,
    /// `http(s)://` icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Markdown above the elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduction_text: Option<String>,
    /// Send a cancellation request when the user closes the dialog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_on_cancel: Option<bool>,
    /// Opaque, echoed back in the submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Submit button label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_label: Option<String>,
    /// Title (≤ 24 bytes).
    pub title: String,
    /// Fields this client does not model (`source_url` …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Dialog {
    /// A dialog with a title and no elements.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn new(title: impl Into<String>) -> Self {
        Dialog {
            title: title.into(),
            ..Dialog::default()
        }
    }

    /// Adds an element.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn element(mut self, element: DialogElement) -> Self {
        self.elements.push(element);
        self
    }
}

/// The kind of a dialog element.
///
/// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DialogElementType {
    /// One-line text.
    #[default]
    Text,
    /// Multi-line text.
    Textarea,
    /// A menu.
    Select,
    /// A checkbox.
    Bool,
    /// Radio buttons.
    Radio,
    /// A value this client does not know (`date`, `file` …).
    Unknown(String),
}

impl DialogElementType {
    /// The wire value.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn as_str(&self) -> &str {
        match self {
            DialogElementType::Text => "text",
            DialogElementType::Textarea => "textarea",
            DialogElementType::Select => "select",
            DialogElementType::Bool => "bool",
            DialogElementType::Radio => "radio",
            DialogElementType::Unknown(other) => other,
        }
    }
}

impl Serialize for DialogElementType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DialogElementType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        Ok(match value.as_str() {
            "text" => DialogElementType::Text,
            "textarea" => DialogElementType::Textarea,
            "select" => DialogElementType::Select,
            "bool" => DialogElementType::Bool,
            "radio" => DialogElementType::Radio,
            _ => DialogElementType::Unknown(value),
        })
    }
}

/// One field of a dialog (`model.DialogElement`).
///
/// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DialogElement {
    /// Menus: `""` (static `options`), `users`, `channels`, `dynamic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// Default value, always a string (`"true"` for a bool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Label (≤ 24 bytes).
    pub display_name: String,
    /// Help text under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
    /// Longest accepted value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Shortest accepted value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Menus: several values may be chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiselect: Option<bool>,
    /// The key of this field in the submission.
    pub name: String,
    /// May be left empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// Static menu / radio options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<DialogOption>>,
    /// Placeholder (for a bool: the checkbox label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// Text input subtype: `text`, `email`, `number`, `tel`, `url`, `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// The kind of field.
    #[serde(rename = "type")]
    pub element_type: DialogElementType,
    /// Fields this client does not model (`refresh`, `data_source_url` …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl DialogElement {
    /// A field of `element_type` keyed `name` and labelled `display_name`.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn new(
        element_type: DialogElementType,
        name: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        DialogElement {
            display_name: display_name.into(),
            element_type,
            name: name.into(),
            ..DialogElement::default()
        }
    }

    /// A one-line text field.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn text(name: impl Into<String>, display_name: impl Into<String>) -> Self {
        DialogElement::new(DialogElementType::Text, name, display_name)
    }

    /// A static menu.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn select(
        name: impl Into<String>,
        display_name: impl Into<String>,
        options: Vec<DialogOption>,
    ) -> Self {
        DialogElement {
            options: Some(options),
            ..DialogElement::new(DialogElementType::Select, name, display_name)
        }
    }
}

/// An option of a static menu or radio element.
///
/// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DialogOption {
    /// Label.
    pub text: String,
    /// Value submitted.
    pub value: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DialogOption {
    /// An option.
    ///
    /// API: <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>.
    pub fn new(text: impl Into<String>, value: impl Into<String>) -> Self {
        DialogOption {
            text: text.into(),
            value: value.into(),
            extra: Extra::new(),
        }
    }
}

/// The body of `POST /actions/dialogs/submit` (what the web client sends on submit).
///
/// API: <https://api.mattermost.com/#tag/integration_actions/operation/SubmitInteractiveDialog>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DialogSubmission {
    /// As given when the dialog was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// A cancellation notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<bool>,
    /// The channel the dialog was opened in.
    pub channel_id: String,
    /// As given when the dialog was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Element name → value.
    pub submission: Extra,
    /// The team.
    pub team_id: String,
    /// The integration URL.
    pub url: String,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What the integration answered to a submission (`model.SubmitDialogResponse`); empty on
/// success.
///
/// API: <https://api.mattermost.com/#tag/integration_actions/operation/SubmitInteractiveDialog>.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DialogSubmissionResponse {
    /// A generic error shown in the dialog footer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Element name → error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<std::collections::HashMap<String, String>>,
    /// Fields this client does not model (`type`, `form` …).
    #[serde(flatten)]
    pub extra: Extra,
}
