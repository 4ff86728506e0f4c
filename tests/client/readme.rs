//! The README's "Use the client" example (also in the manual's `docs/src/rust.md`), run as
//! written against a strict fake server, so the README cannot drift from the API; and a check
//! that the text of both copies is the code run here, so neither can drift from the test.

use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use switchboard::mattermost::{Client, Error, WsItem};
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fixtures::{channel, post, team, user};
use crate::support::TOKEN;

/// The README snippet, unchanged apart from `bot_token` and the server URL. (The fake server
/// does not upgrade to WebSocket, so the first event item is a `Disconnected`.)
async fn readme_example(server_url: String, bot_token: &str) -> Result<(), Error> {
    let client = Client::builder(server_url).token(bot_token).build()?;
    let team = client.teams().by_name("eng").await?;
    let channel = client.channels().by_name(&team.id, "town-square").await?;
    client
        .posts()
        .create(&channel.id, "deployed :rocket:")
        .send()
        .await?; // retry-safe
    let mut users = client.users().list().in_team(&team.id).stream(); // one page in flight
    while let Some(user) = users.try_next().await? {
        println!("{}", user.username);
    }
    let mut events = client.events(Default::default()); // WebSocket, auto-resume
    if let Some(WsItem::Event(event)) = events.next().await {
        println!("{}", event.event);
    }
    events.close().await; // close frame, no reconnect
    Ok(())
}

#[tokio::test]
async fn the_readme_example_runs_as_written() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/teams/name/eng"))
        .respond_with(ResponseTemplate::new(200).set_body_json(team("team1")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/teams/team1/channels/name/town-square"))
        .respond_with(ResponseTemplate::new(200).set_body_json(channel("chan1")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v4/posts"))
        .and(body_partial_json(
            json!({"channel_id": "chan1", "message": "deployed :rocket:"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(post("post1")))
        .expect(1)
        .mount(&server)
        .await;
    let mut ada = user("user1");
    ada["username"] = json!("ada");
    Mock::given(method("GET"))
        .and(path("/api/v4/users"))
        .and(query_param("in_team", "team1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([ada])))
        .expect(1)
        .mount(&server)
        .await;

    readme_example(server.uri(), TOKEN).await.unwrap();
}

/// The code of the first ```rust block after `heading` in `page`, without its `use` lines.
fn snippet(page: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(format!("{}/{page}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let after = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("{page}: no `{heading}`"))
        .1;
    let block = after
        .split_once("```rust")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("{page}: no rust block after `{heading}`"))
        .0;
    let block = block.split_once('\n').map_or(block, |(_, code)| code);
    block
        .lines()
        .filter(|line| !line.trim_start().starts_with("use "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Code without comments and whitespace, so rustfmt's line breaks do not matter.
fn squeezed(code: &str) -> String {
    code.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_readme_and_manual_show_exactly_the_code_this_test_runs() {
    let source = include_str!("readme.rs");
    let body = source
        .split_once("async fn readme_example")
        .and_then(|(_, rest)| rest.split_once("-> Result<(), Error> {"))
        .and_then(|(_, rest)| rest.split_once("    Ok(())"))
        .unwrap()
        .0;
    let tested = squeezed(body);
    for (page, heading) in [
        ("README.md", "## Use the client"),
        ("docs/src/rust.md", "## The client"),
    ] {
        let shown =
            squeezed(&snippet(page, heading).replace("\"https://chat.example.com\"", "server_url"));
        assert_eq!(
            shown, tested,
            "{page}: the example differs from `readme_example` here"
        );
    }
}
