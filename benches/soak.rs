//! Soak: the real binary (`switchboard serve`, shipped routes) against the simulated
//! Mattermost for a long stretch at half its measured capacity, through a mix of slash
//! commands, button clicks, dialog submissions (which run the deploy script) and commands
//! answered late through `response_url`, with faults switched on and off every 10 s.
//!
//! ```text
//! bench/soak            # 600 s
//! bench/soak 60         # shortened
//! SOAK_SECS=600 cargo bench --bench soak
//! ```
//!
//! How it drives the load:
//! - **Capacity first, in the same conditions**: the same mix from 64 concurrent clients,
//!   each sending its next request as soon as the last is answered, for 10 s without faults.
//!   The late answers of the mix are answered at once there (their wait is idle time on the
//!   server, not capacity).
//! - **Then half of it, paced (open loop)**: operations are started on a fixed schedule,
//!   each on its own task, whatever the earlier ones are doing, so slow answers do not slow
//!   the rate down (at most 4096 in flight; one that would exceed it is counted "not sent").
//!   The simulator calls Switchboard through its pooled keep-alive client, as Mattermost does.
//! - **The mix**, per 20 operations: 12 `/hello` (template), 3 `/ask` answered at once and 1
//!   answered after 3 s (over the 2.5 s budget: acknowledged, delivered later through
//!   `response_url`) by a local answer service that `routes/forward.toml` is pointed at,
//!   2 `/poll` followed by a click on its first button, 2 `/deploy` followed by the dialog's
//!   submission (which runs the deploy script; beyond its queue the answer is "busy").
//! - **Faults**, every [`PHASE`] (10 s) in turn: none, API posts 150 ms late, 20 posts answered 503, 10 API
//!   calls answered 429, 5 `response_url` resets (the late answer then goes through the API).
//!
//! Every request is accounted for: **answered** (in time), **deferred and delivered**
//! (acknowledged, and its late answer reached the user: seen by the simulator), **reported**
//! (the simulator reported a failure to the user), or **lost** (none of these). RSS and open
//! descriptors of the process are sampled every 10 s; drift is measured from the first minute.
//!
//! **Retention**: every accepted dialog state is remembered until it expires (a replay is
//! refused), so the process grows with each submission for `dialog_ttl_secs` (an hour by
//! default) and only then levels off. So that a 10-minute run reaches that level and its
//! drift shows a leak rather than retention, the soak sets `dialog_ttl_secs` to
//! `SOAK_DIALOG_TTL_SECS` (120 by default; `3600` measures the default's growth instead).
//!
//! **Allocator**: the binary runs with `MIMALLOC_PURGE_DELAY=0`, as the shipped Dockerfile and
//! systemd unit run it (memory freed when a peak of connections closes goes back to the
//! system at once); set the variable to measure another value.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use switchboard::sim::{Fault, FaultKind, SimEvent, SimSettings, Simulator, World};
use tokio::sync::Semaphore;

const BOT_TOKEN: &str = "soaksoaksoaksoaksoaksoak12";
const KEYS: &str = "soak:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
/// Operations per cycle of the mix, and the requests they make (polls and deploys make two).
const MIX: u64 = 20;
const REQUESTS_PER_CYCLE: f64 = 24.0;
/// How long the answer service takes for a late `/ask` (the callback budget is 2.5 s).
const LATE_AFTER: Duration = Duration::from_secs(3);
/// Most operations in flight at once.
const MAX_IN_FLIGHT: usize = 4096;
/// How long each fault phase lasts: the five phases take 50 s, so the first minute, from
/// which drift is measured, has been through every one of them (its connection and buffer
/// high-water marks included) rather than only the first three.
const PHASE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
    deferred: AtomicU64,
    reported: AtomicU64,
    not_sent: AtomicU64,
    /// Requests sent when the schedule ended, and how long it ran (ms): the achieved rate.
    sent_by_schedule_end: AtomicU64,
    schedule_ms: AtomicU64,
    /// Tokens of late answers still expected (`late-<n>`).
    awaiting: Mutex<HashSet<String>>,
}

