//! Prometheus metrics: the recorder, the `/metrics` handler, and one helper per thing we count.
//!
//! Metrics go through the [`metrics`] facade into a process-wide Prometheus
//! recorder from `metrics-exporter-prometheus`, installed once by [`install`] (the first
//! [`Application`](crate::startup::Application) built does it). The scrape endpoint only
//! renders; it is served on the main router at `[metrics] path`, or on its own listener when
//! `[metrics] listen` is set, so it can be kept off the address Mattermost reaches.
//!
//! Other modules never name a metric themselves: they call the helpers below, so names,
//! labels and units live in this one file. Label values are bounded: kinds and outcomes are
//! fixed words, routes come from `routes/*.toml`, endpoints from the client's endpoint table
//! (`GET /api/v4/users/me`, never a concrete URL).
//!
//! | helper | series | who calls it |
//! | --- | --- | --- |
//! | [`callback_finished`] | `switchboard_callbacks_total{kind,route,outcome}`, `switchboard_callback_duration_seconds{kind,route}` | the server's metrics middleware, for every callback (`/<kind>/{route}`) |
//! | [`deferred_reply`] | `switchboard_deferred_replies_total{kind,route,outcome}` | callbacks that answer later through `response_url` or the API |
//! | [`deadline_missed`] | `switchboard_deadline_misses_total{kind,route}` | a callback that could not answer within Mattermost's deadline |
//! | [`api_call`] | `switchboard_api_requests_total{endpoint,status}`, `switchboard_api_request_duration_seconds{endpoint}`, `switchboard_api_retries_total{endpoint}`, `switchboard_api_rate_limited_total{endpoint}` | the Mattermost client's response observer, once per HTTP exchange |
//! | [`registration`] | `switchboard_registration_runs_total{result}` | the reconciler, once per registration run |
//! | [`ExecJob`] | `switchboard_exec_jobs_queued{route}`, `switchboard_exec_jobs_running{route}`, `switchboard_exec_jobs_finished_total{route,outcome}` | the exec runner, one guard per job |
//! | [`reload`] | `switchboard_reloads_total{result}` | the route hot reload |
//! | [`trigger`] | `switchboard_triggers_total{kind,route,outcome}` | webhooks, schedule ticks and messages (`src/triggers/`) |
//! | [`event_stream_gap`] | `switchboard_event_stream_gaps_total{reason}` | the `[message]` listener, when the WebSocket resume could not fill a gap |
//!
//! `switchboard_build_info{version}` is always 1 and tells dashboards which version runs.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use std::time::Duration;

use ::metrics::{
    Counter, Histogram, counter, describe_counter, describe_gauge, describe_histogram, gauge,
    histogram,
};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::mattermost::endpoints::Endpoint;

