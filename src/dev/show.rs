//! Events as Mattermost shows them to the person at the REPL: posts with channel and author,
//! threads marked `↳`, ephemeral replies marked "only visible to you", direct messages marked
//! with whom they are to, edits, attachments with their fields, buttons and menus.

use std::collections::HashMap;
use std::io::Write;

use serde_json::Value;

use crate::sim::{SimPost, World};

/// Display names of the simulated world's users and one team's channels.
#[derive(Debug)]
pub(super) struct Names {
    users: HashMap<String, String>,
    channels: HashMap<String, String>,
}

impl Names {
    /// The names as seeded (the world's users and channels do not change during `dev`).
    pub(super) fn new(world: &World, team: &str) -> Self {
        Names {
            users: world.users().into_iter().collect(),
            channels: world.channels(team).into_iter().collect(),
        }
    }

    /// The author as shown: the override username, else the username, else the id.
    fn author<'a>(&'a self, post: &'a SimPost) -> &'a str {
        post.props
            .get("override_username")
            .and_then(Value::as_str)
            .or_else(|| self.users.get(&post.user_id).map(String::as_str))
            .unwrap_or(&post.user_id)
    }

    fn channel<'a>(&'a self, id: &'a str) -> &'a str {
        self.channels.get(id).map_or(id, String::as_str)
    }

    /// A user's name by id (the id when unknown).
    pub(super) fn user<'a>(&'a self, id: &'a str) -> &'a str {
        self.users.get(id).map_or(id, String::as_str)
    }
}

/// How a post arrived.
#[derive(Debug, Clone, Copy)]
pub(super) enum PostKind {
    /// Created (stored).
    Created,
    /// Ephemeral, for the person at the REPL.
    Ephemeral,
    /// An existing post updated.
    Edited,
}

/// Prints one post and its attachments, in its team channel.
pub(super) fn post(out: &mut dyn Write, names: &Names, kind: PostKind, post: &SimPost) {
    let place = format!("~{}", names.channel(&post.channel_id));
    post_in(out, names, kind, post, &place);
}

/// Prints a post in a direct channel, to `to` (a user id), e.g.
/// `(direct message to @alice) @switchboard: …`: it is not in any channel of the team.
pub(super) fn direct(out: &mut dyn Write, names: &Names, kind: PostKind, post: &SimPost, to: &str) {
    let place = format!("(direct message to @{})", names.user(to));
    post_in(out, names, kind, post, &place);
}

/// Prints one post and its attachments, shown as in `place` (`~channel`, or a direct message).
fn post_in(out: &mut dyn Write, names: &Names, kind: PostKind, post: &SimPost, place: &str) {
    let thread = if post.root_id.is_empty() { "" } else { "↳ " };
    let label = match kind {
        PostKind::Created => "",
        PostKind::Ephemeral => "(only visible to you) ",
        PostKind::Edited => "(edited) ",
    };
    // Continuation lines are indented, so every new entry starts at the left margin.
    let message = post.message.replace('\n', "\n    ");
    if post.is_ephemeral() {
        let _ = writeln!(out, "{thread}{label}{message}");
    } else {
        let _ = writeln!(
            out,
            "{thread}{label}{place} @{}: {message}",
            names.author(post),
        );
    }
    for attachment in attachments(post) {
        for key in ["pretext", "title", "text"] {
            if let Some(text) = attachment.get(key).and_then(Value::as_str) {
                if !text.is_empty() {
                    let _ = writeln!(out, "    | {}", text.replace('\n', "\n    | "));
                }
            }
        }
        for field in attachment
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let title = field.get("title").and_then(Value::as_str).unwrap_or("");
            let value = match field.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let _ = writeln!(out, "    | {title}: {value}");
        }
        let controls: Vec<String> = actions(attachment).map(control).collect();
        if !controls.is_empty() {
            let _ = writeln!(out, "    | {}", controls.join(" "));
        }
    }
}

/// The attachments of a post.
pub(super) fn attachments(post: &SimPost) -> impl Iterator<Item = &Value> {
    post.props
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The buttons and menus of an attachment.
pub(super) fn actions(attachment: &Value) -> impl Iterator<Item = &Value> {
    attachment
        .get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A button as `[Label]`, a menu as `[Label ▾ a | b]` (its options, or where they come from).
pub(super) fn control(action: &Value) -> String {
    let name = action.get("name").and_then(Value::as_str).unwrap_or("");
    if action.get("type").and_then(Value::as_str) != Some("select") {
        return format!("[{name}]");
    }
    let choices = match action.get("data_source").and_then(Value::as_str) {
        Some("users") => "@user".to_owned(),
        Some("channels") => "~channel".to_owned(),
        _ => menu_options(action)
            .map(|(text, _)| text)
            .collect::<Vec<_>>()
            .join(" | "),
    };
    format!("[{name} ▾ {choices}]")
}

/// A static menu's options as (text, value).
pub(super) fn menu_options(action: &Value) -> impl Iterator<Item = (&str, &str)> {
    action
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| {
            let value = o.get("value").and_then(Value::as_str).unwrap_or("");
            (
                o.get("text").and_then(Value::as_str).unwrap_or(value),
                value,
            )
        })
}
