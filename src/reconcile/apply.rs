//! Applying a plan: the write calls, in the order that frees triggers first (deletes, then
//! updates, then creates), and the settling pass that makes replicas converge.
//!
//! Failures of one route are not failures of the run: a 400 from Mattermost (the route's
//! fields fail its validation) is recorded and the other routes go ahead. Transient failures
//! (unreachable, 5xx, 429) stop the run so the caller can retry it with back-off; the plan is
//! recomputed from a fresh listing then, so nothing is done twice.

use crate::mattermost::models::Command;
use crate::mattermost::{Client, CommandId, Error as ApiError};

use super::actual::TeamRef;
use super::error::ReconcileError;
use super::plan::{Step, TeamPlan, id_of};

/// A route Mattermost refused in one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFailure {
    /// The route.
    pub route: String,
    /// The team's URL name.
    pub team: String,
    /// Mattermost's reason.
    pub message: String,
}

/// What applying one team's plan did.
#[derive(Debug, Default, Clone)]
pub(crate) struct Applied {
    /// Successful writes.
    pub(crate) writes: usize,
    /// Commands created.
    pub(crate) created: usize,
    /// Commands updated.
    pub(crate) updated: usize,
    /// Commands deleted (or already gone).
    pub(crate) deleted: usize,
    /// Whether a create was attempted, so the team must be listed again to settle duplicates.
    pub(crate) must_relist: bool,
    /// Routes Mattermost refused.
    pub(crate) failures: Vec<RouteFailure>,
}

/// Applies the write steps of `plan`. With `creates` false, only deletes and updates run
/// (the settling pass never creates: a route still missing after it failed once stays
/// reported, instead of looping).
pub(crate) async fn apply_team(
    client: &Client,
    plan: &TeamPlan,
    creates: bool,
) -> Result<Applied, ReconcileError> {
    let mut applied = Applied::default();
    let team = &plan.team;
    for step in &plan.steps {
        if let Step::Delete { current, .. } = step {
            delete(client, team, current, &mut applied).await?;
        }
    }
    for step in &plan.steps {
        if let Step::Update {
            route,
            current,
            fields,
            changes,
        } = step
        {
            let command = fields.apply_to(current);
            match client.commands().update(&command).await {
                Ok(_) => {
                    applied.writes += 1;
                    applied.updated += 1;
                    let fields: Vec<&str> = changes.iter().map(|c| c.field).collect();
                    tracing::info!(trigger = %command.trigger, team = %team.name, ?fields, "updated slash command");
                }
                Err(source) => {
                    route_failed(team, route, "updating", source, &mut applied)?;
                }
            }
        }
    }
    if !creates {
        return Ok(applied);
    }
    for step in &plan.steps {
        if let Step::Create { route, fields } = step {
            applied.must_relist = true;
            match client.commands().create(&fields.to_new_command(team)).await {
                Ok(_) => {
                    applied.writes += 1;
                    applied.created += 1;
                    tracing::info!(trigger = %fields.trigger, team = %team.name, route = %route, "registered slash command");
                }
                // Another replica registered it between our listing and our create; the
                // re-listing that follows finds its command and adopts it.
                Err(source)
                    if source.app_error_id() == Some("api.command.duplicate_trigger.app_error") =>
                {
                    tracing::debug!(trigger = %fields.trigger, team = %team.name, "trigger taken meanwhile; re-listing");
                }
                Err(source) => route_failed(team, route, "registering", source, &mut applied)?,
            }
        }
    }
    Ok(applied)
}

async fn delete(
    client: &Client,
    team: &TeamRef,
    command: &Command,
    applied: &mut Applied,
) -> Result<(), ReconcileError> {
    let id = CommandId::from(id_of(command).to_owned());
    match client.commands().delete(&id).await {
        Ok(()) => {
            applied.writes += 1;
            applied.deleted += 1;
            tracing::info!(trigger = %command.trigger, team = %team.name, id = %id_of(command), "deleted slash command");
            Ok(())
        }
        // Another replica deleted the same duplicate first.
        Err(source) if source.is_not_found() => {
            applied.deleted += 1;
            Ok(())
        }
        Err(source) => Err(ReconcileError::api(format!(
            "deleting /{} in team `{}`",
            command.trigger, team.name
        ))(source)),
    }
}

/// Records a 400 as the route's failure; anything else stops the run.
fn route_failed(
    team: &TeamRef,
    route: &str,
    doing: &str,
    source: ApiError,
    applied: &mut Applied,
) -> Result<(), ReconcileError> {
    if source.status() == Some(http::StatusCode::BAD_REQUEST) {
        let message = match &source {
            ApiError::Api { body, .. } => format!("{} ({})", body.message, body.id),
            other => other.to_string(),
        };
        tracing::error!(route = %route, team = %team.name, reason = %message, "Mattermost refused the route's slash command; the other routes are registered");
        applied.failures.push(RouteFailure {
            route: route.to_owned(),
            team: team.name.clone(),
            message,
        });
        return Ok(());
    }
    if source.is_forbidden() {
        return Err(ReconcileError::Forbidden {
            team: team.name.clone(),
            source,
        });
    }
    Err(ReconcileError::api(format!(
        "{doing} the command of route `{route}` in team `{}`",
        team.name
    ))(source))
}
