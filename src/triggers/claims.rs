//! Handling a tick or a message once across replicas, also when the replica handling it is
//! killed mid-run: claims that expire unless renewed, marked done when the work is finished.
//!
//! For each event every replica calls [`run_once`]:
//!
//! 1. It claims the event in the store ([`Store::claim_work`]: `SET NX PX` in a Lua script on
//!    Redis) for [`claim_ttl`](crate::coordination::CoordinationSettings::claim_ttl_ms).
//! 2. The replica that got it runs the work, renewing the claim every third of its lifetime
//!    (a compare-and-set: only while it is still its own), and marks it *done* when the
//!    work is finished; done is kept for [`DONE_TTL`], so any later claim is refused.
//! 3. The others keep the event *pending* while the holder's claim is live, and try again when
//!    it would expire. Done: dropped (`skipped`). Expired (the holder was killed): the first
//!    to claim it runs it (`taken_over`). At most `pending_max` events wait per process and
//!    each waits at most `pending_give_up_secs` (beyond: logged and counted as
//!    `pending_full` / `gave_up`).
//!
//! What remains: a holder killed *after* its answer reached Mattermost and *before* it marked
//! the event done (the few milliseconds between the two) sees the event answered again by the
//! replica that takes it over. In lease mode events finishing together are recorded done in
//! one Lease write ([`crate::coordination::Elector`]), so that window does not grow with a
//! batch. A holder that stalls longer than the claim's lifetime without
//! renewing (a frozen VM) can lose its claim while still running; that is logged
//! (`claim_lost`).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::coordination::{CoordinationSettings, Elector, LeaseClaim};
use crate::server::AppState;
use crate::store::{Claim, Store};

/// How long an event marked done refuses further claims: longer than any replica's clock
/// skew and any WebSocket replay window.
pub const DONE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Events this process keeps waiting on another replica's claim.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Counts a pending event while alive.
struct PendingSlot;

impl PendingSlot {
    fn take(max: usize) -> Option<PendingSlot> {
        PENDING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| PendingSlot)
    }
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Which event is run: the store key's kind and id, and the metric's labels.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The store key's kind (`tick`, `message`).
    pub kind: &'static str,
    /// The event's id within its kind.
    pub id: &'a str,
    /// The trigger kind for the metric (`schedule`, `message`).
    pub trigger: &'static str,
    /// The route, for the metric and the log.
    pub route: &'a str,
}

