//! Loading `routes/*.toml`: parse, validate, and collect every problem.
//!
//! Nothing stops at the first problem: each file is checked as far as it can be, and problems
//! across files (duplicate triggers) are added at the end. Each problem names the file, the
//! line (found by walking the TOML's section headers, see [`KeyFinder`]) and the key, e.g.
//! `routes/deploy.toml:14: \`exec.program\`: …`.
//!
//! Here: reading the directory and one file's checks in order ([`FileChecker::load`]). Beside
//! it: `report` (recording a problem at its line; unknown keys and wrong values),
//! `trigger_checks` (`[command]`, `[hook]`, `[webhook]`, `[schedule]`, `[message]`) and
//! `actions` (compiling the action, and whether an exec program can start).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::access::Access;
use super::args::ArgParser;
use super::buttons::button_problems;
use super::context::{DeclaredKeys, SampleShape};
use super::locate::{KeyFinder, line_of};
use super::spec::{ActionSpec, ArgType, RouteFile};
use super::triggers::{Triggers, check_unique_triggers};
use super::variables::unknown_variables;
use super::{Route, RouteSet};

mod actions;
mod report;
mod trigger_checks;

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
                checker.drop_stand_in_problems();
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
    /// Required keys of the wrong type (reported) whose value a stand-in of the expected type
    /// replaced so the rest of the file is checked, and how many problems were recorded then:
    /// problems found later at these keys are the stand-in's, not the file's.
    stood_in: (Vec<String>, usize),
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
            stood_in: (Vec::new(), 0),
        }
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
}

#[cfg(test)]
mod tests;
