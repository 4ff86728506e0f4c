//! A handler written in Rust, registered beside the declared `routes/*.toml`.
//!
//! `/dice [sides]` rolls a die; the answer has a "Roll again" button whose click comes back
//! to the same handler with signed context (the number of sides), and replaces the post.
//!
//! ```text
//! SWITCHBOARD_MATTERMOST__TOKEN=… cargo run --example rust_handler -- config.toml
//! ```
//!
//! The route is served at `<public_url>/commands/dice` and `/actions/dice`. Switchboard
//! registers declared routes itself; a handler in code registers its own command, as
//! [`register_dice`] does here through the library's client: in every team of the bot, once
//! (a restart finds it and reuses it), handing the command's token to the server so it
//! accepts the callbacks.
#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use switchboard::config::Settings;
use switchboard::integrations::{ActionClick, BoxFuture, Cx, Handler, HandlerError, load_dir};
use switchboard::mattermost::models::{Command, CommandResponse, MessageAttachment};
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

/// Registers `/dice` (pointing at this server) in every team of the bot unless the bot
/// registered it before, and gives the server each team's command token.
async fn register_dice(app: &Application) -> Result<(), switchboard::mattermost::Error> {
    let state = app.state();
    let url = format!(
        "{}/commands/dice",
        state
            .settings
            .server
            .public_url
            .as_str()
            .trim_end_matches('/')
    );
    let me = state.client.users().me().await?;
    for team in state.client.teams().for_user(None).await? {
        let ours = state
            .client
            .commands()
            .list(&team.id, true)
            .await?
            .into_iter()
            .find(|c| c.trigger == "dice" && c.url == url && c.creator_id.as_ref() == Some(&me.id));
        let command = match ours {
            Some(command) => command,
            None => {
                let mut command = Command::new(team.id.clone(), "dice", url.as_str());
                command.display_name = "Dice".into();
                command.description = "Roll a die".into();
                command.auto_complete = true;
                command.auto_complete_hint = "[sides]".into();
                state.client.commands().create(&command).await?
            }
        };
        state
            .tokens
            .insert("dice", team.id.as_str(), &command.token);
    }
    Ok(())
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
    if let Err(e) = register_dice(&app).await {
        eprintln!("error: registering /dice: {e}");
        return std::process::ExitCode::FAILURE;
    }
    match app.run_until_stopped(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use figment::providers::{Format, Toml};
    use switchboard::sim::{SimEvent, Simulator};

    /// The example against the simulator: `/dice 20` posts a d20 roll with a button, and the
    /// button rolls again in place; a second start registers nothing new.
    #[tokio::test]
    async fn dice_rolls_and_its_button_rolls_again_in_place() {
        let sim = Simulator::start(([127, 0, 0, 1], 0).into()).await.unwrap();
        let routes = tempfile::tempdir().unwrap();
        // `public` is where Mattermost reaches the server (a restart keeps it).
        let start = |public: Option<String>| async {
            let figment = figment::Figment::from(Toml::string(switchboard::config::DEFAULTS))
                .merge(Toml::string(&format!(
                    "[mattermost]\nurl = {:?}\nteams = [\"main\"]\n[routes]\ndir = {:?}\n",
                    sim.url().as_str(),
                    routes.path().display().to_string()
                )));
            let mut settings = Settings::from_figment(&figment).unwrap();
            settings.mattermost.token = Some(secrecy::SecretString::from(sim.bot_token()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let public = public.unwrap_or_else(|| format!("http://{addr}"));
            settings.server.public_url = public.parse().unwrap();
            let app =
                Application::with_listener(settings, load_dir(routes.path()).unwrap(), listener)
                    .unwrap()
                    .with_handler("dice", Arc::new(Dice));
            register_dice(&app).await.unwrap();
            app
        };
        let app = start(None).await;
        let public = app.state().settings.server.public_url.to_string();
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        let world = sim.world();
        let dice_commands = || {
            world
                .commands("main")
                .iter()
                .filter(|c| c.trigger == "dice")
                .count()
        };
        assert_eq!(dice_commands(), 1);

        let out = world
            .execute_command("alice", "main", "town-square", "/dice 20")
            .await
            .unwrap();
        let post = &out.posts[0];
        let roll = |message: &str| -> u64 {
            let n = message
                .strip_prefix("🎲 d20: **")
                .and_then(|m| m.strip_suffix("**"));
            n.and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a d20 roll: {message}"))
        };
        assert!((1..=20).contains(&roll(&post.message)));
        let actions = world.action_ids(&post.id);
        assert_eq!(actions[0].1, "Roll again");

        // The click reaches the handler, whose answer replaces the post: a fresh d20 roll
        // with the button again (a roll can repeat, so the edit event is what shows it).
        let mut events = world.subscribe();
        world
            .click_action("bob", &post.id, &actions[0].0, None)
            .await
            .unwrap();
        let edited = std::iter::from_fn(|| events.try_recv().ok()).find_map(|e| match e {
            SimEvent::PostEdited(p) if p.id == post.id => Some(p),
            _ => None,
        });
        let rolled = edited.unwrap_or_else(|| panic!("the click did not update the post"));
        assert!((1..=20).contains(&roll(&rolled.message)));
        assert_eq!(world.action_ids(&post.id)[0].1, "Roll again");

        // A restart finds its command: still one.
        drop(start(Some(public)).await);
        assert_eq!(dice_commands(), 1);
    }
}
