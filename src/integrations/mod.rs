//! Declared integrations: `routes/*.toml`, loaded into a validated [`RouteSet`].
//!
//! - `spec.rs`: the file format, deserialised strictly (unknown keys are errors).
//! - `load.rs`: reads a directory, validates every file, and reports *every* problem with its
//!   file and line instead of stopping at the first.
//! - `template.rs`: reply templates (minijinja), compiled at load time; user input is only ever
//!   data in the context, never template source.
//! - `reply.rs`: the `reply` action.
//! - `handler.rs`: the [`Handler`] trait every route implements, and its context [`Cx`].
//!
//! A route's name is its file stem; its slash command is served at `/commands/<name>`.

mod context;
mod handler;
mod load;
mod reply;
mod spec;
mod template;

use std::collections::HashMap;
use std::path::PathBuf;

pub use context::{CommandContext, Who};
pub use handler::{
    ActionClick, BoxFuture, CONTEXT_KEY, CallbackKind, Cx, CxParts, Handler, HandlerError,
    Handlers, SigningTtl, SubmittedDialog,
};
pub use load::{LoadProblem, load_dir};
pub use reply::ReplyAction;
pub use spec::{CommandSpec, ReplySpec, RouteFile};
pub use template::{Template, TemplateError};

/// Mattermost's built-in slash-command triggers (PROTOCOL.md §1.1); a custom command cannot use
/// them.
pub const BUILT_IN_TRIGGERS: &[&str] = &[
    "away",
    "offline",
    "online",
    "dnd",
    "code",
    "collapse",
    "expand",
    "echo",
    "header",
    "invite",
    "invite_people",
    "purpose",
    "rename",
    "help",
    "kick",
    "remove",
    "join",
    "open",
    "leave",
    "mute",
    "logout",
    "me",
    "msg",
    "groupmsg",
    "search",
    "settings",
    "shortcuts",
    "shrug",
    "status",
    "marketplace",
];

/// One validated route.
#[derive(Debug)]
pub struct Route {
    /// The file stem; names the callback path.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// The slash command that triggers it.
    pub command: CommandSpec,
    /// What it does.
    pub action: Action,
}

/// What a route does when triggered. One variant per action kind; dispatch is one `match`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Answer with a rendered template.
    Reply(ReplyAction),
}

/// Every loaded route, indexed by name.
#[derive(Debug, Default)]
pub struct RouteSet {
    routes: Vec<Route>,
    by_name: HashMap<String, usize>,
}

impl RouteSet {
    /// Builds the index. Names are unique because they are file stems in one directory.
    pub fn new(routes: Vec<Route>) -> Self {
        let by_name = routes
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        RouteSet { routes, by_name }
    }

    /// A route by name.
    pub fn get(&self, name: &str) -> Option<&Route> {
        self.by_name.get(name).map(|&i| &self.routes[i])
    }

    /// Every route, in file-name order.
    pub fn iter(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}
