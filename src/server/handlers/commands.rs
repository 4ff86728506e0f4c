//! Slash-command callbacks: `POST /commands/{route}` (form body) and `GET` (query), for
//! commands registered with method `P` or `G`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;

use crate::integrations::{Action, CommandContext, Route};
use crate::mattermost::models::CommandResponse;
use crate::protocol::SlashCommandRequest;
use crate::server::error::AppError;
use crate::server::extract;
use crate::server::state::AppState;
use crate::telemetry;

/// `POST /commands/{route}`.
pub(crate) async fn slash_command_post(
    State(state): State<AppState>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CommandResponse>, AppError> {
    let route = find(&state, &route)?;
    let body = extract::body(body)?;
    extract::require_form(&headers)?;
    let request = SlashCommandRequest::from_form(&body)?;
    telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
    answer(&state, route, &request)
}

/// `GET /commands/{route}?…`.
pub(crate) async fn slash_command_get(
    State(state): State<AppState>,
    Path(route): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<CommandResponse>, AppError> {
    let route = find(&state, &route)?;
    let request = SlashCommandRequest::from_form(query.unwrap_or_default().as_bytes())?;
    telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
    answer(&state, route, &request)
}

fn find<'s>(state: &'s AppState, name: &str) -> Result<&'s Route, AppError> {
    state.routes.get(name).ok_or(AppError::NotFound)
}

/// Verifies the token, then runs the route. `Json` answers with `Content-Type:
/// application/json` exactly, which is what Mattermost requires to parse a reply as JSON.
#[tracing::instrument(
    name = "slash_command",
    skip_all,
    fields(route = %route.name, team_id = %request.team_id, channel_id = %request.channel_id, user_id = %request.user_id)
)]
fn answer(
    state: &AppState,
    route: &Route,
    request: &SlashCommandRequest,
) -> Result<Json<CommandResponse>, AppError> {
    if !state
        .tokens
        .verify(&route.name, &request.team_id, &request.token)
    {
        return Err(AppError::Unauthorized("slash-command token does not match"));
    }
    let context = CommandContext::from_request(request);
    let response = match &route.action {
        Action::Reply(reply) => reply.respond(&context),
    };
    Ok(Json(response.unwrap_or_else(|e| {
        // Our template failed on this input: tell the user something went wrong rather than
        // letting Mattermost show a bare error, and keep the detail in the log.
        tracing::error!(error = %e, "reply template failed");
        CommandResponse::ephemeral(
            "Sorry, Switchboard could not answer this command; the error is in its log.",
        )
    })))
}
