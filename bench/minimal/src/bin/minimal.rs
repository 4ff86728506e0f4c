//! The bench's baseline: the smallest axum + reqwest program doing the same observable work as
//! Switchboard's bench routes (`bench/routes/`), and nothing more.
//!
//! - `POST /commands/s1`: parse the slash-command form, check its token in constant time,
//!   answer the same ephemeral JSON as `bench/routes/s1.toml`.
//! - `POST /commands/s2`: the same, plus one `POST /api/v4/posts` into the command's channel
//!   over a keep-alive pool, then the same confirmation as `bench/routes/s2.toml`.
//! - `POST /dialogs/s3`: parse the dialog submission JSON, validate the fields the way
//!   `bench/routes/s3.toml` declares them, answer `{}` or the same errors.
//!
//! Usage: `minimal <listen addr> <mattermost url> <command token>`; the bot token is
//! `BENCH_BOT_TOKEN` (default `bench-bot-token`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

struct App {
    token: String,
    posts_url: String,
    bearer: String,
    http: reqwest::Client,
}

type Shared = State<Arc<App>>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:3100".into());
    let mattermost = args.next().unwrap_or_else(|| "http://127.0.0.1:8065".into());
    let token = args.next().unwrap_or_else(|| "bench-command-token".into());
    let bot = std::env::var("BENCH_BOT_TOKEN").unwrap_or_else(|_| "bench-bot-token".into());
    let app = Arc::new(App {
        token,
        posts_url: format!("{}/api/v4/posts", mattermost.trim_end_matches('/')),
        bearer: format!("Bearer {bot}"),
        http: reqwest::Client::new(),
    });
    let router = Router::new()
        .route("/commands/s1", post(s1))
        .route("/commands/s2", post(s2))
        .route("/dialogs/s3", post(s3))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&listen).await.unwrap();
    // Ends on SIGTERM (how the bench stops it) by returning from main, so a profiling build
    // (bench/pgo.sh) writes its profile at exit.
    let terminated = async {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(terminated)
        .await
        .unwrap();
}

/// The slash-command fields the routes use.
#[derive(Default)]
struct Command {
    token: String,
    channel_id: String,
    user_name: String,
    text: String,
}

fn parse_command(body: &[u8]) -> Command {
    let mut command = Command::default();
    for (key, value) in form_urlencoded::parse(body) {
        match &*key {
            "token" => command.token = value.into_owned(),
            "channel_id" => command.channel_id = value.into_owned(),
            "user_name" => command.user_name = value.into_owned(),
            "text" => command.text = value.into_owned(),
            _ => {}
        }
    }
    command
}

fn verified(app: &App, body: &[u8]) -> Option<Command> {
    let command = parse_command(body);
    let ok: bool = command.token.as_bytes().ct_eq(app.token.as_bytes()).into();
    ok.then_some(command)
}

fn json(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn ephemeral(text: &str) -> Response {
    json(&json!({"response_type": "ephemeral", "text": text}))
}

async fn s1(State(app): Shared, body: Bytes) -> Response {
    let Some(command) = verified(&app, &body) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let text = if command.text.is_empty() {
        format!("Hello, @{}! Add some text after /s1.", command.user_name)
    } else {
        format!("Hello, @{}! You said: {}", command.user_name, command.text)
    };
    ephemeral(&text)
}

async fn s2(State(app): Shared, body: Bytes) -> Response {
    let Some(command) = verified(&app, &body) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let posted = app
        .http
        .post(&app.posts_url)
        .header(header::AUTHORIZATION, &app.bearer)
        .json(&json!({"channel_id": command.channel_id, "message": command.text}))
        .send()
        .await;
    match posted {
        Ok(r) if r.status().is_success() => {
            let _ = r.bytes().await;
            ephemeral("Posted.")
        }
        _ => ephemeral("⚠️ `s2`: posting failed"),
    }
}

#[derive(Deserialize)]
struct Submission {
    #[serde(default)]
    submission: BTreeMap<String, Value>,
}

async fn s3(body: Bytes) -> Response {
    let Ok(submission) = serde_json::from_slice::<Submission>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let text = |name: &str| match submission.submission.get(name) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let mut errors = BTreeMap::new();
    let version = text("version");
    let length = version.chars().count();
    if version.is_empty() {
        errors.insert("version", "This field is required.".to_owned());
    } else if length < 2 {
        errors.insert("version", "At least 2 characters.".to_owned());
    } else if length > 32 {
        errors.insert("version", "At most 32 characters.".to_owned());
    }
    let env = text("env");
    if env.is_empty() {
        errors.insert("env", "This field is required.".to_owned());
    } else if env != "staging" && env != "production" {
        errors.insert("env", "Choose one of the offered options.".to_owned());
    }
    if errors.is_empty() {
        json(&json!({}))
    } else {
        json(&json!({ "errors": errors }))
    }
}
