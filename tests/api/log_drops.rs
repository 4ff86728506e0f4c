//! `switchboard serve` whose stderr nobody reads: callbacks are still answered, and the log
//! lines it could not write are counted on `/metrics`.

use futures::StreamExt as _;

use crate::helpers::*;
use crate::ops::{free_port, scrape, serve_env, serve_piped, wait_ready};

/// Enough callbacks for their access lines to overflow the writer's queue (16 384 lines)
/// plus what the pipe and the writer's buffer hold.
const CALLBACKS: usize = 24_000;

async fn dropped(http: &reqwest::Client, listen: &str) -> f64 {
    let exposition = scrape(http, &format!("http://{listen}/metrics")).await;
    assert!(
        exposition
            .names()
            .contains(&"switchboard_log_lines_dropped_total"),
        "the counter is there from the start"
    );
    exposition.value("switchboard_log_lines_dropped_total", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_that_a_stalled_stderr_cannot_take_are_dropped_and_counted() {
    let sim = spawn_sim().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let workdir = tempfile::tempdir().unwrap();
    let env = serve_env(&sim, &listen, &repo_root().join("routes"));
    // stderr is a pipe this test never reads: once it and the writer's queue are full, the
    // process must go on answering without the lines.
    let mut child = serve_piped(workdir.path(), &env);
    let http = reqwest::Client::new();
    wait_ready(&http, listen.parse().unwrap()).await;
    assert_eq!(dropped(&http, &listen).await, 0.0);

    // Each call to a route that does not exist is answered 404 with a "callback answered"
    // line, and needs nothing from Mattermost.
    let url = format!("http://{listen}/commands/no-such-route");
    let statuses: Vec<u16> = futures::stream::iter(0..CALLBACKS)
        .map(|_| {
            let http = http.clone();
            let url = url.clone();
            async move {
                http.post(&url)
                    .form(&[("token", "x"), ("text", "hi")])
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 404),
        "every call answered despite the stalled log"
    );
    let count = dropped(&http, &listen).await;
    assert!(count > 0.0, "lines were dropped but none counted");
    assert!(
        count < (2 * CALLBACKS + 1_000) as f64,
        "counted more lines than were logged: {count}"
    );

    child.kill().unwrap();
    let _ = child.wait();
}
