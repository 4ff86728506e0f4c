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
//! **Size.** A store key (`switchboard:used:<signature>`, ~90 bytes) is kept only as a 128-bit
//! keyed hash of it ([`Slot`]), deadlines as milliseconds since the store was made, and text
//! values boxed, so a single-use record costs one 48-byte map slot and one 24-byte index
//! element, about 130 bytes with the tables' spare room, however long its key (300 000
//! records of `response_url` counts: 129 bytes each, 296 before). This is what
//! a `response_url` use count (kept for the URL's 30 minutes for a Rust handler, until its one
//! late answer is out for a declared route) and a used dialog state, kept for
//! `dialog_ttl_secs`, cost while they are remembered (the soak's retention).
//! Two keys share a slot only if both 64-bit SipHash-1-3 halves collide under keys drawn at
//! random per process: about one chance in 2^89 with a million entries, and the keys are
//! derived from verified signatures and Mattermost's URLs, not chosen freely by a caller.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Claim, Lease};

/// Most entries kept at once, in all tables.
pub(super) const MAX_ENTRIES: usize = 1_000_000;
/// How many tables the keys are spread over.
const SHARDS: usize = 16;
/// Least time (ms) between two warnings of a full table.
const WARN_EVERY: Millis = 60_000;

/// A key as the tables hold it: two independently keyed 64-bit hashes of the key's text.
/// The first chooses the table ([`shard_of`]), the second is the key's hash within it
/// ([`SlotHash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot([u64; 2]);

impl Hash for Slot {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[1]);
    }
}

/// A slot is already a keyed random hash: the tables use its second half as it is rather
/// than hashing it again (SipHash over 16 bytes, on every store operation).
#[derive(Debug, Default)]
struct SlotHash(u64);

impl Hasher for SlotHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `Slot::hash` feeds this hasher, through `write_u64`; anything else is folded
        // in rather than lost.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A deadline: milliseconds since the store was made.
type Millis = u64;

#[derive(Debug)]
enum Value {
    Flag,
    Count(u32),
    Text(Box<str>),
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
    deadline: Millis,
}

#[derive(Debug, Default)]
struct Table {
    entries: HashMap<Slot, Entry, BuildHasherDefault<SlotHash>>,
    by_deadline: BTreeSet<(Millis, Slot)>,
    /// Entries forgotten early since the last warning, and when that was: a flood that keeps
    /// the table full gets one line a minute, not one per entry.
    forgotten: u64,
    warned_at: Option<Millis>,
}

impl Table {
    fn prune(&mut self, now: Millis) {
        while let Some((deadline, _)) = self.by_deadline.first() {
            let full = self.entries.len() >= MAX_ENTRIES / SHARDS;
            if *deadline > now && !full {
                break;
            }
            if let Some((deadline, slot)) = self.by_deadline.pop_first() {
                if deadline > now {
                    self.forgotten += 1;
                    if self
                        .warned_at
                        .is_none_or(|at| now.saturating_sub(at) >= WARN_EVERY)
                    {
                        tracing::warn!(
                            max = MAX_ENTRIES,
                            forgotten = self.forgotten,
                            "the in-process store is full; forgetting its oldest entries early"
                        );
                        self.forgotten = 0;
                        self.warned_at = Some(now);
                    }
                }
                self.entries.remove(&slot);
            }
        }
    }

    fn live(&mut self, slot: Slot, now: Millis) -> Option<&mut Entry> {
        self.prune(now);
        self.entries.get_mut(&slot)
    }

    fn insert(&mut self, slot: Slot, value: Value, deadline: Millis) {
        self.remove(slot);
        self.by_deadline.insert((deadline, slot));
        self.entries.insert(slot, Entry { value, deadline });
    }

    fn set_deadline(&mut self, slot: Slot, deadline: Millis) {
        let Some(entry) = self.entries.get_mut(&slot) else {
            return;
        };
        let old = std::mem::replace(&mut entry.deadline, deadline);
        self.by_deadline.remove(&(old, slot));
        self.by_deadline.insert((deadline, slot));
    }

