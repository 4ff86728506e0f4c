//! The plan: for every command in every team, create, update (only the fields that differ),
//! delete, keep — or a conflict to report. Pure functions of desired and actual state, so the
//! same inputs always give the same plan, on every replica.
//!
//! Rules, per team:
//! - owned commands are matched to routes by callback URL; several owned commands for one
//!   route are duplicates (replicas that raced): the one with the lowest id survives, the
//!   others are deleted — every replica picks the same survivor without talking to the others;
//! - an owned command no route declares is deleted;
//! - a route whose trigger is held by a foreign command is a conflict: reported, never
//!   overwritten, and nothing is created for it.
//!
//! [`Plan`]'s `Display` is the readable diff `switchboard plan` prints.

use std::collections::HashSet;
use std::fmt;

use crate::mattermost::models::Command;

use super::actual::{Owner, TeamCommands, TeamRef};
use super::desired::{CommandFields, DesiredCommand, FieldChange};
use super::hooks::HookStep;

/// Why an owned command is deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteReason {
    /// No route declares it any more.
    Undeclared,
    /// Another owned command for the same route has a lower id and survives.
    Duplicate {
        /// The survivor's id.
        survivor: String,
    },
    /// `switchboard unregister`: everything Switchboard owns goes.
    Unregister,
}

/// One step of a team's plan.
// A plan holds a few steps per route, built once per run; boxing the commands would only add
// noise to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Register the route's command.
    Create {
        /// The route.
        route: String,
        /// What to register.
        fields: CommandFields,
    },
    /// Change the differing fields of an owned command.
    Update {
        /// The route.
        route: String,
        /// The command as Mattermost holds it.
        current: Command,
        /// What the route declares.
        fields: CommandFields,
        /// The fields that differ.
        changes: Vec<FieldChange>,
    },
    /// Nothing to do: the owned command matches the route.
    Keep {
        /// The route.
        route: String,
        /// The command as Mattermost holds it.
        current: Command,
    },
    /// Delete an owned command.
    Delete {
        /// The command as Mattermost holds it.
        current: Command,
        /// Why.
        reason: DeleteReason,
    },
    /// The route's trigger is taken by a command Switchboard does not own: left alone.
    Conflict {
        /// The route.
        route: String,
        /// What the route declares.
        fields: CommandFields,
        /// The foreign command holding the trigger.
        foreign: Command,
        /// Our own command for the route, if one exists under an older trigger (kept as is).
        current: Option<Command>,
        /// Whether our own bot created the foreign command: it calls another public URL (an
        /// earlier `public_url`, or another deployment sharing the bot).
        by_this_bot: bool,
    },
}

impl Step {
    /// Whether applying the step writes to Mattermost.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Step::Create { .. } | Step::Update { .. } | Step::Delete { .. }
        )
    }
}

/// The plan for one team.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamPlan {
    /// The team.
    pub team: TeamRef,
    /// Its steps: deletes first (they free triggers), then routes in name order.
    pub steps: Vec<Step>,
    /// Its outgoing-webhook steps, in the same order.
    pub hooks: Vec<HookStep>,
}

/// The plan for every team.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// One entry per team, in configuration order.
    pub teams: Vec<TeamPlan>,
}

/// How many steps of each kind a plan holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Commands to create.
    pub create: usize,
    /// Commands to update.
    pub update: usize,
    /// Commands to delete.
    pub delete: usize,
    /// Commands unchanged.
    pub keep: usize,
    /// Conflicts with foreign commands.
    pub conflict: usize,
}

