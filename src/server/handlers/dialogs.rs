//! Dialog submissions: `POST /dialogs/{route}`, JSON.
//!
//! No token exists; the dialog's `state` must carry Switchboard's signature for this route,
//! for the submitting user, in this channel, unexpired (403 otherwise, reason logged). The
//! `callback_id` must equal the signed step. A late answer cannot keep the dialog open: the
//! dialog is closed at once and any errors the handler reports later are told to the user
//! through the API (`server/deliver.rs`).

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
use crate::server::state::AppState;
use crate::signing::{Expect, Purpose, now_secs};

const APOLOGY: &str = "Sorry, Switchboard could not process this; the error is in its log.";

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
    let dialog = verify(&state, &route, request)?;
    answer(&state, route, handler, dialog, request_id).await
}

/// Checks the signed state; returns the verified submission.
pub(crate) fn verify(
    state: &AppState,
    route: &str,
    request: DialogSubmissionRequest,
) -> Result<SubmittedDialog, AppError> {
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
    Ok(SubmittedDialog {
        step: claims.step,
        data: claims.data,
        request,
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
