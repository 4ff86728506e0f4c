//! The command line: `switchboard serve | check | plan | register | unregister | doctor | dev |
//! schema | new`.
//!
//! Every subcommand returns an exit code; problems are printed once, as sentences, never as a
//! panic trace.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use std::sync::Arc;

use crate::config::{LogSettings, Settings};
use crate::integrations::{self, RouteSet, RouteTable};
use crate::mattermost::Client;
use crate::reconcile::{ReconcileError, Reconciler, Report, doctor};
use crate::startup::{self, Application};
use crate::telemetry;
use crate::tokens::TokenStore;

/// The configuration file read when `--config` is not given (relative to the working directory).
const DEFAULT_CONFIG_FILE: &str = "config.toml";

/// Switchboard: slash commands, outgoing webhooks, dialogs and buttons for Mattermost,
/// declared in `routes/*.toml`.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: `config.toml`, skipped when absent; a file named here must
    /// exist). Every setting can also come from `SWITCHBOARD_*` environment variables
    /// (`SWITCHBOARD_SERVER__LISTEN` overrides `[server] listen`).
    // An `Option`, not a clap default: `--config config.toml` names the file explicitly, so a
    // missing one is an error, not a silent fall-back to the built-in defaults.
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register the routes with Mattermost and serve its callbacks until SIGINT/SIGTERM.
    Serve {
        /// Change nothing in Mattermost: only read the tokens of the commands already
        /// registered (by another replica, or by `switchboard register`).
        #[arg(long)]
        no_register: bool,
    },
    /// Show what `register` would change in Mattermost, as a diff; changes nothing. Exits 2
    /// when there are conflicts (as `register` would).
    Plan,
    /// Bring Mattermost in line with the routes (create, update, delete our commands), then
    /// exit. Exits 2 when a route was refused or conflicts with a command we do not own.
    Register,
    /// Delete every command and outgoing webhook Switchboard owns in the configured teams
    /// (those created by its bot under `public_url`), then exit.
    Unregister,
    /// Check the setup (Mattermost URL, token, teams, permissions, server settings, public
    /// URL) and explain how to fix each problem. Exits 1 when a check fails.
    Doctor,
    /// Load the configuration and every route file, report every problem, and exit non-zero if
    /// there is any. Needs no Mattermost and no token.
    Check,
    /// Try the routes with no Mattermost: runs a simulated Mattermost and Switchboard together
    /// on 127.0.0.1 and serves a page that shows them as Mattermost would (open the printed
    /// URL, or pass --open), with an inspector of every request. With --repl, or when
    /// standard input is not a terminal, it also reads lines: a line starting with `/` runs a
    /// slash command as @alice in ~town-square; any other line is posted as a message; `!help`
    /// lists the commands and the verbs that answer dialogs and buttons.
    #[cfg(feature = "sim")]
    Dev(crate::dev::DevOptions),
    /// Run transcripts (default: `tests/*.txt` in the routes directory) against the simulated
    /// Mattermost and the routes: lines after `~channel @user> ` are typed as that user, every
    /// other line must be printed, `…` matching any text. Prints a diff and exits 1 on a
    /// mismatch. A Markdown file is read for its ```text transcript blocks.
    #[cfg(feature = "sim")]
    Test {
        /// Transcript files (`.txt`, or `.md` for its ```text blocks).
        files: Vec<std::path::PathBuf>,
    },
    /// Probe a running Switchboard's `/healthz` (on `[server] listen`) and exit 0 if it
    /// answers 200; for container health checks.
    Healthcheck {
        /// Probe this URL instead.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Print the JSON Schema of route files (the committed `schema/route.schema.json`), for
    /// editors: route files start with `#:schema ../schema/route.schema.json`.
    Schema,
    /// Write a commented, working route file `routes/<name>.toml` to start from; refuses to
    /// overwrite. Prints what to try in `switchboard dev`.
    New(crate::scaffold::NewArgs),
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
    // Needs no configuration at all.
    if let Command::Schema = cli.command {
        print!("{}", crate::schema::route_schema_json());
        return ExitCode::SUCCESS;
    }
    // The default file may be absent (environment-only setups); a file named explicitly must exist.
    let required = cli.config.is_some();
    let config = cli
        .config
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    let settings = match Settings::load(&config, required) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve { no_register } => serve(settings, no_register).await,
        Command::Check => check(&settings),
        Command::Plan => plan(settings).await,
        Command::Register => register(settings).await,
        Command::Unregister => unregister(settings).await,
        Command::Doctor => doctor(&settings).await,
        #[cfg(feature = "sim")]
        Command::Dev(options) => crate::dev::run_stdio(settings, options).await,
        #[cfg(feature = "sim")]
        Command::Test { files } => crate::dev::transcript::run(settings, files).await,
        Command::Healthcheck { url } => healthcheck(&settings, url).await,
        Command::Schema => ExitCode::SUCCESS, // handled above
        Command::New(args) => crate::scaffold::run(&settings, &args),
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

/// Logging to stderr off the request path; keep the guard until exit (it flushes).
fn init_logging(log: &LogSettings) -> tracing_appender::non_blocking::WorkerGuard {
    telemetry::init_stderr(&log.filter, log.format)
}

async fn serve(settings: Settings, no_register: bool) -> ExitCode {
    let _log = init_logging(&settings.log);
    let Some(routes) = load_routes(&settings) else {
        return ExitCode::FAILURE;
    };
    let route_count = routes.len();
    if routes.is_empty() {
        tracing::warn!("{}", integrations::no_route_files(&settings.routes.dir));
    }
    let app = match Application::build(settings.clone(), routes)
        .await
        .and_then(|app| app.require_signing_keys().map(|()| app))
    {
        Ok(app) if no_register => app.without_registration(),
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
        Some(routes) if routes.is_empty() => {
            eprintln!(
                "error: {}",
                integrations::no_route_files(&settings.routes.dir)
            );
            ExitCode::FAILURE
        }
        Some(routes) if !crate::integrations::versions::check_min_version(settings, &routes) => {
            ExitCode::FAILURE
        }
        Some(routes) => {
            // Warnings, not errors: `check` runs where the secrets are not (CI, an editor).
            for unset in
                integrations::unset_variables(&routes, |var| std::env::var_os(var).is_some())
            {
                eprintln!("warning: {unset}");
            }
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

/// The reconciler for one-shot subcommands, or the problem, printed.
/// What a one-shot command does when the routes directory holds no route file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// `unregister`: the routes do not matter.
    Allow,
    /// `plan`: says so; the plan then shows every command to be deleted.
    Warn,
    /// `register`: would delete every command and outgoing webhook Switchboard registered,
    /// most likely because of a wrong `[routes] dir` or working directory; refused
    /// (`unregister` says it on purpose).
    Refuse,
}

const EMPTY_REGISTERS_NOTHING: &str = "registering would delete every slash command and \
    outgoing webhook Switchboard registered; run `switchboard unregister` if that is what you \
    mean";

fn one_shot_reconciler(settings: Settings, empty: Empty) -> Option<Reconciler> {
    // A one-shot command logs a few lines: written directly, so none is lost at exit.
    telemetry::init(telemetry::subscriber(
        &settings.log.filter,
        settings.log.format,
        std::io::stderr,
    ));
    let routes = load_routes(&settings)?;
    if routes.is_empty() && empty != Empty::Allow {
        let problem = integrations::no_route_files(&settings.routes.dir);
        if empty == Empty::Refuse {
            eprintln!("error: {problem}; {EMPTY_REGISTERS_NOTHING}");
            return None;
        }
        eprintln!("warning: {problem}; {EMPTY_REGISTERS_NOTHING}");
    }
    let client = match settings
        .mattermost
        .token()
        .map_err(|e| e.to_string())
        .and_then(|token| {
            Client::builder(settings.mattermost.url.as_str())
                .secret_token(token)
                .build()
                .map_err(|e| e.to_string())
        }) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("error: {e}");
            return None;
        }
    };
    let dir = settings.routes.dir.clone();
    Some(Reconciler::new(
        client,
        Arc::new(settings),
        RouteTable::new(routes, dir),
    ))
}

fn report_error(error: &ReconcileError) -> ExitCode {
    eprintln!("error: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}

async fn plan(settings: Settings) -> ExitCode {
    // What webhooks, schedules and messages need (nothing to register for them).
    let trigger_needs = crate::integrations::load_dir(&settings.routes.dir)
        .map(|routes| crate::triggers::needs::describe(&routes, &settings))
        .unwrap_or_default();
    let Some(reconciler) = one_shot_reconciler(settings, Empty::Warn) else {
        return ExitCode::FAILURE;
    };
    match reconciler.dry_run().await {
        Ok(plan) => {
            print!("{plan}");
            for line in trigger_needs {
                println!("{line}");
            }
            // As `register` would: CI gating on the dry run notices conflicts too.
            if plan.counts().conflict > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => report_error(&e),
    }
}

async fn register(settings: Settings) -> ExitCode {
    let Some(reconciler) = one_shot_reconciler(settings, Empty::Refuse) else {
        return ExitCode::FAILURE;
    };
    let plan = match reconciler.dry_run().await {
        Ok(plan) => plan,
        Err(e) => return report_error(&e),
    };
    print!("{plan}");
    match reconciler.register(&TokenStore::default()).await {
        Ok(report) => print_report(&report),
        Err(e) => report_error(&e),
    }
}

async fn unregister(settings: Settings) -> ExitCode {
    let Some(reconciler) = one_shot_reconciler(settings, Empty::Allow) else {
        return ExitCode::FAILURE;
    };
    match reconciler.unregister().await {
        Ok(report) => {
            println!(
                "Deleted {} slash command(s) and {} outgoing webhook(s) Switchboard owned in {} \
                 team(s).",
                report.deleted - report.deleted_hooks,
                report.deleted_hooks,
                report.teams
            );
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&e),
    }
}

fn print_report(report: &Report) -> ExitCode {
    println!(
        "Applied: {} created, {} updated, {} deleted, {} unchanged ({} write calls).",
        report.created, report.updated, report.deleted, report.kept, report.writes
    );
    for conflict in &report.conflicts {
        println!(
            "conflict: {conflict} clashes with a command or webhook Switchboard does not own \
             (see the plan above); left alone"
        );
    }
    for failure in &report.failures {
        println!(
            "refused: route `{}` in team `{}`: {}",
            failure.route, failure.team, failure.message
        );
    }
    if report.conflicts.is_empty() && report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

async fn doctor(settings: &Settings) -> ExitCode {
    let routes = match integrations::load_dir(&settings.routes.dir) {
        Ok(routes) if routes.is_empty() => {
            println!(
                "[FAIL] routes: {}",
                integrations::no_route_files(&settings.routes.dir)
            );
            Some(routes)
        }
        Ok(routes) => {
            println!(
                "[ok  ] routes: {} route(s) in {}",
                routes.len(),
                settings.routes.dir.display()
            );
            Some(routes)
        }
        Err(problems) => {
            println!(
                "[FAIL] routes: {} problem(s) in {}",
                problems.len(),
                settings.routes.dir.display()
            );
            for problem in &problems {
                println!("       {problem}");
            }
            println!("       fix: run `switchboard check` and correct the files");
            None
        }
    };
    let findings = doctor::run(settings, routes.as_ref()).await;
    for finding in &findings {
        print!("{finding}");
    }
    // No routes (unreadable, or none at all) fails as any failed check does.
    if routes.as_ref().is_none_or(|routes| routes.is_empty()) || doctor::has_failures(&findings) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
