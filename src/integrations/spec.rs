//! The `routes/*.toml` file format. Every struct rejects unknown keys, so a typo is an error
//! at load time, not a silently ignored setting.
//!
//! A file declares one route: how it is triggered (`[command]` and/or `[hook]`), its typed
//! arguments (`[[args]]`), who may use it (`[access]`), exactly one main action (`[reply]`,
//! `[dialog]`, `[exec]`, `[http]` or `[post]`) and optionally named follow-up actions under
//! `[actions.<name>]` that dialogs (`on_submit`) and buttons (`action`) run.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// `[reply]`: a templated answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplySpec {
    /// `ephemeral` (only the user sees it, the default; a direct message from the bot where
    /// an ephemeral one is impossible) or `in_channel`.
    #[serde(default)]
    pub visibility: Visibility,
    /// The message, a minijinja template.
    #[serde(default)]
    pub text: String,
    /// Display name to post as (needs Mattermost's override settings).
    #[serde(default)]
    pub username: Option<String>,
    /// Icon URL to post with.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Message attachments, with fields and buttons/menus.
    #[serde(default)]
    pub attachments: Vec<AttachmentSpec>,
    /// For a button click: replace the clicked post with this reply instead of answering
    /// with an ephemeral message.
    #[serde(default)]
    pub update: bool,
    /// Post props to set, each value a template (rendered, then parsed as JSON when it is
    /// valid JSON). Used with `update` to keep state such as poll votes in the post.
    #[serde(default)]
    pub props: BTreeMap<String, String>,
}

/// Who sees a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only the user who triggered the route: an ephemeral message, or a direct message from
    /// the bot where the bot may not send one (after a dialog, or a late answer).
    #[default]
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

/// One message attachment.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSpec {
    /// Template.
    #[serde(default)]
    pub title: String,
    /// Template.
    #[serde(default)]
    pub text: String,
    /// Template.
    #[serde(default)]
    pub pretext: String,
    /// `#rrggbb` or `good`/`warning`/`danger`.
    #[serde(default)]
    pub color: String,
    /// Fallback text for clients that cannot show attachments.
    #[serde(default)]
    pub fallback: String,
    /// Fields, two per row when `short`.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Buttons and menus.
    #[serde(default)]
    pub actions: Vec<ButtonSpec>,
}

/// An attachment field.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Template.
    pub title: String,
    /// Template.
    pub value: String,
    /// Half width.
    #[serde(default)]
    pub short: bool,
}

/// A button or menu in an attachment; a click runs the named follow-up action.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ButtonSpec {
    /// Letters and digits, unique within the post; Mattermost finds the clicked button by it.
    pub id: String,
    /// Label (template).
    pub name: String,
    /// `button` (default) or `select`.
    #[serde(rename = "type", default)]
    pub kind: ButtonKind,
    /// `default`, `primary`, `success`, `good`, `warning`, `danger`, or `#rrggbb`.
    #[serde(default)]
    pub style: Option<String>,
    /// The follow-up action to run, a key of `[actions]`.
    pub action: String,
    /// One-shot: the first accepted click uses the button up, for everyone and on every
    /// replica; later clicks (or a replay of its context) are answered "already used" and run
    /// nothing. For approvals and other actions that must not run twice.
    #[serde(default)]
    pub once: bool,
    /// Values passed to the action as `context.<key>` (templates rendered when the post is
    /// made). Signed, so a client cannot change them.
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// For a static menu: its options.
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    /// For a dynamic menu: `users` or `channels`.
    #[serde(default)]
    pub data_source: Option<String>,
}

/// A button or menu.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ButtonKind {
    /// A button.
    #[default]
    Button,
    /// A menu.
    Select,
}

/// A menu or radio option.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionSpec {
    /// Shown text.
    pub text: String,
    /// Submitted value.
    pub value: String,
}

