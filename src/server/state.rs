//! Shared application state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::task::TaskTracker;

use crate::config::Settings;
use crate::integrations::RouteSet;
use crate::mattermost::Client;
use crate::tokens::TokenStore;

/// Everything handlers need; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// The loaded routes.
    pub routes: Arc<RouteSet>,
    /// Tokens of our registered commands.
    pub tokens: TokenStore,
    /// Whether registration has succeeded.
    pub ready: Readiness,
    /// The Mattermost client.
    pub client: Client,
    /// Work that outlives its callback (deferred replies, exec jobs): spawn it here with
    /// `state.background.spawn(..)` so shutdown waits for it within the grace period.
    pub background: TaskTracker,
}

/// Set once the routes are registered in Mattermost; `/readyz` answers 503 until then.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the server ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
