//! The bench's baseline: the smallest axum + reqwest program doing the same observable work as
//! Switchboard's bench routes (`bench/routes/`), and nothing more.
//!
//! - `POST /commands/s1`: parse the slash-command form, check its token in constant time,
//!   answer the same ephemeral JSON as `bench/routes/s1.toml`.
//! - `POST /commands/s2`: the same, plus one `POST /api/v4/posts` into the command's channel
//!   over a keep-alive pool, then the same confirmation as `bench/routes/s2.toml`.
//! - `POST /dialogs/s3`: parse the dialog submission JSON, check its signed state as
//!   Switchboard does (HMAC-SHA256 in constant time, expiry, purpose, route, step, user and
//!   channel; 403 otherwise), use the state up once (a replay gets the same error answer; a
//!   submission answered with field errors leaves it usable, as Mattermost sends it again),
//!   validate the fields the way `bench/routes/s3.toml` declares them, answer `{}` or the
//!   same errors. Mattermost signs nothing in a submission, so a program that skipped the
//!   state would accept forged and replayed ones: work a careful hand-written program does too.
//!
//! Usage: `minimal <listen addr> <mattermost url> <command token>`; the bot token is
//! `BENCH_BOT_TOKEN` (default `bench-bot-token`), the state's key `BENCH_SIGNING_KEY`
//! (`kid:BASE64SECRET`, the form of Switchboard's `[signing] keys`).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

struct App {
    token: String,
    posts_url: String,
    bearer: String,
    http: reqwest::Client,
    /// The state's key id and its HMAC, keyed once.
    kid: String,
    mac: Hmac<Sha256>,
    /// The MACs of the states used up.
    used: Mutex<HashSet<String>>,
}

type Shared = State<Arc<App>>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:3100".into());
    let mattermost = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8065".into());
    let token = args.next().unwrap_or_else(|| "bench-command-token".into());
    let bot = std::env::var("BENCH_BOT_TOKEN").unwrap_or_else(|_| "bench-bot-token".into());
    let key = std::env::var("BENCH_SIGNING_KEY").expect("BENCH_SIGNING_KEY=kid:BASE64SECRET");
    let (kid, secret) = key
        .split_once(':')
        .expect("BENCH_SIGNING_KEY=kid:BASE64SECRET");
    let secret = STANDARD
        .decode(secret)
        .expect("the signing secret is base64");
    let app = Arc::new(App {
        token,
        posts_url: format!("{}/api/v4/posts", mattermost.trim_end_matches('/')),
        bearer: format!("Bearer {bot}"),
        http: reqwest::Client::new(),
        kid: kid.to_owned(),
        mac: Hmac::new_from_slice(&secret).expect("HMAC takes any key"),
        used: Mutex::new(HashSet::new()),
    });
    let router = Router::new()
        .route("/commands/s1", post(s1))
        .route("/commands/s2", post(s2))
        .route("/dialogs/{route}", post(s3))
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
    #[serde(default)]
    state: String,
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    channel_id: String,
}

/// What the signed state asserts (Switchboard's `signing::Claims`, the fields checked here).
#[derive(Deserialize)]
struct Claims {
    p: String,
    r: String,
    s: String,
    #[serde(default)]
    u: String,
    #[serde(default)]
    c: String,
    x: i64,
}

/// The state's MAC when it is `sb1.<kid>.<claims>.<mac>`, signed with our key, unexpired and
/// issued for this dialog, route, user and channel.
fn verified_state<'a>(app: &App, route: &str, submission: &'a Submission) -> Option<&'a str> {
    let (signed, mac) = submission.state.rsplit_once('.')?;
    let mut parts = signed.splitn(3, '.');
    let (Some("sb1"), Some(kid), Some(payload)) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if kid != app.kid {
        return None;
    }
    let expected = URL_SAFE_NO_PAD.decode(mac).ok()?;
    let mut hmac = app.mac.clone();
    hmac.update(signed.as_bytes());
    hmac.verify_slice(&expected).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    let fresh = u64::try_from(claims.x).is_ok_and(|x| x >= now);
    let ours = claims.p == "d" && claims.r == route && claims.s == submission.callback_id;
    let theirs = (claims.u.is_empty() || claims.u == submission.user_id)
        && (claims.c.is_empty() || claims.c == submission.channel_id);
    (fresh && ours && theirs).then_some(mac)
}

async fn s3(State(app): Shared, Path(route): Path<String>, body: Bytes) -> Response {
    let Ok(submission) = serde_json::from_slice::<Submission>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(mac) = verified_state(&app, &route, &submission) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    if !app.used.lock().unwrap().insert(mac.to_owned()) {
        return json(&json!({"error": "This dialog was already submitted."}));
    }
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
        // The dialog stays open and Mattermost sends the same state with the corrected values.
        app.used.lock().unwrap().remove(mac);
        json(&json!({ "errors": errors }))
    }
}
