//! Startup of an unchanged deployment: 50 routes × 3 teams already registered, Switchboard
//! restarted. Measures, per restart of the real binary (`switchboard serve`) against the
//! simulated Mattermost:
//! - wall time from spawning the process to `/readyz` answering 200 (target: < 300 ms);
//! - command and outgoing-webhook listings per team (target: 1 of each, plus pages) and write
//!   calls (target: 0), from the simulator's request log.
//!
//! ```text
//! cargo bench --bench reconcile_startup            # 20 restarts
//! cargo bench --bench reconcile_startup -- 50      # 50 restarts
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard::sim::{SimSettings, Simulator};

const ROUTES: usize = 50;
const TEAMS: [&str; 3] = ["main", "ops", "dev"];
const BOT_TOKEN: &str = "benchbenchbenchbenchbench1";

fn write_fixture(dir: &Path, sim_url: &str, addr: SocketAddr) {
    let routes = dir.join("routes");
    std::fs::create_dir_all(&routes).unwrap();
    for i in 0..ROUTES {
        std::fs::write(
            routes.join(format!("r{i:02}.toml")),
            format!(
                "[command]\ntrigger = \"cmd{i:02}\"\ndisplay_name = \"Command {i}\"\ndescription = \"Bench command {i}\"\nhint = \"[text]\"\n[reply]\ntext = \"ok {{{{ text }}}}\"\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[server]\nlisten = \"{addr}\"\npublic_url = \"http://{addr}\"\n[mattermost]\nurl = \"{sim_url}\"\nteams = {TEAMS:?}\n[routes]\ndir = {:?}\n[log]\nfilter = \"warn\"\n",
            routes.display().to_string()
        ),
    )
    .unwrap();
}

fn spawn(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("serve")
        .env("SWITCHBOARD_MATTERMOST__TOKEN", BOT_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("switchboard binary runs")
}

/// Polls `/readyz` every millisecond until 200; returns the time since `started`.
async fn until_ready(http: &reqwest::Client, addr: SocketAddr, started: Instant) -> Duration {
    let url = format!("http://{addr}/readyz");
    loop {
        if let Ok(response) = http.get(&url).send().await {
            if response.status() == 200 {
                return started.elapsed();
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
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
    world.create_team("dev");
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path(), sim.url().as_str().trim_end_matches('/'), addr);
    let http = reqwest::Client::new();

    // First start registers everything.
    let first = spawn(dir.path());
    let took = until_ready(&http, addr, Instant::now()).await;
    stop(first);
    let registered: usize = TEAMS.iter().map(|t| world.commands(t).len()).sum();
    println!(
        "first start: {registered} commands registered ({} write calls) in {took:?}",
        world.write_requests().len()
    );
    assert_eq!(registered, ROUTES * TEAMS.len());

    let team_ids: Vec<String> = TEAMS.iter().map(|t| world.team_id(t).unwrap()).collect();
    let mut times = Vec::with_capacity(runs);
    let (mut max_listings, mut max_hook_listings, mut total_writes) = (0usize, 0usize, 0usize);
    for _ in 0..runs {
        world.clear_requests();
        let started = Instant::now();
        let child = spawn(dir.path());
        times.push(until_ready(&http, addr, started).await);
        stop(child);
        let log = world.api_requests();
        total_writes += log.iter().filter(|r| r.is_write()).count();
        for id in &team_ids {
            let listings = log
                .iter()
                .filter(|r| {
                    r.method == "GET"
                        && r.path == "/api/v4/commands"
                        && r.query.contains(&format!("team_id={id}"))
                })
                .count();
            max_listings = max_listings.max(listings);
            let hook_listings = log
                .iter()
                .filter(|r| {
                    r.method == "GET"
                        && r.path == "/api/v4/hooks/outgoing"
                        && r.query.contains(&format!("team_id={id}"))
                })
                .count();
            max_hook_listings = max_hook_listings.max(hook_listings);
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
    let max = times[times.len() - 1];
    println!(
        "unchanged restart, {ROUTES} routes x {} teams, {runs} runs: process start -> ready median {:.1} ms, p95 {:.1} ms, max {:.1} ms (target < 300 ms: {})",
        TEAMS.len(),
        ms(median),
        ms(p95),
        ms(max),
        if max < Duration::from_millis(300) {
            "met"
        } else {
            "MISSED"
        }
    );
    println!(
        "listings per team per start: commands at most {max_listings}, outgoing webhooks at most {max_hook_listings} (target 1 each, no route declares a hook so one page); write calls over all restarts: {total_writes} (target 0)"
    );
    sim.shutdown().await;
}