/// Callbacks answered, by kind (`commands`, `hooks`, …), route and [`CallbackOutcome`].
pub const CALLBACKS_TOTAL: &str = "switchboard_callbacks_total";
/// Time from receiving a callback to sending its answer, by kind and route.
pub const CALLBACK_DURATION: &str = "switchboard_callback_duration_seconds";
/// Deferred replies (sent after the callback was answered), by kind, route and outcome.
pub const DEFERRED_REPLIES_TOTAL: &str = "switchboard_deferred_replies_total";
/// Late answers the normal path would not take (a `response_url` that kept failing, a post
/// the bot may not edit), delivered another way, by kind, route and `via` (`ephemeral`,
/// `thread`, or `failed` when that failed too).
pub const LATE_FALLBACKS_TOTAL: &str = "switchboard_late_fallbacks_total";
/// Callbacks whose work outlived Mattermost's answer deadline, by kind and route.
pub const DEADLINE_MISSES_TOTAL: &str = "switchboard_deadline_misses_total";
/// HTTP exchanges with Mattermost, by endpoint template and status (`error` without one).
pub const API_REQUESTS_TOTAL: &str = "switchboard_api_requests_total";
/// Duration of one HTTP exchange with Mattermost, by endpoint template.
pub const API_REQUEST_DURATION: &str = "switchboard_api_request_duration_seconds";
/// Exchanges that were retries of an earlier attempt, by endpoint template.
pub const API_RETRIES_TOTAL: &str = "switchboard_api_retries_total";
/// Exchanges Mattermost answered with 429 Too Many Requests, by endpoint template.
pub const API_RATE_LIMITED_TOTAL: &str = "switchboard_api_rate_limited_total";
/// Registration runs, by result (`ok`, `error`).
pub const REGISTRATION_RUNS_TOTAL: &str = "switchboard_registration_runs_total";
/// Exec jobs waiting for a slot, by route.
pub const EXEC_JOBS_QUEUED: &str = "switchboard_exec_jobs_queued";
/// Exec jobs running now, by route.
pub const EXEC_JOBS_RUNNING: &str = "switchboard_exec_jobs_running";
/// Exec jobs finished, by route and [`ExecOutcome`].
pub const EXEC_JOBS_FINISHED_TOTAL: &str = "switchboard_exec_jobs_finished_total";
/// Route reloads, by result (`ok`, `error`).
pub const RELOADS_TOTAL: &str = "switchboard_reloads_total";
/// Single-use dialog states and button contexts sent again, refused.
pub const REPLAYS_REFUSED_TOTAL: &str = "switchboard_replays_refused_total";
/// Triggers fired (`webhook`, `schedule`, `message`), by route and outcome (`posted`,
/// `edited`, `nothing`, `refused`, `failed`, `skipped` for a tick or message another replica
/// claimed, `missed` for a schedule tick skipped, `taken_over`, `pending_full`, `gave_up` and
/// `claim_lost` for claims between replicas).
pub const TRIGGERS_TOTAL: &str = "switchboard_triggers_total";
/// Stretches of the WebSocket event stream that could not be replayed, by reason (`gap`,
/// `resume_failed`): messages in them were not seen.
pub const EVENT_STREAM_GAPS_TOTAL: &str = "switchboard_event_stream_gaps_total";
/// 1 while this replica leads the Kubernetes Lease (`[coordination] mode = "lease"`), else 0.
pub const LEADER: &str = "switchboard_leader";
/// Always 1; the `version` label names the running version.
pub const BUILD_INFO: &str = "switchboard_build_info";
/// Log lines dropped because the log writer's queue was full.
pub const LOG_LINES_DROPPED_TOTAL: &str = "switchboard_log_lines_dropped_total";

/// Histogram buckets in seconds: Mattermost waits at most 30 s for a callback, and a slash
/// command should answer in well under 3 s, so the buckets are dense below 3 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The installed recorder's handle; `None` when another recorder was installed first (a
/// library user's own), in which case our helpers feed theirs and `/metrics` says so.
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder for the process (idempotent) and returns its handle.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS);
            let recorder = match builder {
                Ok(builder) => builder.build_recorder(),
                // Only an empty bucket list is refused, and ours is a non-empty constant.
                Err(e) => {
                    tracing::warn!(error = %e, "metrics buckets refused; using summaries");
                    PrometheusBuilder::new().build_recorder()
                }
            };
            let handle = recorder.handle();
            if let Err(e) = ::metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "another metrics recorder is installed; /metrics stays empty");
                return None;
            }
            describe();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .clone()
}

/// The exposition text of every series, or `None` when our recorder is not installed.
pub fn render() -> Option<String> {
    let handle = HANDLE.get().and_then(Option::as_ref)?;
    // The log writer keeps its own count; it is read at each scrape.
    counter!(LOG_LINES_DROPPED_TOTAL).absolute(crate::telemetry::dropped_log_lines());
    Some(handle.render())
}

/// Drops histogram samples already folded into the rendered buckets; run periodically so
/// memory stays bounded between scrapes.
pub fn run_upkeep() {
    if let Some(handle) = HANDLE.get().and_then(Option::as_ref) {
        handle.run_upkeep();
    }
}

/// `GET /metrics`: the Prometheus text exposition format.
pub async fn scrape() -> Response {
    match render() {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        )
            .into_response(),
    }
}

