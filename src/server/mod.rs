//! The HTTP server Mattermost calls back.
//!
//! [`router`] is the one function that builds the app; the throughput bench calls it too. Each area adds its
//! own routes here; middleware is assembled once in `middleware.rs`.
//!
//! - `state.rs`: [`AppState`], one `Arc` (cloned per request) of everything handlers share.
//! - `middleware.rs`: [`App`], the router wrapped once: request ids, spans, metrics, timeout,
//!   panics, body limit.
//! - `dispatch.rs`: callbacks straight to their handlers, the rest through the router.
//! - `error.rs`: [`AppError`], mapping each failure to a status (4xx for the caller's
//!   mistakes, with the reason logged, never sent).
//! - `extract.rs`: body and content-type checks, `JsonOrForm`, request id.
//! - `connections.rs`: the accept loop: header-read and idle timeouts, the connection limit,
//!   shutdown that drops idle and half-sent connections at once.
//! - `deferred.rs`: the callback budget, acknowledgements and late delivery.
//! - `deliver.rs`: answers for one user through the REST API (ephemeral if allowed, else a
//!   direct message from the bot; never a public post).
//! - `single_use.rs`: dialog states and one-shot button contexts used once (replays refused).
//! - `handlers/`: one file per callback kind, plus health.

mod connections;
mod deferred;
pub(crate) mod deliver;
mod dispatch;
mod error;
mod extract;
mod handlers;
mod middleware;
mod single_use;
mod state;

use axum::Router;
use axum::routing::{get, post};

#[cfg(feature = "sim")]
pub(crate) use connections::DropConnection;
pub(crate) use connections::{Limits as ConnectionLimits, serve as serve_connections};
pub use error::AppError;
pub use handlers::dialogs::FIRST_STEP;
pub use middleware::{Access, AccessFuture, App, AppFuture, CallbackFuture, Ids, PanicAnswer};
pub use state::{AppState, Readiness, Shared};

/// Builds the app: every route, the fallback, and the middleware.
pub fn router(state: AppState) -> App {
    let settings = state.settings.clone();
    let mut app = Router::new();
    // Metrics on the main listener only when no separate `[metrics] listen` is set.
    if settings.metrics.enabled && settings.metrics.listen.is_none() {
        app = app.route(&settings.metrics.path, get(crate::metrics::scrape));
    }
    let app = app
        .route("/healthz", get(handlers::health::healthz))
        .route("/readyz", get(handlers::health::readyz))
        .route(
            "/commands/{route}",
            get(handlers::commands::slash_command_get).post(handlers::commands::slash_command_post),
        )
        .route("/hooks/{route}", post(handlers::hooks::outgoing_hook))
        .route(
            "/dialogs/{route}",
            post(handlers::dialogs::dialog_submission),
        )
        .route(
            "/dialogs/{route}/lookup",
            post(handlers::dialogs::dialog_lookup),
        )
        .route("/actions/{route}", post(handlers::actions::action))
        .route("/webhooks/{route}", post(handlers::webhooks::webhook))
        .fallback(handlers::not_found)
        .with_state(state.clone());
    middleware::apply(
        dispatch::Dispatch::new(state, app),
        &settings.server,
        settings.log.access,
    )
}

/// The app served on `[metrics] listen`: the scrape endpoint alone.
pub fn metrics_router(path: &str) -> Router {
    Router::new().route(path, get(crate::metrics::scrape))
}
