//! Declared integrations: `routes/*.toml`, a small and safe language for slash commands,
//! outgoing hooks, dialogs and buttons, loaded into a validated [`RouteSet`].
//!
//! | module | holds |
//! |---|---|
//! | `spec` | the file format, deserialised strictly (unknown keys are errors) |
//! | `load` | reads a directory, validates every file and reports *every* problem with file, line and key |
//! | `keys` | every unknown key of a file in one pass (the typed parse stops at the first) |
//! | `locate`, `triggers` | the line of a key, variable or run-time template error; triggers declared twice |
//! | `trigger_specs`, `fire` | `[webhook]`, `[schedule]` and `[message]` compiled at load time, and running a route for one of them |
//! | `variables` | every variable each template can reach, checked against what its triggers provide |
//! | `pattern` | declared patterns with the web client's JavaScript classes (ASCII `\d`, `\w`, `\b`) |
//! | `args` | slash-command argument parsing, usage text and autocomplete hint |
//! | `access` | allow lists and system roles |
//! | `template`, `context` | minijinja templates compiled at load time, and the values they see |
//! | `escape` | what a value becomes in a URL (encoded for its part) or a message (mentions neutralised) |
//! | `reply`, `dialog`, `exec`, `http`, `post` | one module per action kind |
//! | `exec_finish` | an exec job's final status in its thread even when the last edit is refused (tried once more, else a new reply) |
//! | `env_vars` | the environment variables routes read (secrets); `check` warns about unset ones |
//! | `shebang` | a script's `#!` line: a missing interpreter named by `check` and by a failed start |
//! | `buttons` | what Mattermost requires of a reply's buttons: ids unique in the post, letters and digits; known styles |
//! | `run` | [`Runtime`] and [`DeclaredRoute`]: a declared route as a [`Handler`] for every callback kind (one `match` over the action kinds) |
//! | `handler` | the [`Handler`] trait every route implements (declared or in Rust), and its context [`Cx`] |
//! | `reload` | [`RouteTable`]: the live set, swapped atomically on SIGHUP or file change |
//!
//! A route's name is its file stem; its slash command is served at `/commands/<name>`. User
//! input only ever enters templates as data, never as template source.

mod access;
mod args;
mod buttons;
mod context;
mod dialog;
mod dialog_dates;
mod dialog_files;
mod dialog_lookup;
mod dialog_values;
mod env_vars;
mod escape;
mod exec;
mod exec_finish;
mod fire;
mod handler;
mod http;
mod keys;
mod load;
mod locate;
mod names;
mod pattern;
mod post;
mod reload;
mod reply;
mod run;
mod shebang;
mod spec;
mod template;
mod trigger_specs;
mod triggers;
mod type_errors;
mod variables;
pub mod versions;

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::PathBuf;

use regex::Regex;

pub use access::{Access, RoleCache};
pub use args::{ArgError, ArgParser, Parsed};
pub use context::{CommandContext, Context, SampleShape, Who};
pub use dialog::{DeclarationProblem, DialogAction};
#[cfg(feature = "sim")]
pub(crate) use dialog_dates::{civil_datetime, days_from_today};
pub use dialog_lookup::{LookupEnv, LookupError};
pub use env_vars::{UnsetVariable, unset_variables};
pub use escape::UrlValueError;
pub use exec::{
    ExecAction, Limiters as ExecLimiters, Outcome as ExecOutcome, Prepared as ExecPrepared, Ticket,
    run as run_program,
};
pub use fire::{Delivery, Fired, resolve_channel};
pub use handler::{
    ActionClick, BoxFuture, CONTEXT_KEY, CallbackKind, Cx, CxParts, DialogLookup, Handler,
    HandlerError, Handlers, SigningTtl, SubmittedDialog,
};
pub use http::{HttpAction, HttpError};
pub use load::{LoadProblem, load_dir};
pub use names::{Directory, Needs};
pub use post::{PostAction, PostError};
pub use reload::{ReloadOutcome, RouteTable};
pub use reply::{ButtonLinks, NoLinks, Rendered, ReplyAction};
pub use run::{DeclaredRoute, Runtime};
pub use spec::{
    AccessSpec, ActionSpec, ArgSpec, ArgType, CommandSpec, DialogSpec, ExecSpec, HookContentType,
    HookSpec, HttpSpec, MessageSpec, PostSpec, ReplyIn, ReplySpec, RouteFile, ScheduleSpec,
    TriggerWhen, Visibility, WebhookSpec,
};
pub use template::{Template, TemplateError};
pub use trigger_specs::{MessageTrigger, ScheduleTrigger, WebhookTrigger, When};
pub use variables::TEMPLATE_VARIABLES;