impl Plan {
    /// Counts of each step kind.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for step in self.teams.iter().flat_map(|t| &t.steps) {
            match step {
                Step::Create { .. } => counts.create += 1,
                Step::Update { .. } => counts.update += 1,
                Step::Delete { .. } => counts.delete += 1,
                Step::Keep { .. } => counts.keep += 1,
                Step::Conflict { .. } => counts.conflict += 1,
            }
        }
        for step in self.teams.iter().flat_map(|t| &t.hooks) {
            match step {
                HookStep::Create { .. } => counts.create += 1,
                HookStep::Update { .. } => counts.update += 1,
                HookStep::Delete { .. } => counts.delete += 1,
                HookStep::Keep { .. } => counts.keep += 1,
                HookStep::Unplaceable { .. } | HookStep::Overlap { .. } => counts.conflict += 1,
            }
        }
        counts
    }

    /// Whether applying the plan would write anything.
    pub fn has_writes(&self) -> bool {
        self.teams.iter().flat_map(|t| &t.steps).any(Step::is_write)
            || self
                .teams
                .iter()
                .flat_map(|t| &t.hooks)
                .any(HookStep::is_write)
    }
}

/// Plans one team: `desired` against what `actual` holds. Owned commands calling one of
/// `protected` (routes served by handlers registered in code, which register their own
/// commands) are never deleted.
pub(super) fn plan_team(
    desired: &[DesiredCommand],
    actual: &TeamCommands,
    owner: &Owner,
    protected: &HashSet<String>,
) -> TeamPlan {
    let mut owned: Vec<&Command> = actual.owned(owner).collect();
    owned.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    let foreign: Vec<&Command> = actual.foreign(owner).collect();
    let declared: HashSet<&str> = desired.iter().map(|d| d.fields.url.as_str()).collect();

    let mut deletes = Vec::new();
    let mut steps = Vec::new();
    for command in owned
        .iter()
        .filter(|c| !declared.contains(c.url.as_str()) && !protected.contains(&c.url))
    {
        deletes.push(Step::Delete {
            current: (*command).clone(),
            reason: DeleteReason::Undeclared,
        });
    }
    let mut routes: Vec<&DesiredCommand> = desired.iter().collect();
    routes.sort_by(|a, b| a.route.cmp(&b.route));
    for wanted in routes {
        let mut mine = owned.iter().filter(|c| c.url == wanted.fields.url);
        let survivor = mine.next().copied();
        for duplicate in mine {
            deletes.push(Step::Delete {
                current: (*duplicate).clone(),
                reason: DeleteReason::Duplicate {
                    survivor: survivor.map(id_of).unwrap_or_default().to_owned(),
                },
            });
        }
        let clash = foreign
            .iter()
            .find(|c| c.trigger.eq_ignore_ascii_case(&wanted.fields.trigger));
        let by_this_bot = clash.is_some_and(|c| c.creator_id.as_ref() == Some(&owner.bot_id));
        let step = match (survivor, clash) {
            (Some(current), Some(foreign))
                if !current.trigger.eq_ignore_ascii_case(&wanted.fields.trigger) =>
            {
                Step::Conflict {
                    route: wanted.route.clone(),
                    fields: wanted.fields.clone(),
                    foreign: (*foreign).clone(),
                    current: Some(current.clone()),
                    by_this_bot,
                }
            }
            (Some(current), _) => {
                let changes = CommandFields::from_command(current).changes_to(&wanted.fields);
                if changes.is_empty() {
                    Step::Keep {
                        route: wanted.route.clone(),
                        current: current.clone(),
                    }
                } else {
                    Step::Update {
                        route: wanted.route.clone(),
                        current: current.clone(),
                        fields: wanted.fields.clone(),
                        changes,
                    }
                }
            }
            (None, Some(foreign)) => Step::Conflict {
                route: wanted.route.clone(),
                fields: wanted.fields.clone(),
                foreign: (*foreign).clone(),
                current: None,
                by_this_bot,
            },
            (None, None) => Step::Create {
                route: wanted.route.clone(),
                fields: wanted.fields.clone(),
            },
        };
        steps.push(step);
    }
    deletes.append(&mut steps);
    TeamPlan {
        team: actual.team.clone(),
        steps: deletes,
        hooks: Vec::new(),
    }
}

/// Plans the removal of everything Switchboard owns in a team.
pub(super) fn plan_unregister(actual: &TeamCommands, owner: &Owner) -> TeamPlan {
    let mut owned: Vec<&Command> = actual.owned(owner).collect();
    owned.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    TeamPlan {
        team: actual.team.clone(),
        steps: owned
            .into_iter()
            .map(|c| Step::Delete {
                current: c.clone(),
                reason: DeleteReason::Unregister,
            })
            .collect(),
        hooks: Vec::new(),
    }
}

