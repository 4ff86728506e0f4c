//! `GET /api/v4/websocket`: the event stream, with `posted` events for new posts, and direct
//! message channels to post them in.
//!
//! As Mattermost (`channels/api4/websocket.go`, `channels/app/platform/web_conn.go`): the
//! upgrade request must carry a session (here: the `Authorization` header; the
//! `authentication_challenge` action a client also sends is read and ignored); the first
//! event is `hello` with `seq` 0 and a `connection_id`; each event after it carries the next
//! `seq`. A `posted` event goes to the members of the post's channel; its `data.post` is the
//! post's JSON *as a string*, beside `channel_type`, `channel_name`, `channel_display_name`,
//! `sender_name` (`@username`), `team_id` and, when someone is mentioned, `mentions` (a JSON
//! string of user ids) — `model.WebsocketEventPosted` in `channels/app/post.go`. Ephemeral
//! posts are never `posted` events.
//!
//! Resuming: a reconnect with `connection_id` and `sequence_number` continues the old
//! connection when the server still knows it (replaying what the client missed, no `hello`),
//! else starts a new one; see `ws_resume.rs`. [`Simulator::drop_websockets`] closes every
//! socket (a network drop: resumable) and [`Simulator::forget_websockets`] forgets every
//! connection too (a server restart: the resume fails).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::api::Session;
use super::model::SimPost;
use super::state::{SimEvent, World};
use super::ws_resume::Opened;
use super::{SimError, Simulator};

/// `GET /api/v4/websocket`.
pub(crate) async fn upgrade(
    State(world): State<World>,
    session: Session,
    request: Request,
) -> Response {
    let key = request
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec());
    let wants_websocket = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = key.filter(|_| wants_websocket) else {
        return (StatusCode::BAD_REQUEST, "not a WebSocket upgrade").into_response();
    };
    // `connection_id` must come with a non-negative integer `sequence_number`, or the server
    // closes the socket (`PopulateWebConnConfig`).
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let resume = match (param("connection_id"), param("sequence_number")) {
        (Some(id), Some(seq)) => match seq.parse::<i64>() {
            Ok(seq) if seq >= 0 => Some(Ok((id, seq))),
            _ => Some(Err(())),
        },
        (Some(_), None) => Some(Err(())),
        _ => None,
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
    let on_upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let mut socket = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        match resume {
            Some(Err(())) => {
                let _ = socket.close(None).await;
            }
            Some(Ok((id, seq))) => serve(world, session.user_id, Some((&id, seq)), socket).await,
            None => serve(world, session.user_id, None, socket).await,
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_default()
}

async fn serve<S>(
    world: World,
    user_id: String,
    resume: Option<(&str, i64)>,
    mut socket: WebSocketStream<S>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    start_feeding(&world);
    let connections = &world.inner.websockets;
    let (opened, wake) = connections.open(&user_id, resume);
    let (id, replay) = match opened {
        Opened::New(id) => {
            let version = world.lock().settings.version_id();
            let hello = json!({
                "event": "hello",
                "data": {"connection_id": id, "server_version": version},
                "broadcast": {"user_id": user_id, "channel_id": "", "team_id": "", "omit_users": null},
                "seq": 0,
            });
            (id, vec![hello])
        }
        Opened::Resumed(id, replay) => (id, replay),
    };
    for event in replay {
        if socket.send(Message::text(event.to_string())).await.is_err() {
            connections.closed(&id);
            return;
        }
    }
    loop {
        // Write what is queued; stop when the connection was dropped or forgotten.
        loop {
            let next = {
                let mut map = connections.lock();
                match map.get_mut(&id) {
                    None => return,
                    Some(conn) if conn.kick => {
                        drop(map);
                        connections.closed(&id);
                        return;
                    }
                    Some(conn) => conn.next_to_write(),
                }
            };
            let Some(event) = next else { break };
            if socket.send(Message::text(event.to_string())).await.is_err() {
                connections.closed(&id);
                return;
            }
        }
        tokio::select! {
            incoming = socket.next() => match incoming {
                // Reading answers pings; actions (the auth challenge, `ping`) need no answer here.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    connections.closed(&id);
                    return;
                }
                Some(Ok(_)) => {}
            },
            () = wake.notified() => {}
        }
    }
}

/// Starts (once per world) the task that queues each `posted` event for the connections of
/// the users who may see it, active or not.
fn start_feeding(world: &World) {
    if world
        .inner
        .websockets_fed
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        return;
    }
    let mut events = world.subscribe();
    let world = world.clone();
    tokio::spawn(async move {
        loop {
            let post = match events.recv().await {
                Ok(SimEvent::PostCreated(post)) => post,
                Ok(_) => continue,
                // Events lost to a slow feeder are lost for every connection, as on a server
                // whose broadcast queue overflowed.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            };
            world.inner.websockets.broadcast(|user_id| {
                let data = posted_data(&world, user_id, &post)?;
                Some(json!({
                    "event": "posted",
                    "data": data,
                    "broadcast": {"omit_users": null, "user_id": "", "channel_id": post.channel_id, "team_id": ""},
                }))
            });
        }
    });
}

