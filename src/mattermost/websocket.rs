//! WebSocket events (`/api/v4/websocket`), separate from REST.
//!
//! [`Client::events`] returns an [`EventStream`] whose background task owns the connection:
//! it authenticates with the `authentication_challenge` action, pings to check liveness,
//! reconnects with jittered exponential back-off, and resumes with `connection_id` and
//! `sequence_number` so the server replays what was missed. Sequence numbers are checked:
//! a repeat is dropped, a jump is reported as [`WsItem::Gap`].
//!
//! ```no_run
//! # async fn demo(client: switchboard::mattermost::Client) {
//! use futures::StreamExt;
//! let mut events = client.events(Default::default());
//! while let Some(item) = events.next().await {
//!     if let switchboard::mattermost::websocket::WsItem::Event(e) = item {
//!         println!("{} #{}", e.event, e.seq);
//!     }
//! }
//! # }
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{SinkExt, Stream, StreamExt};
use rand::Rng;
use reqwest::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::Client;
use super::models::Extra;

/// Settings of the event connection.
#[derive(Debug, Clone)]
pub struct WebSocketOptions {
    /// Interval between pings; a connection that answers none within the next interval is
    /// dropped and re-opened.
    pub ping_interval: Duration,
    /// First reconnect delay ceiling (full jitter below it).
    pub min_backoff: Duration,
    /// Largest reconnect delay ceiling.
    pub max_backoff: Duration,
}