/// `[dialog]`: open an interactive dialog.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogSpec {
    /// Title (template).
    pub title: String,
    /// Introduction text, Markdown (template).
    #[serde(default)]
    pub introduction: String,
    /// Submit button label.
    #[serde(default)]
    pub submit_label: Option<String>,
    /// Icon URL.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Ask Mattermost to tell us when the user cancels (implied by `on_cancel`).
    #[serde(default)]
    pub notify_on_cancel: bool,
    /// The action run when the user closes the dialog without submitting, a key of
    /// `[actions]`; it sees the `args` and `context` of the action that opened the dialog.
    #[serde(default)]
    pub on_cancel: Option<String>,
    /// Checks across fields, run after every field passed its own checks: the first whose
    /// `when` renders true keeps the dialog open with its `error` in the footer.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// The fields.
    #[serde(default)]
    pub elements: Vec<ElementSpec>,
    /// The follow-up action run with the validated submission, a key of `[actions]`. Without
    /// it, a valid submission just closes the dialog (nothing runs, no API call).
    #[serde(default)]
    pub on_submit: Option<String>,
}

/// One dialog field, with its validation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementSpec {
    /// Key in `submission.<name>`.
    pub name: String,
    /// Label.
    pub display_name: String,
    /// `text`, `textarea`, `select`, `bool`, `radio`, `date`, `datetime`, `file`.
    #[serde(rename = "type")]
    pub kind: ElementType,
    /// For `text`: `email`, `number`, `password`, `tel`, `url`.
    #[serde(default)]
    pub subtype: Option<String>,
    /// Default value (template).
    #[serde(default)]
    pub default: Option<String>,
    /// Placeholder.
    #[serde(default)]
    pub placeholder: Option<String>,
    /// Help text.
    #[serde(default)]
    pub help_text: Option<String>,
    /// Must be filled in (Mattermost's `optional` is the inverse).
    #[serde(default)]
    pub required: bool,
    /// Minimum length (text, textarea).
    #[serde(default)]
    pub min_length: Option<usize>,
    /// Maximum length (text, textarea).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// A regular expression the whole value must match, with the web client's JavaScript
    /// semantics: `\d`, `\w` and `\b` are ASCII-only unless `unicode` is set.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Give `pattern` Unicode classes (`\d` matches every decimal digit, not just 0-9).
    #[serde(default)]
    pub unicode: bool,
    /// For select and radio: the allowed options (also enforced on submission).
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    /// For select: `users`, `channels`, or `dynamic` (options from `lookup` as the user types).
    #[serde(default)]
    pub data_source: Option<String>,
    /// Changing this field asks Switchboard for an updated form (Mattermost ≥ 11.1), in which
    /// every element's `show_when` is evaluated again with the values so far.
    #[serde(default)]
    pub refresh: bool,
    /// Show the element only when this template (over `submission`, `args`, `context`)
    /// renders `true`; a hidden element is not submitted and not required. A field of the same
    /// dialog it reads needs `refresh = true`.
    #[serde(default)]
    pub show_when: Option<String>,
    /// For a `dynamic` select: how its options are computed.
    #[serde(default)]
    pub lookup: Option<LookupSpec>,
    /// For select: several values may be chosen; the submission is an array (the mobile app's
    /// comma-separated string is read as the same values).
    #[serde(default)]
    pub multiselect: bool,
    /// For a multiselect: the fewest values (a required one needs at least one anyway).
    #[serde(default)]
    pub min_items: Option<usize>,
    /// For a multiselect: the most values.
    #[serde(default)]
    pub max_items: Option<usize>,
    /// For date and datetime: the earliest day, `YYYY-MM-DD` or relative (`today`,
    /// `tomorrow`, `yesterday`, `+7d`, `-2w`).
    #[serde(default)]
    pub min_date: Option<String>,
    /// For date and datetime: the latest day, as `min_date`.
    #[serde(default)]
    pub max_date: Option<String>,
    /// For datetime: minutes between offered times (a divisor of 1440); submitted times must
    /// fall on it.
    #[serde(default)]
    pub time_interval: Option<u32>,
    /// For date and datetime: the IANA time zone (`Europe/Berlin`) that relative bounds, day
    /// limits and the time interval are reckoned in; UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// For file: the most files (1 to 10, Mattermost's limit per submission; default 1). More
    /// than 1 lets the user upload several (`allow_multiple`).
    #[serde(default)]
    pub max_files: Option<usize>,
    /// For file: the largest accepted file, in bytes (Mattermost's own `MaxFileSize` applies
    /// at upload anyway).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
    /// For file: the accepted extensions (`pdf`, `png`; case ignored, no dot); empty: any.
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// `lookup` of a dynamic select: Switchboard serves the lookup URL itself, from a template
/// (`options`) or by asking another service (`http`); exactly one of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    /// A template listing the candidate options, one per line, `value` or `value | text`; it
    /// sees `query` (the typed text), `submission` (the other values so far), `args` and
    /// `context`. Switchboard keeps the lines whose value or text contains the query (ignoring
    /// case), at most 100. With an empty `query` it must list every acceptable value: that is
    /// what a submission is checked against.
    #[serde(default)]
    pub options: Option<String>,
    /// Ask another service for the options, as the typed text changes.
    #[serde(default)]
    pub http: Option<LookupHttpSpec>,
    /// Accept any submitted value instead of only those the lookup lists.
    #[serde(default)]
    pub free_form: bool,
}

