//! The page's dialog endpoints: answering a dialog, a dynamic select's lookup, and uploading a
//! file for a `file` element, each as the chosen user through the simulator.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Page, refused, sim_error};
use crate::dev::dialog;
use crate::sim::OpenedDialog;

/// The dialog `id`, if it is open for `user`; else the status and why.
fn opened_for(
    page: &Page,
    id: &str,
    user: &str,
) -> Result<OpenedDialog, (StatusCode, &'static str)> {
    let Some(opened) = page.world.opened_dialogs().into_iter().find(|d| d.id == id) else {
        return Err((StatusCode::NOT_FOUND, "no such dialog"));
    };
    if page.world.user_id(user).as_deref() != Some(opened.user_id.as_str()) {
        return Err((
            StatusCode::FORBIDDEN,
            "this dialog was opened for another user",
        ));
    }
    Ok(opened)
}

#[derive(Debug, Deserialize)]
pub(super) struct DialogAnswer {
    user: String,
    channel: String,
    dialog_id: String,
    #[serde(default)]
    submission: Map<String, Value>,
    #[serde(default)]
    cancel: bool,
}

/// `POST /api/dialog`. A datetime picker's local `YYYY-MM-DDTHH:MM` is sent as RFC 3339 in
/// the element's time zone, as the web client does.
pub(super) async fn answer(State(page): State<Page>, Json(answer): Json<DialogAnswer>) -> Response {
    let opened = match opened_for(&page, &answer.dialog_id, &answer.user) {
        Ok(opened) => opened,
        Err((status, why)) => return refused(status, why),
    };
    let submission = if answer.cancel {
        Map::new()
    } else {
        match dialog::as_web_client_sends(&opened.dialog, answer.submission) {
            Ok(submission) => submission,
            Err(e) => return refused(StatusCode::UNPROCESSABLE_ENTITY, e),
        }
    };
    match page
        .world
        .submit_dialog(
            &answer.user,
            &page.team,
            &answer.channel,
            &opened,
            submission,
            answer.cancel,
        )
        .await
    {
        Ok(reply) => Json(json!({
            "reply": reply,
            "closed": answer.cancel || !dialog::stays_open(&reply),
        }))
        .into_response(),
        Err(e) => sim_error(&e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RefreshAsk {
    user: String,
    channel: String,
    dialog_id: String,
    #[serde(default)]
    submission: Map<String, Value>,
}

/// `POST /api/refresh`: a field declared `refresh = true` changed, so the form's values go to
/// the dialog's `source_url` with `type: "refresh"`, as the web client sends them while the
/// user fills the form in. A `{"type": "form"}` answer arrives on the event stream as the
/// dialog the form became (the page shows it in place of this one); the answer is returned
/// too.
pub(super) async fn refresh(State(page): State<Page>, Json(ask): Json<RefreshAsk>) -> Response {
    let opened = match opened_for(&page, &ask.dialog_id, &ask.user) {
        Ok(opened) => opened,
        Err((status, why)) => return refused(status, why),
    };
    let values = match dialog::as_web_client_sends(&opened.dialog, ask.submission) {
        Ok(values) => values,
        Err(e) => return refused(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    match page
        .world
        .refresh_dialog(&ask.user, &page.team, &ask.channel, &opened, values)
        .await
    {
        Ok(reply) => Json(json!({ "reply": reply })).into_response(),
        Err(e) => sim_error(&e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct LookupAsk {
    user: String,
    channel: String,
    dialog_id: String,
    field: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    submission: Map<String, Value>,
}

/// `POST /api/lookup`: what the integration answers for `query` in dynamic select `field`.
pub(super) async fn lookup(State(page): State<Page>, Json(ask): Json<LookupAsk>) -> Response {
    let opened = match opened_for(&page, &ask.dialog_id, &ask.user) {
        Ok(opened) => opened,
        Err((status, why)) => return refused(status, why),
    };
    match page
        .world
        .lookup_dialog(
            &ask.user,
            &page.team,
            &ask.channel,
            &opened,
            &ask.field,
            &ask.query,
            ask.submission,
        )
        .await
    {
        Ok(reply) => Json(reply).into_response(),
        Err(e) => sim_error(&e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct UploadAsk {
    user: String,
    channel: String,
    name: String,
}

/// `POST /api/upload`: the body uploaded as `name` into `channel` by `user`, through the
/// client's files API against the simulator; answers `{id}`.
pub(super) async fn upload(
    State(page): State<Page>,
    Query(ask): Query<UploadAsk>,
    body: Bytes,
) -> Response {
    let (Some(token), Some(channel_id)) = (
        page.world.user_token(&ask.user),
        page.world.channel_id(&page.team, &ask.channel),
    ) else {
        return refused(StatusCode::NOT_FOUND, "no such user or channel");
    };
    match dialog::upload_bytes(&page.sim_url, &token, &channel_id, &ask.name, body.to_vec()).await {
        Ok(id) => Json(json!({ "id": id })).into_response(),
        Err(e) => refused(StatusCode::UNPROCESSABLE_ENTITY, e),
    }
}
