//! Interactive dialogs and message actions (PROTOCOL.md §3, §4).
//!
//! - **Open** (`POST /api/v4/actions/dialogs/open`, no session): verifies the simulator's own
//!   trigger id (400 with Mattermost's `decode_trigger_id` ids), requires `url`, decodes the
//!   dialog with strict JSON types (`"optional": "true"` is a 400, as in Go), then records the
//!   dialog as shown to the user in the trigger id and publishes [`SimEvent::DialogOpened`].
//! - **Submit** ([`World::submit_dialog`], `POST /api/v4/actions/dialogs/submit`): the
//!   session's user becomes `user_id`, the user must be able to read the channel, and the
//!   integration gets the §3.3 JSON; non-200 → 400, invalid JSON → 500.
//! - **Multi-step** (≥ 11.1): an answer `{"type": "form", "form": …}` is shown as the next
//!   step, a new [`OpenedDialog`] posting to the same `url`, and (as the web client does) the
//!   values submitted so far are merged into the next step's `submission`; the first step's
//!   `callback_id` goes with every later step, and its `state` with every lookup. Any `type` other
//!   than `""`, `ok`, `form` (with a `form`) or `navigate` is a 400
//!   `app.submit_interactive_dialog.invalid_response`, unless `error`/`errors` are set.
//! - **Refresh** ([`World::refresh_dialog`]): as the web client, a submit with `type:
//!   "refresh"` to the dialog's `source_url` carrying the values so far; a `type: "form"`
//!   answer replaces the dialog (a new [`OpenedDialog`] keeping the values entered).
//! - **Lookup** ([`World::lookup_dialog`], `POST /api/v4/actions/dialogs/lookup`): as the
//!   server's `LookupInteractiveDialog`, the user must read the channel, `url` must be an
//!   http(s) URL, and the integration gets the §3.3 JSON with `type: "dialog_lookup"` and
//!   `query`/`selected_field` in `submission`; its `{"items": …}` answer is returned.
//! - **Click** ([`World::click_action`], `POST /api/v4/posts/{id}/actions/{action_id}`): the
//!   action is looked up in the stored post, the integration gets the §4.2 JSON with a fresh
//!   trigger id, and its reply is applied as §4.3 says (`update` replaces the message, keeps or
//!   replaces props; `ephemeral_text` goes to the clicking user in the post's thread).
//!
//! Action ids are generated for actions stored without one ([`fill_action_ids`]), and
//! integration blocks never leave the simulator (`SimPost::to_json` strips them).
//!
//! The dialog side is in `dialogs`, the message-action side in `actions`.

mod actions;
mod dialogs;

pub(crate) use actions::{do_post_action, fill_action_ids};
pub(crate) use dialogs::{lookup_dialog, open_dialog, submit_dialog};

use serde_json::{Map, Value};

use crate::sim::app_error::AppError;
use crate::sim::state::World;

/// A dialog the simulator showed to a user.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OpenedDialog {
    /// An id for this opening.
    pub id: String,
    /// The user it was shown to (from the trigger id).
    pub user_id: String,
    /// Where submissions go.
    pub url: String,
    /// The dialog JSON as the integration sent it.
    pub dialog: Value,
    /// Values of earlier steps the web client sends again with this one (multi-step).
    pub carried: Map<String, Value>,
    /// For a later step (or a refreshed form): the first dialog's `callback_id` and `state`.
    /// The web client keeps sending that `callback_id` with every step, and that `state` with
    /// every lookup (interactive_dialog_adapter uses its props, set when the first one opened).
    pub first: Option<(String, String)>,
}

impl OpenedDialog {
    /// The dialog's `callback_id`.
    pub fn callback_id(&self) -> &str {
        self.dialog
            .get("callback_id")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The `callback_id` the web client sends with this dialog's submissions: the first
    /// step's, for a later step.
    pub fn sent_callback_id(&self) -> &str {
        match &self.first {
            Some((callback_id, _)) => callback_id,
            None => self.callback_id(),
        }
    }

    /// The dialog's `state`.
    pub fn state(&self) -> &str {
        self.dialog
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The dialog's `title`.
    pub fn title(&self) -> &str {
        self.dialog
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The `name`s of its elements.
    pub fn element_names(&self) -> Vec<String> {
        self.dialog
            .get("elements")
            .and_then(Value::as_array)
            .map(|els| {
                els.iter()
                    .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The file ids `values` holds for this dialog's `file` elements (a string, comma-separated
    /// when several, or an array), as the web client lists them in `file_ids`.
    pub fn file_ids_in(&self, values: &Map<String, Value>) -> Vec<String> {
        let files: Vec<&str> = self
            .dialog
            .get("elements")
            .and_then(Value::as_array)
            .map(|els| {
                els.iter()
                    .filter(|e| e.get("type").and_then(Value::as_str) == Some("file"))
                    .filter_map(|e| e.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        let mut ids = Vec::new();
        for name in files {
            match values.get(name) {
                Some(Value::String(s)) => ids.extend(
                    s.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                ),
                Some(Value::Array(items)) => {
                    ids.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
        ids
    }
}

/// The integration call shared by submissions and clicks: JSON POST, 200 required, body read
/// through the 1 MiB limit.
async fn call_integration(
    world: &World,
    kind: &'static str,
    url: &str,
    body: &Value,
) -> Result<Vec<u8>, AppError> {
    let action_error = |detail: String| {
        AppError::new(
            "api.post.do_action.action_integration.app_error",
            400,
            "Action integration error.",
        )
        .detail(detail)
    };
    let deadline = world.lock().settings.outgoing_integration_requests_timeout;
    let request = world
        .inner
        .http
        .post(url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .timeout(deadline)
        .body(body.to_string());
    let answer = crate::sim::exchange::send(world, kind, request)
        .await
        .map_err(action_error)?;
    if answer.status != reqwest::StatusCode::OK {
        return Err(action_error(format!("status={}", answer.status.as_u16())));
    }
    Ok(answer.body)
}
