//! Loading `routes/*.toml`: parse, validate, and collect every problem.
//!
//! Nothing stops at the first problem: each file is checked as far as it can be, and problems
//! across files (duplicate triggers) are added at the end. Each problem names the file, the
//! line (found by walking the TOML's section headers, see [`KeyFinder`]) and the key, e.g.
//! `routes/deploy.toml:14: \`exec.program\`: …`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;

use super::access::Access;
use super::args::ArgParser;
use super::context::{Context, SampleShape};
use super::dialog::DialogAction;
use super::exec::ExecAction;
use super::http::{HttpAction, HttpError};
use super::post::PostAction;
use super::reply::{NoLinks, ReplyAction};
use super::spec::{ActionSpec, CommandSpec, HookSpec, RouteFile, TriggerWhen};
use super::template::TemplateError;
use super::triggers::{self, MessageTrigger, ScheduleTrigger, WebhookTrigger};
use super::{Action, BUILT_IN_TRIGGERS, Route, RouteSet};

/// A route's compiled `[webhook]`, `[schedule]` and `[message]`.
#[derive(Default)]
struct Triggers {
    webhook: Option<WebhookTrigger>,
    schedule: Option<ScheduleTrigger>,
    message: Option<MessageTrigger>,
}

impl Triggers {
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
pub fn load_dir(dir: &Path) -> Result<RouteSet, Vec<LoadProblem>> {
    let dir_problem = |message: String| LoadProblem {
        file: dir.to_path_buf(),
        line: None,
        key: None,
        message,
    };
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
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(source) => {
                let mut checker = FileChecker::new(&file, &source, dir);
                if let Some(route) = checker.load() {
                    routes.push(route);
                }
                problems.append(&mut checker.problems);
            }
            Err(e) => problems.push(LoadProblem {
                file: file.clone(),
                line: None,
                key: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    check_unique_triggers(&routes, &mut problems);
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
    base: &'a Path,
    keys: KeyFinder<'a>,
    name: String,
    problems: Vec<LoadProblem>,
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

    /// A template problem: the key comes from the template's name, the line from the key's
    /// line plus the line within the template.
    fn template_problem(&mut self, fallback: &str, e: &TemplateError) {
        let full = e
            .name
            .as_deref()
            .and_then(|n| n.strip_prefix(&format!("{}.", self.name)))
            .unwrap_or(fallback)
            .to_owned();
        let (section, index, key) = split_key(&full);
        let line = self
            .keys
            .line(&section, index, &key)
            .map(|l| l + self.keys.value_offset(l) + e.line.unwrap_or(1) - 1);
        self.problems.push(LoadProblem {
            file: self.file.to_path_buf(),
            line,
            key: Some(full),
            message: format!("template: {}", e.message),
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
            Err(e) => {
                let line = e.span().map(|span| line_of(self.source, span.start));
                self.problems.push(LoadProblem {
                    file: self.file.to_path_buf(),
                    line,
                    key: None,
                    message: e.message().trim().to_owned(),
                });
                return None;
            }
        };

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
            captures: hook_pattern
                .iter()
                .flat_map(|r| r.capture_names().flatten().map(str::to_owned))
                .collect(),
            ..SampleShape::default()
        };
        triggers.extend_shape(&mut shape);
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
        // References between actions.
        let known: Vec<&String> = spec.actions.keys().collect();
        let mut references: Vec<(String, String, Option<usize>, &str)> = Vec::new();
        for (prefix, action) in std::iter::once((String::new(), &main)).chain(
            spec.actions
                .iter()
                .map(|(n, a)| (format!("actions.{n}."), a)),
        ) {
            if let Some(dialog) = &action.dialog {
                references.push((
                    format!("{prefix}dialog"),
                    dialog.on_submit.clone(),
                    None,
                    "on_submit",
                ));
            }
            if let Some(reply) = &action.reply {
                for (a, attachment) in reply.attachments.iter().enumerate() {
                    for button in &attachment.actions {
                        references.push((
                            format!("{prefix}reply.attachments"),
                            button.action.clone(),
                            Some(a),
                            "action",
                        ));
                    }
                }
            }
        }
        for (section, target, index, key) in references {
            if !known.iter().any(|k| **k == target) {
                self.problem(
                    &section,
                    index,
                    key,
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
        })
    }

    /// `[webhook]`, `[schedule]` and `[message]`, compiled; problems recorded with their key.
    fn check_triggers(&mut self, spec: &RouteFile) -> Triggers {
        let mut triggers = Triggers::default();
        if let Some(webhook) = &spec.webhook {
            match triggers::check_webhook(&self.name, webhook, self.base) {
                Ok(t) => triggers.webhook = Some(t),
                Err(problems) => {
                    for (key, message) in problems {
                        self.problem("webhook", None, key, message);
                    }
                }
            }
        }
        if let Some(schedule) = &spec.schedule {
            match triggers::check_schedule(schedule) {
                Ok(t) => triggers.schedule = Some(t),
                Err(problems) => {
                    for (key, message) in problems {
                        self.problem("schedule", None, key, message);
                    }
                }
            }
        }
        if let Some(message) = &spec.message {
            match triggers::check_message(message) {
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
        match Regex::new(pattern) {
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
                .and_then(|r| r.render(sample.clone(), &NoLinks).map(|_| r));
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
                Ok(d) => match d.build(&sample, "x", String::new()) {
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

/// Why an exec program cannot run, if it cannot.
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
    None
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

fn check_unique_triggers(routes: &[Route], problems: &mut Vec<LoadProblem>) {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    let mut words: HashMap<(&str, Option<&str>), &Path> = HashMap::new();
    for route in routes {
        let line =
            |key: &str, section: &str| KeyFinder::new(&route.source).line(section, None, key);
        if let Some(command) = &route.command {
            if let Some(first) = seen.insert(&command.trigger, &route.file) {
                problems.push(LoadProblem {
                    file: route.file.clone(),
                    line: line("trigger", "command"),
                    key: Some("command.trigger".into()),
                    message: format!(
                        "trigger `/{}` is already used by {}",
                        command.trigger,
                        first.display()
                    ),
                });
            }
        }
        if let Some(hook) = &route.hook {
            for word in &hook.trigger_words {
                if let Some(first) = words.insert((word, hook.channel.as_deref()), &route.file) {
                    problems.push(LoadProblem {
                        file: route.file.clone(),
                        line: line("trigger_words", "hook"),
                        key: Some("hook.trigger_words".into()),
                        message: format!(
                            "trigger word `{word}` is already used by {}",
                            first.display()
                        ),
                    });
                }
            }
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// `actions.run.exec.args[1]` → (`actions.run.exec`, None, `args`); `dialog.elements[2].default`
/// → (`dialog.elements`, Some(2), `default`).
fn split_key(full: &str) -> (String, Option<usize>, String) {
    // An indexed array of tables: everything up to `[i]` is the section.
    if let Some(open) = full.find('[') {
        if let Some(close) = full[open..].find(']') {
            let index = full[open + 1..open + close].parse().ok();
            let section = full[..open].to_owned();
            let key = full[open + close + 1..]
                .trim_start_matches('.')
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned();
            if section.ends_with("attachments") || section.ends_with("elements") {
                return (section, index, key);
            }
            // `exec.args[1]`: an array value, not a table.
            let (section, key) = section.rsplit_once('.').unwrap_or(("", &section));
            return (section.to_owned(), None, key.to_owned());
        }
    }
    match full.rsplit_once('.') {
        Some((section, key)) => (section.to_owned(), None, key.to_owned()),
        None => (String::new(), None, full.to_owned()),
    }
}

/// Finds the line of a key in a TOML source by following section headers (`[exec]`,
/// `[[args]]`, `[actions.run.reply]`), so a problem points at the right `text =` among several.
/// Lines inside multi-line strings are skipped.
struct KeyFinder<'a> {
    lines: Vec<(&'a str, bool)>,
}

impl<'a> KeyFinder<'a> {
    fn new(source: &'a str) -> Self {
        let mut in_string = false;
        let lines = source
            .lines()
            .map(|line| {
                let was_in_string = in_string;
                if line.matches("\"\"\"").count() % 2 == 1 || line.matches("'''").count() % 2 == 1 {
                    in_string = !in_string;
                }
                (line, was_in_string)
            })
            .collect();
        KeyFinder { lines }
    }

    /// The line of `key` in `section` (its `index`-th element for arrays of tables); the
    /// section header's line when `key` is empty or not found; `None` when neither is.
    fn line(&self, section: &str, index: Option<usize>, key: &str) -> Option<usize> {
        let mut current = String::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut current_index: Option<usize> = None;
        let mut header_line = None;
        for (i, (line, in_string)) in self.lines.iter().enumerate() {
            if *in_string {
                continue;
            }
            let trimmed = line.trim();
            if let Some(inner) = trimmed
                .strip_prefix("[[")
                .and_then(|r| r.split("]]").next())
            {
                current = inner.trim().to_owned();
                let count = counts.entry(current.clone()).or_insert(0);
                current_index = Some(*count);
                *count += 1;
            } else if let Some(inner) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next())
            {
                current = inner.trim().to_owned();
                current_index = None;
            } else {
                if current == section
                    && (index.is_none() || current_index == index)
                    && !key.is_empty()
                {
                    let k = trimmed.trim_start_matches('"');
                    if k.strip_prefix(key).is_some_and(|rest| {
                        rest.trim_start_matches('"').trim_start().starts_with('=')
                    }) {
                        return Some(i + 1);
                    }
                }
                continue;
            }
            if current == section && (index.is_none() || current_index == index) {
                header_line.get_or_insert(i + 1);
            }
        }
        if section.is_empty() && header_line.is_none() {
            return None;
        }
        header_line
    }

    /// 1 when the value on `line` is a multi-line string whose text starts on the next line.
    fn value_offset(&self, line: usize) -> usize {
        self.lines.get(line.wrapping_sub(1)).map_or(0, |(l, _)| {
            let l = l.trim_end();
            usize::from(l.ends_with("\"\"\"") || l.ends_with("'''"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(all.len(), 1);
        assert!(all[0].contains("bad.toml:3"), "{all:?}");
        assert!(all[0].contains("trigerr"), "{all:?}");
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
