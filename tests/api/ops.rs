//! Operability: `/metrics` after traffic, the separate metrics listener, JSON logs with the
//! callback span's fields, no secret in any log line at trace level, graceful shutdown with
//! requests and background work in flight, and the binary's `--version`, banner, SIGTERM
//! exit code and `healthcheck`.
//!
//! The metrics recorder is process-wide and other tests run in parallel, so metric assertions
//! compare before and after and require the value to have moved by at least what this test
//! did.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use switchboard::config::{LogFormat, Settings};
use switchboard::integrations::load_dir;
use switchboard::mattermost::{Client, RetryPolicy};
use switchboard::metrics::{self, ExecJob, ExecOutcome};
use switchboard::startup::Application;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Parsed exposition text: `name{labels}` (labels as rendered) → value.
pub(crate) struct Exposition(HashMap<String, f64>);

impl Exposition {
    fn parse(text: &str) -> Exposition {
        let mut series = HashMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (key, value) = line.rsplit_once(' ').expect("`series value` line");
            let value: f64 = value.parse().expect("numeric sample");
            series.insert(key.to_owned(), value);
        }
        Exposition(series)
    }

    /// The sample of `name` whose labels include every `k="v"` in `labels` (0 when absent).
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(key, _)| {
                let (series, rest) = key.split_once('{').unwrap_or((key.as_str(), ""));
                series == name
                    && labels
                        .iter()
                        .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// The sample of the series written exactly `key` (`name` or `name{labels}`), `None`
    /// when it is not exported at all.
    pub(crate) fn series(&self, key: &str) -> Option<f64> {
        self.0.get(key).copied()
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(|k| k.split_once('{').map_or(k.as_str(), |(n, _)| n))
            .collect()
    }
}