fn describe() {
    describe_counter!(
        LOG_LINES_DROPPED_TOTAL,
        "Log lines dropped because the log writer's queue was full (stderr's reader too slow)."
    );
    describe_counter!(
        CALLBACKS_TOTAL,
        "Callbacks answered, by kind, route and outcome."
    );
    describe_histogram!(
        CALLBACK_DURATION,
        ::metrics::Unit::Seconds,
        "Time to answer a callback."
    );
    describe_counter!(
        DEFERRED_REPLIES_TOTAL,
        "Replies sent after the callback was answered, by outcome."
    );
    describe_counter!(
        LATE_FALLBACKS_TOTAL,
        "Late answers delivered another way than their normal path, by way."
    );
    describe_counter!(
        DEADLINE_MISSES_TOTAL,
        "Callbacks whose work outlived Mattermost's answer deadline."
    );
    describe_counter!(
        API_REQUESTS_TOTAL,
        "HTTP exchanges with Mattermost, by endpoint template and status."
    );
    describe_histogram!(
        API_REQUEST_DURATION,
        ::metrics::Unit::Seconds,
        "Duration of one HTTP exchange with Mattermost."
    );
    describe_counter!(
        API_RETRIES_TOTAL,
        "Mattermost API requests that were retries."
    );
    describe_counter!(
        API_RATE_LIMITED_TOTAL,
        "Mattermost API requests answered with 429."
    );
    describe_counter!(
        REGISTRATION_RUNS_TOTAL,
        "Slash-command registration runs, by result."
    );
    describe_gauge!(EXEC_JOBS_QUEUED, "Exec jobs waiting for a slot.");
    describe_gauge!(EXEC_JOBS_RUNNING, "Exec jobs running.");
    describe_counter!(EXEC_JOBS_FINISHED_TOTAL, "Exec jobs finished, by outcome.");
    describe_counter!(RELOADS_TOTAL, "Route reloads, by result.");
    describe_counter!(
        REPLAYS_REFUSED_TOTAL,
        "Single-use dialog states and button contexts sent again, refused."
    );
    describe_counter!(
        TRIGGERS_TOTAL,
        "Triggers fired, by kind, route and outcome."
    );
    describe_counter!(
        EVENT_STREAM_GAPS_TOTAL,
        "WebSocket event stream stretches that could not be replayed, by reason."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the build.");
    describe_gauge!(
        LEADER,
        "1 while this replica leads the Kubernetes Lease (lease coordination), else 0."
    );
}

/// How a callback ended, as its answer's status shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// 2xx/3xx: answered.
    Ok,
    /// 401/403: a token or signature check failed.
    Unauthorized,
    /// 408: the request timeout fired.
    Timeout,
    /// Any other 4xx: the request was malformed or named no route.
    Rejected,
    /// 5xx: our failure.
    Error,
    /// Refused because something the callback needs (the shared store) did not answer: the
    /// user was told to try again and nothing ran. Answered 200 (Mattermost shows a dialog's
    /// or a click's error only in a 200 answer), so the handler says so with a response
    /// extension ([`CallbackOutcome::mark`]) rather than through the status.
    Unavailable,
}

impl CallbackOutcome {
    /// A dense index, for per-outcome arrays.
    fn index(self) -> usize {
        match self {
            CallbackOutcome::Ok => 0,
            CallbackOutcome::Unauthorized => 1,
            CallbackOutcome::Timeout => 2,
            CallbackOutcome::Rejected => 3,
            CallbackOutcome::Error => 4,
            CallbackOutcome::Unavailable => 5,
        }
    }

    /// Classifies an answer's status.
    pub fn from_status(status: StatusCode) -> CallbackOutcome {
        match status.as_u16() {
            401 | 403 => CallbackOutcome::Unauthorized,
            408 => CallbackOutcome::Timeout,
            400..=499 => CallbackOutcome::Rejected,
            503 => CallbackOutcome::Unavailable,
            500..=599 => CallbackOutcome::Error,
            _ => CallbackOutcome::Ok,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackOutcome::Ok => "ok",
            CallbackOutcome::Unauthorized => "unauthorized",
            CallbackOutcome::Timeout => "timeout",
            CallbackOutcome::Rejected => "rejected",
            CallbackOutcome::Error => "error",
            CallbackOutcome::Unavailable => "unavailable",
        }
    }

    /// `response` with this outcome attached, for the metrics middleware to count instead of
    /// the one its status implies.
    pub fn mark(self, mut response: Response) -> Response {
        response.extensions_mut().insert(self);
        response
    }

    /// The outcome of `response`: the one attached with [`CallbackOutcome::mark`], else the
    /// one its status implies.
    pub fn of<B>(response: &axum::http::Response<B>) -> CallbackOutcome {
        response
            .extensions()
            .get::<CallbackOutcome>()
            .copied()
            .unwrap_or_else(|| CallbackOutcome::from_status(response.status()))
    }
}

