//! The verification tokens Mattermost issued for our commands, per route and team.
//!
//! Filled by the reconciler from Mattermost's own listing (so a restarted or second replica
//! knows them without creating anything) and read by every callback. Comparison is constant
//! time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use subtle::ConstantTimeEq;

/// Shared, cheap-to-clone token table.
#[derive(Clone, Default)]
pub struct TokenStore {
    /// route name → (team id → token)
    inner: Arc<RwLock<HashMap<String, HashMap<String, String>>>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes = self.inner.read().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("TokenStore")
            .field("routes", &routes)
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// Records the token of `route`'s command in `team_id`.
    pub fn insert(&self, route: &str, team_id: &str, token: &str) {
        let mut map = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(route.to_owned())
            .or_default()
            .insert(team_id.to_owned(), token.to_owned());
    }

    /// Whether `token` is the one issued for `route` in `team_id`. Constant time in the token.
    pub fn verify(&self, route: &str, team_id: &str, token: &str) -> bool {
        let map = self
            .inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(expected) = map.get(route).and_then(|teams| teams.get(team_id)) else {
            return false;
        };
        !token.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }

    /// Number of (route, team) tokens held.
    pub fn len(&self) -> usize {
        let map = self
            .inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.values().map(HashMap::len).sum()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_of_that_route_and_team_verifies() {
        let store = TokenStore::default();
        store.insert("hello", "team1", "tok1");
        store.insert("hello", "team2", "tok2");
        assert!(store.verify("hello", "team1", "tok1"));
        assert!(
            !store.verify("hello", "team1", "tok2"),
            "another team's token"
        );
        assert!(!store.verify("other", "team1", "tok1"), "another route");
        assert!(!store.verify("hello", "team1", ""), "empty");
        assert!(!store.verify("hello", "team1", "tok1x"), "longer");
    }
}
