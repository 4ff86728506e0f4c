//! The verification tokens Mattermost issued for our commands, per route and team, and the
//! refresh that picks up a token an admin regenerated.
//!
//! Filled by the reconciler from Mattermost's own listing (so a restarted or second replica
//! knows them without creating anything) and read by every callback. Comparison is constant
//! time.
//!
//! **Refresh.** A callback whose token matches nothing may be legitimate: an admin pressed
//! "Regenerate token", or another replica's command survived deduplication. Such a callback
//! triggers at most one re-read of that team's tokens before it is refused. Refreshes are
//! *single-flight* (callbacks arriving during a refresh wait for it instead of starting their
//! own) and *rate-limited* per team (at most one per [`TokenStore::MIN_REFRESH_INTERVAL`]), and
//! only teams we hold tokens for are ever refreshed, so a flood of forged callbacks costs
//! Mattermost at most one listing per team per interval.
//!
//! **Static tokens.** A route that names `token_env` was registered by hand; its token comes
//! from the environment and is accepted in every team.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use subtle::ConstantTimeEq;
use tokio::time::Instant;

/// The future a refresher returns: the team's `(route, token)` pairs, or why it failed.
pub type RefreshFuture =
    Pin<Box<dyn Future<Output = Result<Vec<(String, String)>, String>> + Send>>;

type Refresher = Arc<dyn Fn(String) -> RefreshFuture + Send + Sync>;

/// Shared, cheap-to-clone token table.
#[derive(Clone, Default)]
pub struct TokenStore {
    /// route name → (team id → token)
    inner: Arc<RwLock<HashMap<String, HashMap<String, String>>>>,
    /// route name → token accepted in every team (hand-registered commands).
    statics: Arc<RwLock<HashMap<String, String>>>,
    /// Re-reads one team's tokens; set once registration is wired up.
    refresher: Arc<RwLock<Option<Refresher>>>,
    /// team id → when its last refresh started. Held across the refresh: single flight.
    refreshed: Arc<tokio::sync::Mutex<HashMap<String, Instant>>>,
    /// Refreshes done so far (for logs and tests).
    refresh_count: Arc<std::sync::atomic::AtomicUsize>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("tokens", &self.len())
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// Shortest time between two refreshes of one team.
    pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

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

    /// Replaces every token of `team_id` with `tokens` (`(route, token)` pairs): a route
    /// missing from `tokens` has no command in that team any more.
    pub fn replace_team(&self, team_id: &str, tokens: Vec<(String, String)>) {
        let mut map = self
            .inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for teams in map.values_mut() {
            teams.remove(team_id);
        }
        // An empty entry keeps the team known, so its callbacks may still trigger a refresh.
        map.entry(String::new())
            .or_default()
            .insert(team_id.to_owned(), String::new());
        for (route, token) in tokens {
            map.entry(route)
                .or_default()
                .insert(team_id.to_owned(), token);
        }
    }

    /// Accepts `token` for `route` in every team (a command registered by hand).
    pub fn insert_static(&self, route: &str, token: &str) {
        self.statics
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(route.to_owned(), token.to_owned());
    }

    /// Whether `token` is the one issued for `route` in `team_id`. Constant time in the token.
    pub fn verify(&self, route: &str, team_id: &str, token: &str) -> bool {
        if token.is_empty() || route.is_empty() {
            return false;
        }
        let statics = self
            .statics
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(expected) = statics.get(route) {
            return bool::from(expected.as_bytes().ct_eq(token.as_bytes()));
        }
        drop(statics);
        let map = self
            .inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(expected) = map.get(route).and_then(|teams| teams.get(team_id)) else {
            return false;
        };
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }

