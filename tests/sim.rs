//! End-to-end tests of the simulated Mattermost: its REST API over real HTTP, and slash-command
//! invocation against a tiny local integration that records exactly what it receives.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard::sim::{SimError, Simulator};

const LOCAL: &str = "127.0.0.1:0";

fn local() -> SocketAddr {
    LOCAL.parse().unwrap()
}

struct Api {
    sim: Simulator,
    http: reqwest::Client,
}

impl Api {
    async fn start() -> Self {
        Self {
            sim: Simulator::start(local()).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}api/v4{path}", self.sim.url())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self.http.request(method, self.url(path));
        if !token.is_empty() {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::GET, path, token, None).await;
        (s, v)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::POST, path, token, Some(body)).await;
        (s, v)
    }

    async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self.call(Method::PUT, path, token, Some(body)).await;
        (s, v)
    }

    fn bot(&self) -> String {
        self.sim.bot_token()
    }

    fn alice(&self) -> String {
        self.sim.world().user_token("alice").unwrap()
    }

    fn team(&self, name: &str) -> String {
        self.sim.world().team_id(name).unwrap()
    }

    async fn create_command(&self, trigger: &str, url: &str) -> Value {
        let (status, body) = self
            .post(
                "/commands",
                &self.bot(),
                json!({"team_id": self.team("main"), "trigger": trigger, "method": "P", "url": url}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }
}

#[track_caller]
fn assert_app_error(status: StatusCode, body: &Value, want_status: u16, want_id: &str) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["id"], want_id, "{body}");
    assert_eq!(body["status_code"], want_status, "{body}");
}

#[tokio::test]
async fn api_calls_without_a_valid_session_are_refused() {
    let api = Api::start().await;

    let (status, headers, body) = api.call(Method::GET, "/users/me", "", None).await;
    assert_app_error(status, &body, 401, "api.context.session_expired.app_error");
    assert_eq!(
        body["request_id"],
        headers["x-request-id"].to_str().unwrap(),
        "request_id equals X-Request-ID"
    );
    assert!(headers.contains_key("x-version-id"));

    let (status, body) = api.get("/users/me", "nottherighttoken").await;
    assert_app_error(status, &body, 401, "api.context.session_expired.app_error");

    // The scheme is case-insensitive.
    let resp = api
        .http
        .get(api.url("/users/me"))
        .header("Authorization", format!("bEaReR {}", api.bot()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["username"], "switchboard");
    assert_eq!(me["is_bot"], true);
    assert_eq!(me["id"].as_str().unwrap().len(), 26);

    let (status, body) = api.get("/system/ping", "").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "OK");
    api.sim.shutdown().await;
}

#[tokio::test]
async fn teams_channels_and_users_follow_mattermost_visibility() {
    let api = Api::start().await;
    let bot = api.bot();
    let (status, team) = api.get("/teams/name/main", &bot).await;
    assert_eq!(status, 200);
    assert_eq!(team["display_name"], "Main");
    let team_id = team["id"].as_str().unwrap();

    let (status, body) = api.get("/teams/name/nope", &bot).await;
    assert_app_error(status, &body, 404, "app.team.get_by_name.missing.app_error");

    let (status, teams) = api.get("/users/me/teams", &bot).await;
    assert_eq!(status, 200);
    assert_eq!(teams.as_array().unwrap().len(), 2);
    let alice_id = api.sim.world().user_id("alice").unwrap();
    let (status, body) = api.get(&format!("/users/{alice_id}/teams"), &bot).await;
    assert_app_error(status, &body, 403, "api.context.permissions.app_error");

    let (status, channel) = api
        .get(&format!("/teams/{team_id}/channels/name/town-square"), &bot)
        .await;
    assert_eq!(status, 200);
    assert_eq!(channel["type"], "O");
    let (status, _) = api
        .get(
            &format!("/channels/{}", channel["id"].as_str().unwrap()),
            &bot,
        )
        .await;
    assert_eq!(status, 200);

    // bob is not in the private `leads`: by name it does not exist for him, by id it is forbidden.
    let bob = api.sim.world().user_token("bob").unwrap();
    let (status, body) = api
        .get(&format!("/teams/{team_id}/channels/name/leads"), &bob)
        .await;
    assert_app_error(
        status,
        &body,
        404,
        "app.channel.get_by_name.missing.app_error",
    );
    let leads = api.sim.world().channel_id("main", "leads").unwrap();
    let (status, body) = api.get(&format!("/channels/{leads}"), &bob).await;
    assert_app_error(status, &body, 403, "api.context.permissions.app_error");

    let (status, user) = api.get("/users/username/alice", &bot).await;
    assert_eq!(status, 200);
    assert_eq!(user["id"], alice_id);
    let (status, body) = api.get("/users/username/nobody", &bot).await;
    assert_app_error(status, &body, 404, "app.user.get_by_username.app_error");
    let (status, body) = api.get("/users/not-an-id", &bot).await;
    assert_app_error(
        status,
        &body,
        400,
        "api.context.invalid_url_param.app_error",
    );
    api.sim.shutdown().await;
}

