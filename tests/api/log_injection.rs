//! `switchboard serve` with the shipped routes and its default text log: what an
//! unauthenticated caller sends cannot forge a log line or reach the reader's terminal.

use crate::helpers::*;
use crate::ops::{free_port, serve_env, serve_piped, terminate, wait_ready};

/// What an attacker puts where the server may quote it: a line break, then a line that
/// looks like the server's own, a carriage return and terminal controls.
const FORGED: &str = "\n2026-12-06T00:00:00.000000Z ERROR forged line\r\u{1b}[2J\u{1b}[31m";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_and_values_in_refused_callbacks_stay_inside_one_escaped_line() {
    let sim = spawn_sim().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let workdir = tempfile::tempdir().unwrap();
    let child = serve_piped(
        workdir.path(),
        &serve_env(&sim, &listen, &repo_root().join("routes")),
    );
    let http = reqwest::Client::new();
    wait_ready(&http, listen.parse().unwrap()).await;

    // No token, no signature: each body fails to parse, and the error names the key.
    let key = serde_json::to_string(FORGED).unwrap();
    let bodies = [
        (
            "/dialogs/deploy",
            format!(r#"{{"type":"dialog_submission","state":"x","submission":{{{key}: [1,}}}}"#),
        ),
        ("/actions/poll", format!(r#"{{"context":{{{key}: [}}}}"#)),
        ("/hooks/oncall", format!(r#"{{"token":"x",{key}: [}}"#)),
        // serde's message quotes an unknown variant's text.
        (
            "/dialogs/deploy",
            format!(r#"{{"type":{key},"state":"x","submission":{{}}}}"#),
        ),
    ];
    for (path, body) in &bodies {
        let answer = http
            .post(format!("http://{listen}{path}"))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{path}");
        let text = answer.text().await.unwrap();
        assert!(!text.contains(['\n', '\r', '\u{1b}']), "{path}: {text:?}");
    }

    let (_, stderr) = terminate(child).await;
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("callback refused"))
        .collect();
    assert!(refused.len() >= bodies.len(), "{stderr}");
    for line in stderr.lines() {
        assert!(
            line.starts_with("20") && !line.starts_with("2026-12-06T00:00:00.000000Z"),
            "a line the server did not write: {line:?}\n{stderr}"
        );
        assert!(!line.contains(['\r', '\u{1b}']), "{line:?}");
    }
    assert!(
        refused
            .iter()
            .any(|l| l.contains(r"\n2026-12-06T00:00:00.000000Z ERROR forged")),
        "the key is quoted, escaped: {refused:?}"
    );
}
