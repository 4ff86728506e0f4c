//! Slash-command callbacks: `POST /commands/{route}` (form body) and `GET` (query), for
//! commands registered with method `P` or `G`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;

use std::sync::Arc;

use crate::integrations::{Route, RouteSet};
use crate::mattermost::models::CommandResponse;
use crate::protocol::SlashCommandRequest;
use crate::server::error::AppError;
use crate::server::extract;
use crate::server::state::AppState;

/// `POST /commands/{route}`.
pub(crate) async fn slash_command_post(
    State(state): State<AppState>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CommandResponse>, AppError> {
    let routes = state.routes.current();
    let route = find(&routes, &route)?;
    let body = extract::body(body)?;
    extract::require_form(&headers)?;
    let request = SlashCommandRequest::from_form(&body)?;
    answer(&state, route, &request).await
}

/// `GET /commands/{route}?…`.
pub(crate) async fn slash_command_get(
    State(state): State<AppState>,
    Path(route): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<CommandResponse>, AppError> {
    let routes = state.routes.current();
    let route = find(&routes, &route)?;
    let request = SlashCommandRequest::from_form(query.unwrap_or_default().as_bytes())?;
    answer(&state, route, &request).await
}

/// A route of the set this request started with; a reload mid-request does not affect it.
fn find<'s>(routes: &'s Arc<RouteSet>, name: &str) -> Result<&'s Route, AppError> {
    routes.get(name).ok_or(AppError::NotFound)
}

/// Verifies the token, then runs the route. `Json` answers with `Content-Type:
/// application/json` exactly, which is what Mattermost requires to parse a reply as JSON.
#[tracing::instrument(
    name = "slash_command",
    skip_all,
    fields(route = %route.name, team_id = %request.team_id, channel_id = %request.channel_id, user_id = %request.user_id)
)]
async fn answer(
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
    Ok(Json(state.runtime.slash_command(route, request).await))
}
