//! The middleware, composed once around the whole router (one stack, not a layer per route),
//! outermost first:
//!
//! 1. credentials (`Authorization`, `Cookie`) marked sensitive, so no log line prints them;
//! 2. [`Access`]: the request id (the caller's `X-Request-ID`, else one made here, echoed on
//!    the answer); the request's context, which every line logged for the request carries
//!    (`telemetry::request`); callbacks counted and timed for `/metrics`, and one "callback
//!    answered" line each (`[log] access`);
//! 3. panics turned into 500s instead of dropped connections;
//! 4. the body-size limit (413);
//! 5. a timeout answered 408;
//! 6. [`Dispatch`]: callbacks to their handlers, the rest through axum's router.
//!
//! Everything but [`Access`] and [`Dispatch`] is tower-http's ([`Access`] is ours because no
//! tower-http layer knows our callback kinds and routes; [`Dispatch`] stands before axum's
//! router, see `dispatch.rs`).
//!
//! **Why tower-http here, measured.** The rule (issue #12): a hand-written layer replaces
//! tower-http's only where it gains more than 3 % on S1. `bench/ab.sh` could not attribute
//! anything to one layer on the 2 shared cores (single rounds ranged 0.7–1.3; the whole
//! hand-written service of commit c371057 measured 1.105 and 1.19 against this stack), so
//! each layer's own cost was counted with callgrind (`bench/instructions.sh 1000`, S1, the
//! layer's inclusive instructions minus those of what it wraps; of 93 100 per request):
//!
//! | layer | instructions | of S1 |
//! |---|---|---|
//! | request id, set and propagated (two layers, header and extension) | 2 500 | 2.7 % |
//! | body limit (service, future, body wrapper) | 700 | 0.8 % |
//! | timeout (a timer made, armed only if the handler is pending) | 330 | 0.4 % |
//! | sensitive headers | 430 | 0.5 % |
//! | catch-panic | 150 | 0.2 % |
//!
//! A hand-written layer still has to do most of that work (an id, a header, a timer, a
//! `catch_unwind`), so none could gain 3 % then.
//!
//! **The request id is ours since S1 fell to 55 000.** tower-http's two layers put the id in
//! the request's headers and in the request's and the answer's extensions (a map made and
//! grown per request, a box per value) and wrap the answer future once more; nothing reads
//! the extensions. [`Access`] already keeps the id in the request's context, so it makes the
//! id there and sets the answer's header, and handlers read the id from the context
//! (`extract::RequestId`). S1 55 081 → 52 190 instructions per request (5.2 %,
//! `bench/instructions.sh 2000`), above the 3 % rule. The ids, the echo and the header on
//! every answer (408, 413, 500 included) are as before; the tests below hold them.
//!
//! **The one that went: tower-http's trace layer.** Its span per request (made by us, with
//! the request's fields, given the caller's ids later, entered on every poll, closed) cost
//! about 8 000 instructions of S1's 64 300, and the layer itself 1 900 more. The request's
//! context now lives in a task-local value set by [`Access`] and is written by our log
//! formats only when a line is written (`telemetry::request`): S1 64 300 → 58 100
//! instructions per request (9.7 %, `bench/instructions.sh 2000`), S2 152 500 → 145 600,
//! S3 102 800 → 95 900. Lines read as before (tests hold them to the default formats' with
//! a real span, byte for byte in text).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::body::Body;
use axum::http::header;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer, ResponseForPanic};
use tower_http::limit::{RequestBodyLimit, RequestBodyLimitLayer};
use tower_http::sensitive_headers::{SetSensitiveRequestHeaders, SetSensitiveRequestHeadersLayer};
use tower_http::timeout::{Timeout, TimeoutLayer};

use super::dispatch::{Dispatch, callback_of};
use crate::config::ServerSettings;
use crate::metrics::{self, CallbackOutcome};
use crate::telemetry::request::{self, RequestContext};

/// The request id's header, read from the caller and set on every answer.
const X_REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

type Stack = SetSensitiveRequestHeaders<
    Access<CatchPanic<RequestBodyLimit<Timeout<Dispatch>>, PanicAnswer>>,
>;

/// The app as served: the router inside the middleware stack (see the module docs).
#[derive(Debug, Clone)]
pub struct App(Stack);