#[tokio::test]
async fn command_creation_enforces_mattermost_validation() {
    let api = Api::start().await;
    let bot = api.bot();
    let team = api.team("main");
    let cases = [
        (
            json!({"trigger": "ok", "method": "P"}),
            "model.command.is_valid.url.app_error",
        ),
        (
            json!({"trigger": "ok", "method": "P", "url": "ftp://x"}),
            "model.command.is_valid.url_http.app_error",
        ),
        (
            json!({"trigger": "ok", "method": "X", "url": "http://x"}),
            "model.command.is_valid.method.app_error",
        ),
        (
            json!({"trigger": "/ok", "method": "P", "url": "http://x"}),
            "model.command.is_valid.trigger.app_error",
        ),
        (
            json!({"trigger": "o k", "method": "P", "url": "http://x"}),
            "model.command.is_valid.trigger.app_error",
        ),
        (
            json!({"trigger": "", "method": "P", "url": "http://x"}),
            "model.command.is_valid.trigger.app_error",
        ),
        (
            json!({"trigger": "x".repeat(129), "method": "P", "url": "http://x"}),
            "model.command.is_valid.trigger.app_error",
        ),
        (
            json!({"trigger": "echo", "method": "P", "url": "http://x"}),
            "api.command.duplicate_trigger.app_error",
        ),
        (
            json!({"trigger": "ME", "method": "P", "url": "http://x"}),
            "api.command.duplicate_trigger.app_error",
        ),
    ];
    for (mut body, id) in cases {
        body["team_id"] = json!(team);
        let (status, err) = api.post("/commands", &bot, body.clone()).await;
        assert_app_error(status, &err, 400, id);
    }

    let created = api.create_command("Deploy", "http://example.com/x").await;
    assert_eq!(created["trigger"], "deploy", "trigger is lower-cased");
    assert_eq!(created["token"].as_str().unwrap().len(), 26);
    assert_eq!(
        created["creator_id"],
        api.sim.world().user_id("switchboard").unwrap()
    );

    let (status, err) = api
        .post(
            "/commands",
            &bot,
            json!({"team_id": team, "trigger": "DEPLOY", "method": "G", "url": "http://y"}),
        )
        .await;
    assert_app_error(status, &err, 400, "api.command.duplicate_trigger.app_error");
    // Same trigger in another team is fine.
    let (status, _) = api
        .post("/commands", &bot, json!({"team_id": api.team("ops"), "trigger": "deploy", "method": "G", "url": "http://y"}))
        .await;
    assert_eq!(status, 201);

    // Plain users may not manage commands.
    let (status, err) = api
        .post(
            "/commands",
            &api.alice(),
            json!({"team_id": team, "trigger": "mine", "method": "P", "url": "http://x"}),
        )
        .await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");
    let id = created["id"].as_str().unwrap();
    let (status, err) = api.get(&format!("/commands/{id}"), &api.alice()).await;
    assert_app_error(status, &err, 404, "store.sql_command.save.get.app_error");

    assert_eq!(api.sim.world().commands("main").len(), 1);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn listing_shows_tokens_only_to_managers_and_custom_only() {
    let api = Api::start().await;
    let team = api.team("main");
    let created = api.create_command("deploy", "http://example.com/x").await;
    let (_, patched) = api
        .put(
            &format!("/commands/{}", created["id"].as_str().unwrap()),
            &api.bot(),
            json!({"id": created["id"], "team_id": team, "trigger": "deploy", "method": "P",
                   "url": "http://example.com/x", "auto_complete": true}),
        )
        .await;
    assert_eq!(patched["token"], created["token"], "update keeps the token");

    let (status, err) = api.get("/commands", &api.bot()).await;
    assert_app_error(
        status,
        &err,
        400,
        "api.context.invalid_body_param.app_error",
    );

    let (status, list) = api
        .get(
            &format!("/commands?team_id={team}&custom_only=true"),
            &api.bot(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["token"], created["token"]);
    assert_eq!(list[0]["url"], "http://example.com/x");

    let (status, err) = api
        .get(
            &format!("/commands?team_id={team}&custom_only=true"),
            &api.alice(),
        )
        .await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");

    let (status, list) = api
        .get(&format!("/commands?team_id={team}"), &api.alice())
        .await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    let deploy = list
        .iter()
        .find(|c| c["trigger"] == "deploy")
        .expect("custom command listed");
    assert_eq!(deploy["token"], "", "sanitized");
    assert_eq!(deploy["url"], "");
    assert_eq!(deploy["method"], "");
    assert!(
        list.iter().any(|c| c["trigger"] == "shrug"),
        "built-ins included"
    );
    api.sim.shutdown().await;
}

/// What the local integration received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    headers: HeaderMap,
    /// The raw encoded parameters (body for POST, query for GET).
    raw: String,
}

type Log = Arc<Mutex<Vec<Received>>>;

async fn integration(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = if method == Method::GET {
        uri.query().unwrap_or("").to_owned()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    let text: String = form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    log.lock().unwrap().push(Received {
        method: method.to_string(),
        headers,
        raw,
    });
    let json_ct = [("content-type", "application/json")];
    match text.split(' ').next().unwrap_or("") {
        "ephemeral" => (json_ct, r#"{"response_type":"ephemeral","text":"only you <https://x.io|see> this"}"#).into_response(),
        "plain" => ([("content-type", "text/plain")], "plain *reply*").into_response(),
        "charset" => (
            [("content-type", "application/json; charset=utf-8")],
            r#"{"response_type":"in_channel","text":"deployed","extra_responses":[{"text":"extra"}]}"#,
        )
            .into_response(),
        "fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "malformed" => (json_ct, "{").into_response(),
        "silent" => (json_ct, "{}").into_response(),
        _ => (StatusCode::OK, "").into_response(),
    }
}

async fn start_integration() -> (String, Log, tokio::task::JoinHandle<()>) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/cmd", axum::routing::any(integration))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind(local()).await.unwrap();
    let url = format!("http://{}/cmd", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, log, task)
}

fn pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn execute_command_sends_the_exact_payload_and_handles_each_reply_kind() {
    let api = Api::start().await;
    let world = api.sim.world();
    let (url, log, task) = start_integration().await;
    let cmd = api.create_command("deploy", &url).await;
    let token = cmd["token"].as_str().unwrap();
    let mut events = world.subscribe();

    // (a) JSON ephemeral, with mentions of a team member and a public channel.
    let out = world
        .execute_command(
            "alice",
            "main",
            "off-topic",
            "/Deploy ephemeral @bob ~town-square ~leads @nobody",
        )
        .await
        .unwrap();
    assert_eq!(out.posts.len(), 1);
    let post = &out.posts[0];
    let alice = world.user_id("alice").unwrap();
    assert_eq!(post.ephemeral_for.as_deref(), Some(alice.as_str()));
    assert_eq!(post.message, "only you [see](https://x.io) this");
    assert_eq!(post.props["from_webhook"], "true");
    assert_eq!(post.post_type, "system_ephemeral");
    assert!(
        world.posts_in("main", "off-topic").is_empty(),
        "ephemeral posts are not stored"
    );
    assert_eq!(out.response["response_type"], "ephemeral");
    assert_eq!(
        out.response["trigger_id"].as_str().unwrap().len(),
        26,
        "client trigger id"
    );
    // The first event a user would see (the inspector's record of the call comes too).
    let shown = std::iter::from_fn(|| events.try_recv().ok()).find(|e| {
        !matches!(
            e,
            switchboard::sim::SimEvent::IntegrationCalled(_)
                | switchboard::sim::SimEvent::ApiCalled(_)
        )
    });
    assert!(matches!(
        shown,
        Some(switchboard::sim::SimEvent::EphemeralPost(_))
    ));

    let got = log.lock().unwrap()[0].clone();
    assert_eq!(got.method, "POST");
    assert_eq!(
        got.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(got.headers["accept"], "application/json");
    assert_eq!(got.headers["authorization"], format!("Token {token}"));
    assert_eq!(got.headers["user-agent"], "Mattermost-Bot/1.1");
    let fields = pairs(&got.raw);
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys sorted like Go's url.Values.Encode");
    assert!(
        got.raw.contains("text=ephemeral+%40bob+~town-square"),
        "{}",
        got.raw
    );
    let field = |k: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(field("token"), [token]);
    assert_eq!(field("team_id"), [api.team("main")]);
    assert_eq!(field("team_domain"), ["main"]);
    assert_eq!(
        field("channel_id"),
        [world.channel_id("main", "off-topic").unwrap()]
    );
    assert_eq!(field("channel_name"), ["off-topic"]);
    assert_eq!(field("user_id"), [alice.as_str()]);
    assert_eq!(field("user_name"), ["alice"]);
    assert_eq!(field("command"), ["/deploy"]);
    assert_eq!(
        field("text"),
        ["ephemeral @bob ~town-square ~leads @nobody"]
    );
    assert_eq!(field("root_id"), [""]);
    assert_eq!(field("user_mentions"), ["bob"]);
    assert_eq!(field("user_mentions_ids"), [world.user_id("bob").unwrap()]);
    assert_eq!(
        field("channel_mentions"),
        ["town-square"],
        "private channels are not mentions"
    );
    assert_eq!(
        field("channel_mentions_ids"),
        [world.channel_id("main", "town-square").unwrap()]
    );
    let trigger_id = &field("trigger_id")[0];
    assert_eq!(world.verify_trigger_id(trigger_id).unwrap().user_id, alice);
    let response_url = &field("response_url")[0];
    assert!(
        response_url.starts_with(&format!("{}hooks/commands/", api.sim.url())),
        "{response_url}"
    );

    // (b) text/plain: the whole body is the text, shown ephemerally.
    let out = world
        .execute_command("alice", "main", "off-topic", "/deploy plain")
        .await
        .unwrap();
    assert_eq!(out.response["text"], "plain *reply*");
    assert!(out.posts[0].is_ephemeral());

    // (c) application/json with parameters, in_channel plus an extra response.
    let out = world
        .execute_command("alice", "main", "off-topic", "/deploy charset")
        .await
        .unwrap();
    assert_eq!(out.posts.len(), 2);
    assert!(!out.posts[0].is_ephemeral());
    assert_eq!(out.posts[0].message, "deployed");
    assert_eq!(out.posts[0].user_id, alice);
    assert_eq!(out.posts[0].props["from_webhook"], "true");
    assert!(out.posts[1].is_ephemeral());
    let stored = world.posts_in("main", "off-topic");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].message, "deployed");

    // (d) non-200.
    let err = world
        .execute_command("alice", "main", "off-topic", "/deploy fail")
        .await
        .unwrap_err();
    match &err {
        SimError::IntegrationFailed {
            status,
            body,
            error,
        } => {
            assert_eq!(*status, 500);
            assert_eq!(body, "boom");
            assert_eq!(
                error.id,
                "api.command.execute_command.failed_resp.app_error"
            );
        }
        other => panic!("unexpected {other:?}"),
    }

    // (e) malformed JSON.
    let err = world
        .execute_command("alice", "main", "off-topic", "/deploy malformed")
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::IntegrationError(_)), "{err:?}");
    assert_eq!(err.id(), "api.command.execute_command.failed.app_error");

    // `{}` is a silent acknowledgement.
    let out = world
        .execute_command("alice", "main", "off-topic", "/deploy silent")
        .await
        .unwrap();
    assert!(out.posts.is_empty());

    // Unknown trigger; commands of another team are not found here.
    let err = world
        .execute_command("alice", "ops", "town-square", "/deploy x")
        .await
        .unwrap_err();
    assert!(matches!(err, SimError::CommandNotFound(_)), "{err:?}");
    // bob is not in `leads`.
    let err = world
        .execute_command("bob", "main", "leads", "/deploy x")
        .await
        .unwrap_err();
    assert_eq!(err.id(), "api.context.permissions.app_error");
    task.abort();
    api.sim.shutdown().await;
}