/// `lookup.http`: a request to another service whose JSON answer lists the options. URL,
/// headers and body are templates seeing `query`, `submission`, `args`, `context`, `user`
/// and `channel`; values in the URL are percent-encoded for the part they land in, as in
/// `[http]`. The answer is mapped with JSON Pointers (RFC 6901): `items` to the array,
/// `value` and `text` within each item. A submitted value is accepted when the service lists
/// it (asked with an empty `query`, then with the value as `query`), unless `free_form`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupHttpSpec {
    /// HTTP method: `GET` (default) or `POST`.
    #[serde(default = "default_lookup_method")]
    pub method: String,
    /// URL (template), e.g. `https://inventory.internal/search?q={{ query }}`.
    pub url: String,
    /// Headers (values are templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose value is read from an environment variable (secrets): header name →
    /// variable name.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// Body (template); sent as `application/json` when it parses as JSON, else text.
    #[serde(default)]
    pub body: Option<String>,
    /// Seconds to wait for the answer (the user is typing: keep it short).
    #[serde(default = "default_lookup_timeout")]
    pub timeout_secs: u64,
    /// Hosts (`name` or `name:port`) the URL may reach; empty: any. `[http] allowed_hosts`
    /// applies too.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Follow redirects (same scheme, host and port only).
    #[serde(default)]
    pub follow_redirects: bool,
    /// JSON Pointer to the array of options in the answer; `""` (default): the answer is the
    /// array.
    #[serde(default)]
    pub items: String,
    /// JSON Pointer to an option's value within an item (default `/value`); a number is taken
    /// as its decimal text. Items without one are skipped.
    #[serde(default = "default_lookup_value")]
    pub value: String,
    /// JSON Pointer to an option's shown text within an item (default `/text`); the value when
    /// absent.
    #[serde(default = "default_lookup_text")]
    pub text: String,
}

fn default_lookup_method() -> String {
    "GET".to_owned()
}
fn default_lookup_timeout() -> u64 {
    5
}
fn default_lookup_value() -> String {
    "/value".to_owned()
}
fn default_lookup_text() -> String {
    "/text".to_owned()
}

/// One cross-field check of a dialog.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A template over `submission`, `args`, `context`: the submission is refused when it
    /// renders `true` (a comparison renders `True`; case and surrounding space are ignored;
    /// anything else passes).
    pub when: String,
    /// The dialog's generic error shown when refused (template).
    pub error: String,
}

/// Dialog element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElementType {
    /// One line.
    Text,
    /// Several lines.
    Textarea,
    /// A menu.
    Select,
    /// A checkbox.
    Bool,
    /// Radio buttons.
    Radio,
    /// A day, submitted as `YYYY-MM-DD` (Mattermost ≥ 11.1).
    Date,
    /// A moment, submitted as RFC 3339 (Mattermost ≥ 11.1).
    Datetime,
    /// Uploaded files, submitted as file ids (Mattermost ≥ 11.10); the submission value is the
    /// list of ids, each checked to exist, belong to the submitter and fit the declared limits.
    File,
}

