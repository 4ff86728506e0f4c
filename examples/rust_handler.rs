//! A handler written in Rust, registered beside the declared `routes/*.toml`.
//!
//! `/dice [sides]` rolls a die; the answer has a "Roll again" button whose click comes back
//! to the same handler with signed context (the number of sides), and replaces the post.
//!
//! ```text
//! SWITCHBOARD_MATTERMOST__TOKEN=… cargo run --example rust_handler -- config.toml
//! ```
//!
//! The route is served at `<public_url>/commands/dice` and `/actions/dice`; register the
//! `/dice` slash command in Mattermost pointing there (declared routes are registered
//! automatically; a handler in code is only served).
#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use switchboard::config::Settings;
use switchboard::integrations::{ActionClick, BoxFuture, Cx, Handler, HandlerError, load_dir};
use switchboard::mattermost::models::{CommandResponse, MessageAttachment};
use switchboard::protocol::{ActionResponse, PostUpdate, SlashCommandRequest};
use switchboard::startup::{Application, shutdown_signal};

/// Rolls dice.
#[derive(Debug)]
struct Dice;

impl Dice {
    fn roll(sides: u64) -> u64 {
        // Good enough for a chat toy; no extra dependency.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        nanos % sides + 1
    }

    fn message(cx: &Cx, channel_id: &str, sides: u64) -> (String, Vec<MessageAttachment>) {
        let text = format!("🎲 d{sides}: **{}**", Dice::roll(sides));
        let mut attachment = MessageAttachment::default();
        attachment.actions =
            vec![cx.button("Roll again", "roll", channel_id, json!({ "sides": sides }))];
        (text, vec![attachment])
    }
}

impl Handler for Dice {
    fn slash_command<'a>(
        &'a self,
        cx: &'a Cx,
        request: &'a SlashCommandRequest,
    ) -> BoxFuture<'a, Result<CommandResponse, HandlerError>> {
        Box::pin(async move {
            let Ok(sides) = request.text.trim().parse::<u64>().or_else(|e| {
                if request.text.trim().is_empty() {
                    Ok(6)
                } else {
                    Err(e)
                }
            }) else {
                return Ok(CommandResponse::ephemeral("Usage: `/dice [sides]`"));
            };
            let sides = sides.clamp(2, 1000);
            let (text, attachments) = Dice::message(cx, &request.channel_id, sides);
            let mut response = CommandResponse::in_channel(text);
            response.attachments = Some(attachments);
            Ok(response)
        })
    }

    fn action<'a>(
        &'a self,
        cx: &'a Cx,
        click: &'a ActionClick,
    ) -> BoxFuture<'a, Result<ActionResponse, HandlerError>> {
        Box::pin(async move {
            // `click.data` is what we signed into the button; a client cannot change it.
            let sides = click.data.get("sides").and_then(Value::as_u64).unwrap_or(6);
            let (text, attachments) = Dice::message(cx, &click.request.channel_id, sides);
            Ok(ActionResponse::update(
                PostUpdate::message(text).attachments(&attachments),
            ))
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("config.toml"), PathBuf::from);
    let settings = match Settings::load(&config, false) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let routes = match load_dir(&settings.routes.dir) {
        Ok(routes) => routes,
        Err(problems) => {
            for p in problems {
                eprintln!("error: {p}");
            }
            return std::process::ExitCode::FAILURE;
        }
    };
    let app = match Application::build(settings, routes).await {
        Ok(app) => app.with_handler("dice", Arc::new(Dice)),
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