#[tokio::test]
async fn method_get_puts_the_payload_in_the_query() {
    let api = Api::start().await;
    let (url, log, task) = start_integration().await;
    let (status, _) = api
        .post("/commands", &api.bot(), json!({"team_id": api.team("main"), "trigger": "q", "method": "G", "url": format!("{url}?keep=1")}))
        .await;
    assert_eq!(status, 201);
    api.sim
        .world()
        .execute_command("bob", "main", "town-square", "/q plain")
        .await
        .unwrap();
    let got = log.lock().unwrap()[0].clone();
    assert_eq!(got.method, "GET");
    assert!(got.raw.starts_with("keep=1&channel_id="), "{}", got.raw);
    assert!(!got.headers.contains_key("content-type"));
    task.abort();
    api.sim.shutdown().await;
}

#[tokio::test]
async fn regenerating_the_token_replaces_the_old_one() {
    let api = Api::start().await;
    let (url, log, task) = start_integration().await;
    let cmd = api.create_command("deploy", &url).await;
    let id = cmd["id"].as_str().unwrap();
    let (status, body) = api
        .put(
            &format!("/commands/{id}/regen_token"),
            &api.bot(),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let new_token = body["token"].as_str().unwrap();
    assert_ne!(new_token, cmd["token"]);
    assert_eq!(body.as_object().unwrap().len(), 1, "only the token: {body}");

    api.sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy plain")
        .await
        .unwrap();
    let got = log.lock().unwrap()[0].clone();
    assert_eq!(got.headers["authorization"], format!("Token {new_token}"));
    assert!(pairs(&got.raw).contains(&("token".to_owned(), new_token.to_owned())));
    assert_eq!(api.sim.world().commands("main")[0].token, new_token);

    // Delete is soft: the command disappears from listings and execution.
    let (status, _, body) = api
        .call(Method::DELETE, &format!("/commands/{id}"), &api.bot(), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "OK"}));
    assert!(api.sim.world().commands("main").is_empty());
    let err = api
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy")
        .await
        .unwrap_err();
    assert_eq!(err.id(), "api.command.execute_command.not_found.app_error");
    task.abort();
    api.sim.shutdown().await;
}

