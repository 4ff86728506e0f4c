//! The in-process store: entries that expire, pruned in expiry order.
//!
//! Every entry has a deadline; an index ordered by deadline lets each operation drop what has
//! expired in O(log n) per dropped entry. The keys are spread over [`SHARDS`] tables, each with
//! its own lock, so two workers rarely wait for each other and a table's growth (rehashing
//! every entry) stalls one request for a sixteenth of the time. At most [`MAX_ENTRIES`] are
//! kept in all: beyond a table's share the entry closest to its deadline goes first (logged),
//! which for a single-use record means it could be used once more. Records are made only for
//! verified signed tokens, so reaching the cap takes that many genuine submissions within
//! their lifetime.
//!
//! Each key is allocated once and shared by the map and the index: a single-use record costs
//! about 230 bytes (bench S3, a flood of genuine dialog submissions; 380 with a copy in each).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Claim, Lease};

/// Most entries kept at once, in all tables.
pub(super) const MAX_ENTRIES: usize = 1_000_000;
/// How many tables the keys are spread over.
const SHARDS: usize = 16;

#[derive(Debug)]
enum Value {
    Flag,
    Count(u32),
    Text(String),
    /// Holder → its own deadline. Boxed: leases are few, single-use records many, and the
    /// map inline would make every entry 24 bytes larger.
    #[expect(
        clippy::box_collection,
        reason = "one allocation more per lease keeps every other entry small"
    )]
    Leases(Box<HashMap<String, Instant>>),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    deadline: Instant,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Arc<str>, Entry>,
    by_deadline: BTreeSet<(Instant, Arc<str>)>,
}

impl Table {
    fn prune(&mut self, now: Instant) {
        while let Some((deadline, _)) = self.by_deadline.first() {
            let full = self.entries.len() >= MAX_ENTRIES / SHARDS;
            if *deadline > now && !full {
                break;
            }
            if let Some((deadline, key)) = self.by_deadline.pop_first() {
                if deadline > now {
                    tracing::warn!(
                        max = MAX_ENTRIES,
                        "the in-process store is full; forgetting its oldest entry early"
                    );
                }
                self.entries.remove(&*key);
            }
        }
    }

    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        self.prune(now);
        self.entries.get_mut(key)
    }

    fn insert(&mut self, key: &str, value: Value, deadline: Instant) {
        self.remove(key);
        let key: Arc<str> = Arc::from(key);
        self.by_deadline.insert((deadline, Arc::clone(&key)));
        self.entries.insert(key, Entry { value, deadline });
    }

    fn set_deadline(&mut self, key: &str, deadline: Instant) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        let old = std::mem::replace(&mut entry.deadline, deadline);
        if let Some((shared, _)) = self.entries.get_key_value(key) {
            let shared = Arc::clone(shared);
            self.by_deadline.remove(&(old, Arc::clone(&shared)));
            self.by_deadline.insert((deadline, shared));
        }
    }

    fn remove(&mut self, key: &str) {
        if let Some((shared, entry)) = self.entries.remove_entry(key) {
            self.by_deadline.remove(&(entry.deadline, shared));
        }
    }
}

/// The in-process store.
#[derive(Debug, Default)]
pub(super) struct Memory {
    tables: [Mutex<Table>; SHARDS],
}

/// The table holding `key`.
fn shard_of(key: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    // The remainder is below SHARDS, so it fits any usize.
    (hasher.finish() % SHARDS as u64) as usize
}

