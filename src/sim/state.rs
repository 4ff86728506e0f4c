//! The in-memory state of the simulated server and the rules that guard it.
//!
//! One [`Store`] behind a `std::sync::Mutex`: every operation is short and synchronous, and the
//! lock is never held across an `.await` (integration calls happen after copying out what they
//! need). The store owns the Mattermost rules that do not depend on HTTP: permissions, post
//! validation, name lookups. Events go out on a broadcast channel after each change.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::broadcast;

use super::app_error::AppError;
use super::ids::{new_id, now_millis};
use super::model::{Channel, SimCommand, SimPost, Team, TeamMember, User};
use super::permissions::{
    Permission, channel_user_has, system_user_has, team_admin_has, team_user_has,
};
use super::settings::SimSettings;

/// Longest post message, in Unicode scalar values (`PostMessageMaxRunesV2`).
pub(crate) const POST_MESSAGE_MAX_RUNES: usize = 16383;

/// Something that happened in the simulated world, for the dev REPL and (later) a WebSocket.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SimEvent {
    /// A post was stored (user post, `in_channel` command response …).
    PostCreated(SimPost),
    /// An ephemeral post was shown to `post.ephemeral_for`; it is not stored.
    EphemeralPost(SimPost),
    /// A stored post was updated or patched.
    PostEdited(SimPost),
    /// An integration opened a dialog for a user.
    DialogOpened(super::interactive::OpenedDialog),
    /// The simulator called an integration (request and answer, for an inspector).
    IntegrationCalled(Box<super::exchange::IntegrationCall>),
    /// A client called the `/api/v4` API (Switchboard calling back, for an inspector).
    ApiCalled(Box<super::exchange::ApiCall>),
}

/// One `/api/v4` call as the simulator answered it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordedRequest {
    /// HTTP method, upper case.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Status the simulator answered with.
    pub status: u16,
    /// The query string (without `?`), empty when there was none.
    pub query: String,
    /// The request body as text, for writes (POST/PUT/PATCH/DELETE); empty for reads.
    pub body: String,
}

impl RecordedRequest {
    /// Whether the call was a write (POST, PUT, PATCH or DELETE).
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// A `response_url` registration (`model.CommandWebhook`).
#[derive(Clone, Debug)]
pub(crate) struct CommandWebhook {
    pub(crate) id: String,
    pub(crate) create_at: i64,
    pub(crate) command_id: String,
    pub(crate) user_id: String,
    pub(crate) channel_id: String,
    pub(crate) root_id: String,
    pub(crate) use_count: u32,
}

/// How long a `response_url` lives (`CommandWebhookLifetime`).
pub(crate) const COMMAND_WEBHOOK_LIFETIME_MS: i64 = 30 * 60 * 1000;
/// How often a `response_url` may be used.
pub(crate) const COMMAND_WEBHOOK_MAX_USES: u32 = 5;

/// An uploaded file's metadata (`model.FileInfo`); the bytes are not kept.
#[derive(Clone, Debug)]
pub(crate) struct SimFile {
    pub(crate) id: String,
    /// The uploader (`CreatorId`, `user_id` on the wire).
    pub(crate) user_id: String,
    pub(crate) channel_id: String,
    pub(crate) name: String,
    /// Lower case, without the dot.
    pub(crate) extension: String,
    pub(crate) size: i64,
    pub(crate) create_at: i64,
}

impl SimFile {
    /// The `FileInfo` JSON.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "user_id": self.user_id,
            "channel_id": self.channel_id,
            "post_id": "",
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "name": self.name,
            "extension": self.extension,
            "size": self.size,
            "mime_type": crate::mattermost::guess_mime(&self.name)
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            "has_preview_image": false,
        })
    }
}

