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
//! Not simulated: resuming. Every connection is new (a `hello` with a new `connection_id`), as
//! Mattermost answers when the old connection is gone, so a client sees each reconnect as a
//! resume that failed — the case it must report.

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
use super::ids::{new_id, now_millis};
use super::model::{Channel, SimPost};
use super::state::{SimEvent, World};
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
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key);
    let on_upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        serve(world, session.user_id, socket).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_default()
}

async fn serve<S>(world: World, user_id: String, mut socket: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut events = world.subscribe();
    let connection_id = new_id();
    let version = world.lock().settings.version_id();
    let hello = json!({
        "event": "hello",
        "data": {"connection_id": connection_id, "server_version": version},
        "broadcast": {"user_id": user_id, "channel_id": "", "team_id": "", "omit_users": null},
        "seq": 0,
    });
    if socket.send(Message::text(hello.to_string())).await.is_err() {
        return;
    }
    let mut seq = 0i64;
    loop {
        tokio::select! {
            incoming = socket.next() => match incoming {
                // Reading answers pings; actions (the auth challenge, `ping`) need no answer here.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            event = events.recv() => {
                let post = match event {
                    Ok(SimEvent::PostCreated(post)) => post,
                    Ok(_) => continue,
                    // A slow reader misses events, as on Mattermost when its send queue is full.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                let Some(data) = posted_data(&world, &user_id, &post) else {
                    continue;
                };
                seq += 1;
                let event = json!({
                    "event": "posted",
                    "data": data,
                    "broadcast": {"omit_users": null, "user_id": "", "channel_id": post.channel_id, "team_id": ""},
                    "seq": seq,
                });
                if socket.send(Message::text(event.to_string())).await.is_err() {
                    return;
                }
            }
        }
    }
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
        let name = if a < b {
            format!("{a}__{b}")
        } else {
            format!("{b}__{a}")
        };
        if let Some(existing) = store.channels.iter().find(|c| c.name == name) {
            return Ok(existing.id.clone());
        }
        let now = now_millis();
        let channel = Channel {
            id: new_id(),
            team_id: String::new(),
            channel_type: "D".to_owned(),
            name,
            display_name: String::new(),
            header: String::new(),
            purpose: String::new(),
            creator_id: a.clone(),
            create_at: now,
            update_at: now,
            delete_at: 0,
            last_post_at: 0,
            total_msg_count: 0,
            total_msg_count_root: 0,
            last_root_post_at: 0,
        };
        for user in [&a, &b] {
            store
                .channel_members
                .insert((channel.id.clone(), user.clone()));
        }
        let id = channel.id.clone();
        store.channels.push(channel);
        Ok(id)
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
