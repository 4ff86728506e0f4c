//! The README's "Use the client" example, run as written against a strict fake server, so the
//! README cannot drift from the API.

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
