//! The `routes/*.toml` file format. Every struct rejects unknown keys, so a typo is an error
//! at load time, not a silently ignored setting.
//!
//! A file declares one route: how it is triggered (`[command]` and/or `[hook]`), its typed
//! arguments (`[[args]]`), who may use it (`[access]`), exactly one main action (`[reply]`,
//! `[dialog]`, `[exec]`, `[http]` or `[post]`) and optionally named follow-up actions under
//! `[actions.<name>]` that dialogs (`on_submit`) and buttons (`action`) run.
//!
//! Here: the file, its command, hook, arguments, access and the action table. Beside it, one
//! module per section: `reply`, `dialog`, `actions` (`[exec]`, `[http]`, `[post]`) and
//! `triggers` (`[webhook]`, `[schedule]`, `[message]`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod actions;
mod dialog;
mod reply;
mod triggers;

pub use actions::{ExecSpec, HttpSpec, PostSpec};
pub use dialog::DialogSpec;
pub(crate) use dialog::{ElementSpec, ElementType, LookupHttpSpec, LookupSpec, RuleSpec};
pub(crate) use reply::{AttachmentSpec, ButtonKind, ButtonSpec, FieldSpec, OptionSpec};
pub use reply::{ReplySpec, Visibility};
pub use triggers::{MessageSpec, ReplyIn, ScheduleSpec, WebhookSpec};

/// One route file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// What the route is for (documentation only).
    #[serde(default)]
    pub description: Option<String>,
    /// The slash command that triggers the route.
    pub command: Option<CommandSpec>,
    /// The outgoing webhook that triggers the route.
    pub hook: Option<HookSpec>,
    /// An inbound webhook from another system (`/webhooks/<route>`).
    pub webhook: Option<WebhookSpec>,
    /// A schedule (cron expression or interval).
    pub schedule: Option<ScheduleSpec>,
    /// Messages the bot sees through its WebSocket event stream.
    pub message: Option<MessageSpec>,
    /// The slash command's arguments, in positional order.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// Who may use the route.
    #[serde(default)]
    pub access: AccessSpec,
    /// Answer with a template.
    pub reply: Option<ReplySpec>,
    /// Open an interactive dialog.
    pub dialog: Option<DialogSpec>,
    /// Run a local program.
    pub exec: Option<ExecSpec>,
    /// Forward to another HTTP service.
    pub http: Option<HttpSpec>,
    /// Post a message to a named channel.
    pub post: Option<PostSpec>,
    /// Named follow-up actions, run by dialogs (`on_submit`) and buttons (`action`).
    #[serde(default)]
    pub actions: BTreeMap<String, ActionSpec>,
}

impl RouteFile {
    /// The main action, as an [`ActionSpec`] with whichever kinds were given.
    pub fn main_action(&self) -> ActionSpec {
        ActionSpec {
            reply: self.reply.clone(),
            dialog: self.dialog.clone(),
            exec: self.exec.clone(),
            http: self.http.clone(),
            post: self.post.clone(),
        }
    }
}

/// One action: exactly one of its fields must be set.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// `reply`.
    pub reply: Option<ReplySpec>,
    /// `dialog`.
    pub dialog: Option<DialogSpec>,
    /// `exec`.
    pub exec: Option<ExecSpec>,
    /// `http`.
    pub http: Option<HttpSpec>,
    /// `post`.
    pub post: Option<PostSpec>,
}

impl ActionSpec {
    /// The names of the kinds that are set (exactly one is valid).
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.reply.is_some() {
            kinds.push("reply");
        }
        if self.dialog.is_some() {
            kinds.push("dialog");
        }
        if self.exec.is_some() {
            kinds.push("exec");
        }
        if self.http.is_some() {
            kinds.push("http");
        }
        if self.post.is_some() {
            kinds.push("post");
        }
        kinds
    }
}

/// `[command]`: the slash command Switchboard registers.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// The trigger word, without `/`, lower case.
    pub trigger: String,
    /// Shown in the integrations list (≤ 64 characters).
    #[serde(default)]
    pub display_name: String,
    /// Description (≤ 128 characters); also the autocomplete description.
    #[serde(default)]
    pub description: String,
    /// Autocomplete argument hint, e.g. `[text]`. Generated from `[[args]]` when empty.
    #[serde(default)]
    pub hint: String,
    /// Show the command in autocomplete.
    #[serde(default = "yes")]
    pub autocomplete: bool,
    /// Username shown on the command's response posts (needs `EnablePostUsernameOverride`).
    #[serde(default)]
    pub username: String,
    /// Icon URL shown on the command's response posts (needs `EnablePostIconOverride`).
    #[serde(default)]
    pub icon_url: String,
    /// For a command an admin registered by hand: the environment variable holding its token.
    /// Such a route is never registered, updated or deleted by Switchboard; its callbacks are
    /// checked against that token in every team.
    #[serde(default)]
    pub token_env: Option<String>,
}

