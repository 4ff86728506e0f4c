//! Interactive dialogs (PROTOCOL.md §3; <https://developers.mattermost.com/integrate/plugins/interactive-dialogs/>).
//!
//! Every model keeps unknown keys in `extra`, so dialogs from newer servers round-trip intact.
//!
//! Wire facts for the newer elements, read in Mattermost's source (`server/public/model/
//! integration_action.go` `DialogElement`, `Dialog`, `SubmitDialogResponse`,
//! `LookupDialogResponse`; `server/channels/app/integration_action.go`; the web app's
//! `interactive_dialog_adapter.tsx`, `dialog_conversion.ts` and `@mattermost/types`
//! `integrations.ts`):
//!
//! - `multiselect` (bool) is allowed on `select` only; its `default` is comma-separated option
//!   values; the web client submits an **array of strings**, the mobile app one string of
//!   comma-separated values.
//! - `date` / `datetime` elements take `min_date`, `max_date` (`YYYY-MM-DD` or relative:
//!   `today`, `tomorrow`, `yesterday`, `±N` + `d`/`w`/`m`/`h`) and, for datetime,
//!   `time_interval` (minutes, 1..=1440 and a divisor of 1440; 0 means the default 60).
//!   Newer web clients also read `datetime_config` (`time_interval`, `location_timezone`,
//!   `min_date`, `max_date`), preferring it over the top-level keys; servers whose Go model
//!   lacks it drop it when they relay the dialog, so both are sent. Values are submitted as
//!   strings: `YYYY-MM-DD` for date, `YYYY-MM-DDTHH:mm:ss[.fff](Z|±HH:MM)` for datetime (the
//!   clients' `DATETIME_FORMAT_PATTERN`; the server's own parser also takes the forms without
//!   offset or seconds for `default`, `min_date`, `max_date`). A `default` may be relative
//!   too (`today`, `+1d`: the server's `validateDateFormat` accepts it, the web client's
//!   `stringToMoment` resolves it in the field's time zone), and the web client submits the
//!   resolved day or moment, a datetime in UTC (`YYYY-MM-DDTHH:mm:ssZ`).
//! - `data_source = "dynamic"` needs `data_source_url` (http(s) or a `/plugins/` path; the web
//!   client itself allows plain `http://` only to localhost/127.0.0.1) and no `options`.
//! - `refresh` (bool): changing the field makes the client POST `/actions/dialogs/submit` with
//!   `type: "refresh"` to the dialog's `source_url` (not `url`); the answer's `form` replaces
//!   the dialog.
//! - `file` elements (≥ 11.10; mattermost/mattermost PR #36881, "Add file upload element to
//!   interactive dialogs", and the developer docs' "File elements" section) take the common
//!   keys plus `allow_multiple` (bool, default false: one file). Nothing on the wire limits
//!   size or type: the server's `FileSettings.MaxFileSize` and upload rules apply when the web
//!   client uploads each file (`POST /api/v4/files` into the dialog's channel) as soon as it is
//!   chosen. On submit the element's value in `submission` is the uploaded file id (several:
//!   comma-separated; tolerate an array too) and the request carries every id again in the
//!   top-level `file_ids` array, which Mattermost documents as authoritative. The server
//!   deduplicates, allows at most 10 ids per submission, and checks that each exists and was
//!   uploaded by the submitter (`FileInfo.user_id`, the Go `CreatorId`), for `file_ids` and for
//!   ids found in submission values; a hand-made request sent straight to the integration
//!   skips all of that, so Switchboard checks again.

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
    /// Where field refreshes are POSTed (`type: "refresh"`); newer servers (≥ 11.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Fields this client does not model.
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
    /// A day picker (≥ 11.1); submits `YYYY-MM-DD`.
    Date,
    /// A day-and-time picker (≥ 11.1); submits RFC 3339.
    Datetime,
    /// A file upload (≥ 11.10).
    File,
    /// A value this client does not know (`action_button` …).
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
            DialogElementType::Date => "date",
            DialogElementType::Datetime => "datetime",
            DialogElementType::File => "file",
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
            "date" => DialogElementType::Date,
            "datetime" => DialogElementType::Datetime,
            "file" => DialogElementType::File,
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
    /// File elements (≥ 11.10): the user may upload more than one file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_multiple: Option<bool>,
    /// Menus: `""` (static `options`), `users`, `channels`, `dynamic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// Dynamic menus: where lookups are POSTed (`type: "dialog_lookup"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_url: Option<String>,
    /// Date and datetime settings newer clients prefer over the top-level keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datetime_config: Option<DateTimeConfig>,
    /// Default value, always a string (`"true"` for a bool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Label (≤ 24 bytes).
    pub display_name: String,
    /// Help text under the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_text: Option<String>,
    /// Date and datetime: the latest day (`YYYY-MM-DD` or relative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_date: Option<String>,
    /// Longest accepted value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Date and datetime: the earliest day (`YYYY-MM-DD` or relative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_date: Option<String>,
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
    /// Changing the field asks the integration (at the dialog's `source_url`) for a new form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    /// Text input subtype: `text`, `email`, `number`, `tel`, `url`, `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    /// Datetime: minutes between offered times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_interval: Option<u32>,
    /// The kind of field.
    #[serde(rename = "type")]
    pub element_type: DialogElementType,
    /// Fields this client does not model.
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

/// `datetime_config` of a date or datetime element (newer web clients).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DateTimeConfig {
    /// The IANA time zone the picker shows times in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_timezone: Option<String>,
    /// The latest day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_date: Option<String>,
    /// The earliest day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_date: Option<String>,
    /// Minutes between offered times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_interval: Option<u32>,
    /// Fields this client does not model (`allow_manual_time_entry` …).
    #[serde(flatten)]
    pub extra: Extra,
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
