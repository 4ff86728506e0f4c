//! Loading `routes/*.toml`: parse, validate, and collect every problem.
//!
//! Nothing stops at the first problem: each file is checked as far as it can be, and problems
//! across files (duplicate triggers) are added at the end. Each problem names the file, the
//! line (found by walking the TOML's section headers, see [`KeyFinder`]) and the key, e.g.
//! `routes/deploy.toml:14: \`exec.program\`: …`.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::access::Access;
use super::args::ArgParser;
use super::buttons::button_problems;
use super::context::{Context, DeclaredKeys, SampleShape};
use super::dialog::DialogAction;
use super::exec::ExecAction;
use super::http::{HttpAction, HttpError};
use super::keys::unknown_keys;
use super::locate::{KeyFinder, key_line, line_of, split_key, variable_line};
use super::post::PostAction;
use super::reply::{NoLinks, ReplyAction};
use super::shebang;
use super::spec::{ActionSpec, ArgType, CommandSpec, HookSpec, RouteFile, TriggerWhen};
use super::template::TemplateError;
use super::trigger_specs::{self, MessageTrigger, ScheduleTrigger, WebhookTrigger};
use super::triggers::{Triggers, check_unique_triggers};
use super::type_errors;
use super::variables::{UnknownVariable, unknown_variables};
use super::{Action, BUILT_IN_TRIGGERS, Route, RouteSet};

/// A route's compiled `[webhook]`, `[schedule]` and `[message]`.
#[derive(Default)]
struct TriggerSpecs {
    webhook: Option<WebhookTrigger>,
    schedule: Option<ScheduleTrigger>,
    message: Option<MessageTrigger>,
}