pub(crate) async fn scrape(http: &reqwest::Client, url: &str) -> Exposition {
    let response = http.get(url).send().await.expect("scrape");
    assert_eq!(response.status(), 200, "GET {url}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    Exposition::parse(&response.text().await.unwrap())
}

/// A log sink tests can read back.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// Installs a capturing subscriber for this test's thread (`#[tokio::test]` runs the app,
/// the simulator and the client on that one thread).
pub(crate) fn capture_logs(
    filter: &str,
    format: LogFormat,
) -> (Captured, tracing::subscriber::DefaultGuard) {
    dynamic_interest();
    let sink = Captured::default();
    let guard = tracing::subscriber::set_default(switchboard::telemetry::subscriber(
        filter,
        format,
        sink.clone(),
    ));
    (sink, guard)
}

/// tracing caches, per callsite, whether any subscriber wants it. With exactly one scoped
/// subscriber alive, a callsite first reached on another test's thread (which has none) is
/// cached as "never" and this test would miss its spans. Two permanent subscribers that
/// answer "sometimes" keep every callsite's interest dynamic, so each event asks the current
/// thread's subscriber.
fn dynamic_interest() {
    static KEEP: std::sync::OnceLock<[tracing::Dispatch; 2]> = std::sync::OnceLock::new();
    KEEP.get_or_init(|| {
        [
            tracing::Dispatch::new(Undecided),
            tracing::Dispatch::new(Undecided),
        ]
    });
}

struct Undecided;

impl tracing::Subscriber for Undecided {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// An application started by hand, so a test can see its metrics address and stop it while
/// keeping hold of its task.
struct Running {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    state: switchboard::server::AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(mut settings: Settings) -> Running {
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    settings.server.listen = addr;
    settings.server.public_url = format!("http://{addr}").parse().unwrap();
    let routes = load_dir(&settings.routes.dir).expect("routes load");
    let app = Application::with_listener(settings, routes, listener).expect("app builds");
    let metrics_addr = app.metrics_addr();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        metrics_addr,
        state,
        stop,
        task,
    }
}

pub async fn wait_ready(http: &reqwest::Client, addr: SocketAddr) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("http://{addr}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("switchboard at {addr} did not become ready");
}

fn routes_dir() -> std::path::PathBuf {
    repo_root().join("routes")
}

// ---------------------------------------------------------------------------------------------
// Metrics

#[tokio::test]
async fn metrics_count_callbacks_api_calls_and_registration_after_traffic() {
    let (sim, app) = spawn_ready().await;
    let metrics_url = app.url("/metrics");
    let before = scrape(&app.http, &metrics_url).await;
    let team_id = sim.world().team_id("main").unwrap();

    // Two answered commands, one refused token, one unknown route.
    for _ in 0..2 {
        sim.world()
            .execute_command("alice", "main", "town-square", "/hello metrics")
            .await
            .expect("command runs");
    }
    let refused = app
        .post_form(
            "/commands/hello",
            slash_form("wrongtoken0000000000000000", &team_id, "x"),
        )
        .await;
    assert_eq!(refused.status(), 401);
    let unknown = app
        .post_form(
            "/commands/no-such-route-xyz",
            slash_form("t", &team_id, "x"),
        )
        .await;
    assert_eq!(unknown.status(), 404);

    let after = scrape(&app.http, &metrics_url).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let hello_ok = [("kind", "commands"), ("route", "hello"), ("outcome", "ok")];
    assert!(
        moved("switchboard_callbacks_total", &hello_ok) >= 2.0,
        "ok callbacks did not move: {:?}",
        after.value("switchboard_callbacks_total", &hello_ok)
    );
    let hello_refused = [
        ("kind", "commands"),
        ("route", "hello"),
        ("outcome", "unauthorized"),
    ];
    assert!(moved("switchboard_callbacks_total", &hello_refused) >= 1.0);
    // An unknown route name is not a label value: a prober cannot grow the series set.
    assert!(
        moved(
            "switchboard_callbacks_total",
            &[("route", "unknown"), ("outcome", "rejected")]
        ) >= 1.0
    );
    assert!(!after.0.keys().any(|k| k.contains("no-such-route-xyz")));
    // The latency histogram saw the same callbacks.
    assert!(
        moved(
            "switchboard_callback_duration_seconds_count",
            &[("kind", "commands"), ("route", "hello")]
        ) >= 3.0
    );
    assert!(
        after.value(
            "switchboard_callback_duration_seconds_bucket",
            &[("route", "hello"), ("le", "+Inf")]
        ) >= 3.0
    );
    // Registration listed the team's commands through the client, labelled by template.
    assert!(
        after.value(
            "switchboard_api_requests_total",
            &[("endpoint", "GET /api/v4/commands"), ("status", "200")]
        ) >= 1.0,
        "no command listing counted: {:?}",
        after
            .0
            .keys()
            .filter(|k| k.starts_with("switchboard_api_requests_total"))
            .collect::<Vec<_>>()
    );
    assert!(after.value("switchboard_api_request_duration_seconds_count", &[]) >= 1.0);
    assert!(after.value("switchboard_registration_runs_total", &[("result", "ok")]) >= 1.0);
    assert_eq!(
        after.value(
            "switchboard_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn retries_and_429s_from_mattermost_are_counted_per_endpoint() {
    metrics::install();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users/me"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "u0000000000000000000000000", "username": "switchboard"
        })))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .token("bot-token")
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            min_rate_limit_wait: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .on_response(Arc::new(|endpoint, status, attempt, elapsed| {
            metrics::api_call(endpoint, status, attempt, elapsed);
        }))
        .build()
        .unwrap();
    let before = Exposition::parse(&metrics::render().unwrap());

    let _me: serde_json::Value = client
        .raw(
            switchboard::mattermost::endpoints::Verb::Get,
            "/users/me",
            None::<&()>,
        )
        .await
        .expect("succeeds after two 429s");

    let after = Exposition::parse(&metrics::render().unwrap());
    let raw = [("endpoint", "GET /api/v4{raw}")];
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    // `raw` calls are labelled with the `{raw}` template, never the concrete path.
    assert_eq!(moved("switchboard_api_rate_limited_total", &raw), 2.0);
    assert_eq!(moved("switchboard_api_retries_total", &raw), 2.0);
    assert_eq!(
        moved(
            "switchboard_api_requests_total",
            &[raw[0], ("status", "429")]
        ),
        2.0
    );
    assert_eq!(
        moved(
            "switchboard_api_requests_total",
            &[raw[0], ("status", "200")]
        ),
        1.0
    );
}

