//! Resumable WebSocket connections, as Mattermost keeps them (`channels/app/platform/
//! web_conn.go`, `web_hub.go`; facts in `src/mattermost/websocket.rs`'s docs):
//!
//! - Each connection has an id (sent in `hello`) and a counter; every event written gets the
//!   next `seq` and is kept in a dead queue of the last [`DEAD_QUEUE`] events written.
//! - When the socket drops, the connection stays known (inactive) and events for its user
//!   keep queueing in its send queue ([`SEND_QUEUE`]; overflowing it drops the connection,
//!   as the hub does with a full `send` channel). Inactive connections are forgotten after
//!   [`REAP_AFTER`] (`inactiveConnReaperInterval`).
//! - A reconnect with `connection_id` and `sequence_number` (the next `seq` expected) resumes
//!   it when it is known and inactive: the dead queue is replayed from the entry whose `seq`
//!   equals `sequence_number` (or nothing, when `sequence_number` is the counter), then the
//!   queued events follow; no `hello`. Otherwise a new connection starts with a `hello`
//!   (new id, `seq` 0): a resume that failed.
//! - `connection_id` without a non-negative integer `sequence_number` closes the socket.
//!
//! Simplified: Mattermost also keeps the `hello` (seq 0) in the dead queue; here it is not, so
//! a resume asking for seq 0 (a client that never saw the `hello`) starts afresh. Mattermost's
//! `writePump`, once it replayed the dead queue, goes on with the connection's `send` channel,
//! which held what was sent to the connection meanwhile; the simulator queues every event for
//! an inactive connection likewise.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;

/// Events kept for replay per connection (Mattermost: `deadQueueSize`).
pub(crate) const DEAD_QUEUE: usize = 128;
/// Events queued for a connection (Mattermost: `sendQueueSize`).
pub(crate) const SEND_QUEUE: usize = 256;
/// An inactive connection is forgotten after this long.
pub(crate) const REAP_AFTER: Duration = Duration::from_secs(5 * 60);

/// One connection's state, alive across sockets.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) user_id: String,
    /// The `seq` the next event written gets.
    pub(crate) next_seq: i64,
    /// Events written, with their `seq`.
    pub(crate) dead: VecDeque<(i64, Value)>,
    /// Events not yet written.
    pub(crate) waiting: VecDeque<Value>,
    /// A socket serves it now.
    pub(crate) active: bool,
    pub(crate) inactive_since: Option<Instant>,
    /// Woken when an event is queued or the socket must close.
    pub(crate) wake: Arc<Notify>,
    /// Set to close the socket serving it now (the sim's fault injection).
    pub(crate) kick: bool,
}

impl Conn {
    /// Queues `event`; `false` when the send queue is full (the connection is then dropped).
    pub(crate) fn queue(&mut self, event: Value) -> bool {
        if self.waiting.len() >= SEND_QUEUE {
            return false;
        }
        self.waiting.push_back(event);
        self.wake.notify_one();
        true
    }

    /// The next event to write, numbered and kept in the dead queue.
    pub(crate) fn next_to_write(&mut self) -> Option<Value> {
        let mut event = self.waiting.pop_front()?;
        event["seq"] = Value::from(self.next_seq);
        self.dead.push_back((self.next_seq, event.clone()));
        while self.dead.len() > DEAD_QUEUE {
            self.dead.pop_front();
        }
        self.next_seq += 1;
        Some(event)
    }
}

/// Every connection the simulated server knows.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    map: Mutex<HashMap<String, Conn>>,
}

/// What a reconnect gets.
#[derive(Debug)]
pub(crate) enum Opened {
    /// A new connection: send `hello` first.
    New(String),
    /// The connection resumed: these events (already numbered) are written first, no `hello`.
    Resumed(String, Vec<Value>),
}

impl Connections {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Conn>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a socket for `user_id`, resuming `resume` = (connection id, next seq) if it can.
    pub(crate) fn open(&self, user_id: &str, resume: Option<(&str, i64)>) -> (Opened, Arc<Notify>) {
        let mut map = self.lock();
        let now = Instant::now();
        map.retain(|_, c| c.active || c.inactive_since.is_none_or(|t| now - t < REAP_AFTER));
        if let Some((id, next)) = resume
            && let Some(conn) = map.get_mut(id)
            && conn.user_id == user_id
            && !conn.active
        {
            let replay: Option<Vec<Value>> = if next == conn.next_seq {
                Some(Vec::new())
            } else if conn.dead.iter().any(|(seq, _)| *seq == next) {
                Some(
                    conn.dead
                        .iter()
                        .filter(|(seq, _)| *seq >= next)
                        .map(|(_, e)| e.clone())
                        .collect(),
                )
            } else {
                None
            };
            if let Some(replay) = replay {
                conn.active = true;
                conn.inactive_since = None;
                conn.kick = false;
                return (Opened::Resumed(id.to_owned(), replay), conn.wake.clone());
            }
            // The events wanted left the dead queue: start afresh.
            map.remove(id);
        }
        let id = super::ids::new_id();
        let wake = Arc::new(Notify::new());
        map.insert(
            id.clone(),
            Conn {
                user_id: user_id.to_owned(),
                next_seq: 1,
                dead: VecDeque::new(),
                waiting: VecDeque::new(),
                active: true,
                inactive_since: None,
                wake: wake.clone(),
                kick: false,
            },
        );
        (Opened::New(id), wake)
    }

    /// The socket of `id` ended: keep the connection for a resume.
    pub(crate) fn closed(&self, id: &str) {
        if let Some(conn) = self.lock().get_mut(id) {
            conn.active = false;
            conn.kick = false;
            conn.inactive_since = Some(Instant::now());
        }
    }

    /// Queues `event(user)` for every connection whose user may see it; a full queue drops
    /// its connection.
    pub(crate) fn broadcast(&self, event: impl Fn(&str) -> Option<Value>) {
        let mut map = self.lock();
        let mut full = Vec::new();
        for (id, conn) in map.iter_mut() {
            if let Some(e) = event(&conn.user_id)
                && !conn.queue(e)
            {
                full.push(id.clone());
            }
        }
        for id in full {
            if let Some(conn) = map.remove(&id) {
                conn.wake.notify_one();
            }
        }
    }

    /// Closes every socket; the connections stay resumable.
    pub(crate) fn drop_sockets(&self) {
        for conn in self.lock().values_mut() {
            if conn.active {
                conn.kick = true;
                conn.wake.notify_one();
            }
        }
    }

    /// Closes every socket and forgets every connection (a server restart): reconnects get a
    /// new connection id.
    pub(crate) fn forget_all(&self) {
        let mut map = self.lock();
        for conn in map.values() {
            conn.wake.notify_one();
        }
        map.clear();
    }
}