/// The id of a listed command (always set in listings).
pub(crate) fn id_of(command: &Command) -> &str {
    command.id.as_ref().map_or("", |id| id.as_str())
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for team in &self.teams {
            writeln!(f, "team {}:", team.team.name)?;
            if team.steps.is_empty() && team.hooks.is_empty() {
                writeln!(f, "  (no commands)")?;
            }
            for step in &team.steps {
                write_step(f, step)?;
            }
            for step in &team.hooks {
                super::hooks::write_step(f, step)?;
            }
        }
        let c = self.counts();
        write!(
            f,
            "Plan: {} to create, {} to update, {} to delete, {} unchanged, {} conflict{}.",
            c.create,
            c.update,
            c.delete,
            c.keep,
            c.conflict,
            if c.conflict == 1 { "" } else { "s" }
        )?;
        if !self.has_writes() {
            write!(f, " Nothing to change.")?;
        }
        writeln!(f)
    }
}

fn write_step(f: &mut fmt::Formatter<'_>, step: &Step) -> fmt::Result {
    match step {
        Step::Create { route, fields } => {
            writeln!(f, "  + /{} (route {route})", fields.trigger)?;
            writeln!(f, "      url: {}", fields.url)?;
        }
        Step::Update {
            route,
            current,
            changes,
            ..
        } => {
            writeln!(
                f,
                "  ~ /{} (route {route}, id {})",
                current.trigger,
                id_of(current)
            )?;
            for change in changes {
                writeln!(f, "      {change}")?;
            }
        }
        Step::Keep { route, current } => {
            writeln!(
                f,
                "  = /{} (route {route}, id {})",
                current.trigger,
                id_of(current)
            )?;
        }
        Step::Delete { current, reason } => {
            let why = match reason {
                DeleteReason::Undeclared => "no route declares it".to_owned(),
                DeleteReason::Duplicate { survivor } => format!("duplicate of {survivor}"),
                DeleteReason::Unregister => "unregister".to_owned(),
            };
            writeln!(f, "  - /{} (id {}): {why}", current.trigger, id_of(current))?;
            writeln!(f, "      url: {}", current.url)?;
        }
        Step::Conflict {
            route,
            fields,
            foreign,
            by_this_bot,
            ..
        } => {
            let id = id_of(foreign);
            if *by_this_bot {
                writeln!(
                    f,
                    "  ! /{} (route {route}): trigger taken by command {id}, created by this bot \
                     but calling {}, not this public_url; left alone.",
                    fields.trigger, foreign.url
                )?;
                write_other_public_url_fix(f, &foreign.url, "/commands/")?;
            } else {
                writeln!(
                    f,
                    "  ! /{} (route {route}): trigger taken by command {id} of user {}, calling \
                     {}; left alone. Rename the route's trigger or remove that command.",
                    fields.trigger,
                    foreign.creator_id.as_ref().map_or("?", |id| id.as_str()),
                    foreign.url
                )?;
            }
        }
    }
    Ok(())
}

/// The fix for a command or hook the bot created for another public URL: `url` is its callback
/// URL, `segment` the path part Switchboard puts before a route name (`/commands/`), so what
/// precedes it is the public URL it was registered for.
///
/// Not adopted automatically: the other URL may be another live deployment sharing the bot
/// (staging and production), and taking its commands over would make the two fight.
pub(super) fn write_other_public_url_fix(
    f: &mut fmt::Formatter<'_>,
    url: &str,
    segment: &str,
) -> fmt::Result {
    match url.rfind(segment) {
        Some(end) => writeln!(
            f,
            "      If public_url was {old} before, remove what was registered for it with \
             `SWITCHBOARD_SERVER__PUBLIC_URL={old} switchboard unregister`, then register \
             again. If another deployment shares this bot at that URL, give one of them its \
             own bot.",
            old = &url[..end]
        ),
        None => writeln!(
            f,
            "      Remove it in Mattermost, or give this deployment its own bot."
        ),
    }
}
