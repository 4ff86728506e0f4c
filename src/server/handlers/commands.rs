//! Slash-command callbacks: `POST /commands/{route}` (form body) and `GET` (query), for
//! commands registered with method `P` or `G`.
//!
//! The form field `token` is verified (not the `Authorization` header, which an Outgoing OAuth
//! Connection replaces). A late answer goes to `response_url` as JSON; over-long text is split
//! into `extra_responses`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};

use crate::integrations::{BoxFuture, Cx, Handler};
use crate::mattermost::models::CommandResponse;
use crate::protocol::{SlashCommandRequest, split_long_text};
use crate::server::deferred;
use crate::server::deliver;
use crate::server::error::AppError;
use crate::server::extract::{FormBody, RequestId, RouteName};
use crate::server::state::AppState;
use crate::telemetry;
use crate::tokens::TokenKind;

/// What the user sees when a handler failed (the error is in the log).
const APOLOGY: &str = "Sorry, Switchboard could not answer this command; the error is in its log.";

/// `POST /commands/{route}`.
pub(crate) async fn slash_command_post(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    RequestId(request_id): RequestId,
    FormBody(body): FormBody,
) -> Result<Json<CommandResponse>, AppError> {
    let handler = super::find(&state, &route)?;
    let request = SlashCommandRequest::from_form(&body)?;
    // Bound first: a future awaited in the statement that makes it keeps that statement's
    // temporaries (here the request, moved into it) beside it.
    let answer = answer(&state, &route, handler, request, request_id);
    answer.await
}

/// `GET /commands/{route}?…`.
pub(crate) async fn slash_command_get(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    RequestId(request_id): RequestId,
    RawQuery(query): RawQuery,
) -> Result<Json<CommandResponse>, AppError> {
    let handler = super::find(&state, &route)?;
    let request = SlashCommandRequest::from_form(query.unwrap_or_default().as_bytes())?;
    // Bound first: a future awaited in the statement that makes it keeps that statement's
    // temporaries (here the request, moved into it) beside it.
    let answer = answer(&state, &route, handler, request, request_id);
    answer.await
}

/// Verifies the token (an unknown one may trigger one token refresh, see `tokens.rs`), then
/// runs the handler within the budget. `Json` answers with `Content-Type: application/json`
/// exactly, which Mattermost requires to parse a reply.
///
/// Not an `async fn`, whose future would hold its arguments twice (as given, and as its
/// body's variables): this future holds them once.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn's future holds its arguments twice"
)]
fn answer<'a>(
    state: &'a AppState,
    route: &'a str,
    handler: Arc<dyn Handler>,
    request: SlashCommandRequest,
    request_id: String,
) -> impl Future<Output = Result<Json<CommandResponse>, AppError>> + 'a {
    async move {
        telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
        if !state
            .tokens
            .verify_or_refresh(TokenKind::Command, route, &request.team_id, &request.token)
            .await
        {
            return Err(AppError::Unauthorized("slash-command token does not match"));
        }
        let cx = state.cx(route, request_id);
        let late_route = route.to_owned();
        let forget_url = !handler.reuses_response_url();
        let late = move |answered: deferred::Answered<CommandResponse, Cx, SlashCommandRequest>| -> BoxFuture<'static, bool> {
            let (result, cx, request) = *answered;
            Box::pin(async move {
                let response = match result {
                    Ok(response) => split_long_text(response),
                    Err(e) => {
                        tracing::error!(error = %e, "slash-command handler failed");
                        CommandResponse::ephemeral(APOLOGY)
                    }
                };
                if request.response_url.is_empty() {
                    tracing::warn!(
                        "late slash-command answer: the request had no response_url; answering through the API"
                    );
                    return deliver::command_answer_elsewhere(
                        cx.client(),
                        &late_route,
                        &request,
                        &response,
                    )
                    .await
                        != deliver::Delivered::Failed;
                }
                let delivered = match cx.respond(&request.response_url, &response).await {
                    Ok(()) => {
                        tracing::info!("late slash-command answer delivered via response_url");
                        true
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "late slash-command answer not delivered via response_url; answering through the API");
                        deliver::command_answer_elsewhere(
                            cx.client(),
                            &late_route,
                            &request,
                            &response,
                        )
                        .await
                            != deliver::Delivered::Failed
                    }
                };
                if forget_url {
                    cx.forget_response_url(&request.response_url).await;
                }
                delivered
            })
        };
        // The context and request travel with the handler's answer, so a late answer finds its
        // `response_url` without anything copied up front for the rare late case. The work is
        // made within the call (not bound to a name first), so this future keeps no room for it:
        // `deferred::run` boxes it at once.
        let work = deferred::run(
            state,
            "command",
            route,
            async move {
                let result = handler.slash_command(&cx, &request).await;
                Box::new((result, cx, request))
            },
            late,
        );
        let response = work.await.answer(
            "slash-command",
            || CommandResponse::ephemeral(APOLOGY),
            || CommandResponse::ephemeral(state.settings.callbacks.ack_text.clone()),
        )?;
        Ok(Json(split_long_text(response)))
    }
}
