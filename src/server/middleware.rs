//! The middleware, in one service: a request id (set when absent, echoed on the answer), a
//! trace span per request, sensitive headers hidden from logs, a timeout, panics turned into
//! 500s instead of dropped connections, and callbacks counted and timed for `/metrics` with
//! one "callback answered" log line each. The body-size limit is axum's own layer.
//!
//! One hand-written service rather than a stack of generic layers because this runs on every
//! callback and most callbacks are answered on their first poll: nothing here allocates
//! except the request id, nothing is boxed, the whole router is wrapped once (not each route),
//! and the timeout timer is armed only when the handler is not ready at once (a reply
//! rendered from a template never arms it).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{self, Entry};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::time::Sleep;
use tower::{Layer, Service};

use crate::config::ServerSettings;
use crate::metrics::{self, CallbackOutcome};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The callback kinds, by the first segment of their route template (`/commands/{route}`).
const CALLBACK_KINDS: [&str; 4] = ["commands", "hooks", "dialogs", "actions"];

/// The app as served: the router behind the body limit behind this module's middleware, each
/// wrapping the whole router once (a layer added with `Router::layer` wraps every route, and
/// each request then clones and boxes the wrapped route).
#[derive(Debug, Clone)]
pub struct App(Callbacks<<DefaultBodyLimit as Layer<Router>>::Service>);

/// Wraps `router` in the middleware.
pub(crate) fn apply(router: Router, settings: &ServerSettings) -> App {
    let shared = Arc::new(Shared {
        id_prefix: rand::random(),
        next_id: AtomicU64::new(0),
        timeout: settings.request_timeout(),
    });
    App(Callbacks {
        inner: DefaultBodyLimit::max(settings.body_limit_bytes).layer(router),
        shared,
    })
}

impl Service<Request<Body>> for App {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = CallbackFuture<<Router as Service<Request<Body>>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.0.call(request)
    }
}

#[derive(Debug)]
struct Shared {
    /// Request ids: a per-process random prefix and a counter; unique without coordination.
    id_prefix: u32,
    next_id: AtomicU64,
    /// How long a request may take before it is answered 408.
    timeout: Duration,
}

impl Shared {
    /// `<prefix as 8 hex digits>-<counter in hex>`, written without the formatting machinery
    /// (which cost more than the rest of this middleware).
    fn request_id(&self) -> HeaderValue {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 8 + 1 + 16];
        for (i, slot) in id[..8].iter_mut().enumerate() {
            *slot = HEX[(self.id_prefix >> (28 - 4 * i) & 0xf) as usize];
        }
        id[8] = b'-';
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
        for (i, slot) in id[9..9 + digits].iter_mut().enumerate() {
            *slot = HEX[(n >> (4 * (digits - 1 - i)) & 0xf) as usize];
        }
        HeaderValue::from_bytes(&id[..9 + digits]).unwrap_or(HeaderValue::from_static("-"))
    }
}

/// The middleware service; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Callbacks<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request<Body>> for Callbacks<S>
where
    S: Service<Request<Body>, Response = Response, Error = std::convert::Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = CallbackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let request_id = match request.headers().get(&REQUEST_ID) {
            Some(id) => id.clone(),
            None => {
                let id = self.shared.request_id();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        hide_sensitive(request.headers_mut());
        let span = make_span(&request, &request_id);
        // The `Uri` is kept (a reference count, not a copy) to label the metrics when the
        // answer is ready.
        let callback = callback_of(request.uri().path()).map(|(kind, route)| {
            span.record("kind", kind);
            span.record("route", route);
            (kind, request.uri().clone())
        });
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        CallbackFuture {
            inner,
            timer: None,
            timeout: self.shared.timeout,
            span,
            request_id: Some(request_id),
            callback,
            started: Instant::now(),
        }
    }
}

/// The answer of the middleware: the inner future within the span, the timeout and panic
/// guard around it, and the bookkeeping when it is ready.
#[derive(Debug)]
pub struct CallbackFuture<F> {
    inner: F,
    /// Armed on the first `Pending` only.
    timer: Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    span: tracing::Span,
    /// Taken when the answer is ready (a finished future is never polled again).
    request_id: Option<HeaderValue>,
    callback: Option<(&'static str, Uri)>,
    started: Instant,
}

impl<F> Future for CallbackFuture<F>
where
    F: Future<Output = Result<Response, std::convert::Infallible>> + Unpin,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let inner = Pin::new(&mut this.inner);
        let mut response = match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(Ok(response))) => response,
            Ok(Poll::Pending) => {
                let timeout = this.timeout;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                ready!(timer.as_mut().poll(cx));
                tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
                StatusCode::REQUEST_TIMEOUT.into_response()
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(no message)");
                tracing::error!(panic = message, "request handler panicked");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        };
        if let Some(id) = this.request_id.take() {
            if !response.headers().contains_key(&REQUEST_ID) {
                response.headers_mut().insert(REQUEST_ID, id);
            }
        }
        this.finished(response.status());
        Poll::Ready(Ok(response))
    }
}

