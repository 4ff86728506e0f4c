use super::*;

fn sh(script: &str, timeout: Duration, cap: usize) -> Prepared {
    Prepared {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![("GREETING".into(), "hi".into())],
        cwd: std::env::temp_dir(),
        timeout,
        output_cap: cap,
    }
}

#[tokio::test]
async fn output_exit_code_and_environment_are_captured() {
    let outcome = run(
        &sh(
            "echo $GREETING; echo oops >&2; exit 3",
            Duration::from_secs(10),
            1024,
        ),
        None,
    )
    .await;
    assert_eq!(outcome.exit_code, Some(3));
    assert!(outcome.output.contains("hi\n"), "{outcome:?}");
    assert!(outcome.output.contains("oops\n"), "{outcome:?}");
    assert!(!outcome.success());
    assert!(outcome.status_line().starts_with("exit 3 in "));
}

#[tokio::test]
async fn the_environment_is_clean() {
    // SAFETY-free: set_var is not needed; the test process already has variables such as
    // CARGO_PKG_NAME that a clean child must not see.
    let outcome = run(
        &sh("echo \"[$CARGO_PKG_NAME]\"", Duration::from_secs(10), 1024),
        None,
    )
    .await;
    assert_eq!(outcome.output, "[]\n");
}

#[tokio::test]
async fn a_background_process_holding_the_output_does_not_keep_the_run_going() {
    // `sleep` inherits stdout and would hold it open for a minute; the run ends with the
    // program (exit 3, its output kept), not at the 10 s timeout.
    let outcome = run(
        &sh(
            "sleep 60 & echo started; exit 3",
            Duration::from_secs(10),
            1024,
        ),
        None,
    )
    .await;
    assert!(!outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!(outcome.output, "started\n");
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let marker = tempfile::tempdir().unwrap();
    let file = marker.path().join("survivor");
    // The grandchild would write the file after 2 s if it survived the kill.
    let script = format!("(sleep 2; touch {}) & sleep 30", file.display());
    let outcome = run(&sh(&script, Duration::from_millis(300), 1024), None).await;
    assert!(outcome.timed_out, "{outcome:?}");
    assert!(outcome.status_line().contains("timed out"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!file.exists(), "a grandchild outlived the timeout");
}

#[tokio::test]
async fn output_over_the_cap_is_dropped_and_counted() {
    let outcome = run(
        &sh(
            "head -c 10000 /dev/zero | tr '\\0' x",
            Duration::from_secs(10),
            100,
        ),
        None,
    )
    .await;
    assert_eq!(outcome.output.len(), 100);
    assert_eq!(outcome.output_bytes, 10000);
    assert!(outcome.truncated);
}

#[tokio::test]
async fn a_missing_program_is_reported() {
    let mut prepared = sh("", Duration::from_secs(1), 10);
    prepared.program = "/nonexistent/deploy".into();
    let outcome = run(&prepared, None).await;
    assert!(
        outcome
            .status_line()
            .contains("could not start: /nonexistent/deploy"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_queue_is_bounded_and_a_freed_slot_goes_to_the_queue() {
    let limiters = Limiters::default();
    let first = limiters.admit("r", (1, 1)).await.unwrap();
    assert!(matches!(first, Some(Ticket::Running(_))));
    let second = limiters.admit("r", (1, 1)).await.unwrap();
    assert!(matches!(second, Some(Ticket::Queued { ahead: 0, .. })));
    assert!(
        limiters.admit("r", (1, 1)).await.unwrap().is_none(),
        "a full queue refuses"
    );
    // Other limits are another count.
    assert!(limiters.admit("r", (2, 1)).await.unwrap().is_some());
    drop(first);
    let permit = tokio::time::timeout(Duration::from_secs(5), second.unwrap().wait())
        .await
        .expect("the queued run gets the freed slot")
        .expect("a slot");
    // The queue place is given back by a task spawned on drop.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        matches!(
            limiters.admit("r", (1, 1)).await.unwrap(),
            Some(Ticket::Queued { ahead: 0, .. })
        ),
        "the queue place was given back"
    );
    drop(permit);
}

#[test]
fn the_post_fits_mattermosts_limit_whatever_the_output_and_tail_chars() {
    // Every backtick fence in the output is escaped with one more character: a tail near
    // the limit would otherwise grow past it and every edit of the post would be refused.
    let output = "```".repeat(6000);
    let text = format_output(&output, 16_000, true, Some("exit 0 in 0.1 s"));
    assert!(
        text.chars().count() <= crate::protocol::POST_MESSAGE_MAX_CHARS,
        "{} characters",
        text.chars().count()
    );
    assert!(
        text.starts_with("_…earlier output not shown_\n```\n"),
        "{}",
        &text[..60]
    );
    assert!(text.ends_with("\n```\n_output over the cap was dropped_\n✅ exit 0 in 0.1 s"));
}

#[test]
fn the_post_shows_the_tail_and_the_status() {
    let text = format_output("line1\nline2\n", 6, false, Some("exit 0 in 0.1 s"));
    assert_eq!(
        text,
        "_…earlier output not shown_\n```\nline2\n```\n✅ exit 0 in 0.1 s"
    );
}
