//! Dialog submissions: `POST /dialogs/{route}`, JSON.
//!
//! No token exists; the dialog's `state` must carry Switchboard's signature for this route,
//! for the submitting user, in this channel, unexpired (403 otherwise, reason logged). The
//! `callback_id` must equal the signed step. A late answer cannot keep the dialog open: the
//! dialog is closed at once and any errors the handler reports later are told to the user
//! through the API (`server/deliver.rs`).
//!
//! A state is used once (`server/single_use.rs`): the first accepted submission uses it up, on
//! every replica sharing the store; a replay is answered with the dialog's generic `error`
//! "This dialog was already submitted." (200, as Mattermost expects) and nothing runs. A
//! submission answered with field errors does not use it up, so the fixed one can come.
//!
//! Field refreshes (`type: "refresh"`, posted to the dialog's `source_url`, which is this same
//! URL) are verified the same way and answered with the rebuilt form; they do not use the state
//! up either.
//!
//! Lookups of dynamic selects (`POST /dialogs/{route}/lookup?step=<step>`, `type:
//! "dialog_lookup"`) carry the dialog's `state` too and are verified the same way (route, user,
//! channel, expiry, `callback_id` = signed step), but do not use it up: a user types many
//! queries into one dialog, and the web client keeps sending the first step's state.

use axum::Json;
use axum::extract::{Query, State};

use crate::integrations::{BoxFuture, Cx, DialogLookup, HandlerError, SubmittedDialog};
use crate::protocol::{DialogResponse, DialogSubmissionRequest, LookupResponse};
use crate::server::deferred;
use crate::server::deliver;
use crate::server::error::AppError;
use crate::server::extract::{JsonBody, RequestId, RouteName};
use crate::server::single_use::{self, Answered, Claim};
use crate::server::state::AppState;
use crate::signing::{Expect, Purpose, now_secs};
use crate::telemetry::request::{Detail, record_detail};

const APOLOGY: &str = "Sorry, Switchboard could not process this; the error is in its log.";
/// The key, in a later step's signed data, of the first step's `callback_id`.
pub const FIRST_STEP: &str = "first_step";

/// The answer to a replayed state.
pub(crate) const ALREADY_SUBMITTED: &str = "This dialog was already submitted.";
/// The answer when the single-use record cannot be checked.
const TRY_AGAIN: &str =
    "Switchboard cannot accept submissions right now; please try again shortly.";

/// `POST /dialogs/{route}`.
///
/// Not an `async fn`, whose future would hold its arguments twice (as given, and as its
/// body's variables): this future holds them once. Futures are bound before they are
/// awaited, so none keeps the temporaries of the statement that made it.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn's future holds its arguments twice"
)]
pub(crate) fn dialog_submission(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    RequestId(request_id): RequestId,
    JsonBody(body): JsonBody,
) -> impl Future<Output = Result<Answered<Json<DialogResponse>>, AppError>> + Send {
    async move {
        let handler = super::find(&state, &route)?;
        let body = body?;
        let request = DialogSubmissionRequest::from_json(&body)?;
        crate::telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
        let token = request.state.clone();
        let refresh = request.kind == "refresh";
        let Verified { dialog, expires_at } = verify(&state, &route, request)?;
        if refresh {
            // A field refresh is verified like a submission but runs nothing and does not use
            // the state up: the form comes back with the same state.
            let answer = answer(&state, route, handler, dialog, request_id);
            return answer.await.map(Answered::Decided);
        }
        let claim = single_use::claim(&state, &token, expires_at);
        let record = match claim.await {
            Claim::First(record) => record,
            Claim::Replay => {
                return Ok(Answered::Decided(Json(DialogResponse::error(
                    ALREADY_SUBMITTED,
                ))));
            }
            Claim::Unavailable => {
                return Ok(Answered::StoreUnavailable(Json(DialogResponse::error(
                    TRY_AGAIN,
                ))));
            }
        };
        let answer = answer(&state, route, handler, dialog, request_id);
        let answered = answer.await;
        // Not accepted: the dialog stays open and Mattermost sends this state again.
        let accepted = match &answered {
            Ok(Json(response)) => response.closes() || is_apology(response),
            Err(_) => false,
        };
        if !accepted {
            single_use::release(&state, record).await;
        }
        answered.map(Answered::Decided)
    }
}

/// The query of Switchboard's lookup URL.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct LookupQuery {
    /// The dialog step whose element is looked up.
    step: String,
}

