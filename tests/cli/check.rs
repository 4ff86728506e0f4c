//! `switchboard check` (and the warnings `serve` and `dev` share with it) on a routes
//! directory a route author got wrong: empty, a date default that is no date, a secret's
//! variable not set.

use std::time::Duration;

use crate::support::{run_with_input, switchboard, texts};

const LIMIT: Duration = Duration::from_secs(60);

/// A routes directory holding `files`.
fn routes_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

/// `switchboard ARGS…` from the repository root with the routes directory `dir`.
fn run_on(args: &[&str], dir: &std::path::Path, input: &[u8]) -> std::process::Output {
    let mut command = switchboard(args);
    command.env("SWITCHBOARD_ROUTES__DIR", dir);
    run_with_input(command, input, LIMIT)
}

const DATES: &str = r#"[command]
trigger = "when"

[dialog]
title = "When?"

[[dialog.elements]]
name = "day"
display_name = "Day"
type = "date"
default = "2026-13-45"

[[dialog.elements]]
name = "start"
display_name = "Start"
type = "datetime"
default = "next tuesday"

[[dialog.elements]]
name = "due"
display_name = "Due"
type = "date"
default = "+1w"
min_date = "today"

[[dialog.elements]]
name = "asked"
display_name = "Asked"
type = "datetime"
default = "today"
"#;

#[test]
fn check_refuses_a_date_default_that_is_not_a_date_naming_file_route_and_element() {
    let dir = routes_with(&[("when.toml", DATES)]);

    let output = run_on(&["check"], dir.path(), b"");

    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    for expected in [
        "when.toml:11: `dialog.elements[0].default`: `2026-13-45` (the default of element `day`) is not a date: write YYYY-MM-DD, `today`",
        "when.toml:17: `dialog.elements[1].default`: `next tuesday` (the default of element `start`) is not a date and time",
        "2 problem(s) in",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing in:\n{stderr}"
        );
    }
    // The relative defaults the web client resolves pass.
    assert!(!stderr.contains("element `due`"), "{stderr}");
    assert!(!stderr.contains("element `asked`"), "{stderr}");
}

