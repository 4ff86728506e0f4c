//! [`Repl`]: who types where, and what each line does in the simulated Mattermost.
//!
//! A slash command runs as the current user in the current channel, exactly as Mattermost
//! runs it; any other line is posted (and fires outgoing hooks); `!verbs` answer dialogs and
//! buttons, switch user (`!as`) and channel (`!in`), and list what can be typed (`!help`).

use std::collections::{HashMap, HashSet};
use std::io::Write;

use serde_json::Value;

use super::act;
use super::dialog;
use super::line::{Line, words};
use super::refresh::Filler;
use super::show::{self, Names, PostKind};
use crate::sim::{OpenedDialog, SimError, SimEvent, SimPost, World};

/// The REPL's state.
#[derive(Debug)]
pub(super) struct Repl {
    world: World,
    team: String,
    /// Who acts (a username).
    user: String,
    /// Where (a channel name in `team`).
    channel: String,
    names: Names,
    /// The dialog shown to each user (by user id) and not yet closed.
    dialogs: HashMap<String, OpenedDialog>,
    /// Dialogs a `!submit` refresh opened and already showed: their events are not shown or
    /// taken again (the submission that followed may have closed them).
    refreshed: HashSet<String>,
    /// The simulated Mattermost's URL, for `!tokens`.
    sim_url: String,
    bot_token: String,
    /// The running Switchboard, for `!tick` and `!webhook` (`None` in tests of the REPL alone).
    app: Option<crate::server::AppState>,
}

/// Who acts first, and where.
pub(super) const FIRST_USER: &str = "alice";
/// The channel typed in first.
pub(super) const FIRST_CHANNEL: &str = "town-square";

impl Repl {
    /// A REPL acting as @alice in ~town-square of `team`.
    pub(super) fn new(world: World, team: &str, sim_url: String, bot_token: String) -> Self {
        Repl {
            names: Names::new(&world, team),
            world,
            team: team.to_owned(),
            user: FIRST_USER.to_owned(),
            channel: FIRST_CHANNEL.to_owned(),
            dialogs: HashMap::new(),
            refreshed: HashSet::new(),
            sim_url,
            bot_token,
            app: None,
        }
    }

    /// Lets `!tick` and `!webhook` reach the running Switchboard.
    pub(super) fn with_app(mut self, app: crate::server::AppState) -> Self {
        self.app = Some(app);
        self
    }

    /// The prompt: where and who, e.g. `~town-square @alice> `.
    pub(super) fn prompt(&self) -> String {
        format!("~{} @{}> ", self.channel, self.user)
    }

    fn user_id(&self) -> String {
        self.world.user_id(&self.user).unwrap_or_default()
    }

    /// Runs one typed line, printing what it did.
    pub(super) async fn handle(&mut self, line: &str, out: &mut dyn Write) {
        let result = match Line::parse(line) {
            Line::Empty => Ok(()),
            Line::Slash(command) => self.slash(command, out).await,
            Line::Message(text) => self.type_line(text, out).await,
            Line::Verb { verb, rest } => self.verb(&verb, rest, out).await,
        };
        if let Err(e) = result {
            let _ = writeln!(out, "error: {e}");
        }
    }

    /// Prints an event as the current user sees it (others' ephemeral posts and dialogs are
    /// not shown) and remembers opened dialogs.
    pub(super) fn event(&mut self, event: &SimEvent, out: &mut dyn Write) {
        let me = self.user_id();
        match event {
            SimEvent::DialogOpened(opened) if self.refreshed.remove(&opened.id) => {}
            SimEvent::DialogOpened(opened) => {
                self.dialogs.insert(opened.user_id.clone(), opened.clone());
                if opened.user_id == me {
                    dialog::show(out, &opened.dialog);
                }
            }
            SimEvent::PostCreated(post) => self.show_post(out, PostKind::Created, post, &me),
            SimEvent::EphemeralPost(post) if post.ephemeral_for.as_deref() == Some(&me) => {
                show::post(out, &self.names, PostKind::Ephemeral, post);
            }
            SimEvent::PostEdited(post) => self.show_post(out, PostKind::Edited, post, &me),
            _ => {}
        }
    }

