//! Actual state: what Mattermost holds, read with as few calls as possible, and who owns it.
//!
//! Per team, one `GET /api/v4/commands?team_id=…&custom_only=true`: the only listing that
//! returns tokens, so a second replica or a restart learns every token without creating
//! anything. (The endpoint is not paginated: Mattermost returns the whole list.)
//!
//! **Ownership.** Switchboard owns a command only if its bot user created it *and* its callback
//! URL is under `server.public_url`. Anything else — another integration, a human's command,
//! even one with our trigger — is foreign and is never changed or deleted.

use crate::config::Settings;
use crate::mattermost::models::{Command, Team};
use crate::mattermost::{Client, TeamId, UserId};

use super::error::ReconcileError;

/// A team, by id and URL name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    /// The team id.
    pub id: TeamId,
    /// The URL name (`main`).
    pub name: String,
}

impl From<&Team> for TeamRef {
    fn from(team: &Team) -> Self {
        TeamRef {
            id: team.id.clone(),
            name: team.name.clone(),
        }
    }
}

/// Who Switchboard is, for deciding what it owns.
#[derive(Debug, Clone)]
pub struct Owner {
    /// The bot user's id.
    pub bot_id: UserId,
    /// The bot's username, for messages.
    pub bot_username: String,
    /// `server.public_url` with exactly one trailing `/`, so `http://h:3000` does not claim
    /// `http://h:30001/…`.
    base: String,
}

impl Owner {
    /// The owner for `bot_id` serving at the settings' public URL.
    pub fn new(bot_id: UserId, bot_username: String, settings: &Settings) -> Self {
        let base = format!(
            "{}/",
            settings.server.public_url.as_str().trim_end_matches('/')
        );
        Owner {
            bot_id,
            bot_username,
            base,
        }
    }

    /// Whether Switchboard owns `command`: created by the bot, calling back under our base URL.
    pub fn owns(&self, command: &Command) -> bool {
        command.creator_id.as_ref() == Some(&self.bot_id) && self.is_ours(&command.url)
    }

    /// Whether `url` is under our public base URL.
    pub fn is_ours(&self, url: &str) -> bool {
        url.starts_with(&self.base)
    }
}

/// The live custom commands of one team.
#[derive(Debug, Clone)]
pub struct TeamCommands {
    /// The team.
    pub team: TeamRef,
    /// Its live custom commands (those the bot may see), in the order Mattermost listed them.
    pub commands: Vec<Command>,
}

impl TeamCommands {
    /// Commands we own.
    pub fn owned<'a>(&'a self, owner: &'a Owner) -> impl Iterator<Item = &'a Command> + 'a {
        self.commands.iter().filter(move |c| owner.owns(c))
    }

    /// Commands someone else owns.
    pub fn foreign<'a>(&'a self, owner: &'a Owner) -> impl Iterator<Item = &'a Command> + 'a {
        self.commands.iter().filter(move |c| !owner.owns(c))
    }
}

/// The teams to reconcile: those named in `mattermost.teams`, or every team the bot belongs
/// to for `*`.
pub(super) async fn resolve_teams(
    client: &Client,
    settings: &Settings,
) -> Result<Vec<TeamRef>, ReconcileError> {
    if settings.mattermost.all_teams() {
        let teams = client
            .teams()
            .for_user(None)
            .await
            .map_err(ReconcileError::api("listing the bot's teams"))?;
        let mut teams: Vec<TeamRef> = teams
            .iter()
            .filter(|t| t.delete_at == 0)
            .map(TeamRef::from)
            .collect();
        teams.sort_by(|a, b| a.name.cmp(&b.name));
        return Ok(teams);
    }
    if settings.mattermost.teams.is_empty() {
        return Err(ReconcileError::NoTeams);
    }
    let mut teams = Vec::with_capacity(settings.mattermost.teams.len());
    for name in &settings.mattermost.teams {
        let team = client.teams().by_name(name).await.map_err(|source| {
            if source.is_not_found() || source.is_forbidden() {
                ReconcileError::TeamNotFound {
                    team: name.clone(),
                    source,
                }
            } else {
                ReconcileError::api(format!("looking up team `{name}`"))(source)
            }
        })?;
        teams.push(TeamRef::from(&team));
    }
    Ok(teams)
}

/// Lists one team's live custom commands, with tokens.
pub(super) async fn list_commands(
    client: &Client,
    team: &TeamRef,
) -> Result<TeamCommands, ReconcileError> {
    let commands = client
        .commands()
        .list(&team.id, true)
        .await
        .map_err(|source| ReconcileError::listing(team, source))?;
    Ok(TeamCommands {
        team: team.clone(),
        commands: commands.into_iter().filter(|c| c.delete_at == 0).collect(),
    })
}
