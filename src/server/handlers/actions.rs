//! Message actions (buttons and menus): `POST /actions/{route}`, JSON.
//!
//! No token exists; the action's `context` must carry Switchboard's signed token
//! (`context.switchboard`) for this route, unexpired, and for this channel when it was bound
//! to one (403 otherwise, reason logged). `selected_option` is outside the signature: the
//! user chooses it. A late answer is applied through the API: `update` patches the post
//! (message replaced, props replaced only when given), `ephemeral_text` is told to the user
//! (`server/deliver.rs`).
//!
//! A context signed single-use (a button declared `once = true`) is used up by its first click,
//! on every replica sharing the store (`server/single_use.rs`): later clicks and replays are
//! answered ephemerally "This button was already used." and nothing runs.
//!
//! A bot may edit its own posts, but usually not others': a command's in-channel answer is
//! posted as the user who ran it, so a late `update` of its buttons would meet 403. So a click
//! on a post the bot did not write is answered inline for up to `[callbacks]
//! action_inline_ms` (Mattermost applies an inline `update` itself, whoever wrote the post);
//! an update that is later still and refused is shown to the user instead (ephemerally if the
//! bot may, else as a direct message from the bot) and counted in
//! `switchboard_late_fallbacks_total`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;

use crate::integrations::{ActionClick, BoxFuture, CONTEXT_KEY, Cx};
use crate::mattermost::{Client, PostId};
use crate::protocol::{ActionResponse, PostActionRequest};
use crate::server::deferred;
use crate::server::deliver;
use crate::server::error::AppError;
use crate::server::extract::{JsonBody, RequestId, RouteName};
use crate::server::single_use::{self, Answered, Claim};
use crate::server::state::AppState;
use crate::signing::{Expect, Purpose, now_secs};
use crate::telemetry::request::{Detail, record_detail};

const APOLOGY: &str = "Sorry, Switchboard could not process this; the error is in its log.";
/// The answer to a used-up single-use button.
pub(crate) const ALREADY_USED: &str = "This button was already used.";

/// `POST /actions/{route}`.
pub(crate) async fn action(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    RequestId(request_id): RequestId,
    JsonBody(body): JsonBody,
) -> Result<Answered<Json<ActionResponse>>, AppError> {
    let handler = super::find(&state, &route)?;
    let body = body?;
    let request = PostActionRequest::from_json(&body)?;
    crate::telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
    let (click, once) = verify(&state, &route, request)?;
    let Some((token, expires_at)) = once else {
        return answer(&state, route, handler, click, request_id)
            .await
            .map(Answered::Decided);
    };
    let record = match single_use::claim(&state, &token, expires_at).await {
        Claim::First(record) => record,
        Claim::Replay => {
            return Ok(Answered::Decided(Json(ActionResponse::ephemeral(
                ALREADY_USED,
            ))));
        }
        Claim::Unavailable => {
            return Ok(Answered::StoreUnavailable(Json(ActionResponse::ephemeral(
                "Switchboard cannot take this click right now; please try again shortly.",
            ))));
        }
    };
    let answered = answer(&state, route, handler, click, request_id).await;
    if answered.is_err() {
        // Nothing ran (the route does not handle actions).
        single_use::release(&state, record).await;
    }
    answered.map(Answered::Decided)
}

/// Checks the signed context; returns the verified click and, when it is single-use, its
/// token and expiry.
pub(crate) fn verify(
    state: &AppState,
    route: &str,
    request: PostActionRequest,
) -> Result<(ActionClick, Option<(String, i64)>), AppError> {
    let token = request
        .context
        .get(CONTEXT_KEY)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_owned();
    let claims = state
        .signer
        .verify(
            &token,
            Expect {
                purpose: Purpose::Action,
                route,
                user_id: &request.user_id,
                channel_id: &request.channel_id,
                now: now_secs(),
            },
        )
        .map_err(|e| AppError::Forbidden(format!("action context: {e}")))?;
    let once = claims.once.then_some((token, claims.expires_at));
    Ok((
        ActionClick {
            action: claims.step,
            data: claims.data,
            request,
        },
        once,
    ))
}

