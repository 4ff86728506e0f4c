//! `switchboard serve` with the shipped files.

use std::time::Duration;

use crate::support::{run_with_input, switchboard, texts};

#[test]
fn serve_refuses_to_start_without_signing_keys_naming_the_routes_that_need_them() {
    // Nothing listens at this Mattermost URL: the refusal comes before any call to it.
    let mut serve = switchboard(&["serve"]);
    serve
        .env("SWITCHBOARD_MATTERMOST__URL", "http://127.0.0.1:9")
        .env("SWITCHBOARD_MATTERMOST__TOKEN", "not-a-real-token")
        .env("SWITCHBOARD_SERVER__LISTEN", "127.0.0.1:0");

    let output = run_with_input(serve, b"", Duration::from_secs(30));

    let (_, stderr) = texts(&output);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("deploy, incident, poll") && stderr.contains("SWITCHBOARD_SIGNING__KEYS"),
        "{stderr}"
    );
    assert!(!stderr.contains("switchboard starting"), "{stderr}");
    // Refused, so no word about going on with an ephemeral key first.
    assert!(!stderr.contains("ephemeral key"), "{stderr}");
}
