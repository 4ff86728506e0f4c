//! `[message]`.

use crate::server::AppState;

/// Starts the message listener when a route declares `[message]`.
pub fn spawn(state: AppState) -> Option<tokio::task::JoinHandle<()>> {
    let _ = state;
    None
}
