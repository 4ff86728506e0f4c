//! Shared application state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Settings;
use crate::integrations::{RouteTable, Runtime};
use crate::mattermost::Client;
use crate::tokens::TokenStore;

/// Everything handlers need; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The settings the server started with.
    pub settings: Arc<Settings>,
    /// The live routes (swapped on reload; a request holds the set it started with).
    pub routes: RouteTable,
    /// What running a route needs (clients, role cache, button links).
    pub runtime: Runtime,
    /// Tokens of our registered commands.
    pub tokens: TokenStore,
    /// Whether registration has succeeded.
    pub ready: Readiness,
    /// The Mattermost client.
    pub client: Client,
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
