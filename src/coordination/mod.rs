//! `[coordination]`: how replicas agree that a schedule tick or a message is handled once.
//!
//! Three modes ([`Mode`]); `auto` (the default) picks one at startup and the log says which:
//!
//! - `single`: claims live in this process; right for ONE replica.
//! - `store`: every replica claims each event in the shared store (`[store] url`, Redis);
//!   claims are short-lived and renewed by their holder while it works, so when a replica is
//!   killed mid-run another takes the event over once the claim expires
//!   ([`crate::triggers::claims`]).
//! - `lease`: replicas elect a leader through a Kubernetes `Lease`; only the leader handles
//!   ticks and messages.
//!
//! `auto` = `lease` when running in Kubernetes (the service account's files are mounted and
//! `KUBERNETES_SERVICE_HOST` is set), else `store` when `[store] url` is set, else `single`.

pub mod elector;
pub mod kube;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

pub use elector::{Elector, LeaseClaim};

/// `[coordination] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Pick one from the environment (see the module docs).
    #[default]
    Auto,
    /// In this process only.
    Single,
    /// Claims in the shared store.
    Store,
    /// A Kubernetes Lease elects the one replica that handles events.
    Lease,
}

/// `[coordination]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinationSettings {
    /// `auto`, `single`, `store` or `lease`.
    #[serde(default)]
    pub mode: Mode,
    /// How long a claim on a tick or a message lives unless its holder renews it (it renews
    /// every third of this while it works). A replica killed mid-run has its events taken
    /// over by another this long after its last renewal.
    #[serde(default = "default_claim_ttl_ms")]
    pub claim_ttl_ms: u64,
    /// Most events a replica keeps waiting while another replica's claim on them is live;
    /// beyond it, further ones are left to their holder (logged, counted).
    #[serde(default = "default_pending_max")]
    pub pending_max: usize,
    /// How long a replica keeps waiting on another's live claim before giving up on it
    /// (logged, counted): the longest a tick or a message's action is expected to run.
    #[serde(default = "default_pending_give_up_secs")]
    pub pending_give_up_secs: u64,
    /// The Kubernetes Lease's name (in the pod's namespace).
    #[serde(default = "default_lease_name")]
    pub lease_name: String,
    /// How long a leader's Lease lasts without renewal (client-go: LeaseDuration).
    #[serde(default = "default_lease_duration_secs")]
    pub lease_duration_secs: u32,
    /// A leader that could not renew for this long steps down (client-go: RenewDeadline);
    /// less than the lease duration.
    #[serde(default = "default_renew_deadline_ms")]
    pub renew_deadline_ms: u64,
    /// How often the leader renews and the others try to acquire (client-go: RetryPeriod).
    #[serde(default = "default_retry_period_ms")]
    pub retry_period_ms: u64,
}

impl Default for CoordinationSettings {
    fn default() -> Self {
        CoordinationSettings {
            mode: Mode::Auto,
            claim_ttl_ms: default_claim_ttl_ms(),
            pending_max: default_pending_max(),
            pending_give_up_secs: default_pending_give_up_secs(),
            lease_name: default_lease_name(),
            lease_duration_secs: default_lease_duration_secs(),
            renew_deadline_ms: default_renew_deadline_ms(),
            retry_period_ms: default_retry_period_ms(),
        }
    }
}

fn default_claim_ttl_ms() -> u64 {
    15_000
}
fn default_pending_max() -> usize {
    10_000
}
fn default_pending_give_up_secs() -> u64 {
    900
}
fn default_lease_name() -> String {
    "switchboard".to_owned()
}
fn default_lease_duration_secs() -> u32 {
    15
}
fn default_renew_deadline_ms() -> u64 {
    10_000
}
fn default_retry_period_ms() -> u64 {
    2_000
}

impl CoordinationSettings {
    /// [`CoordinationSettings::claim_ttl_ms`], at least 100 ms.
    pub fn claim_ttl(&self) -> Duration {
        Duration::from_millis(self.claim_ttl_ms.max(100))
    }

    /// [`CoordinationSettings::pending_give_up_secs`].
    pub fn pending_give_up(&self) -> Duration {
        Duration::from_secs(self.pending_give_up_secs)
    }

    /// What is wrong with these settings, if anything (`check` and startup say it).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.claim_ttl_ms < 100 {
            problems.push("coordination.claim_ttl_ms must be at least 100".to_owned());
        }
        if self.lease_duration_secs == 0 {
            problems.push("coordination.lease_duration_secs must be at least 1".to_owned());
        }
        let lease_ms = u64::from(self.lease_duration_secs) * 1000;
        if self.renew_deadline_ms >= lease_ms {
            problems.push(format!(
                "coordination.renew_deadline_ms ({}) must be less than lease_duration_secs ({} s)",
                self.renew_deadline_ms, self.lease_duration_secs
            ));
        }
        if self.retry_period_ms == 0 || self.retry_period_ms >= self.renew_deadline_ms {
            problems.push(format!(
                "coordination.retry_period_ms ({}) must be between 1 and renew_deadline_ms ({})",
                self.retry_period_ms, self.renew_deadline_ms
            ));
        }
        if self.lease_name.is_empty()
            || self.lease_name.len() > 253
            || !self
                .lease_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            problems.push(format!(
                "coordination.lease_name `{}` is not a Kubernetes object name (lowercase letters, digits, `-`, `.`)",
                self.lease_name
            ));
        }
        problems
    }
}

/// A new identity for a replica, as a claim holder and Lease `holderIdentity`: the pod's host
/// name (when set) and a random part (client-go uses the host name and a UUID alike). One per
/// running application, so replicas in one process (tests) are told apart too.
pub fn new_identity() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let random = crate::store::holder_id();
    if host.is_empty() {
        random
    } else {
        format!("{host}_{random}")
    }
}

