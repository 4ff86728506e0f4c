//! The verification tokens Mattermost issued for our commands and outgoing hooks, per route
//! and team, and the refresh that picks up a token an admin regenerated.
//!
//! Filled by the reconciler from Mattermost's own listings (so a restarted or second replica
//! knows them without creating anything) and read by every callback. Comparison is constant
//! time. Command and hook tokens are kept apart ([`TokenKind`]): a hook's token does not open
//! the route's slash command, nor the other way round.
//!
//! Three sources, checked in this order:
//! - **static** tokens of hand-registered commands (`token_env`), accepted in every team;
//! - **managed** tokens, replaced team by team by the reconciler ([`TokenStore::replace_team`]);
//! - **manual** tokens ([`TokenStore::insert`]) for commands registered in code, which the
//!   reconciler never replaces.
//!
//! **Refresh.** A callback whose token matches nothing may be legitimate: an admin pressed
//! "Regenerate token", or another replica's command survived deduplication. Such a callback
//! triggers at most one re-read of that team's tokens before it is refused. Refreshes are
//! *single-flight* (callbacks arriving during a refresh wait for it instead of starting their
//! own) and *rate-limited* per team (at most one per [`TokenStore::MIN_REFRESH_INTERVAL`]), and
//! only teams the reconciler has seen are ever refreshed, so a flood of forged callbacks costs
//! Mattermost at most one listing per team per interval.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use subtle::ConstantTimeEq;
use tokio::time::Instant;

/// Which kind of callback a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A slash command (`/commands/<route>`).
    Command,
    /// An outgoing webhook (`/hooks/<route>`).
    Hook,
}

/// A team's current tokens, as a refresh reads them: `(kind, route, token)`.
pub type TeamTokens = Vec<(TokenKind, String, String)>;

/// The future a refresher returns: the team's tokens, or why they could not be read.
pub type RefreshFuture = Pin<Box<dyn Future<Output = Result<TeamTokens, String>> + Send>>;

type Refresher = Arc<dyn Fn(String) -> RefreshFuture + Send + Sync>;

/// kind → route → (team id → token). Nested rather than keyed by `(kind, route)` so a lookup
/// borrows the route instead of allocating an owned key per request.
type Table = HashMap<TokenKind, HashMap<String, HashMap<String, String>>>;

#[derive(Default, Clone)]
struct Tables {
    managed: Table,
    /// route → (team id → token), any kind.
    manual: HashMap<String, HashMap<String, String>>,
    /// route → token, commands in every team.
    statics: HashMap<String, String>,
    /// Teams the reconciler has read.
    known_teams: HashSet<String>,
}

/// Shared, cheap-to-clone token table.
#[derive(Clone, Default)]
pub struct TokenStore {
    /// Read on every callback without a lock (a snapshot); written rarely (registration,
    /// refresh) by copying, under `writing`.
    tables: Arc<ArcSwap<Tables>>,
    writing: Arc<Mutex<()>>,
    /// Re-reads one team's tokens; set once registration is wired up.
    refresher: Arc<RwLock<Option<Refresher>>>,
    /// team id → when its last refresh started. Held across the refresh: single flight.
    refreshed: Arc<tokio::sync::Mutex<HashMap<String, Instant>>>,
    /// Refreshes done so far (for logs and tests).
    refresh_count: Arc<AtomicUsize>,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("tokens", &self.len())
            .finish_non_exhaustive()
    }
}

fn matches(expected: &str, token: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
}

impl TokenStore {
    /// Shortest time between two refreshes of one team.
    pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(10);

    fn read(&self) -> arc_swap::Guard<Arc<Tables>> {
        self.tables.load()
    }

    /// Applies `change` to a copy of the tables and publishes it; writers take turns.
    fn update(&self, change: impl FnOnce(&mut Tables)) {
        let _turn = self
            .writing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tables = Tables::clone(&self.tables.load());
        change(&mut tables);
        self.tables.store(Arc::new(tables));
    }

