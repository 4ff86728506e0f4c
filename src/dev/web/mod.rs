//! The page `switchboard dev` serves: the simulated Mattermost as a person sees it in a
//! browser, acting as any seeded user.
//!
//! Static HTML, CSS and JavaScript embedded in the binary (no build step, no CDN); a small
//! JSON API that acts as the chosen user through the same code as the REPL ([`super::act`],
//! the simulator's [`World`] operations); live updates over server-sent events.
//!
//! | route | does |
//! |---|---|
//! | `GET /` (`/app.js`, `/app.css`) | the page |
//! | `GET /api/world` | team, users (with tokens), channels, commands, the simulator's URL |
//! | `GET /api/posts?channel=` | a channel's stored posts, oldest first |
//! | `POST /api/type` | `{user, channel, root_id, text}`: a slash command or a message |
//! | `POST /api/dialog` | `{user, channel, dialog_id, submission, cancel}`: answers a dialog |
//! | `POST /api/refresh` | `{user, channel, dialog_id, submission}`: a `refresh` field changed; the new form comes as a dialog event |
//! | `POST /api/lookup` | `{user, channel, dialog_id, field, query, submission}`: a dynamic select's options |
//! | `POST /api/upload?user=&channel=&name=` | the body as a file uploaded by `user`: `{id}` |
//! | `POST /api/click` | `{user, post_id, action_id, selected}`: a button or menu choice |
//! | `GET /api/events` | server-sent events: posts, edits, dialogs, integration and API calls |
//!
//! Only requests addressed to this machine by a loopback name (`Host: 127.0.0.1:…`,
//! `localhost:…`, `[::1]:…`) are served: the page acts as any user and lists their tokens, so
//! a site whose DNS name an attacker points at 127.0.0.1 (DNS rebinding) must not reach it.
//! A `POST` that a browser marks as sent from another page (an `Origin` other than the page's
//! own, or `Sec-Fetch-Site` other than `same-origin`/`none`) is refused too: a form on any
//! site the user visits could otherwise post to the page's API (cross-site request forgery);
//! `/api/upload` takes any body, so a plain form could upload files as any user.

mod dialogs;
mod events;

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::act::{self, Place};
use crate::sim::{SimError, World};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const APP_CSS: &str = include_str!("page/app.css");

/// What the page's handlers share.
#[derive(Clone, Debug)]
struct Page {
    world: World,
    team: String,
    sim_url: String,
    bot_token: String,
    switchboard_url: String,
    /// Cancelled when `dev` stops: event streams end, so the server can stop.
    stopping: tokio_util::sync::CancellationToken,
}

/// Where the page runs, and what it shows about the session.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) world: World,
    pub(super) team: String,
    pub(super) sim_url: String,
    pub(super) bot_token: String,
    pub(super) switchboard_url: String,
}

/// Binds `127.0.0.1:port` (0: the OS picks) and serves the page until `stop` resolves.
pub(super) async fn serve(
    session: Session,
    port: u16,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;
    let stopping = tokio_util::sync::CancellationToken::new();
    let state = Page {
        world: session.world,
        team: session.team,
        sim_url: session.sim_url,
        bot_token: session.bot_token,
        switchboard_url: session.switchboard_url,
        stopping: stopping.clone(),
    };
    let task = tokio::spawn(async move {
        // An open page holds an event stream that never ends by itself: end it first, or
        // the graceful shutdown would wait for the browser tab to close.
        let stop = async move {
            stop.await;
            stopping.cancel();
        };
        if let Err(error) = axum::serve(listener, router(state))
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(%error, "the dev page stopped");
        }
    });
    Ok((addr, task))
}

fn router(state: Page) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/world", get(world))
        .route("/api/posts", get(posts))
        .route("/api/type", post(type_line))
        .route("/api/dialog", post(dialogs::answer))
        .route("/api/lookup", post(dialogs::lookup))
        .route("/api/refresh", post(dialogs::refresh))
        .route("/api/upload", post(dialogs::upload))
        .route("/api/click", post(click))
        .route("/api/events", get(events::stream))
        .layer(axum::middleware::from_fn(loopback_host_only))
        .with_state(state)
}

/// Refuses (421) a request whose `Host` is not a loopback name, and (403) a write a browser
/// sent from another page (see the module docs).
async fn loopback_host_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !is_loopback_host(host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "the dev page answers only requests addressed to 127.0.0.1, localhost or [::1]\n",
        )
            .into_response();
    }
    let reads = matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if !reads && from_another_page(headers, host) {
        return refused(
            StatusCode::FORBIDDEN,
            "the dev page's API takes changes only from the page itself",
        );
    }
    next.run(request).await
}

