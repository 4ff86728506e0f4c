//! Liveness and readiness probes; both cheap (no I/O).

use axum::extract::State;
use axum::http::StatusCode;

use crate::server::state::AppState;

/// `GET /healthz`: 200 while the process runs.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once routes are registered in Mattermost and the shared store answered
/// once ([`Readiness`](crate::server::Readiness) says why only then), else 503 saying what it
/// waits for. Not logged per probe: the tasks that change readiness log the change.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.ready.waiting_for() {
        None => (StatusCode::OK, "ready"),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}