impl Default for WebSocketOptions {
    fn default() -> Self {
        WebSocketOptions {
            ping_interval: Duration::from_secs(30),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The event envelope (`model.WebSocketEvent`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WsEvent {
    /// Who receives it (`user_id`, `channel_id`, `team_id` …).
    #[serde(default)]
    pub broadcast: Extra,
    /// The payload; its shape depends on `event`.
    #[serde(default)]
    pub data: Extra,
    /// Event name: `posted`, `hello`, `typing`, … (any name is accepted; match on
    /// [`kind`](Self::kind)).
    pub event: String,
    /// Sequence number on this connection.
    #[serde(default)]
    pub seq: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Events this client names; everything else is [`WsEventKind::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsEventKind {
    /// `hello`: the connection is ready (carries `connection_id`).
    Hello,
    /// `posted`: a new post.
    Posted,
    /// `post_edited`.
    PostEdited,
    /// `post_deleted`.
    PostDeleted,
    /// `reaction_added`.
    ReactionAdded,
    /// `reaction_removed`.
    ReactionRemoved,
    /// `typing`.
    Typing,
    /// `status_change`.
    StatusChange,
    /// `open_dialog`.
    OpenDialog,
    /// Any other event.
    Unknown(String),
}

impl WsEvent {
    /// The typed event name.
    pub fn kind(&self) -> WsEventKind {
        match self.event.as_str() {
            "hello" => WsEventKind::Hello,
            "posted" => WsEventKind::Posted,
            "post_edited" => WsEventKind::PostEdited,
            "post_deleted" => WsEventKind::PostDeleted,
            "reaction_added" => WsEventKind::ReactionAdded,
            "reaction_removed" => WsEventKind::ReactionRemoved,
            "typing" => WsEventKind::Typing,
            "status_change" => WsEventKind::StatusChange,
            "open_dialog" => WsEventKind::OpenDialog,
            other => WsEventKind::Unknown(other.to_owned()),
        }
    }
}

/// What the event stream yields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WsItem {
    /// An event, in order and without duplicates.
    Event(WsEvent),
    /// Events were missed: `expected` was the next sequence number, `received` arrived (or the
    /// server could not resume and started a new connection, `received` = its first `seq`).
    Gap {
        /// The sequence number expected.
        expected: i64,
        /// The sequence number received.
        received: i64,
    },
    /// The connection dropped; a reconnect follows after `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
}

/// A stream of [`WsItem`]s; dropping it stops the background task and closes the socket.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<WsItem>,
    task: JoinHandle<()>,
}

impl Stream for EventStream {
    type Item = WsItem;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsItem>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Client {
    /// Opens the event WebSocket (`GET /api/v4/websocket`,
    /// <https://api.mattermost.com/#tag/WebSocket>) with a background task that owns
    /// reconnects; needs a token.
    pub fn events(&self, options: WebSocketOptions) -> EventStream {
        let (tx, rx) = mpsc::channel(256);
        let task = tokio::spawn(run(self.clone(), options, tx));
        EventStream { rx, task }
    }
}

struct Resume {
    connection_id: Option<String>,
    /// The next sequence number expected.
    next_seq: i64,
}

async fn run(client: Client, options: WebSocketOptions, tx: mpsc::Sender<WsItem>) {
    let mut resume = Resume {
        connection_id: None,
        next_seq: 0,
    };
    let mut failures: u32 = 0;
    loop {
        let reason = match session(&client, &options, &tx, &mut resume, &mut failures).await {
            Ok(()) => return, // the receiver is gone
            Err(reason) => reason,
        };
        failures = failures.saturating_add(1);
        let ceiling = options
            .min_backoff
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(options.max_backoff);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let retry_in = Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis));
        tracing::debug!(%reason, ?retry_in, "websocket disconnected");
        if tx
            .send(WsItem::Disconnected { reason, retry_in })
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(retry_in).await;
    }
}

/// One connection; `Ok` when the consumer went away, `Err(reason)` to reconnect.
async fn session(
    client: &Client,
    options: &WebSocketOptions,
    tx: &mpsc::Sender<WsItem>,
    resume: &mut Resume,
    failures: &mut u32,
) -> Result<(), String> {
    let mut url = client.websocket_url();
    if let Some(id) = &resume.connection_id {
        url = format!(
            "{url}?connection_id={}&sequence_number={}",
            form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>(),
            resume.next_seq
        );
    }
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("bad WebSocket URL: {e}"))?;
    let token = client.auth_header().cloned();
    if let Some(auth) = &token {
        request.headers_mut().insert(AUTHORIZATION, auth.clone());
    }
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| format!("connect failed: {e}"))?;
    if let Some(token) = token.as_ref().and_then(|t| t.to_str().ok()) {
        let token = SecretString::from(token.trim_start_matches("Bearer ").to_owned());
        let challenge = serde_json::json!({
            "seq": 1,
            "action": "authentication_challenge",
            "data": { "token": token.expose_secret() },
        });
        socket
            .send(Message::text(challenge.to_string()))
            .await
            .map_err(|e| format!("auth challenge failed: {e}"))?;
    }
    let mut ping = tokio::time::interval(options.ping_interval);
    ping.tick().await;
    let mut awaiting_pong = false;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if awaiting_pong {
                    return Err("no pong within the ping interval".to_owned());
                }
                awaiting_pong = true;
                socket.send(Message::Ping(Vec::new().into())).await.map_err(|e| format!("ping failed: {e}"))?;
            }
            frame = socket.next() => {
                let text = match frame {
                    None => return Err("connection closed".to_owned()),
                    Some(Err(e)) => return Err(format!("read failed: {e}")),
                    Some(Ok(Message::Pong(_))) => { awaiting_pong = false; continue }
                    Some(Ok(Message::Close(_))) => return Err("closed by server".to_owned()),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                awaiting_pong = false;
                let Ok(event) = serde_json::from_str::<WsEvent>(&text) else {
                    continue; // a reply to our action (`seq_reply`), not an event
                };
                if event.kind() == WsEventKind::Hello {
                    *failures = 0;
                    let id = event.data.get("connection_id").and_then(|v| v.as_str()).map(str::to_owned);
                    if id.is_some() && id != resume.connection_id {
                        if resume.connection_id.is_some() && event.seq != resume.next_seq {
                            // A new connection: the server could not resume ours.
                            let gap = WsItem::Gap { expected: resume.next_seq, received: event.seq };
                            if tx.send(gap).await.is_err() { return Ok(()); }
                        }
                        resume.connection_id = id;
                        resume.next_seq = event.seq;
                    }
                }
                if event.seq < resume.next_seq {
                    continue; // already delivered
                }
                if event.seq > resume.next_seq {
                    let gap = WsItem::Gap { expected: resume.next_seq, received: event.seq };
                    if tx.send(gap).await.is_err() { return Ok(()); }
                }
                resume.next_seq = event.seq + 1;
                if tx.send(WsItem::Event(event)).await.is_err() {
                    let _ = socket.close(None).await;
                    return Ok(());
                }
            }
        }
    }
}
