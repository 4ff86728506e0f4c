//! Integration tests of the Mattermost API client, one module per area.
//!
//! Every endpoint in `endpoints::ALL` has a strict request case; `coverage` fails when one is
//! missing, and `spec` checks every templated path and method against the official OpenAPI
//! description (tests/fixtures/openapi-v4-operations.txt, extracted from openapi-v4.yaml).

#![allow(
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err
)] // a test crate

mod channels;
mod errors;
mod fixtures;
mod integrations;
mod pagination;
mod posts;
mod readme;
mod rough_edges;
mod support;
mod teams;
mod users;
mod websocket;

use std::collections::BTreeSet;

use switchboard::mattermost::endpoints::ALL;

#[test]
fn coverage_every_endpoint_has_a_request_test() {
    let covered: BTreeSet<String> = users::cases()
        .into_iter()
        .chain(teams::cases())
        .chain(channels::cases())
        .chain(posts::cases())
        .chain(integrations::cases())
        .map(|case| case.endpoint.to_string())
        .collect();
    let missing: Vec<&str> = ALL
        .iter()
        .filter(|(_, endpoint)| !covered.contains(&endpoint.to_string()))
        .map(|(name, _)| *name)
        .collect();
    assert!(
        missing.is_empty(),
        "endpoints without a request test: {missing:?}"
    );
    assert!(ALL.len() >= 130, "{} endpoints", ALL.len());
}

#[test]
fn spec_every_endpoint_exists_in_the_openapi_description() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openapi-v4-operations.txt"
    ))
    .unwrap();
    let normalise = |s: &str| {
        let mut out = String::new();
        let mut in_param = false;
        for ch in s.chars() {
            match ch {
                '{' => {
                    in_param = true;
                    out.push_str("{}");
                }
                '}' => in_param = false,
                _ if in_param => {}
                _ => out.push(ch),
            }
        }
        out
    };
    let operations: BTreeSet<String> = spec.lines().map(normalise).collect();
    let mut unknown = Vec::new();
    for (name, endpoint) in ALL {
        if endpoint.server_root {
            continue; // `/hooks/{id}` is documented with integrations, not in the REST reference
        }
        let path = if *name == "USERS_ME" {
            "/users/{user_id}"
        } else {
            endpoint.path
        };
        let line = normalise(&format!("{} /api/v4{path}", endpoint.verb.as_str()));
        if !operations.contains(&line) {
            unknown.push(*name);
        }
    }
    assert!(unknown.is_empty(), "not in openapi-v4.yaml: {unknown:?}");
}
