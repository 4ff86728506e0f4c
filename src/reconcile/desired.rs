//! Desired state: the slash command every route should have in every team, built from the
//! routes and the settings alone (no Mattermost call).
//!
//! A route's command is identified by its callback URL (`<public_url>/commands/<route>`), not
//! by its trigger: changing a route's trigger is then an update of the same command, and the
//! URL is what proves a command is ours (see `actual.rs`).

use std::fmt;

use crate::config::Settings;
use crate::integrations::{CommandSpec, Route, RouteSet};
use crate::mattermost::models::{Command, CommandMethod};

use super::actual::TeamRef;

/// The callback URL of a route's command.
pub fn command_url(settings: &Settings, route_name: &str) -> String {
    settings
        .server
        .public_url_for(&format!("/commands/{route_name}"))
}

/// The user-settable fields of a slash command, as Switchboard compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFields {
    /// Trigger word, without `/`.
    pub trigger: String,
    /// `P` or `G`.
    pub method: String,
    /// Callback URL.
    pub url: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Shown in autocomplete.
    pub auto_complete: bool,
    /// Autocomplete description.
    pub auto_complete_desc: String,
    /// Autocomplete hint.
    pub auto_complete_hint: String,
    /// Username override of response posts.
    pub username: String,
    /// Icon override of response posts.
    pub icon_url: String,
}

/// One field that differs between what Mattermost holds and what a route declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's JSON name (`description`, `auto_complete_hint` …).
    pub field: &'static str,
    /// Its value in Mattermost, rendered.
    pub old: String,
    /// The declared value, rendered.
    pub new: String,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?} → {:?}", self.field, self.old, self.new)
    }
}

impl CommandFields {
    /// The fields a route declares.
    pub fn from_route(settings: &Settings, route: &Route, spec: &CommandSpec) -> Self {
        CommandFields {
            trigger: spec.trigger.clone(),
            method: CommandMethod::Post.as_str().to_owned(),
            url: command_url(settings, &route.name),
            display_name: spec.display_name.clone(),
            description: spec.description.clone(),
            auto_complete: spec.autocomplete,
            auto_complete_desc: spec.description.clone(),
            auto_complete_hint: spec.hint.clone(),
            username: spec.username.clone(),
            icon_url: spec.icon_url.clone(),
        }
    }

    /// The fields a command in Mattermost holds.
    pub fn from_command(command: &Command) -> Self {
        CommandFields {
            trigger: command.trigger.clone(),
            method: command.method.as_str().to_owned(),
            url: command.url.clone(),
            display_name: command.display_name.clone(),
            description: command.description.clone(),
            auto_complete: command.auto_complete,
            auto_complete_desc: command.auto_complete_desc.clone(),
            auto_complete_hint: command.auto_complete_hint.clone(),
            username: command.username.clone(),
            icon_url: command.icon_url.clone(),
        }
    }

    /// The fields of `self` (Mattermost's) that differ from `wanted`, in a fixed order.
    pub fn changes_to(&self, wanted: &CommandFields) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        let mut text = |field: &'static str, old: &str, new: &str| {
            if old != new {
                changes.push(FieldChange {
                    field,
                    old: old.to_owned(),
                    new: new.to_owned(),
                });
            }
        };
        text("trigger", &self.trigger, &wanted.trigger);
        text("method", &self.method, &wanted.method);
        text("url", &self.url, &wanted.url);
        text("display_name", &self.display_name, &wanted.display_name);
        text("description", &self.description, &wanted.description);
        text(
            "auto_complete",
            bool_text(self.auto_complete),
            bool_text(wanted.auto_complete),
        );
        text(
            "auto_complete_desc",
            &self.auto_complete_desc,
            &wanted.auto_complete_desc,
        );
        text(
            "auto_complete_hint",
            &self.auto_complete_hint,
            &wanted.auto_complete_hint,
        );
        text("username", &self.username, &wanted.username);
        text("icon_url", &self.icon_url, &wanted.icon_url);
        changes
    }

    /// `base` (a command read from Mattermost) with these fields written over it; every other
    /// field — id, token, creator, timestamps, fields this client does not model — is kept, so
    /// an update sends back exactly what it read except for what differs.
    pub fn apply_to(&self, base: &Command) -> Command {
        let mut command = base.clone();
        command.trigger.clone_from(&self.trigger);
        command.method = if self.method == "G" {
            CommandMethod::Get
        } else {
            CommandMethod::Post
        };
        command.url.clone_from(&self.url);
        command.display_name.clone_from(&self.display_name);
        command.description.clone_from(&self.description);
        command.auto_complete = self.auto_complete;
        command
            .auto_complete_desc
            .clone_from(&self.auto_complete_desc);
        command
            .auto_complete_hint
            .clone_from(&self.auto_complete_hint);
        command.username.clone_from(&self.username);
        command.icon_url.clone_from(&self.icon_url);
        command
    }

    /// A new command in `team` with these fields.
    pub fn to_new_command(&self, team: &TeamRef) -> Command {
        self.apply_to(&Command::new(team.id.clone(), &self.trigger, &self.url))
    }
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// The command one route wants in one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCommand {
    /// The route's name.
    pub route: String,
    /// The declared fields.
    pub fields: CommandFields,
}

/// The commands the routes want in every team (the same set in each). Routes with a static
/// token (`token_env`) were registered by hand and are left out: Switchboard never touches them.
pub fn desired_commands(settings: &Settings, routes: &RouteSet) -> Vec<DesiredCommand> {
    routes
        .commands()
        .filter(|(_, spec)| spec.token_env.is_none())
        .map(|(route, spec)| DesiredCommand {
            route: route.name.clone(),
            fields: CommandFields::from_route(settings, route, spec),
        })
        .collect()
}
