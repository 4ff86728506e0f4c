//! Callbacks straight to their handlers; everything else through axum's router.
//!
//! Mattermost's callbacks (`POST /commands/{route}`, `/hooks/…`, `/dialogs/…`, `/actions/…`)
//! are nearly all the traffic. The router would find their handler by the same two path
//! segments [`callback_of`] reads, but first records what no handler reads: the path
//! parameters, the matched path and the original URI, three extensions of the request (a map
//! made, grown and boxed per request). [`Dispatch`] calls the handler itself, with the same
//! extractors; the route name is read from the path ([`super::extract::RouteName`]).
//! Measured with `bench/instructions.sh 2000`: see [`Dispatch`]. Every other request
//! (health, metrics, `GET` commands, lookups, webhooks, a wrong method, an unknown path) goes
//! through the router, which also answers 404 and 405.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::http::{Method, Request};
use axum::response::Response;
use axum::routing::future::RouteFuture;
use tower::Service;

use super::handlers;
use super::state::AppState;

/// The callback kinds, by the first segment of their route template (`/commands/{route}`).
const CALLBACK_KINDS: [&str; 4] = ["commands", "hooks", "dialogs", "actions"];

/// `Some(("commands", "hello"))` for `/commands/hello`: a callback path is a callback kind
/// and a route name, the two segments of the callback routes (`/commands/{route}` …).
pub(super) fn callback_of(path: &str) -> Option<(&'static str, &str)> {
    let (kind, route) = path.strip_prefix('/')?.split_once('/')?;
    if route.is_empty() || route.contains('/') {
        return None;
    }
    let kind = CALLBACK_KINDS.into_iter().find(|k| *k == kind)?;
    Some((kind, route))
}

/// The innermost service: a callback to its handler, anything else to the router.
///
/// S1 (`bench/instructions.sh 2000`): 52 190 instructions per request with every request
/// through the router, 48 863 with callbacks dispatched here (6.4 %); S2 128 500 → 122 300,
/// S3 81 800 → 75 500 (the request id's change included).
#[derive(Clone)]
pub struct Dispatch {
    /// `None`: everything through the router (the middleware's tests, with routers of
    /// their own).
    state: Option<AppState>,
    router: Router,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch").finish_non_exhaustive()
    }
}

impl Dispatch {
    /// `router` must route the callback paths to the same handlers as [`Dispatch::call`]
    /// does (it answers them when they come another way, e.g. with another method).
    pub(super) fn new(state: AppState, router: Router) -> Self {
        Dispatch {
            state: Some(state),
            router,
        }
    }

    /// Every request through `router`.
    #[cfg(test)]
    pub(super) fn router_only(router: Router) -> Self {
        Dispatch {
            state: None,
            router,
        }
    }
}

/// A handler's answer future, as axum's handlers make them.
type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

impl<B> Service<Request<B>> for Dispatch
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = DispatchFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> DispatchFuture {
        let callback = match (&self.state, request.method()) {
            (Some(state), &Method::POST) => {
                callback_of(request.uri().path()).map(|(kind, _)| (kind, state.clone()))
            }
            _ => None,
        };
        let handler: HandlerFuture = match callback {
            Some(("commands", state)) => Handler::call(
                handlers::commands::slash_command_post,
                request.map(Body::new),
                state,
            ),
            Some(("hooks", state)) => Handler::call(
                handlers::hooks::outgoing_hook,
                request.map(Body::new),
                state,
            ),
            Some(("dialogs", state)) => Handler::call(
                handlers::dialogs::dialog_submission,
                request.map(Body::new),
                state,
            ),
            Some(("actions", state)) => {
                Handler::call(handlers::actions::action, request.map(Body::new), state)
            }
            _ => {
                return DispatchFuture::Router {
                    future: self.router.call(request),
                };
            }
        };
        DispatchFuture::Handler { future: handler }
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Dispatch`].
    #[project = Projected]
    pub enum DispatchFuture {
        /// A callback's handler.
        Handler { future: HandlerFuture },
        /// The router's answer.
        Router { #[pin] future: RouteFuture<Infallible> },
    }
}

impl std::fmt::Debug for DispatchFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DispatchFuture::Handler { .. } => "DispatchFuture::Handler",
            DispatchFuture::Router { .. } => "DispatchFuture::Router",
        })
    }
}

impl Future for DispatchFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Handler { future } => future.as_mut().poll(cx).map(Ok),
            Projected::Router { future } => future.poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_paths_are_a_kind_and_a_route() {
        assert_eq!(callback_of("/commands/hello"), Some(("commands", "hello")));
        assert_eq!(callback_of("/actions/poll"), Some(("actions", "poll")));
        assert_eq!(
            callback_of("/hooks/on%20call"),
            Some(("hooks", "on%20call"))
        );
        for path in [
            "/healthz",
            "/metrics",
            "/other/x",
            "/commands/",
            "/commands/a/b",
            "x",
        ] {
            assert_eq!(callback_of(path), None, "{path}");
        }
    }
}