#[tokio::test]
async fn exec_job_gauges_follow_a_job_and_never_drift_when_one_is_dropped() {
    metrics::install();
    let route = [("route", "ops-test-gauges")];
    let value = |name: &str| Exposition::parse(&metrics::render().unwrap()).value(name, &route);

    let mut job = ExecJob::queued("ops-test-gauges");
    assert_eq!(value("switchboard_exec_jobs_queued"), 1.0);
    job.started();
    assert_eq!(value("switchboard_exec_jobs_queued"), 0.0);
    assert_eq!(value("switchboard_exec_jobs_running"), 1.0);
    job.finished(ExecOutcome::Succeeded);
    assert_eq!(value("switchboard_exec_jobs_running"), 0.0);

    let mut dropped = ExecJob::queued("ops-test-gauges");
    dropped.started();
    drop(dropped);
    assert_eq!(value("switchboard_exec_jobs_running"), 0.0);

    let text = Exposition::parse(&metrics::render().unwrap());
    assert_eq!(
        text.value(
            "switchboard_exec_jobs_finished_total",
            &[route[0], ("outcome", "succeeded")]
        ),
        1.0
    );
    assert_eq!(
        text.value(
            "switchboard_exec_jobs_finished_total",
            &[route[0], ("outcome", "abandoned")]
        ),
        1.0
    );

    let before = text.value("switchboard_reloads_total", &[("result", "error")]);
    metrics::reload(false);
    let after = Exposition::parse(&metrics::render().unwrap());
    assert!(after.value("switchboard_reloads_total", &[("result", "error")]) >= before + 1.0);
    for name in [
        "switchboard_exec_jobs_queued",
        "switchboard_exec_jobs_running",
        "switchboard_exec_jobs_finished_total",
        "switchboard_reloads_total",
    ] {
        assert!(after.names().contains(&name), "{name} missing");
    }
}

#[tokio::test]
async fn metrics_can_be_served_on_their_own_listener_and_off_the_public_one() {
    let sim = spawn_sim().await;
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &routes_dir(),
    );
    settings.metrics.listen = Some(loopback());
    settings.metrics.path = "/internal/metrics".into();
    let app = start(settings).await;
    let http = reqwest::Client::new();
    wait_ready(&http, app.addr).await;
    let metrics_addr = app.metrics_addr.expect("a metrics listener is bound");
    assert_ne!(metrics_addr, app.addr);

    let public = http
        .get(format!("http://{}/internal/metrics", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        404,
        "metrics must not be on the public listener"
    );
    let private = scrape(&http, &format!("http://{metrics_addr}/internal/metrics")).await;
    assert!(private.value("switchboard_registration_runs_total", &[]) >= 1.0);

    let _ = app.stop.send(());
    app.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn metrics_can_be_switched_off() {
    let sim = spawn_sim().await;
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &routes_dir(),
    );
    settings.metrics.enabled = false;
    let app = spawn_app(settings).await;
    app.wait_ready().await;
    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Logs

#[tokio::test]
async fn json_logs_are_json_lines_carrying_the_callback_span_fields() {
    let (sink, _guard) = capture_logs("info,switchboard=debug", LogFormat::Json);
    let (sim, app) = spawn_ready().await;
    let team_id = sim.world().team_id("main").unwrap();
    let channel_id = sim.world().channel_id("main", "town-square").unwrap();
    let user_id = sim.world().user_id("alice").unwrap();
    // A refused token makes the handler log inside the callback span.
    let hello = sim
        .world()
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == "hello")
        .unwrap();
    let body = slash_form(&hello.token, &team_id, "json please")
        .replace("c0000000000000000000000000", &channel_id)
        .replace("u0000000000000000000000000", &user_id);
    let ok = app.post_form("/commands/hello", body.clone()).await;
    assert_eq!(ok.status(), 200);
    let refused = app
        .post_form(
            "/commands/hello",
            body.replace(&hello.token, "wrongtoken0000000000000000"),
        )
        .await;
    assert_eq!(refused.status(), 401);
    let request_id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    app.stop().await;

    let text = sink.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(lines.len() > 3, "{text}");
    let refusal = lines
        .iter()
        .find(|l| l["fields"]["message"] == "callback refused")
        .unwrap_or_else(|| panic!("no refusal logged: {text}"));
    assert_eq!(refusal["level"], "WARN");
    // One span per callback carries every id an operator filters on.
    let callback = &refusal["span"];
    assert_eq!(callback["name"], "request", "{refusal}");
    assert_eq!(callback["request_id"], request_id.as_str());
    assert_eq!(callback["kind"], "commands");
    assert_eq!(callback["route"], "hello");
    assert_eq!(callback["team_id"], team_id.as_str());
    assert_eq!(callback["channel_id"], channel_id.as_str());
    assert_eq!(callback["user_id"], user_id.as_str());
    // Each callback ends with one access line in its span, with status and latency.
    let answered: Vec<_> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "callback answered")
        .collect();
    assert_eq!(answered.len(), 2, "{text}");
    assert_eq!(answered[0]["fields"]["status"], 200);
    assert_eq!(answered[1]["fields"]["status"], 401);
    assert_eq!(answered[1]["fields"]["outcome"], "unauthorized");
    assert_eq!(answered[1]["span"]["request_id"], request_id.as_str());
    assert!(answered[0]["fields"]["latency_ms"].is_number());
}

