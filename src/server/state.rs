//! Shared application state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::integrations::{Cx, CxParts, Handlers, RouteTable, SigningTtl};
use crate::mattermost::Client;
use crate::protocol::ResponseUrls;
use crate::signing::Signer;
use crate::tokens::TokenStore;

/// Everything handlers need: one reference-counted [`Shared`], so a clone (axum makes one
/// per request) is one atomic increment. Fields are reached through `Deref`.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    /// What every callback's [`Cx`] shares, built once from `shared`.
    cx_parts: Arc<CxParts>,
}

impl AppState {
    /// The state holding `shared`.
    pub fn new(shared: Shared) -> Self {
        let cx_parts = Arc::new(shared.cx_parts());
        AppState {
            shared: Arc::new(shared),
            cx_parts,
        }
    }

    /// Changes the state while the app is being assembled (copies it if already shared).
    pub(crate) fn update(&mut self, change: impl FnOnce(&mut Shared)) {
        change(Arc::make_mut(&mut self.shared));
        self.cx_parts = Arc::new(self.shared.cx_parts());
    }

    /// The context for a callback on `route`.
    pub fn cx(&self, route: &str, request_id: impl Into<String>) -> Cx {
        Cx::new(self.cx_parts.clone(), route, request_id)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// What [`AppState`] holds.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// The live routes (swapped atomically on reload; a request keeps the set it started
    /// with).
    pub routes: RouteTable,
    /// Every route's handler (declared routes and handlers registered in code).
    pub handlers: Arc<Handlers>,
    /// Tokens of our registered commands and hooks.
    pub tokens: TokenStore,
    /// Whether registration has succeeded.
    pub ready: Readiness,
    /// The Mattermost client.
    pub client: Client,
    /// Signs and verifies dialog state and action context.
    pub signer: Signer,
    /// `response_url` use counts.
    pub response_urls: ResponseUrls,
    /// What replicas share: single-use records, use counts, exec limits, the role cache.
    pub store: crate::store::Store,
    /// How replicas handle each tick and message once (`[coordination]`).
    pub coordinator: crate::coordination::Coordinator,
    /// Work that outlived its callback's budget; shutdown waits for it.
    pub background: TaskTracker,
    /// Cancelled when the shutdown grace period is over (background jobs mark themselves
    /// interrupted).
    pub interrupt: tokio_util::sync::CancellationToken,
}

impl Shared {
    fn cx_parts(&self) -> CxParts {
        CxParts {
            client: self.client.clone(),
            signer: self.signer.clone(),
            public_url: self.settings.server.public_url.clone(),
            ttl: SigningTtl {
                dialog: self.settings.signing.dialog_ttl(),
                action: self.settings.signing.action_ttl(),
            },
            response_urls: self.response_urls.clone(),
            background: self.background.clone(),
            interrupt: self.interrupt.clone(),
        }
    }

    /// The bot's user id (outgoing hooks ignore its posts): `GET /users/me` once, kept by the
    /// client ([`Client::own_user_id`]), which direct messages use too.
    ///
    /// [`Client::own_user_id`]: crate::mattermost::Client::own_user_id
    pub async fn bot_user_id(&self) -> Result<crate::mattermost::UserId, crate::mattermost::Error> {
        self.client.own_user_id().await
    }
}

/// Whether this replica may take traffic: once its routes are registered in Mattermost *and*
/// its shared store answered once. `/readyz` answers 503 until both happened.
///
/// **Why the store counts only at startup.** A replica that never reached its configured store
/// (a wrong password, a wrong host) would refuse every dialog and one-shot button: it must not
/// join the Service, and a rolling update should stop at it. Once ready, a replica stays ready
/// through store outages: every replica shares the one Redis, so readiness following it would
/// take *all* of them out of the Service at once (and flap with every blip), turning "dialogs
/// say try again" into "every slash command fails". Those outages show in
/// `switchboard_callbacks_total{outcome="unavailable"}` and the log instead.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<ReadinessFlags>);

#[derive(Debug, Default)]
struct ReadinessFlags {
    registered: AtomicBool,
    store_reached: AtomicBool,
}

impl Readiness {
    /// Marks the routes registered.
    pub fn set_ready(&self) {
        self.0.registered.store(true, Ordering::Release);
    }

    /// Marks the shared store reached (it answered once).
    pub fn set_store_reached(&self) {
        self.0.store_reached.store(true, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.waiting_for().is_none()
    }

    /// What readiness still waits for, as `/readyz` says it; `None` when ready.
    pub fn waiting_for(&self) -> Option<&'static str> {
        if !self.0.store_reached.load(Ordering::Acquire) {
            Some("waiting for the shared store ([store] url) to answer")
        } else if !self.0.registered.load(Ordering::Acquire) {
            Some("registering with Mattermost")
        } else {
            None
        }
    }
}
