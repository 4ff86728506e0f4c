//! The simulated Mattermost: an in-memory axum server that speaks Mattermost's REST API v4 and
//! calls integrations the way Mattermost does. It powers `switchboard dev` and every
//! end-to-end test.
//!
//! # Design
//!
//! The simulator is a stand-in only where that is unobservable: it keeps state in memory and
//! signs trigger ids with its own HMAC key, but it enforces Mattermost's rules — sessions,
//! permissions, validation, uniqueness — and answers with Mattermost's status codes and
//! `AppError` ids (PROTOCOL.md is the authority; the Go source it cites decides ties). A fake
//! that accepted anything would prove nothing about the code talking to it.
//!
//! Layout:
//!
//! | module | holds |
//! |---|---|
//! | `state` | the [`World`] handle, the store, permissions checks, post validation, seeding |
//! | `model` | records and their Mattermost JSON |
//! | `api` | the `/api/v4` router, auth, request ids, request log; `api/files` uploads (metadata kept, not bytes) |
//! | `hooks` | `/hooks/commands/{id}` (`response_url`) |
//! | `execute` | running a slash command and turning replies into posts |
//! | `invoke` | the outbound HTTP call to an integration |
//! | `exchange` | every integration call recorded as sent and answered (for inspectors) |
//! | `outgoing` | outgoing webhooks: storage, validation, firing on new posts, reply posts |
//! | `interactive` | dialogs (open, submit with `file_ids` checks, lookup, refresh) and message actions (click, reply applied) |
//! | `command_response` | `CommandResponse` decoding with Go's JSON semantics |
//! | `control` | test controls: foreign commands, admin token regen, roles, a blanket fault |
//! | `faults` | per-path fault injection: statuses, 429 with `Retry-After`, resets, latency, outage |
//! | `websocket` | `GET /api/v4/websocket` (`hello`, `posted` events; resume by `connection_id` + `sequence_number`) and direct message channels |
//! | `slack`, `trigger_id`, `builtin`, `ids`, `app_error`, `settings`, `permissions` | helpers |
//!
//! The Rust API ([`World`]) and the HTTP API share one code path per operation, so a test that
//! drives the world directly sees the same behaviour as a client over HTTP.
//!
//! # Seeded world
//!
//! | kind | contents |
//! |---|---|
//! | teams | `main` ("Main"), `ops` ("Ops"): type `O`, not open to outsiders |
//! | users | `switchboard` — bot (`is_bot`), `system_user`, **team admin** of both teams, has an access token ([`Simulator::bot_token`]); **not** a system admin, so `POST /posts/ephemeral` is refused for it |
//! | | `alice`, `bob`, `dave` — plain users (`system_user`, `team_user`) in both teams, with session tokens ([`World::user_token`]) |
//! | | `carol` — a **system admin** (`system_admin system_user`), in both teams, with a session token |
//! | channels | `town-square`, `off-topic` (public) in each team, everyone a member; `leads` (private) in `main`, members `switchboard`, `alice` and `carol` only |
//! | settings | [`SimSettings::default`] (Mattermost defaults) with `site_url` = the simulator's URL |

mod api;
mod app_error;
mod builtin;
mod command_response;
mod control;
mod error;
mod exchange;
mod execute;
mod faults;
mod hooks;
mod ids;
mod interactive;
mod invoke;
mod model;
mod outgoing;
mod permissions;
mod settings;
mod slack;
mod state;
mod trigger_id;
mod websocket;
mod ws_resume;

use std::net::SocketAddr;

use serde_json::Value;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub use app_error::AppError;
pub use error::SimError;
pub use exchange::{ApiCall, IntegrationCall};
pub use faults::{Fault, FaultKind};
pub use interactive::OpenedDialog;
pub use model::{SimCommand, SimPost};
pub use outgoing::SimOutgoingHook;
pub use settings::SimSettings;
pub use state::{RecordedRequest, SimEvent, World};
pub use trigger_id::TriggerId;