#[tokio::test]
async fn api_call_spans_join_the_span_of_the_work_that_made_them() {
    let (sink, _guard) = capture_logs("debug", LogFormat::Json);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users/me"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let client = Client::builder(server.uri())
        .token("bot-token")
        .retry_policy(RetryPolicy {
            min_rate_limit_wait: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();

    let callback = tracing::info_span!("slash_command", route = "deploy", request_id = "r-1");
    let _: serde_json::Value = tracing::Instrument::instrument(
        client.raw(
            switchboard::mattermost::endpoints::Verb::Get,
            "/users/me",
            None::<&()>,
        ),
        callback,
    )
    .await
    .unwrap();

    let text = sink.text();
    let retry = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["fields"]["message"] == "retrying")
        .unwrap_or_else(|| panic!("no retry logged: {text}"));
    let names: Vec<&str> = retry["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slash_command", "mattermost.request"], "{retry}");
    assert_eq!(retry["spans"][0]["request_id"], "r-1");
    assert_eq!(retry["span"]["path"], "{raw}");
}

#[tokio::test]
async fn no_token_appears_in_any_log_output_even_at_trace_level() {
    for format in [LogFormat::Text, LogFormat::Json] {
        let (sink, guard) = capture_logs("trace", format);
        let (sim, app) = spawn_ready().await;
        let bot_token = sim.bot_token();
        let team_id = sim.world().team_id("main").unwrap();
        let command_token = sim
            .world()
            .commands("main")
            .into_iter()
            .find(|c| c.trigger == "hello")
            .unwrap()
            .token;
        sim.world()
            .execute_command("alice", "main", "town-square", "/hello secret-free")
            .await
            .expect("command runs");
        let wrong = app
            .post_form(
                "/commands/hello",
                slash_form("wrongtoken0000000000000000", &team_id, "x"),
            )
            .await;
        assert_eq!(wrong.status(), 401);
        app.stop().await;
        drop(guard);

        let text = sink.text();
        // The capture worked and saw trace-level detail of the exchanges that carried tokens.
        assert!(text.contains("registration complete"), "{format:?}: {text}");
        assert!(text.contains("callback answered"), "{format:?}");
        assert!(
            text.contains("TRACE"),
            "{format:?}: no trace-level line captured"
        );
        for (what, secret) in [
            ("bot token", bot_token.as_str()),
            ("command token", command_token.as_str()),
            ("refused token", "wrongtoken0000000000000000"),
        ] {
            assert!(
                !text.contains(secret),
                "{what} leaked in {format:?} logs: {}",
                text.lines()
                    .find(|l| l.contains(secret))
                    .unwrap_or_default()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shutdown

/// Sends a slash-command request's head with `Expect: 100-continue` and waits for the
/// `100 Continue`, which hyper sends only once the handler reads the body: from then on the
/// request is in flight. Returns the stream and the body still to send.
async fn begin_request(addr: SocketAddr, body: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /commands/hello HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before 100 Continue");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    stream
}

#[tokio::test]
async fn shutdown_finishes_every_request_already_in_flight_and_the_work_they_started() {
    let sim = spawn_sim().await;
    let app = start(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &routes_dir(),
    ))
    .await;
    let http = reqwest::Client::new();
    wait_ready(&http, app.addr).await;
    let team_id = sim.world().team_id("main").unwrap();
    let token = sim
        .world()
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == "hello")
        .unwrap()
        .token;
    let body = slash_form(&token, &team_id, "still here");

    // Five requests in flight (handlers waiting for their bodies), and background work such
    // as a deferred reply.
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(begin_request(app.addr, &body).await);
    }
    let background_done = Arc::new(AtomicBool::new(false));
    app.state.background.spawn({
        let done = background_done.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            done.store(true, Ordering::SeqCst);
        }
    });

    let _ = app.stop.send(());
    // New connections are refused once the stop is seen (bounded wait for it to be seen).
    let mut refused = false;
    for _ in 0..200 {
        if TcpStream::connect(app.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener still accepts after shutdown began");

    // Every in-flight request still gets its full answer.
    for mut stream in streams {
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("You said: still here"), "{response}");
    }
    app.task.await.unwrap().expect("clean exit");
    assert!(
        background_done.load(Ordering::SeqCst),
        "shutdown returned before background work finished"
    );
}

#[tokio::test]
async fn shutdown_gives_up_on_background_work_after_the_grace_period() {
    let sim = spawn_sim().await;
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &routes_dir(),
    );
    settings.server.shutdown_grace_secs = 1;
    let app = start(settings).await;
    app.state.background.spawn(std::future::pending::<()>());
    let _ = app.stop.send(());
    let result = tokio::time::timeout(Duration::from_secs(60), app.task)
        .await
        .expect("shutdown is bounded by the grace period");
    result.unwrap().expect("still a clean exit");
}