    fn remove(&mut self, slot: Slot) {
        if let Some(entry) = self.entries.remove(&slot) {
            self.by_deadline.remove(&(entry.deadline, slot));
        }
    }
}

/// The in-process store.
#[derive(Debug)]
pub(super) struct Memory {
    tables: [Mutex<Table>; SHARDS],
    /// The two hashers of [`Slot`], keyed at random.
    hashers: [RandomState; 2],
    /// Where deadlines count from.
    epoch: Instant,
}

impl Default for Memory {
    fn default() -> Self {
        Memory {
            tables: Default::default(),
            hashers: [RandomState::new(), RandomState::new()],
            epoch: Instant::now(),
        }
    }
}

impl Memory {
    /// The table holding `key`, locked, and the key's slot in it.
    fn table(&self, key: &str) -> (std::sync::MutexGuard<'_, Table>, Slot) {
        let slot = Slot(self.hashers.each_ref().map(|h| h.hash_one(key)));
        let table = self.tables[shard_of(slot)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (table, slot)
    }

    /// Now, in whole milliseconds since the store was made (rounded down).
    fn now(&self) -> Millis {
        Millis::try_from(self.epoch.elapsed().as_millis()).unwrap_or(Millis::MAX)
    }

    /// `at` in milliseconds since the store was made, rounded up, so an entry is never
    /// forgotten before its time.
    fn millis(&self, at: Instant) -> Millis {
        let ns = at.saturating_duration_since(self.epoch).as_nanos();
        Millis::try_from(ns.div_ceil(1_000_000)).unwrap_or(Millis::MAX)
    }

    /// `ttl` from now.
    fn after(&self, ttl: Duration) -> Millis {
        self.millis(Instant::now() + ttl)
    }

    pub(super) fn claim_once(&self, key: &str, ttl: Duration) -> bool {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        if table.live(slot, now).is_some() {
            return false;
        }
        table.insert(slot, Value::Flag, self.after(ttl));
        true
    }

    pub(super) fn remove(&self, key: &str) {
        let (mut table, slot) = self.table(key);
        table.remove(slot);
    }

    pub(super) fn take_use(&self, key: &str, limit: u32, ttl: Duration) -> Option<u32> {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        if let Some(Entry {
            value: Value::Count(n),
            ..
        }) = table.live(slot, now)
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
        table.insert(slot, Value::Count(1), self.after(ttl));
        Some(1)
    }

    pub(super) fn give_back_use(&self, key: &str) {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        if let Some(Entry {
            value: Value::Count(n),
            ..
        }) = table.live(slot, now)
        {
            *n = n.saturating_sub(1);
        }
    }

    pub(super) fn uses(&self, key: &str) -> u32 {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        match table.live(slot, now) {
            Some(Entry {
                value: Value::Count(n),
                ..
            }) => *n,
            _ => 0,
        }
    }

    pub(super) fn cache_get(&self, key: &str) -> Option<String> {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        match table.live(slot, now) {
            Some(Entry {
                value: Value::Text(text),
                ..
            }) => Some(text.to_string()),
            _ => None,
        }
    }

    pub(super) fn cache_put(&self, key: &str, value: &str, ttl: Duration) {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        table.prune(now);
        table.insert(slot, Value::Text(value.into()), self.after(ttl));
    }

    pub(super) fn lease(&self, key: &str, holder: &str, max: usize, ttl: Duration) -> Lease {
        let clock = Instant::now();
        let deadline = clock + ttl;
        let (mut table, slot) = self.table(key);
        let lease = match table.live(slot, self.now()) {
            Some(Entry {
                value: Value::Leases(holders),
                ..
            }) => {
                holders.retain(|_, until| *until > clock);
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
                table.insert(slot, Value::Leases(holders), self.millis(deadline));
                return Lease::Granted { others: 0 };
            }
        };
        let latest = match table.entries.get(&slot) {
            Some(Entry {
                value: Value::Leases(holders),
                ..
            }) => holders.values().max().copied().unwrap_or(deadline),
            _ => deadline,
        };
        table.set_deadline(slot, self.millis(latest));
        lease
    }

    pub(super) fn renew(&self, key: &str, holder: &str, ttl: Duration) -> bool {
        let clock = Instant::now();
        let deadline = clock + ttl;
        let (mut table, slot) = self.table(key);
        let renewed = match table.live(slot, self.now()) {
            Some(Entry {
                value: Value::Leases(holders),
                ..
            }) => match holders.get_mut(holder) {
                Some(until) if *until > clock => {
                    *until = deadline;
                    true
                }
                _ => false,
            },
            _ => false,
        };
        if renewed {
            table.set_deadline(slot, self.millis(deadline));
        }
        renewed
    }

    pub(super) fn unlease(&self, key: &str, holder: &str) {
        let now = self.now();
        let (mut table, slot) = self.table(key);
        if let Some(Entry {
            value: Value::Leases(holders),
            ..
        }) = table.live(slot, now)
        {
            holders.remove(holder);
        }
    }
}

impl Memory {
    pub(super) fn claim_work(&self, key: &str, holder: &str, ttl: Duration) -> Claim {
        let now = self.now();
        let mine = format!("run:{holder}");
        let (mut table, slot) = self.table(key);
        let held = match table.live(slot, now) {
            None => None,
            Some(Entry {
                value: Value::Text(text),
                deadline,
            }) if text.starts_with("run:") => Some((**text == *mine, *deadline)),
            Some(_) => return Claim::Done,
        };
        match held {
            Some((false, deadline)) => Claim::Held {
                expires_in: Duration::from_millis(deadline.saturating_sub(now)),
            },
            Some((true, _)) => {
                table.set_deadline(slot, self.after(ttl));
                Claim::Mine
            }
            None => {
                table.insert(slot, Value::Text(mine.into()), self.after(ttl));
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
        let now = self.now();
        let mine = format!("run:{holder}");
        let (mut table, slot) = self.table(key);
        let ours = match table.live(slot, now) {
            Some(Entry {
                value: Value::Text(text),
                ..
            }) => **text == *mine,
            Some(_) => false,
            None => done,
        };
        if ours {
            if done {
                table.insert(slot, Value::Flag, self.after(ttl));
            } else {
                table.set_deadline(slot, self.after(ttl));
            }
        }
        ours
    }
}

/// The table a slot belongs to.
fn shard_of(slot: Slot) -> usize {
    // The remainder is below SHARDS, so it fits any usize.
    (slot.0[0] % SHARDS as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A slot for the `i`th test key, spread like a real one.
    fn slot(i: u64) -> Slot {
        Slot([i, i.wrapping_mul(0x9E37_79B9_7F4A_7C15)])
    }

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
            let slot = store.table(&key).1;
            touched[shard_of(slot)] = true;
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
    fn a_full_table_forgets_its_oldest_entries_first_and_says_so_once_a_minute() {
        let lines = crate::telemetry::Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(lines.clone())
            .finish();

        let cap = MAX_ENTRIES / SHARDS;
        let far = 10_000_000;
        let mut table = Table::default();
        for i in 0..cap as u64 {
            table.insert(slot(i), Value::Flag, far + i);
        }
        tracing::subscriber::with_default(subscriber, || {
            // A flood: every new entry pushes the oldest one out.
            for i in 0..100 {
                table.prune(10);
                table.insert(slot(u64::MAX - i), Value::Flag, 2 * far);
            }
            // A minute later, the next one is said again, with the count in between.
            table.prune(10 + WARN_EVERY);
        });
        // Pruning a full table makes room for the entry about to come.
        assert_eq!(table.entries.len(), cap - 1);
        assert!(
            !table.entries.contains_key(&slot(0)),
            "the oldest went first"
        );
        assert!(!table.entries.contains_key(&slot(100)));
        assert!(table.entries.contains_key(&slot(101)));
        let logged = lines.text();
        let warnings: Vec<&str> = logged
            .lines()
            .filter(|l| l.contains("the in-process store is full"))
            .collect();
        assert_eq!(warnings.len(), 2, "{logged}");
        assert!(warnings[0].contains("forgotten=1"), "{logged}");
        assert!(warnings[1].contains("forgotten=100"), "{logged}");
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
