//! [`ReconcileError`]: why a reconciliation run stopped, worded so an operator knows what to do.
//!
//! Only failures that stop a whole run are errors. A single route Mattermost refuses (a 400)
//! is not: it is reported in the outcome and the other routes are still registered.

use crate::mattermost::Error as ApiError;

use super::actual::TeamRef;

/// Why a reconciliation run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A call to Mattermost failed (unreachable, 5xx, 429, or an unexpected answer).
    #[error("{action}: {source}")]
    Api {
        /// What we were doing.
        action: String,
        /// The client error.
        #[source]
        source: ApiError,
    },
    /// The bot token was refused.
    #[error(
        "Mattermost refused the bot token (401) while {action}: check SWITCHBOARD_MATTERMOST__TOKEN \
         (a bot access token from System Console › Integrations › Bot Accounts)"
    )]
    Unauthorized {
        /// What we were doing.
        action: String,
    },
    /// The bot may not manage slash commands in a team.
    #[error(
        "the bot lacks the permission `manage_own_slash_commands` in team `{team}` (Mattermost \
         before 5.x calls it `manage_slash_commands`), so it cannot list or register its slash \
         commands. Grant it: make the bot a Team Admin of `{team}` (System Console › User \
         Management › Teams › {team} › Manage Members), or give its role the permission \
         (System Console › User Management › Permissions › Integrations › Manage Own Slash \
         Commands)"
    )]
    Forbidden {
        /// The team's URL name.
        team: String,
        /// Mattermost's answer.
        #[source]
        source: ApiError,
    },
    /// The bot may not manage outgoing webhooks in a team, and routes declare hooks.
    #[error(
        "the bot lacks the permission `manage_own_outgoing_webhooks` in team `{team}` (older \
         Mattermost: `manage_outgoing_webhooks`), and routes declare outgoing webhooks. Grant \
         it: make the bot a Team Admin of `{team}`, or give its role the permission (System \
         Console › User Management › Permissions › Integrations › Manage Own Outgoing Webhooks)"
    )]
    HookForbidden {
        /// The team's URL name.
        team: String,
        /// Mattermost's answer.
        #[source]
        source: ApiError,
    },
    /// Outgoing webhooks are switched off, and routes declare hooks.
    #[error(
        "outgoing webhooks are disabled on this Mattermost server (501) but routes declare \
         them: enable System Console › Integrations › Integration Management › Enable Outgoing \
         Webhooks (ServiceSettings.EnableOutgoingWebhooks)"
    )]
    HooksDisabled {
        /// Mattermost's answer.
        #[source]
        source: ApiError,
    },
    /// Custom slash commands are switched off on the server.
    #[error(
        "custom slash commands are disabled on this Mattermost server (501): enable \
         System Console › Integrations › Integration Management › Enable Custom Slash Commands \
         (ServiceSettings.EnableCommands)"
    )]
    Disabled {
        /// Mattermost's answer.
        #[source]
        source: ApiError,
    },
    /// A configured team does not exist or the bot cannot see it.
    #[error(
        "team `{team}` does not exist or the bot is not a member of it: check mattermost.teams \
         (team URL names, not display names) and add the bot to the team"
    )]
    TeamNotFound {
        /// The configured name.
        team: String,
        /// Mattermost's answer.
        #[source]
        source: ApiError,
    },
    /// No team to register in.
    #[error("no teams to register in: set mattermost.teams (SWITCHBOARD_MATTERMOST__TEAMS)")]
    NoTeams,
}

impl ReconcileError {
    /// Wraps a client error met while doing `action`, recognising a refused token.
    pub(crate) fn api(action: impl Into<String>) -> impl FnOnce(ApiError) -> ReconcileError {
        let action = action.into();
        move |source| {
            if source.is_unauthorized() {
                ReconcileError::Unauthorized { action }
            } else {
                ReconcileError::Api { action, source }
            }
        }
    }

    /// Classifies a failure of the custom-command listing of `team`.
    pub(crate) fn listing(team: &TeamRef, source: ApiError) -> ReconcileError {
        if source.is_forbidden() {
            ReconcileError::Forbidden {
                team: team.name.clone(),
                source,
            }
        } else if source.status() == Some(http::StatusCode::NOT_IMPLEMENTED) {
            ReconcileError::Disabled { source }
        } else {
            ReconcileError::api(format!(
                "listing the slash commands of team `{}`",
                team.name
            ))(source)
        }
    }

    /// Whether trying again later may succeed without anyone changing anything: Mattermost
    /// unreachable, timing out, answering 5xx or 429.
    pub fn is_transient(&self) -> bool {
        match self {
            ReconcileError::Api { source, .. } => {
                source.is_unreachable() || source.is_rate_limited()
            }
            _ => false,
        }
    }
}
