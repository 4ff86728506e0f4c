//! Outgoing webhooks: the same four stages as commands — desired, actual, plan, apply — for
//! the routes that declare a `[hook]`.
//!
//! A route's hook is identified by its callback URL (`<public_url>/hooks/<route>`); ownership
//! is the bot as creator and a callback URL under the public URL. `trigger_when`
//! `first_word`/`starts_with` map to Mattermost's 0/1; `anywhere` is registered with no trigger
//! words on its channel (Mattermost then sends every message there) and Switchboard filters.
//! A route whose `channel` does not exist in a team is reported for that team.
//!
//! When no route declares a hook, a listing refused with 403 or 501 (no permission, hooks
//! disabled) is not an error: there is nothing to register, only owned leftovers go unseen.

use std::collections::HashSet;
use std::fmt;

use futures::TryStreamExt;

use crate::config::Settings;
use crate::integrations::{HookSpec, RouteSet, TriggerWhen};
use crate::mattermost::models::OutgoingWebhook;
use crate::mattermost::{ChannelId, Client, HookId};

use super::actual::{Owner, TeamRef};
use super::apply::RouteFailure;
use super::desired::FieldChange;
use super::error::ReconcileError;

/// The callback URL of a route's hook.
pub fn hook_url(settings: &Settings, route_name: &str) -> String {
    settings
        .server
        .public_url_for(&format!("/hooks/{route_name}"))
}

/// The user-settable fields of an outgoing webhook, as Switchboard compares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookFields {
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Trigger words (empty: every message of `channel_id`).
    pub trigger_words: Vec<String>,
    /// 0: first word equals; 1: first word starts with.
    pub trigger_when: u8,
    /// The channel, or `None` for the whole team.
    pub channel_id: Option<String>,
    /// `application/json` or `application/x-www-form-urlencoded`.
    pub content_type: String,
    /// Callback URLs.
    pub callback_urls: Vec<String>,
    /// Username override of response posts.
    pub username: String,
    /// Icon override of response posts.
    pub icon_url: String,
}

impl HookFields {
    fn from_spec(
        settings: &Settings,
        route: &str,
        spec: &HookSpec,
        channel_id: Option<String>,
    ) -> Self {
        let anywhere = spec.trigger_when == TriggerWhen::Anywhere;
        HookFields {
            display_name: if spec.display_name.is_empty() {
                route.to_owned()
            } else {
                spec.display_name.clone()
            },
            description: spec.description.clone(),
            trigger_words: if anywhere && channel_id.is_some() {
                Vec::new()
            } else {
                spec.trigger_words.clone()
            },
            trigger_when: spec.trigger_when.mattermost_value(),
            channel_id,
            content_type: spec.content_type.as_str().to_owned(),
            callback_urls: vec![hook_url(settings, route)],
            username: spec.username.clone(),
            icon_url: spec.icon_url.clone(),
        }
    }

    fn from_hook(hook: &OutgoingWebhook) -> Self {
        HookFields {
            display_name: hook.display_name.clone(),
            description: hook.description.clone().unwrap_or_default(),
            trigger_words: hook.trigger_words.clone(),
            trigger_when: hook.trigger_when,
            channel_id: hook
                .channel_id
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .filter(|c| !c.is_empty()),
            content_type: hook.content_type.clone().unwrap_or_default(),
            callback_urls: hook.callback_urls.clone(),
            username: hook.username.clone().unwrap_or_default(),
            icon_url: hook.icon_url.clone().unwrap_or_default(),
        }
    }