/// The series of one `(kind, route)`: a counter per outcome (registered on its first use, so
/// `/metrics` shows only outcomes that happened) and the latency histogram.
#[derive(Debug)]
struct CallbackSeries {
    kind: String,
    route: String,
    totals: [OnceLock<Counter>; 6],
    duration: Histogram,
}

impl CallbackSeries {
    fn register(kind: &str, route: &str) -> CallbackSeries {
        CallbackSeries {
            kind: kind.to_owned(),
            route: route.to_owned(),
            totals: Default::default(),
            duration: histogram!(CALLBACK_DURATION, "kind" => kind.to_owned(), "route" => route.to_owned()),
        }
    }

    fn total(&self, outcome: CallbackOutcome) -> &Counter {
        self.totals[outcome.index()].get_or_init(|| {
            counter!(CALLBACKS_TOTAL, "kind" => self.kind.clone(), "route" => self.route.clone(), "outcome" => outcome.as_str())
        })
    }
}

/// Handles already registered, by kind then route, so a callback costs two map lookups in
/// a snapshot (no lock, nothing shared written) instead of building label sets and looking
/// them up in the recorder. Bounded like the labels themselves (fixed kinds, declared routes,
/// `unknown`); a new series copies the small map once.
type SeriesByKind = HashMap<String, HashMap<String, Arc<CallbackSeries>>>;
static CALLBACK_SERIES: OnceLock<ArcSwap<SeriesByKind>> = OnceLock::new();

fn callback_series(kind: &str, route: &str) -> Arc<CallbackSeries> {
    let cache = CALLBACK_SERIES.get_or_init(ArcSwap::default);
    if let Some(series) = cache.load().get(kind).and_then(|routes| routes.get(route)) {
        return Arc::clone(series);
    }
    let fresh = Arc::new(CallbackSeries::register(kind, route));
    let mut found = Arc::clone(&fresh);
    cache.rcu(|current| {
        let mut next = SeriesByKind::clone(current);
        let series = next
            .entry(kind.to_owned())
            .or_default()
            .entry(route.to_owned())
            .or_insert_with(|| Arc::clone(&fresh));
        found = Arc::clone(series);
        next
    });
    found
}

/// Counts a callback and records its latency. `kind` is the first path segment
/// (`commands`, `hooks`, `actions`, `dialogs`); `route` the route name. The server's metrics
/// middleware calls this for every callback, so handlers need not.
pub fn callback_finished(kind: &str, route: &str, outcome: CallbackOutcome, elapsed: Duration) {
    // Handles are cached only once our recorder is installed: one taken earlier would be
    // bound to the no-op recorder for good.
    if HANDLE.get().is_none() {
        counter!(CALLBACKS_TOTAL, "kind" => kind.to_owned(), "route" => route.to_owned(), "outcome" => outcome.as_str())
            .increment(1);
        histogram!(CALLBACK_DURATION, "kind" => kind.to_owned(), "route" => route.to_owned())
            .record(elapsed.as_secs_f64());
        return;
    }
    let series = callback_series(kind, route);
    series.total(outcome).increment(1);
    series.duration.record(elapsed.as_secs_f64());
}

