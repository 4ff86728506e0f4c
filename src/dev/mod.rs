//! `switchboard dev`: the routes against a simulated Mattermost, in one process.
//!
//! Starts [`Simulator`] and the real [`Application`] on 127.0.0.1 (ports picked by the OS, so
//! several can run side by side), waits for registration, then reads lines as @alice in
//! ~town-square of the first configured team (`!as`, `!in` switch). Everything Mattermost
//! would show the acting user (posts, ephemeral replies, edits, dialogs) is printed as it
//! happens.
//!
//! At end of input it **drains** before stopping: it waits until the simulator has no
//! integration call in flight (outgoing hooks fire in the background, as in Mattermost) and
//! Switchboard no background work (late replies, exec jobs), for at most `[server]
//! shutdown_grace_secs`, printing what they post; then both stop cleanly.
//!
//! | module | holds |
//! |---|---|
//! | `input` | where lines come from: a terminal (rustyline) or a pipe (echoed) |
//! | `line` | a typed line's kind, and quote-aware words for `!verbs` |
//! | `repl` | who acts where, and what each line does |
//! | `dialog` | dialogs shown, `!submit` values, and the answer as the user sees it |
//! | `refresh` | a dialog's `refresh` fields sent before `!submit`, as the web client does |
//! | `show` | posts, attachments, buttons and menus as Mattermost shows them |
//! | `act` | typing a line as a user in a channel or thread (shared by the REPL and the page) |
//! | `web` | the page: the simulated Mattermost in a browser, with an inspector |
//! | `transcript` | `switchboard test`: transcripts typed into a session and checked |
//!
//! The page is served on 127.0.0.1 too ([`DevOptions::port`], printed at start). On a
//! terminal without `--repl`, `dev` serves the page only and stops on Ctrl-C; with `--repl`,
//! or when standard input is not a terminal, lines are read as well.

mod act;
mod dialog;
mod input;
mod line;
mod refresh;
mod repl;
mod show;
pub mod transcript;
mod web;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use base64::Engine;
use secrecy::SecretString;
use tokio::io::{AsyncBufRead, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::cli::load_routes;
use crate::config::Settings;
use crate::sim::{SimEvent, Simulator, World};
use crate::startup::Application;
use input::{Lines, Terminal};
use repl::{FIRST_CHANNEL, FIRST_USER, Repl};

/// How `switchboard dev` runs.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DevOptions {
    /// Serve the page on this port of 127.0.0.1 (0: any free port; the URL is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Open the page in the default browser (xdg-open; open on macOS).
    #[arg(long)]
    pub open: bool,
    /// Read lines on the terminal too (always done when standard input is not a terminal).
    #[arg(long)]
    pub repl: bool,
}

/// Runs `dev` on standard input and output: the page, and the REPL with line editing when
/// standard input is a terminal and `--repl` is given, echoing each line when it is piped.
pub async fn run_stdio(settings: Settings, options: DevOptions) -> ExitCode {
    if std::io::stdin().is_terminal() && !options.repl {
        match Lines::<BufReader<tokio::io::Stdin>>::interrupt() {
            Ok(lines) => return run_lines(settings, &options, lines, &mut std::io::stdout()).await,
            Err(e) => {
                eprintln!("error: cannot listen for Ctrl-C ({e})");
                return ExitCode::FAILURE;
            }
        }
    }
    if std::io::stdin().is_terminal() {
        match Terminal::start() {
            Ok((terminal, mut out)) => {
                let lines: Lines<BufReader<tokio::io::Stdin>> = Lines::Terminal(terminal);
                return run_lines(settings, &options, lines, &mut out).await;
            }
            Err(e) => eprintln!("warning: no line editing ({e}); reading lines as they come"),
        }
    }
    let stdin = BufReader::new(tokio::io::stdin());
    run_lines(
        settings,
        &options,
        Lines::piped(stdin),
        &mut std::io::stdout(),
    )
    .await
}