/// A running simulated Mattermost server.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    url: url::Url,
    world: World,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Binds `addr` (tests pass `127.0.0.1:0`), seeds the default world, serves until shutdown.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Simulator> {
        Self::start_with(addr, SimSettings::default()).await
    }

    /// Like [`Simulator::start`] with explicit settings; an empty `site_url` becomes the
    /// simulator's own URL.
    pub async fn start_with(
        addr: SocketAddr,
        mut settings: SimSettings,
    ) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let url = url::Url::parse(&format!("http://{addr}"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        if settings.site_url.is_empty() {
            settings.site_url = url.as_str().trim_end_matches('/').to_owned();
        }
        let http = invoke::http_client().map_err(std::io::Error::other)?;
        let world = World::new(state::seed(settings), http);
        let app = api::router(world.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = rx.await;
            let _ = stop_tx.send(true);
        });
        // Served by Switchboard's own accept loop, whose connections can be dropped mid-request
        // (injected resets); limits generous enough never to matter in a test.
        let limits = crate::server::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(60),
            idle_timeout: std::time::Duration::from_secs(120),
            max_connections: 4096,
            drop_hook: true,
        };
        let task = tokio::spawn(async move {
            let served = crate::server::serve_connections(listener, app, limits, stop_rx).await;
            if let Err(error) = served {
                tracing::error!(%error, "simulated Mattermost stopped");
            }
        });
        tracing::info!(%addr, "simulated Mattermost listening");
        Ok(Simulator {
            addr,
            url,
            world,
            shutdown: Some(tx),
            task,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT` (also the SiteURL).
    pub fn url(&self) -> url::Url {
        self.url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The seeded bot's access token.
    pub fn bot_token(&self) -> String {
        self.world.lock().bot_token.clone()
    }

    /// A cheap handle onto the state.
    pub fn world(&self) -> World {
        self.world.clone()
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Err(error) = (&mut self.task).await {
            tracing::warn!(%error, "simulated Mattermost task ended abnormally");
        }
    }
}

/// What running a slash command produced.
#[derive(Clone, Debug)]
pub struct CommandOutcome {
    /// The `CommandResponse` as Mattermost parsed it and returns it to the client (every key;
    /// `trigger_id` is the short client trigger id, text after Slack-markup processing).
    pub response: Value,
    /// Posts it produced, in order; ephemeral ones have `ephemeral_for` set.
    pub posts: Vec<SimPost>,
}

impl World {
    fn resolve_user(&self, username: &str) -> Result<String, SimError> {
        self.lock()
            .user_by_name(username)
            .map(|u| u.id.clone())
            .ok_or_else(|| SimError::NoSuch {
                kind: "user",
                name: username.to_owned(),
            })
    }

    fn resolve_channel(&self, team_name: &str, channel_name: &str) -> Result<String, SimError> {
        let store = self.lock();
        let team = store
            .team_by_name(team_name)
            .ok_or_else(|| SimError::NoSuch {
                kind: "team",
                name: team_name.to_owned(),
            })?;
        store
            .channel_by_name(&team.id, channel_name)
            .map(|c| c.id.clone())
            .ok_or_else(|| SimError::NoSuch {
                kind: "channel",
                name: format!("{team_name}/{channel_name}"),
            })
    }

    /// Live (not deleted) custom commands of a team (empty for an unknown team).
    pub fn commands(&self, team_name: &str) -> Vec<SimCommand> {
        let store = self.lock();
        let Some(team) = store.team_by_name(team_name) else {
            return Vec::new();
        };
        store
            .commands
            .iter()
            .filter(|c| c.team_id == team.id && c.delete_at == 0)
            .cloned()
            .collect()
    }

    /// Successful POST/PUT/DELETE `/api/v4` calls so far.
    pub fn api_writes(&self) -> usize {
        self.lock().api_writes
    }

    /// Method, path and status of every `/api/v4` call, in order.
    pub fn api_requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Runs a slash-command line as `username` in `team_name`/`channel_name`, exactly as
    /// Mattermost does when a user types it: built-in trigger check, lookup of the custom
    /// command, the HTTP callback, response parsing and the resulting posts.
    pub async fn execute_command(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        line: &str,
    ) -> Result<CommandOutcome, SimError> {
        self.execute_command_in_thread(username, team_name, channel_name, "", line)
            .await
    }

    /// [`World::execute_command`] typed in the reply box of the thread rooted at `root_id`.
    pub async fn execute_command_in_thread(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        root_id: &str,
        line: &str,
    ) -> Result<CommandOutcome, SimError> {
        let user_id = self.resolve_user(username)?;
        let channel_id = self.resolve_channel(team_name, channel_name)?;
        let executed = execute::execute_as_user(self, &user_id, &channel_id, root_id, line).await?;
        Ok(CommandOutcome {
            response: executed.response.to_json(),
            posts: executed.posts,
        })
    }

    /// A user posts a message, with the same checks as `POST /api/v4/posts`.
    pub async fn create_post(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        message: &str,
    ) -> Result<SimPost, SimError> {
        let user_id = self.resolve_user(username)?;
        let channel_id = self.resolve_channel(team_name, channel_name)?;
        let post = SimPost::new(&channel_id, &user_id, "", message);
        Ok(api::create_post_as(self, &user_id, post)?)
    }

    /// A user posts a reply in the thread rooted at `root_id` (a root post when empty), with
    /// the same checks as `POST /api/v4/posts`.
    pub async fn create_post_in_thread(
        &self,
        username: &str,
        team_name: &str,
        channel_name: &str,
        root_id: &str,
        message: &str,
    ) -> Result<SimPost, SimError> {
        let user_id = self.resolve_user(username)?;
        let channel_id = self.resolve_channel(team_name, channel_name)?;
        let post = SimPost::new(&channel_id, &user_id, root_id, message);
        Ok(api::create_post_as(self, &user_id, post)?)
    }

    /// Stored posts of a channel, oldest first (empty for unknown names).
    pub fn posts_in(&self, team_name: &str, channel_name: &str) -> Vec<SimPost> {
        let Ok(channel_id) = self.resolve_channel(team_name, channel_name) else {
            return Vec::new();
        };
        self.lock()
            .posts
            .iter()
            .filter(|p| p.channel_id == channel_id && p.delete_at == 0)
            .cloned()
            .collect()
    }

    /// Integration calls the simulator is making in the background (outgoing webhooks and
    /// what they post); `switchboard dev` waits until none is left before it stops.
    pub fn outbound_calls(&self) -> usize {
        self.inner.outbound.len()
    }

    /// Usernames of every user, with their ids, in creation order.
    pub fn users(&self) -> Vec<(String, String)> {
        self.lock()
            .users
            .iter()
            .filter(|u| u.delete_at == 0)
            .map(|u| (u.id.clone(), u.username.clone()))
            .collect()
    }

    /// Names of a team's channels, with their ids, in creation order (empty for an unknown
    /// team).
    pub fn channels(&self, team_name: &str) -> Vec<(String, String)> {
        let store = self.lock();
        let Some(team) = store.team_by_name(team_name) else {
            return Vec::new();
        };
        store
            .channels
            .iter()
            .filter(|c| c.team_id == team.id && c.delete_at == 0)
            .map(|c| (c.id.clone(), c.name.clone()))
            .collect()
    }

    /// Events: posts created, ephemeral posts, edits.
    pub fn subscribe(&self) -> broadcast::Receiver<SimEvent> {
        self.inner.events.subscribe()
    }

    /// A copy of the current settings.
    pub fn settings(&self) -> SimSettings {
        self.lock().settings.clone()
    }

    /// Changes settings at run time, e.g. `world.update_settings(|s| s.enable_commands = false)`.
    pub fn update_settings(&self, change: impl FnOnce(&mut SimSettings)) {
        change(&mut self.lock().settings);
    }

    /// A session token of a seeded (or added) user, for calling the API as them.
    pub fn user_token(&self, username: &str) -> Option<String> {
        let store = self.lock();
        let user = store.user_by_name(username)?;
        store
            .tokens
            .iter()
            .find(|(_, id)| **id == user.id)
            .map(|(token, _)| token.clone())
    }

    /// The id of a user, by username.
    pub fn user_id(&self, username: &str) -> Option<String> {
        self.lock().user_by_name(username).map(|u| u.id.clone())
    }

    /// The id of a team, by name.
    pub fn team_id(&self, team_name: &str) -> Option<String> {
        self.lock().team_by_name(team_name).map(|t| t.id.clone())
    }

    /// The id of a channel, by team and channel name.
    pub fn channel_id(&self, team_name: &str, channel_name: &str) -> Option<String> {
        self.resolve_channel(team_name, channel_name).ok()
    }

    /// Usernames of a channel's members (empty for unknown names), in user creation order.
    pub fn channel_members(&self, team_name: &str, channel_name: &str) -> Vec<String> {
        let Ok(channel_id) = self.resolve_channel(team_name, channel_name) else {
            return Vec::new();
        };
        let store = self.lock();
        store
            .users
            .iter()
            .filter(|u| {
                u.delete_at == 0
                    && store
                        .channel_members
                        .contains(&(channel_id.clone(), u.id.clone()))
            })
            .map(|u| u.username.clone())
            .collect()
    }

    /// A channel's type: `O` (public), `P` (private), `D`, `G`; `None` for unknown names.
    pub fn channel_type(&self, team_name: &str, channel_name: &str) -> Option<String> {
        let channel_id = self.resolve_channel(team_name, channel_name).ok()?;
        self.lock()
            .channels
            .iter()
            .find(|c| c.id == channel_id)
            .map(|c| c.channel_type.clone())
    }

    /// The user ids of a direct channel's two members (the same twice for a channel with
    /// oneself); `None` when `channel_id` is not a direct channel.
    pub fn direct_members(&self, channel_id: &str) -> Option<(String, String)> {
        self.lock().direct_members(channel_id)
    }

    /// Whether a user holds the `system_admin` role (false for an unknown user).
    pub fn is_system_admin(&self, username: &str) -> bool {
        self.lock()
            .user_by_name(username)
            .is_some_and(|u| u.is_system_admin())
    }

    /// Makes a user a system admin (or not), e.g. to allow the bot ephemeral posts.
    pub fn set_system_admin(&self, username: &str, admin: bool) -> Result<(), SimError> {
        let mut store = self.lock();
        let user = store
            .users
            .iter_mut()
            .find(|u| u.username == username.to_lowercase())
            .ok_or_else(|| SimError::NoSuch {
                kind: "user",
                name: username.to_owned(),
            })?;
        user.roles = if admin {
            "system_admin system_user".to_owned()
        } else {
            "system_user".to_owned()
        };
        Ok(())
    }

    /// Verifies a trigger id minted by this simulator (for dialogs).
    pub fn verify_trigger_id(&self, trigger_id: &str) -> Result<TriggerId, SimError> {
        let ttl = self.lock().settings.outgoing_integration_requests_timeout;
        Ok(trigger_id::verify(
            &self.inner.trigger_key,
            trigger_id,
            ttl,
        )?)
    }
}
