//! [`Application`]: binds the listener, builds the state and router, registers with
//! Mattermost in the background, and serves until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::{ConfigError, Settings};
use crate::integrations::{Handler, Handlers, RouteSet, RouteTable, Runtime};
use crate::mattermost::{self, Client};
use crate::metrics;
use crate::protocol::ResponseUrls;
use crate::reconcile::{Mode, Reconciler};
use crate::server::{self, AppState, Readiness, Shared};
use crate::signing::Signer;
use crate::tokens::TokenStore;

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Mattermost client could not be built (bad URL or token format).
    #[error("Mattermost client: {0}")]
    Client(#[from] mattermost::Error),
    /// A route's `token_env` names an environment variable that is not set.
    #[error(
        "route `{route}` takes its token from the environment variable {var}, which is not set \
         (copy the token of the hand-registered command from System Console › Integrations › \
         Slash Commands)"
    )]
    StaticToken {
        /// The route.
        route: String,
        /// The variable.
        var: String,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A built, not yet running, Switchboard.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    /// The separate metrics listener, when `[metrics] listen` is set.
    metrics_listener: Option<(TcpListener, SocketAddr)>,
    state: AppState,
    reconciler: Reconciler,
    mode: Mode,
}

impl Application {
    /// Binds `settings.server.listen` and builds everything.
    pub async fn build(settings: Settings, routes: RouteSet) -> Result<Application, StartupError> {
        let addr = settings.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        Self::with_listener(settings, routes, listener)
    }