#[tokio::test]
async fn response_url_accepts_five_uses_then_refuses() {
    let api = Api::start().await;
    let (url, log, task) = start_integration().await;
    api.create_command("deploy", &url).await;
    api.sim
        .world()
        .execute_command("alice", "main", "town-square", "/deploy silent")
        .await
        .unwrap();
    let raw = log.lock().unwrap()[0].raw.clone();
    let response_url = pairs(&raw)
        .into_iter()
        .find(|(k, _)| k == "response_url")
        .unwrap()
        .1;
    let http = reqwest::Client::new();
    for i in 0..5 {
        let resp = http
            .post(&response_url)
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"response_type":"in_channel","text":"update {i}"}}"#
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/plain");
        assert_eq!(resp.text().await.unwrap(), "ok");
    }
    let resp = http.post(&response_url).body("again").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["id"], "app.command_webhook.try_use.invalid");

    let posts = api.sim.world().posts_in("main", "town-square");
    assert_eq!(posts.len(), 5);
    assert_eq!(posts[4].message, "update 4");
    assert_eq!(posts[4].user_id, api.sim.world().user_id("alice").unwrap());

    let resp = http
        .post(format!(
            "{}hooks/commands/{}",
            api.sim.url(),
            "y".repeat(26)
        ))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["id"], "app.command_webhook.get.missing");
    task.abort();
    api.sim.shutdown().await;
}

