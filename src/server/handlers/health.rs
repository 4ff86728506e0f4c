//! Liveness and readiness probes; both cheap (no I/O).

use axum::extract::State;
use axum::http::StatusCode;

use crate::server::state::AppState;

/// `GET /healthz`: 200 while the process runs.
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 once routes are loaded and registered in Mattermost, 503 before.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.ready.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "registering with Mattermost",
        )
    }
}
