//! Leader election on a Kubernetes Lease, with client-go's `leaderelection` semantics, and the
//! leader's record of the events it handles, kept in the same Lease.
//!
//! - A candidate reads the Lease every `retry_period` (jittered, as client-go's
//!   `JitterUntil(retryPeriod, 1.2)`). Missing: it creates it holding it (a create of an
//!   existing Lease is 409 AlreadyExists: someone else was first). Held by another: it may take
//!   it only once `leaseDurationSeconds` have passed since it *observed* the record last
//!   change (client-go measures on the local clock, so replicas' clocks need not agree; with
//!   agreeing clocks this is `renewTime + leaseDuration`). Taking it sets `holderIdentity`,
//!   `acquireTime` = `renewTime` = now and increments `leaseTransitions`.
//! - Every write is a PUT naming the `metadata.resourceVersion` it read; a stale one is 409
//!   Conflict, so two candidates never both succeed.
//! - The leader renews (`renewTime`) every `retry_period`; when it could not renew for
//!   `renew_deadline` it steps down (and becomes a candidate again).
//!
//! Handled events: before the leader runs a tick or a message it records the event as
//! `run` under its identity in the annotation [`HANDLED_ANNOTATION`], in a PUT with the same
//! resourceVersion check — so the record is atomic with holding the lease — and as `done`
//! after. A new leader skips `done` events, takes over `run` ones of the previous holder and
//! handles the events it kept pending meanwhile (every replica keeps the events it sees
//! pending until they show `done` or it becomes leader; see [`crate::triggers::claims`]).
//! Entries are kept for `pending_give_up_secs` and at most [`MAX_HANDLED`] of them.
//! Records asked for while a write is in flight go into the next write together (up to
//! `MAX_BATCH`): a leader that finishes a batch of events — the ticks it kept pending,
//! a burst of messages — records them done in one write, not one after another, so the time
//! in which a kill would have answered events answered again does not grow with the batch.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::CoordinationSettings;
use super::kube::{InCluster, KubeError, Lease, LeaseSpec, ObjectMeta, micro_time};

/// The Lease annotation holding the events the leaders handled recently (JSON).
pub const HANDLED_ANNOTATION: &str = "switchboard.dev/handled";

/// Most handled events kept in the Lease (the oldest go first).
pub const MAX_HANDLED: usize = 1000;

/// Most events recorded in one Lease write.
const MAX_BATCH: usize = 100;

/// One handled event, in [`HANDLED_ANNOTATION`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    /// `run` or `done`.
    pub s: String,
    /// The leader that recorded it.
    pub h: String,
    /// When (Unix ms, the leader's clock).
    pub t: i64,
}

/// What the leader answered to a claim on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseClaim {
    /// This replica leads and recorded the event: run it. `taken_over` when a previous leader
    /// had recorded it as running.
    Mine {
        /// A previous leader started it.
        taken_over: bool,
    },
    /// Done already.
    Done,
    /// This replica does not lead (or lost the lease while recording).
    NotLeader,
}

struct Request {
    id: String,
    done: bool,
    reply: oneshot::Sender<LeaseClaim>,
}

/// What the other tasks see of the election.
#[derive(Debug, Default)]
struct View {
    handled: BTreeMap<String, Handled>,
}

/// A replica's part in the election. Cheap to clone.
#[derive(Clone)]
pub struct Elector {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Elector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elector")
            .field("lease", &self.inner.name)
            .field("identity", &self.inner.identity)
            .finish_non_exhaustive()
    }
}

struct Inner {
    api: InCluster,
    name: String,
    identity: String,
    lease_duration_secs: u32,
    renew_deadline: Duration,
    retry_period: Duration,
    keep_handled: Duration,
    view: Mutex<View>,
    leader: watch::Sender<bool>,
    requests: mpsc::Sender<Request>,
    receiver: Mutex<Option<mpsc::Receiver<Request>>>,
}

impl Elector {
    /// An elector for `settings`' Lease in `api`'s namespace, as `identity`; [`Elector::run`]
    /// takes part.
    pub fn new(api: InCluster, settings: &CoordinationSettings, identity: &str) -> Self {
        let (requests, receiver) = mpsc::channel(256);
        Elector {
            inner: Arc::new(Inner {
                api,
                name: settings.lease_name.clone(),
                identity: identity.to_owned(),
                lease_duration_secs: settings.lease_duration_secs.max(1),
                renew_deadline: Duration::from_millis(settings.renew_deadline_ms),
                retry_period: Duration::from_millis(settings.retry_period_ms.max(1)),
                keep_handled: settings.pending_give_up(),
                view: Mutex::default(),
                leader: watch::Sender::new(false),
                requests,
                receiver: Mutex::new(Some(receiver)),
            }),
        }
    }

