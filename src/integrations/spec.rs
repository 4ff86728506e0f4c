//! The `routes/*.toml` file format. Every struct rejects unknown keys, so a typo is an error
//! at load time, not a silently ignored setting.

use serde::Deserialize;

/// One route file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFile {
    /// What the route is for (documentation only).
    #[serde(default)]
    pub description: Option<String>,
    /// The slash command that triggers the route.
    pub command: Option<CommandSpec>,
    /// Answer with a template.
    pub reply: Option<ReplySpec>,
}

/// `[command]`: the slash command Switchboard registers.
#[derive(Debug, Clone, Deserialize)]
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
    /// Autocomplete argument hint, e.g. `[text]`.
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

/// `[reply]`: a templated answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplySpec {
    /// `ephemeral` (only the user sees it, the default) or `in_channel`.
    #[serde(default)]
    pub visibility: Visibility,
    /// The message, a minijinja template.
    pub text: String,
}

/// Who sees a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only the user who triggered the route.
    #[default]
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}