    fn changes_to(&self, wanted: &HookFields) -> Vec<FieldChange> {
        let mut changes = Vec::new();
        let mut diff = |field: &'static str, old: String, new: String| {
            if old != new {
                changes.push(FieldChange { field, old, new });
            }
        };
        diff(
            "display_name",
            self.display_name.clone(),
            wanted.display_name.clone(),
        );
        diff(
            "description",
            self.description.clone(),
            wanted.description.clone(),
        );
        diff(
            "trigger_words",
            self.trigger_words.join(","),
            wanted.trigger_words.join(","),
        );
        diff(
            "trigger_when",
            self.trigger_when.to_string(),
            wanted.trigger_when.to_string(),
        );
        diff(
            "channel_id",
            self.channel_id.clone().unwrap_or_default(),
            wanted.channel_id.clone().unwrap_or_default(),
        );
        diff(
            "content_type",
            self.content_type.clone(),
            wanted.content_type.clone(),
        );
        diff(
            "callback_urls",
            self.callback_urls.join(","),
            wanted.callback_urls.join(","),
        );
        diff("username", self.username.clone(), wanted.username.clone());
        diff("icon_url", self.icon_url.clone(), wanted.icon_url.clone());
        changes
    }

    /// `base` with these fields written over it; everything else is kept.
    fn apply_to(&self, base: &OutgoingWebhook) -> OutgoingWebhook {
        let mut hook = base.clone();
        hook.display_name.clone_from(&self.display_name);
        hook.description = Some(self.description.clone());
        hook.trigger_words.clone_from(&self.trigger_words);
        hook.trigger_when = self.trigger_when;
        hook.channel_id = self.channel_id.clone().map(ChannelId::from);
        hook.content_type = Some(self.content_type.clone());
        hook.callback_urls.clone_from(&self.callback_urls);
        hook.username = Some(self.username.clone());
        hook.icon_url = Some(self.icon_url.clone());
        hook
    }

    fn to_new_hook(&self, team: &TeamRef) -> OutgoingWebhook {
        self.apply_to(&OutgoingWebhook::new(
            team.id.clone(),
            self.display_name.clone(),
            Vec::new(),
            Vec::new(),
        ))
    }
}

/// One step of a team's hook plan.
// A few steps per route, built once per run; boxing would only add noise to every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum HookStep {
    /// Register the route's hook.
    Create {
        /// The route.
        route: String,
        /// What to register.
        fields: HookFields,
    },
    /// Change the differing fields of an owned hook.
    Update {
        /// The route.
        route: String,
        /// The hook as Mattermost holds it.
        current: OutgoingWebhook,
        /// What the route declares.
        fields: HookFields,
        /// The fields that differ.
        changes: Vec<FieldChange>,
    },
    /// The owned hook matches the route.
    Keep {
        /// The route.
        route: String,
        /// The hook as Mattermost holds it.
        current: OutgoingWebhook,
    },
    /// Delete an owned hook no route declares, or a duplicate.
    Delete {
        /// The hook as Mattermost holds it.
        current: OutgoingWebhook,
        /// Why.
        reason: String,
    },
    /// Another hook, not ours, fires on the same messages as the route's: a shared trigger
    /// word in an overlapping channel (the same one, or either team-wide). Every such message
    /// is answered twice. Reported and left alone, like a taken slash-command trigger.
    Overlap {
        /// The route.
        route: String,
        /// The other hook.
        other: OutgoingWebhook,
        /// The trigger words both have (empty: one of them fires on every message).
        words: Vec<String>,
        /// Whether our own bot created it: it calls another public URL (an earlier
        /// `public_url`, or another deployment sharing the bot).
        by_this_bot: bool,
    },
    /// The route cannot have a hook in this team.
    Unplaceable {
        /// The route.
        route: String,
        /// Why.
        reason: String,
    },
}

impl HookStep {
    /// Whether applying the step writes to Mattermost.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            HookStep::Create { .. } | HookStep::Update { .. } | HookStep::Delete { .. }
        )
    }
}

/// What a route wants in one team: the fields, or why it cannot be placed there.
pub(super) type DesiredHooks = Vec<(String, Result<HookFields, String>)>;