/// Counts a deferred reply (a `response_url` post or API post made after the callback was
/// answered): `delivered` is whether Mattermost accepted it.
pub fn deferred_reply(kind: &str, route: &str, delivered: bool) {
    let outcome = if delivered { "delivered" } else { "failed" };
    counter!(DEFERRED_REPLIES_TOTAL, "kind" => kind.to_owned(), "route" => route.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Counts a late answer delivered another way than its normal path (`via`: `ephemeral`,
/// `direct` (a direct message), `channel` (an in-channel answer posted), `failed`).
pub fn late_fallback(kind: &str, route: &str, via: &'static str) {
    counter!(LATE_FALLBACKS_TOTAL, "kind" => kind.to_owned(), "route" => route.to_owned(), "via" => via)
        .increment(1);
}

/// Counts a callback whose work did not finish before Mattermost's deadline (the answer
/// became a deferred reply, or was lost).
pub fn deadline_missed(kind: &str, route: &str) {
    counter!(DEADLINE_MISSES_TOTAL, "kind" => kind.to_owned(), "route" => route.to_owned())
        .increment(1);
}

/// Counts one HTTP exchange with Mattermost. `status` is `None` when no response came
/// (connect failure, timeout); `attempt` is 1 for the first try, 2 for the first retry …;
/// a 429 also counts in `switchboard_api_rate_limited_total`.
pub fn api_call(endpoint: &Endpoint, status: Option<StatusCode>, attempt: u32, elapsed: Duration) {
    let status = status.map(|s| s.as_u16());
    if HANDLE.get().is_some() {
        let series = api_series(endpoint);
        series.total(status).increment(1);
        series.duration.record(elapsed.as_secs_f64());
    } else {
        let template = endpoint.to_string();
        counter!(API_REQUESTS_TOTAL, "endpoint" => template.clone(), "status" => status_label(status))
            .increment(1);
        histogram!(API_REQUEST_DURATION, "endpoint" => template).record(elapsed.as_secs_f64());
    }
    if attempt > 1 {
        counter!(API_RETRIES_TOTAL, "endpoint" => endpoint.to_string()).increment(1);
    }
    if status == Some(StatusCode::TOO_MANY_REQUESTS.as_u16()) {
        counter!(API_RATE_LIMITED_TOTAL, "endpoint" => endpoint.to_string()).increment(1);
    }
}

fn status_label(status: Option<u16>) -> String {
    status.map_or_else(|| "error".to_owned(), |s| s.to_string())
}

/// The series of one API endpoint: its latency histogram and a counter per status seen
/// (few: 200, 201, 404, 429 …), registered on first use like [`CallbackSeries`].
#[derive(Debug)]
struct ApiSeries {
    endpoint: String,
    duration: Histogram,
    totals: std::sync::RwLock<Vec<(Option<u16>, Counter)>>,
}

impl ApiSeries {
    fn total(&self, status: Option<u16>) -> Counter {
        let found = |totals: &[(Option<u16>, Counter)]| {
            totals
                .iter()
                .find(|(s, _)| *s == status)
                .map(|(_, c)| c.clone())
        };
        if let Some(counter) = found(&self.totals.read().unwrap_or_else(|e| e.into_inner())) {
            return counter;
        }
        let mut totals = self.totals.write().unwrap_or_else(|e| e.into_inner());
        if let Some(counter) = found(&totals) {
            return counter;
        }
        let counter = counter!(API_REQUESTS_TOTAL, "endpoint" => self.endpoint.clone(), "status" => status_label(status));
        totals.push((status, counter.clone()));
        counter
    }
}

/// Handles already registered, by endpoint: an API call costs a map lookup in a snapshot and
/// a read lock instead of building two label sets and looking them up in the recorder (2 %
/// of a callback making one API call). Bounded by the endpoint table.
static API_SERIES: OnceLock<ArcSwap<HashMap<Endpoint, Arc<ApiSeries>>>> = OnceLock::new();

fn api_series(endpoint: &Endpoint) -> Arc<ApiSeries> {
    let cache = API_SERIES.get_or_init(ArcSwap::default);
    if let Some(series) = cache.load().get(endpoint) {
        return Arc::clone(series);
    }
    let template = endpoint.to_string();
    let fresh = Arc::new(ApiSeries {
        duration: histogram!(API_REQUEST_DURATION, "endpoint" => template.clone()),
        endpoint: template,
        totals: std::sync::RwLock::default(),
    });
    let mut found = Arc::clone(&fresh);
    cache.rcu(|current| {
        let mut next = HashMap::clone(current);
        let series = next.entry(*endpoint).or_insert_with(|| Arc::clone(&fresh));
        found = Arc::clone(series);
        next
    });
    found
}

/// Counts a registration run (one pass over every team), successful or not.
pub fn registration(ok: bool) {
    counter!(REGISTRATION_RUNS_TOTAL, "result" => result(ok)).increment(1);
}

/// Counts a route reload (SIGHUP or file watch), successful or not.
pub fn reload(ok: bool) {
    counter!(RELOADS_TOTAL, "result" => result(ok)).increment(1);
}

/// Counts a refused replay of a single-use token.
pub fn replay_refused() {
    counter!(REPLAYS_REFUSED_TOTAL).increment(1);
}

/// Counts a trigger of `kind` (`webhook`, `schedule`, `message`) on `route` ending in
/// `outcome` (a fixed word, see [`TRIGGERS_TOTAL`]).
pub fn trigger(kind: &'static str, route: &str, outcome: &'static str) {
    counter!(TRIGGERS_TOTAL, "kind" => kind, "route" => route.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// Whether this replica leads the Kubernetes Lease now.
pub fn leader(leads: bool) {
    gauge!(LEADER).set(if leads { 1.0 } else { 0.0 });
}

/// Counts a stretch of the event stream that could not be replayed (`gap`, `resume_failed`).
pub fn event_stream_gap(reason: &'static str) {
    counter!(EVENT_STREAM_GAPS_TOTAL, "reason" => reason).increment(1);
}

fn result(ok: bool) -> &'static str {
    if ok { "ok" } else { "error" }
}

/// How an exec job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecOutcome {
    /// Exited with status 0.
    Succeeded,
    /// Exited with a non-zero status or a signal.
    Failed,
    /// Killed after its time limit.
    TimedOut,
    /// Could not be started (missing program, no permission …).
    SpawnError,
    /// Dropped before it finished (shutdown, queue full, a panic in the runner).
    Abandoned,
}

impl ExecOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecOutcome::Succeeded => "succeeded",
            ExecOutcome::Failed => "failed",
            ExecOutcome::TimedOut => "timed_out",
            ExecOutcome::SpawnError => "spawn_error",
            ExecOutcome::Abandoned => "abandoned",
        }
    }
}

