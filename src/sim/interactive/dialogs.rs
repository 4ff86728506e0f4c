//! Dialogs: open, submit, refresh and lookup (PROTOCOL.md §3).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::sim::api::{Session, decode, json as json_response, null_default};
use crate::sim::app_error::AppError;
use crate::sim::error::SimError;
use crate::sim::ids::new_id;
use crate::sim::permissions::Permission;
use crate::sim::state::{SimEvent, World};

use super::{OpenedDialog, call_integration};

// Strict shapes: Go decodes into typed structs, so a wrong JSON type fails the request.
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // fields exist to be type-checked
struct DialogShape {
    #[serde(default, deserialize_with = "null_default")]
    callback_id: String,
    #[serde(default, deserialize_with = "null_default")]
    title: String,
    #[serde(default, deserialize_with = "null_default")]
    introduction_text: String,
    #[serde(default, deserialize_with = "null_default")]
    icon_url: String,
    #[serde(default, deserialize_with = "null_default")]
    elements: Vec<ElementShape>,
    #[serde(default, deserialize_with = "null_default")]
    submit_label: String,
    #[serde(default, deserialize_with = "null_default")]
    notify_on_cancel: bool,
    #[serde(default, deserialize_with = "null_default")]
    state: String,
    #[serde(default, deserialize_with = "null_default")]
    source_url: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // fields exist to be type-checked
struct ElementShape {
    #[serde(default, deserialize_with = "null_default")]
    display_name: String,
    #[serde(default, deserialize_with = "null_default")]
    name: String,
    #[serde(default, rename = "type", deserialize_with = "null_default")]
    element_type: String,
    #[serde(default, deserialize_with = "null_default")]
    subtype: String,
    #[serde(default, deserialize_with = "null_default")]
    default: String,
    #[serde(default, deserialize_with = "null_default")]
    placeholder: String,
    #[serde(default, deserialize_with = "null_default")]
    help_text: String,
    #[serde(default, deserialize_with = "null_default")]
    optional: bool,
    #[serde(default, deserialize_with = "null_default")]
    min_length: i64,
    #[serde(default, deserialize_with = "null_default")]
    max_length: i64,
    #[serde(default, deserialize_with = "null_default")]
    data_source: String,
    #[serde(default, deserialize_with = "null_default")]
    options: Vec<OptionShape>,
    #[serde(default, deserialize_with = "null_default")]
    data_source_url: String,
    #[serde(default, deserialize_with = "null_default")]
    multiselect: bool,
    #[serde(default, deserialize_with = "null_default")]
    refresh: bool,
    #[serde(default, deserialize_with = "null_default")]
    min_date: String,
    #[serde(default, deserialize_with = "null_default")]
    max_date: String,
    #[serde(default, deserialize_with = "null_default")]
    time_interval: i64,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // fields exist to be type-checked
struct OptionShape {
    #[serde(default, deserialize_with = "null_default")]
    text: String,
    #[serde(default, deserialize_with = "null_default")]
    value: String,
}

#[derive(Debug, Deserialize)]
struct OpenBody {
    #[serde(default, deserialize_with = "null_default")]
    trigger_id: String,
    #[serde(default, deserialize_with = "null_default")]
    url: String,
    #[serde(default)]
    dialog: Value,
}

/// `POST /api/v4/actions/dialogs/open`.
pub(crate) async fn open_dialog(
    State(world): State<World>,
    body: Bytes,
) -> Result<Response, AppError> {
    let open: OpenBody = decode(&body, "dialog")?;
    let trigger = world
        .verify_trigger_id(&open.trigger_id)
        .map_err(SimError::into_app_error)?;
    if open.url.is_empty() {
        return Err(AppError::invalid_param("url"));
    }
    serde_json::from_value::<DialogShape>(open.dialog.clone()).map_err(|e| {
        AppError::new(
            "api.context.invalid_body_param.app_error",
            400,
            "Invalid or missing dialog in request body.",
        )
        .detail(e.to_string())
    })?;
    let opened = OpenedDialog {
        id: new_id(),
        user_id: trigger.user_id,
        url: open.url,
        dialog: open.dialog,
        carried: Map::new(),
        first: None,
    };
    world.lock().dialogs.push(opened.clone());
    world.publish(SimEvent::DialogOpened(opened));
    Ok(json_response(StatusCode::OK, json!({"status": "OK"})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SubmitBody {
    #[serde(deserialize_with = "null_default")]
    url: String,
    #[serde(deserialize_with = "null_default")]
    callback_id: String,
    #[serde(deserialize_with = "null_default")]
    state: String,
    #[serde(deserialize_with = "null_default")]
    submission: Map<String, Value>,
    #[serde(deserialize_with = "null_default")]
    channel_id: String,
    #[serde(deserialize_with = "null_default")]
    team_id: String,
    #[serde(deserialize_with = "null_default")]
    cancelled: bool,
    /// `refresh` for a field refresh; anything else becomes `dialog_submission`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    kind: String,
    /// Ids of the files uploaded through `file` elements (≥ 11.10).
    #[serde(deserialize_with = "null_default")]
    file_ids: Vec<String>,
    /// The first dialog's state, when this is a later step (not on the wire).
    #[serde(skip)]
    first_state: Option<String>,
}

/// `SubmitInteractiveDialog`, after the session is known.
async fn submit(world: &World, user_id: &str, body: SubmitBody) -> Result<Value, AppError> {
    if body.url.is_empty() {
        return Err(AppError::invalid_param("url"));
    }
    {
        let store = world.lock();
        let readable = store
            .channel(&body.channel_id)
            .is_some_and(|c| store.can_read_channel(user_id, c));
        if !readable {
            return Err(AppError::permission(Permission::ReadChannel.id()));
        }
    }
    let file_ids = check_file_ids(world, user_id, &body)?;
    // The server keeps `refresh` (field refresh) and sets everything else to a submission.
    let kind = if body.kind == "refresh" {
        "refresh"
    } else {
        "dialog_submission"
    };
    let request = json!({
        "type": kind,
        "callback_id": body.callback_id,
        "state": body.state,
        "user_id": user_id,
        "channel_id": body.channel_id,
        "team_id": body.team_id,
        "submission": body.submission,
        "cancelled": body.cancelled,
        "file_ids": file_ids,
    });
    let reply = call_integration(world, "dialog submission", &body.url, &request).await?;
    if reply.is_empty() {
        return Ok(json!({}));
    }
    let reply = serde_json::from_slice::<Value>(&reply).map_err(|e| {
        AppError::new(
            "app.submit_interactive_dialog.decode_json_error",
            500,
            "Encountered an error decoding JSON response from interactive dialog.",
        )
        .detail(e.to_string())
    })?;
    if let Some(form) = next_form(&reply)? {
        if !body.cancelled {
            let opened = OpenedDialog {
                id: new_id(),
                user_id: user_id.to_owned(),
                url: body.url.clone(),
                dialog: form,
                carried: body.submission.clone(),
                first: Some((
                    body.callback_id.clone(),
                    body.first_state
                        .clone()
                        .unwrap_or_else(|| body.state.clone()),
                )),
            };
            world.lock().dialogs.push(opened.clone());
            world.publish(SimEvent::DialogOpened(opened));
        }
    }
    Ok(reply)
}

/// What a ≥ 11.10 server checks of the files of a submission before forwarding it (mattermost
/// PR #36881): `file_ids` deduplicated, at most 10, each an existing file uploaded by the
/// submitter; ids of known files found in `submission` values must be the submitter's too
/// (other ids, of users or channels, pass). Returns the deduplicated `file_ids`. The error id
/// and status are the simulator's own (the real ones were not confirmed).
fn check_file_ids(
    world: &World,
    user_id: &str,
    body: &SubmitBody,
) -> Result<Vec<String>, AppError> {
    let refused = |detail: String| {
        AppError::new(
            "app.submit_interactive_dialog.invalid_file_ids.app_error",
            400,
            "Invalid file ids in the dialog submission.",
        )
        .detail(detail)
    };
    let mut ids: Vec<String> = Vec::new();
    for id in &body.file_ids {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    if ids.len() > 10 {
        return Err(refused(format!("{} file ids, at most 10", ids.len())));
    }
    let store = world.lock();
    let owned = |id: &str| {
        store
            .files
            .iter()
            .any(|f| f.id == id && f.user_id == user_id)
    };
    if let Some(bad) = ids.iter().find(|id| !owned(id)) {
        return Err(refused(format!("file {bad} is not the submitter's")));
    }
    let mut in_values = Vec::new();
    for value in body.submission.values() {
        match value {
            Value::String(s) => in_values.extend(s.split(',').map(str::trim)),
            Value::Array(items) => in_values.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    let smuggled = in_values
        .into_iter()
        .find(|id| store.files.iter().any(|f| f.id == *id) && !owned(id));
    if let Some(bad) = smuggled {
        return Err(refused(format!("file {bad} is not the submitter's")));
    }
    Ok(ids)
}

/// `SubmitDialogResponse.IsValid`: the next form of a `type: "form"` answer, or the 400 for a
/// `type` Mattermost does not know. `error`/`errors` win over everything else.
fn next_form(reply: &Value) -> Result<Option<Value>, AppError> {
    let has_errors = reply
        .get("error")
        .and_then(Value::as_str)
        .is_some_and(|e| !e.is_empty())
        || reply
            .get("errors")
            .and_then(Value::as_object)
            .is_some_and(|e| !e.is_empty());
    if has_errors {
        return Ok(None);
    }
    let invalid = |detail: &str| {
        AppError::new(
            "app.submit_interactive_dialog.invalid_response",
            400,
            "Invalid response from interactive dialog.",
        )
        .detail(detail.to_owned())
    };
    let form = reply.get("form").filter(|f| !f.is_null());
    match reply.get("type").and_then(Value::as_str).unwrap_or("") {
        "" | "ok" | "navigate" if form.is_some() => Err(invalid("form field must be nil")),
        "" | "ok" | "navigate" => Ok(None),
        "form" => match form {
            Some(form) => {
                serde_json::from_value::<DialogShape>(form.clone())
                    .map_err(|e| invalid(&e.to_string()))?;
                Ok(Some(form.clone()))
            }
            None => Err(invalid("form field is required for form type")),
        },
        other => Err(invalid(&format!("invalid type {other:?}"))),
    }
}

/// `POST /api/v4/actions/dialogs/submit`.
pub(crate) async fn submit_dialog(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    let body: SubmitBody = decode(&body, "dialog")?;
    let reply = submit(&world, &session.user_id, body).await?;
    Ok(json_response(StatusCode::OK, reply))
}

/// `LookupInteractiveDialog`, after the session is known.
async fn lookup(world: &World, user_id: &str, body: SubmitBody) -> Result<Value, AppError> {
    let valid_url = url::Url::parse(&body.url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !valid_url {
        return Err(AppError::invalid_param("url"));
    }
    {
        let store = world.lock();
        let readable = store
            .channel(&body.channel_id)
            .is_some_and(|c| store.can_read_channel(user_id, c));
        if !readable {
            return Err(AppError::permission(Permission::ReadChannel.id()));
        }
    }
    let request = json!({
        "type": "dialog_lookup",
        "callback_id": body.callback_id,
        "state": body.state,
        "user_id": user_id,
        "channel_id": body.channel_id,
        "team_id": body.team_id,
        "submission": body.submission,
        "cancelled": false,
    });
    let reply = call_integration(world, "dialog lookup", &body.url, &request).await?;
    if reply.is_empty() {
        return Ok(json!({"items": []}));
    }
    let items: Value = serde_json::from_slice(&reply).map_err(|e| {
        AppError::new(
            "app.lookup_interactive_dialog.decode_json_error",
            500,
            "Encountered an error decoding JSON response from lookup.",
        )
        .detail(e.to_string())
    })?;
    Ok(json!({"items": items.get("items").cloned().unwrap_or(Value::Null)}))
}

/// `POST /api/v4/actions/dialogs/lookup`.
pub(crate) async fn lookup_dialog(
    State(world): State<World>,
    session: Session,
    body: Bytes,
) -> Result<Response, AppError> {
    let body: SubmitBody = decode(&body, "dialog")?;
    let reply = lookup(&world, &session.user_id, body).await?;
    Ok(json_response(StatusCode::OK, reply))
}

impl World {
    /// Dialogs opened so far, oldest first.
    pub fn opened_dialogs(&self) -> Vec<OpenedDialog> {
        self.lock().dialogs.clone()
    }

    /// The dialog opened last for `user_id`, without copying the others (a long-running
    /// client, such as the soak bench, would copy every dialog ever opened per lookup).
    pub fn last_dialog_opened_for(&self, user_id: &str) -> Option<OpenedDialog> {
        self.lock()
            .dialogs
            .iter()
            .rev()
            .find(|d| d.user_id == user_id)
            .cloned()
    }

    /// `username` submits (or cancels) `dialog` from `team_name`/`channel_name` with
    /// `submission`, as the web client does; returns what the integration answered (`{}`
    /// when it sent nothing).
    pub async fn submit_dialog(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        dialog: &OpenedDialog,
        submission: Map<String, Value>,
        cancelled: bool,
    ) -> Result<Value, SimError> {
        let user_id = self.resolve_user(username)?;
        let channel_id = self.resolve_channel(team_name, channel_name)?;
        let team_id = self.team_id(team_name).unwrap_or_default();
        // The web client sends earlier steps' values again with each step.
        let all = if cancelled {
            submission
        } else {
            let mut all = dialog.carried.clone();
            all.extend(submission);
            all
        };
        // The web client lists the ids of the dialog's file elements again in `file_ids`.
        let file_ids = if cancelled {
            Vec::new()
        } else {
            dialog.file_ids_in(&all)
        };
        let body = SubmitBody {
            url: dialog.url.clone(),
            callback_id: dialog.sent_callback_id().to_owned(),
            state: dialog.state().to_owned(),
            submission: all,
            channel_id,
            team_id,
            cancelled,
            kind: String::new(),
            file_ids,
            first_state: dialog.first.as_ref().map(|(_, s)| s.clone()),
        };
        Ok(submit(self, &user_id, body).await?)
    }

    /// `username` changes a `refresh` field of `dialog` so that its values are `values`, as
    /// the web client does: a submit with `type: "refresh"` to the dialog's `source_url`
    /// (nothing is sent, `{}` returned, when it has none); returns the integration's answer.
    pub async fn refresh_dialog(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        dialog: &OpenedDialog,
        values: Map<String, Value>,
    ) -> Result<Value, SimError> {
        let Some(url) = dialog
            .dialog
            .get("source_url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        else {
            return Ok(json!({}));
        };
        let user_id = self.resolve_user(username)?;
        let channel_id = self.resolve_channel(team_name, channel_name)?;
        let mut submission = dialog.carried.clone();
        submission.extend(values);
        let body = SubmitBody {
            url: url.to_owned(),
            callback_id: dialog.sent_callback_id().to_owned(),
            state: dialog.state().to_owned(),
            submission,
            channel_id,
            team_id: self.team_id(team_name).unwrap_or_default(),
            cancelled: false,
            kind: "refresh".into(),
            file_ids: Vec::new(),
            first_state: dialog.first.as_ref().map(|(_, s)| s.clone()),
        };
        Ok(submit(self, &user_id, body).await?)
    }

    /// `username` types `query` into dynamic select `field` of `dialog` (opened in
    /// `team_name`/`channel_name`) whose other values are `values`, as the web client does: the
    /// lookup goes to the element's `data_source_url` with the dialog's `state`; returns the
    /// integration's `{"items": …}`.
    #[allow(clippy::too_many_arguments)] // the same who/where/dialog as submit_dialog, plus the lookup's three
    pub async fn lookup_dialog(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        dialog: &OpenedDialog,
        field: &str,
        query: &str,
        values: Map<String, Value>,
    ) -> Result<Value, SimError> {
        let user_id = self.resolve_user(username)?;
        let channel_id = self.resolve_channel(team_name, channel_name)?;
        let url = dialog
            .dialog
            .get("elements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(field))
            .and_then(|e| e.get("data_source_url"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut submission = dialog.carried.clone();
        submission.extend(values);
        submission.insert("query".into(), Value::String(query.to_owned()));
        submission.insert("selected_field".into(), Value::String(field.to_owned()));
        // The web client looks up with the first dialog's callback_id and state.
        let (callback_id, state) = dialog
            .first
            .clone()
            .unwrap_or_else(|| (dialog.callback_id().to_owned(), dialog.state().to_owned()));
        let body = SubmitBody {
            url,
            callback_id,
            state,
            submission,
            channel_id,
            team_id: self.team_id(team_name).unwrap_or_default(),
            cancelled: false,
            kind: String::new(),
            file_ids: Vec::new(),
            first_state: None,
        };
        Ok(lookup(self, &user_id, body).await?)
    }
}
