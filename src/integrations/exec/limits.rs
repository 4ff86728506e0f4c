//! How many runs of a route may go at once and wait, counted in the store (leases), so the
//! limits hold across route reloads and replicas.

use std::time::Duration;

use crate::store::{LEASE_TTL, Lease, Store, StoreError};

/// The concurrency limits of every route's exec runs, kept in the [`Store`]: so they outlive
/// route reloads (runs started before a reload still count after it) and, with a shared store,
/// hold across replicas. Keyed by route and limits: changing `max_concurrent` or `queue` starts
/// a fresh count (the runs already going finish under the old one).
///
/// A slot or queue place is a lease renewed while it is held (see [`crate::store`]), so a
/// replica that dies frees its places within [`LEASE_TTL`]. A queued run takes a slot when one
/// is given back in this process, or at its next poll otherwise; waiting runs are not served in
/// strict order.
#[derive(Debug, Clone, Default)]
pub struct Limiters {
    store: Store,
}

/// How often a queued run looks for a slot freed elsewhere (another replica, or expired).
const QUEUE_POLL: Duration = Duration::from_millis(250);

impl Limiters {
    /// Limits counted in `store`.
    pub fn new(store: Store) -> Self {
        Limiters { store }
    }

    fn keys(&self, route: &str, (max, queue): (usize, usize)) -> (String, String) {
        let id = format!("{route}:{max}:{queue}");
        (
            self.store.key("exec_running", &id),
            self.store.key("exec_queued", &id),
        )
    }

    pub(super) async fn admit(
        &self,
        route: &str,
        (max, queue): (usize, usize),
    ) -> Result<Option<Ticket>, StoreError> {
        let (running, queued) = self.keys(route, (max, queue));
        let holder = crate::store::holder_id();
        let max = max.max(1);
        if let Lease::Granted { .. } = self.store.lease(&running, &holder, max, LEASE_TTL).await? {
            return Ok(Some(Ticket::Running(Permit::hold(
                &self.store,
                running,
                holder,
            ))));
        }
        match self.store.lease(&queued, &holder, queue, LEASE_TTL).await? {
            Lease::Granted { others } => Ok(Some(Ticket::Queued {
                ahead: others,
                place: Permit::hold(&self.store, queued, holder.clone()),
                slot: SlotRequest {
                    store: self.store.clone(),
                    key: running,
                    holder,
                    max,
                },
            })),
            Lease::Full => Ok(None),
        }
    }
}

/// A held slot or queue place: renewed in the background while held, given back on drop.
#[derive(Debug)]
pub struct Permit {
    store: Store,
    key: String,
    holder: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl Permit {
    fn hold(store: &Store, key: String, holder: String) -> Self {
        let renewer = tokio::spawn({
            let (store, key, holder) = (store.clone(), key.clone(), holder.clone());
            async move {
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    match store.renew(&key, &holder, LEASE_TTL).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(%key, "an exec slot expired before it was renewed");
                            return;
                        }
                        Err(e) => tracing::warn!(%key, error = %e, "renewing an exec slot failed"),
                    }
                }
            }
        });
        Permit {
            store: store.clone(),
            key,
            holder,
            renewer,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.renewer.abort();
        let (store, key, holder) = (
            self.store.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        // Without a runtime (process exit) the lease simply expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.unlease(&key, &holder).await {
                    tracing::warn!(%key, error = %e, "giving back an exec slot failed; it expires");
                }
            });
        }
    }
}

/// What a queued run needs to take a slot.
#[derive(Debug)]
pub struct SlotRequest {
    store: Store,
    key: String,
    holder: String,
    max: usize,
}

/// A run's admission: a slot now, or a place in the queue.
#[derive(Debug)]
pub enum Ticket {
    /// Runs at once.
    Running(Permit),
    /// Waits for a slot.
    Queued {
        /// Runs waiting before this one.
        ahead: usize,
        /// The place in the queue, given back when the wait ends.
        place: Permit,
        /// The slot it waits for.
        slot: SlotRequest,
    },
}

impl Ticket {
    /// Waits for a slot (at once when running).
    pub async fn wait(self) -> Option<Permit> {
        match self {
            Ticket::Running(permit) => Some(permit),
            Ticket::Queued { place, slot, .. } => {
                let released = slot.store.release_signal();
                loop {
                    let notified = released.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    match slot
                        .store
                        .lease(&slot.key, &slot.holder, slot.max, LEASE_TTL)
                        .await
                    {
                        Ok(Lease::Granted { .. }) => {
                            let permit = Permit::hold(&slot.store, slot.key, slot.holder);
                            drop(place);
                            return Some(permit);
                        }
                        Ok(Lease::Full) => {}
                        Err(e) => tracing::warn!(error = %e, "waiting for an exec slot"),
                    }
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep(QUEUE_POLL) => {}
                    }
                }
            }
        }
    }
}