/// Everything the simulated server knows.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) settings: SimSettings,
    pub(crate) users: Vec<User>,
    /// Access token → user id.
    pub(crate) tokens: HashMap<String, String>,
    pub(crate) teams: Vec<Team>,
    pub(crate) team_members: Vec<TeamMember>,
    pub(crate) channels: Vec<Channel>,
    /// (channel id, user id).
    pub(crate) channel_members: HashSet<(String, String)>,
    /// Custom commands, deleted ones included (soft delete).
    pub(crate) commands: Vec<SimCommand>,
    /// Stored posts in creation order; only [`Store::save_post`] adds one.
    pub(crate) posts: Vec<SimPost>,
    /// Post id → index in `posts`: edits and clicks find their post without a scan (a long
    /// run, such as the soak bench, stores hundreds of thousands).
    post_index: HashMap<String, usize>,
    pub(crate) command_webhooks: HashMap<String, CommandWebhook>,
    /// Outgoing webhooks, deleted ones included (soft delete).
    pub(crate) outgoing_hooks: Vec<super::outgoing::SimOutgoingHook>,
    /// Uploaded files (metadata only).
    pub(crate) files: Vec<SimFile>,
    /// Dialogs opened so far.
    pub(crate) dialogs: Vec<super::interactive::OpenedDialog>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) api_writes: usize,
    pub(crate) bot_token: String,
    /// When set, every `/api/v4` call is answered with this status and nothing else happens
    /// (Mattermost down behind a proxy, overloaded, or rate limiting); see [`World::set_fault`].
    pub(crate) fault: Option<u16>,
    /// Per-path injected faults (`faults.rs`).
    pub(crate) faults: super::faults::Faults,
    /// Triggers registered by (simulated) plugins: custom commands cannot take them.
    pub(crate) plugin_triggers: HashSet<String>,
}

/// The shared state behind [`World`].
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) store: Mutex<Store>,
    pub(crate) events: broadcast::Sender<SimEvent>,
    /// The outbound client used for every integration call.
    pub(crate) http: reqwest::Client,
    /// Key for signing trigger ids.
    pub(crate) trigger_key: [u8; 32],
    /// Integration calls made in the background (outgoing webhooks), so `dev` can wait for
    /// them before stopping ([`World::outbound_calls`]).
    pub(crate) outbound: tokio_util::task::TaskTracker,
    /// WebSocket connections, resumable after their socket dropped.
    pub(crate) websockets: super::ws_resume::Connections,
    /// Whether the task queueing events for them runs.
    pub(crate) websockets_fed: std::sync::atomic::AtomicBool,
}

/// A cheap, clonable handle onto the simulated server's state.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) inner: Arc<Inner>,
}

impl World {
    /// A world holding `store`.
    pub(crate) fn new(store: Store, http: reqwest::Client) -> Self {
        let (events, _) = broadcast::channel(1024);
        let mut trigger_key = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut trigger_key);
        Self {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                events,
                http,
                trigger_key,
                outbound: tokio_util::task::TaskTracker::new(),
                websockets: Default::default(),
                websockets_fed: Default::default(),
            }),
        }
    }

    /// Locks the store. A panic while holding the lock cannot leave it half-changed in a way we
    /// care about, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends an event; nobody listening is fine.
    pub(crate) fn publish(&self, event: SimEvent) {
        let _ = self.inner.events.send(event);
    }
}

impl Store {
    /// A user by id.
    pub(crate) fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// A user by username (case-insensitive, as usernames are stored lower case).
    pub(crate) fn user_by_name(&self, name: &str) -> Option<&User> {
        let name = name.to_lowercase();
        self.users.iter().find(|u| u.username == name)
    }

    /// A team by id.
    pub(crate) fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// A team by URL name.
    pub(crate) fn team_by_name(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }

