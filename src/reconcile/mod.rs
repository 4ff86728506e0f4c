//! Integration as code: Switchboard reconciles the slash commands its routes declare with what
//! Mattermost holds, safely beside other integrations and other Switchboard replicas.
//!
//! | module | holds |
//! |---|---|
//! | `desired` | the command each route wants, built from routes and settings |
//! | `actual` | teams, the custom-command listing (with tokens), and the ownership rule |
//! | `plan` | create / update / delete / keep / conflict, and the readable diff |
//! | `apply` | the writes, per-route failures, and the settling pass |
//! | `error` | [`ReconcileError`], worded for operators |
//! | `doctor` | `switchboard doctor`: checks of the setup, each with how to fix it |
//!
//! One run ([`Reconciler::register`]): who am I → teams → one listing per team → plan →
//! apply → if anything was created, list that team again and delete our own duplicates (lowest
//! id survives) → tokens of the surviving commands into the [`TokenStore`]. An unchanged
//! restart makes no write call. Outgoing webhooks are not reconciled yet.

mod actual;
mod apply;
mod desired;
pub mod doctor;
mod error;
mod plan;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::config::Settings;
use crate::integrations::RouteTable;
use crate::mattermost::Client;
use crate::tokens::{TeamTokens, TokenKind, TokenStore};

pub use actual::{Owner, TeamCommands, TeamRef};
pub use apply::RouteFailure;
pub use desired::{CommandFields, DesiredCommand, FieldChange, command_url, desired_commands};
pub use error::ReconcileError;
pub use plan::{Counts, DeleteReason, Plan, Step, TeamPlan};

/// What a reconciliation run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Teams reconciled.
    pub teams: usize,
    /// Commands created.
    pub created: usize,
    /// Commands updated.
    pub updated: usize,
    /// Commands deleted (undeclared, duplicates, or everything for `unregister`).
    pub deleted: usize,
    /// Commands found as declared.
    pub kept: usize,
    /// Successful write calls.
    pub writes: usize,
    /// Routes whose trigger a foreign command holds, as `/trigger in team`.
    pub conflicts: Vec<String>,
    /// Routes Mattermost refused.
    pub failures: Vec<RouteFailure>,
}

/// What Mattermost holds, as one run saw it.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Who Switchboard is.
    pub owner: Owner,
    /// Every reconciled team's commands.
    pub teams: Vec<TeamCommands>,
}

/// How the startup run treats Mattermost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply the plan (`serve`).
    Register,
    /// Only read tokens from the listing; write nothing (`serve --no-register`).
    ReadOnly,
}

/// Runs reconciliations; cheap to clone.
#[derive(Debug, Clone)]
pub struct Reconciler {
    client: Client,
    settings: Arc<Settings>,
    /// The live routes: a reload is reconciled with the set serving at that moment.
    routes: RouteTable,
    owner: Arc<tokio::sync::OnceCell<Owner>>,
    /// Routes served by handlers registered in code: they register their own commands, so
    /// the reconciler never deletes those.
    protected: Arc<std::sync::RwLock<HashSet<String>>>,
}

impl Reconciler {
    /// A reconciler for `routes` with `client`.
    pub fn new(client: Client, settings: Arc<Settings>, routes: RouteTable) -> Self {
        Reconciler {
            client,
            settings,
            routes,
            owner: Arc::default(),
            protected: Arc::default(),
        }
    }

    /// Leaves the commands of `route` alone: it is served by a handler registered in code,
    /// which registers its own command.
    pub fn leave_alone(&self, route: &str) {
        self.protected
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(route.to_owned());
    }

