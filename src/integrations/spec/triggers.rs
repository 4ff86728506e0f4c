//! The triggers without a user at the keyboard, or without a command: `[webhook]`,
//! `[schedule]` and `[message]`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
