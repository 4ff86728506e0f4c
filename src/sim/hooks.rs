//! `POST /hooks/commands/{hook_id}`: the `response_url` of a slash command (PROTOCOL.md §1.6).
//!
//! No session: the unguessable id is the credential. The body follows the same Content-Type
//! rule as a command reply; success is `200 text/plain` `ok`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::app_error::AppError;
use super::command_response::CommandResponse;
use super::execute::handle_command_webhook;
use super::state::World;

pub(crate) async fn command_webhook(
    State(world): State<World>,
    Path(hook_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let response = CommandResponse::from_http_body(&content_type, &body).map_err(|e| {
        AppError::new(
            "web.command_webhook.parse.app_error",
            400,
            "Unable to parse incoming data.",
        )
        .detail(e)
    })?;
    handle_command_webhook(&world, &hook_id, response)
        .map_err(super::error::SimError::into_app_error)?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "ok").into_response())
}