impl TriggerSpecs {
    /// What these triggers add to the sample context templates are checked against.
    fn extend_shape(&self, shape: &mut SampleShape) {
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

/// One problem in one route file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The file (or the directory, for problems with the directory itself).
    pub file: PathBuf,
    /// Line in the file, from 1, when known.
    pub line: Option<usize>,
    /// The key concerned, e.g. `command.trigger`, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Loads every `*.toml` file in `dir`, in file-name order. Returns the routes, or every
/// problem found across all files.
///
/// Paths inside routes (`exec.program`, `exec.cwd`) are relative to `dir`; they are resolved
/// here, once, against the absolute form of `dir`, so nothing downstream depends on the
/// working directory (an exec starts in `cwd`, where a relative `routes/scripts/x.sh` would
/// name `routes/routes/scripts/x.sh`). `check`, `dev`, `serve` and reloads all come here.
pub fn load_dir(dir: &Path) -> Result<RouteSet, Vec<LoadProblem>> {
    let dir_problem = |message: String| LoadProblem {
        file: dir.to_path_buf(),
        line: None,
        key: None,
        message,
    };
    let base = std::path::absolute(dir).map_err(|e| {
        vec![dir_problem(format!(
            "cannot resolve the routes directory to an absolute path: {e}"
        ))]
    })?;
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![dir_problem(format!(
            "cannot read the routes directory: {e}"
        ))]
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();

    let mut problems = Vec::new();
    let mut routes = Vec::new();
    let mut triggers = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(source) => {
                let mut checker = FileChecker::new(&file, &source, &base);
                if let Some(route) = checker.load() {
                    routes.push(route);
                }
                // In the file's order (stable: one line's problems stay in the order found),
                // those of the file as a whole (no line) last.
                checker
                    .problems
                    .sort_by_key(|p| p.line.unwrap_or(usize::MAX));
                problems.append(&mut checker.problems);
                triggers.extend(checker.triggers);
            }
            Err(e) => problems.push(LoadProblem {
                file: file.clone(),
                line: None,
                key: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    // Every file that parsed takes part, even one with other problems, so a duplicate shows
    // in the same run as the rest.
    check_unique_triggers(&triggers, &mut problems);
    if problems.is_empty() {
        Ok(RouteSet::new(routes))
    } else {
        Err(problems)
    }
}

/// Checks one file, collecting its problems.
struct FileChecker<'a> {
    file: &'a Path,
    source: &'a str,
    /// The routes directory, absolute: route-relative paths are joined to it.
    base: &'a Path,
    keys: KeyFinder<'a>,
    name: String,
    problems: Vec<LoadProblem>,
    /// What the file declares as triggers, once it parsed (for duplicates across files).
    triggers: Option<Triggers>,
    /// Template keys with an unknown variable already reported.
    variable_keys: HashSet<String>,
}

impl<'a> FileChecker<'a> {
    fn new(file: &'a Path, source: &'a str, base: &'a Path) -> Self {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        FileChecker {
            file,
            source,
            base,
            keys: KeyFinder::new(source),
            name,
            problems: Vec::new(),
            triggers: None,
            variable_keys: HashSet::new(),
        }
    }

    /// Records a problem at `section` (e.g. `exec`, `args`), element `index` of an array of
    /// tables, `key`.
    fn problem(&mut self, section: &str, index: Option<usize>, key: &str, message: String) {
        let line = self.keys.line(section, index, key);
        let shown = match (section, index, key) {
            ("", _, key) => key.to_owned(),
            (section, Some(i), "") => format!("{section}[{i}]"),
            (section, Some(i), key) => format!("{section}[{i}].{key}"),
            (section, None, "") => section.to_owned(),
            (section, None, key) => format!("{section}.{key}"),
        };
        self.problems.push(LoadProblem {
            file: self.file.to_path_buf(),
            line,
            key: (!shown.is_empty()).then_some(shown),
            message,
        });
    }

    /// The key the file stops deserialising at (`post` when `[post]` lacks `message`,
    /// `args[0].name`), which the deserialiser's own error does not say.
    fn failing_key(&self) -> Option<String> {
        let deserializer = toml::de::Deserializer::parse(self.source).ok()?;
        let error = serde_path_to_error::deserialize::<_, RouteFile>(deserializer).err()?;
        let path = error.path().to_string();
        (path != ".").then_some(path)
    }

    /// A problem of the value of `full` (`reply.attachments[0].actions[1].action`), at that
    /// key's line or its nearest enclosing key's.
    fn problem_at(&mut self, full: &str, message: String) {
        self.problems.push(LoadProblem {
            file: self.file.to_path_buf(),
            line: self.key_line(full),
            key: Some(full.to_owned()),
            message,
        });
    }

    /// An unknown variable, at the line of the template's key where the variable first
    /// appears (a multi-line template, an inline table spanning lines).
    fn variable_problem(&mut self, unknown: &UnknownVariable) {
        let start = self.key_line(&unknown.key);
        let line =
            start.map(|start| variable_line(self.source, start, &unknown.path).unwrap_or(start));
        self.variable_keys.insert(unknown.key.clone());
        self.problems.push(LoadProblem {
            file: self.file.to_path_buf(),
            line,
            key: Some(unknown.key.clone()),
            message: format!(
                "template: unknown variable `{}`: {}",
                unknown.path, unknown.message
            ),
        });
    }

    /// The line of a full key (`actions.vote.reply.props.votes`), or of the nearest enclosing
    /// key that has a line of its own (an inline table's key).
    fn key_line(&self, full: &str) -> Option<usize> {
        key_line(&self.keys, full)
    }

    /// A template problem: the key comes from the template's name, the line from the key's
    /// line plus the line within the template.
    fn template_problem(&mut self, fallback: &str, e: &TemplateError) {
        let full = e
            .name
            .as_deref()
            .and_then(|n| n.strip_prefix(&format!("{}.", self.name)))
            .unwrap_or(fallback)
            .to_owned();
        // Already reported by name by the static check; the sample render would only repeat it.
        if self.variable_keys.contains(&full) {
            return;
        }
        let (section, index, key) = split_key(&full);
        let line = self
            .keys
            .line(&section, index, &key)
            .map(|l| l + self.keys.value_offset(l) + e.line.unwrap_or(1) - 1);
        self.problems.push(LoadProblem {
            file: self.file.to_path_buf(),
            line,
            key: Some(full),
            message: format!(
                "template (rendered with sample values: text arguments, fields and captures \
                 `sample`, user alice in ~town-square): {}",
                e.message
            ),
        });
    }

    fn load(&mut self) -> Option<Route> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            self.problem(
                "",
                None,
                "",
                "file name must be lower-case letters, digits, `-` or `_` (it names the callback URL)"
                    .into(),
            );
        }
        let spec: RouteFile = match toml::from_str(self.source) {
            Ok(spec) => spec,
            Err(e) => match self.without_unknown_keys() {
                Some(Some(spec)) => spec,
                Some(None) => return None,
                None => {
                    let mut message = e.message().trim().to_owned();
                    if message.contains("escaped value") || message.contains("invalid escape") {
                        // A regex's `\s` or `\d` in a double-quoted string.
                        message.push_str(
                            "; a backslash in a \"double-quoted\" string starts an escape: write \
                             patterns and other text with backslashes in 'single quotes', which \
                             TOML takes literally",
                        );
                    }
                    let key = self.failing_key();
                    // A missing key has no position of its own: its table's is shown.
                    let at_key = key.as_deref().and_then(|k| self.key_line(k));
                    let at_span = e.span().map(|span| line_of(self.source, span.start));
                    let line = if message.starts_with("missing field") {
                        at_key.or(at_span)
                    } else {
                        at_span.or(at_key)
                    };
                    self.problems.push(LoadProblem {
                        file: self.file.to_path_buf(),
                        line,
                        key,
                        message,
                    });
                    return None;
                }
            },
        };
        self.triggers = Some(Triggers::of(self.file, self.source, &spec));

        if spec.command.is_none()
            && spec.hook.is_none()
            && spec.webhook.is_none()
            && spec.schedule.is_none()
            && spec.message.is_none()
        {
            self.problem(
                "",
                None,
                "command",
                "a route needs a trigger: `[command]`, `[hook]`, `[message]`, `[schedule]` or `[webhook]`".into(),
            );
        }
        let triggers = self.check_triggers(&spec);
        let mut command = spec.command.clone();
        if let Some(command) = &command {
            self.check_command(command);
        }
        for (i, key, message) in ArgParser::check(&spec.args) {
            self.problem("args", Some(i), key, message);
        }
        if !spec.args.is_empty() && spec.command.is_none() {
            self.problem("args", Some(0), "", "arguments need a `[command]`".into());
        }
        let args = ArgParser::new(spec.args.clone());
        if let Some(command) = &mut command {
            if command.hint.is_empty() {
                command.hint = args.hint();
            }
        }
        let hook_pattern = spec.hook.as_ref().and_then(|hook| self.check_hook(hook));

        // The shape of the sample context every template is test-rendered against.
        let mut shape = SampleShape {
            args: spec.args.iter().map(|a| a.name.clone()).collect(),
            mentions: spec
                .args
                .iter()
                .filter(|a| matches!(a.kind, ArgType::User | ArgType::Channel))
                .map(|a| a.name.clone())
                .collect(),
            typed_args: spec
                .args
                .iter()
                .filter_map(|a| match a.kind {
                    ArgType::Integer => Some((a.name.clone(), serde_json::json!(1))),
                    ArgType::Boolean => Some((a.name.clone(), serde_json::json!(true))),
                    _ => None,
                })
                .collect(),
            captures: hook_pattern
                .iter()
                .flat_map(|r| r.capture_names().flatten().map(str::to_owned))
                .collect(),
            ..SampleShape::default()
        };
        triggers.extend_shape(&mut shape);
        // Every variable every template can reach, in every branch, against what the
        // triggers of its action provide; the test renders below then skip those templates.
        // A pattern that did not compile has no groups to check `captures.*` against: its own
        // error is the one to fix, and "no such named group" about a group it has is wrong.
        let pattern_failed = spec
            .hook
            .as_ref()
            .is_some_and(|h| h.pattern.is_some() && hook_pattern.is_none())
            || (spec.message.is_some() && triggers.message.is_none());
        for unknown in unknown_variables(&spec, &shape.captures) {
            if pattern_failed && unknown.path.split('.').next() == Some("captures") {
                // Nor should the sample render report it.
                self.variable_keys.insert(unknown.key.clone());
                continue;
            }
            self.variable_problem(&unknown);
        }
        let all_actions: Vec<&ActionSpec> = spec.actions.values().collect();
        let main = spec.main_action();
        for action in std::iter::once(&main).chain(all_actions.iter().copied()) {
            if let Some(dialog) = &action.dialog {
                shape
                    .submission
                    .extend(dialog.elements.iter().map(|e| e.name.clone()));
            }
            let replies = action
                .reply
                .iter()
                .chain(action.http.as_ref().map(|h| &h.reply));
            for reply in replies {
                for attachment in &reply.attachments {
                    for button in &attachment.actions {
                        shape.context.extend(button.context.keys().cloned());
                    }
                }
            }
        }

        let main_action = self.compile_action("", &main, &shape, true);
        let mut actions = BTreeMap::new();
        for (name, action) in &spec.actions {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                self.problem(
                    &format!("actions.{name}"),
                    None,
                    "",
                    "action names are letters, digits, `_` or `-`".into(),
                );
            }
            if let Some(compiled) =
                self.compile_action(&format!("actions.{name}."), action, &shape, false)
            {
                actions.insert(name.clone(), compiled);
            }
        }
        // References between actions, by the full key that makes each.
        let known: Vec<&String> = spec.actions.keys().collect();
        let mut references: Vec<(String, String)> = Vec::new();
        for (prefix, action) in std::iter::once((String::new(), &main)).chain(
            spec.actions
                .iter()
                .map(|(n, a)| (format!("actions.{n}."), a)),
        ) {
            if let Some(dialog) = &action.dialog {
                for (key, target) in [
                    ("on_submit", &dialog.on_submit),
                    ("on_cancel", &dialog.on_cancel),
                ] {
                    if let Some(target) = target {
                        references.push((format!("{prefix}dialog.{key}"), target.clone()));
                    }
                }
            }
            let replies = [
                ("reply", action.reply.as_ref()),
                ("http.reply", action.http.as_ref().map(|h| &h.reply)),
            ];
            for (key, reply) in replies {
                let Some(reply) = reply else { continue };
                for (full, message) in button_problems(&format!("{prefix}{key}"), reply) {
                    self.problem_at(&full, message);
                }
                for (a, attachment) in reply.attachments.iter().enumerate() {
                    for (b, button) in attachment.actions.iter().enumerate() {
                        references.push((
                            format!("{prefix}{key}.attachments[{a}].actions[{b}].action"),
                            button.action.clone(),
                        ));
                    }
                }
            }
        }
        // `update` replaces the post whose button was clicked: it means nothing where no
        // button runs the action (a command, hook or webhook's own answer, a dialog's
        // follow-up), and there it would be silently ignored.
        let clicked: Vec<&str> = references
            .iter()
            .filter(|(key, _)| key.ends_with("].action"))
            .map(|(_, target)| target.as_str())
            .collect();
        for (name, prefix, action) in std::iter::once((None, String::new(), &main)).chain(
            spec.actions
                .iter()
                .map(|(n, a)| (Some(n.as_str()), format!("actions.{n}."), a)),
        ) {
            if name.is_some_and(|n| clicked.contains(&n)) {
                continue;
            }
            let updates = [
                (
                    "reply.update",
                    action.reply.as_ref().is_some_and(|r| r.update),
                ),
                (
                    "http.reply.update",
                    action.http.as_ref().is_some_and(|h| h.reply.update),
                ),
            ];
            for (key, _) in updates.into_iter().filter(|(_, update)| *update) {
                self.problem_at(
                    &format!("{prefix}{key}"),
                    "`update = true` replaces the post whose button was clicked, but no button \
                     runs this action; remove it (or run the action from a button)"
                        .to_owned(),
                );
            }
        }
        for (key, target) in references {
            if !known.iter().any(|k| **k == target) {
                self.problem_at(
                    &key,
                    format!(
                        "`{target}` is not an action of this route (declare `[actions.{target}]`)"
                    ),
                );
            }
        }