/// Whether a browser says the request comes from a page other than the one at `host`:
/// `Origin` names another origin (`null` included), or `Sec-Fetch-Site` is `cross-site` or
/// `same-site` (another port of 127.0.0.1 is the same site). Requests without either header
/// (curl, the tests) are not from a browser page.
fn from_another_page(headers: &axum::http::HeaderMap, host: &str) -> bool {
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or(""));
    let other_origin = origin.is_some_and(|o| {
        o.strip_prefix("http://")
            .is_none_or(|rest| !rest.eq_ignore_ascii_case(host))
    });
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|s| s.to_str().ok())
        .unwrap_or("none");
    other_origin || !matches!(fetch_site, "same-origin" | "none")
}

/// Whether `host` (a `Host` header: a name and perhaps `:port`) names this machine's loopback.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name == "127.0.0.1" || name == "[::1]" || name.eq_ignore_ascii_case("localhost")
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // The page shows hostile text: no inline scripts, nothing from elsewhere.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src * data:; style-src 'self'; script-src 'self'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// A refusal the page shows beside what was tried.
fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn sim_error(e: &SimError) -> Response {
    refused(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
}

async fn world(State(page): State<Page>) -> Json<Value> {
    let w = &page.world;
    let users: Vec<Value> = w
        .users()
        .into_iter()
        .map(|(id, name)| {
            json!({
                "id": id,
                "username": name,
                "system_admin": w.is_system_admin(&name),
                "is_bot": name == "switchboard",
                "token": if name == "switchboard" { Some(page.bot_token.clone()) } else { w.user_token(&name) },
            })
        })
        .collect();
    let channels: Vec<Value> = w
        .channels(&page.team)
        .into_iter()
        .map(|(id, name)| {
            json!({
                "id": id,
                "members": w.channel_members(&page.team, &name),
                "type": w.channel_type(&page.team, &name),
                "name": name,
            })
        })
        .collect();
    let mut commands = w.commands(&page.team);
    commands.sort_by(|a, b| a.trigger.cmp(&b.trigger));
    let commands: Vec<Value> = commands
        .iter()
        .map(|c| {
            json!({
                "trigger": c.trigger,
                "hint": c.auto_complete_hint,
                "description": c.auto_complete_desc,
            })
        })
        .collect();
    let hook_words: Vec<String> = w
        .outgoing_hooks(&page.team)
        .into_iter()
        .flat_map(|h| h.trigger_words)
        .collect();
    Json(json!({
        "team": page.team,
        "sim_url": page.sim_url,
        "switchboard_url": page.switchboard_url,
        "users": users,
        "channels": channels,
        "commands": commands,
        "hook_words": hook_words,
        "dialogs": w.opened_dialogs().iter().map(events::dialog_json).collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize)]
struct ChannelQuery {
    channel: String,
}

async fn posts(State(page): State<Page>, Query(q): Query<ChannelQuery>) -> Response {
    if page.world.channel_id(&page.team, &q.channel).is_none() {
        return refused(StatusCode::NOT_FOUND, format!("no channel ~{}", q.channel));
    }
    let posts: Vec<Value> = page
        .world
        .posts_in(&page.team, &q.channel)
        .iter()
        .map(crate::sim::SimPost::to_json)
        .collect();
    Json(json!({ "posts": posts })).into_response()
}

#[derive(Debug, Deserialize)]
struct Typed {
    user: String,
    channel: String,
    #[serde(default)]
    root_id: String,
    text: String,
}

async fn type_line(State(page): State<Page>, Json(typed): Json<Typed>) -> Response {
    let text = typed.text.trim();
    if text.is_empty() {
        return refused(StatusCode::BAD_REQUEST, "type a message or a /command");
    }
    let place = Place {
        team: &page.team,
        user: &typed.user,
        channel: &typed.channel,
        root_id: &typed.root_id,
    };
    match act::type_line(&page.world, place, text).await {
        Ok(notice) => Json(json!({ "notice": notice })).into_response(),
        Err(e) => sim_error(&e),
    }
}

#[derive(Debug, Deserialize)]
struct Click {
    user: String,
    post_id: String,
    action_id: String,
    #[serde(default)]
    selected: Option<String>,
}

async fn click(State(page): State<Page>, Json(click): Json<Click>) -> Response {
    match page
        .world
        .click_action(
            &click.user,
            &click.post_id,
            &click.action_id,
            click.selected.as_deref(),
        )
        .await
    {
        Ok(reply) => Json(json!({ "reply": reply })).into_response(),
        Err(e) => sim_error(&e),
    }
}
