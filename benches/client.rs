//! Client benchmarks against a local axum server (no criterion: plain timing so the numbers
//! include CPU time from `/proc/self/stat`, and peak memory from `/proc/self/status`).
//!
//! ```text
//! cargo bench --bench client -- overhead            # per-call CPU/wall: client vs bare reqwest
//! cargo bench --bench client -- stream 100000       # stream N users, print peak RSS (VmHWM)
//! cargo bench --bench client -- stream 10000        # compare: peak must not grow with N
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use futures::TryStreamExt;
use serde::Deserialize;
use switchboard::mattermost::{Client, RetryPolicy};

#[derive(Deserialize)]
struct Paging {
    page: Option<usize>,
    per_page: Option<usize>,
}

fn user_json(i: usize) -> String {
    format!(
        r#"{{"id":"user{i:021}","create_at":1700000000000,"update_at":1700000000000,"delete_at":0,"username":"user{i}","first_name":"Ada","last_name":"Lovelace","nickname":"","email":"user{i}@example.com","roles":"system_user","locale":"en","is_bot":false,"props":{{}},"notify_props":{{"email":"true"}},"timezone":{{"useAutomaticTimezone":"true"}}}}"#
    )
}

async fn serve(total: usize) -> String {
    let app = Router::new()
        .route(
            "/api/v4/users/me",
            get(|| async { ([("content-type", "application/json")], user_json(1)) }),
        )
        .route(
            "/api/v4/users",
            get(move |Query(p): Query<Paging>| async move {
                let per_page = p.per_page.unwrap_or(60);
                let start = p.page.unwrap_or(0) * per_page;
                let end = (start + per_page).min(total);
                let body: Vec<String> = (start.min(end)..end).map(user_json).collect();
                (
                    [("content-type", "application/json")],
                    format!("[{}]", body.join(",")),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

async fn overhead() {
    let base = serve(0).await;
    let client = Client::builder(&base)
        .token("bench-token")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let bare = reqwest::Client::new();
    let url = format!("{base}/api/v4/users/me");
    let calls = 20_000;
    // Warm up both connection pools.
    for _ in 0..500 {
        client.users().me().await.unwrap();
        let _: serde_json::Value = bare
            .get(&url)
            .bearer_auth("bench-token")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    }
    let mut results = Vec::new();
    for round in 0..3 {
        let (c0, t0) = (cpu_time(), Instant::now());
        for _ in 0..calls {
            let _user: switchboard::mattermost::models::User = bare
                .get(&url)
                .bearer_auth("bench-token")
                .header("accept", "application/json")
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .await
                .unwrap();
        }
        let (bare_cpu, bare_wall) = (cpu_time() - c0, t0.elapsed());
        let (c0, t0) = (cpu_time(), Instant::now());
        for _ in 0..calls {
            client.users().me().await.unwrap();
        }
        let (client_cpu, client_wall) = (cpu_time() - c0, t0.elapsed());
        let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(calls);
        println!(
            "round {round}: bare reqwest {:.1} µs CPU {:.1} µs wall per call; client {:.1} µs CPU {:.1} µs wall per call; CPU overhead {:+.1}%",
            per(bare_cpu),
            per(bare_wall),
            per(client_cpu),
            per(client_wall),
            (client_cpu.as_secs_f64() / bare_cpu.as_secs_f64() - 1.0) * 100.0
        );
        results.push(client_cpu.as_secs_f64() / bare_cpu.as_secs_f64() - 1.0);
    }
    results.sort_by(f64::total_cmp);
    println!(
        "median CPU overhead of the client over bare reqwest: {:+.1}%",
        results[1] * 100.0
    );
}

async fn stream(total: usize) {
    let base = serve(total).await;
    let client = Client::builder(&base).token("bench-token").build().unwrap();
    let before = peak_rss_kib();
    let started = Instant::now();
    let mut users = client.users().list().per_page(200).stream();
    let mut count = 0usize;
    while let Some(user) = users.try_next().await.unwrap() {
        std::hint::black_box(&user);
        count += 1;
    }
    assert_eq!(count, total);
    println!(
        "streamed {count} users in {:.2?}; peak RSS {} KiB (before streaming {} KiB)",
        started.elapsed(),
        peak_rss_kib(),
        before
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.first().map(String::as_str) {
        Some("stream") => {
            let total = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
            runtime.block_on(stream(total));
        }
        Some("overhead") | None => runtime.block_on(overhead()),
        Some(other) => eprintln!("unknown bench {other}"),
    }
}