    /// Prints a stored post: one in a team channel as it is; a direct message only when `me`
    /// (a user id) is one of its two members, as Mattermost shows it to no one else.
    fn show_post(&self, out: &mut dyn Write, kind: PostKind, post: &SimPost, me: &str) {
        match self.world.direct_members(&post.channel_id) {
            None => show::post(out, &self.names, kind, post),
            Some((a, b)) if a == me || b == me => {
                // To the member who did not write it (oneself, in a channel with oneself).
                let to = if a == post.user_id { &b } else { &a };
                show::direct(out, &self.names, kind, post, to);
            }
            Some(_) => {}
        }
    }

    async fn slash(&mut self, command: &str, out: &mut dyn Write) -> Result<(), SimError> {
        self.type_line(command, out).await
    }

    async fn type_line(&mut self, text: &str, out: &mut dyn Write) -> Result<(), SimError> {
        let place = act::Place {
            team: &self.team,
            user: &self.user,
            channel: &self.channel,
            root_id: "",
        };
        if let Some(notice) = act::type_line(&self.world, place, text).await? {
            let _ = writeln!(out, "{notice}");
        }
        Ok(())
    }

    async fn verb(&mut self, verb: &str, rest: &str, out: &mut dyn Write) -> Result<(), SimError> {
        let words = match words(rest) {
            Ok(words) => words,
            Err(e) => {
                let _ = writeln!(out, "error: {e}");
                return Ok(());
            }
        };
        match verb {
            "submit" => self.submit(&words, false, out).await,
            "cancel" => self.submit(&[], true, out).await,
            "click" => self.click(&words, out).await,
            "as" => {
                self.act_as(words.first().map_or("", String::as_str), out);
                Ok(())
            }
            "in" => {
                self.move_to(words.first().map_or("", String::as_str), out);
                Ok(())
            }
            "tokens" => {
                self.tokens(out);
                Ok(())
            }
            "help" => {
                self.help(out);
                Ok(())
            }
            // `!tick <route>` and `!webhook <route> <file>` (src/triggers/mod.rs).
            "tick" | "webhook" => {
                let Some(app) = &self.app else {
                    let _ = writeln!(out, "error: !{verb} needs the running Switchboard");
                    return Ok(());
                };
                match crate::triggers::dev_command(app, &format!("{verb} {rest}")).await {
                    Some(Ok(said)) => {
                        let _ = writeln!(out, "{said}");
                    }
                    Some(Err(e)) => {
                        let _ = writeln!(out, "error: {e}");
                    }
                    None => {}
                }
                Ok(())
            }
            _ => {
                let _ = writeln!(out, "no REPL command !{verb}; !help lists them");
                Ok(())
            }
        }
    }

    async fn submit(
        &mut self,
        words: &[String],
        cancel: bool,
        out: &mut dyn Write,
    ) -> Result<(), SimError> {
        let me = self.user_id();
        let Some(opened) = self.dialogs.get(&me).cloned() else {
            let _ = writeln!(out, "no dialog is open for @{}", self.user);
            return Ok(());
        };
        // Refresh fields the line changes are sent first, as the web client sends them while
        // the user fills the form in: the line is then the answer to the form they bring.
        let opened = if cancel {
            opened
        } else {
            let filler = Filler {
                world: &self.world,
                user: &self.user,
                team: &self.team,
                channel: &self.channel,
            };
            let (opened, ids) = filler.refreshed(opened, words, out).await?;
            self.refreshed.extend(ids);
            self.dialogs.insert(me.clone(), opened.clone());
            opened
        };
        let submission = if cancel {
            serde_json::Map::new()
        } else {
            let draft = match dialog::submission(&self.world, &self.team, &opened.dialog, words) {
                Ok(draft) => draft,
                Err(e) => {
                    let _ = writeln!(out, "error: {e}");
                    return Ok(());
                }
            };
            let mut values = draft.values;
            for (name, paths) in draft.uploads {
                let token = self.world.user_token(&self.user).unwrap_or_default();
                let channel = self
                    .world
                    .channel_id(&self.team, &self.channel)
                    .unwrap_or_default();
                match dialog::upload(&self.sim_url, &token, &channel, &paths).await {
                    Ok(ids) => {
                        let _ = writeln!(out, "(uploaded {} file(s) for {name})", ids.len());
                        values.insert(name, serde_json::Value::String(ids.join(",")));
                    }
                    Err(e) => {
                        let _ = writeln!(out, "error: {e}");
                        return Ok(());
                    }
                }
            }
            values
        };
        let answer = self
            .world
            .submit_dialog(
                &self.user,
                &self.team,
                &self.channel,
                &opened,
                submission,
                cancel,
            )
            .await?;
        dialog::show_answer(out, &opened.dialog, &answer, cancel);
        if cancel || !dialog::stays_open(&answer) {
            self.dialogs.remove(&me);
        }
        Ok(())
    }

