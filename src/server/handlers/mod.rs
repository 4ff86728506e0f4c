//! Request handlers: one file per callback kind, plus health.
//!
//! Each callback handler is thin: find the route's handler (404), read and verify the typed
//! payload (413/415/400, then 401/403), run the handler within the budget
//! (`server/deferred.rs`), serialise its answer.

pub(crate) mod actions;
pub(crate) mod commands;
pub(crate) mod dialogs;
pub(crate) mod health;
pub(crate) mod hooks;
pub(crate) mod webhooks;

use std::sync::Arc;

use super::error::AppError;
use super::state::AppState;
use crate::integrations::Handler;

/// Any path no route serves.
pub(crate) async fn not_found() -> AppError {
    AppError::NotFound
}

/// The handler of `route`, or 404.
pub(crate) fn find(state: &AppState, route: &str) -> Result<Arc<dyn Handler>, AppError> {
    state.handlers.get(route).ok_or(AppError::NotFound)
}