/// Wraps `router` (the callbacks' dispatch before axum's router) in the middleware; `access`
/// is `[log] access`.
pub(crate) fn apply(router: Dispatch, settings: &ServerSettings, access: bool) -> App {
    let ids = Ids(Arc::new(IdSource {
        prefix: rand::random(),
        next: AtomicU64::new(0),
    }));
    let stack = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(AccessLayer { access, ids })
        .layer(CatchPanicLayer::custom(PanicAnswer))
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout(),
        ))
        .service(router);
    App(stack)
}

/// The answer future of [`App`].
pub type CallbackFuture = AppFuture<<Stack as Service<Request<Body>>>::Future>;

pin_project_lite::pin_project! {
    /// Maps the stack's answer body to axum's.
    #[derive(Debug)]
    pub struct AppFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B> Future for AppFuture<F>
where
    F: Future<Output = Result<Response<B>, std::convert::Infallible>>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(self.project().inner.poll(cx))?;
        Poll::Ready(Ok(response.map(Body::new)))
    }
}

impl Service<Request<Body>> for App {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = CallbackFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<Request<Body>>::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        AppFuture {
            inner: self.0.call(request),
        }
    }
}

/// Request ids: a per-process random prefix and a counter; unique without coordination.
#[derive(Debug)]
struct IdSource {
    prefix: u32,
    next: AtomicU64,
}

impl IdSource {
    /// `<prefix as 8 hex digits>-<counter in hex>`, written without the formatting machinery
    /// (cheaper than a UUID or `format!`).
    fn request_id(&self) -> HeaderValue {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 8 + 1 + 16];
        for (i, slot) in id[..8].iter_mut().enumerate() {
            *slot = HEX[(self.prefix >> (28 - 4 * i) & 0xf) as usize];
        }
        id[8] = b'-';
        let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
        for (i, slot) in id[9..9 + digits].iter_mut().enumerate() {
            *slot = HEX[(n >> (4 * (digits - 1 - i)) & 0xf) as usize];
        }
        HeaderValue::from_bytes(&id[..9 + digits]).unwrap_or(HeaderValue::from_static("-"))
    }
}

/// The request-id source: a per-process random prefix and a counter, in hex.
#[derive(Debug, Clone)]
pub struct Ids(Arc<IdSource>);

/// A panic's answer: a bare 500, the panic logged within the request's span.
#[derive(Debug, Clone, Copy)]
pub struct PanicAnswer;

impl ResponseForPanic for PanicAnswer {
    type ResponseBody = Body;

