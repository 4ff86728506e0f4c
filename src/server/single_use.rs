//! Single use of signed tokens: a dialog state (always) and an action context whose button
//! says `once`.
//!
//! A verified token is recorded in the [`Store`](crate::store::Store) (`SET NX PX`, until the
//! token expires) *before* its handler runs, so two copies sent at once, to one replica or to
//! several sharing the store, run once in total. A submission that is not accepted (the handler
//! answers with field errors, so the dialog stays open and Mattermost will send the same state
//! again once the user fixes them) gives its record back. A handler that failed keeps it: it
//! may have done part of its work, and running it twice is the worse mistake.
//!
//! When the store cannot answer, the callback is refused (nothing runs) with a "try again",
//! answered as [`Answered::StoreUnavailable`] so `/metrics` counts it as `unavailable`, not
//! `ok` (the answer itself is a 200: Mattermost shows the error only in one).

use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::metrics::CallbackOutcome;
use crate::signing::{now_secs, token_id};

/// The outcome of claiming a token.
#[derive(Debug)]
pub(crate) enum Claim {
    /// First use: the handler may run. Give it back with [`release`] if not accepted.
    First(Record),
    /// Used before: answer "already used"; nothing runs.
    Replay,
    /// The store did not answer (logged): answer "try again"; nothing runs.
    Unavailable,
}

/// A single-use callback's answer: what ran, or the refusal because the store did not answer.
#[derive(Debug)]
pub(crate) enum Answered<T> {
    /// The claim was decided (first use or replay): counted by its status.
    Decided(T),
    /// The store did not answer and nothing ran: counted as `unavailable`.
    StoreUnavailable(T),
}

impl<T: IntoResponse> IntoResponse for Answered<T> {
    fn into_response(self) -> Response {
        match self {
            Answered::Decided(answer) => answer.into_response(),
            Answered::StoreUnavailable(answer) => {
                CallbackOutcome::Unavailable.mark(answer.into_response())
            }
        }
    }
}

/// The record of one claimed token.
#[derive(Debug)]
pub(crate) struct Record {
    key: String,
}

/// Records the use of `token`, which expires at `expires_at` (Unix seconds).
pub(crate) async fn claim(state: &AppState, token: &str, expires_at: i64) -> Claim {
    let Some(id) = token_id(token) else {
        // Verified tokens always have a MAC; nothing to record otherwise.
        return Claim::Replay;
    };
    let key = state.store.key("used", id);
    // One second more than the token lives, so the record never ends before the token does.
    let secs = expires_at
        .saturating_sub(now_secs())
        .saturating_add(1)
        .max(1);
    let ttl = std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(1));
    match state.store.claim_once(&key, ttl).await {
        Ok(true) => Claim::First(Record { key }),
        Ok(false) => {
            tracing::warn!("a single-use token was sent again; refused, nothing ran");
            crate::metrics::replay_refused();
            Claim::Replay
        }
        Err(e) => {
            tracing::error!(error = %e, "the single-use record cannot be checked; refused");
            Claim::Unavailable
        }
    }
}

/// Gives a claimed token back: its request was not accepted and may come again.
pub(crate) async fn release(state: &AppState, record: Record) {
    if let Err(e) = state.store.forget(&record.key).await {
        tracing::error!(error = %e, "a refused submission's single-use record could not be given back; it stays used");
    }
}