/// Runs the handler within the budget; the action's name and post join the request's context
/// (beside the route and caller ids), so every line logged for it says so.
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
    click: ActionClick,
    request_id: String,
) -> impl Future<Output = Result<Json<ActionResponse>, AppError>> + Send + 'a {
    async move {
        record_detail(Detail::Action, &click.action);
        record_detail(Detail::PostId, &click.request.post_id);
        let started = tokio::time::Instant::now();
        let cx = state.cx(&route, request_id);
        let late_route = route.clone();
        // The context and click travel with the handler's answer, so a late answer finds the
        // client and the request without copies made for the rare late case.
        let late = move |answered: deferred::Answered<ActionResponse, Cx, ActionClick>| -> BoxFuture<'static, bool> {
            let (result, cx, click) = *answered;
            Box::pin(async move {
                let (client, request) = (cx.client(), &click.request);
                match result {
                    Ok(response) => apply_late(client, &late_route, request, response).await,
                    Err(e) => {
                        tracing::error!(error = %e, "action handler failed");
                        tell(client, request, APOLOGY).await != deliver::Delivered::Failed
                    }
                }
            })
        };
        let extend = {
            let state = state.clone();
            let post_id = click.request.post_id.clone();
            move || -> BoxFuture<'static, Duration> {
                Box::pin(async move { inline_window(&state, &post_id, started).await })
            }
        };
        // Bound first: a future awaited in the statement that makes it keeps that
        // statement's temporaries beside it.
        let work = deferred::run_extended(
            state,
            "action",
            &route,
            async move {
                let result = handler.action(&cx, &click).await;
                Box::new((result, cx, click))
            },
            late,
            extend,
        );
        work.await
            .answer(
                "action",
                || ActionResponse::ephemeral(APOLOGY),
                || ActionResponse::ephemeral(state.settings.callbacks.ack_text.clone()),
            )
            .map(Json)
    }
}

/// How much longer, after the budget, a click is still answered inline: what is left of
/// `action_inline_ms` (kept 2 s under the request timeout) when the bot did not write the post
/// and so may not be able to apply a late update; zero for its own posts.
async fn inline_window(state: &AppState, post_id: &str, started: tokio::time::Instant) -> Duration {
    let settings = &state.settings;
    let limit = Duration::from_millis(settings.callbacks.action_inline_ms).min(
        settings
            .server
            .request_timeout()
            .saturating_sub(Duration::from_secs(2)),
    );
    let left = limit.saturating_sub(started.elapsed());
    if left.is_zero() || post_id.is_empty() {
        return Duration::ZERO;
    }
    let author = state.client.posts().get(&PostId::from(post_id)).await;
    match (state.bot_user_id().await, author) {
        (Ok(bot), Ok(post)) if post.user_id == bot => Duration::ZERO,
        // Someone else's post, or we cannot tell: answering inline is the safe side.
        _ => limit.saturating_sub(started.elapsed()),
    }
}

/// Applies a late action answer the way Mattermost would have.
/// Whether everything in the answer reached the user (an update the bot may not make is
/// shown to them instead, and counts as reached).
async fn apply_late(
    client: &Client,
    route: &str,
    request: &PostActionRequest,
    response: ActionResponse,
) -> bool {
    let mut delivered = true;
    if let Some(update) = response.update {
        let shown = if update.message.trim().is_empty() {
            "Your choice was recorded, but the message could not be updated.".to_owned()
        } else {
            update.message.clone()
        };
        let mut patch = client
            .posts()
            .patch(&PostId::from(request.post_id.as_str()))
            .message(update.message);
        if let Some(props) = update.props {
            patch = patch.props(props);
        }
        match patch.send().await {
            Ok(_) => tracing::info!("late action update applied via the API"),
            Err(e) => {
                tracing::warn!(error = %e, "late action update could not be applied; telling the user instead");
                let how = tell(client, request, &shown).await;
                crate::metrics::late_fallback("action", route, how.as_str());
                delivered &= how != deliver::Delivered::Failed;
            }
        }
    }
    if let Some(text) = response.ephemeral_text {
        delivered &= tell(client, request, &text).await != deliver::Delivered::Failed;
    }
    delivered
}

/// Tells the clicking user `text` in the post's thread, privately.
async fn tell(client: &Client, request: &PostActionRequest, text: &str) -> deliver::Delivered {
    let root = match client
        .posts()
        .get(&PostId::from(request.post_id.as_str()))
        .await
    {
        Ok(post) if !post.root_id.is_empty() => post.root_id,
        _ => request.post_id.clone(),
    };
    let to = deliver::Recipient {
        user_id: &request.user_id,
        channel_id: &request.channel_id,
        root_id: &root,
    };
    deliver::tell_user(client, to, text, None).await
}
