//! A fast stand-in for the Mattermost API: fixed answers, every call counted.
//!
//! It answers what `switchboard serve` needs to start (the bot, the team, the command
//! listing and creation) and what the bench routes call (posts, dialogs, users, channels,
//! teams). `GET /_counts` returns `{"total": n, "paths": {...}}` of the `/api/v4` calls so far;
//! `GET /_last_dialog` the last dialog opened (the bench takes its signed `state` from it).
//!
//! Usage: `standin <listen addr>`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const COMMAND_TOKEN: &str = "benchcommandtoken000000000";
const BOT_ID: &str = "benchbotuserid000000000000";
const TEAM_ID: &str = "benchteamid000000000000000";

#[derive(Default)]
struct Standin {
    total: AtomicU64,
    paths: Mutex<BTreeMap<String, u64>>,
    commands: Mutex<Vec<Value>>,
    last_dialog: Mutex<Value>,
}

type Shared = State<&'static Standin>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8065".into());
    let standin: &'static Standin = Box::leak(Box::default());
    let router = Router::new().fallback(answer).with_state(standin);
    let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
    axum::serve(listener, router).await.unwrap();
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// The path with ids replaced by `{id}`, so counts group by endpoint.
fn endpoint(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.len() == 26 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn answer(State(standin): Shared, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let body: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    match (&method, path.as_str()) {
        (&Method::GET, "/_counts") => {
            let paths = standin.paths.lock().unwrap().clone();
            let total = standin.total.load(Ordering::Relaxed);
            return json_response(StatusCode::OK, &json!({"total": total, "paths": paths}));
        }
        (&Method::GET, "/_last_dialog") => {
            let dialog = standin.last_dialog.lock().unwrap().clone();
            return json_response(StatusCode::OK, &dialog);
        }
        _ => {}
    }
    standin.total.fetch_add(1, Ordering::Relaxed);
    *standin
        .paths
        .lock()
        .unwrap()
        .entry(format!("{method} {}", endpoint(&path)))
        .or_default() += 1;
    let Some(rest) = path.strip_prefix("/api/v4/") else {
        return json_response(StatusCode::NOT_FOUND, &json!({"id": "not_found"}));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let ok = |v: Value| json_response(StatusCode::OK, &v);
    match (&method, parts.as_slice()) {
        (&Method::GET, ["users", "me"]) => ok(json!({
            "id": BOT_ID, "username": "switchboard", "roles": "system_user", "is_bot": true
        })),
        (&Method::GET, ["users", id]) => ok(json!({
            "id": id, "username": "alice", "roles": "system_user"
        })),
        (&Method::GET, ["users", "username", name]) => ok(json!({
            "id": "benchuserid000000000000000", "username": name, "roles": "system_user"
        })),
        (&Method::GET, ["teams", "name", name]) => ok(json!({
            "id": TEAM_ID, "name": name, "display_name": name
        })),
        (&Method::GET, ["teams", id]) => {
            ok(json!({"id": id, "name": "main", "display_name": "Main"}))
        }
        (&Method::GET, ["users", _, "teams"]) => ok(json!([
            {"id": TEAM_ID, "name": "main", "display_name": "Main"}
        ])),
        (&Method::GET, ["channels", id]) => ok(json!({
            "id": id, "name": "town-square", "team_id": TEAM_ID, "type": "O"
        })),
        (&Method::GET, ["teams", _, "channels", "name", name]) => ok(json!({
            "id": "benchchannelid000000000000", "name": name, "team_id": TEAM_ID, "type": "O"
        })),
        (&Method::GET, ["hooks", "outgoing"]) => ok(json!([])),
        (&Method::GET, ["commands"]) => ok(Value::Array(standin.commands.lock().unwrap().clone())),
        (&Method::POST, ["commands"]) => {
            let mut command: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            let n = standin.commands.lock().unwrap().len();
            command["id"] = json!(format!("benchcommandid{n:012}"));
            command["token"] = json!(COMMAND_TOKEN);
            command["creator_id"] = json!(BOT_ID);
            standin.commands.lock().unwrap().push(command.clone());
            json_response(StatusCode::CREATED, &command)
        }
        (&Method::POST, ["posts"]) | (&Method::POST, ["posts", "ephemeral"]) => {
            let post: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            json_response(
                StatusCode::CREATED,
                &json!({
                    "id": "benchpostid000000000000000",
                    "channel_id": post.get("channel_id").cloned().unwrap_or(json!("")),
                    "message": post.get("message").cloned().unwrap_or(json!("")),
                    "user_id": BOT_ID, "create_at": 1, "update_at": 1
                }),
            )
        }
        (&Method::POST, ["actions", "dialogs", "open"]) => {
            *standin.last_dialog.lock().unwrap() =
                serde_json::from_slice(&body).unwrap_or(json!({}));
            ok(json!({"status": "OK"}))
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"id": "api.context.404.app_error", "message": "not in the stand-in", "status_code": 404}),
        ),
    }
}
