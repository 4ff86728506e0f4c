//! The dialog-submission callback (PROTOCOL.md §3.3) and its reply (§3.4).
//!
//! Everything but `user_id` passes through the user's browser, so none of it is trusted until
//! the signed `state` Switchboard put into the dialog has been verified (see
//! [`crate::signing`]).
//!
//! Newer shapes, from Mattermost's source (`model/integration_action.go` `SubmitDialogRequest`,
//! `SubmitDialogResponse`; `app/integration_action.go` `SubmitInteractiveDialog`,
//! `LookupInteractiveDialog`; the web app's `interactive_dialog_adapter.tsx`):
//!
//! - **Multiselect** values arrive from the web app as a JSON array of option values, from
//!   the mobile app as **one string of comma-separated values** (mattermost-mobile's dialog
//!   adapter, `convertAppFormValuesToDialogSubmission`, joins them with `,`; the server reads
//!   a multiselect `default` the same way); both are read. A **bool** arrives as a JSON
//!   boolean (both clients: `Boolean(value)`), a text field with subtype `number` as a JSON
//!   number when it parses as one. **Date** as `YYYY-MM-DD`, **datetime** as
//!   `YYYY-MM-DDTHH:mm:ss[.fff](Z|±HH:MM)` (the clients' `DATETIME_FORMAT_PATTERN`).
//! - **Multi-step**: the answer `{"type": "form", "form": {…dialog…}}` shows `form` as the next
//!   step (≥ 11.1; `type` `""`/`"ok"` close, `"navigate"` too; any other `type` is a 400 for the
//!   user, `app.submit_interactive_dialog.invalid_response`). The next step is submitted to the
//!   *same* `url` with the new form's `state` but the **first** step's `callback_id` (the web
//!   adapter's props); lookups keep sending the first step's `state` and `callback_id`; the web client merges the values of every step
//!   into its `submission` (so earlier steps' values come back through the browser, unsigned;
//!   Switchboard carries them in the signed state instead and ignores the echoed copies).
//! - **Refresh**: `type: "refresh"`, POSTed to the dialog's `source_url` with the current
//!   values (and the current step's `state`); the answer is `{"type": "form", "form": …}` to
//!   replace the form, or `{}` to keep it.
//! - **Lookup** (dynamic select): POSTed to the element's `data_source_url` with
//!   `type: "dialog_lookup"`, the dialog's `state` and `callback_id`, and `submission` holding
//!   the current values plus `query` (the typed text) and `selected_field` (the element's
//!   name); the answer is `{"items": [{"text", "value"}]}` (`model.LookupDialogResponse`).
//! - **Cancel**: with `notify_on_cancel`, closing the dialog sends `cancelled: true` with an
//!   empty `submission` and the dialog's `state`; the answer is ignored.
//! - `error` (generic, footer) and `errors` (per field) keep the dialog open; when either is
//!   set the server ignores `type`/`form`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::PayloadError;
use super::json::{from_slice, null_default};

/// What Mattermost sends when a user submits (or, with `notify_on_cancel`, cancels) a dialog.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DialogSubmissionRequest {
    /// As given at open (comes back from the client).
    #[serde(default, deserialize_with = "null_default")]
    pub callback_id: String,
    /// A cancellation notice rather than a submission.
    #[serde(default, deserialize_with = "null_default")]
    pub cancelled: bool,
    /// The channel the dialog was opened in (from the client).
    #[serde(default, deserialize_with = "null_default")]
    pub channel_id: String,
    /// Files of `file` elements (newer servers).
    #[serde(default, deserialize_with = "null_default")]
    pub file_ids: Vec<String>,
    /// As given at open (comes back from the client): Switchboard's signed state.
    #[serde(default, deserialize_with = "null_default")]
    pub state: String,
    /// Element name → value: a string, number, boolean, array of strings or `null`.
    #[serde(default, deserialize_with = "null_default")]
    pub submission: BTreeMap<String, Value>,
    /// The team (`""` for DMs on newer servers).
    #[serde(default, deserialize_with = "null_default")]
    pub team_id: String,
    /// `dialog_submission` (newer: `refresh`, `dialog_lookup`).
    #[serde(default, rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    /// The submitting user, set by Mattermost from the session: the one trustworthy field.
    #[serde(default, deserialize_with = "null_default")]
    pub user_id: String,
}

