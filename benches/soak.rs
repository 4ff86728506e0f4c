//! Soak: the real binary (`switchboard serve`, shipped routes) against the simulated
//! Mattermost for a long stretch at half its measured capacity, through a mix of slash
//! commands, button clicks and dialog submissions (which run the deploy script), with faults
//! switched on and off every 20 s. Prints, at the end:
//! - every request accounted for: answered, deferred-and-delivered, or reported to the user
//!   (the simulator's error for the command), and none lost;
//! - the process's RSS and open descriptors, sampled every 10 s, with their drift from the
//!   end of the first minute (target: ≤ 10 %).
//!
//! ```text
//! bench/soak            # 600 s
//! bench/soak 120        # shortened
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, json};
use switchboard::sim::{Fault, FaultKind, SimSettings, Simulator, World};

const BOT_TOKEN: &str = "soaksoaksoaksoaksoaksoak12";
const KEYS: &str = "soak:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
    deferred: AtomicU64,
    reported: AtomicU64,
}

fn copy_routes(to: &Path) {
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
}

fn spawn(dir: &Path, sim_url: &str, listen: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .current_dir(dir)
        .env("SWITCHBOARD_SERVER__LISTEN", listen)
        .env("SWITCHBOARD_SERVER__PUBLIC_URL", format!("http://{listen}"))
        .env("SWITCHBOARD_MATTERMOST__URL", sim_url)
        .env("SWITCHBOARD_MATTERMOST__TOKEN", BOT_TOKEN)
        .env("SWITCHBOARD_MATTERMOST__TEAMS", "main")
        .env("SWITCHBOARD_SIGNING__KEYS", KEYS)
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

/// One operation of the mix; `n` picks which.
async fn operation(world: &World, n: u64, tally: &Tally) {
    let user = if n % 2 == 0 { "alice" } else { "bob" };
    tally.sent.fetch_add(1, Ordering::Relaxed);
    let outcome = match n % 10 {
        // A button click on a fresh poll (two requests: the command, then the click).
        0 => {
            match world
                .execute_command(user, "main", "town-square", "/poll Lunch?")
                .await
            {
                Ok(out) => {
                    tally.answered.fetch_add(1, Ordering::Relaxed);
                    tally.sent.fetch_add(1, Ordering::Relaxed);
                    let post = out.posts[0].id.clone();
                    let actions = world.action_ids(&post);
                    world
                        .click_action(user, &post, &actions[0].0, None)
                        .await
                        .map(|_| false)
                }
                Err(e) => Err(e),
            }
        }
        // A dialog: open it, submit it (runs the deploy script, output in a thread).
        1 => match world
            .execute_command(user, "main", "town-square", "/deploy staging")
            .await
        {
            Ok(_) => {
                tally.answered.fetch_add(1, Ordering::Relaxed);
                tally.sent.fetch_add(1, Ordering::Relaxed);
                let me = world.user_id(user).unwrap();
                let opened = world
                    .opened_dialogs()
                    .into_iter()
                    .rev()
                    .find(|d| d.user_id == me)
                    .expect("a dialog opened");
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
        // A slash command answered by a template.
        _ => world
            .execute_command(user, "main", "town-square", &format!("/hello soak {n}"))
            .await
            .map(|out| out.posts.iter().any(|p| p.message == "Working on it…")),
    };
    match outcome {
        Ok(true) => tally.deferred.fetch_add(1, Ordering::Relaxed),
        Ok(false) => tally.answered.fetch_add(1, Ordering::Relaxed),
        Err(_) => tally.reported.fetch_add(1, Ordering::Relaxed),
    };
}

/// Faults for phase `phase` (every 20 s): none, slow posts, API 503s, 429s, resets of
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

async fn run_for(
    world: &World,
    tally: &Arc<Tally>,
    workers: usize,
    per_second: Option<f64>,
    length: Duration,
    counter: &Arc<AtomicU64>,
) {
    let until = Instant::now() + length;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let world = world.clone();
        let tally = Arc::clone(tally);
        let counter = Arc::clone(counter);
        let pause = per_second.map(|r| Duration::from_secs_f64(workers as f64 / r));
        tasks.push(tokio::spawn(async move {
            let mut next = Instant::now() + Duration::from_millis(w as u64 * 7);
            while Instant::now() < until {
                if let Some(pause) = pause {
                    tokio::time::sleep_until(next.into()).await;
                    next += pause;
                }
                let n = counter.fetch_add(1, Ordering::Relaxed);
                operation(&world, n, &tally).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    copy_routes(&dir.path().join("routes"));
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
    let counter = Arc::new(AtomicU64::new(0));

    // Capacity: as fast as 16 workers go, 5 s, no faults.
    let probe = Arc::new(Tally::default());
    let t = Instant::now();
    run_for(&world, &probe, 16, None, Duration::from_secs(5), &counter).await;
    let capacity = probe.sent.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();
    let rate = capacity / 2.0;
    println!("capacity {capacity:.0} req/s; soaking {secs} s at {rate:.0} req/s");

    let tally = Arc::new(Tally::default());
    let soak = {
        let world = world.clone();
        let tally = Arc::clone(&tally);
        let counter = Arc::clone(&counter);
        tokio::spawn(async move {
            run_for(
                &world,
                &tally,
                16,
                Some(rate),
                Duration::from_secs(secs),
                &counter,
            )
            .await;
        })
    };
    let mut samples = Vec::new();
    let soak_start = Instant::now();
    let mut phase = 0;
    while !soak.is_finished() {
        let elapsed = soak_start.elapsed().as_secs();
        if elapsed / 20 >= phase {
            let what = set_faults(&world, phase);
            println!("{elapsed:>4} s  faults: {what}");
            phase += 1;
        }
        if samples.len() as u64 <= elapsed / 10 {
            let (rss, fds) = sample(pid);
            samples.push((elapsed, rss, fds));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    soak.await.unwrap();
    world.clear_faults();
    // Late answers still in flight.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rss, fds) = sample(pid);
    samples.push((soak_start.elapsed().as_secs(), rss, fds));

    let sent = tally.sent.load(Ordering::Relaxed);
    let answered = tally.answered.load(Ordering::Relaxed);
    let deferred = tally.deferred.load(Ordering::Relaxed);
    let reported = tally.reported.load(Ordering::Relaxed);
    println!(
        "requests {sent}: answered {answered}, deferred {deferred}, reported {reported}, lost {}",
        sent - answered - deferred - reported
    );
    println!("{:>6} {:>10} {:>6}", "t (s)", "RSS (KiB)", "fds");
    for (t, rss, fds) in &samples {
        println!("{t:>6} {rss:>10} {fds:>6}");
    }
    let baseline = samples
        .iter()
        .find(|(t, _, _)| *t >= 60)
        .or(samples.first())
        .copied()
        .unwrap();
    let last = samples.last().copied().unwrap();
    let drift = |a: f64, b: f64| if a > 0.0 { (b - a) / a * 100.0 } else { 0.0 };
    println!(
        "drift after {} s: RSS {:+.1} %, fds {:+.1} %",
        baseline.0,
        drift(baseline.1 as f64, last.1 as f64),
        drift(baseline.2 as f64, last.2 as f64)
    );
    let _ = child.kill();
    let _ = child.wait();
}