    /// [`TokenStore::verify`], and when that fails, at most one refresh of the team's tokens
    /// (see the module docs) before answering again.
    pub async fn verify_or_refresh(&self, route: &str, team_id: &str, token: &str) -> bool {
        let arrived = Instant::now();
        if self.verify(route, team_id, token) {
            return true;
        }
        if token.is_empty() || !self.knows_team(team_id) || self.is_static(route) {
            return false;
        }
        let Some(refresher) = self
            .refresher
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
        else {
            return false;
        };
        let mut refreshed = self.refreshed.lock().await;
        if let Some(&last) = refreshed.get(team_id) {
            if last >= arrived {
                // Someone refreshed while we waited: their answer is ours.
                drop(refreshed);
                return self.verify(route, team_id, token);
            }
            if last.elapsed() < Self::MIN_REFRESH_INTERVAL {
                tracing::debug!(team_id, "token refresh skipped: rate limited");
                return false;
            }
        }
        refreshed.insert(team_id.to_owned(), Instant::now());
        self.refresh_count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match refresher(team_id.to_owned()).await {
            Ok(tokens) => {
                tracing::info!(team_id, "re-read command tokens after an unknown token");
                self.replace_team(team_id, tokens);
            }
            Err(error) => tracing::warn!(team_id, %error, "token refresh failed"),
        }
        drop(refreshed);
        self.verify(route, team_id, token)
    }

    /// Sets the function that re-reads one team's `(route, token)` pairs.
    pub fn set_refresher(
        &self,
        refresher: impl Fn(String) -> RefreshFuture + Send + Sync + 'static,
    ) {
        *self
            .refresher
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::new(refresher));
    }

    /// How many refreshes have run.
    pub fn refresh_count(&self) -> usize {
        self.refresh_count
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn knows_team(&self, team_id: &str) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .any(|teams| teams.contains_key(team_id))
    }

    fn is_static(&self, route: &str) -> bool {
        self.statics
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains_key(route)
    }

    /// Number of (route, team) tokens held.
    pub fn len(&self) -> usize {
        let map = self
            .inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.iter()
            .filter(|(route, _)| !route.is_empty())
            .map(|(_, teams)| teams.values().filter(|t| !t.is_empty()).count())
            .sum()
    }

    /// Whether no token is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    #[test]
    fn a_static_token_is_accepted_in_every_team_and_nothing_else_is() {
        let store = TokenStore::default();
        store.insert_static("manual", "s3cret");
        assert!(store.verify("manual", "any-team", "s3cret"));
        assert!(!store.verify("manual", "any-team", "other"));
    }

    #[test]
    fn replacing_a_team_forgets_routes_no_longer_there() {
        let store = TokenStore::default();
        store.replace_team(
            "t1",
            vec![("a".into(), "ta".into()), ("b".into(), "tb".into())],
        );
        store.replace_team("t1", vec![("a".into(), "ta2".into())]);
        assert!(store.verify("a", "t1", "ta2"));
        assert!(!store.verify("a", "t1", "ta"));
        assert!(!store.verify("b", "t1", "tb"));
        assert_eq!(store.len(), 1);
    }

    fn counting_refresher(store: &TokenStore, token: &'static str) -> Arc<AtomicUsize> {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        store.set_refresher(move |_team| {
            let counter = counter.clone();
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(vec![("hello".to_owned(), token.to_owned())])
            })
        });
        calls
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_unknown_tokens_share_one_refresh_and_then_verify() {
        let store = TokenStore::default();
        store.replace_team("t1", vec![("hello".into(), "old".into())]);
        let calls = counting_refresher(&store, "new");
        let checks = (0..5).map(|_| store.verify_or_refresh("hello", "t1", "new"));
        let results = futures::future::join_all(checks).await;
        assert_eq!(results, vec![true; 5]);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "single flight");
        assert!(!store.verify("hello", "t1", "old"), "the old token is gone");
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_of_one_team_are_rate_limited() {
        let store = TokenStore::default();
        store.replace_team("t1", vec![("hello".into(), "tok".into())]);
        let calls = counting_refresher(&store, "tok");
        assert!(!store.verify_or_refresh("hello", "t1", "forged1").await);
        assert!(!store.verify_or_refresh("hello", "t1", "forged2").await);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "second one is rate limited"
        );
        tokio::time::advance(TokenStore::MIN_REFRESH_INTERVAL).await;
        assert!(!store.verify_or_refresh("hello", "t1", "forged3").await);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "allowed again after the interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_teams_never_trigger_a_refresh() {
        let store = TokenStore::default();
        store.replace_team("t1", vec![("hello".into(), "tok".into())]);
        let calls = counting_refresher(&store, "tok");
        assert!(!store.verify_or_refresh("hello", "not-ours", "tok").await);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