/// `[exec]`: run a local program, never through a shell.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    /// The program: an absolute path, or a path relative to the routes directory.
    pub program: String,
    /// Arguments, each one template rendered into exactly one argv entry.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment variables (values are templates). The request's fields are always
    /// given as `SWITCHBOARD_*` variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory (relative to the routes directory); defaults to the routes directory.
    #[serde(default)]
    pub cwd: Option<String>,
    /// Seconds before the whole process group is killed.
    #[serde(default = "default_exec_timeout")]
    pub timeout_secs: u64,
    /// Most output bytes kept; the rest is dropped and the post says so.
    #[serde(default = "default_output_cap")]
    pub output_cap_bytes: usize,
    /// Runs of this route at once.
    #[serde(default = "one")]
    pub max_concurrent: usize,
    /// Runs that may wait for a slot; beyond that the user is told to try later.
    #[serde(default)]
    pub queue: usize,
    /// Shortest time between two edits of the live output post, in milliseconds.
    #[serde(default = "default_edit_interval")]
    pub edit_interval_ms: u64,
    /// Characters of output shown (the tail; at most 11535, so the post fits in Mattermost).
    #[serde(default = "default_tail")]
    pub tail_chars: usize,
    /// The immediate answer to the slash command (template).
    #[serde(default = "default_exec_started")]
    pub started: String,
}

fn default_exec_timeout() -> u64 {
    300
}
fn default_output_cap() -> usize {
    1 << 20
}
fn one() -> usize {
    1
}
fn default_edit_interval() -> u64 {
    1000
}
fn default_tail() -> usize {
    3000
}
fn default_exec_started() -> String {
    "Started `{{ route }}`; follow it in the thread.".to_owned()
}

/// `[http]`: forward to another HTTP service and render its answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// URL (template).
    pub url: String,
    /// Headers (values are templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose value is read from an environment variable at request time (secrets):
    /// header name → variable name. Never logged, never shown in templates.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// Body (template); sent as `application/json` when it parses as JSON, else text.
    #[serde(default)]
    pub body: Option<String>,
    /// Seconds to wait for the answer.
    #[serde(default = "default_http_timeout")]
    pub timeout_secs: u64,
    /// Hosts (`name` or `name:port`) the URL may reach; empty: any (values in the URL are
    /// encoded, so they cannot change its host, only its author can).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Follow redirects (at most 5, to the same scheme, host and port only). Off by default:
    /// a redirect answer is reported to the user.
    #[serde(default)]
    pub follow_redirects: bool,
    /// The reply, rendered with `response.status`, `response.json`, `response.text`.
    pub reply: ReplySpec,
}

fn default_method() -> String {
    "POST".to_owned()
}
fn default_http_timeout() -> u64 {
    10
}

/// `[post]`: post a templated message to a channel: the request's own (`channel = "here"`,
/// no lookup), one named by team and channel (looked up, cached), or one given by id.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostSpec {
    /// Team name (template); defaults to the request's team.
    #[serde(default)]
    pub team: Option<String>,
    /// Channel name (template), or `here` for the channel the request came from. One of
    /// `channel` and `channel_id` is required.
    #[serde(default)]
    pub channel: String,
    /// Channel id (template), posted to without a lookup.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// The message (template).
    pub message: String,
    /// Post id of a thread to reply in (template); empty means a new thread.
    #[serde(default)]
    pub root_id: Option<String>,
    /// The answer to the user (template); nothing when empty.
    #[serde(default = "default_post_reply")]
    pub reply: String,
}

fn default_post_reply() -> String {
    "Posted to ~{{ post.channel }}.".to_owned()
}