#[tokio::test]
async fn posts_enforce_membership_threads_length_and_ephemeral_permission() {
    let api = Api::start().await;
    let world = api.sim.world();
    let bot = api.bot();
    let town = world.channel_id("main", "town-square").unwrap();
    let leads = world.channel_id("main", "leads").unwrap();
    let writes_before = world.api_writes();

    let (status, root) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": town, "message": "root"}),
        )
        .await;
    assert_eq!(status, 201, "{root}");
    let (status, reply) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": town, "message": "reply", "root_id": root["id"]}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, err) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": town, "message": "x", "root_id": reply["id"]}),
        )
        .await;
    assert_app_error(status, &err, 400, "api.post.create_post.root_id.app_error");
    let off = world.channel_id("main", "off-topic").unwrap();
    let (status, err) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": off, "message": "x", "root_id": root["id"]}),
        )
        .await;
    assert_app_error(status, &err, 400, "api.post.create_post.root_id.app_error");
    let (status, err) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": town, "message": "é".repeat(16384)}),
        )
        .await;
    assert_app_error(
        status,
        &err,
        400,
        "model.post.is_valid.message_length.app_error",
    );
    let (status, _) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": town, "message": "é".repeat(16383)}),
        )
        .await;
    assert_eq!(status, 201);
    let bob = world.user_token("bob").unwrap();
    let (status, err) = api
        .post(
            "/posts",
            &bob,
            json!({"channel_id": leads, "message": "hi"}),
        )
        .await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");

    let (status, edited) = api
        .put(
            &format!("/posts/{}/patch", root["id"].as_str().unwrap()),
            &bot,
            json!({"message": "edited"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(edited["message"], "edited");
    assert!(edited["edit_at"].as_i64().unwrap() > 0);
    let (status, err) = api
        .put(
            &format!("/posts/{}/patch", root["id"].as_str().unwrap()),
            &bob,
            json!({"message": "mine"}),
        )
        .await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");

    let eph = json!({"user_id": world.user_id("alice").unwrap(), "post": {"channel_id": town, "message": "psst"}});
    let (status, err) = api.post("/posts/ephemeral", &bot, eph.clone()).await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");
    world.set_system_admin("switchboard", true).unwrap();
    let (status, post) = api.post("/posts/ephemeral", &bot, eph).await;
    assert_eq!(status, 201);
    assert_eq!(post["type"], "system_ephemeral");

    assert_eq!(
        world.api_writes() - writes_before,
        5,
        "root, reply, long post, patch, ephemeral"
    );
    let last = world.api_requests().last().cloned().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str(), last.status),
        ("POST", "/api/v4/posts/ephemeral", 201)
    );
    api.sim.shutdown().await;
}

