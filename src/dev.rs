//! `switchboard dev`: the shipped routes against a simulated Mattermost, in one process.
//!
//! Starts [`Simulator`] and the real [`Application`] on 127.0.0.1 (ports picked by the OS),
//! waits for registration, then reads lines: `/…` runs a slash command as @alice in
//! ~town-square of the first configured team; anything else is posted as a message. Everything
//! Mattermost would show alice (posts, ephemeral replies, edits) is printed as it happens.
//! End of input shuts both down cleanly.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::broadcast::error::RecvError;

use crate::cli::load_routes;
use crate::config::Settings;
use crate::sim::{SimEvent, SimPost, Simulator, World};
use crate::startup::Application;

/// The seeded user who types in the REPL.
const USER: &str = "alice";
/// The channel the REPL types in.
const CHANNEL: &str = "town-square";

/// Runs the REPL on standard input and output.
pub async fn run_stdio(settings: Settings) -> ExitCode {
    let stdin = BufReader::new(tokio::io::stdin());
    let mut stdout = std::io::stdout();
    run(settings, stdin, &mut stdout).await
}

/// Runs the REPL on any input and output (tests drive it with buffers).
pub async fn run(
    mut settings: Settings,
    input: impl AsyncBufRead + Unpin,
    out: &mut impl Write,
) -> ExitCode {
    crate::telemetry::init(crate::telemetry::subscriber(
        "warn",
        settings.log.format,
        std::io::stderr,
    ));
    let Some(routes) = load_routes(&settings) else {
        return ExitCode::FAILURE;
    };
    match session(&mut settings, routes, input, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn session(
    settings: &mut Settings,
    routes: crate::integrations::RouteSet,
    input: impl AsyncBufRead + Unpin,
    out: &mut impl Write,
) -> Result<(), String> {
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = Simulator::start(loopback)
        .await
        .map_err(|e| format!("cannot start the simulated Mattermost: {e}"))?;
    let listener = TcpListener::bind(loopback)
        .await
        .map_err(|e| format!("cannot bind 127.0.0.1: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    settings.mattermost.url = sim.url();
    settings.mattermost.token = Some(SecretString::from(sim.bot_token()));
    settings.mattermost.token_file = None;
    settings.server.listen = addr;
    settings.server.public_url = format!("http://{addr}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    if settings.mattermost.teams.is_empty() {
        settings.mattermost.teams = vec!["main".to_owned()];
    }
    let team = if settings.mattermost.all_teams() {
        "main".to_owned()
    } else {
        settings.mattermost.teams[0].clone()
    };

    let app = Application::with_listener(settings.clone(), routes, listener)
        .map_err(|e| e.to_string())?;
    let ready = app.state().ready.clone();
    let state = app.state().clone();
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
            "Switchboard did not register with the simulated Mattermost in 15 s; \
             do the configured teams ({:?}) exist there (main, ops)?",
            settings.mattermost.teams
        ));
    }
    let names = Names::new(&world, &team);
    let _ = writeln!(
        out,
        "switchboard dev: simulated Mattermost at {}, Switchboard at http://{addr}\n\
         You are @{USER} in ~{CHANNEL} of team {team}. Type /hello hi, or a message; !submit name=value, !cancel, !click LABEL answer dialogs and buttons. End input (Ctrl-D) to quit.",
        sim.url()
    );
    let _ = out.flush();

    let mut lines = input.lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let Ok(Some(line)) = line else { break };
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let result = if line.starts_with('/') {
                    world.execute_command(USER, &team, CHANNEL, line).await.map(drop)
                } else if let Some(rest) = line.strip_prefix('!') {
                    // `!tick <route>` and `!webhook <route> <file>` (src/triggers/mod.rs).
                    match crate::triggers::dev_command(&state, rest).await {
                        Some(Ok(said)) => { let _ = writeln!(out, "{said}"); Ok(()) }
                        Some(Err(e)) => { let _ = writeln!(out, "error: {e}"); Ok(()) }
                        None => interact(&world, &team, rest, out).await,
                    }
                } else {
                    world.create_post(USER, &team, CHANNEL, line).await.map(drop)
                };
                if let Err(e) = result {
                    let _ = writeln!(out, "error: {e}");
                }
                drain(&mut events, &names, out);
            }
            event = events.recv() => match event {
                Ok(event) => print_event(&event, &names, out),
                Err(RecvError::Lagged(n)) => { let _ = writeln!(out, "({n} events skipped)"); }
                Err(RecvError::Closed) => break,
            },
        }
        let _ = out.flush();
    }

    let _ = stop_tx.send(());
    let _ = server.await;
    drain(&mut events, &names, out);
    sim.shutdown().await;
    let _ = out.flush();
    Ok(())
}

/// The values a web client pre-fills: each element's non-empty `default`, as a JSON boolean for
/// `bool` elements and a string otherwise.
fn dialog_defaults(dialog: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let elements = dialog.get("elements").and_then(|e| e.as_array());
    elements
        .into_iter()
        .flatten()
        .filter_map(|element| {
            let name = element.get("name")?.as_str()?;
            let default = element.get("default")?.as_str().filter(|d| !d.is_empty())?;
            let value = if element.get("type").and_then(|t| t.as_str()) == Some("bool") {
                serde_json::Value::Bool(default == "true")
            } else {
                serde_json::Value::String(default.to_owned())
            };
            Some((name.to_owned(), value))
        })
        .collect()
}