    /// A channel by id.
    pub(crate) fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    /// A channel by team and URL name.
    pub(crate) fn channel_by_name(&self, team_id: &str, name: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.team_id == team_id && c.name == name)
    }

    /// A user's membership of a team.
    pub(crate) fn team_member(&self, team_id: &str, user_id: &str) -> Option<&TeamMember> {
        self.team_members
            .iter()
            .find(|m| m.team_id == team_id && m.user_id == user_id)
    }

    /// Whether the user is a member of the channel.
    pub(crate) fn is_channel_member(&self, channel_id: &str, user_id: &str) -> bool {
        self.channel_members
            .contains(&(channel_id.to_owned(), user_id.to_owned()))
    }

    /// A live (not deleted) custom command by id.
    pub(crate) fn command(&self, id: &str) -> Option<&SimCommand> {
        self.commands
            .iter()
            .find(|c| c.id == id && c.delete_at == 0)
    }

    /// A stored post by id, unless deleted.
    pub(crate) fn post(&self, id: &str) -> Option<&SimPost> {
        let index = *self.post_index.get(id)?;
        self.posts.get(index).filter(|p| p.delete_at == 0)
    }

    /// A stored post by id, deleted or not, to change in place.
    pub(crate) fn post_mut(&mut self, id: &str) -> Option<&mut SimPost> {
        let index = *self.post_index.get(id)?;
        self.posts.get_mut(index)
    }

    fn is_system_admin(&self, user_id: &str) -> bool {
        self.user(user_id).is_some_and(User::is_system_admin)
    }

    /// `SessionHasPermissionTo`: system scope. Every account holds `system_user`; what it
    /// lacks (`create_post_ephemeral`, `manage_system`) only system admins hold by default.
    pub(crate) fn has_system_permission(&self, user_id: &str, p: Permission) -> bool {
        self.is_system_admin(user_id) || (self.user(user_id).is_some() && system_user_has(p))
    }

    /// The direct channel of two users by id (`GetOrCreateDirectChannel`): the existing one,
    /// else a new one of type `D`, without a team, named `<id>__<id>` with the ids sorted,
    /// both users members. A user may have one with themself. Unknown users: 400.
    pub(crate) fn direct_channel(
        &mut self,
        user_a: &str,
        user_b: &str,
    ) -> Result<Channel, AppError> {
        if self.user(user_a).is_none() || self.user(user_b).is_none() {
            return Err(AppError::new(
                "api.channel.create_direct_channel.invalid_user.app_error",
                400,
                "Invalid user ID for direct channel creation.",
            ));
        }
        let name = if user_a < user_b {
            format!("{user_a}__{user_b}")
        } else {
            format!("{user_b}__{user_a}")
        };
        if let Some(existing) = self.channels.iter().find(|c| c.name == name) {
            return Ok(existing.clone());
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
            creator_id: user_a.to_owned(),
            create_at: now,
            update_at: now,
            delete_at: 0,
            last_post_at: 0,
            total_msg_count: 0,
            total_msg_count_root: 0,
            last_root_post_at: 0,
        };
        for user in [user_a, user_b] {
            self.channel_members
                .insert((channel.id.clone(), user.to_owned()));
        }
        self.channels.push(channel.clone());
        Ok(channel)
    }

    /// The two members of a direct channel (one twice for a channel with oneself), or `None`
    /// when `channel_id` is not a direct channel.
    pub(crate) fn direct_members(&self, channel_id: &str) -> Option<(String, String)> {
        let channel = self.channel(channel_id).filter(|c| c.channel_type == "D")?;
        let (a, b) = channel.name.split_once("__")?;
        Some((a.to_owned(), b.to_owned()))
    }

    /// `SessionHasPermissionToTeam`: system roles, then the team member's roles.
    pub(crate) fn has_team_permission(&self, user_id: &str, team_id: &str, p: Permission) -> bool {
        if self.is_system_admin(user_id) {
            return true;
        }
        match self.team_member(team_id, user_id) {
            Some(m) if m.admin => team_admin_has(p),
            Some(_) => team_user_has(p),
            None => false,
        }
    }

    /// `SessionHasPermissionToChannel`: channel roles if a member, else the team's.
    pub(crate) fn has_channel_permission(
        &self,
        user_id: &str,
        channel_id: &str,
        p: Permission,
    ) -> bool {
        if self.is_system_admin(user_id) {
            return true;
        }
        let Some(channel) = self.channel(channel_id) else {
            return false;
        };
        if self.is_channel_member(channel_id, user_id) && channel_user_has(p) {
            return true;
        }
        self.has_team_permission(user_id, &channel.team_id, p)
    }

    /// Whether the user may read the channel: a member, or a team member for public channels.
    pub(crate) fn can_read_channel(&self, user_id: &str, channel: &Channel) -> bool {
        self.has_channel_permission(user_id, &channel.id, Permission::ReadChannel)
            || (channel.is_open()
                && self.has_team_permission(
                    user_id,
                    &channel.team_id,
                    Permission::ReadPublicChannel,
                ))
    }

    /// Validates and stores a new post (`CreatePost`), returning it with id and timestamps.
    pub(crate) fn save_post(&mut self, mut post: SimPost) -> Result<SimPost, AppError> {
        if post.message.chars().count() > POST_MESSAGE_MAX_RUNES {
            return Err(AppError::new(
                "model.post.is_valid.message_length.app_error",
                400,
                "Invalid Message property length.",
            ));
        }
        let Some(channel) = self.channel(&post.channel_id) else {
            return Err(AppError::new(
                "app.channel.get.existing.app_error",
                404,
                "Unable to find the existing channel.",
            ));
        };
        if channel.delete_at != 0 {
            return Err(AppError::new(
                "api.post.create_post.can_not_post_to_deleted.error",
                400,
                "Can not post to deleted channel.",
            ));
        }
        if !post.root_id.is_empty() {
            let root_ok = self
                .post(&post.root_id)
                .is_some_and(|root| root.channel_id == post.channel_id && root.root_id.is_empty());
            if !root_ok {
                return Err(AppError::new(
                    "api.post.create_post.root_id.app_error",
                    400,
                    "Invalid RootId parameter.",
                ));
            }
        }
        post.id = new_id();
        post.ephemeral_for = None;
        super::interactive::fill_action_ids(&mut post.props);
        if post.create_at == 0 {
            post.create_at = now_millis();
        }
        post.update_at = post.create_at;
        let is_root = post.root_id.is_empty();
        if let Some(channel) = self.channels.iter_mut().find(|c| c.id == post.channel_id) {
            channel.last_post_at = post.create_at;
            channel.total_msg_count += 1;
            if is_root {
                channel.last_root_post_at = post.create_at;
                channel.total_msg_count_root += 1;
            }
        }
        self.post_index.insert(post.id.clone(), self.posts.len());
        self.posts.push(post.clone());
        Ok(post)
    }
}

