//! The triggers that are not Mattermost callbacks, at run time: inbound webhooks from other
//! systems ([`webhook`]), schedules ([`schedule`]) and messages seen on the WebSocket event
//! stream ([`message`]). Routes declare them in `routes/*.toml` (`[webhook]`, `[schedule]`,
//! `[message]`); each fires the route's main action through
//! [`DeclaredRoute::fire`](crate::integrations::DeclaredRoute::fire).
//!
//! # Exactly once with several replicas
//!
//! Every replica sees every WebSocket event and every schedule tick. How they agree that one
//! handles each is a [`Coordinator`](crate::coordination::Coordinator), chosen by `[coordination] mode`
//! ([`crate::coordination`]) and said once in the startup log:
//!
//! - **Shared claims** (`[store] url`, Redis). Before running an event a replica *claims* it
//!   in the store (`SET NX PX` in a Lua script), keyed by the post id and route or by the
//!   route and the tick's time. The claim is short-lived (`claim_ttl_ms`, default 15 s) and
//!   renewed by its holder while it works; when finished the holder marks it *done* (kept
//!   24 h, so replays are refused). The other replicas keep the event pending while the claim
//!   is live and drop it once done; if the holder is killed, its claim expires and one of
//!   them takes the event over — answered once, within the claim's lifetime after the last
//!   renewal ([`claims`]). No leader is needed. The remaining window: a holder killed in the
//!   milliseconds between its answer reaching Mattermost and marking the event done has it
//!   answered again by the replica that takes over (at least once there, never lost).
//! - **Kubernetes Lease** (in a pod): replicas elect a leader through a Lease
//!   ([`crate::coordination::elector`], client-go's semantics); only the leader answers.
//!   Before running an event it records it as running in a Lease annotation, in the same
//!   resourceVersion-checked write that renews its lease (so the record is atomic with
//!   leading), and as done after. The other replicas keep the events they see pending until
//!   the Lease shows them done or they become leader. A leader killed mid-run is replaced
//!   within the lease duration (plus up to 2.2 retry periods of jitter); the new leader runs
//!   the events the old one started and did not finish, and those that arrived meanwhile.
//!   Same remaining window as above (killed between answering and recording done: answered
//!   twice), plus what leader election by timing cannot rule out: a leader stalled longer than
//!   the lease duration (a frozen VM) may still finish an event the next leader also runs.
//!   Each event costs two writes of the Lease; the record keeps the last 1000 events for
//!   `pending_give_up_secs`.
//! - **Single replica** (no `[store] url`, not in Kubernetes): claims are per process, right
//!   for one replica.
//!
//! Inbound webhooks arrive at one replica through the Service and need no claim; their
//! replays are refused through the store ([`webhook`]).

pub mod claims;
pub mod message;
pub mod needs;
pub mod schedule;
pub mod webhook;

use crate::integrations::{DeclaredRoute, Fired, Runtime};
use crate::server::AppState;

/// Starts the scheduler and the message listener; both run until aborted.
pub fn spawn_all(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![schedule::spawn(state.clone())];
    tasks.extend(message::spawn(state.clone()));
    tasks
}

/// `dev`'s `!tick <route>` (runs the schedule's action now, unclaimed) and
/// `!webhook <route> <file>` (delivers the JSON file as the route's webhook body, without the
/// sender's verification); `None` when `line` (without its `!`) is neither.
pub async fn dev_command(state: &AppState, line: &str) -> Option<Result<String, String>> {
    let mut words = line.split_whitespace();
    let verb = words.next()?;
    if verb != "tick" && verb != "webhook" {
        return None;
    }
    let Some(name) = words.next() else {
        return Some(Err(format!(
            "usage: !{verb} <route>{}",
            if verb == "webhook" {
                " <file.json>"
            } else {
                ""
            }
        )));
    };
    let route = state
        .routes
        .current()
        .get(name)
        .map(|r| (r.schedule.clone(), r.webhook.clone()));
    Some(match (verb, route) {
        (_, None) => Err(format!("no route `{name}`")),
        ("tick", Some((Some(schedule), _))) => {
            let fired = schedule::fire(state, name, &schedule, chrono::Utc::now()).await;
            // A tick that posted nothing is the author's problem to see as one.
            match fired {
                Fired::Failed(_) | Fired::Refused(_) => Err(format!("tick {name}: {fired}")),
                _ => Ok(format!("tick {name}: {fired}")),
            }
        }
        ("tick", Some((None, _))) => Err(format!("route `{name}` has no [schedule]")),
        (_, Some((_, Some(webhook)))) => {
            let Some(file) = words.next() else {
                return Some(Err("usage: !webhook <route> <file.json>".to_owned()));
            };
            let path = std::path::Path::new(file);
            let text = std::fs::read_to_string(path)
                .or_else(|_| std::fs::read_to_string(state.routes.dir().join(path)));
            match text.map_err(|e| format!("{file}: {e}")).and_then(|t| {
                serde_json::from_str(&t).map_err(|e| format!("{file}: not JSON: {e}"))
            }) {
                Ok(body) => {
                    webhook::deliver(state, name, &webhook, &axum::http::HeaderMap::new(), body)
                        .await
                        .map(|answer| format!("webhook {name}: {answer}"))
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            }
        }
        _ => Err(format!("route `{name}` has no [webhook]")),
    })
}

/// The declared route `name` of the live route set, ready to fire.
pub(crate) fn declared(state: &AppState, name: &str) -> Option<DeclaredRoute> {
    let routes = state.routes.current();
    routes.get(name)?;
    let runtime = state
        .handlers
        .runtime()
        .cloned()
        .unwrap_or_else(|| Runtime::with_store(&state.store));
    Some(DeclaredRoute::new(routes, name, runtime))
}

/// The team a trigger posts in: its own `team`, else the first configured team.
pub(crate) fn team_of(state: &AppState, declared: Option<&str>) -> Option<String> {
    declared.map(str::to_owned).or_else(|| {
        state
            .settings
            .mattermost
            .teams
            .iter()
            .find(|t| *t != "*")
            .cloned()
    })
}