    /// Records a token for `route` in `team_id` that the reconciler does not manage (a command
    /// or hook registered in code); accepted for either callback kind.
    pub fn insert(&self, route: &str, team_id: &str, token: &str) {
        self.update(|tables| {
            tables
                .manual
                .entry(route.to_owned())
                .or_default()
                .insert(team_id.to_owned(), token.to_owned());
        });
    }

    /// Replaces every managed `kind` token of `team_id` with `tokens` (`(route, token)`
    /// pairs): a route missing from `tokens` has no such object in that team any more.
    pub fn replace_team(&self, kind: TokenKind, team_id: &str, tokens: Vec<(String, String)>) {
        self.update(|tables| {
            tables.known_teams.insert(team_id.to_owned());
            let routes = tables.managed.entry(kind).or_default();
            for teams in routes.values_mut() {
                teams.remove(team_id);
            }
            for (route, token) in tokens {
                routes
                    .entry(route)
                    .or_default()
                    .insert(team_id.to_owned(), token);
            }
        });
    }

    /// Accepts `token` for `route`'s slash command in every team (a command registered by hand).
    pub fn insert_static(&self, route: &str, token: &str) {
        self.update(|tables| {
            tables.statics.insert(route.to_owned(), token.to_owned());
        });
    }

    /// Whether `token` is the slash-command token of `route` in `team_id`.
    pub fn verify(&self, route: &str, team_id: &str, token: &str) -> bool {
        self.verify_kind(TokenKind::Command, route, team_id, token)
    }

    /// Whether `token` is a `kind` token of `route` in `team_id`. Constant time in the token.
    pub fn verify_kind(&self, kind: TokenKind, route: &str, team_id: &str, token: &str) -> bool {
        if token.is_empty() {
            return false;
        }
        let tables = self.read();
        if kind == TokenKind::Command {
            if let Some(expected) = tables.statics.get(route) {
                return matches(expected, token);
            }
        }
        let managed = tables
            .managed
            .get(&kind)
            .and_then(|routes| routes.get(route))
            .and_then(|teams| teams.get(team_id))
            .is_some_and(|expected| matches(expected, token));
        let manual = tables
            .manual
            .get(route)
            .and_then(|teams| teams.get(team_id))
            .is_some_and(|expected| matches(expected, token));
        managed | manual
    }