    /// `namespace/name` of the Lease.
    pub fn lease(&self) -> String {
        format!("{}/{}", self.inner.api.namespace(), self.inner.name)
    }

    /// This replica's `holderIdentity`.
    pub fn identity(&self) -> &str {
        &self.inner.identity
    }

    /// How often the election is looked at.
    pub fn retry_period(&self) -> Duration {
        self.inner.retry_period
    }

    /// Whether this replica leads now.
    pub fn is_leader(&self) -> bool {
        *self.inner.leader.borrow()
    }

    /// Notified when leadership changes.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.inner.leader.subscribe()
    }

    /// Whether the last Lease seen records `id` as done.
    pub fn seen_done(&self, id: &str) -> bool {
        self.view().handled.get(id).is_some_and(|h| h.s == "done")
    }

    /// Records `id` as running here, when this replica leads.
    pub async fn claim(&self, id: &str) -> LeaseClaim {
        self.request(id, false).await
    }

    /// Records `id` as done.
    pub async fn finish(&self, id: &str) -> LeaseClaim {
        self.request(id, true).await
    }

    async fn request(&self, id: &str, done: bool) -> LeaseClaim {
        if !self.is_leader() {
            return LeaseClaim::NotLeader;
        }
        let (reply, answer) = oneshot::channel();
        let request = Request {
            id: id.to_owned(),
            done,
            reply,
        };
        if self.inner.requests.send(request).await.is_err() {
            return LeaseClaim::NotLeader;
        }
        answer.await.unwrap_or(LeaseClaim::NotLeader)
    }

    fn view(&self) -> std::sync::MutexGuard<'_, View> {
        self.inner
            .view
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes part in the election until the task is aborted. Call once.
    pub async fn run(self) {
        let Some(mut requests) = self
            .inner
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return;
        };
        // A candidate is a follower until it wins: exported as 0 from the start, so
        // `switchboard_leader == 0` matches followers (the series is absent otherwise).
        crate::metrics::leader(false);
        let mut record = Record::default();
        loop {
            // Candidate.
            loop {
                match self.try_acquire_or_renew(&mut record, &[]).await {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(lease = %self.lease(), error = %e, "cannot read or take the Lease")
                    }
                }
                let sleep = jittered(self.inner.retry_period);
                let deadline = Instant::now() + sleep;
                // Requests sent just before leadership was lost: not the leader.
                while let Ok(Some(request)) =
                    tokio::time::timeout_at(deadline, requests.recv()).await
                {
                    let _ = request.reply.send(LeaseClaim::NotLeader);
                }
            }
            tracing::info!(lease = %self.lease(), identity = %self.inner.identity, "became the leader: this replica handles schedule ticks and messages");
            crate::metrics::leader(true);
            self.inner.leader.send_replace(true);
            let mut last_renew = Instant::now();
            let mut next_renew = last_renew + self.inner.retry_period;
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(next_renew) => {
                        match self.try_acquire_or_renew(&mut record, &[]).await {
                            Ok(true) => last_renew = Instant::now(),
                            Ok(false) => {}
                            Err(e) => tracing::warn!(lease = %self.lease(), error = %e, "cannot renew the Lease"),
                        }
                        if record.holder().is_some_and(|h| h != self.inner.identity)
                            || last_renew.elapsed() > self.inner.renew_deadline
                        {
                            break;
                        }
                        next_renew = Instant::now() + self.inner.retry_period;
                    }
                    Some(request) = requests.recv() => {
                        // Whatever queued up while the last write was in flight goes into
                        // one write: a leader finishing a batch of events records them done
                        // together, not one Lease write after another.
                        let mut batch = vec![request];
                        while batch.len() < MAX_BATCH {
                            match requests.try_recv() {
                                Ok(request) => batch.push(request),
                                Err(_) => break,
                            }
                        }
                        let answers = self.record_events(&mut record, &batch).await;
                        if answers.iter().any(|a| matches!(a, LeaseClaim::Mine { .. } | LeaseClaim::Done)) {
                            last_renew = Instant::now();
                        }
                        let lost = answers.contains(&LeaseClaim::NotLeader);
                        for (request, answer) in batch.into_iter().zip(answers) {
                            let _ = request.reply.send(answer);
                        }
                        if lost {
                            break;
                        }
                    }
                }
            }
            self.inner.leader.send_replace(false);
            crate::metrics::leader(false);
            tracing::warn!(lease = %self.lease(), "lost the leadership (the Lease could not be renewed in time or was taken); ticks and messages are left to the new leader");
        }
    }

    /// Gives the Lease up when this replica holds it (client-go's `ReleaseOnCancel`): the
    /// holder is cleared and the duration set to 1 s, so the next leader need not wait for it
    /// to expire. Called at shutdown, after the work in flight has ended; errors are logged.
    pub async fn release(&self) {
        let inner = &self.inner;
        let lease = match inner.api.get_lease(&inner.name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(lease = %self.lease(), error = %e, "cannot release the Lease");
                return;
            }
        };
        if lease.spec.holder_identity.as_deref() != Some(inner.identity.as_str()) {
            return;
        }
        let now = micro_time(chrono::Utc::now());
        let mut released = lease;
        released.spec.holder_identity = Some(String::new());
        released.spec.lease_duration_seconds = Some(1);
        released.spec.acquire_time = Some(now.clone());
        released.spec.renew_time = Some(now);
        match inner.api.replace_lease(&released).await {
            Ok(_) => {
                self.inner.leader.send_replace(false);
                crate::metrics::leader(false);
                tracing::info!(lease = %self.lease(), "released the Lease: another replica leads at once");
            }
            Err(e) => tracing::warn!(lease = %self.lease(), error = %e, "cannot release the Lease"),
        }
    }

    /// Records the events of `requests` in the Lease in one write (a renewal at the same
    /// time), and answers each.
    async fn record_events(&self, record: &mut Record, requests: &[Request]) -> Vec<LeaseClaim> {
        // A few tries: a write may meet a resourceVersion made stale by a write elsewhere
        // (then the next try reads the Lease again and finds out who holds it).
        for _ in 0..3 {
            let handled = record.handled();
            let now = chrono::Utc::now().timestamp_millis();
            let mut answers = Vec::with_capacity(requests.len());
            let mut entries = Vec::with_capacity(requests.len());
            for request in requests {
                let answer = match (handled.get(&request.id), request.done) {
                    (Some(h), false) if h.s == "done" => {
                        answers.push(LeaseClaim::Done);
                        continue;
                    }
                    (Some(h), false) => LeaseClaim::Mine {
                        taken_over: h.h != self.inner.identity,
                    },
                    (_, true) => LeaseClaim::Done,
                    (None, false) => LeaseClaim::Mine { taken_over: false },
                };
                answers.push(answer);
                let entry = Handled {
                    s: if request.done { "done" } else { "run" }.to_owned(),
                    h: self.inner.identity.clone(),
                    t: now,
                };
                entries.push((request.id.as_str(), entry));
            }
            if entries.is_empty() {
                return answers;
            }
            match self.try_acquire_or_renew(record, &entries).await {
                Ok(true) => return answers,
                Ok(false) => {
                    if record.holder().is_some_and(|h| h != self.inner.identity) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(lease = %self.lease(), error = %e, "cannot record an event in the Lease");
                    break;
                }
            }
        }
        vec![LeaseClaim::NotLeader; requests.len()]
    }

    /// client-go's `tryAcquireOrRenew`, with `events` recorded in the same write. `Ok(true)`
    /// when this replica holds the Lease after it.
    async fn try_acquire_or_renew(
        &self,
        record: &mut Record,
        events: &[(&str, Handled)],
    ) -> Result<bool, KubeError> {
        let inner = &self.inner;
        let now = chrono::Utc::now();
        let mine = inner.identity.as_str();
        // The leader writes over the Lease it last wrote (its resourceVersion is current
        // unless someone else wrote since; then the PUT is a 409 and we read it again).
        let current = match (&record.lease, record.holder() == Some(mine)) {
            (Some(lease), true) => lease.clone(),
            _ => match inner.api.get_lease(&inner.name).await? {
                None => {
                    let mut lease = Lease {
                        api_version: "coordination.k8s.io/v1".to_owned(),
                        kind: "Lease".to_owned(),
                        metadata: ObjectMeta {
                            name: inner.name.clone(),
                            namespace: Some(inner.api.namespace().to_owned()),
                            ..ObjectMeta::default()
                        },
                        spec: LeaseSpec {
                            holder_identity: Some(mine.to_owned()),
                            lease_duration_seconds: i32::try_from(inner.lease_duration_secs).ok(),
                            acquire_time: Some(micro_time(now)),
                            renew_time: Some(micro_time(now)),
                            lease_transitions: Some(0),
                            ..LeaseSpec::default()
                        },
                    };
                    for (id, entry) in events {
                        set_handled(&mut lease, id, entry.clone(), inner.keep_handled);
                    }
                    return match inner.api.create_lease(&lease).await {
                        Ok(created) => {
                            self.observe(record, created);
                            Ok(true)
                        }
                        Err(KubeError::Conflict) => Ok(false),
                        Err(e) => Err(e),
                    };
                }
                Some(lease) => {
                    self.observe(record, lease.clone());
                    lease
                }
            },
        };
        let holder = current
            .spec
            .holder_identity
            .as_deref()
            .filter(|h| !h.is_empty());
        if let Some(holder) = holder
            && holder != mine
        {
            let duration = current
                .spec
                .lease_duration_seconds
                .and_then(|d| u64::try_from(d).ok())
                .unwrap_or(u64::from(inner.lease_duration_secs));
            if record.observed_at.elapsed() < Duration::from_secs(duration) {
                return Ok(false);
            }
        }
        let mut next = current.clone();
        next.spec.holder_identity = Some(mine.to_owned());
        next.spec.lease_duration_seconds = i32::try_from(inner.lease_duration_secs).ok();
        next.spec.renew_time = Some(micro_time(now));
        if holder != Some(mine) {
            next.spec.acquire_time = Some(micro_time(now));
            next.spec.lease_transitions = Some(
                current
                    .spec
                    .lease_transitions
                    .unwrap_or(0)
                    .saturating_add(1),
            );
        }
        for (id, entry) in events {
            set_handled(&mut next, id, entry.clone(), inner.keep_handled);
        }
        match inner.api.replace_lease(&next).await {
            Ok(written) => {
                self.observe(record, written);
                Ok(true)
            }
            Err(KubeError::Conflict) => {
                // Someone else wrote: read it again next time.
                record.lease = None;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Remembers `lease` as the last record seen (and when it last changed, locally).
    fn observe(&self, record: &mut Record, lease: Lease) {
        let changed = record
            .lease
            .as_ref()
            .is_none_or(|old| old.spec != lease.spec);
        if changed {
            record.observed_at = Instant::now();
        }
        self.view().handled = handled_of(&lease);
        record.lease = Some(lease);
    }
}

/// The last Lease seen and when its spec last changed.
struct Record {
    lease: Option<Lease>,
    observed_at: Instant,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            lease: None,
            observed_at: Instant::now(),
        }
    }
}