/// Runs `work` if this replica wins `event`, waiting while another replica's claim on it is
/// live (see the module docs); `None` when another replica handled it, or this one gave up.
pub async fn run_once<T, F>(state: &AppState, event: Event<'_>, work: F) -> Option<T>
where
    F: Future<Output = T>,
{
    let settings = &state.settings.coordination;
    if let crate::coordination::Coordinator::Lease(elector) = &state.coordinator {
        return run_once_leading(elector, settings, event, work).await;
    }
    run_once_with(
        &state.store,
        state.coordinator.identity(),
        settings.claim_ttl(),
        settings.pending_max,
        settings.pending_give_up(),
        event,
        work,
    )
    .await
}

/// [`run_once`] in lease mode: the leader records the event in the Lease (atomic with
/// holding it) and runs it; the other replicas keep it pending until it shows done or they
/// become leader ([`crate::coordination::elector`]).
async fn run_once_leading<T, F>(
    elector: &Elector,
    settings: &CoordinationSettings,
    event: Event<'_>,
    work: F,
) -> Option<T>
where
    F: Future<Output = T>,
{
    let id = format!("{}:{}", event.kind, event.id);
    let started = tokio::time::Instant::now();
    let mut pending: Option<PendingSlot> = None;
    let mut leadership = elector.leadership();
    loop {
        match elector.claim(&id).await {
            LeaseClaim::Mine { taken_over } => {
                if taken_over {
                    tracing::warn!(
                        route = event.route,
                        kind = event.kind,
                        id = event.id,
                        "took over an event the previous leader had started"
                    );
                    crate::metrics::trigger(event.trigger, event.route, "taken_over");
                }
                break;
            }
            LeaseClaim::Done => {
                crate::metrics::trigger(event.trigger, event.route, "skipped");
                return None;
            }
            LeaseClaim::NotLeader => {}
        }
        if elector.seen_done(&id) {
            crate::metrics::trigger(event.trigger, event.route, "skipped");
            return None;
        }
        if pending.is_none() {
            pending = Some(take_pending_slot(settings.pending_max, event)?);
        }
        if started.elapsed() > settings.pending_give_up() {
            give_up(event, started);
            return None;
        }
        let _ = tokio::time::timeout(elector.retry_period(), leadership.changed()).await;
    }
    drop(pending);
    let output = work.await;
    if elector.finish(&id).await != LeaseClaim::Done {
        tracing::error!(
            route = event.route,
            kind = event.kind,
            id = event.id,
            "could not record the event as done in the Lease (leadership lost); the next leader may run it again"
        );
    }
    Some(output)
}

fn take_pending_slot(pending_max: usize, event: Event<'_>) -> Option<PendingSlot> {
    let slot = PendingSlot::take(pending_max);
    if slot.is_none() {
        tracing::warn!(
            route = event.route,
            kind = event.kind,
            id = event.id,
            pending_max,
            "too many events wait on another replica; this one is left to it"
        );
        crate::metrics::trigger(event.trigger, event.route, "pending_full");
    }
    slot
}

fn give_up(event: Event<'_>, started: tokio::time::Instant) {
    tracing::warn!(
        route = event.route,
        kind = event.kind,
        id = event.id,
        waited_secs = started.elapsed().as_secs(),
        "gave up waiting on another replica; the event is left to it"
    );
    crate::metrics::trigger(event.trigger, event.route, "gave_up");
}

async fn run_once_with<T, F>(
    store: &Store,
    holder: &str,
    ttl: Duration,
    pending_max: usize,
    give_up_after: Duration,
    event: Event<'_>,
    work: F,
) -> Option<T>
where
    F: Future<Output = T>,
{
    let key = store.key(event.kind, event.id);
    let started = tokio::time::Instant::now();
    let mut pending: Option<PendingSlot> = None;
    let mut waited_on_other = false;
    loop {
        let retry_in = match store.claim_work(&key, holder, ttl).await {
            Ok(Claim::Mine) => break,
            Ok(Claim::Done) => {
                crate::metrics::trigger(event.trigger, event.route, "skipped");
                return None;
            }
            Ok(Claim::Held { expires_in }) => {
                waited_on_other = true;
                // Try again when the claim would expire (a live holder will have renewed it),
                // at least every half lifetime.
                expires_in.min(ttl / 2) + Duration::from_millis(10)
            }
            Err(e) => {
                tracing::error!(error = %e, kind = event.kind, id = event.id, "cannot claim in the shared store; trying again");
                ttl / 2
            }
        };
        if pending.is_none() {
            pending = Some(take_pending_slot(pending_max, event)?);
        }
        if started.elapsed() + retry_in > give_up_after {
            give_up(event, started);
            return None;
        }
        tokio::time::sleep(retry_in).await;
    }
    drop(pending);
    if waited_on_other {
        tracing::warn!(
            route = event.route,
            kind = event.kind,
            id = event.id,
            "took over an event whose claim expired (the replica handling it stopped)"
        );
        crate::metrics::trigger(event.trigger, event.route, "taken_over");
    }
    let renewing = async {
        let mut every = tokio::time::interval(ttl / 3);
        every.tick().await;
        loop {
            every.tick().await;
            match store.renew_work(&key, holder, ttl).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(
                        route = event.route,
                        kind = event.kind,
                        id = event.id,
                        "lost the claim while running (renewal came too late); another replica may run it too"
                    );
                    crate::metrics::trigger(event.trigger, event.route, "claim_lost");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = event.kind, id = event.id, "cannot renew a claim; trying again");
                }
            }
        }
    };
    let output = {
        tokio::pin!(work);
        tokio::select! {
            output = &mut work => output,
            () = renewing => work.await,
        }
    };
    match store.finish_work(&key, holder, DONE_TTL).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::error!(
                route = event.route,
                kind = event.kind,
                id = event.id,
                "another replica took over this event while it ran here"
            );
        }
        Err(e) => {
            tracing::error!(error = %e, kind = event.kind, id = event.id, "cannot mark an event done; another replica may take it over when the claim expires");
        }
    }
    Some(output)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(id: &str) -> Event<'_> {
        Event {
            kind: "t",
            id,
            trigger: "schedule",
            route: "r",
        }
    }

    const TTL: Duration = Duration::from_millis(300);
    const GIVE_UP: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_slow_holder_renews_and_the_others_drop_the_event_once_done() {
        let store = Store::in_process();
        let slow = run_once_with(&store, "a", TTL, 10, GIVE_UP, event("1"), async {
            tokio::time::sleep(TTL * 3).await;
            "ran"
        });
        let other = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            run_once_with(&store, "b", TTL, 10, GIVE_UP, event("1"), async { "twice" }).await
        };
        let (a, b) = tokio::join!(slow, other);
        assert_eq!((a, b), (Some("ran"), None));
    }

    #[tokio::test]
    async fn a_claim_its_holder_stopped_renewing_is_taken_over() {
        let store = Store::in_process();
        // `a` claimed and died: nobody renews.
        assert_eq!(
            store
                .claim_work(&store.key("t", "2"), "a", TTL)
                .await
                .unwrap(),
            Claim::Mine
        );
        let started = tokio::time::Instant::now();
        let b = run_once_with(&store, "b", TTL, 10, GIVE_UP, event("2"), async { "b" }).await;
        assert_eq!(b, Some("b"));
        assert!(started.elapsed() <= TTL + Duration::from_millis(200));
        let c = run_once_with(&store, "c", TTL, 10, GIVE_UP, event("2"), async { "c" }).await;
        assert_eq!(c, None);
    }

    #[tokio::test]
    async fn waiting_is_bounded_in_count_and_time() {
        let store = Store::in_process();
        let key = store.key("t", "3");
        assert_eq!(
            store.claim_work(&key, "a", GIVE_UP).await.unwrap(),
            Claim::Mine
        );
        let short = Duration::from_millis(200);
        let b = run_once_with(&store, "b", TTL, 10, short, event("3"), async { "b" }).await;
        assert_eq!(b, None, "gave up");
        let b = run_once_with(&store, "b", TTL, 0, GIVE_UP, event("3"), async { "b" }).await;
        assert_eq!(b, None, "no room to wait");
    }
}
