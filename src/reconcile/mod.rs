//! Integration as code: Switchboard reconciles the slash commands its routes declare with what
//! Mattermost holds, safely beside other integrations and other Switchboard replicas.
//!
//! | module | holds |
//! |---|---|
//! | `desired` | the command each route wants, built from routes and settings |
//! | `actual` | teams, the custom-command listing (with tokens), and the ownership rule |
//! | `plan` | create / update / delete / keep / conflict, and the readable diff |
//! | `apply` | the writes, per-route failures, and the settling pass |
//! | `hooks` | the same four stages for outgoing webhooks |
//! | `error` | [`ReconcileError`], worded for operators |
//! | `doctor` | `switchboard doctor`: checks of the setup, each with how to fix it |
//!
//! One run ([`Reconciler::register`]): who am I → teams → one listing per team → plan →
//! apply → if anything was created, list that team again and delete our own duplicates (lowest
//! id survives) → tokens of the surviving commands into the [`TokenStore`]. An unchanged
//! restart makes no write call. Outgoing webhooks follow the same steps with their own
//! listing (one per team, paginated), right after the team's commands.

mod actual;
mod apply;
mod desired;
pub mod doctor;
mod error;
mod hooks;
mod plan;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;

use crate::config::Settings;
use crate::integrations::RouteTable;
use crate::mattermost::Client;
use crate::tokens::{TeamTokens, TokenKind, TokenStore};

pub use actual::{Owner, TeamCommands, TeamRef};
pub use apply::RouteFailure;
pub use desired::{CommandFields, DesiredCommand, FieldChange, command_url, desired_commands};
pub use error::ReconcileError;
pub use hooks::{HookFields, HookStep, hook_url};
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
    /// Commands and outgoing webhooks deleted (undeclared, duplicates, or everything for
    /// `unregister`).
    pub deleted: usize,
    /// Of `deleted`, the outgoing webhooks.
    pub deleted_hooks: usize,
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
    /// Every reconciled team's hooks, wanted and listed (same order as `teams`).
    hooks: Vec<TeamHooks>,
}

