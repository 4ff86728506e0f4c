//! Cost of the metrics helpers on the callback path and of one scrape (plain timing, no
//! criterion).
//!
//! ```text
//! cargo bench --bench metrics
//! ```
//!
//! Prints nanoseconds per call of `callback_finished` and `api_call` (the two called on every
//! callback and every Mattermost request), and the time to render `/metrics` with a realistic
//! number of series (50 routes × 5 outcomes, 130 endpoints × 3 statuses).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use switchboard::mattermost::endpoints::ALL;
use switchboard::metrics::{self, CallbackOutcome};

const CALLS: u32 = 1_000_000;

fn per_call(name: &str, mut f: impl FnMut(u32)) {
    // Warm up: the first call of a label set registers it.
    for i in 0..1000 {
        f(i);
    }
    let started = Instant::now();
    for i in 0..CALLS {
        f(i);
    }
    let ns = started.elapsed().as_nanos() as f64 / f64::from(CALLS);
    println!("{name:<40} {ns:>8.0} ns/call");
}

fn main() {
    metrics::install().expect("recorder installs");
    let routes: Vec<String> = (0..50).map(|i| format!("route{i}")).collect();
    let outcomes = [
        CallbackOutcome::Ok,
        CallbackOutcome::Unauthorized,
        CallbackOutcome::Timeout,
        CallbackOutcome::Rejected,
        CallbackOutcome::Error,
    ];
    per_call("callback_finished (50 routes)", |i| {
        let route = &routes[i as usize % routes.len()];
        let outcome = outcomes[i as usize % outcomes.len()];
        metrics::callback_finished("commands", route, outcome, Duration::from_micros(800));
    });
    let statuses = [
        StatusCode::OK,
        StatusCode::CREATED,
        StatusCode::TOO_MANY_REQUESTS,
    ];
    per_call("api_call (all endpoints)", |i| {
        let (_, endpoint) = ALL[i as usize % ALL.len()];
        let status = statuses[i as usize % statuses.len()];
        metrics::api_call(&endpoint, Some(status), 1, Duration::from_millis(3));
    });

    let started = Instant::now();
    let text = metrics::render().expect("rendered");
    println!(
        "render /metrics: {} lines, {} bytes, {:.2} ms",
        text.lines().count(),
        text.len(),
        started.elapsed().as_secs_f64() * 1000.0
    );
}
