//! The command line: `switchboard serve | check | dev`.
//!
//! Every subcommand returns an exit code; problems are printed once, as sentences, never as a
//! panic trace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{LogSettings, Settings};
use crate::integrations::{self, RouteSet};
use crate::startup::{self, Application};
use crate::telemetry;

/// Switchboard: slash commands, outgoing webhooks, dialogs and buttons for Mattermost,
/// declared in `routes/*.toml`.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file. Every setting can also come from `SWITCHBOARD_*` environment
    /// variables (`SWITCHBOARD_SERVER__LISTEN` overrides `[server] listen`).
    #[arg(
        long,
        short,
        global = true,
        default_value = "config.toml",
        value_name = "FILE"
    )]
    pub config: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register the routes with Mattermost and serve its callbacks until SIGINT/SIGTERM.
    Serve,
    /// Load the configuration and every route file, report every problem, and exit non-zero if
    /// there is any. Needs no Mattermost and no token.
    Check,
    /// Try the routes with no Mattermost: runs a simulated Mattermost and Switchboard together
    /// on 127.0.0.1 and reads lines from standard input. A line starting with `/` runs a slash
    /// command as @alice in ~town-square; any other line is posted as a message.
    #[cfg(feature = "sim")]
    Dev,
    /// Probe a running Switchboard's `/healthz` (on `[server] listen`) and exit 0 if it
    /// answers 200; for container health checks.
    Healthcheck {
        /// Probe this URL instead.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> ExitCode {
    // The default file may be absent (environment-only setups); a file named explicitly must exist.
    let required = cli.config != Path::new("config.toml");
    let settings = match Settings::load(&cli.config, required) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Check => check(&settings),
        #[cfg(feature = "sim")]
        Command::Dev => crate::dev::run_stdio(settings).await,
        Command::Healthcheck { url } => healthcheck(&settings, url).await,
    }
}

/// Where `/metrics` is served, for the banner.
fn metrics_location(settings: &Settings, app: &Application) -> String {
    if !settings.metrics.enabled {
        return "off".to_owned();
    }
    let addr = app.metrics_addr().unwrap_or_else(|| app.local_addr());
    format!("http://{addr}{}", settings.metrics.path)
}

/// Loads the routes, printing every problem.
pub fn load_routes(settings: &Settings) -> Option<RouteSet> {
    match integrations::load_dir(&settings.routes.dir) {
        Ok(routes) => Some(routes),
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {problem}");
            }
            eprintln!(
                "{} problem(s) in {}",
                problems.len(),
                settings.routes.dir.display()
            );
            None
        }
    }
}

fn init_logging(log: &LogSettings) {
    telemetry::init(telemetry::subscriber(
        &log.filter,
        log.format,
        std::io::stderr,
    ));
}

async fn serve(settings: Settings) -> ExitCode {
    init_logging(&settings.log);
    let Some(routes) = load_routes(&settings) else {
        return ExitCode::FAILURE;
    };
    let route_count = routes.len();
    let app = match Application::build(settings.clone(), routes)
        .await
        .and_then(|app| app.require_signing_keys().map(|()| app))
    {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {}", telemetry::error_chain(&e));
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %app.local_addr(),
        metrics = %metrics_location(&settings, &app),
        public_url = %settings.server.public_url,
        mattermost = %settings.mattermost.url,
        routes = route_count,
        teams = ?settings.mattermost.teams,
        "switchboard starting"
    );
    match app.run_until_stopped(startup::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %telemetry::error_chain(&e), "server failed");
            ExitCode::FAILURE
        }
    }
}

async fn healthcheck(settings: &Settings, url: Option<String>) -> ExitCode {
    let url = url.unwrap_or_else(|| crate::healthcheck::healthz_url(&settings.server));
    match crate::healthcheck::probe(&url, std::time::Duration::from_secs(3)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("unhealthy: {}", telemetry::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn check(settings: &Settings) -> ExitCode {
    match load_routes(settings) {
        Some(routes) => {
            println!(
                "ok: configuration and {} route(s) in {} are valid",
                routes.len(),
                settings.routes.dir.display()
            );
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}
