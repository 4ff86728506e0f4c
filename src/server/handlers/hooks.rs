//! Outgoing-webhook callbacks: `POST /hooks/{route}`, JSON or form-encoded.
//!
//! The payload's `token` is verified against the hook tokens in the [`TokenStore`]
//! (route + team). Posts by the bot itself are answered with `{}` and never reach the
//! handler, so a hook cannot loop on its own replies. A late answer is posted through the
//! API (in the triggering post's thread for `response_type: "comment"`).
//!
//! [`TokenStore`]: crate::tokens::TokenStore

use axum::Json;
use axum::extract::State;

use crate::integrations::{BoxFuture, Cx};
use crate::mattermost::{ChannelId, Client, PostId};
use crate::protocol::{OutgoingWebhookRequest, OutgoingWebhookResponse};
use crate::server::deferred;
use crate::server::error::AppError;
use crate::server::extract::{JsonOrForm, RequestId, RouteName};
use crate::server::state::AppState;
use crate::telemetry::request::{Detail, record_detail};
use crate::tokens::TokenKind;

/// `POST /hooks/{route}`.
pub(crate) async fn outgoing_hook(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    RequestId(request_id): RequestId,
    payload: Result<JsonOrForm<OutgoingWebhookRequest>, AppError>,
) -> Result<Json<OutgoingWebhookResponse>, AppError> {
    let handler = super::find(&state, &route)?;
    let JsonOrForm(request) = payload?;
    crate::telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
    answer(&state, route, handler, request, request_id).await
}

/// Checks the token and runs the handler within the budget; the post joins the request's
/// context (beside the route and caller ids), so every line logged for it says so.
///
/// Not an `async fn`, whose future would hold its arguments twice (as given, and as its
/// body's variables): this future holds them once.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn's future holds its arguments twice"
)]
fn answer<'a>(
    state: &'a AppState,
    route: String,
    handler: std::sync::Arc<dyn crate::integrations::Handler>,
    request: OutgoingWebhookRequest,
    request_id: String,
) -> impl Future<Output = Result<Json<OutgoingWebhookResponse>, AppError>> + Send + 'a {
    async move {
        record_detail(Detail::PostId, &request.post_id);
        if !state
            .tokens
            .verify_or_refresh(TokenKind::Hook, &route, &request.team_id, &request.token)
            .await
        {
            return Err(AppError::Unauthorized(
                "outgoing-webhook token does not match",
            ));
        }
        match state.bot_user_id().await {
            Ok(bot) if bot.as_str() == request.user_id => {
                tracing::debug!("post by the bot itself; ignored so the hook cannot loop");
                return Ok(Json(OutgoingWebhookResponse::none()));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = %e,
                "cannot look up the bot's own user id; this post is handled without the loop check"
            ),
        }
        let cx = state.cx(&route, request_id);
        // The context and request travel with the handler's answer, so a late answer finds the
        // client, channel and post without copies made for the rare late case.
        let late = |answered: deferred::Answered<
            OutgoingWebhookResponse,
            Cx,
            OutgoingWebhookRequest,
        >|
         -> BoxFuture<'static, bool> {
            let (result, cx, request) = *answered;
            Box::pin(async move {
                match result {
                    Ok(reply) => {
                        post_late(cx.client(), &request.channel_id, &request.post_id, reply).await
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outgoing-hook handler failed");
                        false
                    }
                }
            })
        };
        // Bound first: a future awaited in the statement that makes it keeps that
        // statement's temporaries beside it.
        let work = deferred::run(
            state,
            "hook",
            &route,
            async move {
                let result = handler.outgoing_hook(&cx, &request).await;
                Box::new((result, cx, request))
            },
            late,
        );
        // Mattermost shows nothing for `{}`; a late answer is posted when it is ready.
        work.await
            .answer(
                "outgoing-hook",
                OutgoingWebhookResponse::none,
                OutgoingWebhookResponse::none,
            )
            .map(Json)
    }
}

/// Posts a late hook answer as the bot, as Mattermost would have posted it; whether it was
/// delivered (an answer that posts nothing counts as delivered).
async fn post_late(
    client: &Client,
    channel_id: &str,
    post_id: &str,
    reply: OutgoingWebhookResponse,
) -> bool {
    if !reply.posts_something() {
        tracing::info!("late hook answer posts nothing");
        return true;
    }
    let mut props = reply.props.clone().unwrap_or_default();
    if let Some(attachments) = &reply.attachments {
        if let Ok(value) = serde_json::to_value(attachments) {
            props.insert("attachments".into(), value);
        }
    }
    let channel = ChannelId::from(channel_id.to_owned());
    let mut post = client
        .posts()
        .create(&channel, reply.text.clone().unwrap_or_default());
    if reply.is_comment() {
        post = post.root_id(&PostId::from(post_id.to_owned()));
    }
    if !props.is_empty() {
        post = post.props(props);
    }
    if let Some(post_type) = &reply.post_type {
        post = post.post_type(post_type.clone());
    }
    match post.send().await {
        Ok(created) => {
            tracing::info!(post_id = %created.id.as_str(), "late hook answer posted via the API");
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "late hook answer could not be posted");
            false
        }
    }
}
