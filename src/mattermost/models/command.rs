//! Slash commands (<https://api.mattermost.com/#tag/commands>).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mattermost::ids::{CommandId, TeamId, UserId};

/// How Mattermost calls a command's URL.
///
/// API: <https://api.mattermost.com/#tag/commands/operation/CreateCommand>.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CommandMethod {
    /// `P`: POST with a form-encoded body.
    #[default]
    Post,
    /// `G`: GET with the fields in the query string.
    Get,
    /// A value this client does not know.
    Unknown(String),
}

impl CommandMethod {
    /// The wire value (`P`, `G`).
    ///
    /// API: <https://api.mattermost.com/#tag/commands/operation/CreateCommand>.
    pub fn as_str(&self) -> &str {
        match self {
            CommandMethod::Post => "P",
            CommandMethod::Get => "G",
            CommandMethod::Unknown(other) => other,
        }
    }
}

impl Serialize for CommandMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CommandMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        Ok(match value.as_str() {
            "P" => CommandMethod::Post,
            "G" => CommandMethod::Get,
            _ => CommandMethod::Unknown(value),
        })
    }
}

/// A slash command (`model.Command`); the same shape is sent on create and update. Its
/// `Debug` does not print the verification `token` (whoever has it can forge the command's
/// callbacks).
///
/// API: <https://api.mattermost.com/#tag/commands/operation/CreateCommand>.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Command {
    /// Description shown in autocomplete.
    #[serde(default)]
    pub auto_complete_desc: String,
    /// Argument hint shown in autocomplete.
    #[serde(default)]
    pub auto_complete_hint: String,
    /// Show the command in autocomplete.
    #[serde(default)]
    pub auto_complete: bool,
    /// Creation time, Unix milliseconds (server managed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub create_at: i64,
    /// The creating user (defaults to the caller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_id: Option<UserId>,
    /// Deletion time (0 when live).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delete_at: i64,
    /// Description (≤ 128 characters).
    #[serde(default)]
    pub description: String,
    /// Display name (≤ 64 characters).
    #[serde(default)]
    pub display_name: String,
    /// Icon override for response posts.
    #[serde(default)]
    pub icon_url: String,
    /// The command's id (server managed; required on update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CommandId>,
    /// How the callback is made.
    #[serde(default)]
    pub method: CommandMethod,
    /// The team the command belongs to.
    pub team_id: TeamId,
    /// The verification token (server managed; blank in sanitized listings).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// The trigger word, without `/`.
    pub trigger: String,
    /// Last update time, Unix milliseconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub update_at: i64,
    /// The callback URL.
    pub url: String,
    /// Username override for response posts.
    #[serde(default)]
    pub username: String,
    /// Fields this client does not model (`plugin_id`, `autocomplete_data` …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Prints every field but the token's value (`[redacted]`, or `""` when there is none).
impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("auto_complete_desc", &self.auto_complete_desc)
            .field("auto_complete_hint", &self.auto_complete_hint)
            .field("auto_complete", &self.auto_complete)
            .field("create_at", &self.create_at)
            .field("creator_id", &self.creator_id)
            .field("delete_at", &self.delete_at)
            .field("description", &self.description)
            .field("display_name", &self.display_name)
            .field("icon_url", &self.icon_url)
            .field("id", &self.id)
            .field("method", &self.method)
            .field("team_id", &self.team_id)
            .field("token", &redacted(&self.token))
            .field("trigger", &self.trigger)
            .field("update_at", &self.update_at)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("extra", &self.extra)
            .finish()
    }
}

/// What `Debug` shows for a verification token.
pub(super) fn redacted(token: &str) -> &'static str {
    if token.is_empty() { "" } else { "[redacted]" }
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl Command {
    /// A new command for `team_id` that Mattermost will POST to `url` when `/trigger` is typed.
    ///
    /// API: <https://api.mattermost.com/#tag/commands/operation/CreateCommand>.
    pub fn new(team_id: TeamId, trigger: impl Into<String>, url: impl Into<String>) -> Self {
        Command {
            team_id,
            trigger: trigger.into(),
            url: url.into(),
            method: CommandMethod::Post,
            ..Command::default()
        }
    }
}

/// Query of `GET /commands`.
///
/// API: <https://api.mattermost.com/#tag/commands/operation/ListCommands>.
#[derive(Debug, Clone, Default)]
pub struct CommandsListQuery {
    /// Only the team's custom commands, with their tokens (needs manage permission).
    pub custom_only: bool,
}