    /// Callback URLs of the routes left alone.
    fn protected_urls(&self) -> HashSet<String> {
        self.protected
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|route| command_url(&self.settings, route))
            .collect()
    }

    /// The bot user (asked once, then remembered).
    pub async fn owner(&self) -> Result<Owner, ReconcileError> {
        self.owner
            .get_or_try_init(|| async {
                let me = self
                    .client
                    .users()
                    .me()
                    .await
                    .map_err(ReconcileError::api("logging in (GET /users/me)"))?;
                Ok(Owner::new(me.id, me.username, &self.settings))
            })
            .await
            .cloned()
    }

    /// Reads the teams and each team's custom commands: one listing per team.
    pub async fn observe(&self) -> Result<Observed, ReconcileError> {
        let owner = self.owner().await?;
        let teams = actual::resolve_teams(&self.client, &self.settings).await?;
        let mut listed = Vec::with_capacity(teams.len());
        for team in &teams {
            listed.push(actual::list_commands(&self.client, team).await?);
        }
        Ok(Observed {
            owner,
            teams: listed,
        })
    }

    /// The plan for what `observed` holds.
    pub fn plan(&self, observed: &Observed) -> Plan {
        let desired = desired_commands(&self.settings, &self.routes.current());
        let protected = self.protected_urls();
        Plan {
            teams: observed
                .teams
                .iter()
                .map(|team| plan::plan_team(&desired, team, &observed.owner, &protected))
                .collect(),
        }
    }

    /// Reads Mattermost and returns the plan, changing nothing (`switchboard plan`).
    pub async fn dry_run(&self) -> Result<Plan, ReconcileError> {
        Ok(self.plan(&self.observe().await?))
    }

    /// One full run: plan, apply, settle duplicates, and put the surviving commands' tokens
    /// into `tokens`.
    pub async fn register(&self, tokens: &TokenStore) -> Result<Report, ReconcileError> {
        let observed = self.observe().await?;
        let plan = self.plan(&observed);
        let desired = desired_commands(&self.settings, &self.routes.current());
        let mut report = Report {
            teams: plan.teams.len(),
            ..Report::default()
        };
        for team_plan in &plan.teams {
            let applied = apply::apply_team(&self.client, team_plan, true).await?;
            add(&mut report, &applied);
            let final_plan = if applied.must_relist {
                // After creating, look again: replicas starting together may each have
                // created the command. Every replica computes the same survivor (lowest id).
                let listed = actual::list_commands(&self.client, &team_plan.team).await?;
                let settle =
                    plan::plan_team(&desired, &listed, &observed.owner, &self.protected_urls());
                let settled = apply::apply_team(&self.client, &settle, false).await?;
                report.writes += settled.writes;
                report.deleted += settled.deleted;
                report.updated += settled.updated;
                report.failures.extend(settled.failures);
                // A route still without a command was refused for a reason the settling pass
                // cannot see in the listing: its trigger belongs to a built-in or a plugin.
                for step in &settle.steps {
                    if let Step::Create { route, fields } = step {
                        if !applied.failures.iter().any(|f| &f.route == route) {
                            report.failures.push(RouteFailure {
                                route: route.clone(),
                                team: team_plan.team.name.clone(),
                                message: format!(
                                    "Mattermost says the trigger /{} is already in use, but no custom command holds it: a built-in or plugin command has it; choose another trigger",
                                    fields.trigger
                                ),
                            });
                        }
                    }
                }
                settle
            } else {
                team_plan.clone()
            };
            report.kept += count_kept(team_plan);
            report.conflicts.extend(conflicts(&final_plan));
            tokens.replace_team(
                TokenKind::Command,
                team_plan.team.id.as_str(),
                plan_tokens(&final_plan),
            );
        }
        Ok(report)
    }

    /// Reads tokens from the listing without writing anything (`serve --no-register`).
    pub async fn load_tokens(&self, tokens: &TokenStore) -> Result<Report, ReconcileError> {
        let observed = self.observe().await?;
        let plan = self.plan(&observed);
        let counts = plan.counts();
        if plan.has_writes() {
            tracing::warn!(
                create = counts.create,
                update = counts.update,
                delete = counts.delete,
                "registration is off (--no-register) and Mattermost differs from the routes; run `switchboard plan` to see how"
            );
        }
        for team_plan in &plan.teams {
            tokens.replace_team(
                TokenKind::Command,
                team_plan.team.id.as_str(),
                plan_tokens(team_plan),
            );
        }
        Ok(Report {
            teams: plan.teams.len(),
            kept: counts.keep,
            conflicts: plan.teams.iter().flat_map(conflicts).collect(),
            ..Report::default()
        })
    }

    /// Deletes every command Switchboard owns in the configured teams
    /// (`switchboard unregister`).
    pub async fn unregister(&self) -> Result<Report, ReconcileError> {
        let observed = self.observe().await?;
        let mut report = Report {
            teams: observed.teams.len(),
            ..Report::default()
        };
        for team in &observed.teams {
            let team_plan = plan::plan_unregister(team, &observed.owner);
            let applied = apply::apply_team(&self.client, &team_plan, false).await?;
            add(&mut report, &applied);
        }
        Ok(report)
    }

    /// The current tokens of our commands in one team, from a fresh listing (no writes): what
    /// a token refresh reads.
    pub async fn team_tokens(&self, team_id: &str) -> Result<TeamTokens, ReconcileError> {
        let owner = self.owner().await?;
        let team = TeamRef {
            id: team_id.to_owned().into(),
            name: team_id.to_owned(),
        };
        let listed = actual::list_commands(&self.client, &team).await?;
        let desired = desired_commands(&self.settings, &self.routes.current());
        let protected = self.protected_urls();
        Ok(
            plan_tokens(&plan::plan_team(&desired, &listed, &owner, &protected))
                .into_iter()
                .map(|(route, token)| (TokenKind::Command, route, token))
                .collect(),
        )
    }

    /// Runs until one run succeeds, waiting with jittered exponential back-off (capped at
    /// 30 s) between attempts. Transient failures are logged as warnings; others (a missing
    /// permission, a disabled feature) as errors with their fix, and retried too, so granting
    /// the permission is enough — no restart needed.
    pub async fn run_until_done(&self, tokens: &TokenStore, mode: Mode) -> Report {
        let mut delay = Duration::from_millis(100);
        loop {
            let result = match mode {
                Mode::Register => self.register(tokens).await,
                Mode::ReadOnly => self.load_tokens(tokens).await,
            };
            match result {
                Ok(report) => return report,
                Err(error) => {
                    let wait = delay.mul_f64(rand::thread_rng().gen_range(0.5..1.0));
                    let cause = std::error::Error::source(&error).map(ToString::to_string);
                    let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    if error.is_transient() {
                        tracing::warn!(error = %error, cause = ?cause, retry_in_ms, "registration failed; retrying");
                    } else {
                        tracing::error!(error = %error, cause = ?cause, retry_in_ms, "registration failed; retrying");
                    }
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// Installs, into `tokens`, a refresher that re-reads one team's tokens.
    pub fn install_refresher(&self, tokens: &TokenStore) {
        let reconciler = self.clone();
        tokens.set_refresher(move |team_id: String| {
            let reconciler = reconciler.clone();
            Box::pin(async move {
                reconciler
                    .team_tokens(&team_id)
                    .await
                    .map_err(|e| e.to_string())
            })
        });
    }
}

fn add(report: &mut Report, applied: &apply::Applied) {
    report.writes += applied.writes;
    report.created += applied.created;
    report.updated += applied.updated;
    report.deleted += applied.deleted;
    report.failures.extend(applied.failures.iter().cloned());
}

fn count_kept(plan: &TeamPlan) -> usize {
    plan.steps
        .iter()
        .filter(|s| matches!(s, Step::Keep { .. }))
        .count()
}

fn conflicts(plan: &TeamPlan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::Conflict { fields, .. } => {
                Some(format!("/{} in team `{}`", fields.trigger, plan.team.name))
            }
            _ => None,
        })
        .collect()
}

/// (route, token) of every route that has a surviving command in the plan's team.
fn plan_tokens(plan: &TeamPlan) -> Vec<(String, String)> {
    plan.steps
        .iter()
        .filter_map(|step| match step {
            Step::Keep { route, current }
            | Step::Update { route, current, .. }
            | Step::Conflict {
                route,
                current: Some(current),
                ..
            } => Some((route.clone(), current.token.clone())),
            _ => None,
        })
        .filter(|(_, token)| !token.is_empty())
        .collect()
}
