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

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::api::{Session, decode, json as json_response, null_default, require_id};
use super::app_error::AppError;
use super::error::SimError;
use super::ids::new_id;
use super::model::SimPost;
use super::permissions::Permission;
use super::state::{SimEvent, World, make_ephemeral};
use super::trigger_id;

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
}

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
    let answer = super::exchange::send(world, kind, request)
        .await
        .map_err(action_error)?;
    if answer.status != reqwest::StatusCode::OK {
        return Err(action_error(format!("status={}", answer.status.as_u16())));
    }
    Ok(answer.body)
}

/// What the web client sends on submit.
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ClickBody {
    #[serde(deserialize_with = "null_default")]
    selected_option: String,
    #[serde(deserialize_with = "null_default")]
    cookie: String,
}

/// `POST /api/v4/posts/{post_id}/actions/{action_id}`.
pub(crate) async fn do_post_action(
    State(world): State<World>,
    session: Session,
    Path((post_id, action_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let post_id = require_id(&post_id, "post_id")?;
    let clicked: ClickBody = if body.is_empty() {
        ClickBody::default()
    } else {
        decode(&body, "post_action")?
    };
    let _ = clicked.cookie;
    let reply = click(
        &world,
        &session.user_id,
        &post_id,
        &action_id,
        &clicked.selected_option,
    )
    .await?;
    Ok(json_response(StatusCode::OK, reply))
}

fn action_missing() -> AppError {
    AppError::new(
        "api.post.do_action.action_id.app_error",
        404,
        "Invalid action id.",
    )
}

/// `DoPostActionWithCookie` for a stored post, then the reply applied.
async fn click(
    world: &World,
    user_id: &str,
    post_id: &str,
    action_id: &str,
    selected_option: &str,
) -> Result<Value, AppError> {
    let (post, action, request, client_trigger_id) = {
        let store = world.lock();
        let post = store
            .post(post_id)
            .filter(|p| p.delete_at == 0)
            .cloned()
            .ok_or_else(|| {
                AppError::new("app.post.get.app_error", 404, "Unable to get the post.")
            })?;
        let channel = store
            .channel(&post.channel_id)
            .cloned()
            .ok_or_else(action_missing)?;
        if !store.can_read_channel(user_id, &channel) {
            return Err(AppError::permission(Permission::ReadChannel.id()));
        }
        let action = find_action(&post.props, action_id).ok_or_else(action_missing)?;
        let user = store
            .user(user_id)
            .cloned()
            .ok_or_else(AppError::session_expired)?;
        let team = store.team(&channel.team_id).cloned();
        let (client_id, long_id) = trigger_id::generate(&world.inner.trigger_key, user_id);
        let action_type = action.get("type").and_then(Value::as_str).unwrap_or("");
        let mut context = action
            .get("integration")
            .and_then(|i| i.get("context"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut data_source = "";
        if !selected_option.is_empty() {
            context.insert(
                "selected_option".into(),
                Value::String(selected_option.into()),
            );
            data_source = action
                .get("data_source")
                .and_then(Value::as_str)
                .unwrap_or("");
        }
        let mut request = json!({
            "user_id": user_id,
            "user_name": user.username,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "team_id": team.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            "team_domain": team.as_ref().map(|t| t.name.clone()).unwrap_or_default(),
            "post_id": post.id,
            "trigger_id": long_id,
            "type": action_type,
            "data_source": data_source,
        });
        if !context.is_empty() {
            request["context"] = Value::Object(context);
        }
        (post, action, request, client_id)
    };
    let url = action
        .get("integration")
        .and_then(|i| i.get("url"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if url.is_empty() {
        return Err(action_missing());
    }
    let reply = call_integration(world, "action", &url, &request).await?;
    if !reply.is_empty() {
        let reply: Map<String, Value> = serde_json::from_slice(&reply).map_err(|e| {
            AppError::new(
                "api.post.do_action.action_integration.app_error",
                400,
                "Action integration error.",
            )
            .detail(e.to_string())
        })?;
        apply_reply(world, user_id, &post, &reply);
    }
    Ok(json!({"status": "OK", "trigger_id": client_trigger_id}))
}

/// Applies `update` and `ephemeral_text` of an action reply (§4.3).
fn apply_reply(world: &World, user_id: &str, post: &SimPost, reply: &Map<String, Value>) {
    if let Some(Value::Object(update)) = reply.get("update") {
        let mut store = world.lock();
        if let Some(slot) = store.posts.iter_mut().find(|p| p.id == post.id) {
            let old = slot.clone();
            slot.message = update
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            slot.file_ids = update
                .get("file_ids")
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(props)) = update.get("props") {
                let mut props = props.clone();
                for key in ["from_webhook", "override_username", "override_icon_url"] {
                    match old.props.get(key) {
                        Some(v) => {
                            props.insert(key.to_owned(), v.clone());
                        }
                        None => {
                            props.remove(key);
                        }
                    }
                }
                fill_action_ids(&mut props);
                slot.props = props;
            }
            let now = super::ids::now_millis();
            slot.update_at = now;
            if slot.message != old.message {
                slot.edit_at = now;
            }
            let edited = slot.clone();
            drop(store);
            world.publish(SimEvent::PostEdited(edited));
        }
    }
    if let Some(text) = reply.get("ephemeral_text").and_then(Value::as_str) {
        if !text.is_empty() {
            let root = if post.root_id.is_empty() {
                post.id.clone()
            } else {
                post.root_id.clone()
            };
            let skip = reply
                .get("skip_slack_parsing")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let text = if skip {
                text.to_owned()
            } else {
                super::slack::parse_slack_links(text)
            };
            let bot = world
                .lock()
                .users
                .iter()
                .find(|u| u.is_bot)
                .map(|u| u.id.clone())
                .unwrap_or_default();
            let eph = make_ephemeral(SimPost::new(&post.channel_id, &bot, &root, &text), user_id);
            world.publish(SimEvent::EphemeralPost(eph));
        }
    }
}

/// The action `action_id` among the post's attachments.
fn find_action(props: &Map<String, Value>, action_id: &str) -> Option<Map<String, Value>> {
    props
        .get("attachments")?
        .as_array()?
        .iter()
        .filter_map(|a| a.get("actions").and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_object)
        .find(|a| a.get("id").and_then(Value::as_str) == Some(action_id))
        .cloned()
}

/// Gives every action without an id a fresh 26-char id (Mattermost does this on save).
pub(crate) fn fill_action_ids(props: &mut Map<String, Value>) {
    let Some(Value::Array(attachments)) = props.get_mut("attachments") else {
        return;
    };
    for attachment in attachments {
        if let Some(Value::Array(actions)) = attachment.get_mut("actions") {
            for action in actions.iter_mut().filter_map(Value::as_object_mut) {
                let has_id = action
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| !id.is_empty());
                if !has_id {
                    action.insert("id".into(), Value::String(new_id()));
                }
            }
        }
    }
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
        let user_id = self.user_id(username).ok_or_else(|| SimError::NoSuch {
            kind: "user",
            name: username.to_owned(),
        })?;
        let channel_id =
            self.channel_id(team_name, channel_name)
                .ok_or_else(|| SimError::NoSuch {
                    kind: "channel",
                    name: format!("{team_name}/{channel_name}"),
                })?;
        let team_id = self.team_id(team_name).unwrap_or_default();
        // The web client sends earlier steps' values again with each step.
        let all = if cancelled {
            submission
        } else {
            let mut all = dialog.carried.clone();
            all.extend(submission);
            all
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
        let user_id = self.user_id(username).ok_or_else(|| SimError::NoSuch {
            kind: "user",
            name: username.to_owned(),
        })?;
        let channel_id =
            self.channel_id(team_name, channel_name)
                .ok_or_else(|| SimError::NoSuch {
                    kind: "channel",
                    name: format!("{team_name}/{channel_name}"),
                })?;
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
        let user_id = self.user_id(username).ok_or_else(|| SimError::NoSuch {
            kind: "user",
            name: username.to_owned(),
        })?;
        let channel_id =
            self.channel_id(team_name, channel_name)
                .ok_or_else(|| SimError::NoSuch {
                    kind: "channel",
                    name: format!("{team_name}/{channel_name}"),
                })?;
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
            first_state: None,
        };
        Ok(lookup(self, &user_id, body).await?)
    }

    /// `username` clicks action `action_id` of post `post_id` (with `selected_option` for a
    /// menu), as the web client does; returns `{"status":"OK","trigger_id":…}`.
    pub async fn click_action(
        &self,
        username: &str,
        post_id: &str,
        action_id: &str,
        selected_option: Option<&str>,
    ) -> Result<Value, SimError> {
        let user_id = self.user_id(username).ok_or_else(|| SimError::NoSuch {
            kind: "user",
            name: username.to_owned(),
        })?;
        Ok(click(
            self,
            &user_id,
            post_id,
            action_id,
            selected_option.unwrap_or(""),
        )
        .await?)
    }

    /// A stored post by id.
    pub fn post(&self, post_id: &str) -> Option<SimPost> {
        self.lock().post(post_id).cloned()
    }

    /// The ids of the actions of a stored post, in order, with their labels.
    pub fn action_ids(&self, post_id: &str) -> Vec<(String, String)> {
        let Some(post) = self.post(post_id) else {
            return Vec::new();
        };
        post.props
            .get("attachments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("actions").and_then(Value::as_array))
            .flatten()
            .filter_map(|a| {
                Some((
                    a.get("id")?.as_str()?.to_owned(),
                    a.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            })
            .collect()
    }
}
