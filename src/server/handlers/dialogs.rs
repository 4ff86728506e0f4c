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

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;

use crate::integrations::{BoxFuture, HandlerError, SubmittedDialog};
use crate::protocol::{DialogResponse, DialogSubmissionRequest};
use crate::server::deferred::{self, Outcome};
use crate::server::deliver;
use crate::server::error::AppError;
use crate::server::extract::{self, RequestId};
use crate::server::single_use::{self, Claim};
use crate::server::state::AppState;
use crate::signing::{Expect, Purpose, now_secs};

const APOLOGY: &str = "Sorry, Switchboard could not process this; the error is in its log.";
/// The answer to a replayed state.
pub(crate) const ALREADY_SUBMITTED: &str = "This dialog was already submitted.";
/// The answer when the single-use record cannot be checked.
const TRY_AGAIN: &str =
    "Switchboard cannot accept submissions right now; please try again shortly.";

/// `POST /dialogs/{route}`.
pub(crate) async fn dialog_submission(
    State(state): State<AppState>,
    Path(route): Path<String>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<DialogResponse>, AppError> {
    let handler = super::find(&state, &route)?;
    let body = extract::body(body)?;
    extract::require_json(&headers)?;
    let request = DialogSubmissionRequest::from_json(&body)?;
    crate::telemetry::record_caller(&request.team_id, &request.channel_id, &request.user_id);
    let token = request.state.clone();
    let dialog = verify(&state, &route, request)?;
    let record = match single_use::claim(&state, &token, dialog.expires_at).await {
        Claim::First(record) => record,
        Claim::Replay => return Ok(Json(DialogResponse::error(ALREADY_SUBMITTED))),
        Claim::Unavailable => return Ok(Json(DialogResponse::error(TRY_AGAIN))),
    };
    let answered = answer(&state, route, handler, dialog.dialog, request_id).await;
    // Not accepted: the dialog stays open and Mattermost sends this state again.
    let accepted = match &answered {
        Ok(Json(response)) => response.closes() || is_apology(response),
        Err(_) => false,
    };
    if !accepted {
        single_use::release(&state, record).await;
    }
    answered
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
    if claims.step != request.callback_id {
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

#[tracing::instrument(
    name = "dialog_submission",
    skip_all,
    // Route and caller ids are on the request span already (`record_caller`).
    fields(step = %dialog.step, cancelled = dialog.request.cancelled)
)]
async fn answer(
    state: &AppState,
    route: String,
    handler: std::sync::Arc<dyn crate::integrations::Handler>,
    dialog: SubmittedDialog,
    request_id: String,
) -> Result<Json<DialogResponse>, AppError> {
    let cx = state.cx(&route, request_id);
    let client = state.client.clone();
    let (user_id, channel_id) = (
        dialog.request.user_id.clone(),
        dialog.request.channel_id.clone(),
    );
    let cancelled = dialog.request.cancelled;
    let work = async move { handler.dialog_submission(&cx, &dialog).await };
    let late = move |result: Result<DialogResponse, HandlerError>| -> BoxFuture<'static, bool> {
        Box::pin(async move {
            let text = match result {
                // Nothing to tell: the dialog already closed.
                Ok(r) if r.closes() || cancelled => return true,
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
            deliver::tell_user(&client, &user_id, "", &channel_id, "", &text).await
                != deliver::Delivered::Failed
        })
    };
    Ok(Json(
        match deferred::run(state, "dialog", &route, work, late).await {
            Outcome::Now(Ok(response)) => response,
            Outcome::Now(Err(HandlerError::Unsupported(kind))) => {
                return Err(AppError::Unsupported(kind));
            }
            Outcome::Now(Err(e)) => {
                tracing::error!(error = %e, "dialog handler failed");
                DialogResponse::error(APOLOGY)
            }
            Outcome::Deferred => DialogResponse::close(),
            Outcome::Lost => DialogResponse::error(APOLOGY),
        },
    ))
}
