//! Checks of a route's triggers: `[command]` and `[hook]` against Mattermost's rules, and
//! `[webhook]`, `[schedule]` and `[message]` compiled, with the combinations that cannot work.

use regex::Regex;

use super::FileChecker;
use crate::integrations::BUILT_IN_TRIGGERS;
use crate::integrations::context::SampleShape;
use crate::integrations::spec::{CommandSpec, HookSpec, RouteFile, TriggerWhen};
use crate::integrations::trigger_specs::{self, MessageTrigger, ScheduleTrigger, WebhookTrigger};

/// A route's compiled `[webhook]`, `[schedule]` and `[message]`.
#[derive(Default)]
pub(super) struct TriggerSpecs {
    pub(super) webhook: Option<WebhookTrigger>,
    pub(super) schedule: Option<ScheduleTrigger>,
    pub(super) message: Option<MessageTrigger>,
}

impl TriggerSpecs {
    /// What these triggers add to the sample context templates are checked against.
    pub(super) fn extend_shape(&self, shape: &mut SampleShape) {
        if let Some(webhook) = &self.webhook {
            let body = webhook
                .sample
                .clone()
                .unwrap_or_else(|| serde_json::json!({}));
            shape.results.insert("body".into(), body);
            shape
                .results
                .insert("headers".into(), serde_json::json!({}));
        }
        if self.schedule.is_some() {
            shape.results.insert(
                "tick".into(),
                serde_json::json!({"time": "2026-01-01T09:00:00+00:00", "timestamp": 1767258000, "local": "2026-01-01 09:00"}),
            );
        }
        if let Some(pattern) = self.message.as_ref().and_then(|m| m.pattern.as_ref()) {
            shape
                .captures
                .extend(pattern.capture_names().flatten().map(str::to_owned));
        }
    }
}

impl FileChecker<'_> {
    /// `[webhook]`, `[schedule]` and `[message]`, compiled; problems recorded with their key.
    pub(super) fn check_triggers(&mut self, spec: &RouteFile) -> TriggerSpecs {
        let mut triggers = TriggerSpecs::default();
        if let Some(webhook) = &spec.webhook {
            match trigger_specs::check_webhook(&self.name, webhook, self.base) {
                Ok(t) => triggers.webhook = Some(t),
                Err(problems) => {
                    for (key, message) in problems {
                        self.problem("webhook", None, key, message);
                    }
                }
            }
        }
        if let Some(schedule) = &spec.schedule {
            match trigger_specs::check_schedule(schedule) {
                Ok(t) => triggers.schedule = Some(t),
                Err(problems) => {
                    for (key, message) in problems {
                        self.problem("schedule", None, key, message);
                    }
                }
            }
        }
        if let Some(message) = &spec.message {
            match trigger_specs::check_message(message) {
                Ok(t) => triggers.message = Some(t),
                Err(problems) => {
                    for (key, text) in problems {
                        self.problem("message", None, key, text);
                    }
                }
            }
        }
        let unattended = spec.webhook.is_some() || spec.schedule.is_some();
        if unattended && spec.dialog.is_some() {
            self.problem(
                "dialog",
                None,
                "",
                "a webhook or schedule has no user to open a dialog for".into(),
            );
        }
        if unattended
            && spec.command.is_none()
            && spec.hook.is_none()
            && spec.message.is_none()
            && (!spec.access.users.is_empty() || !spec.access.roles.is_empty())
        {
            self.problem(
                "access",
                None,
                "",
                "`users` and `roles` cannot apply to a webhook or schedule: no user acts".into(),
            );
        }
        if let Some(webhook) = &spec.webhook {
            if webhook.group_key.is_some() && spec.reply.is_none() && spec.http.is_none() {
                self.problem(
                    "webhook",
                    None,
                    "group_key",
                    "`group_key` edits the post of a `[reply]` or `[http]` answer; this route has neither".into(),
                );
            }
        }
        triggers
    }

    pub(super) fn check_command(&mut self, command: &CommandSpec) {
        for message in validate_trigger(&command.trigger) {
            self.problem("command", None, "trigger", message);
        }
        if command.display_name.chars().count() > 64 {
            self.problem(
                "command",
                None,
                "display_name",
                "at most 64 characters".into(),
            );
        }
        if command.description.chars().count() > 128 {
            self.problem(
                "command",
                None,
                "description",
                "at most 128 characters".into(),
            );
        }
    }

    pub(super) fn check_hook(&mut self, hook: &HookSpec) -> Option<Regex> {
        if hook.trigger_words.is_empty() {
            self.problem(
                "hook",
                None,
                "trigger_words",
                "at least one trigger word".into(),
            );
        }
        if hook
            .trigger_words
            .iter()
            .any(|w| w.is_empty() || w.chars().any(char::is_whitespace))
        {
            self.problem(
                "hook",
                None,
                "trigger_words",
                "trigger words are single words".into(),
            );
        }
        if hook.trigger_when == TriggerWhen::Anywhere && hook.channel.is_none() {
            self.problem(
                "hook",
                None,
                "channel",
                "`trigger_when = \"anywhere\"` needs a channel (the hook then receives every message there)".into(),
            );
        }
        let pattern = hook.pattern.as_ref()?;
        match crate::integrations::pattern::compile(pattern, hook.unicode, false) {
            Ok(r) => Some(r),
            Err(e) => {
                self.problem(
                    "hook",
                    None,
                    "pattern",
                    format!("not a regular expression: {e}"),
                );
                None
            }
        }
    }
}

/// Mattermost's trigger rules (PROTOCOL.md §1.1), checked before registering.
fn validate_trigger(trigger: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if trigger.is_empty() || trigger.chars().count() > 128 {
        problems.push("must be 1 to 128 characters".to_owned());
    }
    if trigger.starts_with('/') {
        problems.push("write the trigger without the leading `/`".to_owned());
    }
    if trigger.chars().any(char::is_whitespace) {
        problems.push("must not contain spaces".to_owned());
    }
    if trigger.chars().any(char::is_uppercase) {
        problems.push("must be lower case (Mattermost lower-cases triggers)".to_owned());
    }
    if BUILT_IN_TRIGGERS.contains(&trigger) {
        problems.push(format!(
            "`/{trigger}` is a Mattermost built-in command and cannot be registered"
        ));
    }
    problems
}
