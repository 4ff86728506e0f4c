//! WebSocket events (`GET /api/v4/websocket`,
//! <https://api.mattermost.com/#tag/WebSocket>), separate from REST.
//!
//! [`Client::events`] returns an [`EventStream`] whose background task owns the connection:
//! it authenticates, checks liveness with pings, reconnects with jittered exponential
//! back-off, and resumes so the server replays what was missed. Sequence numbers are checked:
//! a repeat is dropped, a jump is reported as [`WsItem::Gap`], and a server that could not
//! resume is reported as [`WsItem::ResumeFailed`].
//!
//! ```no_run
//! # async fn demo(client: switchboard::mattermost::Client) {
//! use futures::StreamExt;
//! use switchboard::mattermost::websocket::WsItem;
//! let mut events = client.events(Default::default());
//! while let Some(item) = events.next().await {
//!     match item {
//!         WsItem::Event(e) => println!("{} #{}", e.event, e.seq),
//!         WsItem::ResumeFailed { .. } => { /* re-read what matters over REST */ }
//!         _ => {}
//!     }
//! }
//! # }
//! ```
//!
//! # What the server does (checked against Mattermost's source)
//!
//! Paths are in `github.com/mattermost/mattermost`, under `server/`.
//!
//! - **Resume needs the token on the upgrade request.** `channels/api4/websocket.go`
//!   (`connectWebSocket`) only looks at `connection_id` when the upgrade request already carries
//!   a session; otherwise it makes a new connection id. So the `Authorization` header is sent on
//!   the handshake. The `authentication_challenge` action (with the token) is sent as well,
//!   as the Go client in `public/model/websocket_client.go` does; the server ignores it when the
//!   header already authenticated the socket (`channels/app/platform/websocket_router.go`).
//!   Without any authentication the server closes the socket after 5 s
//!   (`authCheckInterval` in `channels/app/platform/web_conn.go`), so without a token this stream
//!   ends at once. A token the server does not accept gets the socket closed right after the
//!   challenge, before any `hello` (`ServeWebSocket` in `websocket_router.go`); when a socket
//!   ends before anything arrived, this client asks `GET /users/me`, and on a 401 yields
//!   [`WsItem::Unauthorized`] and ends instead of reconnecting forever.
//! - **`sequence_number` is the next sequence number expected**, i.e. the last `seq` received
//!   plus one. In `web_conn.go` the connection's counter starts at the client's number;
//!   `writePump` replays the dead queue (the last 128 events sent) from the entry whose `seq`
//!   *equals* it (`isInDeadQueue`, `drainDeadQueue`), and counts the resume as lossless when the
//!   newest queued event has `seq == sequence_number - 1` (`hasMsgLoss`). The web app sends the
//!   same number (`serverSequence = msg.seq + 1` in `webapp/platform/client/src/websocket.ts`).
//!   `sequence_number` must accompany `connection_id`, and must be a non-negative integer, or
//!   the server closes the socket (`PopulateWebConnConfig`); this client always sends both.
//! - **A successful resume sends no `hello`**; replayed events simply continue the old
//!   sequence. `channels/app/platform/web_hub.go` sends `hello` only when the connection's
//!   reuse count is 0 (fresh connection).
//! - **A `hello` with a different `connection_id` means the server could not resume.** It makes
//!   a new id when the old connection is unknown (`PopulateWebConnConfig`: server restart, the
//!   inactive connection reaped after 5 min by `inactiveConnReaperInterval` in `web_hub.go`, or
//!   a cluster node that never saw it) or when the wanted events have left the dead queue
//!   (`writePump`: new id, counter reset to 0, `hello` sent). Either way sequence numbers restart
//!   at 0 with that `hello`, and events may have been missed: this client yields
//!   [`WsItem::ResumeFailed`]. `hub.CheckConn` only finds connections the server already marked
//!   inactive, so a reconnect racing the server's own detection of the drop also starts afresh.
//! - **Liveness.** The server sends a WebSocket ping every 60 s and drops a connection that has
//!   not answered with a pong for 100 s (`pingInterval`, `pongWaitTime`, the pong handler in
//!   `readPump`, `web_conn.go`); only pongs extend that deadline. This client answers pings as
//!   long as it reads (tungstenite queues the pong and flushes it on the next read). It also
//!   pings every [`WebSocketOptions::ping_interval`] (the web app pings every 30 s, with the
//!   `ping` action because browsers cannot send ping frames) and reconnects when a whole
//!   interval passes after a ping without anything arriving.
//! - **Replies are not events.** Replies to actions carry `seq_reply` and no `event`
//!   (`public/model/websocket_message.go`); they are skipped.
//!
//! # Closing
//!
//! [`EventStream::close`] sends a close frame (1000, normal closure), waits up to 5 s for the
//! server's close frame and ends the task; nothing reconnects afterwards. Dropping the stream
//! does the same in the background.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{SinkExt, Stream, StreamExt};
use rand::RngExt;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::Client;
use super::models::Extra;