impl Mode {
    /// The mode `auto` stands for here (other modes stand for themselves): `lease` in a
    /// Kubernetes pod, else `store` with a shared store, else `single`.
    pub fn effective(self, store_shared: bool) -> Mode {
        match self {
            Mode::Auto if kube::InCluster::detected() => Mode::Lease,
            Mode::Auto if store_shared => Mode::Store,
            Mode::Auto => Mode::Single,
            other => other,
        }
    }

    /// What this mode needs of the deployment, for `plan` and `doctor`.
    pub fn needs(self, settings: &CoordinationSettings) -> String {
        match self {
            Mode::Lease => format!(
                "a Kubernetes Lease `{}` in the pod's namespace: the service account may get, \
                 create and update leases (coordination.k8s.io), see deploy/kubernetes/rbac.yaml",
                settings.lease_name
            ),
            Mode::Store => "[store] url (Redis) shared by every replica".to_owned(),
            Mode::Single | Mode::Auto => {
                "ONE replica; with several, [store] url or a Kubernetes Lease".to_owned()
            }
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Single => "single",
            Mode::Store => "store",
            Mode::Lease => "lease",
        })
    }
}

/// The mode in effect, resolved from [`Mode`] at startup.
#[derive(Debug, Clone)]
pub enum Coordinator {
    /// In this process only; claims held as this identity.
    Single(Arc<str>),
    /// Claims in the shared store, held as this identity.
    Store(Arc<str>),
    /// A Kubernetes Lease elects the replica that handles events.
    Lease(Elector),
}

/// Why the configured mode cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoordinationError {
    /// `store` without a shared store.
    #[error("coordination.mode = \"store\" needs [store] url (a Redis shared by the replicas)")]
    NoStore,
    /// `lease` (or `auto` in a pod) without a usable service account.
    #[error("coordination.mode = \"lease\": {0}")]
    Kubernetes(#[from] kube::KubeError),
}

impl Coordinator {
    /// The mode `settings` ask for: `auto` is `lease` in a Kubernetes pod, else `store` with a
    /// shared store, else `single`.
    pub fn resolve(
        settings: &CoordinationSettings,
        store: &crate::store::Store,
    ) -> Result<Coordinator, CoordinationError> {
        let identity = new_identity();
        match settings.mode.effective(store.is_shared()) {
            Mode::Lease => {
                let api = kube::InCluster::from_environment()?;
                Ok(Coordinator::Lease(Elector::new(api, settings, &identity)))
            }
            Mode::Store if store.is_shared() => Ok(Coordinator::Store(identity.into())),
            Mode::Store => Err(CoordinationError::NoStore),
            Mode::Single | Mode::Auto => Ok(Coordinator::Single(identity.into())),
        }
    }

    /// This replica's identity (claim holder, Lease holderIdentity).
    pub fn identity(&self) -> &str {
        match self {
            Coordinator::Single(identity) | Coordinator::Store(identity) => identity,
            Coordinator::Lease(elector) => elector.identity(),
        }
    }

    /// Gives up leadership at shutdown (lease mode), at most 2 s.
    pub async fn release(&self) {
        if let Coordinator::Lease(elector) = self {
            let _ = tokio::time::timeout(Duration::from_secs(2), elector.release()).await;
        }
    }

    /// Starts taking part in the election (lease mode); runs until aborted.
    pub fn spawn(&self) -> Option<tokio::task::JoinHandle<()>> {
        match self {
            Coordinator::Lease(elector) => Some(tokio::spawn(elector.clone().run())),
            _ => None,
        }
    }
}

impl fmt::Display for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Coordinator::Single(_) => f.write_str(
                "single replica: schedule ticks and messages are claimed in this process only; \
                 run ONE replica, or set [store] url so replicas share claims",
            ),
            Coordinator::Store(_) => f.write_str(
                "shared claims: each schedule tick and message is claimed in the shared store \
                 (Redis SET NX, renewed while it runs) and handled by one replica; a replica \
                 killed mid-run has its event taken over when its claim expires",
            ),
            Coordinator::Lease(elector) => write!(
                f,
                "kubernetes lease: replicas elect a leader through the Lease {} (this replica: \
                 {}); only the leader handles schedule ticks and messages, and a new leader \
                 takes over when it stops renewing",
                elector.lease(),
                elector.identity()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_timings_must_nest_as_client_go_requires() {
        assert!(CoordinationSettings::default().problems().is_empty());
        let bad = CoordinationSettings {
            lease_duration_secs: 5,
            renew_deadline_ms: 5000,
            retry_period_ms: 6000,
            lease_name: "Switchboard!".to_owned(),
            claim_ttl_ms: 10,
            ..CoordinationSettings::default()
        };
        let problems = bad.problems().join("\n");
        for expected in [
            "renew_deadline_ms (5000) must be less than lease_duration_secs (5 s)",
            "retry_period_ms (6000) must be between 1 and renew_deadline_ms (5000)",
            "lease_name `Switchboard!` is not a Kubernetes object name",
            "claim_ttl_ms must be at least 100",
        ] {
            assert!(problems.contains(expected), "{problems}");
        }
    }

    #[test]
    fn an_explicit_mode_stands_for_itself() {
        for mode in [Mode::Single, Mode::Store, Mode::Lease] {
            assert_eq!(mode.effective(false), mode);
        }
        assert!(
            Mode::Lease
                .needs(&CoordinationSettings::default())
                .contains("get, create and update leases")
        );
    }
}
