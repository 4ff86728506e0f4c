//! `switchboard test`: the shipped transcripts (`routes/tests/*.txt`) and the README's
//! walkthrough pass; a broken transcript prints a readable diff and fails.

use std::time::Duration;

use crate::support::{run_with_input, switchboard, texts};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn the_shipped_transcripts_pass() {
    let output = run_with_input(switchboard(&["test"]), b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for route in ["hello", "deploy", "poll", "oncall", "ask"] {
        assert!(
            stdout.contains(&format!("ok   routes/tests/{route}.txt")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("5 passed, 0 failed"), "{stdout}");
}

#[test]
fn the_readme_walkthrough_is_a_transcript() {
    let output = run_with_input(switchboard(&["test", "README.md"]), b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("ok   README.md"), "{stdout}");
}

/// The cookbook shows the shipped routes' transcripts through mdBook's `{{#include}}`: the
/// page tests as the transcript it shows.
#[test]
fn a_cookbook_page_tests_the_transcript_it_includes() {
    for page in ["docs/src/cookbook/poll.md", "docs/src/cookbook/oncall.md"] {
        let output = run_with_input(switchboard(&["test", page]), b"", LIMIT);
        let (stdout, stderr) = texts(&output);
        assert!(output.status.success(), "{page}: {stdout}\n{stderr}");
        assert!(stdout.contains("1 passed, 0 failed"), "{page}: {stdout}");
    }
}

#[test]
fn one_line_typed_is_counted_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.txt");
    std::fs::write(
        &one,
        "~town-square @bob> /hello hi\n(only visible to you) Hello, @bob! You said: hi\n",
    )
    .unwrap();
    let output = run_with_input(switchboard(&["test", one.to_str().unwrap()]), b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("one.txt (1 line typed)"), "{stdout}");
}

#[test]
fn a_broken_transcript_prints_a_diff_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.txt");
    std::fs::write(
        &broken,
        "# the reply is not this\n~town-square @bob> /hello hi\n(only visible to you) Hello, @bob! You said: bye\n",
    )
    .unwrap();
    let output = run_with_input(switchboard(&["test", broken.to_str().unwrap()]), b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert!(
        stdout.contains("broken.txt:2: after `/hello hi`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("- (only visible to you) Hello, @bob! You said: bye"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ (only visible to you) Hello, @bob! You said: hi"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

#[test]
fn test_without_transcripts_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = switchboard(&["test"]);
    command.env("SWITCHBOARD_ROUTES__DIR", dir.path());
    let output = run_with_input(command, b"", LIMIT);
    let (_, stderr) = texts(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("no transcripts"), "{stderr}");
}
