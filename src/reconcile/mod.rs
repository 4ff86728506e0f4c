//! Registers the routes' slash commands in Mattermost, idempotently.
//!
//! For each configured team: list the team's custom commands (the only listing that returns
//! tokens), keep a command that already points at our callback URL, create the ones that are
//! missing, and remember every token. A restart with nothing changed makes no write call.

use std::time::Duration;

use rand::Rng;

use crate::config::Settings;
use crate::integrations::{Route, RouteSet};
use crate::mattermost::models::{Command, CommandMethod, Team};
use crate::mattermost::{Client, Error as ApiError};
use crate::tokens::TokenStore;

/// What one registration run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Commands created.
    pub created: usize,
    /// Commands found already registered.
    pub kept: usize,
    /// Teams registered in.
    pub teams: usize,
}

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// A call to Mattermost failed.
    #[error("{action}: {source}")]
    Api {
        /// What we were doing.
        action: String,
        /// The client error.
        #[source]
        source: ApiError,
    },
    /// No team to register in.
    #[error("no teams to register in: set mattermost.teams (SWITCHBOARD_MATTERMOST__TEAMS)")]
    NoTeams,
}

impl ReconcileError {
    fn api(action: impl Into<String>) -> impl FnOnce(ApiError) -> ReconcileError {
        let action = action.into();
        move |source| ReconcileError::Api { action, source }
    }
}

/// The callback URL of a route's command.
pub fn command_url(settings: &Settings, route: &Route) -> String {
    settings
        .server
        .public_url_for(&format!("/commands/{}", route.name))
}

/// The command Mattermost should hold for `route` in `team`.
fn desired_command(settings: &Settings, route: &Route, team: &Team) -> Command {
    let spec = &route.command;
    let mut command = Command::new(team.id.clone(), &spec.trigger, command_url(settings, route));
    command.method = CommandMethod::Post;
    command.display_name = spec.display_name.clone();
    command.description = spec.description.clone();
    command.auto_complete = spec.autocomplete;
    command.auto_complete_desc = spec.description.clone();
    command.auto_complete_hint = spec.hint.clone();
    command
}

/// Resolves the configured team names (or every team of the bot, for `*`).
async fn resolve_teams(client: &Client, settings: &Settings) -> Result<Vec<Team>, ReconcileError> {
    if settings.mattermost.all_teams() {
        return client
            .teams()
            .for_user(None)
            .await
            .map_err(ReconcileError::api("listing the bot's teams"));
    }
    if settings.mattermost.teams.is_empty() {
        return Err(ReconcileError::NoTeams);
    }
    let mut teams = Vec::with_capacity(settings.mattermost.teams.len());
    for name in &settings.mattermost.teams {
        let team = client
            .teams()
            .by_name(name)
            .await
            .map_err(ReconcileError::api(format!("looking up team `{name}`")))?;
        teams.push(team);
    }
    Ok(teams)
}

/// One registration run.
pub async fn register(
    client: &Client,
    settings: &Settings,
    routes: &RouteSet,
    tokens: &TokenStore,
) -> Result<Report, ReconcileError> {
    let me = client
        .users()
        .me()
        .await
        .map_err(ReconcileError::api("logging in (GET /users/me)"))?;
    let teams = resolve_teams(client, settings).await?;
    let mut report = Report {
        teams: teams.len(),
        ..Report::default()
    };
    for team in &teams {
        let existing =
            client
                .commands()
                .list(&team.id, true)
                .await
                .map_err(ReconcileError::api(format!(
                    "listing commands of team `{}`",
                    team.name
                )))?;
        for route in routes.iter() {
            let url = command_url(settings, route);
            let found = existing.iter().find(|c| {
                c.delete_at == 0
                    && c.trigger == route.command.trigger
                    && c.url == url
                    && c.creator_id.as_ref().is_none_or(|id| *id == me.id)
            });
            let token = match found {
                Some(command) => {
                    report.kept += 1;
                    command.token.clone()
                }
                None => {
                    let created = client
                        .commands()
                        .create(&desired_command(settings, route, team))
                        .await
                        .map_err(ReconcileError::api(format!(
                            "creating /{} in team `{}`",
                            route.command.trigger, team.name
                        )))?;
                    tracing::info!(trigger = %route.command.trigger, team = %team.name, "registered slash command");
                    report.created += 1;
                    created.token
                }
            };
            tokens.insert(&route.name, team.id.as_str(), &token);
        }
    }
    Ok(report)
}

/// Registers until it succeeds, waiting with jittered exponential back-off (capped at 30 s)
/// between attempts. Each failure is logged once with its cause.
pub async fn register_until_done(
    client: &Client,
    settings: &Settings,
    routes: &RouteSet,
    tokens: &TokenStore,
) -> Report {
    let mut delay = Duration::from_millis(200);
    loop {
        let outcome = register(client, settings, routes, tokens).await;
        crate::metrics::registration(outcome.is_ok());
        match outcome {
            Ok(report) => return report,
            Err(error) => {
                let wait = delay.mul_f64(rand::thread_rng().gen_range(0.5..1.0));
                tracing::warn!(error = %crate::telemetry::error_chain(&error), retry_in_ms = wait.as_millis() as u64, "registration failed; retrying");
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}