/// `POST /dialogs/{route}/lookup?step=…`.
pub(crate) async fn dialog_lookup(
    State(state): State<AppState>,
    RouteName(route): RouteName,
    Query(query): Query<LookupQuery>,
    RequestId(request_id): RequestId,
    JsonBody(body): JsonBody,
) -> Result<Json<LookupResponse>, AppError> {
    let handler = super::find(&state, &route)?;
    let body = body?;
    let request = DialogSubmissionRequest::from_json(&body)?;
    crate::telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
    let text = |key: &str| {
        request
            .submission
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let (field, typed) = (text("selected_field"), text("query"));
    let dialog = verify(&state, &route, request)?.dialog;
    // The lookup URL names its step, but only the state is signed: a first step's state
    // must not look up a later step's options with earlier answers the caller made up
    // (a later step's state carries those, signed).
    if query.step != dialog.step {
        return Err(AppError::Forbidden(
            "dialog state: signed for another step than the one looked up".into(),
        ));
    }
    let lookup = DialogLookup {
        dialog,
        step: query.step,
        field,
        query: typed,
    };
    let cx = state.cx(&route, request_id);
    match handler.dialog_lookup(&cx, &lookup).await {
        Ok(answer) => Ok(Json(answer)),
        Err(HandlerError::Unsupported(kind)) => Err(AppError::Unsupported(kind)),
        Err(e) => {
            tracing::error!(route = %route, error = %e, "dialog lookup failed");
            Ok(Json(LookupResponse::default()))
        }
    }
}

/// Our own apology keeps the dialog open, but the handler may have done part of its work: the
/// state stays used.
fn is_apology(response: &DialogResponse) -> bool {
    response.error.as_deref() == Some(APOLOGY) && response.errors.is_empty()
}

/// A verified submission and when its state expires.
#[derive(Debug)]
pub(crate) struct Verified {
    /// The submission.
    pub(crate) dialog: SubmittedDialog,
    /// When the signed state expires (Unix seconds).
    pub(crate) expires_at: i64,
}

/// Checks the signed state; returns the verified submission.
pub(crate) fn verify(
    state: &AppState,
    route: &str,
    request: DialogSubmissionRequest,
) -> Result<Verified, AppError> {
    let claims = state
        .signer
        .verify(
            &request.state,
            Expect {
                purpose: Purpose::Dialog,
                route,
                user_id: &request.user_id,
                channel_id: &request.channel_id,
                now: now_secs(),
            },
        )
        .map_err(|e| AppError::Forbidden(format!("dialog state: {e}")))?;
    // Mattermost's web client keeps sending the first step's `callback_id` with the later steps
    // of a multi-step dialog (interactive_dialog_adapter: `callback_id: props.callbackId`), so
    // a later step's state also names the first step, signed.
    let first_step = claims.data.get(FIRST_STEP).and_then(|v| v.as_str());
    if claims.step != request.callback_id && first_step != Some(request.callback_id.as_str()) {
        return Err(AppError::Forbidden(
            "dialog state: callback_id differs from the signed step".into(),
        ));
    }
    Ok(Verified {
        expires_at: claims.expires_at,
        dialog: SubmittedDialog {
            step: claims.step,
            data: claims.data,
            request,
        },
    })
}

/// Runs the handler within the budget; the step and whether the dialog was cancelled join the
/// request's context (beside the route and caller ids), so every line logged for it says so.
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
    dialog: SubmittedDialog,
    request_id: String,
) -> impl Future<Output = Result<Json<DialogResponse>, AppError>> + Send + 'a {
    async move {
        record_detail(Detail::Step, &dialog.step);
        let cancelled = if dialog.request.cancelled {
            "true"
        } else {
            "false"
        };
        record_detail(Detail::Cancelled, cancelled);
        let cx = state.cx(&route, request_id);
        // The context and submission travel with the handler's answer, so the late path
        // finds the user and channel without copies made for the rare late case.
        let late = |answered: deferred::Answered<DialogResponse, Cx, SubmittedDialog>| -> BoxFuture<'static, bool> {
            let (result, cx, dialog) = *answered;
            Box::pin(async move {
                let text = match result {
                    // Nothing to tell: the dialog already closed.
                    Ok(r) if r.closes() || dialog.request.cancelled => return true,
                    Ok(r) => {
                        let mut lines: Vec<String> = r.error.into_iter().collect();
                        lines.extend(r.errors.into_iter().map(|(k, v)| format!("{k}: {v}")));
                        format!(
                            "Your submission could not be accepted:\n{}",
                            lines.join("\n")
                        )
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "dialog handler failed");
                        APOLOGY.to_owned()
                    }
                };
                let request = &dialog.request;
                let to = deliver::Recipient {
                    user_id: &request.user_id,
                    channel_id: &request.channel_id,
                    root_id: "",
                };
                deliver::tell_user(cx.client(), to, &text, None).await != deliver::Delivered::Failed
            })
        };
        // Bound first: a future awaited in the statement that makes it keeps that
        // statement's temporaries beside it.
        let work = deferred::run(
            state,
            "dialog",
            &route,
            async move {
                let result = handler.dialog_submission(&cx, &dialog).await;
                Box::new((result, cx, dialog))
            },
            late,
        );
        work.await
            .answer(
                "dialog",
                || DialogResponse::error(APOLOGY),
                DialogResponse::close,
            )
            .map(Json)
    }
}
