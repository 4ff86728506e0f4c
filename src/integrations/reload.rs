//! [`RouteTable`]: the live route set, replaced atomically by a reload.
//!
//! A request takes a snapshot (`Arc<RouteSet>`) when it starts and keeps it to the end, so a
//! reload never changes a route under a running request. A reload loads and validates the
//! whole directory first; only a set with no problem replaces the current one, and a broken
//! edit leaves the old set serving while every problem is logged.
//!
//! A reload that finds no route file while routes are serving is refused the same way: an
//! emptied directory (a config map being replaced, a volume unmounted) would otherwise make
//! the next registration delete every command and webhook Switchboard registered.
//!
//! A server running without configured signing keys (allowed only while no route hands out
//! dialogs or buttons) refuses a reload that adds such a route: with its ephemeral key those
//! would break at the next restart and on other replicas, which `serve` refuses at startup
//! too. The refusal is logged like any other problem and the old set keeps serving.
//!
//! Reloads are triggered by SIGHUP and by a change of the directory, noticed by polling its
//! files' names, sizes and modification times (no inotify dependency, and it works on network
//! file systems and in containers with mounted config maps).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use super::RouteSet;
use super::load::{LoadProblem, load_dir};

/// The live set of routes; cheap to clone.
#[derive(Debug, Clone)]
pub struct RouteTable {
    current: Arc<ArcSwap<RouteSet>>,
    dir: PathBuf,
    /// Serialises reloads so two triggers cannot interleave validate-and-swap.
    reloading: Arc<tokio::sync::Mutex<()>>,
    /// Set when serving without configured signing keys: a new set with a route that needs
    /// signing is rejected.
    unsigned: Arc<AtomicBool>,
}

/// What a reload did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// A new set is serving; these routes were added, removed or changed.
    Swapped(Vec<String>),
    /// The files load to the same routes.
    Unchanged,
    /// The new files have problems; the old set keeps serving.
    Rejected(Vec<LoadProblem>),
}

impl RouteTable {
    /// A table serving `routes`, reloading from `dir`.
    pub fn new(routes: RouteSet, dir: impl Into<PathBuf>) -> Self {
        RouteTable {
            current: Arc::new(ArcSwap::from_pointee(routes)),
            dir: dir.into(),
            reloading: Arc::new(tokio::sync::Mutex::new(())),
            unsigned: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on, reject a reload whose routes hand out signed dialogs or buttons (the
    /// server has no configured signing keys; see the module docs).
    pub fn refuse_routes_needing_signing(&self) {
        self.unsigned.store(true, Ordering::Release);
    }

    /// The problems of `set` under this table's rules beyond the files themselves.
    fn refusals(&self, set: &RouteSet) -> Vec<LoadProblem> {
        let serving = self.current().len();
        if set.is_empty() && serving > 0 {
            return vec![LoadProblem {
                file: self.dir.clone(),
                line: None,
                key: None,
                message: format!(
                    "{}; the {serving} route(s) loaded keep serving, since registering none \
                     would delete every command and outgoing webhook Switchboard registered: \
                     remove routes while at least one remains, or stop the server and run \
                     `switchboard unregister`",
                    super::no_route_files(&self.dir)
                ),
            }];
        }
        if !self.unsigned.load(Ordering::Acquire) {
            return Vec::new();
        }
        set.iter()
            .filter(|route| route.needs_signing())
            .map(|route| LoadProblem {
                file: route.file.clone(),
                line: None,
                key: None,
                message: format!(
                    "route `{}` hands out dialogs or buttons, but this server runs without \
                     signing keys (they would stop working at the next restart and on other \
                     replicas): set SWITCHBOARD_SIGNING__KEYS (or signing.keys_file) and restart",
                    route.name
                ),
            })
            .collect()
    }

    /// The set serving now; hold it for the whole request.
    pub fn current(&self) -> Arc<RouteSet> {
        self.current.load_full()
    }

    /// The directory routes are loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads the directory again and swaps the set in if it is valid. Every problem of a
    /// rejected set is logged.
    pub async fn reload(&self) -> ReloadOutcome {
        let _guard = self.reloading.lock().await;
        let dir = self.dir.clone();
        let loaded = tokio::task::spawn_blocking(move || load_dir(&dir)).await;
        let loaded = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::error!(error = %e, "route reload task failed");
                return ReloadOutcome::Unchanged;
            }
        };
        let loaded = loaded.and_then(|new| {
            let refusals = self.refusals(&new);
            if refusals.is_empty() {
                Ok(new)
            } else {
                Err(refusals)
            }
        });
        match loaded {
            Ok(new) => {
                let changed = new.changed_since(&self.current());
                // A reload that found nothing new still worked: said and counted, so an
                // operator who sent SIGHUP can tell it was processed.
                crate::metrics::reload(true);
                if changed.is_empty() {
                    tracing::info!("routes unchanged");
                    return ReloadOutcome::Unchanged;
                }
                self.current.store(Arc::new(new));
                tracing::info!(?changed, "routes reloaded");
                ReloadOutcome::Swapped(changed)
            }
            Err(problems) => {
                crate::metrics::reload(false);
                for problem in &problems {
                    tracing::error!(%problem, "route reload rejected");
                }
                tracing::error!(
                    problems = problems.len(),
                    "routes not reloaded; the previous routes keep serving"
                );
                ReloadOutcome::Rejected(problems)
            }
        }
    }

    /// Reloads on SIGHUP and whenever the directory changes (checked every `poll`; zero
    /// disables polling), calling `on_swap` with the changed route names after each swap.
    /// Runs until the returned task is aborted.
    pub fn spawn_watcher(
        &self,
        poll: Duration,
        on_swap: impl Fn(Vec<String>) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let table = self.clone();
        tokio::spawn(async move {
            let mut hangup = hangup_stream();
            let mut seen = fingerprint(&table.dir);
            let mut tick = tokio::time::interval(if poll.is_zero() {
                Duration::from_secs(3600)
            } else {
                poll
            });
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let by_signal = tokio::select! {
                    _ = tick.tick() => false,
                    () = next_hangup(&mut hangup) => true,
                };
                if !by_signal {
                    if poll.is_zero() {
                        continue;
                    }
                    let now = fingerprint(&table.dir);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                } else {
                    tracing::info!("SIGHUP: reloading routes");
                    seen = fingerprint(&table.dir);
                }
                if let ReloadOutcome::Swapped(changed) = table.reload().await {
                    on_swap(changed);
                }
            }
        })
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

fn hangup_stream() -> Hangup {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    }
}

async fn next_hangup(hangup: &mut Hangup) {
    #[cfg(unix)]
    if let Some(signal) = hangup {
        if signal.recv().await.is_some() {
            return;
        }
    }
    let _ = hangup;
    std::future::pending::<()>().await;
}

/// Names, sizes and modification times of the directory's files (including `scripts/`, whose
/// executables `check` validates).
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, Option<SystemTime>)> {
    let mut files = Vec::new();
    let mut add = |dir: &Path| {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                // Through symlinks: Kubernetes mounts a ConfigMap's files as links into a
                // `..data` directory it swaps on each update, so the links' own metadata
                // never changes.
                if let Ok(meta) = std::fs::metadata(entry.path()) {
                    if meta.is_file() {
                        files.push((entry.path(), meta.len(), meta.modified().ok()));
                    }
                }
            }
        }
    };
    add(dir);
    add(&dir.join("scripts"));
    files.sort();
    files
}
