//! Requests per second of a slash command answered by a templated reply (the real Switchboard
//! app: middleware, token check, argument parsing, access check, minijinja render) against a
//! minimal axum handler that returns the same JSON bytes, measured side by side in one run
//! with the same load generator.
//!
//! ```text
//! cargo bench --bench reply_throughput                 # 20 rounds × 500 ms per side, 32 connections
//! cargo bench --bench reply_throughput -- 1000 64 30   # ms per side, connections, rounds
//! REPLY_BENCH_ONLY=switchboard cargo bench --bench reply_throughput   # one side, for a profiler
//! ```
//!
//! Four sides: Switchboard with the declared route; bare axum (the baseline); the same server
//! with the route answered by a trivial handler registered in code (the server's own share);
//! and bare axum reading the body (what the baseline skips). The shared machines this runs on
//! change speed by half within seconds, so sides run in short slices, alternating, the order
//! reversed every round, and the result is the median over rounds of each round's ratio:
//! neighbours in time compared, an outlier round ignored. The load generator runs in the same
//! process on the same cores, so the ratio — not the absolute numbers — is the result. The
//! target is a ratio of at least 0.90.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use figment::providers::{Format, Toml};
use secrecy::SecretString;
use std::path::Path;

use switchboard::config::Settings;
use switchboard::integrations::{BoxFuture, Cx, Handler, HandlerError, load_dir};
use switchboard::mattermost::models::CommandResponse;
use switchboard::protocol::SlashCommandRequest;
use switchboard::server::AppState;
use switchboard::sim::Simulator;
use switchboard::startup::Application;

/// The allocator the `switchboard` binary ships with (`src/main.rs`), so both sides run on
/// what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUTE: &str = r#"
[command]
trigger = "hello"
[[args]]
name = "text"
rest = true
[reply]
text = "Hello, @{{ user.name }}! {% if args.text %}You said: {{ args.text }}{% else %}Say something.{% endif %}"
"#;

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn form(token: &str, team_id: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("channel_id", "c0000000000000000000000000")
        .append_pair("channel_name", "town-square")
        .append_pair("command", "/hello")
        .append_pair("response_url", "http://127.0.0.1:1/hooks/commands/x")
        .append_pair("team_domain", "main")
        .append_pair("team_id", team_id)
        .append_pair("text", "hi there")
        .append_pair("token", token)
        .append_pair("trigger_id", "dHJpZ2dlcg==")
        .append_pair("user_id", "u0000000000000000000000000")
        .append_pair("user_name", "alice")
        .finish()
}

/// One thing under load: where to send, what, and a client whose connections stay open
/// between slices (so a slice measures requests, not connection setup).
struct Side {
    name: &'static str,
    url: String,
    body: String,
    client: reqwest::Client,
}

impl Side {
    fn new(name: &'static str, url: String, body: String, connections: usize) -> Self {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .build()
            .unwrap();
        Side {
            name,
            url,
            body,
            client,
        }
    }

    /// Sends the body from `connections` concurrent loops for `duration`; returns req/s.
    async fn load(&self, connections: usize, duration: Duration) -> f64 {
        let done = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let (client, done, count) = (self.client.clone(), done.clone(), count.clone());
            let (url, body) = (self.url.clone(), self.body.clone());
            tasks.push(tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success());
                    let _ = response.bytes().await.unwrap();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let started = Instant::now();
        tokio::time::sleep(duration).await;
        done.store(true, Ordering::Relaxed);
        let elapsed = started.elapsed();
        for task in tasks {
            task.await.unwrap();
        }
        count.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// A trivial handler: answers the same text without templates or argument parsing.
#[derive(Debug)]
struct Trivial;

impl Handler for Trivial {
    fn slash_command<'a>(
        &'a self,
        _cx: &'a Cx,
        _request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        Box::pin(async {
            Ok(CommandResponse::ephemeral(
                "Hello, @alice! You said: hi there",
            ))
        })
    }
}

/// Starts an app on the routes in `dir` (its one route replaced by [`Trivial`] when
/// `trivial`), waits until registered, and returns its address, state and the route's token.
async fn start_app(sim: &Simulator, dir: &Path, trivial: bool) -> (SocketAddr, AppState, String) {
    let toml = format!(
        "[mattermost]\nurl = {:?}\nteams = [\"main\"]\n[routes]\ndir = {:?}\nreload_poll_ms = 0\n",
        sim.url().as_str(),
        dir.display().to_string()
    );
    let figment = figment::Figment::from(Toml::string(switchboard::config::DEFAULTS))
        .merge(Toml::string(&toml));
    let mut settings = Settings::from_figment(&figment).unwrap();
    settings.mattermost.token = Some(SecretString::from(sim.bot_token()));
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    settings.server.listen = addr;
    settings.server.public_url = format!("http://{addr}").parse().unwrap();
    let routes = load_dir(dir).unwrap();
    let mut app = Application::with_listener(settings, routes, listener).unwrap();
    let name = if trivial { "hello2" } else { "hello" };
    if trivial {
        app = app.with_handler(name, Arc::new(Trivial));
    }
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    while !state.ready.is_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let token = sim
        .world()
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == name)
        .unwrap()
        .token;
    (addr, state, token)
}

