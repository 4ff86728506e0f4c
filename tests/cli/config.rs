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