#[tokio::test]
async fn direct_channels_open_to_their_members_and_take_their_posts() {
    let api = Api::start().await;
    let world = api.sim.world();
    let bot = api.bot();
    let bot_id = world.user_id("switchboard").unwrap();
    let alice = world.user_id("alice").unwrap();
    let bob = world.user_id("bob").unwrap();

    // A bot holds `create_direct_channel` (system_user): 201, type D, no team, ids sorted.
    let (status, dm) = api
        .post("/channels/direct", &bot, json!([bot_id, alice]))
        .await;
    assert_eq!(status, 201, "{dm}");
    assert_eq!(dm["type"], "D");
    assert_eq!(dm["team_id"], "");
    let mut ids = [bot_id.clone(), alice.clone()];
    ids.sort();
    assert_eq!(dm["name"], format!("{}__{}", ids[0], ids[1]));
    // Asked again, in the other order: the same channel, still 201.
    let (status, again) = api
        .post("/channels/direct", &bot, json!([alice, bot_id]))
        .await;
    assert_eq!(status, 201);
    assert_eq!(again["id"], dm["id"]);
    assert_eq!(
        world.direct_members(dm["id"].as_str().unwrap()),
        Some((ids[0].clone(), ids[1].clone()))
    );

    // Its members may post there; others may not.
    let (status, post) = api
        .post(
            "/posts",
            &bot,
            json!({"channel_id": dm["id"], "message": "just for you"}),
        )
        .await;
    assert_eq!(status, 201, "{post}");
    let bob_token = world.user_token("bob").unwrap();
    let (status, err) = api
        .post(
            "/posts",
            &bob_token,
            json!({"channel_id": dm["id"], "message": "me too"}),
        )
        .await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");

    // Someone else's pair needs manage_system; bad bodies and unknown users are refused.
    let (status, err) = api
        .post("/channels/direct", &bot, json!([alice, bob]))
        .await;
    assert_app_error(status, &err, 403, "api.context.permissions.app_error");
    let (status, err) = api.post("/channels/direct", &bot, json!([bot_id])).await;
    assert_app_error(
        status,
        &err,
        400,
        "api.context.invalid_body_param.app_error",
    );
    let (status, err) = api
        .post("/channels/direct", &bot, json!({"user_id": alice}))
        .await;
    assert_app_error(
        status,
        &err,
        400,
        "api.context.invalid_body_param.app_error",
    );
    let (status, err) = api
        .post("/channels/direct", &bot, json!([bot_id, "nope"]))
        .await;
    assert_app_error(
        status,
        &err,
        400,
        "api.context.invalid_body_param.app_error",
    );
    let stranger = "x".repeat(26);
    let (status, err) = api
        .post("/channels/direct", &bot, json!([bot_id, stranger]))
        .await;
    assert_app_error(
        status,
        &err,
        400,
        "api.channel.create_direct_channel.invalid_user.app_error",
    );
    api.sim.shutdown().await;
}