fn yes() -> bool {
    true
}

/// `[hook]`: an outgoing webhook that triggers the route.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// Words that trigger the hook.
    pub trigger_words: Vec<String>,
    /// Where a trigger word must appear.
    #[serde(default)]
    pub trigger_when: TriggerWhen,
    /// Restrict the hook to one channel (URL name), in every registered team.
    #[serde(default)]
    pub channel: Option<String>,
    /// How Mattermost sends the hook's payload.
    #[serde(default)]
    pub content_type: HookContentType,
    /// A regular expression matched against the message; its named captures become
    /// `captures.<name>`. A message that does not match is ignored. `\d`, `\w` and `\b` are
    /// ASCII-only unless `unicode` is set.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Give `pattern` Unicode classes (`\d` matches every decimal digit, not just 0-9).
    #[serde(default)]
    pub unicode: bool,
    /// Shown in the integrations list.
    #[serde(default)]
    pub display_name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Username shown on the hook's response posts (needs `EnablePostUsernameOverride`).
    #[serde(default)]
    pub username: String,
    /// Icon URL shown on the hook's response posts (needs `EnablePostIconOverride`).
    #[serde(default)]
    pub icon_url: String,
}

/// Where a trigger word must appear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerWhen {
    /// The message's first word is a trigger word (Mattermost's `trigger_when = 0`).
    #[default]
    FirstWord,
    /// The message starts with a trigger word (Mattermost's `trigger_when = 1`).
    StartsWith,
    /// A trigger word appears anywhere. Mattermost cannot filter this, so the hook is
    /// registered for the whole `channel` (required) and Switchboard filters.
    Anywhere,
}

impl TriggerWhen {
    /// Mattermost's `trigger_when` for registration (`anywhere` registers as first-word with
    /// the channel as filter and no trigger words: Switchboard filters the text itself).
    pub fn mattermost_value(self) -> u8 {
        match self {
            TriggerWhen::FirstWord | TriggerWhen::Anywhere => 0,
            TriggerWhen::StartsWith => 1,
        }
    }
}

/// How an outgoing hook is delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum HookContentType {
    /// `application/json`.
    #[default]
    #[serde(rename = "application/json")]
    Json,
    /// `application/x-www-form-urlencoded`.
    #[serde(rename = "application/x-www-form-urlencoded")]
    Form,
}

impl HookContentType {
    /// The MIME type Mattermost stores.
    pub fn as_str(self) -> &'static str {
        match self {
            HookContentType::Json => "application/json",
            HookContentType::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// `[[args]]`: one argument of the slash command.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArgSpec {
    /// Name: `args.<name>` in templates, `--<name>` for options.
    pub name: String,
    /// Value type.
    #[serde(rename = "type", default)]
    pub kind: ArgType,
    /// Given as `--name value` (or `--name` for booleans) rather than by position. Booleans
    /// are always options.
    #[serde(default)]
    pub option: bool,
    /// The last positional string argument may take the rest of the text, spaces and all.
    #[serde(default)]
    pub rest: bool,
    /// Must be given.
    #[serde(default)]
    pub required: bool,
    /// Value when not given (a string, integer or boolean matching the type).
    #[serde(default)]
    #[schemars(schema_with = "crate::schema::arg_default")]
    pub default: Option<toml::Value>,
    /// For `type = "choice"`: the allowed values.
    #[serde(default)]
    pub choices: Vec<String>,
    /// One line for the usage text.
    #[serde(default)]
    pub help: String,
}

/// The type of an argument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArgType {
    /// Any text.
    #[default]
    String,
    /// A signed whole number.
    Integer,
    /// `--flag` (true when present).
    Boolean,
    /// One of `choices`.
    Choice,
    /// `@username`.
    User,
    /// `~channel`.
    Channel,
}

/// `[access]`: who may use the route. Each non-empty list must match; empty lists allow all.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessSpec {
    /// Usernames allowed.
    #[serde(default)]
    pub users: Vec<String>,
    /// Team names allowed.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Channel names allowed.
    #[serde(default)]
    pub channels: Vec<String>,
    /// System roles, one of which the user must hold (e.g. `system_admin`); looked up through
    /// the API and cached.
    #[serde(default)]
    pub roles: Vec<String>,
}