    /// [`TokenStore::verify_kind`], and when that fails, at most one refresh of the team's
    /// tokens (see the module docs) before answering again.
    pub async fn verify_or_refresh(
        &self,
        kind: TokenKind,
        route: &str,
        team_id: &str,
        token: &str,
    ) -> bool {
        let arrived = Instant::now();
        if self.verify_kind(kind, route, team_id, token) {
            return true;
        }
        let refreshable = {
            let tables = self.read();
            tables.known_teams.contains(team_id)
                && !(kind == TokenKind::Command && tables.statics.contains_key(route))
        };
        if token.is_empty() || !refreshable {
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
                return self.verify_kind(kind, route, team_id, token);
            }
            if last.elapsed() < Self::MIN_REFRESH_INTERVAL {
                tracing::debug!(team_id, "token refresh skipped: rate limited");
                return false;
            }
        }
        refreshed.insert(team_id.to_owned(), Instant::now());
        self.refresh_count.fetch_add(1, Ordering::Relaxed);
        match refresher(team_id.to_owned()).await {
            Ok(tokens) => {
                tracing::info!(team_id, "re-read tokens after an unknown one");
                for kind in [TokenKind::Command, TokenKind::Hook] {
                    let pairs = tokens
                        .iter()
                        .filter(|(k, _, _)| *k == kind)
                        .map(|(_, route, token)| (route.clone(), token.clone()))
                        .collect();
                    self.replace_team(kind, team_id, pairs);
                }
            }
            Err(error) => tracing::warn!(team_id, %error, "token refresh failed"),
        }
        drop(refreshed);
        self.verify_kind(kind, route, team_id, token)
    }

    /// Sets the function that re-reads one team's tokens.
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
        self.refresh_count.load(Ordering::Relaxed)
    }

    /// Number of (kind, route, team) tokens held, static ones excluded.
    pub fn len(&self) -> usize {
        let tables = self.read();
        let count =
            |table: &HashMap<String, String>| table.values().filter(|t| !t.is_empty()).count();
        tables
            .managed
            .values()
            .flat_map(HashMap::values)
            .map(count)
            .sum::<usize>()
            + tables.manual.values().map(count).sum::<usize>()
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

    #[test]
    fn a_static_token_is_accepted_in_every_team_and_nothing_else_is() {
        let store = TokenStore::default();
        store.insert_static("manual", "s3cret");
        assert!(store.verify("manual", "any-team", "s3cret"));
        assert!(!store.verify("manual", "any-team", "other"));
    }

    #[test]
    fn hook_and_command_tokens_do_not_open_each_other() {
        let store = TokenStore::default();
        store.replace_team(TokenKind::Command, "t1", vec![("r".into(), "cmd".into())]);
        store.replace_team(TokenKind::Hook, "t1", vec![("r".into(), "hook".into())]);
        assert!(store.verify_kind(TokenKind::Command, "r", "t1", "cmd"));
        assert!(store.verify_kind(TokenKind::Hook, "r", "t1", "hook"));
        assert!(!store.verify_kind(TokenKind::Command, "r", "t1", "hook"));
        assert!(!store.verify_kind(TokenKind::Hook, "r", "t1", "cmd"));
    }

    #[test]
    fn manual_tokens_survive_a_replacement_by_the_reconciler() {
        let store = TokenStore::default();
        store.insert("coded", "t1", "mine");
        store.replace_team(TokenKind::Command, "t1", vec![]);
        assert!(store.verify("coded", "t1", "mine"));
    }

    #[test]
    fn replacing_a_team_forgets_routes_no_longer_there() {
        let store = TokenStore::default();
        store.replace_team(
            TokenKind::Command,
            "t1",
            vec![("a".into(), "ta".into()), ("b".into(), "tb".into())],
        );
        store.replace_team(TokenKind::Command, "t1", vec![("a".into(), "ta2".into())]);
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
                Ok(vec![(
                    TokenKind::Command,
                    "hello".to_owned(),
                    token.to_owned(),
                )])
            })
        });
        calls
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_unknown_tokens_share_one_refresh_and_then_verify() {
        let store = TokenStore::default();
        store.replace_team(
            TokenKind::Command,
            "t1",
            vec![("hello".into(), "old".into())],
        );
        let calls = counting_refresher(&store, "new");
        let checks =
            (0..5).map(|_| store.verify_or_refresh(TokenKind::Command, "hello", "t1", "new"));
        let results = futures::future::join_all(checks).await;
        assert_eq!(results, vec![true; 5]);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "single flight");
        assert!(!store.verify("hello", "t1", "old"), "the old token is gone");
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_of_one_team_are_rate_limited() {
        let store = TokenStore::default();
        store.replace_team(
            TokenKind::Command,
            "t1",
            vec![("hello".into(), "tok".into())],
        );
        let calls = counting_refresher(&store, "tok");
        assert!(
            !store
                .verify_or_refresh(TokenKind::Command, "hello", "t1", "forged1")
                .await
        );
        assert!(
            !store
                .verify_or_refresh(TokenKind::Command, "hello", "t1", "forged2")
                .await
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "second one is rate limited"
        );
        tokio::time::advance(TokenStore::MIN_REFRESH_INTERVAL).await;
        assert!(
            !store
                .verify_or_refresh(TokenKind::Command, "hello", "t1", "forged3")
                .await
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "allowed again after the interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_teams_never_trigger_a_refresh() {
        let store = TokenStore::default();
        store.replace_team(
            TokenKind::Command,
            "t1",
            vec![("hello".into(), "tok".into())],
        );
        let calls = counting_refresher(&store, "tok");
        assert!(
            !store
                .verify_or_refresh(TokenKind::Command, "hello", "not-ours", "tok")
                .await
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
