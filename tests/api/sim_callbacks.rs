//! The simulator's callback machinery against Mattermost's rules (PROTOCOL.md §2–§4):
//! outgoing-webhook management and firing, and `dialogs/open` validation.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::integrations::{BoxFuture, Cx, Handler, HandlerError};
use switchboard::mattermost::models::CommandResponse;
use switchboard::protocol::SlashCommandRequest;
use switchboard::sim::Simulator;

use crate::helpers::*;

fn client_for(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn hook_body(sim: &Simulator, extra: &Value) -> Value {
    let mut body = json!({
        "team_id": sim.world().team_id("main").unwrap(),
        "trigger_words": ["deploy"],
        "callback_urls": ["http://127.0.0.1:9/hook"],
        "display_name": "deploy",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn outgoing_hooks_are_managed_with_mattermosts_rules() {
    let sim = spawn_sim().await;
    let bot = client_for(&sim.bot_token());
    let alice = client_for(&sim.world().user_token("alice").unwrap());
    let url = |path: &str| format!("{}api/v4{path}", sim.url());
    use reqwest::Method as M;

    let (status, body) = call(
        &alice,
        M::POST,
        url("/hooks/outgoing"),
        Some(hook_body(&sim, &json!({}))),
    )
    .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (403, Some("api.context.permissions.app_error"))
    );

    for (extra, status, id) in [
        (
            json!({"trigger_words": []}),
            400,
            "api.webhook.create_outgoing.triggers.app_error",
        ),
        (
            json!({"trigger_words": [""]}),
            400,
            "model.outgoing_hook.is_valid.words.app_error",
        ),
        (
            json!({"callback_urls": ["ftp://x"]}),
            400,
            "model.outgoing_hook.is_valid.callback.app_error",
        ),
        (
            json!({"trigger_when": 2}),
            400,
            "model.outgoing_hook.is_valid.trigger_when.app_error",
        ),
        (
            json!({"channel_id": sim.world().channel_id("main", "leads").unwrap()}),
            403,
            "api.webhook.create_outgoing.not_open.app_error",
        ),
    ] {
        let (got, body) = call(
            &bot,
            M::POST,
            url("/hooks/outgoing"),
            Some(hook_body(&sim, &extra)),
        )
        .await;
        assert_eq!(
            (got, body["id"].as_str().unwrap_or("")),
            (status, id),
            "{extra}"
        );
    }

    let (status, created) = call(
        &bot,
        M::POST,
        url("/hooks/outgoing"),
        Some(hook_body(&sim, &json!({}))),
    )
    .await;
    assert_eq!(status, 201);
    let hook_id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["token"].as_str().unwrap().len(), 26);
    let (status, body) = call(
        &bot,
        M::POST,
        url("/hooks/outgoing"),
        Some(hook_body(&sim, &json!({}))),
    )
    .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (500, Some("api.webhook.create_outgoing.intersect.app_error"))
    );

    let (status, regen) = call(
        &bot,
        M::POST,
        url(&format!("/hooks/outgoing/{hook_id}/regen_token")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(regen["id"], created["id"], "the whole hook comes back");
    assert_ne!(regen["token"], created["token"]);

    let team_id = sim.world().team_id("main").unwrap();
    let (status, list) = call(
        &bot,
        M::GET,
        url(&format!("/hooks/outgoing?team_id={team_id}")),
        None,
    )
    .await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 1));

    sim.world()
        .update_settings(|s| s.enable_outgoing_webhooks = false);
    let (status, body) = call(
        &bot,
        M::GET,
        url(&format!("/hooks/outgoing/{hook_id}")),
        None,
    )
    .await;
    assert_eq!(
        (status, body["id"].as_str()),
        (501, Some("api.outgoing_webhook.disabled.app_error"))
    );
    sim.world()
        .update_settings(|s| s.enable_outgoing_webhooks = true);

    let (status, _) = call(
        &bot,
        M::DELETE,
        url(&format!("/hooks/outgoing/{hook_id}")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &bot,
        M::GET,
        url(&format!("/hooks/outgoing/{hook_id}")),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

/// Records every request body it receives.
async fn recorder() -> (String, Arc<std::sync::Mutex<Vec<(String, String)>>>) {
    let seen: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let store = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let store = store.clone();
        async move {
            let ct = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            store.lock().unwrap().push((ct, body));
            ""
        }
    });
    let listener = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test]
async fn hooks_fire_on_the_first_word_in_public_channels_only_with_exact_payloads() {
    let sim = spawn_sim().await;
    let bot = client_for(&sim.bot_token());
    let (url, seen) = recorder().await;
    let world = sim.world();
    let town = world.channel_id("main", "town-square").unwrap();
    for body in [
        hook_body(
            &sim,
            &json!({"callback_urls": [url], "content_type": "application/json"}),
        ),
        hook_body(
            &sim,
            &json!({"callback_urls": [url], "trigger_words": [], "channel_id": town}),
        ),
    ] {
        let (status, _) = call(
            &bot,
            reqwest::Method::POST,
            format!("{}api/v4/hooks/outgoing", sim.url()),
            Some(body),
        )
        .await;
        assert_eq!(status, 201);
    }

    world
        .create_post("alice", "main", "leads", "deploy secret")
        .await
        .unwrap();
    world
        .create_post("alice", "main", "off-topic", "please deploy")
        .await
        .unwrap();
    let post = world
        .create_post("alice", "main", "town-square", "deploy now")
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "hooks did not fire");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        2,
        "private channel and non-first-word posts fire nothing: {seen:?}"
    );
    let json_call = seen
        .iter()
        .find(|(ct, _)| ct == "application/json")
        .expect("JSON hook");
    let payload: Value = serde_json::from_str(&json_call.1).unwrap();
    assert_eq!(payload.as_object().unwrap().len(), 12, "all twelve keys");
    assert_eq!(payload["timestamp"], json!(post.create_at));
    assert_eq!(payload["file_ids"], json!(""));
    assert_eq!(payload["trigger_word"], json!("deploy"));
    let form_call = seen
        .iter()
        .find(|(ct, _)| ct == "application/x-www-form-urlencoded")
        .expect("form hook");
    assert!(
        form_call.1.starts_with("channel_id="),
        "keys sorted like Go: {}",
        form_call.1
    );
    assert!(
        form_call
            .1
            .contains(&format!("timestamp={}", post.create_at / 1000))
    );
    assert!(form_call.1.contains("text=deploy+now"));
    assert!(
        form_call.1.contains("trigger_word=&"),
        "channel-wide hooks send an empty word"
    );
}