        let main_action = main_action?;
        if !self.problems.is_empty() {
            return None;
        }
        Some(Route {
            name: self.name.clone(),
            file: self.file.to_path_buf(),
            command,
            hook: spec.hook.clone(),
            hook_pattern,
            webhook: triggers.webhook,
            schedule: triggers.schedule,
            message: triggers.message,
            args,
            access: Access::new(spec.access.clone()),
            action: main_action,
            actions,
            source: self.source.to_owned(),
            declared: DeclaredKeys::of(&shape),
        })
    }

    /// `[webhook]`, `[schedule]` and `[message]`, compiled; problems recorded with their key.
    fn check_triggers(&mut self, spec: &RouteFile) -> TriggerSpecs {
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

    /// The typed parse stops at the first unknown key or wrong value: report every unknown
    /// key and every wrong value of the file (see [`type_errors`]) and parse what is left, so
    /// the file's other problems show in the same run. `None` when the file is not TOML (the
    /// typed parse's own error is then the one to report); `Some(None)` when what is left
    /// does not parse either (every problem found is recorded).
    fn without_unknown_keys(&mut self) -> Option<Option<RouteFile>> {
        let mut table: toml::Table = toml::from_str(self.source).ok()?;
        let unknown = unknown_keys(&mut table);
        let mut unknown: Vec<_> = unknown
            .into_iter()
            .map(|u| {
                let line = self.keys.line(&u.section, u.index, &u.key).or_else(|| {
                    let (section, index, key) = u.anchor.as_ref()?;
                    self.keys.line(section, *index, key)
                });
                (line, u)
            })
            .collect();
        unknown.sort_by_key(|(line, _)| *line);
        for (line, u) in unknown {
            let table = match (&u.section, &u.inline) {
                (_, Some(inline)) => format!(" in `{inline}`"),
                (section, None) if section.is_empty() => String::new(),
                (section, None) => match u.index {
                    Some(i) => format!(" in `[[{section}]]` #{}", i + 1),
                    None => format!(" in `[{section}]`"),
                },
            };
            let expected: Vec<String> = u.expected.iter().map(|k| format!("`{k}`")).collect();
            self.problems.push(LoadProblem {
                file: self.file.to_path_buf(),
                line,
                key: None,
                message: format!(
                    "unknown field `{}`{table}, expected one of {}",
                    u.key,
                    expected.join(", ")
                ),
            });
        }
        let (spec, wrong) = type_errors::parse_reporting_each(table);
        for error in wrong {
            self.problems.push(LoadProblem {
                file: self.file.to_path_buf(),
                line: error
                    .path
                    .as_deref()
                    .and_then(|p| type_errors::line(&self.keys, p)),
                key: error.path,
                message: error.message,
            });
        }
        Some(spec)
    }

    fn check_command(&mut self, command: &CommandSpec) {
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

    fn check_hook(&mut self, hook: &HookSpec) -> Option<Regex> {
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
        match super::pattern::compile(pattern, hook.unicode, false) {
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

    /// Compiles one action (`prefix` is `""` for the main one or `actions.<name>.`).
    fn compile_action(
        &mut self,
        prefix: &str,
        spec: &ActionSpec,
        shape: &SampleShape,
        main: bool,
    ) -> Option<Action> {
        let kinds = spec.kinds();
        match kinds.len() {
            0 => {
                let section = prefix.trim_end_matches('.');
                self.problem(
                    section,
                    None,
                    if main { "reply" } else { "" },
                    "needs an action: one of `reply`, `dialog`, `exec`, `http`, `post`".into(),
                );
                return None;
            }
            1 => {}
            _ => {
                self.problem(
                    &format!("{prefix}{}", kinds[1]),
                    None,
                    "",
                    format!(
                        "only one action per route or named action, found {}",
                        kinds.join(", ")
                    ),
                );
                return None;
            }
        }
        let trigger = self.name.clone();
        let sample = Context::sample(&trigger, shape);
        let name = format!("{}.{prefix}", self.name);
        if let Some(reply) = &spec.reply {
            let compiled = ReplyAction::compile(&self.name, &format!("{name}reply"), reply)
                .and_then(|r| r.render(Box::new(sample.clone()), &NoLinks).map(|_| r));
            return match compiled {
                Ok(r) => Some(Action::Reply(r)),
                Err(e) => {
                    self.template_problem(&format!("{prefix}reply.text"), &e);
                    None
                }
            };
        }
        if let Some(dialog) = &spec.dialog {
            return match DialogAction::compile(&format!("{name}dialog"), dialog) {
                Ok(d) => match d
                    .build(&sample, "x", String::new())
                    .and_then(|_| d.render_checks(&sample))
                {
                    Ok(_) => Some(Action::Dialog(d)),
                    Err(e) => {
                        self.template_problem(&format!("{prefix}dialog.title"), &e);
                        None
                    }
                },
                Err(problems) => {
                    for (index, key, message) in problems {
                        let section = match index {
                            Some(_) => format!("{prefix}dialog.elements"),
                            None => format!("{prefix}dialog"),
                        };
                        self.problem(&section, index, key, message);
                    }
                    None
                }
            };
        }
        if let Some(exec) = &spec.exec {
            let section = format!("{prefix}exec");
            let compiled = match ExecAction::compile(&format!("{name}exec"), exec, self.base) {
                Ok(e) => e,
                Err(e) => {
                    self.template_problem(&format!("{section}.args"), &e);
                    return None;
                }
            };
            if let Err(e) = compiled.check(&sample) {
                self.template_problem(&format!("{section}.args"), &e);
                return None;
            }
            if let Some(message) = program_problem(&compiled.program) {
                self.problem(&section, None, "program", message);
                return None;
            }
            if exec.max_concurrent == 0 {
                self.problem(&section, None, "max_concurrent", "at least 1".into());
                return None;
            }
            return Some(Action::Exec(compiled));
        }
        if let Some(http) = &spec.http {
            let section = format!("{prefix}http");
            return match HttpAction::compile(&self.name, &format!("{name}http"), http) {
                Ok(h) => match h.check(&sample) {
                    Ok(()) => Some(Action::Http(h)),
                    Err(e) => {
                        self.template_problem(&format!("{section}.url"), &e);
                        None
                    }
                },
                Err(HttpError::Template(e)) => {
                    self.template_problem(&format!("{section}.url"), &e);
                    None
                }
                Err(e) => {
                    self.problem(&section, None, "method", e.to_string());
                    None
                }
            };
        }
        if let Some(post) = &spec.post {
            let section = format!("{prefix}post");
            return match PostAction::compile(&format!("{name}post"), post)
                .and_then(|p| p.check(&sample).map(|()| p))
            {
                Ok(p) => Some(Action::Post(p)),
                Err(e) => {
                    self.template_problem(&format!("{section}.message"), &e);
                    None
                }
            };
        }
        None
    }
}

/// Why an exec program cannot run, if it cannot: missing, not executable, or its `#!` line
/// names an interpreter that is not there.
fn program_problem(program: &Path) -> Option<String> {
    let metadata = match std::fs::metadata(program) {
        Ok(m) => m,
        Err(e) => return Some(format!("`{}` cannot be used: {e}", program.display())),
    };
    if !metadata.is_file() {
        return Some(format!("`{}` is not a file", program.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o111 == 0 {
            return Some(format!("`{}` is not executable", program.display()));
        }
    }
    // Checked with this machine's PATH, the one `dev` and `serve` run the program with.
    shebang::interpreter_problem(program, std::env::var_os("PATH").as_deref())
        .map(|problem| format!("`{}` cannot start: {problem}", program.display()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::locate::template_location;

    fn load(files: &[(&str, &str)]) -> Result<RouteSet, Vec<LoadProblem>> {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        load_dir(dir.path())
    }

    fn problems(files: &[(&str, &str)]) -> Vec<String> {
        load(files)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const HELLO: &str = "[command]\ntrigger = \"hello\"\n[reply]\ntext = \"hi {{ user.name }}\"\n";

    #[test]
    fn a_valid_route_loads() {
        let set = load(&[("hello.toml", HELLO)]).unwrap();
        let route = set.get("hello").unwrap();
        assert_eq!(route.command.as_ref().unwrap().trigger, "hello");
    }

    #[test]
    fn an_unknown_key_is_reported_with_file_and_line() {
        let all = problems(&[("bad.toml", "[command]\ntrigger = \"x\"\ntrigerr = 1\n")]);
        assert!(all[0].contains("bad.toml:3"), "{all:?}");
        assert!(all[0].contains("trigerr"), "{all:?}");
        // The rest of the file is still checked in the same run.
        assert!(all[1].contains("needs an action"), "{all:?}");
        assert_eq!(all.len(), 2, "{all:?}");
    }

    #[test]
    fn a_backslash_in_a_double_quoted_pattern_suggests_single_quotes() {
        let all = problems(&[(
            "esc.toml",
            "[hook]\ntrigger_words = [\"b\"]\npattern = \"^build\\s+x\"\n[reply]\ntext = \"x\"\n",
        )]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains("esc.toml:3") && all[0].contains("'single quotes'"),
            "{all:?}"
        );
    }

    #[test]
    fn a_files_problems_come_in_line_order() {
        let all = problems(&[(
            "order.toml",
            "[reply]\ntext = \"{{ nope }}\"\n[command]\ntrigger = \"x\"\n[[args]]\nname = \"a\"\ntype = \"integer\"\ndefault = \"ten\"\n",
        )]);
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all[0].contains("order.toml:2"), "{all:?}");
        assert!(all[1].contains("order.toml:8"), "{all:?}");
    }

    #[test]
    fn every_unknown_key_is_reported_in_one_run_with_the_files_other_problems() {
        let all = problems(&[(
            "bad.toml",
            "descripton = \"x\"\n[command]\ntrigger = \"Bad\"\ntrigerr = 1\n[[args]]\nname = \"a\"\nrequird = true\n[reply]\ntext = \"hi\"\ncolour = \"red\"\n",
        )]);
        let has = |needle: &[&str]| all.iter().any(|p| needle.iter().all(|n| p.contains(n)));
        assert!(has(&["bad.toml:1: unknown field `descripton`"]), "{all:?}");
        assert!(
            has(&[
                "bad.toml:4: unknown field `trigerr` in `[command]`",
                "`trigger`"
            ]),
            "{all:?}"
        );
        assert!(
            has(&["bad.toml:7: unknown field `requird` in `[[args]]` #1"]),
            "{all:?}"
        );
        assert!(
            has(&["bad.toml:10: unknown field `colour` in `[reply]`"]),
            "{all:?}"
        );
        assert!(
            has(&["bad.toml:3: `command.trigger`", "lower case"]),
            "{all:?}"
        );
        assert_eq!(all.len(), 5, "{all:?}");
    }

    #[test]
    fn a_duplicate_trigger_names_both_files_and_blames_the_later_even_when_it_has_other_problems() {
        let all = problems(&[
            ("a.toml", HELLO),
            ("b.toml", &format!("{HELLO}bogus = 1\n")),
        ]);
        let duplicate = all
            .iter()
            .find(|p| p.contains("already used"))
            .expect("a duplicate");
        assert!(
            duplicate.contains("b.toml:2: `command.trigger`: trigger `/hello` is already used by ")
                && duplicate.ends_with("a.toml:2"),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|p| p.contains("b.toml:5: unknown field `bogus`")),
            "{all:?}"
        );
        let blamed = load(&[
            ("a.toml", HELLO),
            ("b.toml", &format!("{HELLO}bogus = 1\n")),
        ])
        .unwrap_err();
        assert!(
            blamed.iter().all(|p| p.file.ends_with("b.toml")),
            "the earlier file is not blamed: {all:?}"
        );
    }

    #[test]
    fn a_misspelt_variable_in_an_untaken_branch_is_reported_by_name_and_line() {
        let all = problems(&[(
            "h.toml",
            "[command]\ntrigger = \"h\"\n[reply]\ntext = \"\"\"\n{% if text %}hi {{ user.name }}{% else %}\n{{ usr }} {{ user.nmae }}{% endif %}\"\"\"\n",
        )]);
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(
            all[0].contains("h.toml:6: `reply.text`: template: unknown variable `user.nmae`: `user` has `id` and `name`"),
            "{all:?}"
        );
        assert!(
            all[1].contains(
                "h.toml:6: `reply.text`: template: unknown variable `usr`: no such variable"
            ),
            "{all:?}"
        );
    }

    #[test]
    fn a_run_time_template_error_names_the_route_file_line() {
        let set = load(&[("hello.toml", HELLO)]).unwrap();
        let route = set.get("hello").unwrap();
        let e = TemplateError {
            message: "undefined value".into(),
            line: Some(1),
            name: Some("hello.reply.text".into()),
        };
        assert!(
            template_location(route, &e).ends_with("hello.toml:4"),
            "{}",
            template_location(route, &e)
        );
    }

    #[test]
    fn a_built_in_trigger_is_refused() {
        let all = problems(&[("e.toml", &HELLO.replace("hello", "echo"))]);
        assert!(all[0].contains("built-in"), "{all:?}");
    }

    #[test]
    fn every_problem_in_every_file_is_reported() {
        let all = problems(&[
            (
                "a.toml",
                "[command]\ntrigger = \"Bad Trigger\"\n[reply]\ntext = \"{{ nope }}\"\n",
            ),
            ("b.toml", "not toml at all ["),
        ]);
        let has = |needle: &[&str]| all.iter().any(|p| needle.iter().all(|n| p.contains(n)));
        assert!(has(&["a.toml:2", "spaces"]), "{all:?}");
        assert!(has(&["a.toml:2", "lower case"]), "{all:?}");
        assert!(has(&["a.toml:4", "`reply.text`", "template"]), "{all:?}");
        assert!(has(&["b.toml:1"]), "{all:?}");
    }

    #[test]
    fn duplicate_triggers_across_files_are_reported_with_line() {
        let all = problems(&[("a.toml", HELLO), ("b.toml", HELLO)]);
        assert!(
            all[0].contains("b.toml:2: `command.trigger`: trigger `/hello` is already used by"),
            "{all:?}"
        );
    }

    #[test]
    fn a_template_error_in_a_named_action_points_at_its_own_line() {
        let all = problems(&[(
            "d.toml",
            "[command]\ntrigger = \"d\"\n[reply]\ntext = \"ok\"\n[actions.next.reply]\ntext = \"\"\"\nline one\n{{ args.nope }}\"\"\"\n",
        )]);
        assert!(
            all.iter()
                .any(|p| p.contains("d.toml:8: `actions.next.reply.text`")),
            "{all:?}"
        );
    }

    #[test]
    fn references_to_missing_actions_are_reported() {
        let all = problems(&[(
            "d.toml",
            "[command]\ntrigger = \"d\"\n[dialog]\ntitle = \"t\"\non_submit = \"nowhere\"\n",
        )]);
        assert!(
            all.iter()
                .any(|p| p.contains("d.toml:5: `dialog.on_submit`: `nowhere` is not an action")),
            "{all:?}"
        );
        // `update` where no button runs the action would be ignored: refused.
        let all = problems(&[(
            "u.toml",
            "[command]\ntrigger = \"u\"\n[reply]\ntext = \"hi\"\nupdate = true\n",
        )]);
        assert!(
            all.iter().any(|p| p.contains(
                "u.toml:5: `reply.update`: `update = true` replaces the post whose button was clicked, but no button runs this action"
            )),
            "{all:?}"
        );
        // …and where a button runs it, allowed: also a button of an `[http]` answer, whose
        // target is checked like any other.
        let all = problems(&[(
            "h.toml",
            "[command]\ntrigger = \"h\"\n[http]\nurl = \"http://svc/x\"\n[http.reply]\ntext = \"?\"\n[[http.reply.attachments]]\nactions = [\n  { id = \"a\", name = \"A\", action = \"again\" },\n  { id = \"b\", name = \"B\", action = \"gone\" },\n]\n[actions.again.reply]\ntext = \"again\"\nupdate = true\n",
        )]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0]
                .contains("`http.reply.attachments[0].actions[1].action`: `gone` is not an action"),
            "{all:?}"
        );
        // A button's target is named by its full key, at the line of its `actions`.
        let all = problems(&[(
            "b.toml",
            "[command]\ntrigger = \"b\"\n[reply]\ntext = \"?\"\n[[reply.attachments]]\ntext = \"vote\"\nactions = [\n  { id = \"yes\", name = \"Yes\", action = \"yes\" },\n  { id = \"no\", name = \"No\", action = \"no\" },\n]\n[actions.yes.reply]\ntext = \"y\"\n",
        )]);
        assert!(
            all.iter().any(|p| p.contains(
                "b.toml:7: `reply.attachments[0].actions[1].action`: `no` is not an action"
            )),
            "{all:?}"
        );
    }

    #[test]
    fn an_exec_program_that_is_missing_or_not_executable_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plain.sh"), "echo").unwrap();
        std::fs::write(
            dir.path().join("a.toml"),
            "[command]\ntrigger = \"a\"\n[exec]\nprogram = \"missing.sh\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.toml"),
            "[command]\ntrigger = \"b\"\n[exec]\nprogram = \"plain.sh\"\n",
        )
        .unwrap();
        let all: Vec<String> = load_dir(dir.path())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            all.iter()
                .any(|p| p.contains("a.toml:4: `exec.program`") && p.contains("cannot be used")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|p| p.contains("b.toml:4: `exec.program`") && p.contains("not executable")),
            "{all:?}"
        );
    }

    #[test]
    fn exec_paths_of_a_relative_routes_dir_are_resolved_to_absolute_paths() {
        // `cargo test` runs in the package root, like a user running `switchboard` there with
        // the default `dir = "routes"`. The program must not depend on the working directory
        // (the process starts in `cwd`, the routes directory).
        let set = load_dir(Path::new("routes")).unwrap();
        let Action::Exec(exec) = &set.get("deploy").unwrap().actions["run"] else {
            panic!("deploy.run is an exec action");
        };
        assert!(exec.program.is_absolute(), "{}", exec.program.display());
        assert!(exec.program.ends_with("routes/scripts/deploy.sh"));
        assert!(exec.program.is_file(), "{}", exec.program.display());
    }

    #[test]
    fn argument_problems_point_at_their_element() {
        let all = problems(&[(
            "a.toml",
            "[command]\ntrigger = \"a\"\n[[args]]\nname = \"ok\"\n[[args]]\nname = \"c\"\ntype = \"choice\"\n[reply]\ntext = \"{{ args.ok }}\"\n",
        )]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].ends_with("a.toml:5: `args[1].choices`: a choice needs `choices`"),
            "{all:?}"
        );
    }

    #[test]
    fn two_actions_in_one_route_are_refused() {
        let all = problems(&[(
            "a.toml",
            "[command]\ntrigger = \"a\"\n[reply]\ntext = \"x\"\n[post]\nchannel = \"c\"\nmessage = \"m\"\n",
        )]);
        assert!(all.iter().any(|p| p.contains("only one action")), "{all:?}");
    }

    #[test]
    fn a_route_without_trigger_or_action_is_reported() {
        let all = problems(&[("a.toml", "description = \"nothing\"\n")]);
        assert!(all.iter().any(|p| p.contains("needs a trigger")), "{all:?}");
        assert!(all.iter().any(|p| p.contains("needs an action")), "{all:?}");
    }

    #[test]
    fn a_pattern_that_does_not_compile_is_the_only_problem_reported_for_its_groups() {
        for trigger in ["hook", "message"] {
            let all = problems(&[(
                "re.toml",
                &format!(
                    "[{trigger}]\ntrigger_words = [\"re\"]\npattern = '^re (?P<x>[a-z+$'\n[reply]\ntext = \"{{{{ captures.x }}}}\"\n"
                ),
            )]);
            assert_eq!(all.len(), 1, "{all:?}");
            assert!(
                all[0].contains(&format!("re.toml:3: `{trigger}.pattern`")),
                "{all:?}"
            );
        }
    }

    #[test]
    fn a_bad_dialog_pattern_is_shown_as_written() {
        let all = problems(&[(
            "d.toml",
            "[command]\ntrigger = \"d\"\n[dialog]\ntitle = \"D\"\n[[dialog.elements]]\nname = \"x\"\ndisplay_name = \"X\"\ntype = \"text\"\npattern = '[a-z'\n",
        )]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains("d.toml:9: `dialog.elements[0].pattern`: not a regular expression")
                && all[0].contains("\n    [a-z\n"),
            "{all:?}"
        );
        assert!(!all[0].contains("^(?:"), "{all:?}");
    }

    #[test]
    fn a_bad_hook_pattern_is_reported() {
        let all = problems(&[(
            "h.toml",
            "[hook]\ntrigger_words = [\"x\"]\npattern = \"(\"\n[reply]\ntext = \"t\"\n",
        )]);
        assert!(
            all.iter().any(|p| p.contains("h.toml:3: `hook.pattern`")),
            "{all:?}"
        );
    }

    #[test]
    fn trigger_problems_are_reported_with_file_line_and_key() {
        let all = problems(&[
            (
                "s.toml",
                "[schedule]\nchannel = \"c\"\ncron = \"0 25 * * *\"\n[reply]\ntext = \"t\"\n",
            ),
            (
                "m.toml",
                "[message]\ntrigger_words = [\"x\"]\npattern = \"(?P<a\"\n[reply]\ntext = \"{{ captures.b }}\"\n",
            ),
            (
                "w.toml",
                "[webhook]\nchannel = \"c\"\nallow_from = [\"300.0.0.1\"]\nhmac_secret_env = \"lower\"\n[dialog]\ntitle = \"t\"\non_submit = \"x\"\n[actions.x.reply]\ntext = \"t\"\n",
            ),
            (
                "t.toml",
                "[schedule]\nevery_secs = 60\nchannel = \"c\"\n[reply]\ntext = \"{{ body.x }}\"\n",
            ),
        ]);
        for expected in [
            "s.toml:3: `schedule.cron`",
            "m.toml:3: `message.pattern`",
            "w.toml:3: `webhook.allow_from`",
            "w.toml:4: `webhook.hmac_secret_env`",
            "w.toml:5: `dialog`: a webhook or schedule has no user",
            "t.toml:5: `reply.text`: template",
        ] {
            assert!(
                all.iter().any(|p| p.contains(expected)),
                "{expected} missing in {all:?}"
            );
        }
    }

    #[test]
    fn the_hint_is_generated_from_the_arguments() {
        let set = load(&[(
            "a.toml",
            "[command]\ntrigger = \"a\"\n[[args]]\nname = \"env\"\nrequired = true\n[reply]\ntext = \"{{ args.env }}\"\n",
        )])
        .unwrap();
        assert_eq!(
            set.get("a").unwrap().command.as_ref().unwrap().hint,
            "<env>"
        );
    }
}