#[tokio::test]
async fn disabled_commands_answer_501() {
    let api = Api::start().await;
    api.sim
        .world()
        .update_settings(|s| s.enable_commands = false);
    let (status, err) = api
        .post(
            "/commands",
            &api.bot(),
            json!({"team_id": api.team("main"), "trigger": "x", "method": "P", "url": "http://x"}),
        )
        .await;
    assert_app_error(status, &err, 501, "api.command.disabled.app_error");
    let err = api
        .sim
        .world()
        .execute_command("alice", "main", "town-square", "/x")
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), 501);
    api.sim.shutdown().await;
}

#[tokio::test]
async fn rest_execute_runs_commands_like_the_web_client() {
    let api = Api::start().await;
    let (url, _log, task) = start_integration().await;
    api.create_command("deploy", &url).await;
    let town = api.sim.world().channel_id("main", "town-square").unwrap();

    let (status, resp) = api
        .post(
            "/commands/execute",
            &api.alice(),
            json!({"channel_id": town, "command": "/deploy ephemeral"}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["response_type"], "ephemeral");
    for key in [
        "text",
        "username",
        "icon_url",
        "type",
        "props",
        "goto_location",
        "trigger_id",
        "attachments",
        "extra_responses",
    ] {
        assert!(
            resp.get(key).is_some(),
            "every CommandResponse key is sent: {key} in {resp}"
        );
    }

    let (status, err) = api
        .post(
            "/commands/execute",
            &api.alice(),
            json!({"channel_id": town, "command": "deploy"}),
        )
        .await;
    assert_app_error(
        status,
        &err,
        400,
        "api.command.execute_command.start.app_error",
    );
    let (status, err) = api
        .post(
            "/commands/execute",
            &api.alice(),
            json!({"channel_id": town, "command": "/nope"}),
        )
        .await;
    assert_app_error(
        status,
        &err,
        404,
        "api.command.execute_command.not_found.app_error",
    );
    let (status, err) = api
        .post(
            "/commands/execute",
            &api.alice(),
            json!({"channel_id": town, "command": "/deploy fail"}),
        )
        .await;
    assert_app_error(
        status,
        &err,
        500,
        "api.command.execute_command.failed_resp.app_error",
    );
    assert_eq!(err["detailed_error"], "", "blank unless EnableDeveloper");

    // Built-ins run too.
    let (status, _) = api
        .post(
            "/commands/execute",
            &api.alice(),
            json!({"channel_id": town, "command": "/shrug ok"}),
        )
        .await;
    assert_eq!(status, 200);
    let posts = api.sim.world().posts_in("main", "town-square");
    assert_eq!(posts.last().unwrap().message, r"ok ¯\\\_(ツ)\_/¯");
    assert!(
        posts.last().unwrap().props.get("from_webhook").is_none(),
        "built-ins are not bot posts"
    );
    task.abort();
    api.sim.shutdown().await;
}

/// `POST /files` (multipart, `channel_id` first) and `GET /files/{id}/info`: the uploader is
/// recorded as `user_id`; only the uploader or a reader of the channel sees the info.
#[tokio::test]
async fn files_upload_as_the_caller_and_their_info_needs_the_channel() {
    let api = Api::start().await;
    let world = api.sim.world();
    let leads = world.channel_id("main", "leads").unwrap();
    let upload = |token: String, channel: String, name: &'static str| {
        let http = api.http.clone();
        let url = api.url("/files");
        async move {
            let form = reqwest::multipart::Form::new()
                .text("channel_id", channel)
                .part(
                    "files",
                    reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name(name),
                );
            let resp = http
                .post(url)
                .header("Authorization", format!("Bearer {token}"))
                .multipart(form)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let alice = world.user_token("alice").unwrap();
    let dave = world.user_token("dave").unwrap();
    let (status, body) = upload(alice.clone(), leads.clone(), "Notes.TXT").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let info = &body["file_infos"][0];
    assert_eq!(info["user_id"], world.user_id("alice").unwrap());
    assert_eq!(info["extension"], "txt");
    assert_eq!(info["size"], 5);
    let id = info["id"].as_str().unwrap().to_owned();
    let (status, seen) = api.get(&format!("/files/{id}/info"), &alice).await;
    assert_eq!(
        (status, seen["name"].clone()),
        (StatusCode::OK, json!("Notes.TXT"))
    );
    let (status, _) = api.get(&format!("/files/{id}/info"), &api.bot()).await;
    assert_eq!(status, StatusCode::OK, "the bot reads leads");
    let (status, _) = api.get(&format!("/files/{id}/info"), &dave).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "dave is not in leads");
    let (status, _) = api
        .get("/files/zzzzzzzzzzzzzzzzzzzzzzzzzz/info", &alice)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // dave cannot upload into a channel he is not in; no channel is a 400.
    let (status, _) = upload(dave, leads, "x.txt").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload(alice, String::new(), "x.txt").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