/// Runs the REPL on any input and output, echoing each line read (tests drive it with
/// buffers).
pub async fn run(
    settings: Settings,
    input: impl AsyncBufRead + Unpin,
    out: &mut impl Write,
) -> ExitCode {
    run_lines(settings, &DevOptions::default(), Lines::piped(input), out).await
}

async fn run_lines<R: AsyncBufRead + Unpin>(
    mut settings: Settings,
    options: &DevOptions,
    lines: Lines<R>,
    out: &mut dyn Write,
) -> ExitCode {
    crate::telemetry::init(crate::telemetry::subscriber(
        "warn",
        settings.log.format,
        std::io::stderr,
    ));
    let Some(routes) = load_routes(&settings) else {
        return ExitCode::FAILURE;
    };
    if routes.is_empty() {
        eprintln!(
            "warning: {}",
            crate::integrations::no_route_files(&settings.routes.dir)
        );
    }
    match session(&mut settings, options, routes, lines, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn session<R: AsyncBufRead + Unpin>(
    settings: &mut Settings,
    options: &DevOptions,
    routes: crate::integrations::RouteSet,
    mut lines: Lines<R>,
    out: &mut dyn Write,
) -> Result<(), String> {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = Simulator::start(loopback)
        .await
        .map_err(|e| format!("cannot start the simulated Mattermost on 127.0.0.1: {e}"))?;
    let listener = TcpListener::bind(loopback)
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    settings.mattermost.url = sim.url();
    settings.mattermost.token = Some(SecretString::from(sim.bot_token()));
    settings.mattermost.token_file = None;
    settings.server.listen = addr;
    // Metrics on the same OS-picked port: a fixed `[metrics] listen` would collide when
    // several `dev` sessions (or tests) run at once.
    settings.metrics.listen = None;
    // One process against its own simulator: schedules and messages are claimed here. `auto`
    // would pick a Kubernetes Lease in a dev container running in a pod, which dev's
    // simulated Mattermost has nothing to do with.
    settings.coordination.mode = crate::coordination::Mode::Single;
    settings.server.public_url = format!("http://{addr}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    if settings.mattermost.teams.is_empty() {
        settings.mattermost.teams = vec!["main".to_owned()];
    }
    // Without configured keys, a key for this session only: dialogs and buttons need one,
    // and nothing outlives `dev` (serve refuses this; see `require_signing_keys`).
    if settings.signing.keys.is_none() && settings.signing.keys_file.is_none() {
        settings.signing.keys = Some(session_key());
    }
    let team = if settings.mattermost.all_teams() {
        "main".to_owned()
    } else {
        settings.mattermost.teams[0].clone()
    };

    let app = Application::with_listener(settings.clone(), routes, listener)
        .map_err(|e| e.to_string())?;
    let ready = app.state().ready.clone();
    let background = app.state().background.clone();
    let app_state = app.state().clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stop_rx.await;
    }));

    let world = sim.world();
    let mut events = world.subscribe();
    let waited = tokio::time::timeout(Duration::from_secs(15), async {
        while !ready.is_ready() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if waited.is_err() {
        return Err(format!(
            "Switchboard (http://{addr}) did not register with the simulated Mattermost ({}) \
             in 15 s; do the configured teams ({:?}) exist there (main, ops)?",
            sim.url(),
            settings.mattermost.teams
        ));
    }
    // `[message]` routes answer what the event stream brings: wait for its connection, so a
    // message piped in at once is not posted before the listener hears it.
    if app_state
        .routes
        .current()
        .iter()
        .any(|r| r.message.is_some())
    {
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while sim.open_websockets() == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
    let mut repl =
        Repl::new(world.clone(), &team, sim.url().to_string(), sim.bot_token()).with_app(app_state);
    let (page_stop_tx, page_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (page_addr, page) = web::serve(
        web::Session {
            world: world.clone(),
            team: team.clone(),
            sim_url: sim.url().to_string(),
            bot_token: sim.bot_token(),
            switchboard_url: format!("http://{addr}"),
        },
        options.port,
        async {
            let _ = page_stop_rx.await;
        },
    )
    .await
    .map_err(|e| format!("cannot serve the page on 127.0.0.1:{}: {e}", options.port))?;
    let page_url = format!("http://{page_addr}/");
    let _ = writeln!(
        out,
        "switchboard dev: simulated Mattermost at {}, Switchboard at http://{addr}\n\
         Open {page_url} to use the routes as Mattermost shows them (as any user, with an inspector).",
        sim.url()
    );
    if lines.reads() {
        let _ = writeln!(
            out,
            "You are @{FIRST_USER} in ~{FIRST_CHANNEL} of team {team}. Type /hello hi, or a message; \
             !help lists the commands and what answers dialogs and buttons. End input (Ctrl-D) to quit."
        );
    } else {
        let _ = writeln!(
            out,
            "Press Ctrl-C to stop (switchboard dev --repl also reads lines here)."
        );
    }
    if options.open {
        open_browser(&page_url);
    }
    let _ = out.flush();

    let echo = lines.echoes();
    let reads = lines.reads();
    // With the page only, the terminal shows no posts: the page does.
    let mut quiet = std::io::sink();
    let out: &mut dyn Write = if reads { out } else { &mut quiet };
    loop {
        let prompt = repl.prompt();
        tokio::select! {
            line = lines.next(&prompt) => {
                let line = match line {
                    Some(Ok(line)) => line,
                    Some(Err(not_text)) => {
                        let _ = writeln!(out, "error: {not_text}");
                        let _ = out.flush();
                        continue;
                    }
                    None => break,
                };
                if echo && !line.trim().is_empty() {
                    let _ = writeln!(out, "{prompt}{}", line.trim());
                }
                repl.handle(&line, out).await;
                print_queued(&mut events, &mut repl, out);
            }
            event = events.recv() => match event {
                Ok(event) => repl.event(&event, out),
                Err(RecvError::Lagged(n)) => { let _ = writeln!(out, "({n} events skipped)"); }
                Err(RecvError::Closed) => break,
            },
        }
        let _ = out.flush();
    }

    settle(
        &world,
        &background,
        &mut events,
        &mut repl,
        out,
        settings.server.shutdown_grace(),
    )
    .await;
    let _ = page_stop_tx.send(());
    let _ = page.await;
    let _ = stop_tx.send(());
    let _ = server.await;
    print_queued(&mut events, &mut repl, out);
    sim.shutdown().await;
    let _ = out.flush();
    Ok(())
}

/// Opens `url` in the default browser; says so when it cannot.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if let Err(e) = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        eprintln!("warning: cannot open a browser with {opener} ({e}); open {url} yourself");
    }
}

/// A random `kid:BASE64` signing key for one `dev` session.
fn session_key() -> SecretString {
    let mut secret = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut secret);
    let encoded = base64::engine::general_purpose::STANDARD.encode(secret);
    SecretString::from(format!("dev:{encoded}"))
}