    /// `!click LABEL [OPTION]`: the newest post in the channel with a button or menu of that
    /// label (any case); a menu needs an option (its text or value, `@user`, `~channel`).
    async fn click(&mut self, words: &[String], out: &mut dyn Write) -> Result<(), SimError> {
        let posts = self.world.posts_in(&self.team, &self.channel);
        // The label may have spaces: try the longest one first.
        for split in (1..=words.len()).rev() {
            let label = words[..split].join(" ");
            let option = words[split..].join(" ");
            let found = posts.iter().rev().find_map(|post| {
                show::attachments(post)
                    .flat_map(show::actions)
                    .find(|a| {
                        a.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.to_lowercase() == label.to_lowercase())
                    })
                    .map(|action| (post.id.clone(), action.clone()))
            });
            let Some((post_id, action)) = found else {
                continue;
            };
            let id = action.get("id").and_then(Value::as_str).unwrap_or("");
            let is_menu = action.get("type").and_then(Value::as_str) == Some("select");
            let selected = if is_menu {
                match self.menu_choice(&action, &option) {
                    Some(value) => Some(value),
                    None => {
                        let _ = writeln!(
                            out,
                            "choose an option of the menu: !click {label} OPTION, from {}",
                            show::control(&action)
                        );
                        return Ok(());
                    }
                }
            } else if !option.is_empty() {
                continue;
            } else {
                None
            };
            self.world
                .click_action(&self.user, &post_id, id, selected.as_deref())
                .await?;
            return Ok(());
        }
        self.no_such_control(&words.join(" "), &posts, out);
        Ok(())
    }

    /// The value sent for `option` in `menu`, when it names one.
    fn menu_choice(&self, menu: &Value, option: &str) -> Option<String> {
        if option.is_empty() {
            return None;
        }
        match menu.get("data_source").and_then(Value::as_str) {
            Some("users") => self.world.user_id(option.trim_start_matches('@')),
            Some("channels") => self
                .world
                .channel_id(&self.team, option.trim_start_matches('~')),
            _ => show::menu_options(menu)
                .find(|(text, value)| {
                    text.eq_ignore_ascii_case(option) || value.eq_ignore_ascii_case(option)
                })
                .map(|(_, value)| value.to_owned()),
        }
    }

    fn no_such_control(&self, label: &str, posts: &[crate::sim::SimPost], out: &mut dyn Write) {
        let newest = posts.iter().rev().find_map(|post| {
            let controls: Vec<String> = show::attachments(post)
                .flat_map(show::actions)
                .map(show::control)
                .collect();
            (!controls.is_empty()).then_some(controls)
        });
        match newest {
            Some(controls) => {
                let _ = writeln!(
                    out,
                    "no button or menu labelled {label:?} in ~{}; the newest post with some has {}",
                    self.channel,
                    controls.join(" ")
                );
            }
            None => {
                let _ = writeln!(out, "no post in ~{} has buttons or menus", self.channel);
            }
        }
    }

    fn act_as(&mut self, who: &str, out: &mut dyn Write) {
        let name = who.trim_start_matches('@');
        if self.world.user_id(name).is_none() {
            let _ = writeln!(out, "no user @{name}; the users are {}", self.user_list());
            return;
        }
        self.user = name.to_lowercase();
        let _ = writeln!(out, "(you are now @{} in ~{})", self.user, self.channel);
    }

    fn move_to(&mut self, channel: &str, out: &mut dyn Write) {
        let name = channel.trim_start_matches('~');
        if self.world.channel_id(&self.team, name).is_none() {
            let channels: Vec<String> = self
                .world
                .channels(&self.team)
                .into_iter()
                .map(|(_, name)| format!("~{name}"))
                .collect();
            let _ = writeln!(
                out,
                "no channel ~{name} in team {}; the channels are {}",
                self.team,
                channels.join(", ")
            );
            return;
        }
        self.channel = name.to_owned();
        let _ = writeln!(out, "(you are now @{} in ~{})", self.user, self.channel);
    }

    fn user_list(&self) -> String {
        let users: Vec<String> = self
            .world
            .users()
            .into_iter()
            .filter(|(_, name)| name != "switchboard")
            .map(|(_, name)| {
                if self.world.is_system_admin(&name) {
                    format!("@{name} (system admin)")
                } else {
                    format!("@{name}")
                }
            })
            .collect();
        users.join(", ")
    }

    fn tokens(&self, out: &mut dyn Write) {
        let _ = writeln!(
            out,
            "simulated Mattermost: {}\n    bot @switchboard: {}",
            self.sim_url, self.bot_token
        );
        for (_, name) in self.world.users() {
            // The bot is listed first, as the bot.
            if let Some(token) = self.world.user_token(&name)
                && token != self.bot_token
            {
                let _ = writeln!(out, "    @{name}: {token}");
            }
        }
        let _ = writeln!(
            out,
            "    e.g. curl -H 'Authorization: Bearer TOKEN' {}/api/v4/users/me",
            self.sim_url.trim_end_matches('/')
        );
    }

    fn help(&self, out: &mut dyn Write) {
        let mut commands = self.world.commands(&self.team);
        commands.sort_by(|a, b| a.trigger.cmp(&b.trigger));
        let _ = writeln!(out, "Slash commands in team {}:", self.team);
        for command in &commands {
            let usage = format!("/{} {}", command.trigger, command.auto_complete_hint);
            let _ = writeln!(
                out,
                "    {:32} {}",
                usage.trim_end(),
                command.auto_complete_desc
            );
        }
        let words: Vec<String> = self
            .world
            .outgoing_hooks(&self.team)
            .into_iter()
            .flat_map(|h| h.trigger_words)
            .collect();
        if !words.is_empty() {
            let _ = writeln!(
                out,
                "A line without / is posted as a message; outgoing hooks answer messages starting with: {}",
                words.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "REPL commands:\n    \
             !submit name=value …    answer the open dialog (quote spaces: notes=\"two words\"; @user, ~channel for selects)\n    \
                                     multiselect: tags=a,b (or tags=a tags=b); date: 2026-05-01, today, +3d;\n    \
                                     datetime: \"2026-05-01 14:30\"; file: logs=@path/to/file (several: @a,@b)\n    \
             !cancel                 close the open dialog\n    \
             !click LABEL [OPTION]   click the newest button labelled LABEL, or choose OPTION in a menu\n    \
             !as @user               act as another user: {}\n    \
             !in ~channel            type in another channel of team {}\n    \
             !tokens                 the simulated Mattermost's URL and access tokens (for curl or the client)\n    \
             !tick ROUTE             fire the [schedule] of ROUTE now\n    \
             !webhook ROUTE FILE     deliver the JSON body in FILE to the [webhook] of ROUTE\n    \
             !help                   this list\n\
             End the input (Ctrl-D) to quit.",
            self.user_list(),
            self.team
        );
    }
}