    /// Builds on an already bound listener (tests and `switchboard dev` bind port 0 first).
    /// The metrics listener, when configured, is bound here.
    pub fn with_listener(
        settings: Settings,
        routes: RouteSet,
        listener: TcpListener,
    ) -> Result<Application, StartupError> {
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.server.listen,
            source,
        })?;
        let metrics_listener = match settings.metrics.listen {
            Some(addr) if settings.metrics.enabled => Some(bind_std(addr)?),
            _ => None,
        };
        if settings.metrics.enabled {
            metrics::install();
        }
        let mut client = Client::builder(settings.mattermost.url.as_str())
            .secret_token(settings.mattermost.token()?);
        if settings.metrics.enabled {
            client = client.on_response(Arc::new(|endpoint, status, attempt, elapsed| {
                metrics::api_call(endpoint, status, attempt, elapsed);
            }));
        }
        let client = client.build()?;
        let signer = match settings.signing.signer()? {
            Some(signer) => {
                tracing::info!(signing_key = signer.signing_key_id(), "signing keys loaded");
                signer
            }
            // Said when serving starts (`run_until_stopped`): `serve` may still refuse it.
            None => Signer::ephemeral(),
        };
        let tokens = TokenStore::default();
        for (route, spec) in routes.commands() {
            if let Some(var) = &spec.token_env {
                let token = std::env::var(var).map_err(|_| StartupError::StaticToken {
                    route: route.name.clone(),
                    var: var.clone(),
                })?;
                tokens.insert_static(&route.name, token.trim());
            }
        }
        let settings = Arc::new(settings);
        let routes = RouteTable::new(routes, settings.routes.dir.clone());
        let store = crate::store::Store::from_settings(&settings.store).map_err(|e| {
            StartupError::Config(ConfigError::Invalid {
                setting: "store",
                message: e.to_string(),
            })
        })?;
        tracing::info!(store = %store.describe(), "state shared through this store");
        let coordinator = crate::coordination::Coordinator::resolve(&settings.coordination, &store)
            .map_err(|e| {
                StartupError::Config(ConfigError::Invalid {
                    setting: "coordination",
                    message: e.to_string(),
                })
            })?;
        let runtime = Runtime {
            http_allowed_hosts: settings.http.allowed_hosts.clone().into(),
            ..Runtime::with_store(&store)
        };
        let handlers = Handlers::declared(routes.clone(), runtime);
        let reconciler = Reconciler::new(client.clone(), settings.clone(), routes.clone());
        reconciler.install_refresher(&tokens);
        let state = AppState::new(Shared {
            settings,
            routes,
            handlers: Arc::new(handlers),
            tokens,
            ready: Readiness::default(),
            client,
            signer,
            response_urls: ResponseUrls::with_store(ResponseUrls::client(), store.clone()),
            store,
            coordinator,
            background: tokio_util::task::TaskTracker::new(),
            interrupt: tokio_util::sync::CancellationToken::new(),
        });
        Ok(Application {
            listener,
            addr,
            metrics_listener,
            state,
            reconciler,
            mode: Mode::Register,
        })
    }

    /// Writes nothing to Mattermost at startup (`serve --no-register`): the tokens of the
    /// commands already registered are still read from the listing.
    #[must_use]
    pub fn without_registration(mut self) -> Self {
        self.mode = Mode::ReadOnly;
        self
    }

    /// Registers `handler` for `route`: its callbacks arrive at `/commands/<route>`,
    /// `/hooks/<route>`, `/dialogs/<route>` and `/actions/<route>`. A handler registered in
    /// code replaces a declared route of the same name (logged).
    ///
    /// Call it before [`Application::state`] is cloned or the app runs.
    #[must_use]
    pub fn with_handler(mut self, route: impl Into<String>, handler: Arc<dyn Handler>) -> Self {
        let route = route.into();
        self.reconciler.leave_alone(&route);
        let mut replaced = false;
        self.state.update(|shared| {
            replaced = Arc::make_mut(&mut shared.handlers)
                .insert(route.clone(), handler)
                .is_some();
        });
        if replaced {
            tracing::warn!(%route, "a handler registered in code replaces the declared route");
        }
        self
    }

    /// Uses `signer` instead of the configured keys (tests of key rotation, embedding).
    #[must_use]
    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.state.update(|shared| shared.signer = signer);
        self
    }

    /// Refuses to serve with an ephemeral signing key when a route needs signing: a declared
    /// route that opens a dialog or posts buttons or menus, or a handler whose
    /// [`Handler::needs_signing`] says so. Without keys and with no such route, a later reload
    /// that adds one is rejected (see [`RouteTable::refuse_routes_needing_signing`]).
    /// `switchboard serve` calls it; `dev` and tests do not.
    pub fn require_signing_keys(&self) -> Result<(), StartupError> {
        if self.state.settings.signing.signer()?.is_some() {
            return Ok(());
        }
        let needing = self.state.handlers.needing_signing();
        if needing.is_empty() {
            self.state.routes.refuse_routes_needing_signing();
            return Ok(());
        }
        Err(StartupError::Config(ConfigError::Invalid {
            setting: "signing.keys",
            message: format!(
                "routes {} hand out dialogs or buttons, whose signatures must survive restarts \
                 and hold across replicas: set SWITCHBOARD_SIGNING__KEYS=\"kid:BASE64SECRET\" \
                 (e.g. `openssl rand -base64 32`) or signing.keys_file",
                needing.join(", ")
            ),
        }))
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the separate metrics listener, when `[metrics] listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(_, addr)| *addr)
    }

    /// The shared state (readiness, tokens …).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes: then stops accepting connections and lets in-flight
    /// requests and the background work they started (`state.background`) finish, for at most
    /// the configured grace period in all. Registration runs in the background meanwhile;
    /// `/readyz` turns 200 when it succeeds.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            metrics_listener,
            state,
            reconciler,
            mode,
            ..
        } = self;
        if state.signer.is_ephemeral() {
            tracing::warn!(
                "no signing keys configured (SWITCHBOARD_SIGNING__KEYS or signing.keys_file): \
                 using an ephemeral key, so dialogs and buttons stop verifying after a restart \
                 and across replicas"
            );
        }
        let store_check = tokio::spawn(wait_for_the_store(state.clone()));
        let registration = tokio::spawn({
            let state = state.clone();
            let reconciler = reconciler.clone();
            async move {
                warn_about_versions(&state).await;
                let report = reconciler.run_until_done(&state.tokens, mode).await;
                for failure in &report.failures {
                    tracing::error!(route = %failure.route, team = %failure.team, reason = %failure.message, "Mattermost refused this route's slash command; the other routes are registered");
                }
                for conflict in &report.conflicts {
                    tracing::error!(%conflict, "a command or webhook Switchboard does not own clashes with this route's; left alone (`switchboard plan` says what to do)");
                }
                tracing::info!(
                    created = report.created,
                    updated = report.updated,
                    deleted = report.deleted,
                    kept = report.kept,
                    writes = report.writes,
                    teams = report.teams,
                    conflicts = report.conflicts.len(),
                    failed = report.failures.len(),
                    "registration complete"
                );
                state.ready.set_ready();
                match state.ready.waiting_for() {
                    None => tracing::info!("ready"),
                    Some(waiting) => tracing::info!(%waiting, "not ready yet"),
                }
            }
        });

        // Hot reload: on SIGHUP or a change in the routes directory, swap in a valid new set
        // and register again for it (registration is idempotent: unchanged commands are kept).
        let watcher = state
            .routes
            .spawn_watcher(state.settings.routes.reload_poll(), {
                let state = state.clone();
                let reconciler = reconciler.clone();
                move |changed| {
                    let state = state.clone();
                    let reconciler = reconciler.clone();
                    tokio::spawn(async move {
                        let report = reconciler.run_until_done(&state.tokens, mode).await;
                        tracing::info!(
                            ?changed,
                            created = report.created,
                            updated = report.updated,
                            deleted = report.deleted,
                            kept = report.kept,
                            "registration after reload complete"
                        );
                    });
                }
            });

        // Schedules and messages: which replicas answer is said once, at startup.
        let coordination = &state.coordinator;
        tracing::info!(%coordination, "schedules and messages");
        let routes_now = state.routes.current();
        if matches!(coordination, crate::coordination::Coordinator::Single(_))
            && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
            && routes_now
                .iter()
                .any(|r| r.schedule.is_some() || r.message.is_some())
        {
            tracing::warn!(
                "running in Kubernetes with [schedule] or [message] routes in single mode: \
                 with more than one replica each would post every tick and answer every message"
            );
        }
        let election = coordination.spawn();
        let coordinator = coordination.clone();
        let triggers = crate::triggers::spawn_all(&state);

        let grace = state.settings.server.shutdown_grace();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let mut grace_rx = stop_rx.clone();
        let upkeep = tokio::spawn(async {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
            loop {
                every.tick().await;
                metrics::run_upkeep();
            }
        });
        let metrics_server = metrics_listener.map(|(listener, addr)| {
            tracing::info!(listen = %addr, path = %state.settings.metrics.path, "serving metrics");
            let mut stop_rx = stop_rx.clone();
            let app = server::metrics_router(&state.settings.metrics.path);
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop_rx.wait_for(|stop| *stop).await;
                };
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
                {
                    tracing::error!(error = %e, "metrics listener failed");
                }
            })
        });
        let background = state.background.clone();
        let leftover = background.clone();
        let interrupt = state.interrupt.clone();
        let limits = server::ConnectionLimits::from_settings(&state.settings.server);
        let app = server::router(state);
        let serve = async move {
            server::serve_connections(listener, app, limits, stop_rx).await?;
            // Deferred replies and jobs spawned by callbacks that just finished.
            background.close();
            if !background.is_empty() {
                tracing::info!(
                    tasks = background.len(),
                    "waiting for background work to finish"
                );
            }
            background.wait().await;
            tracing::info!("shutdown complete");
            Ok(())
        };
        let result = tokio::select! {
            result = serve => result,
            () = async move {
                let _ = grace_rx.wait_for(|stop| *stop).await;
                tokio::time::sleep(grace).await;
            } => {
                // Deferred replies still running are abandoned here: say how many, so none
                // disappears silently.
                tracing::warn!(
                    grace_secs = grace.as_secs(),
                    abandoned_background_tasks = leftover.len(),
                    "shutdown grace period over; dropping remaining requests"
                );
                // Jobs still running say so in their threads ("interrupted"), briefly.
                interrupt.cancel();
                leftover.close();
                let _ = tokio::time::timeout(INTERRUPT_NOTICE, leftover.wait()).await;
                Ok(())
            }
        };
        registration.abort();
        store_check.abort();
        watcher.abort();
        for task in triggers {
            task.abort();
        }
        if let Some(task) = election {
            task.abort();
            // Nothing runs here any more: let the next leader start at once.
            coordinator.release().await;
        }
        upkeep.abort();
        if let Some(task) = metrics_server {
            task.abort();
        }
        result
    }
}

/// Pings the shared store until it answers once, then marks it reached for `/readyz` (see
/// [`Readiness`] for why only once). Each failure is a warning naming the store (never its
/// password) and the error, with the same capped back-off as registration; the in-process
/// store is reached at once.
async fn wait_for_the_store(state: AppState) {
    let mut delay = std::time::Duration::from_millis(200);
    loop {
        match state.store.ping().await {
            Ok(()) => {
                if state.store.is_shared() {
                    tracing::info!(store = %state.store.describe(), "shared store answers");
                }
                state.ready.set_store_reached();
                if state.ready.is_ready() {
                    tracing::info!("ready");
                }
                return;
            }
            Err(e) => {
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                tracing::warn!(
                    store = %state.store.describe(),
                    error = %e,
                    retry_in_ms,
                    "the shared store does not answer; not ready until it does (dialogs and \
                     one-shot buttons need it; `switchboard doctor` checks it)"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(30));
            }
        }
    }
}

/// After the grace period, how long interrupted jobs get to say so in their threads.
const INTERRUPT_NOTICE: std::time::Duration = std::time::Duration::from_secs(3);

/// Binds `addr` without a runtime call, so [`Application::with_listener`] stays synchronous.
fn bind_std(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind { addr, source };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    let listener = TcpListener::from_std(listener).map_err(bind_error)?;
    Ok((listener, bound))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Warns, naming the route and the feature, for every dialog feature the connected
/// Mattermost is too old for (`integrations::versions`). Quiet when the version is unknown.
async fn warn_about_versions(state: &AppState) {
    let Ok(config) = state.client.system().client_config().await else {
        return;
    };
    let Some(version) = config
        .get("Version")
        .and_then(|v| crate::integrations::versions::parse_version(v))
    else {
        return;
    };
    let routes = state.routes.current();
    for need in crate::integrations::versions::unmet(&routes, version) {
        let (major, minor) = need.feature.since();
        tracing::warn!(
            route = %need.route,
            feature = need.feature.name(),
            server = %format!("{}.{}", version.0, version.1),
            "the connected Mattermost is older than {major}.{minor}, which this route's dialog needs; it will not work as declared"
        );
    }
}