impl Record {
    fn holder(&self) -> Option<&str> {
        self.lease.as_ref()?.spec.holder_identity.as_deref()
    }

    fn handled(&self) -> BTreeMap<String, Handled> {
        self.lease.as_ref().map(handled_of).unwrap_or_default()
    }
}

fn handled_of(lease: &Lease) -> BTreeMap<String, Handled> {
    lease
        .metadata
        .annotations
        .get(HANDLED_ANNOTATION)
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// Sets `id`'s entry, dropping entries older than `keep` and the oldest beyond
/// [`MAX_HANDLED`].
fn set_handled(lease: &mut Lease, id: &str, entry: Handled, keep: Duration) {
    let mut handled = handled_of(lease);
    let oldest = entry.t - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
    handled.retain(|_, h| h.t >= oldest);
    handled.insert(id.to_owned(), entry);
    while handled.len() > MAX_HANDLED {
        let Some(first) = handled
            .iter()
            .min_by_key(|(_, h)| h.t)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        handled.remove(&first);
    }
    if let Ok(text) = serde_json::to_string(&handled) {
        lease
            .metadata
            .annotations
            .insert(HANDLED_ANNOTATION.to_owned(), text);
    }
}

/// `period` plus up to 1.2 × `period` (client-go's jitter factor).
fn jittered(period: Duration) -> Duration {
    use rand::RngExt as _;
    let factor: f64 = rand::rng().random_range(0.0..1.2);
    period + period.mul_f64(factor)
}