/// Tracks one exec job in the queued/running gauges. Create it when the job is queued, call
/// [`started`](Self::started) when it gets a slot and [`finished`](Self::finished) when it
/// ends; dropping it unfinished counts it as [`ExecOutcome::Abandoned`], so the gauges never
/// drift.
///
/// ```
/// use switchboard::metrics::{ExecJob, ExecOutcome};
/// let mut job = ExecJob::queued("deploy");
/// job.started();
/// job.finished(ExecOutcome::Succeeded);
/// ```
#[derive(Debug)]
pub struct ExecJob {
    route: String,
    state: JobState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobState {
    Queued,
    Running,
    Done,
}

impl ExecJob {
    /// A job for `route`, waiting for a slot.
    pub fn queued(route: &str) -> ExecJob {
        gauge!(EXEC_JOBS_QUEUED, "route" => route.to_owned()).increment(1.0);
        ExecJob {
            route: route.to_owned(),
            state: JobState::Queued,
        }
    }

    /// The job got a slot and its process started.
    pub fn started(&mut self) {
        if self.state == JobState::Queued {
            gauge!(EXEC_JOBS_QUEUED, "route" => self.route.clone()).decrement(1.0);
            gauge!(EXEC_JOBS_RUNNING, "route" => self.route.clone()).increment(1.0);
            self.state = JobState::Running;
        }
    }

    /// The job ended with `outcome`.
    pub fn finished(mut self, outcome: ExecOutcome) {
        self.finish(outcome);
    }

    fn finish(&mut self, outcome: ExecOutcome) {
        let gauge_name = match self.state {
            JobState::Queued => EXEC_JOBS_QUEUED,
            JobState::Running => EXEC_JOBS_RUNNING,
            JobState::Done => return,
        };
        gauge!(gauge_name, "route" => self.route.clone()).decrement(1.0);
        counter!(EXEC_JOBS_FINISHED_TOTAL, "route" => self.route.clone(), "outcome" => outcome.as_str())
            .increment(1);
        self.state = JobState::Done;
    }
}

impl Drop for ExecJob {
    fn drop(&mut self) {
        self.finish(ExecOutcome::Abandoned);
    }
}

impl fmt::Display for CallbackOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_outcomes_operators_alert_on() {
        assert_eq!(
            CallbackOutcome::from_status(StatusCode::OK),
            CallbackOutcome::Ok
        );
        assert_eq!(
            CallbackOutcome::from_status(StatusCode::UNAUTHORIZED),
            CallbackOutcome::Unauthorized
        );
        assert_eq!(
            CallbackOutcome::from_status(StatusCode::REQUEST_TIMEOUT),
            CallbackOutcome::Timeout
        );
        assert_eq!(
            CallbackOutcome::from_status(StatusCode::NOT_FOUND),
            CallbackOutcome::Rejected
        );
        assert_eq!(
            CallbackOutcome::from_status(StatusCode::INTERNAL_SERVER_ERROR),
            CallbackOutcome::Error
        );
    }
}