/// Opens a dialog with a type error and reports what Mattermost said.
#[derive(Debug)]
struct BadDialog {
    mattermost: String,
}

impl Handler for BadDialog {
    fn slash_command<'a>(
        &'a self,
        _cx: &'a Cx,
        request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        Box::pin(async move {
            let open = format!("{}api/v4/actions/dialogs/open", self.mattermost);
            let http = reqwest::Client::new();
            let mut report = Vec::new();
            for (trigger, url, dialog) in [
                ("bm90IGEgdHJpZ2dlcg==", "http://x", json!({"title": "T"})),
                (request.trigger_id.as_str(), "", json!({"title": "T"})),
                (
                    request.trigger_id.as_str(),
                    "http://x",
                    json!({"title": "T", "elements": [{"name": "a", "display_name": "A", "type": "text", "optional": "true"}]}),
                ),
                (
                    request.trigger_id.as_str(),
                    "http://x",
                    json!({"title": "T"}),
                ),
            ] {
                let r = http
                    .post(&open)
                    .json(&json!({"trigger_id": trigger, "url": url, "dialog": dialog}))
                    .send()
                    .await
                    .map_err(|e| HandlerError::failed(e.to_string()))?;
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or_default();
                report.push(format!(
                    "{status} {} {}",
                    body["id"].as_str().unwrap_or("ok"),
                    body["message"].as_str().unwrap_or("")
                ));
            }
            Ok(CommandResponse::ephemeral(report.join("\n")))
        })
    }
}

#[tokio::test]
async fn dialogs_open_only_with_a_valid_trigger_id_url_and_strictly_typed_dialog() {
    let sim = spawn_sim().await;
    let empty = tempfile::tempdir().unwrap();
    let settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        empty.path(),
    );
    let mattermost = sim.url().to_string();
    let app = spawn_app_with(settings, loopback(), move |app| {
        app.with_handler("bad", Arc::new(BadDialog { mattermost }))
    })
    .await;
    app.wait_ready().await;
    let bot = client_for(&sim.bot_token());
    let team_id = sim.world().team_id("main").unwrap();
    let (_, created) = call(&bot, reqwest::Method::POST, format!("{}api/v4/commands", sim.url()),
        Some(json!({"team_id": team_id, "trigger": "bad", "method": "P", "url": app.url("/commands/bad")}))).await;
    app.state
        .tokens
        .insert("bad", &team_id, created["token"].as_str().unwrap());

    let out = sim
        .world()
        .execute_command("alice", "main", "town-square", "/bad")
        .await
        .unwrap();

    let lines: Vec<&str> = out.posts[0].message.lines().collect();
    assert_eq!(
        lines,
        [
            "400 interactive_message.decode_trigger_id.missing_data Unable to decode the trigger id.",
            "400 api.context.invalid_body_param.app_error Invalid or missing url in request body.",
            "400 api.context.invalid_body_param.app_error Invalid or missing dialog in request body.",
            "200 ok ",
        ]
    );
    assert_eq!(sim.world().opened_dialogs().len(), 1);
}
