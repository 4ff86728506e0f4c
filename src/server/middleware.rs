//! The middleware stack, assembled in one place: request id (set and echoed), a trace span per
//! request, sensitive headers hidden from logs, a timeout, a body-size limit, and panics turned
//! into 500s instead of dropped connections; callbacks are counted and timed for `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::ServerSettings;
use crate::metrics::{self, CallbackOutcome};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a per-process random prefix and a counter; unique without coordination.
#[derive(Clone, Debug)]
struct Ids {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // `HeaderValue::try_from(String)` takes the buffer over; `parse()` on a `&str` would
        // validate and copy it into a second allocation.
        HeaderValue::try_from(format!("{:08x}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

fn make_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Callback fields start empty: the metrics middleware records kind and route, the handler
    // the caller's ids, so every line logged for a callback (and every API-call span made on
    // its behalf, as a child) carries them all.
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
        kind = tracing::field::Empty,
        route = tracing::field::Empty,
        team_id = tracing::field::Empty,
        channel_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

/// Counts and times callbacks: requests whose route template is `/<kind>/{param}…`
/// (`/commands/{route}`, and every callback kind added later), records kind and route on the
/// request span, and logs one "callback answered" line. Placed outside the timeout and panic
/// layers so 408s and 500s are counted too. An unknown route name is labelled `unknown` in
/// metrics so a prober cannot grow the label set.
async fn record_callback(request: axum::extract::Request, next: Next) -> Response {
    let labels = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|matched| callback_labels(matched.as_str(), request.uri().path()));
    let Some((kind, route)) = labels else {
        return next.run(request).await;
    };
    let span = tracing::Span::current();
    span.record("kind", kind.as_str());
    span.record("route", route.as_str());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status();
    let outcome = CallbackOutcome::from_status(status);
    tracing::info!(
        status = status.as_u16(),
        %outcome,
        latency_ms = elapsed.as_millis() as u64,
        "callback answered"
    );
    let route = if status == StatusCode::NOT_FOUND {
        "unknown"
    } else {
        &route
    };
    metrics::callback_finished(&kind, route, outcome, elapsed);
    response
}

/// `("commands", "hello")` for template `/commands/{route}` and path `/commands/hello`.
fn callback_labels(template: &str, path: &str) -> Option<(String, String)> {
    let mut template = template.trim_start_matches('/').split('/');
    let mut path = path.trim_start_matches('/').split('/');
    let kind = template.next()?;
    let param = template.next()?;
    if !param.starts_with('{') || kind.starts_with('{') {
        return None;
    }
    path.next()?;
    Some((kind.to_owned(), path.next()?.to_owned()))
}

/// Wraps `router` in the stack (outermost first).
pub(crate) fn apply(router: Router, settings: &ServerSettings) -> Router {
    let ids = Ids {
        prefix: rand::random(),
        next: Arc::default(),
    };
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, ids))
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
            ]))
            .layer(TraceLayer::new_for_http().make_span_with(make_span))
            .layer(axum::middleware::from_fn(record_callback))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CatchPanicLayer::new())
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                settings.request_timeout(),
            ))
            .layer(DefaultBodyLimit::max(settings.body_limit_bytes)),
    )
}