impl Memory {
    /// The table holding `key`, locked.
    fn table(&self, key: &str) -> std::sync::MutexGuard<'_, Table> {
        self.tables[shard_of(key)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn claim_once(&self, key: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut table = self.table(key);
        if table.live(key, now).is_some() {
            return false;
        }
        table.insert(key, Value::Flag, now + ttl);
        true
    }

    pub(super) fn remove(&self, key: &str) {
        self.table(key).remove(key);
    }

    pub(super) fn take_use(&self, key: &str, limit: u32, ttl: Duration) -> Option<u32> {
        let now = Instant::now();
        let mut table = self.table(key);
        if let Some(Entry {
            value: Value::Count(n),
            ..
        }) = table.live(key, now)
        {
            if *n >= limit {
                return None;
            }
            *n += 1;
            return Some(*n);
        }
        if limit == 0 {
            return None;
        }
        table.insert(key, Value::Count(1), now + ttl);
        Some(1)
    }

    pub(super) fn give_back_use(&self, key: &str) {
        if let Some(Entry {
            value: Value::Count(n),
            ..
        }) = self.table(key).live(key, Instant::now())
        {
            *n = n.saturating_sub(1);
        }
    }

    pub(super) fn uses(&self, key: &str) -> u32 {
        match self.table(key).live(key, Instant::now()) {
            Some(Entry {
                value: Value::Count(n),
                ..
            }) => *n,
            _ => 0,
        }
    }

    pub(super) fn cache_get(&self, key: &str) -> Option<String> {
        match self.table(key).live(key, Instant::now()) {
            Some(Entry {
                value: Value::Text(text),
                ..
            }) => Some(text.clone()),
            _ => None,
        }
    }

    pub(super) fn cache_put(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        let mut table = self.table(key);
        table.prune(now);
        table.insert(key, Value::Text(value.to_owned()), now + ttl);
    }

    pub(super) fn lease(&self, key: &str, holder: &str, max: usize, ttl: Duration) -> Lease {
        let now = Instant::now();
        let deadline = now + ttl;
        let mut table = self.table(key);
        let lease = match table.live(key, now) {
            Some(Entry {
                value: Value::Leases(holders),
                ..
            }) => {
                holders.retain(|_, until| *until > now);
                let others = holders.len() - usize::from(holders.contains_key(holder));
                if !holders.contains_key(holder) && holders.len() >= max {
                    return Lease::Full;
                }
                holders.insert(holder.to_owned(), deadline);
                Lease::Granted { others }
            }
            _ => {
                if max == 0 {
                    return Lease::Full;
                }
                let holders = Box::new(HashMap::from([(holder.to_owned(), deadline)]));
                table.insert(key, Value::Leases(holders), deadline);
                return Lease::Granted { others: 0 };
            }
        };
        let latest = match table.entries.get(key) {
            Some(Entry {
                value: Value::Leases(holders),
                ..
            }) => holders.values().max().copied().unwrap_or(deadline),
            _ => deadline,
        };
        table.set_deadline(key, latest);
        lease
    }

    pub(super) fn renew(&self, key: &str, holder: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let deadline = now + ttl;
        let mut table = self.table(key);
        let renewed = match table.live(key, now) {
            Some(Entry {
                value: Value::Leases(holders),
                ..
            }) => match holders.get_mut(holder) {
                Some(until) if *until > now => {
                    *until = deadline;
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if renewed {
            table.set_deadline(key, deadline);
        }
        renewed
    }

    pub(super) fn unlease(&self, key: &str, holder: &str) {
        let mut table = self.table(key);
        if let Some(Entry {
            value: Value::Leases(holders),
            ..
        }) = table.live(key, Instant::now())
        {
            holders.remove(holder);
        }
    }
}

impl Memory {
    pub(super) fn claim_work(&self, key: &str, holder: &str, ttl: Duration) -> Claim {
        let now = Instant::now();
        let mine = format!("run:{holder}");
        let mut table = self.table(key);
        let held = match table.live(key, now) {
            None => None,
            Some(Entry {
                value: Value::Text(text),
                deadline,
            }) if text.starts_with("run:") => Some((*text == mine, *deadline)),
            Some(_) => return Claim::Done,
        };
        match held {
            Some((false, deadline)) => Claim::Held {
                expires_in: deadline.saturating_duration_since(now),
            },
            Some((true, _)) => {
                table.set_deadline(key, now + ttl);
                Claim::Mine
            }
            None => {
                table.insert(key, Value::Text(mine), now + ttl);
                Claim::Mine
            }
        }
    }

    /// Sets `key`'s deadline to `ttl` from now and, with `done`, marks it done — when `holder`
    /// holds it (or, for `done`, when nobody does); `false` otherwise.
    pub(super) fn renew_or_finish_work(
        &self,
        key: &str,
        holder: &str,
        ttl: Duration,
        done: bool,
    ) -> bool {
        let now = Instant::now();
        let mine = format!("run:{holder}");
        let mut table = self.table(key);
        let ours = match table.live(key, now) {
            Some(Entry {
                value: Value::Text(text),
                ..
            }) => *text == mine,
            Some(_) => false,
            None => done,
        };
        if ours {
            if done {
                table.insert(key, Value::Flag, now + ttl);
            } else {
                table.set_deadline(key, now + ttl);
            }
        }
        ours
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_claim_is_refused_until_it_expires_or_is_released() {
        let store = Memory::default();
        assert!(store.claim_once("k", Duration::from_millis(30)));
        assert!(!store.claim_once("k", MINUTE));
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            store.claim_once("k", MINUTE),
            "expired claims are forgotten"
        );
        store.remove("k");
        assert!(store.claim_once("k", MINUTE));
    }

    #[test]
    fn uses_stop_at_the_limit_and_can_be_given_back() {
        let store = Memory::default();
        for n in 1..=5 {
            assert_eq!(store.take_use("u", 5, MINUTE), Some(n));
        }
        assert_eq!(store.take_use("u", 5, MINUTE), None);
        store.give_back_use("u");
        assert_eq!(store.uses("u"), 4);
        assert_eq!(store.take_use("u", 5, MINUTE), Some(5));
    }

    #[test]
    fn expired_entries_are_pruned_as_new_ones_arrive() {
        let store = Memory::default();
        for i in 0..1000 {
            store.claim_once(&format!("old{i}"), Duration::from_millis(10));
        }
        store.claim_once("young", MINUTE);
        std::thread::sleep(Duration::from_millis(20));
        // A new entry in each table prunes that table.
        let mut touched = [false; SHARDS];
        let mut new = 0;
        while touched.contains(&false) {
            let key = format!("new{new}");
            touched[shard_of(&key)] = true;
            store.claim_once(&key, MINUTE);
            new += 1;
        }
        let (entries, indexed) = store.tables.iter().fold((0, 0), |(e, i), table| {
            let table = table.lock().unwrap();
            (e + table.entries.len(), i + table.by_deadline.len())
        });
        assert_eq!(entries, new + 1, "only `young` and the new ones are left");
        assert_eq!(indexed, new + 1);
    }

    #[test]
    fn leases_are_bounded_renewable_and_expire() {
        let store = Memory::default();
        let short = Duration::from_millis(30);
        assert_eq!(
            store.lease("s", "a", 2, short),
            Lease::Granted { others: 0 }
        );
        assert_eq!(
            store.lease("s", "b", 2, MINUTE),
            Lease::Granted { others: 1 }
        );
        assert_eq!(store.lease("s", "c", 2, MINUTE), Lease::Full);
        assert!(store.renew("s", "b", MINUTE));
        std::thread::sleep(Duration::from_millis(40));
        // `a` stopped renewing: its place is free again.
        assert!(!store.renew("s", "a", MINUTE));
        assert_eq!(
            store.lease("s", "c", 2, MINUTE),
            Lease::Granted { others: 1 }
        );
        store.unlease("s", "b");
        assert_eq!(
            store.lease("s", "d", 2, MINUTE),
            Lease::Granted { others: 1 }
        );
    }

    #[test]
    fn work_claims_are_renewed_taken_over_when_they_expire_and_refused_once_done() {
        let store = Memory::default();
        let short = Duration::from_millis(30);
        assert_eq!(store.claim_work("w", "a", short), Claim::Mine);
        assert!(matches!(
            store.claim_work("w", "b", short),
            Claim::Held { .. }
        ));
        assert!(store.renew_or_finish_work("w", "a", short, false));
        assert!(!store.renew_or_finish_work("w", "b", short, false));
        std::thread::sleep(Duration::from_millis(40));
        // `a` stopped renewing: `b` takes over, and `a` can no longer renew or finish.
        assert_eq!(store.claim_work("w", "b", MINUTE), Claim::Mine);
        assert!(!store.renew_or_finish_work("w", "a", short, false));
        assert!(!store.renew_or_finish_work("w", "a", MINUTE, true));
        assert!(store.renew_or_finish_work("w", "b", MINUTE, true));
        assert_eq!(store.claim_work("w", "c", MINUTE), Claim::Done);
        // A single-use record of the old kind counts as done too.
        assert!(store.claim_once("old", MINUTE));
        assert_eq!(store.claim_work("old", "c", MINUTE), Claim::Done);
    }
}