/// The hooks the routes want in `team`; channels are looked up by name.
pub(super) async fn desired_hooks(
    client: &Client,
    settings: &Settings,
    routes: &RouteSet,
    team: &TeamRef,
) -> Result<DesiredHooks, ReconcileError> {
    let mut desired = Vec::new();
    for (route, spec) in routes.hooks() {
        let channel_id = match &spec.channel {
            None => Ok(None),
            Some(name) => match client.channels().by_name(&team.id, name).await {
                Ok(channel) => Ok(Some(channel.id.as_str().to_owned())),
                Err(e) if e.is_not_found() || e.is_forbidden() => Err(format!(
                    "channel `{name}` does not exist in team `{}` (or the bot cannot see it)",
                    team.name
                )),
                Err(e) => {
                    return Err(ReconcileError::api(format!(
                        "looking up channel `{name}` in team `{}`",
                        team.name
                    ))(e));
                }
            },
        };
        desired.push((
            route.name.clone(),
            channel_id.map(|id| HookFields::from_spec(settings, &route.name, spec, id)),
        ));
    }
    desired.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(desired)
}

/// The team's outgoing webhooks, every page; `None` when the listing is refused (403/501)
/// and no route needs hooks.
pub(super) async fn list_hooks(
    client: &Client,
    team: &TeamRef,
    needed: bool,
) -> Result<Option<Vec<OutgoingWebhook>>, ReconcileError> {
    match client
        .hooks()
        .list_outgoing(&team.id, None)
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(hooks) => Ok(Some(
            hooks.into_iter().filter(|h| h.delete_at == 0).collect(),
        )),
        Err(e)
            if !needed
                && (e.is_forbidden() || e.status() == Some(http::StatusCode::NOT_IMPLEMENTED)) =>
        {
            tracing::debug!(team = %team.name, error = %e, "outgoing webhooks not listed; no route declares one");
            Ok(None)
        }
        Err(e) if e.is_forbidden() => Err(ReconcileError::HookForbidden {
            team: team.name.clone(),
            source: e,
        }),
        Err(e) if e.status() == Some(http::StatusCode::NOT_IMPLEMENTED) => {
            Err(ReconcileError::HooksDisabled { source: e })
        }
        Err(e) => Err(ReconcileError::api(format!(
            "listing the outgoing webhooks of team `{}`",
            team.name
        ))(e)),
    }
}

fn owns(owner: &Owner, hook: &OutgoingWebhook) -> bool {
    hook.creator_id.as_deref() == Some(owner.bot_id.as_str())
        && hook.callback_urls.iter().any(|u| owner.is_ours(u))
}

fn id_of(hook: &OutgoingWebhook) -> &str {
    hook.id.as_ref().map_or("", HookId::as_str)
}

/// The trigger words on which `ours` and `other` both fire, when their channels overlap;
/// `None` when they never fire on the same message. An empty word list (an `anywhere` hook on
/// its channel) fires on every message there.
fn shared_words(ours: &HookFields, other: &OutgoingWebhook) -> Option<Vec<String>> {
    let other = HookFields::from_hook(other);
    let channels_overlap = match (&ours.channel_id, &other.channel_id) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    if !channels_overlap {
        return None;
    }
    if ours.trigger_words.is_empty() || other.trigger_words.is_empty() {
        return Some(Vec::new());
    }
    let words: Vec<String> = ours
        .trigger_words
        .iter()
        .filter(|w| {
            other
                .trigger_words
                .iter()
                .any(|o| o.eq_ignore_ascii_case(w))
        })
        .cloned()
        .collect();
    (!words.is_empty()).then_some(words)
}

