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

#[test]
fn check_refuses_a_routes_directory_without_route_files_naming_it() {
    // Arrange: empty, and holding only files that are not routes.
    let empty = routes_with(&[]);
    let no_toml = routes_with(&[("README.md", "# routes\n"), ("hello.toml.bak", "")]);
    for dir in [&empty, &no_toml] {
        // Act
        let output = run_on(&["check"], dir.path(), b"");

        // Assert
        let (stdout, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stderr.contains(&format!(
                "error: no route files (*.toml) in {}",
                dir.path().display()
            )),
            "{stderr}"
        );
        assert!(!stdout.contains("ok:"), "{stdout}");
    }
}

#[test]
fn serve_and_dev_warn_about_a_routes_directory_without_route_files_and_go_on() {
    let empty = routes_with(&[]);
    let warning = format!("no route files (*.toml) in {}", empty.path().display());

    // `dev` runs (to the end of its input) after saying so.
    let output = run_on(&["dev"], empty.path(), b"");
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("warning: {warning}")), "{stderr}");

    // `serve` says so and goes on to start (here it then stops at the missing token).
    let mut serve = switchboard(&["serve"]);
    serve
        .env("SWITCHBOARD_ROUTES__DIR", empty.path())
        .env("SWITCHBOARD_MATTERMOST__URL", "http://127.0.0.1:9")
        .env("SWITCHBOARD_SERVER__LISTEN", "127.0.0.1:0");
    let output = run_with_input(serve, b"", LIMIT);
    let (_, stderr) = texts(&output);
    assert!(
        stderr.contains(&warning) && stderr.contains("mattermost.token"),
        "{stderr}"
    );
}

#[test]
fn register_refuses_a_routes_directory_without_route_files_before_calling_mattermost() {
    // Arrange: a "Mattermost" that records whether anyone connected.
    let empty = routes_with(&[]);
    let mattermost = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    mattermost.set_nonblocking(true).unwrap();
    let url = format!("http://{}", mattermost.local_addr().unwrap());
    let one_shot = |command: &str| {
        let mut run = switchboard(&[command]);
        run.env("SWITCHBOARD_ROUTES__DIR", empty.path())
            .env("SWITCHBOARD_MATTERMOST__URL", &url)
            .env("SWITCHBOARD_MATTERMOST__TOKEN", "sometoken");
        run_with_input(run, b"", LIMIT)
    };

    // Act: registering nothing would delete every command Switchboard registered.
    let output = one_shot("register");

    // Assert: refused, said why and what to run instead, and nothing was asked of Mattermost.
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: no route files (*.toml) in {}",
            empty.path().display()
        )) && stderr.contains("registering would delete every slash command")
            && stderr.contains("switchboard unregister"),
        "{stderr}"
    );
    assert_eq!(
        mattermost.accept().map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "register connected to Mattermost"
    );

    // `plan` only shows what would happen: it warns and goes on.
    drop(mattermost);
    let output = one_shot("plan");
    let (_, stderr) = texts(&output);
    assert!(
        stderr.contains("warning: no route files (*.toml) in")
            && stderr.contains("registering would delete every slash command"),
        "{stderr}"
    );
}

#[test]
fn doctor_fails_a_routes_directory_without_route_files() {
    let empty = routes_with(&[]);
    let mut doctor = switchboard(&["doctor"]);
    doctor
        .env("SWITCHBOARD_ROUTES__DIR", empty.path())
        .env("SWITCHBOARD_MATTERMOST__URL", "http://127.0.0.1:9")
        .env("SWITCHBOARD_MATTERMOST__TOKEN", "sometoken");
    let output = run_with_input(doctor, b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "[FAIL] routes: no route files (*.toml) in {}",
            empty.path().display()
        )),
        "{stdout}"
    );
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

const SECRETS: &str = r#"[command]
trigger = "tickets"

[http]
url = "http://tickets.internal/new"
headers_from_env = { Authorization = "TICKETS_API_TOKEN" }

[http.reply]
text = "ok"
"#;

#[test]
fn check_warns_about_an_unset_variable_a_route_reads_and_still_passes() {
    let dir = routes_with(&[("tickets.toml", SECRETS)]);

    // Unset: a warning naming the variable, the route and the key; exit 0.
    let mut command = switchboard(&["check"]);
    command
        .env("SWITCHBOARD_ROUTES__DIR", dir.path())
        .env_remove("TICKETS_API_TOKEN");
    let output = run_with_input(command, b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    let warning = stderr
        .lines()
        .find(|line| line.starts_with("warning: "))
        .unwrap_or_default();
    assert!(
        warning.contains(
            "tickets.toml:6: `http.headers_from_env.Authorization`: route `tickets` reads the \
             environment variable TICKETS_API_TOKEN, which is not set"
        ),
        "{stderr}"
    );
    assert!(
        stdout.contains("ok: configuration and 1 route(s)"),
        "{stdout}"
    );

    // Set: nothing to say (the value is never printed).
    let mut command = switchboard(&["check"]);
    command
        .env("SWITCHBOARD_ROUTES__DIR", dir.path())
        .env("TICKETS_API_TOKEN", "s3cr3t-value");
    let output = run_with_input(command, b"", LIMIT);
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(!stdout.contains("s3cr3t") && !stderr.contains("s3cr3t"));
}

const WRONG_TYPES: &str = r#"[command]
trigger = "typed"
description = 5

[[args]]
name = "a"

[[args]]
name = "b"
required = "yes"

[reply]
text = "{{ nope }}"
"#;

#[test]
fn check_reports_every_wrong_value_of_a_file_with_its_other_problems() {
    let dir = routes_with(&[("typed.toml", WRONG_TYPES)]);

    let output = run_on(&["check"], dir.path(), b"");

    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    for expected in [
        "typed.toml:3: `command.description`: invalid type: integer `5`, expected a string",
        "typed.toml:10: `args[1].required`: invalid type: string \"yes\", expected a boolean",
        "typed.toml:13: `reply.text`: template: unknown variable `nope`",
        "3 problem(s) in",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing in:\n{stderr}"
        );
    }
}

/// A required key of the wrong type, beside the file's other problems.
const WRONG_REQUIRED: &str = r#"[command]
trigger = 5

[[args]]
name = 7

[reply]
visibility = "loud"
text = "{{ user.nmae }}"
"#;

#[test]
fn check_reports_a_wrong_required_key_without_hiding_the_rest_of_the_file() {
    let dir = routes_with(&[("required.toml", WRONG_REQUIRED)]);

    let output = run_on(&["check"], dir.path(), b"");

    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    for expected in [
        "required.toml:2: `command.trigger`: invalid type: integer `5`, expected a string",
        "required.toml:5: `args[0].name`: invalid type: integer `7`, expected a string",
        "required.toml:8: `reply.visibility`: unknown variant `loud`",
        "required.toml:9: `reply.text`: template: unknown variable `user.nmae`",
        "4 problem(s) in",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected} missing in:\n{stderr}"
        );
    }
    // The stand-ins that let the rest be checked (an empty trigger and argument name) are not
    // reported as the file's own problems.
    assert!(!stderr.contains("1 to 128 characters"), "{stderr}");
}