// ---------------------------------------------------------------------------------------------
// The binary

pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
}

/// `switchboard serve` started in `workdir` with `env` (and no `RUST_LOG`), its stdout
/// discarded and its stderr a pipe.
pub(crate) fn serve_piped(
    workdir: &std::path::Path,
    env: &[(&str, String)],
) -> std::process::Child {
    binary()
        .arg("serve")
        .current_dir(workdir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn version_flag_prints_the_crate_version() {
    let output = binary().arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("switchboard {}", env!("CARGO_PKG_VERSION"))
    );
}

/// A free loopback port (bound and released; the OS will not hand it out again at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_a_banner_answers_healthcheck_and_exits_0_on_sigterm() {
    let sim = spawn_sim().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let workdir = tempfile::tempdir().unwrap();
    let mut env = serve_env(&sim, &listen, &routes_dir());
    env.push(("SWITCHBOARD_LOG__FORMAT", "json".to_owned()));
    let child = serve_piped(workdir.path(), &env);
    let http = reqwest::Client::new();
    wait_ready(&http, listen.parse().unwrap()).await;

    let probe = binary()
        .arg("healthcheck")
        .current_dir(workdir.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(probe.status.success(), "{probe:?}");

    let (status, stderr) = terminate(child).await;
    assert_eq!(status.code(), Some(0), "{stderr}");

    let banner: serde_json::Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "switchboard starting")
        .unwrap_or_else(|| panic!("no banner: {stderr}"));
    let fields = &banner["fields"];
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(fields["listen"], listen.as_str());
    assert_eq!(fields["public_url"], format!("http://{listen}/"));
    assert_eq!(fields["routes"], load_dir(&routes_dir()).unwrap().len());
    assert_eq!(fields["teams"], "[\"main\", \"ops\"]");
    assert_eq!(fields["metrics"], format!("http://{listen}/metrics"));
    assert!(stderr.contains("shutdown complete"), "{stderr}");
    assert!(!stderr.contains(&sim.bot_token()), "token in the log");

    // Nobody listens any more: the probe fails.
    let probe = binary()
        .arg("healthcheck")
        .current_dir(workdir.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(!probe.status.success());
    assert!(
        String::from_utf8_lossy(&probe.stderr).contains("unhealthy"),
        "{probe:?}"
    );
    let _ = std::io::stderr().flush();
}

/// The environment `switchboard serve` runs with against `sim`, listening on `listen`,
/// registering in teams main and ops, with the routes in `routes`.
pub fn serve_env(
    sim: &switchboard::sim::Simulator,
    listen: &str,
    routes: &std::path::Path,
) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD_SERVER__LISTEN", listen.to_owned()),
        ("SWITCHBOARD_SERVER__PUBLIC_URL", format!("http://{listen}")),
        ("SWITCHBOARD_MATTERMOST__URL", sim.url().to_string()),
        ("SWITCHBOARD_MATTERMOST__TOKEN", sim.bot_token()),
        ("SWITCHBOARD_MATTERMOST__TEAMS", "main,ops".to_owned()),
        ("SWITCHBOARD_ROUTES__DIR", routes.display().to_string()),
        // The shipped deploy and poll routes hand out dialogs and buttons: serve needs keys.
        (
            "SWITCHBOARD_SIGNING__KEYS",
            "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        ),
    ]
}