impl DialogSubmissionRequest {
    /// Parses the JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, PayloadError> {
        let request: DialogSubmissionRequest = from_slice(body)?;
        if request.user_id.is_empty() {
            return Err(PayloadError::MissingField("user_id"));
        }
        Ok(request)
    }

    /// A submitted value as text: strings as they are, numbers and booleans written out,
    /// arrays joined with commas; `None` for absent or `null` (an unset optional field).
    pub fn value(&self, name: &str) -> Option<String> {
        match self.submission.get(name)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            other => Some(other.to_string()),
        }
    }

    /// A boolean element's value (`true`, or the strings `"true"`).
    pub fn flag(&self, name: &str) -> bool {
        match self.submission.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }
}

/// One option of a lookup answer (`model.DialogSelectOption`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LookupItem {
    /// Shown text.
    pub text: String,
    /// The value submitted when chosen.
    pub value: String,
}

impl LookupItem {
    /// An option.
    pub fn new(text: impl Into<String>, value: impl Into<String>) -> Self {
        LookupItem {
            text: text.into(),
            value: value.into(),
        }
    }
}

/// The reply to a dynamic select's lookup (`model.LookupDialogResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LookupResponse {
    /// The options to show.
    pub items: Vec<LookupItem>,
}

/// The reply to a submission (`model.SubmitDialogResponse`): `{}` closes the dialog.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DialogResponse {
    /// A general error shown in the dialog's footer; the dialog stays open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Element name → error shown under that element; the dialog stays open.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
    /// The next step of a multi-step dialog, or a refreshed form (sent with `type: "form"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<crate::mattermost::models::Dialog>,
    /// `"form"` with [`DialogResponse::form`]; absent otherwise.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl DialogResponse {
    /// Closes the dialog.
    pub fn close() -> Self {
        Self::default()
    }

    /// Keeps the dialog open with a general error.
    pub fn error(message: impl Into<String>) -> Self {
        DialogResponse {
            error: Some(message.into()),
            ..Self::default()
        }
    }

    /// Keeps the dialog open with an error under element `name` (chainable).
    pub fn field_error(mut self, name: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.insert(name.into(), message.into());
        self
    }

    /// Shows `form` next (a multi-step dialog's next step, or a refreshed form).
    pub fn form(form: crate::mattermost::models::Dialog) -> Self {
        DialogResponse {
            form: Some(form),
            kind: Some("form".into()),
            ..Self::default()
        }
    }

    /// Whether the submission was accepted: the dialog closes or moves on to the next step.
    pub fn closes(&self) -> bool {
        self.error.is_none() && self.errors.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_type_read_as_text() {
        let body = br#"{"type":"dialog_submission","callback_id":"cb","state":"s","user_id":"u",
            "channel_id":"c","team_id":"t","cancelled":false,
            "submission":{"name":"x","n":42,"ok":true,"none":null,"many":["a","b"]}}"#;
        let r = DialogSubmissionRequest::from_json(body).unwrap();
        assert_eq!(r.value("name").as_deref(), Some("x"));
        assert_eq!(r.value("n").as_deref(), Some("42"));
        assert_eq!(r.value("ok").as_deref(), Some("true"));
        assert!(r.flag("ok"));
        assert_eq!(r.value("none"), None);
        assert_eq!(r.value("many").as_deref(), Some("a,b"));
    }

    #[test]
    fn a_null_submission_is_empty() {
        let r = DialogSubmissionRequest::from_json(
            br#"{"type":"dialog_submission","user_id":"u","submission":null,"cancelled":true}"#,
        )
        .unwrap();
        assert!(r.cancelled);
        assert!(r.submission.is_empty());
    }

    #[test]
    fn closing_is_an_empty_object() {
        assert_eq!(
            serde_json::to_string(&DialogResponse::close()).unwrap(),
            "{}"
        );
        let open = DialogResponse::default().field_error("name", "too short");
        assert_eq!(
            serde_json::to_value(open).unwrap(),
            serde_json::json!({"errors": {"name": "too short"}})
        );
    }
}