/// `[webhook]`: an inbound HTTP endpoint at `/webhooks/<route>` for other systems
/// (Alertmanager, GitHub …). At least one verification (`secret_env`, `hmac_secret_env` or
/// `allow_from`) is required; every one given must pass.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The environment variable holding a shared secret the sender presents as
    /// `Authorization: Bearer <secret>`.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The environment variable holding the HMAC-SHA256 key the sender signs the raw body
    /// with (GitHub's webhook secret).
    #[serde(default)]
    pub hmac_secret_env: Option<String>,
    /// The header carrying the signature.
    #[serde(default = "default_signature_header")]
    pub signature_header: String,
    /// What precedes the hex digest in the header (`sha256=` for GitHub).
    #[serde(default = "default_signature_prefix")]
    pub signature_prefix: String,
    /// Source addresses or networks allowed (`10.0.0.0/8`, `127.0.0.1`); the TCP peer is
    /// checked, never a forwarding header.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// Team (URL name) of `channel`; defaults to the first configured team.
    #[serde(default)]
    pub team: Option<String>,
    /// The channel (URL name) a `reply` or `http` answer is posted to; exec output goes there
    /// too.
    #[serde(default)]
    pub channel: Option<String>,
    /// A template naming the group a body belongs to (Alertmanager's `{{ body.groupKey }}`):
    /// the first body of a group creates the post, later ones edit that post.
    #[serde(default)]
    pub group_key: Option<String>,
    /// How long a group's post is remembered.
    #[serde(default = "default_group_ttl")]
    pub group_ttl_secs: u64,
    /// A JSON file (relative to the routes directory) with a body the sender really sends:
    /// `check` renders the templates against it, `dev` posts it with `!webhook`.
    #[serde(default)]
    pub sample: Option<String>,
    /// A header carrying a unique id per delivery (GitHub: `X-GitHub-Delivery`). Each id, and
    /// each body, runs once, across replicas (kept in the shared store for
    /// `delivery_id_ttl_secs`): a redelivery or replay, under its id or another, is answered
    /// 200 "already handled" and runs nothing; a request without the header is refused (400).
    #[serde(default)]
    pub delivery_id_header: Option<String>,
    /// How long a delivery id is remembered.
    #[serde(default = "default_delivery_id_ttl")]
    pub delivery_id_ttl_secs: u64,
    /// With `hmac_secret_env`: a header carrying the Unix time (seconds) the sender signed
    /// at; the signature then covers `<timestamp>.<raw body>`, and a request whose time is
    /// more than `timestamp_tolerance_secs` away from now is refused (401), so a captured
    /// request cannot be replayed later.
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// How far (seconds, either way) a signed timestamp may be from now.
    #[serde(default = "default_timestamp_tolerance")]
    pub timestamp_tolerance_secs: u64,
}

fn default_delivery_id_ttl() -> u64 {
    7 * 24 * 3600
}
fn default_timestamp_tolerance() -> u64 {
    300
}

fn default_signature_header() -> String {
    "X-Hub-Signature-256".to_owned()
}
fn default_signature_prefix() -> String {
    "sha256=".to_owned()
}
fn default_group_ttl() -> u64 {
    7 * 24 * 3600
}

/// `[schedule]`: runs the route's action on a cron expression or an interval.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// A cron expression (5 fields, or 6 with seconds first), e.g. `0 9 * * MON-FRI`.
    #[serde(default)]
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in, and `tick.time` / `tick.local` are
    /// shown in (for `every_secs` too).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Instead of `cron`: every this many seconds.
    #[serde(default)]
    pub every_secs: Option<u64>,
    /// Team (URL name) of `channel`; defaults to the first configured team.
    #[serde(default)]
    pub team: Option<String>,
    /// The channel (URL name) a `reply` or `http` answer is posted to.
    pub channel: String,
    /// Run ticks missed while Switchboard was down or late (one run per missed tick, at most
    /// 10), instead of skipping them with a log line.
    #[serde(default)]
    pub catch_up: bool,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

/// `[message]`: posts the bot can see (DMs, and channels it is a member of), through the
/// WebSocket event stream.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Words that trigger the route (any word of the message, as written or without the
    /// punctuation around it, compared case-insensitively; one word each, a phrase is a
    /// `pattern`); empty: every message (narrowed by `pattern`).
    #[serde(default)]
    pub trigger_words: Vec<String>,
    /// A regular expression matched against the message; its named captures become
    /// `captures.<name>`. A message that does not match is ignored.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Only messages that mention the bot (`@botname`); DMs always count as mentions.
    #[serde(default)]
    pub mentioned: bool,
    /// Only these channels (URL names); empty: every channel the bot is in, DMs included.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Where the answer goes: `thread` (the default) or `channel`.
    #[serde(default)]
    pub reply_in: ReplyIn,
    /// Also answer posts by other bots (the bot's own posts are never answered).
    #[serde(default)]
    pub from_bots: bool,
}

/// Where a `[message]` route answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyIn {
    /// In the thread of the message.
    #[default]
    Thread,
    /// In the channel, as a new post.
    Channel,
}