/// Sends SIGTERM with the shell's built-in kill (no procps needed on the machine) and waits
/// for the child to exit; returns its status and what it wrote to stderr.
pub async fn terminate(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    let kill = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::task::spawn_blocking(move || {
        let mut stderr = String::new();
        if let Some(pipe) = child.stderr.as_mut() {
            std::io::Read::read_to_string(pipe, &mut stderr).unwrap();
        }
        (child.wait().unwrap(), stderr)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_no_register_writes_nothing_and_answers_with_the_registered_token() {
    let sim = spawn_sim().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // Registered beforehand (by an earlier `register`, say): the read-only server only reads.
    let registered = sim
        .world()
        .create_command_as(
            "switchboard",
            "main",
            "hello",
            &format!("http://{listen}/commands/hello"),
        )
        .unwrap();
    let routes = tempfile::tempdir().unwrap();
    std::fs::copy(
        routes_dir().join("hello.toml"),
        routes.path().join("hello.toml"),
    )
    .unwrap();
    sim.world().clear_requests();
    let workdir = tempfile::tempdir().unwrap();
    let child = binary()
        .args(["serve", "--no-register"])
        .current_dir(workdir.path())
        .envs(serve_env(&sim, &listen, routes.path()))
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    wait_ready(&http, listen.parse().unwrap()).await;

    let team_id = sim.world().team_id("main").unwrap();
    let reply = http
        .post(format!("http://{listen}/commands/hello"))
        .form(&[
            ("token", registered.token.as_str()),
            ("team_id", team_id.as_str()),
            ("channel_id", "c0000000000000000000000000"),
            ("user_id", "u0000000000000000000000000"),
            ("user_name", "alice"),
            ("command", "/hello"),
            ("text", "read only"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["text"], "Hello, @alice! You said: read only");

    let (status, stderr) = terminate(child).await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(sim.world().write_requests(), vec![], "nothing written");
    assert!(sim.world().commands("ops").is_empty(), "ops not registered");
}

/// Issue: a SIGHUP that found nothing changed logged only "SIGHUP: reloading routes", so an
/// operator could not tell it had been processed. It says "routes unchanged" now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sighup_with_nothing_changed_says_routes_unchanged() {
    let sim = spawn_sim().await;
    let listen = crate::replay::free_addr();
    let served =
        crate::replay::serve_from_repo(&sim, listen, &format!("http://{listen}"), &[]).await;
    let pid = served.pid().to_string();
    let sent = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(sent.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !served.logged().contains("routes unchanged") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no result line after SIGHUP: {}",
            served.logged()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!served.logged().contains("routes reloaded"));
}
