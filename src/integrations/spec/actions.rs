//! The other actions: `[exec]`, `[http]` and `[post]`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::ReplySpec;

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