/// How long a clean close waits for the server's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of the event connection (<https://api.mattermost.com/#tag/WebSocket>).
#[derive(Debug, Clone)]
pub struct WebSocketOptions {
    /// Interval between pings; when a whole interval passes after a ping with nothing received,
    /// the connection is dropped and re-opened (default 30 s, as the Mattermost web app).
    pub ping_interval: Duration,
    /// Time allowed to open the connection: TCP, TLS and the upgrade handshake (default 10 s).
    pub connect_timeout: Duration,
    /// First reconnect delay ceiling; the delay is drawn between half of it and it.
    pub min_backoff: Duration,
    /// Largest reconnect delay ceiling.
    pub max_backoff: Duration,
}

impl Default for WebSocketOptions {
    fn default() -> Self {
        WebSocketOptions {
            ping_interval: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The event envelope (`model.WebSocketEvent`,
/// <https://api.mattermost.com/#tag/WebSocket>).
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
    /// Sequence number on this connection (0 is the `hello`).
    #[serde(default)]
    pub seq: i64,
    /// Fields this client does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Events this client names; everything else is [`WsEventKind::Unknown`]
/// (<https://api.mattermost.com/#tag/WebSocket>).
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
    ///
    /// API: <https://api.mattermost.com/#tag/WebSocket>.
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

    /// The `connection_id` a `hello` carries.
    ///
    /// API: <https://api.mattermost.com/#tag/WebSocket>.
    pub fn connection_id(&self) -> Option<&str> {
        self.data.get("connection_id").and_then(|v| v.as_str())
    }
}

/// What the event stream yields (<https://api.mattermost.com/#tag/WebSocket>).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WsItem {
    /// An event, in order and without duplicates.
    Event(WsEvent),
    /// Events were skipped on one connection: `expected` was the next sequence number and
    /// `received` arrived; the event itself follows.
    Gap {
        /// The sequence number expected.
        expected: i64,
        /// The sequence number received.
        received: i64,
    },
    /// The server could not resume the previous connection: its `hello` carries a new
    /// `connection_id` (server restart, connection reaped, or the missed events no longer
    /// buffered). Events from `expected` on the old connection may be lost; re-read the state
    /// that matters over REST. The new connection's `hello` (`seq` 0) follows.
    ResumeFailed {
        /// The sequence number the old connection would have sent next.
        expected: i64,
    },
    /// Mattermost refused the token: the socket closed before `hello` (the server closes it
    /// when the `authentication_challenge` names no valid session,
    /// `channels/app/platform/websocket_router.go`) and `GET /users/me` answered 401. The
    /// stream ends after this item: reconnecting with the same token cannot succeed.
    Unauthorized {
        /// Mattermost's error for `GET /users/me`.
        reason: String,
    },
    /// The connection dropped; a reconnect follows after `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
}

/// A stream of [`WsItem`]s (<https://api.mattermost.com/#tag/WebSocket>).
///
/// Ends only when the client has no token or Mattermost refuses it ([`WsItem::Unauthorized`]).
/// [`close`](Self::close) (or dropping the stream)
/// closes the WebSocket with a close frame and stops reconnecting.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<WsItem>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Stream for EventStream {
    type Item = WsItem;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsItem>> {
        self.rx.poll_recv(cx)
    }
}

impl EventStream {
    /// Closes the connection: sends a close frame (1000), waits up to 5 s for the server's
    /// answer, and returns once the background task has ended. No reconnect follows.
    ///
    /// API: <https://api.mattermost.com/#tag/WebSocket>.
    pub async fn close(mut self) {
        self.stop.cancel();
        // Unblocks a task waiting for room in the channel; items not yet read are dropped.
        self.rx.close();
        let _ = (&mut self.task).await;
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // The task sends the close frame and ends by itself (every wait in it is bounded or
        // cancellable); aborting would drop the socket without a close frame.
        self.stop.cancel();
    }
}

impl Client {
    /// Opens the event WebSocket (`GET /api/v4/websocket`,
    /// <https://api.mattermost.com/#tag/WebSocket>) with a background task that owns
    /// reconnects. Needs a token; without one the stream ends at once. Must be called within a
    /// tokio runtime.
    pub fn events(&self, options: WebSocketOptions) -> EventStream {
        let (tx, rx) = mpsc::channel(256);
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(self.clone(), options, tx, stop.clone()));
        EventStream { rx, stop, task }
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where a reconnect resumes.
struct Resume {
    /// From the last `hello`; `None` until the first one.
    connection_id: Option<String>,
    /// The next sequence number expected; sent as `sequence_number`.
    next_seq: i64,
    /// Consecutive failed connections, for the back-off; reset by the first event received.
    failures: u32,
}

/// How one connection ended.
enum End {
    /// Closed on purpose (close, drop, consumer gone): stop.
    Stopped,
    /// Lost: reconnect.
    Lost(String),
    /// The upgrade succeeded but the socket ended before anything arrived: what Mattermost does
    /// with a token it does not accept (or a resume that dropped at once).
    LostBeforeAnything(String),
}

async fn run(
    client: Client,
    options: WebSocketOptions,
    tx: mpsc::Sender<WsItem>,
    stop: CancellationToken,
) {
    let Some(auth) = client.auth_header().cloned() else {
        tracing::debug!("mattermost websocket: no token, not connecting");
        return;
    };
    let mut resume = Resume {
        connection_id: None,
        next_seq: 0,
        failures: 0,
    };
    loop {
        let reason = match connection(&client, &auth, &options, &tx, &stop, &mut resume).await {
            End::Stopped => return,
            End::Lost(reason) => reason,
            End::LostBeforeAnything(reason) => {
                // Ask over REST whether the token is the problem, rather than reconnecting
                // forever with one the server closes every socket for.
                let users = client.users();
                let checked = tokio::select! {
                    _ = stop.cancelled() => return,
                    checked = users.me() => checked,
                };
                match checked {
                    Err(error) if error.is_unauthorized() => {
                        let reason = error.to_string();
                        tracing::warn!(%reason, "mattermost websocket: the token is refused");
                        deliver(&tx, &stop, WsItem::Unauthorized { reason }).await;
                        return;
                    }
                    _ => reason,
                }
            }
        };
        resume.failures = resume.failures.saturating_add(1);
        let retry_in = backoff(&options, resume.failures);
        tracing::debug!(%reason, ?retry_in, "mattermost websocket disconnected");
        if !deliver(&tx, &stop, WsItem::Disconnected { reason, retry_in }).await {
            return;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(retry_in) => {}
        }
    }
}

/// Full jitter between half the ceiling and the ceiling, which doubles per failure.
fn backoff(options: &WebSocketOptions, failures: u32) -> Duration {
    let ceiling = options
        .min_backoff
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(options.max_backoff);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

/// Hands an item to the consumer; `false` when it is gone or the stream is closing.
async fn deliver(tx: &mpsc::Sender<WsItem>, stop: &CancellationToken, item: WsItem) -> bool {
    tokio::select! {
        biased;
        _ = stop.cancelled() => false,
        sent = tx.send(item) => sent.is_ok(),
    }
}

/// One connection, from handshake to its end.
async fn connection(
    client: &Client,
    auth: &HeaderValue,
    options: &WebSocketOptions,
    tx: &mpsc::Sender<WsItem>,
    stop: &CancellationToken,
    resume: &mut Resume,
) -> End {
    let mut url = client.websocket_url();
    if let Some(id) = &resume.connection_id {
        url = format!(
            "{url}?connection_id={}&sequence_number={}",
            form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>(),
            resume.next_seq
        );
    }
    let mut request = match url.into_client_request() {
        Ok(request) => request,
        Err(e) => return End::Lost(format!("bad WebSocket URL: {e}")),
    };
    // On the upgrade itself: the server resumes only sessions it knows at upgrade time.
    request.headers_mut().insert(AUTHORIZATION, auth.clone());
    let connect = tokio::time::timeout(
        options.connect_timeout,
        tokio_tungstenite::connect_async(request),
    );
    let mut socket = tokio::select! {
        _ = stop.cancelled() => return End::Stopped,
        connected = connect => match connected {
            Err(_) => return End::Lost(format!("connect timed out after {:?}", options.connect_timeout)),
            Ok(Err(e)) => return End::Lost(format!("connect failed: {e}")),
            Ok(Ok((socket, _response))) => socket,
        },
    };
    if let Err(reason) = send_challenge(&mut socket, auth, options.ping_interval).await {
        return End::Lost(reason);
    }

    let start = Instant::now() + options.ping_interval;
    let mut ping = tokio::time::interval_at(start, options.ping_interval);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // A ping was sent and nothing has arrived since.
    let mut ping_unanswered = false;
    // Whether any frame arrived on this connection.
    let mut heard = false;
    let lost = |heard: bool, reason: String| {
        if heard {
            End::Lost(reason)
        } else {
            End::LostBeforeAnything(reason)
        }
    };
    loop {
        // Biased: frames already received (a pong among them) are handled before the ping
        // deadline is checked, so a consumer that was slow to read does not cause a reconnect.
        tokio::select! {
            biased;
            _ = stop.cancelled() => {
                close_cleanly(&mut socket).await;
                return End::Stopped;
            }
            frame = socket.next() => {
                ping_unanswered = false;
                let text = match frame {
                    None => return lost(heard, "connection closed".to_owned()),
                    Some(Err(e)) => return lost(heard, format!("read failed: {e}")),
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite has queued our close frame in answer; send it.
                        let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.flush()).await;
                        let why = frame.map(|f| format!(" ({} {})", f.code, f.reason)).unwrap_or_default();
                        return lost(heard, format!("closed by server{why}"));
                    }
                    Some(Ok(Message::Text(text))) => {
                        heard = true;
                        text
                    }
                    // Pings are answered by tungstenite on the next read; pongs only prove life.
                    Some(Ok(_)) => continue,
                };
                let Ok(event) = serde_json::from_str::<WsEvent>(&text) else {
                    continue; // a reply to an action (`seq_reply`), not an event
                };
                for item in sequence(resume, event) {
                    if !deliver(tx, stop, item).await {
                        close_cleanly(&mut socket).await;
                        return End::Stopped;
                    }
                }
            }
            _ = ping.tick() => {
                if ping_unanswered {
                    return End::Lost(format!("no answer to a ping within {:?}", options.ping_interval));
                }
                let sent = tokio::time::timeout(options.ping_interval, socket.send(Message::Ping(Vec::new().into()))).await;
                match sent {
                    Ok(Ok(())) => ping_unanswered = true,
                    Ok(Err(e)) => return End::Lost(format!("ping failed: {e}")),
                    Err(_) => return End::Lost("ping could not be sent in time".to_owned()),
                }
            }
        }
    }
}

/// The `authentication_challenge` action (`seq` 1 on each connection).
async fn send_challenge(
    socket: &mut Socket,
    auth: &HeaderValue,
    limit: Duration,
) -> Result<(), String> {
    let Ok(header) = auth.to_str() else {
        return Ok(()); // not representable as text; the header alone authenticates
    };
    let token = SecretString::from(header.trim_start_matches("Bearer ").to_owned());
    let challenge = serde_json::json!({
        "seq": 1,
        "action": "authentication_challenge",
        "data": { "token": token.expose_secret() },
    });
    match tokio::time::timeout(limit, socket.send(Message::text(challenge.to_string()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("auth challenge failed: {e}")),
        Err(_) => Err("auth challenge could not be sent in time".to_owned()),
    }
}

/// Checks an event against the expected sequence number and returns what to yield.
fn sequence(resume: &mut Resume, event: WsEvent) -> Vec<WsItem> {
    let mut items = Vec::new();
    resume.failures = 0;
    if event.kind() == WsEventKind::Hello {
        if let Some(id) = event.connection_id() {
            if resume.connection_id.as_deref() != Some(id) {
                if resume.connection_id.is_some() {
                    items.push(WsItem::ResumeFailed {
                        expected: resume.next_seq,
                    });
                }
                resume.connection_id = Some(id.to_owned());
                resume.next_seq = event.seq;
            }
        }
    }
    if event.seq < resume.next_seq {
        return items; // already delivered
    }
    if event.seq > resume.next_seq {
        items.push(WsItem::Gap {
            expected: resume.next_seq,
            received: event.seq,
        });
    }
    resume.next_seq = event.seq + 1;
    items.push(WsItem::Event(event));
    items
}

/// Sends a close frame and waits (bounded) for the server's; errors are irrelevant here.
async fn close_cleanly(socket: &mut Socket) {
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        socket.close(Some(frame)).await?;
        while let Some(Ok(_)) = socket.next().await {}
        Ok::<_, tokio_tungstenite::tungstenite::Error>(())
    })
    .await;
}