/// The `posted` event's `data` for `user_id`, when that user may see the post.
fn posted_data(world: &World, user_id: &str, post: &SimPost) -> Option<Value> {
    let store = world.lock();
    if post.ephemeral_for.is_some() || !store.is_channel_member(&post.channel_id, user_id) {
        return None;
    }
    let channel = store.channel(&post.channel_id)?;
    let sender = store.user(&post.user_id)?;
    let mentioned: Vec<&str> = store
        .users
        .iter()
        .filter(|u| u.id != post.user_id && mentions(&post.message, &u.username))
        .filter(|u| store.is_channel_member(&post.channel_id, &u.id))
        .map(|u| u.id.as_str())
        .collect();
    let mut data = json!({
        "channel_display_name": channel.display_name,
        "channel_name": channel.name,
        "channel_type": channel.channel_type,
        "post": post.to_json().to_string(),
        "sender_name": format!("@{}", sender.username),
        "set_online": true,
        "team_id": channel.team_id,
    });
    if !mentioned.is_empty() {
        data["mentions"] = Value::String(json!(mentioned).to_string());
    }
    Some(data)
}

/// Whether `message` holds `@username` as a whole mention.
fn mentions(message: &str, username: &str) -> bool {
    let needle = format!("@{username}");
    message.match_indices(&needle).any(|(at, _)| {
        let after = message[at + needle.len()..].chars().next();
        !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

impl Simulator {
    /// How many WebSocket connections are open and receiving events: each `posted` event from
    /// now on is queued for them. (A `101` answer alone does not say so: the connection is
    /// opened by the task that takes over the upgraded socket, a moment later.)
    pub fn open_websockets(&self) -> usize {
        self.world()
            .inner
            .websockets
            .lock()
            .values()
            .filter(|c| c.active)
            .count()
    }

    /// Closes every WebSocket connection's socket at once, as a network drop does; the server
    /// keeps the connections, so clients that reconnect with their `connection_id` resume and
    /// get the events posted meanwhile.
    pub fn drop_websockets(&self) {
        self.world().inner.websockets.drop_sockets();
    }

    /// Closes every socket and forgets every connection, as a server restart does: a reconnect
    /// gets a new `hello` (the resume fails; events posted meanwhile are not replayed).
    pub fn forget_websockets(&self) {
        self.world().inner.websockets.forget_all();
    }

    /// The direct message channel between two users (created on first use, as
    /// `POST /channels/direct` does): type `D`, no team, name `<id>__<id>` with the ids sorted.
    pub fn direct_channel(&self, user_a: &str, user_b: &str) -> Result<String, SimError> {
        let world = self.world();
        let mut store = world.lock();
        let id_of = |name: &str| {
            store
                .user_by_name(name)
                .map(|u| u.id.clone())
                .ok_or_else(|| SimError::NoSuch {
                    kind: "user",
                    name: name.to_owned(),
                })
        };
        let (a, b) = (id_of(user_a)?, id_of(user_b)?);
        Ok(store.direct_channel(&a, &b)?.id)
    }

    /// Posts `message` as `username` in the channel with id `channel_id` (e.g. a direct
    /// channel), in the thread of `root_id` when it is not empty.
    pub async fn post_in(
        &self,
        username: &str,
        channel_id: &str,
        root_id: &str,
        message: &str,
    ) -> Result<SimPost, SimError> {
        let world = self.world();
        let user_id = world
            .lock()
            .user_by_name(username)
            .map(|u| u.id.clone())
            .ok_or_else(|| SimError::NoSuch {
                kind: "user",
                name: username.to_owned(),
            })?;
        let post = SimPost::new(channel_id, &user_id, root_id, message);
        Ok(super::api::create_post_as(&world, &user_id, post)?)
    }

    /// Stored posts of the channel with id `channel_id`, oldest first.
    pub fn posts_in_channel(&self, channel_id: &str) -> Vec<SimPost> {
        let world = self.world();
        let store = world.lock();
        store
            .posts
            .iter()
            .filter(|p| p.channel_id == channel_id && p.delete_at == 0)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn a_mention_is_the_whole_username() {
        assert!(mentions("hey @switchboard, hi", "switchboard"));
        assert!(mentions("@switchboard", "switchboard"));
        assert!(!mentions("@switchboard-dev hi", "switchboard"));
        assert!(!mentions("mail switchboard", "switchboard"));
    }
}