/// Plans one team's hooks.
pub(super) fn plan_hooks(
    desired: &DesiredHooks,
    actual: &[OutgoingWebhook],
    owner: &Owner,
    protected: &HashSet<String>,
    settings: &Settings,
) -> Vec<HookStep> {
    let mut owned: Vec<&OutgoingWebhook> = actual.iter().filter(|h| owns(owner, h)).collect();
    owned.sort_by(|a, b| id_of(a).cmp(id_of(b)));
    let wanted_urls: HashSet<String> = desired.iter().map(|(r, _)| hook_url(settings, r)).collect();
    let mut deletes = Vec::new();
    let mut steps = Vec::new();
    for hook in &owned {
        let declared = hook
            .callback_urls
            .iter()
            .any(|u| wanted_urls.contains(u) || protected.contains(u));
        if !declared {
            deletes.push(HookStep::Delete {
                current: (*hook).clone(),
                reason: "no route declares it".to_owned(),
            });
        }
    }
    for (route, wanted) in desired {
        let url = hook_url(settings, route);
        let mut mine = owned.iter().filter(|h| h.callback_urls.contains(&url));
        let survivor = mine.next().copied();
        for duplicate in mine {
            deletes.push(HookStep::Delete {
                current: (*duplicate).clone(),
                reason: format!("duplicate of {}", survivor.map(id_of).unwrap_or_default()),
            });
        }
        let fields = match wanted {
            Ok(fields) => fields,
            Err(reason) => {
                steps.push(HookStep::Unplaceable {
                    route: route.clone(),
                    reason: reason.clone(),
                });
                continue;
            }
        };
        for other in actual.iter().filter(|h| !owns(owner, h)) {
            if let Some(words) = shared_words(fields, other) {
                steps.push(HookStep::Overlap {
                    route: route.clone(),
                    other: other.clone(),
                    words,
                    by_this_bot: other.creator_id.as_deref() == Some(owner.bot_id.as_str()),
                });
            }
        }
        steps.push(match survivor {
            None => HookStep::Create {
                route: route.clone(),
                fields: fields.clone(),
            },
            Some(current) => {
                let changes = HookFields::from_hook(current).changes_to(fields);
                if changes.is_empty() {
                    HookStep::Keep {
                        route: route.clone(),
                        current: current.clone(),
                    }
                } else {
                    HookStep::Update {
                        route: route.clone(),
                        current: current.clone(),
                        fields: fields.clone(),
                        changes,
                    }
                }
            }
        });
    }
    deletes.append(&mut steps);
    deletes
}

/// Mattermost's refusal of a hook that shares channel, callback URL and a trigger word with an
/// existing one.
const INTERSECT: &str = "api.webhook.create_outgoing.intersect.app_error";

/// What applying a team's hook steps did.
#[derive(Debug, Default)]
pub(super) struct HooksApplied {
    pub(super) writes: usize,
    pub(super) created: usize,
    pub(super) updated: usize,
    pub(super) deleted: usize,
    pub(super) failures: Vec<RouteFailure>,
}

/// Applies the write steps: deletes, updates, then (with `creates`) creates. A 400 or 500
/// answer to one route's write (invalid fields, the channel/URL/trigger intersection rule)
/// is that route's failure; anything else stops the run.
pub(super) async fn apply_hooks(
    client: &Client,
    team: &TeamRef,
    steps: &[HookStep],
    creates: bool,
) -> Result<HooksApplied, ReconcileError> {
    let mut applied = HooksApplied::default();
    for step in steps {
        if let HookStep::Delete { current, .. } = step {
            let id = HookId::from(id_of(current).to_owned());
            match client.hooks().delete_outgoing(&id).await {
                Ok(()) => {
                    applied.writes += 1;
                    applied.deleted += 1;
                    tracing::info!(id = %id_of(current), team = %team.name, "deleted outgoing webhook");
                }
                Err(e) if e.is_not_found() => applied.deleted += 1,
                Err(e) => {
                    return Err(ReconcileError::api(format!(
                        "deleting outgoing webhook {} in team `{}`",
                        id_of(current),
                        team.name
                    ))(e));
                }
            }
        }
    }
    for step in steps {
        let (route, result) = match step {
            HookStep::Update {
                route,
                current,
                fields,
                ..
            } => {
                let result = client
                    .hooks()
                    .update_outgoing(&fields.apply_to(current))
                    .await;
                if result.is_ok() {
                    applied.updated += 1;
                }
                (route, result)
            }
            HookStep::Create { route, fields } if creates => {
                let result = client
                    .hooks()
                    .create_outgoing(&fields.to_new_hook(team))
                    .await;
                if result.is_ok() {
                    applied.created += 1;
                }
                (route, result)
            }
            HookStep::Unplaceable { route, reason } if creates => {
                applied.failures.push(RouteFailure {
                    route: route.clone(),
                    team: team.name.clone(),
                    message: reason.clone(),
                });
                continue;
            }
            _ => continue,
        };
        match result {
            Ok(_) => {
                applied.writes += 1;
                tracing::info!(route = %route, team = %team.name, "registered or updated outgoing webhook");
            }
            // Another replica created the same hook a moment ago (Mattermost refuses a second
            // hook sharing channel, URL and a trigger word); the re-listing adopts it.
            Err(e) if e.app_error_id() == Some(INTERSECT) => {
                tracing::debug!(route = %route, team = %team.name, "hook registered meanwhile; re-listing");
            }
            Err(e)
                if matches!(
                    e.status(),
                    Some(http::StatusCode::BAD_REQUEST | http::StatusCode::INTERNAL_SERVER_ERROR)
                ) && e.app_error_id().is_some() =>
            {
                let message = match &e {
                    crate::mattermost::Error::Api { body, .. } => {
                        format!("{} ({})", body.message, body.id)
                    }
                    other => other.to_string(),
                };
                applied.failures.push(RouteFailure {
                    route: route.clone(),
                    team: team.name.clone(),
                    message,
                });
            }
            Err(e) => {
                return Err(ReconcileError::api(format!(
                    "writing the outgoing webhook of route `{route}` in team `{}`",
                    team.name
                ))(e));
            }
        }
    }
    Ok(applied)
}