/// One team's hooks: what the routes want there, and what Mattermost lists (`None` when the
/// listing was refused and no route needs hooks).
#[derive(Debug, Clone)]
struct TeamHooks {
    desired: hooks::DesiredHooks,
    actual: Option<Vec<crate::mattermost::models::OutgoingWebhook>>,
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
            .flat_map(|route| {
                [
                    command_url(&self.settings, route),
                    hook_url(&self.settings, route),
                ]
            })
            .collect()
    }

    /// The hooks the routes want in `team`, and the team's listed hooks.
    async fn observe_hooks(&self, team: &TeamRef) -> Result<TeamHooks, ReconcileError> {
        let routes = self.routes.current();
        let needed = routes.hooks().next().is_some();
        let desired = if needed {
            hooks::desired_hooks(&self.client, &self.settings, &routes, team).await?
        } else {
            Vec::new()
        };
        let actual = hooks::list_hooks(&self.client, team, needed).await?;
        Ok(TeamHooks { desired, actual })
    }

    fn plan_hooks(&self, team: &TeamHooks, owner: &Owner) -> Vec<HookStep> {
        match &team.actual {
            Some(actual) => hooks::plan_hooks(
                &team.desired,
                actual,
                owner,
                &self.protected_urls(),
                &self.settings,
            ),
            None => Vec::new(),
        }
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
        let mut hooks = Vec::with_capacity(teams.len());
        for team in &teams {
            listed.push(actual::list_commands(&self.client, team).await?);
            hooks.push(self.observe_hooks(team).await?);
        }
        Ok(Observed {
            owner,
            teams: listed,
            hooks,
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
                .zip(&observed.hooks)
                .map(|(team, hooks)| {
                    let mut team_plan =
                        plan::plan_team(&desired, team, &observed.owner, &protected);
                    team_plan.hooks = self.plan_hooks(hooks, &observed.owner);
                    team_plan
                })
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
        for (team_plan, team_hooks) in plan.teams.iter().zip(&observed.hooks) {
            self.register_hooks(team_plan, team_hooks, &observed.owner, tokens, &mut report)
                .await?;
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
            report.conflicts.extend(conflicts(&TeamPlan {
                hooks: team_plan.hooks.clone(),
                ..final_plan.clone()
            }));
            tokens.replace_team(
                TokenKind::Command,
                team_plan.team.id.as_str(),
                plan_tokens(&final_plan),
            );
        }
        Ok(report)
    }

    /// Applies one team's hook steps, settles duplicates after creating, and records the
    /// surviving hooks' tokens.
    async fn register_hooks(
        &self,
        team_plan: &TeamPlan,
        team_hooks: &TeamHooks,
        owner: &Owner,
        tokens: &TokenStore,
        report: &mut Report,
    ) -> Result<(), ReconcileError> {
        let team = &team_plan.team;
        let applied = hooks::apply_hooks(&self.client, team, &team_plan.hooks, true).await?;
        report.writes += applied.writes;
        report.created += applied.created;
        report.updated += applied.updated;
        report.deleted += applied.deleted;
        report.deleted_hooks += applied.deleted;
        report.failures.extend(applied.failures);
        report.kept += team_plan
            .hooks
            .iter()
            .filter(|s| matches!(s, HookStep::Keep { .. }))
            .count();
        let created = team_plan
            .hooks
            .iter()
            .any(|s| matches!(s, HookStep::Create { .. }));
        let final_steps = if created {
            let relisted = TeamHooks {
                desired: team_hooks.desired.clone(),
                actual: hooks::list_hooks(&self.client, team, true).await?,
            };
            let settle = self.plan_hooks(&relisted, owner);
            let settled = hooks::apply_hooks(&self.client, team, &settle, false).await?;
            report.writes += settled.writes;
            report.deleted += settled.deleted;
            report.deleted_hooks += settled.deleted;
            report.updated += settled.updated;
            for step in &settle {
                if let HookStep::Create { route, .. } = step {
                    if !report
                        .failures
                        .iter()
                        .any(|f| &f.route == route && f.team == team.name)
                    {
                        report.failures.push(RouteFailure {
                            route: route.clone(),
                            team: team.name.clone(),
                            message: "Mattermost refused the outgoing webhook as overlapping one \
                                      it already has (same channel, callback URL and trigger word)"
                                .to_owned(),
                        });
                    }
                }
            }
            settle
        } else {
            team_plan.hooks.clone()
        };
        if team_hooks.actual.is_some() {
            tokens.replace_team(
                TokenKind::Hook,
                team.id.as_str(),
                hooks::hook_tokens(&final_steps),
            );
        }
        Ok(())
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
            tokens.replace_team(
                TokenKind::Hook,
                team_plan.team.id.as_str(),
                hooks::hook_tokens(&team_plan.hooks),
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
        for (team, team_hooks) in observed.teams.iter().zip(&observed.hooks) {
            let team_plan = plan::plan_unregister(team, &observed.owner);
            let applied = apply::apply_team(&self.client, &team_plan, false).await?;
            add(&mut report, &applied);
            // With nothing desired, every owned hook is planned for deletion.
            let everything = TeamHooks {
                desired: Vec::new(),
                actual: team_hooks.actual.clone(),
            };
            let steps = self.plan_hooks(&everything, &observed.owner);
            let applied = hooks::apply_hooks(&self.client, &team.team, &steps, false).await?;
            report.writes += applied.writes;
            report.deleted += applied.deleted;
            report.deleted_hooks += applied.deleted;
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
        let mut tokens: TeamTokens =
            plan_tokens(&plan::plan_team(&desired, &listed, &owner, &protected))
                .into_iter()
                .map(|(route, token)| (TokenKind::Command, route, token))
                .collect();
        let team_hooks = self.observe_hooks(&team).await?;
        tokens.extend(
            hooks::hook_tokens(&self.plan_hooks(&team_hooks, &owner))
                .into_iter()
                .map(|(route, token)| (TokenKind::Hook, route, token)),
        );
        Ok(tokens)
    }

    /// Runs until one run succeeds, waiting with jittered exponential back-off (capped at
    /// 30 s) between attempts. Transient failures are logged as warnings; others (a missing
    /// permission, a disabled feature) as errors with their fix, and retried too, so granting
    /// the permission is enough — no restart needed.
    ///
    /// With no route at all, nothing is written (as [`Mode::ReadOnly`]): registering none
    /// would delete every command and webhook Switchboard registered, and a server started on
    /// an empty or missing routes directory (a wrong `[routes] dir`, a volume not mounted yet)
    /// must not do that to the replicas that have their routes. `switchboard unregister` does
    /// it on purpose.
    pub async fn run_until_done(&self, tokens: &TokenStore, mode: Mode) -> Report {
        let mode = if mode == Mode::Register && self.routes.current().is_empty() {
            tracing::warn!(
                "no route to register: nothing written to Mattermost (registering none would \
                 delete every command and outgoing webhook Switchboard registered; \
                 `switchboard unregister` does that on purpose)"
            );
            Mode::ReadOnly
        } else {
            mode
        };
        let mut delay = Duration::from_millis(100);
        loop {
            let result = match mode {
                Mode::Register => self.register(tokens).await,
                Mode::ReadOnly => self.load_tokens(tokens).await,
            };
            crate::metrics::registration(result.is_ok());
            match result {
                Ok(report) => return report,
                Err(error) => {
                    let wait = delay.mul_f64(rand::rng().random_range(0.5..1.0));
                    let cause = new_causes(&error);
                    // `None` leaves the field out of the line.
                    let cause = cause.as_deref();
                    let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    if error.is_transient() {
                        tracing::warn!(error = %error, cause, retry_in_ms, "registration failed; retrying");
                    } else {
                        tracing::error!(error = %error, cause, retry_in_ms, "registration failed; retrying");
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

/// The causes of `error` its own message does not already say, joined with `: `; `None`
/// when the message says them all (most of ours end with their source's text).
fn new_causes(error: &ReconcileError) -> Option<String> {
    let said = error.to_string();
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !said.contains(&text) && !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    (!causes.is_empty()).then(|| causes.join(": "))
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

/// The conflicts of a team's plan, one line each: taken command triggers, then hooks another
/// hook overlaps (the plan's diff says what to do about each).
fn conflicts(plan: &TeamPlan) -> Vec<String> {
    let commands = plan.steps.iter().filter_map(|s| match s {
        Step::Conflict { fields, .. } => {
            Some(format!("/{} in team `{}`", fields.trigger, plan.team.name))
        }
        _ => None,
    });
    let hooks = plan.hooks.iter().filter_map(|s| match s {
        HookStep::Overlap { route, .. } => Some(format!(
            "the outgoing webhook of route `{route}` in team `{}`",
            plan.team.name
        )),
        _ => None,
    });
    commands.chain(hooks).collect()
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