/// `!submit name=value …` / `!cancel` answer the last dialog opened for you; `!click LABEL
/// [OPTION]` clicks the newest button or menu labelled `LABEL` in the channel.
async fn interact(
    world: &World,
    team: &str,
    line: &str,
    out: &mut impl Write,
) -> Result<(), crate::sim::SimError> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or("");
    let me = world.user_id(USER).unwrap_or_default();
    match verb {
        "submit" | "cancel" => {
            let Some(dialog) = world
                .opened_dialogs()
                .into_iter()
                .rev()
                .find(|d| d.user_id == me)
            else {
                let _ = writeln!(out, "no dialog is open");
                return Ok(());
            };
            // Like the web client, start from each element's default, then apply what was typed.
            let mut submission = dialog_defaults(&dialog.dialog);
            for pair in words {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                submission.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
            }
            let answer = world
                .submit_dialog(USER, team, CHANNEL, &dialog, submission, verb == "cancel")
                .await?;
            let _ = writeln!(out, "(dialog answered) {answer}");
        }
        "click" => {
            let label = words.next().unwrap_or("");
            let option = words.next();
            let target = world
                .posts_in(team, CHANNEL)
                .into_iter()
                .rev()
                .find_map(|p| {
                    world
                        .action_ids(&p.id)
                        .into_iter()
                        .find(|(_, name)| name == label)
                        .map(|(id, _)| (p.id.clone(), id))
                });
            let Some((post_id, action_id)) = target else {
                let _ = writeln!(out, "no button or menu labelled {label:?}");
                return Ok(());
            };
            world
                .click_action(USER, &post_id, &action_id, option)
                .await?;
        }
        _ => {
            let _ = writeln!(
                out,
                "commands: !submit name=value …, !cancel, !click LABEL [OPTION]"
            );
        }
    }
    Ok(())
}

/// Prints every event already queued.
fn drain(
    events: &mut tokio::sync::broadcast::Receiver<SimEvent>,
    names: &Names,
    out: &mut impl Write,
) {
    while let Ok(event) = events.try_recv() {
        print_event(&event, names, out);
    }
}

/// Display names for the seeded users and channels.
struct Names {
    me: String,
    users: HashMap<String, String>,
    channels: HashMap<String, String>,
}

impl Names {
    fn new(world: &World, team: &str) -> Self {
        let users = ["alice", "bob", "switchboard"]
            .iter()
            .filter_map(|name| Some((world.user_id(name)?, (*name).to_owned())))
            .collect();
        let channels = ["town-square", "off-topic", "leads"]
            .iter()
            .filter_map(|name| Some((world.channel_id(team, name)?, (*name).to_owned())))
            .collect();
        Names {
            me: world.user_id(USER).unwrap_or_default(),
            users,
            channels,
        }
    }

    fn user<'a>(&'a self, post: &'a SimPost) -> &'a str {
        post.props
            .get("override_username")
            .and_then(|v| v.as_str())
            .or_else(|| self.users.get(&post.user_id).map(String::as_str))
            .unwrap_or(&post.user_id)
    }

    fn channel<'a>(&'a self, id: &'a str) -> &'a str {
        self.channels.get(id).map_or(id, String::as_str)
    }
}

/// One event as Mattermost would show it to the REPL's user.
fn print_event(event: &SimEvent, names: &Names, out: &mut impl Write) {
    if let SimEvent::DialogOpened(dialog) = event {
        if dialog.user_id == names.me {
            let _ = writeln!(
                out,
                "(dialog opened) {} — fields: {}",
                dialog.title(),
                dialog.element_names().join(", ")
            );
        }
        return;
    }
    let (label, post) = match event {
        SimEvent::PostCreated(post) => ("", post),
        SimEvent::EphemeralPost(post) if post.ephemeral_for.as_deref() == Some(&names.me) => {
            ("(only visible to you) ", post)
        }
        SimEvent::PostEdited(post) => ("(edited) ", post),
        _ => return,
    };
    let thread = if post.root_id.is_empty() { "" } else { "↳ " };
    if post.is_ephemeral() {
        let _ = writeln!(out, "{thread}{label}{}", post.message);
    } else {
        let _ = writeln!(
            out,
            "{thread}{label}~{} @{}: {}",
            names.channel(&post.channel_id),
            names.user(post),
            post.message
        );
    }
    if let Some(attachments) = post.props.get("attachments").and_then(|a| a.as_array()) {
        for attachment in attachments {
            for key in ["pretext", "title", "text"] {
                if let Some(text) = attachment.get(key).and_then(|v| v.as_str()) {
                    let _ = writeln!(out, "    | {text}");
                }
            }
            if let Some(actions) = attachment.get("actions").and_then(|a| a.as_array()) {
                let labels: Vec<&str> = actions
                    .iter()
                    .filter_map(|a| a.get("name").and_then(|n| n.as_str()))
                    .collect();
                if !labels.is_empty() {
                    let _ = writeln!(out, "    | [{}]", labels.join("] ["));
                }
            }
        }
    }
}