/// Turns `post` into an ephemeral post for `user_id` (`SendEphemeralPost`): a fresh id, type
/// `system_ephemeral`, never stored.
pub(crate) fn make_ephemeral(mut post: SimPost, user_id: &str) -> SimPost {
    post.post_type = "system_ephemeral".to_owned();
    if post.id.is_empty() {
        post.id = new_id();
    }
    if post.create_at == 0 {
        post.create_at = now_millis();
    }
    post.update_at = post.create_at;
    post.ephemeral_for = Some(user_id.to_owned());
    post
}

/// Builds the seeded world (see the module docs of [`super`]).
pub(crate) fn seed(settings: SimSettings) -> Store {
    let now = now_millis();
    let mut store = Store {
        settings,
        ..Store::default()
    };
    let user = |username: &str, first: &str, is_bot: bool| User {
        id: new_id(),
        username: username.to_owned(),
        email: format!("{username}@example.com"),
        first_name: first.to_owned(),
        last_name: String::new(),
        nickname: String::new(),
        roles: "system_user".to_owned(),
        is_bot,
        create_at: now,
        update_at: now,
        delete_at: 0,
    };
    let bot = user("switchboard", "Switchboard", true);
    let alice = user("alice", "Alice", false);
    let bob = user("bob", "Bob", false);
    // A system admin, so access rules by role can be tried in `dev` (`!as @carol`).
    let mut carol = user("carol", "Carol", false);
    carol.roles = "system_admin system_user".to_owned();
    let dave = user("dave", "Dave", false);
    store.bot_token = store.settings.bot_token.clone().unwrap_or_else(new_id);
    store.tokens.insert(store.bot_token.clone(), bot.id.clone());
    for u in [&bot, &alice, &bob, &carol, &dave] {
        // Session tokens for the human users, reachable through `World::user_token`.
        if !u.is_bot {
            store.tokens.insert(new_id(), u.id.clone());
        }
    }
    for (name, display) in [("main", "Main"), ("ops", "Ops")] {
        let team = Team {
            id: new_id(),
            name: name.to_owned(),
            display_name: display.to_owned(),
            team_type: "O".to_owned(),
            allow_open_invite: false,
            email: format!("admin@{name}.example.com"),
            invite_id: new_id(),
            create_at: now,
            update_at: now,
            delete_at: 0,
        };
        for (u, admin) in [
            (&bot, true),
            (&alice, false),
            (&bob, false),
            (&carol, false),
            (&dave, false),
        ] {
            store.team_members.push(TeamMember {
                team_id: team.id.clone(),
                user_id: u.id.clone(),
                admin,
            });
        }
        let mut channels = vec![
            ("town-square", "Town Square", "O"),
            ("off-topic", "Off-Topic", "O"),
        ];
        if name == "main" {
            channels.push(("leads", "Leads", "P"));
        }
        for (cname, cdisplay, ctype) in channels {
            let channel = Channel {
                id: new_id(),
                team_id: team.id.clone(),
                channel_type: ctype.to_owned(),
                name: cname.to_owned(),
                display_name: cdisplay.to_owned(),
                header: String::new(),
                purpose: String::new(),
                creator_id: if ctype == "P" {
                    alice.id.clone()
                } else {
                    String::new()
                },
                create_at: now,
                update_at: now,
                delete_at: 0,
                last_post_at: 0,
                total_msg_count: 0,
                total_msg_count_root: 0,
                last_root_post_at: 0,
            };
            // bob and dave are left out of the private channel so its rules can be exercised.
            let members = if ctype == "P" {
                vec![&bot, &alice, &carol]
            } else {
                vec![&bot, &alice, &bob, &carol, &dave]
            };
            for u in members {
                store
                    .channel_members
                    .insert((channel.id.clone(), u.id.clone()));
            }
            store.channels.push(channel);
        }
        store.teams.push(team);
    }
    store.users = vec![bot, alice, bob, carol, dave];
    store
}