/// Waits, printing events, until neither the simulator nor Switchboard has work in flight
/// (checked a few times in a row, since one hands work to the other), or `limit` passed.
async fn settle(
    world: &World,
    background: &tokio_util::task::TaskTracker,
    events: &mut Receiver<SimEvent>,
    repl: &mut Repl,
    out: &mut dyn Write,
    limit: Duration,
) {
    const QUIET_ROUNDS: u32 = 3;
    let deadline = Instant::now() + limit;
    let mut quiet = 0;
    while quiet < QUIET_ROUNDS {
        print_queued(events, repl, out);
        let _ = out.flush();
        let busy = world.outbound_calls() + background.len();
        if busy == 0 {
            quiet += 1;
        } else {
            quiet = 0;
        }
        if Instant::now() >= deadline {
            let _ = writeln!(
                out,
                "(stopping: {busy} task(s) still running after {} s)",
                limit.as_secs()
            );
            return;
        }
        tokio::select! {
            event = events.recv() => {
                if let Ok(event) = event {
                    repl.event(&event, out);
                }
            }
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

/// Prints every event already queued.
fn print_queued(events: &mut Receiver<SimEvent>, repl: &mut Repl, out: &mut dyn Write) {
    while let Ok(event) = events.try_recv() {
        repl.event(&event, out);
    }
}