impl<F> CallbackFuture<F> {
    /// Logs the answer and, for a callback, counts and times it. An unknown route is
    /// labelled `unknown` in metrics so a prober cannot grow the label set.
    fn finished(&self, status: StatusCode) {
        let elapsed = self.started.elapsed();
        let latency_ms = elapsed.as_millis() as u64;
        let Some((kind, uri)) = &self.callback else {
            if status.is_server_error() {
                tracing::error!(status = status.as_u16(), latency_ms, "request failed");
            } else {
                tracing::debug!(status = status.as_u16(), latency_ms, "request answered");
            }
            return;
        };
        let outcome = CallbackOutcome::from_status(status);
        tracing::info!(
            status = status.as_u16(),
            %outcome,
            latency_ms,
            "callback answered"
        );
        let route = match callback_of(uri.path()) {
            Some((_, route)) if status != StatusCode::NOT_FOUND => route,
            _ => "unknown",
        };
        metrics::callback_finished(kind, route, outcome, elapsed);
    }
}

/// Marks credentials so no log line prints them.
fn hide_sensitive(headers: &mut HeaderMap) {
    for name in [header::AUTHORIZATION, header::COOKIE] {
        if let Entry::Occupied(mut entry) = headers.entry(name) {
            for value in entry.iter_mut() {
                value.set_sensitive(true);
            }
        }
    }
}

/// The request span. Callback fields start empty: this middleware records kind and route,
/// the handler the caller's ids, so every line logged for a callback (and every API-call span
/// made on its behalf, as a child) carries them all.
fn make_span(request: &Request<Body>, request_id: &HeaderValue) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = request_id.to_str().unwrap_or(""),
        kind = tracing::field::Empty,
        route = tracing::field::Empty,
        team_id = tracing::field::Empty,
        channel_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

/// `Some(("commands", "hello"))` for `/commands/hello`: a callback path is a callback kind
/// and a route name, the two segments of the callback routes (`/commands/{route}` …).
fn callback_of(path: &str) -> Option<(&'static str, &str)> {
    let (kind, route) = path.strip_prefix('/')?.split_once('/')?;
    if route.is_empty() || route.contains('/') {
        return None;
    }
    let kind = CALLBACK_KINDS.into_iter().find(|k| *k == kind)?;
    Some((kind, route))
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::routing::post;
    use figment::providers::Format as _;
    use tower::ServiceExt as _;

    fn app(router: Router) -> App {
        let figment =
            figment::Figment::from(figment::providers::Toml::string(crate::config::DEFAULTS));
        let mut settings = crate::config::Settings::from_figment(&figment).unwrap();
        settings.server.request_timeout_secs = 1;
        settings.server.body_limit_bytes = 16;
        apply(router, &settings.server)
    }

    async fn call(app: &App, path: &str, body: &'static str) -> Response {
        let request = Request::post(path).body(Body::from(body)).unwrap();
        app.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn panics_become_500_timeouts_408_and_every_answer_carries_its_request_id() {
        let app = app(Router::new()
            .route("/commands/{route}", post(|| async { "ok" }))
            .route(
                "/hooks/{route}",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/actions/{route}",
                post(|| async {
                    if true {
                        panic!("handler bug");
                    }
                    "never"
                }),
            )
            .route(
                "/dialogs/{route}",
                post(|body: axum::body::Bytes| async move { body }),
            ));
        let ok = call(&app, "/commands/hello", "").await;
        assert_eq!(ok.status(), StatusCode::OK);
        let first = ok.headers()[&REQUEST_ID].clone();
        let again = call(&app, "/commands/hello", "").await;
        assert_ne!(again.headers()[&REQUEST_ID], first, "ids are unique");

        let late = call(&app, "/hooks/slow", "").await;
        assert_eq!(late.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(late.headers().contains_key(&REQUEST_ID));

        let panicked = call(&app, "/actions/poll", "").await;
        assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(panicked.headers().contains_key(&REQUEST_ID));

        // The body limit applies to every route.
        let big = call(&app, "/dialogs/x", "more than sixteen bytes").await;
        assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // An id sent by the caller is kept and echoed.
        let request = Request::post("/commands/hello")
            .header(&REQUEST_ID, "from-the-caller")
            .body(Body::empty())
            .unwrap();
        let echoed = app.clone().oneshot(request).await.unwrap();
        assert_eq!(echoed.headers()[&REQUEST_ID], "from-the-caller");
    }

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

    #[test]
    fn request_ids_are_the_prefix_and_the_counter_in_hex() {
        let shared = Shared {
            id_prefix: 0x0a1b_2c3d,
            next_id: AtomicU64::new(0),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(shared.request_id(), "0a1b2c3d-0");
        assert_eq!(shared.request_id(), "0a1b2c3d-1");
        shared.next_id.store(0xff, Ordering::Relaxed);
        assert_eq!(shared.request_id(), "0a1b2c3d-ff");
        shared.next_id.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(shared.request_id(), "0a1b2c3d-ffffffffffffffff");
    }
}