/// Late answers the simulator showed or stored, by token, fed from its event stream.
#[derive(Default)]
struct Seen {
    tokens: Mutex<HashSet<String>>,
    lagged: AtomicU64,
}

fn copy_routes(to: &Path, answer_url: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("routes");
    for sub in ["scripts", "samples"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
    }
    for sub in ["", "scripts", "samples"] {
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                std::fs::copy(entry.path(), to.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    // `/ask` forwards to the soak's own answer service.
    let forward = to.join("forward.toml");
    let text = std::fs::read_to_string(&forward).unwrap();
    assert!(text.contains("http://127.0.0.1:9090/answer"));
    std::fs::write(
        &forward,
        text.replace("http://127.0.0.1:9090/answer", answer_url),
    )
    .unwrap();
}

/// Seconds an accepted dialog state is remembered (see "Retention" above).
fn dialog_ttl_secs() -> u64 {
    std::env::var("SOAK_DIALOG_TTL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120)
}

/// The allocator setting the shipped Dockerfile and systemd unit run the binary with (see
/// `src/main.rs`), unless the environment sets another (`MIMALLOC_PURGE_DELAY=1000 bench/soak`
/// measures mimalloc's default).
fn purge_delay() -> String {
    std::env::var("MIMALLOC_PURGE_DELAY").unwrap_or_else(|_| "0".to_owned())
}

fn spawn(dir: &Path, sim_url: &str, listen: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .env("MIMALLOC_PURGE_DELAY", purge_delay())
        .current_dir(dir)
        .env("SWITCHBOARD_SERVER__LISTEN", listen)
        .env("SWITCHBOARD_SERVER__PUBLIC_URL", format!("http://{listen}"))
        .env("SWITCHBOARD_MATTERMOST__URL", sim_url)
        .env("SWITCHBOARD_MATTERMOST__TOKEN", BOT_TOKEN)
        .env("SWITCHBOARD_MATTERMOST__TEAMS", "main")
        .env("SWITCHBOARD_SIGNING__KEYS", KEYS)
        .env(
            "SWITCHBOARD_SIGNING__DIALOG_TTL_SECS",
            dialog_ttl_secs().to_string(),
        )
        .env("SWITCHBOARD_LOG__FILTER", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("switchboard runs")
}

/// (RSS in KiB, open descriptors) of `pid`.
fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}

/// The answer service `/ask` forwards to: `{"answer": "late-<n>"}` after [`LATE_AFTER`] for
/// a question ending in `late-<n>`, at once for any other. Returns its URL.
async fn answer_service(late_now: Arc<AtomicBool>) -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/answer",
        post(move |body: axum::Json<Value>| {
            let late_now = Arc::clone(&late_now);
            async move {
                let question = body["question"].as_str().unwrap_or("").to_owned();
                let token = question.rsplit(' ').next().unwrap_or("").to_owned();
                if token.starts_with("late-") && !late_now.load(Ordering::Relaxed) {
                    tokio::time::sleep(LATE_AFTER).await;
                }
                axum::Json(json!({ "answer": token }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/answer", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Records every late-answer token the simulator shows a user or stores. On its own thread, so
/// thousands of request tasks cannot starve it while the simulator's event buffer fills.
fn watch_deliveries(world: &World, seen: Arc<Seen>) {
    let mut events = world.subscribe();
    std::thread::spawn(move || {
        loop {
            match events.blocking_recv() {
                Ok(SimEvent::EphemeralPost(post) | SimEvent::PostCreated(post)) => {
                    if let Some(at) = post.message.find("late-") {
                        let token: String = post.message[at..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                            .collect();
                        seen.tokens.lock().unwrap().insert(token);
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    seen.lagged.fetch_add(n, Ordering::Relaxed);
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn answered_in_time(tally: &Tally) {
    tally.answered.fetch_add(1, Ordering::Relaxed);
}

/// One operation of the mix; `n` picks which.
async fn operation(world: &World, n: u64, tally: &Tally) {
    let user = if n % 2 == 0 { "alice" } else { "bob" };
    tally.sent.fetch_add(1, Ordering::Relaxed);
    let outcome = match n % MIX {
        // A button click on a fresh poll (two requests: the command, then the click).
        0 | 10 => {
            match world
                .execute_command(user, "main", "town-square", "/poll Lunch?")
                .await
            {
                Ok(out) => {
                    answered_in_time(tally);
                    let poll = out.posts.iter().find_map(|post| {
                        let first = world.action_ids(&post.id).into_iter().next()?;
                        Some((post.id.clone(), first.0))
                    });
                    // No poll posted (a fault): the user was told; nothing to click.
                    let Some((post, action)) = poll else { return };
                    tally.sent.fetch_add(1, Ordering::Relaxed);
                    world
                        .click_action(user, &post, &action, None)
                        .await
                        .map(|_| false)
                }
                Err(e) => Err(e),
            }
        }
        // A dialog: open it, submit it (runs the deploy script, output in a thread).
        1 | 11 => match world
            .execute_command(user, "main", "town-square", "/deploy staging")
            .await
        {
            Ok(_) => {
                answered_in_time(tally);
                let me = world.user_id(user).unwrap();
                // Not opened (a fault): the user was told; nothing to submit.
                let Some(opened) = world.last_dialog_opened_for(&me) else {
                    return;
                };
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let mut submission = Map::new();
                submission.insert("version".into(), json!("v1.2.3"));
                submission.insert("env".into(), json!("staging"));
                world
                    .submit_dialog(user, "main", "town-square", &opened, submission, false)
                    .await
                    .map(|_| false)
            }
            Err(e) => Err(e),
        },
        // `/ask` answered over the budget: acknowledged now, delivered via `response_url`.
        2 => {
            let token = format!("late-{n}");
            let out = world
                .execute_command(user, "main", "town-square", &format!("/ask soak {token}"))
                .await;
            match out {
                Ok(out) if out.posts.iter().any(|p| p.message == "Working on it…") => {
                    tally.awaiting.lock().unwrap().insert(token);
                    Ok(true)
                }
                Ok(_) => Ok(false),
                Err(e) => Err(e),
            }
        }
        // `/ask` answered at once.
        3..=5 => world
            .execute_command(user, "main", "town-square", &format!("/ask soak now-{n}"))
            .await
            .map(|_| false),
        // A slash command answered by a template.
        _ => world
            .execute_command(user, "main", "town-square", &format!("/hello soak {n}"))
            .await
            .map(|_| false),
    };
    match outcome {
        Ok(true) => tally.deferred.fetch_add(1, Ordering::Relaxed),
        Ok(false) => tally.answered.fetch_add(1, Ordering::Relaxed),
        Err(_) => tally.reported.fetch_add(1, Ordering::Relaxed),
    };
}

/// Faults for phase `phase` (each [`PHASE`] long): none, slow posts, API 503s, 429s, resets of
/// `response_url`s.
fn set_faults(world: &World, phase: u64) -> &'static str {
    world.clear_faults();
    match phase % 5 {
        0 => "none",
        1 => {
            world.inject(Fault::on(
                "/api/v4/posts",
                FaultKind::Latency(Duration::from_millis(150)),
            ));
            "posts 150 ms late"
        }
        2 => {
            world.inject(Fault::on("/api/v4/posts", FaultKind::Status(503)).times(20));
            "20 API posts answered 503"
        }
        3 => {
            world.inject(
                Fault::on(
                    "/api/v4/",
                    FaultKind::RateLimited {
                        retry_after_secs: 1,
                    },
                )
                .times(10),
            );
            "10 API calls answered 429"
        }
        _ => {
            world.inject(Fault::on("/hooks/commands/", FaultKind::Reset).times(5));
            "5 response_url resets"
        }
    }
}

/// Closed loop: `clients` clients, each sending its next operation when the last is done.
async fn saturate(world: &World, tally: &Arc<Tally>, clients: usize, length: Duration) {
    let until = Instant::now() + length;
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (world, tally, counter) = (world.clone(), Arc::clone(tally), Arc::clone(&counter));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                operation(&world, n, &tally).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Open loop: operations started on schedule at `requests_per_sec` (in requests, see
/// [`REQUESTS_PER_CYCLE`]), each on its own task, for `length`. Returns when all are done.
async fn paced(world: &World, tally: &Arc<Tally>, requests_per_sec: f64, length: Duration) {
    // A cycle of MIX operations makes REQUESTS_PER_CYCLE requests.
    let per_op = Duration::from_secs_f64(REQUESTS_PER_CYCLE / MIX as f64 / requests_per_sec);
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let tasks = tokio_util::task::TaskTracker::new();
    let start = tokio::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed() < length {
        tokio::time::sleep_until(start + per_op * u32::try_from(n).unwrap()).await;
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            tally.not_sent.fetch_add(1, Ordering::Relaxed);
            n += 1;
            continue;
        };
        let (world, tally) = (world.clone(), Arc::clone(tally));
        tasks.spawn(async move {
            operation(&world, n, &tally).await;
            drop(permit);
        });
        n += 1;
    }
    tally.schedule_ms.store(
        u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    tally
        .sent_by_schedule_end
        .store(tally.sent.load(Ordering::Relaxed), Ordering::Relaxed);
    tasks.close();
    tasks.wait().await;
}

fn per_cent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[tokio::main]
async fn main() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let sim = Simulator::start_with(
        "127.0.0.1:0".parse().unwrap(),
        SimSettings {
            bot_token: Some(BOT_TOKEN.to_owned()),
            ..SimSettings::default()
        },
    )
    .await
    .unwrap();
    let world = sim.world();
    let seen = Arc::new(Seen::default());
    watch_deliveries(&world, Arc::clone(&seen));
    let late_now = Arc::new(AtomicBool::new(true));
    let answer_url = answer_service(Arc::clone(&late_now)).await;
    let dir = tempfile::tempdir().unwrap();
    copy_routes(&dir.path().join("routes"), &answer_url);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = spawn(dir.path(), sim.url().as_str(), &listen);
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("http://{listen}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = child.id();

    // Capacity: the same mix, 64 clients back to back, no faults, late answers at once.
    let probe = Arc::new(Tally::default());
    let t = Instant::now();
    saturate(&world, &probe, 64, Duration::from_secs(10)).await;
    let probe_secs = t.elapsed().as_secs_f64();
    let capacity = probe.sent.load(Ordering::Relaxed) as f64 / probe_secs;
    let rate = capacity / 2.0;
    println!(
        "capacity {capacity:.0} req/s (64 clients back to back, 10 s, no faults; {} requests, {} reported)",
        probe.sent.load(Ordering::Relaxed),
        probe.reported.load(Ordering::Relaxed)
    );
    println!(
        "soaking {secs} s at {rate:.0} req/s (half), faults switched every {} s",
        PHASE.as_secs()
    );
    world.clear_requests();
    late_now.store(false, Ordering::Relaxed);

    let tally = Arc::new(Tally::default());
    let soak = {
        let (world, tally) = (world.clone(), Arc::clone(&tally));
        tokio::spawn(async move { paced(&world, &tally, rate, Duration::from_secs(secs)).await })
    };
    let mut samples = Vec::new();
    let soak_start = Instant::now();
    let mut phase = 0;
    let mut sent_at_minute = None;
    while !soak.is_finished() {
        let elapsed = soak_start.elapsed().as_secs();
        if elapsed < secs && elapsed / PHASE.as_secs() >= phase {
            let what = set_faults(&world, phase);
            println!(
                "{elapsed:>4} s  faults: {what:<26} sent so far {}",
                tally.sent.load(Ordering::Relaxed)
            );
            // The simulator's request log grows with every call; the soak reads none of it.
            world.clear_requests();
            phase += 1;
        }
        if samples.len() as u64 <= elapsed / 10 {
            let (rss, fds) = sample(pid);
            samples.push((elapsed, rss, fds));
        }
        if sent_at_minute.is_none() && elapsed >= 60 {
            sent_at_minute = Some((soak_start.elapsed(), tally.sent.load(Ordering::Relaxed)));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let paced_for = soak_start.elapsed();
    soak.await.unwrap();
    world.clear_faults();
    // Late answers still on their way.
    tokio::time::sleep(LATE_AFTER + Duration::from_secs(7)).await;
    let (rss, fds) = sample(pid);
    samples.push((soak_start.elapsed().as_secs(), rss, fds));

    let sent = tally.sent.load(Ordering::Relaxed);
    let answered = tally.answered.load(Ordering::Relaxed);
    let deferred = tally.deferred.load(Ordering::Relaxed);
    let reported = tally.reported.load(Ordering::Relaxed);
    let not_sent = tally.not_sent.load(Ordering::Relaxed);
    let awaiting = tally.awaiting.lock().unwrap().clone();
    let delivered = {
        let seen = seen.tokens.lock().unwrap();
        awaiting.iter().filter(|t| seen.contains(*t)).count() as u64
    };
    let undelivered = deferred.saturating_sub(delivered);
    // Signed: a miscount shows as a negative number instead of a panic.
    let lost = sent as i64 - (answered + deferred + reported) as i64 + undelivered as i64;
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| capacity (same mix, 64 clients back to back) | {capacity:.0} req/s |");
    println!("| target rate (half) | {rate:.0} req/s |");
    println!(
        "| allocator purge delay (`MIMALLOC_PURGE_DELAY`) | {} ms |",
        purge_delay()
    );
    println!(
        "| dialog states remembered for (`dialog_ttl_secs`) | {} s |",
        dialog_ttl_secs()
    );
    let schedule_secs = tally.schedule_ms.load(Ordering::Relaxed) as f64 / 1000.0;
    let scheduled_sent = tally.sent_by_schedule_end.load(Ordering::Relaxed);
    println!(
        "| achieved rate (requests sent during the {schedule_secs:.0} s schedule) | {:.0} req/s |",
        scheduled_sent as f64 / schedule_secs.max(0.001)
    );
    if let Some((at, n)) = sent_at_minute {
        let rest = schedule_secs - at.as_secs_f64();
        if rest > 1.0 {
            println!(
                "| achieved rate after the first minute | {:.0} req/s |",
                scheduled_sent.saturating_sub(n) as f64 / rest
            );
        }
    }
    println!(
        "| all requests answered after the schedule ended, in | {:.0} s |",
        (paced_for.as_secs_f64() - schedule_secs).max(0.0)
    );
    println!("| requests sent | {sent} |");
    println!(
        "| answered in time | {answered} ({:.1} %) |",
        per_cent(answered, sent)
    );
    println!(
        "| deferred and delivered (via response_url or the API) | {delivered} of {deferred} deferred |"
    );
    println!(
        "| reported to the user (failure shown) | {reported} ({:.1} %) |",
        per_cent(reported, sent)
    );
    println!("| **lost** | **{lost}** (of which deferred, never seen delivered: {undelivered}) |");
    println!("| not sent (client at {MAX_IN_FLIGHT} in flight) | {not_sent} |");
    println!(
        "| simulator events missed by the delivery watcher (a delivery among them counts as lost) | {} |",
        seen.lagged.load(Ordering::Relaxed)
    );
    let baseline = samples
        .iter()
        .find(|(t, _, _)| *t >= 60)
        .or(samples.first())
        .copied()
        .unwrap();
    let last = samples.last().copied().unwrap();
    let drift = |a: f64, b: f64| if a > 0.0 { (b - a) / a * 100.0 } else { 0.0 };
    println!(
        "| RSS at {} s → end ({} s) | {} → {} KiB ({:+.1} %) |",
        baseline.0,
        last.0,
        baseline.1,
        last.1,
        drift(baseline.1 as f64, last.1 as f64)
    );
    println!(
        "| open descriptors at {} s → end | {} → {} ({:+.1} %) |",
        baseline.0,
        baseline.2,
        last.2,
        drift(baseline.2 as f64, last.2 as f64)
    );
    println!();
    println!("{:>6} {:>10} {:>6}", "t (s)", "RSS (KiB)", "fds");
    for (t, rss, fds) in &samples {
        println!("{t:>6} {rss:>10} {fds:>6}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