pub use crate::protocol::BUILT_IN_TRIGGERS;

/// What to say when the routes directory `dir` holds no route file: `check` refuses it (a
/// wrong `[routes] dir` or working directory would otherwise pass CI with nothing checked),
/// `serve` and `dev` warn and run (a server may start before its routes are written; `serve`
/// then writes nothing to Mattermost, see `Reconciler::run_until_done`).
pub fn no_route_files(dir: &std::path::Path) -> String {
    format!(
        "no route files (*.toml) in {}: nothing would answer; write one with `switchboard new \
         NAME`, or point `[routes] dir` (SWITCHBOARD_ROUTES__DIR) at the directory that holds them",
        dir.display()
    )
}

/// One validated route.
#[derive(Debug)]
pub struct Route {
    /// The file stem; names the callback paths.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// The slash command that triggers it; `hint` is generated from the arguments when the
    /// file leaves it empty.
    pub command: Option<CommandSpec>,
    /// The outgoing hook that triggers it.
    pub hook: Option<HookSpec>,
    /// The hook's compiled `pattern`.
    pub hook_pattern: Option<Regex>,
    /// The inbound webhook that triggers it (`/webhooks/<name>`).
    pub webhook: Option<WebhookTrigger>,
    /// The schedule that triggers it.
    pub schedule: Option<ScheduleTrigger>,
    /// The messages that trigger it (WebSocket events).
    pub message: Option<MessageTrigger>,
    /// The slash command's arguments.
    pub args: ArgParser,
    /// Who may use it.
    pub access: Access,
    /// What it does when triggered.
    pub action: Action,
    /// Named follow-up actions for dialogs and buttons.
    pub actions: BTreeMap<String, Action>,
    /// The file's text, to notice what changed on reload.
    pub source: String,
    /// What its triggers provide, filled in (empty) where the running trigger does not.
    pub(crate) declared: context::DeclaredKeys,
}

impl Route {
    /// Whether this route hands out signed dialogs or buttons (in its main action or any
    /// follow-up): those break at a restart or on another replica without configured keys.
    pub fn needs_signing(&self) -> bool {
        std::iter::once(&self.action)
            .chain(self.actions.values())
            .any(Action::needs_signing)
    }
}

/// What a route does. One variant per action kind; dispatch is one `match` (in `run.rs`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Action {
    /// Answer with rendered templates.
    Reply(ReplyAction),
    /// Open a dialog.
    Dialog(DialogAction),
    /// Run a local program with live output.
    Exec(ExecAction),
    /// Forward to an HTTP service.
    Http(HttpAction),
    /// Post to a named channel.
    Post(PostAction),
}

impl Action {
    /// Whether running it hands out something Switchboard signs: a dialog (its `state`) or
    /// buttons and menus (their `context`).
    pub fn needs_signing(&self) -> bool {
        match self {
            Action::Dialog(_) => true,
            Action::Reply(reply) => reply.has_buttons(),
            Action::Http(http) => http.reply.has_buttons(),
            Action::Exec(_) | Action::Post(_) => false,
        }
    }
}

/// Every loaded route, indexed by name and by trigger.
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

    /// Every route with a slash command, and the command (what registration needs).
    pub fn commands(&self) -> impl Iterator<Item = (&Route, &CommandSpec)> {
        self.routes
            .iter()
            .filter_map(|r| r.command.as_ref().map(|c| (r, c)))
    }

    /// Every route with an outgoing hook, and the hook (what registration needs).
    pub fn hooks(&self) -> impl Iterator<Item = (&Route, &HookSpec)> {
        self.routes
            .iter()
            .filter_map(|r| r.hook.as_ref().map(|h| (r, h)))
    }

    /// Names of the routes that hand out signed dialogs or buttons, in file-name order.
    pub fn needing_signing(&self) -> Vec<String> {
        self.routes
            .iter()
            .filter(|r| r.needs_signing())
            .map(|r| r.name.clone())
            .collect()
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Names of routes added, removed or changed from `old` to `self`.
    pub fn changed_since(&self, old: &RouteSet) -> Vec<String> {
        let mut changed: Vec<String> = self
            .routes
            .iter()
            .filter(|r| old.get(&r.name).is_none_or(|o| o.source != r.source))
            .map(|r| r.name.clone())
            .collect();
        changed.extend(
            old.routes
                .iter()
                .filter(|o| self.get(&o.name).is_none())
                .map(|o| o.name.clone()),
        );
        changed
    }
}