/// (route, token) of every route with a surviving hook.
pub(super) fn hook_tokens(steps: &[HookStep]) -> Vec<(String, String)> {
    steps
        .iter()
        .filter_map(|step| match step {
            HookStep::Keep { route, current } | HookStep::Update { route, current, .. } => {
                current.token.clone().map(|t| (route.clone(), t))
            }
            _ => None,
        })
        .filter(|(_, token)| !token.is_empty())
        .collect()
}

/// Writes one hook step of the plan's diff.
pub(super) fn write_step(f: &mut fmt::Formatter<'_>, step: &HookStep) -> fmt::Result {
    match step {
        HookStep::Create { route, fields } => {
            writeln!(
                f,
                "  + hook {route} (words: {})",
                fields.trigger_words.join(", ")
            )?;
            writeln!(f, "      url: {}", fields.callback_urls.join(", "))
        }
        HookStep::Update {
            route,
            current,
            changes,
            ..
        } => {
            writeln!(f, "  ~ hook {route} (id {})", id_of(current))?;
            for change in changes {
                writeln!(f, "      {change}")?;
            }
            Ok(())
        }
        HookStep::Keep { route, current } => {
            writeln!(f, "  = hook {route} (id {})", id_of(current))
        }
        HookStep::Delete { current, reason } => {
            writeln!(
                f,
                "  - hook {} (id {}): {reason}",
                current.display_name,
                id_of(current)
            )?;
            writeln!(f, "      url: {}", current.callback_urls.join(", "))
        }
        HookStep::Overlap {
            route,
            other,
            words,
            by_this_bot,
        } => {
            let on = if words.is_empty() {
                "every message of the channel".to_owned()
            } else {
                format!("trigger word(s) {}", words.join(", "))
            };
            let by = if *by_this_bot {
                "created by this bot".to_owned()
            } else {
                format!("of user {}", other.creator_id.as_deref().unwrap_or("?"))
            };
            writeln!(
                f,
                "  ! hook {route}: outgoing webhook {} ({by}, calling {}) also fires on {on}, \
                 so each such message is answered twice; left alone.",
                id_of(other),
                other.callback_urls.join(", ")
            )?;
            match other.callback_urls.first() {
                Some(url) if *by_this_bot => {
                    super::plan::write_other_public_url_fix(f, url, "/hooks/")
                }
                _ => writeln!(
                    f,
                    "      Remove that webhook or change the route's trigger words or channel."
                ),
            }
        }
        HookStep::Unplaceable { route, reason } => {
            writeln!(f, "  ! hook {route}: {reason}")
        }
    }
}