fn main() {
    // `REPLY_BENCH_WORKERS=1` runs everything on one thread (no cache lines shared between
    // cores); the default is tokio's, one worker per core.
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = std::env::var("REPLY_BENCH_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        runtime.worker_threads(workers);
    }
    runtime.enable_all().build().unwrap().block_on(run());
}

async fn run() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let slice_ms: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(500);
    let connections: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);

    // The real app, registered against the simulator so the token check is the real one;
    // and the same app with `/hello` answered by a trivial handler registered in code, to
    // separate the server's per-request machinery from the declared route's own work.
    let sim = Simulator::start(loopback()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.toml"), ROUTE).unwrap();
    let (app_addr, state, token) = start_app(&sim, dir.path(), false).await;
    let team_id = sim.world().team_id("main").unwrap();
    let body = form(&token, &team_id);
    let app_url = format!("http://{app_addr}/commands/hello");
    // Mattermost refuses a second `/hello` in the team, so the trivial app serves `/hello2`.
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(
        dir2.path().join("hello2.toml"),
        ROUTE.replace("\"hello\"", "\"hello2\""),
    )
    .unwrap();
    let (trivial_addr, _, trivial_token) = start_app(&sim, dir2.path(), true).await;
    let trivial_body = form(&trivial_token, &team_id);
    let trivial_url = format!("http://{trivial_addr}/commands/hello2");

    // The baseline: a bare axum handler returning the very bytes the app answers with. It
    // does not read the request body; a second route that does shows what reading it costs.
    let reply = reqwest::Client::new()
        .post(&app_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    println!("reply headers: {:?}", reply.headers());
    let reply = reply.bytes().await.unwrap();
    println!("reply: {}", String::from_utf8_lossy(&reply));
    let (baseline_reply, body_reply) = (reply.clone(), reply.clone());
    let baseline = Router::new()
        .route(
            "/commands/hello",
            post(move || {
                let reply = baseline_reply.clone();
                async move { ([("content-type", "application/json")], reply) }
            }),
        )
        .route(
            "/commands/hello-body",
            post(move |body: Bytes| {
                let reply = body_reply.clone();
                async move {
                    std::hint::black_box(body);
                    ([("content-type", "application/json")], reply)
                }
            }),
        )
        .route(
            "/commands/hello-form",
            post(|body: Bytes| async move {
                let request = SlashCommandRequest::from_form(&body).unwrap();
                axum::Json(CommandResponse::ephemeral(format!(
                    "Hello, @{}! You said: {}",
                    request.user_name, request.text
                )))
            }),
        );
    let baseline_router = baseline.clone();
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let base_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, baseline).await.unwrap() });
    let base_url = format!("http://{base_addr}/commands/hello");

    let sides = [
        Side::new("switchboard", app_url, body.clone(), connections),
        Side::new("bare axum", base_url.clone(), body.clone(), connections),
        Side::new("trivial", trivial_url, trivial_body, connections),
        Side::new(
            "axum+body",
            format!("{base_url}-body"),
            body.clone(),
            connections,
        ),
        Side::new(
            "axum+form",
            format!("{base_url}-form"),
            body.clone(),
            connections,
        ),
    ];
    for side in &sides {
        side.load(connections, Duration::from_millis(500)).await;
    }

    let slice = Duration::from_millis(slice_ms);
    // For profiling one side alone: `REPLY_BENCH_ONLY=switchboard|axum|trivial|axum+body`;
    // `inproc` times the app's router called in-process (no sockets), for callgrind.
    if let Ok(only) = std::env::var("REPLY_BENCH_ONLY") {
        if only.starts_with("inproc") {
            // `inproc` (the app) or `inproc-axum` (the baseline), from `REPLY_BENCH_TASKS`
            // concurrent tasks: the router called without sockets, for callgrind, and to
            // see what running on both cores at once costs (shared cache lines).
            let env = |name: &str, default: u32| -> u32 {
                std::env::var(name)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(default)
            };
            let (calls, tasks) = (
                env("REPLY_BENCH_CALLS", 100_000),
                env("REPLY_BENCH_TASKS", 1),
            );
            // Boxed alike, so both pay the same for the box.
            let router = if only == "inproc-axum" {
                tower::util::BoxCloneSyncService::new(baseline_router.clone())
            } else {
                tower::util::BoxCloneSyncService::new(switchboard::server::router(state.clone()))
            };
            let started = Instant::now();
            let mut running = Vec::new();
            for _ in 0..tasks {
                let (router, body) = (router.clone(), body.clone());
                running.push(tokio::spawn(async move {
                    for _ in 0..calls / tasks {
                        let request = axum::http::Request::post("/commands/hello")
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(axum::body::Body::from(body.clone()))
                            .unwrap();
                        let response = tower::ServiceExt::oneshot(router.clone(), request)
                            .await
                            .unwrap();
                        assert!(response.status().is_success());
                        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await;
                        std::hint::black_box(bytes.unwrap());
                    }
                }));
            }
            for task in running {
                task.await.unwrap();
            }
            let elapsed = started.elapsed();
            println!(
                "{only}, {tasks} task(s): {:.2} µs per request, {:.0} req/s",
                (elapsed / calls).as_secs_f64() * 1e6,
                f64::from(calls) / elapsed.as_secs_f64()
            );
            return;
        }
        let side = sides
            .iter()
            .find(|s| s.name == only || (only == "axum" && s.name == "bare axum"))
            .unwrap_or_else(|| panic!("REPLY_BENCH_ONLY: unknown side {only:?}"));
        let rps = side.load(connections, slice * rounds as u32).await;
        println!("{} alone: {rps:.0} req/s", side.name);
        return;
    }

    // Short slices, alternating, the order reversed every round: drift on a shared machine
    // (whose speed can change by half within seconds) hits every side alike, and each
    // round's ratio compares neighbours in time.
    println!("{rounds} rounds × {slice_ms} ms per side, {connections} connections");
    let mut rps: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
    for round in 0..rounds {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..sides.len()).collect()
        } else {
            (0..sides.len()).rev().collect()
        };
        for i in order {
            rps[i].push(sides[i].load(connections, slice).await);
        }
    }
    let ratios = |i: usize| -> Vec<f64> { (0..rounds).map(|r| rps[i][r] / rps[1][r]).collect() };
    for (i, side) in sides.iter().enumerate() {
        let r = ratios(i);
        println!(
            "{:<12} median {:>7.0} req/s   ratio to bare axum: median {:.3}, min {:.3}, max {:.3}",
            side.name,
            median(rps[i].clone()),
            median(r.clone()),
            r.iter().copied().fold(f64::INFINITY, f64::min),
            r.iter().copied().fold(0.0, f64::max),
        );
    }

    // The declared route's own share: the handler called directly, no HTTP, no middleware.
    let request = switchboard::protocol::SlashCommandRequest::from_form(body.as_bytes()).unwrap();
    let cx = state.cx("hello", "bench");
    let calls = 200_000u32;
    let started = Instant::now();
    for _ in 0..calls {
        let handler = state.handlers.get("hello").unwrap();
        let response = handler.slash_command(&cx, &request).await.unwrap();
        std::hint::black_box(response);
    }
    let per_call = started.elapsed() / calls;
    println!(
        "handler alone (lookup, argument parsing, access check, template render): {:.2} µs per call",
        per_call.as_secs_f64() * 1e6
    );
    let ratio = median(ratios(0));
    println!(
        "switchboard / bare axum: median of {rounds} paired rounds {ratio:.3} (target ≥ 0.90: {})",
        if ratio >= 0.9 { "met" } else { "NOT met" }
    );
}
