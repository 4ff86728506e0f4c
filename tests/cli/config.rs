//! The configuration as an operator gives it: a `--config` file and `SWITCHBOARD_*` variables.

use std::time::Duration;

use crate::support::{run_with_input, switchboard, texts};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn a_numeric_secret_in_the_environment_is_accepted_and_never_printed() {
    // Arrange: a Redis password and a bot token made only of digits (figment would read
    // them as numbers, refuse them as "not a string" and print them in that message).
    let mut command = switchboard(&["check"]);
    command
        .env("SWITCHBOARD_STORE__PASSWORD", "0031415926")
        .env("SWITCHBOARD_MATTERMOST__TOKEN", "27182818284");

    // Act
    let output = run_with_input(command, b"", LIMIT);

    // Assert
    let (stdout, stderr) = texts(&output);
    assert!(
        output.status.success(),
        "check must accept the secrets:\n{stdout}{stderr}"
    );
    for secret in ["31415926", "27182818284"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "secret printed:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn a_config_file_named_explicitly_must_exist_even_when_it_is_config_toml() {
    // Arrange: a working directory with routes but no config.toml, as after a wrong `cd`.
    let dir = std::env::temp_dir().join(format!("switchboard-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("routes")).unwrap();
    let mut command = switchboard(&["--config", "config.toml", "check"]);
    command.current_dir(&dir);

    // Act
    let output = run_with_input(command, b"", LIMIT);
    let _ = std::fs::remove_dir_all(&dir);

    // Assert
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("configuration file config.toml not found"),
        "{stderr}"
    );
}

#[test]
fn without_config_the_default_file_may_be_absent() {
    // Environment-only setups: no --config, no config.toml, defaults and variables.
    let dir = std::env::temp_dir().join(format!("switchboard-cli-noconfig-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("routes")).unwrap();
    std::fs::write(
        dir.join("routes/hello.toml"),
        "[command]\ntrigger = \"hello\"\n[reply]\ntext = \"hi\"\n",
    )
    .unwrap();
    let mut command = switchboard(&["check"]);
    command.current_dir(&dir);

    let output = run_with_input(command, b"", LIMIT);
    let _ = std::fs::remove_dir_all(&dir);

    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 route(s) in routes"), "{stdout}");
}

#[test]
fn a_variable_for_an_unknown_section_is_named_in_full() {
    // Arrange: a typo in the section part of the name.
    let mut command = switchboard(&["check"]);
    command.env("SWITCHBOARD_SERVR__LISTEN", "127.0.0.1:4000");

    // Act
    let output = run_with_input(command, b"", LIMIT);

    // Assert: the variable the operator set, not `SWITCHBOARD_SERVR`, which nobody set.
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("(from environment variable SWITCHBOARD_SERVR__LISTEN)")
            && stderr.contains("unknown field `servr`"),
        "{stderr}"
    );
}