    fn response_for_panic(
        &mut self,
        panic: Box<dyn std::any::Any + Send + 'static>,
    ) -> Response<Body> {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        tracing::error!(panic = message, "request handler panicked");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

/// Layer of [`Access`].
#[derive(Debug, Clone)]
struct AccessLayer {
    access: bool,
    ids: Ids,
}

impl<S> Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Access<S> {
        Access {
            inner,
            access: self.access,
            ids: self.ids.clone(),
        }
    }
}

/// Counts and times callbacks for `/metrics` and writes one "callback answered" line per
/// callback (when `[log] access` is on). Written by hand: no tower-http layer knows our
/// callback kinds and routes.
#[derive(Debug, Clone)]
pub struct Access<S> {
    inner: S,
    access: bool,
    ids: Ids,
}

impl<S, B, R> Service<Request<B>> for Access<S>
where
    S: Service<Request<B>, Response = Response<R>, Error = std::convert::Infallible>,
{
    type Response = Response<R>;
    type Error = std::convert::Infallible;
    type Future = TaskLocalFuture<RequestContext, AccessFuture<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The request context every line logged for the request carries; the `Uri` (a
        // reference count) also names the route in the metrics.
        let kind = callback_of(request.uri().path()).map(|(kind, _)| kind);
        // The caller's request id, or one of ours; the handlers read it from the context.
        let request_id = match request.headers().get(&X_REQUEST_ID) {
            Some(id) => id.clone(),
            None => self.ids.0.request_id(),
        };
        let context = RequestContext::new(
            request.method().clone(),
            request.uri().clone(),
            Some(request_id.clone()),
            kind,
        );
        let callback = kind.map(|kind| (kind, request.uri().clone()));
        request::scope(
            context,
            AccessFuture {
                inner: self.inner.call(request),
                callback,
                access: self.access,
                started: Instant::now(),
                request_id: Some(request_id),
            },
        )
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Access`].
    pub struct AccessFuture<F> {
        #[pin]
        inner: F,
        callback: Option<(&'static str, axum::http::Uri)>,
        access: bool,
        started: Instant,
        // Echoed on the answer unless the handler set one.
        request_id: Option<HeaderValue>,
    }
}

impl<F> std::fmt::Debug for AccessFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessFuture")
            .field("callback", &self.callback)
            .finish_non_exhaustive()
    }
}

impl<F, R> Future for AccessFuture<F>
where
    F: Future<Output = Result<Response<R>, std::convert::Infallible>>,
{
    type Output = Result<Response<R>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        if let Some(id) = this.request_id.take()
            && !response.headers().contains_key(&X_REQUEST_ID)
        {
            response.headers_mut().insert(X_REQUEST_ID, id);
        }
        finished(
            this.callback.as_ref(),
            *this.access,
            *this.started,
            response.status(),
            CallbackOutcome::of(&response),
        );
        Poll::Ready(Ok(response))
    }
}

/// Logs the answer and, for a callback, counts and times it (as `outcome`: what its status
/// implies, or what the handler attached). An unknown route is labelled `unknown` in metrics
/// so a prober cannot grow the label set.
fn finished(
    callback: Option<&(&'static str, axum::http::Uri)>,
    access: bool,
    started: Instant,
    status: StatusCode,
    outcome: CallbackOutcome,
) {
    {
        let elapsed = started.elapsed();
        let latency_ms = elapsed.as_millis() as u64;
        let Some((kind, uri)) = callback else {
            // A 503 outside the callbacks is `/readyz` saying "not yet", which a probe asks
            // every few seconds: normal operation, whose changes the readiness logs once.
            if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
                tracing::error!(status = status.as_u16(), latency_ms, "request failed");
            } else {
                tracing::debug!(status = status.as_u16(), latency_ms, "request answered");
            }
            return;
        };
        if access {
            crate::telemetry::callback_answered(status.as_u16(), outcome, latency_ms);
        } else if status.is_server_error() {
            tracing::error!(status = status.as_u16(), latency_ms, "callback failed");
        }
        // `call` checked the path's shape: `/<kind>/<route>`.
        let route = match uri.path().get(kind.len() + 2..) {
            Some(route) if status != StatusCode::NOT_FOUND => route,
            _ => "unknown",
        };
        metrics::callback_finished(kind, route, outcome, elapsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use axum::Router;
    use axum::routing::post;
    use figment::providers::Format as _;
    use tower::ServiceExt as _;

    fn app(router: Router) -> App {
        let router = Dispatch::router_only(router);
        let figment =
            figment::Figment::from(figment::providers::Toml::string(crate::config::DEFAULTS));
        let mut settings = crate::config::Settings::from_figment(&figment).unwrap();
        settings.server.request_timeout_secs = 1;
        settings.server.body_limit_bytes = 16;
        apply(router, &settings.server, true)
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
        let first = ok.headers()[&X_REQUEST_ID].clone();
        let again = call(&app, "/commands/hello", "").await;
        assert_ne!(again.headers()[&X_REQUEST_ID], first, "ids are unique");

        let late = call(&app, "/hooks/slow", "").await;
        assert_eq!(late.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(late.headers().contains_key(&X_REQUEST_ID));

        let panicked = call(&app, "/actions/poll", "").await;
        assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(panicked.headers().contains_key(&X_REQUEST_ID));

        // The body limit applies to every route.
        let big = call(&app, "/dialogs/x", "more than sixteen bytes").await;
        assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // An id sent by the caller is kept and echoed.
        let request = Request::post("/commands/hello")
            .header(&X_REQUEST_ID, "from-the-caller")
            .body(Body::empty())
            .unwrap();
        let echoed = app.clone().oneshot(request).await.unwrap();
        assert_eq!(echoed.headers()[&X_REQUEST_ID], "from-the-caller");
    }

    #[test]
    fn request_ids_are_the_prefix_and_the_counter_in_hex() {
        let shared = IdSource {
            prefix: 0x0a1b_2c3d,
            next: AtomicU64::new(0),
        };
        assert_eq!(shared.request_id(), "0a1b2c3d-0");
        assert_eq!(shared.request_id(), "0a1b2c3d-1");
        shared.next.store(0xff, Ordering::Relaxed);
        assert_eq!(shared.request_id(), "0a1b2c3d-ff");
        shared.next.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(shared.request_id(), "0a1b2c3d-ffffffffffffffff");
    }
}
