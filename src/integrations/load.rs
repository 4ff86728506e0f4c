//! Loading `routes/*.toml`: parse, validate, and collect every problem.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::context::CommandContext;
use super::reply::ReplyAction;
use super::spec::{CommandSpec, RouteFile};
use super::{Action, BUILT_IN_TRIGGERS, Route, RouteSet};

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
            Ok(source) => match load_file(&file, &source) {
                Ok(route) => routes.push(route),
                Err(mut found) => problems.append(&mut found),
            },
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

/// Parses and validates one file.
fn load_file(file: &Path, source: &str) -> Result<Route, Vec<LoadProblem>> {
    let problem = |line: Option<usize>, key: Option<&str>, message: String| LoadProblem {
        file: file.to_path_buf(),
        line,
        key: key.map(str::to_owned),
        message,
    };
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    let mut problems = Vec::new();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        problems.push(problem(
            None,
            None,
            "file name must be lower-case letters, digits, `-` or `_` (it names the callback URL)"
                .into(),
        ));
    }
    let spec: RouteFile = match toml::from_str(source) {
        Ok(spec) => spec,
        Err(e) => {
            let line = e.span().map(|span| line_of(source, span.start));
            problems.push(problem(line, None, e.message().trim().to_owned()));
            return Err(problems);
        }
    };
    let line_of_key = |key: &str| find_key_line(source, key);

    let Some(command) = spec.command else {
        problems.push(problem(
            None,
            Some("command"),
            "a route needs a `[command]` trigger".into(),
        ));
        return Err(problems);
    };
    for message in validate_trigger(&command) {
        problems.push(problem(
            line_of_key("trigger"),
            Some("command.trigger"),
            message,
        ));
    }
    if command.display_name.chars().count() > 64 {
        problems.push(problem(
            line_of_key("display_name"),
            Some("command.display_name"),
            "at most 64 characters".into(),
        ));
    }
    if command.description.chars().count() > 128 {
        problems.push(problem(
            line_of_key("description"),
            Some("command.description"),
            "at most 128 characters".into(),
        ));
    }

    let action = match spec.reply {
        Some(reply) => match ReplyAction::compile(&name, &reply).and_then(|action| {
            action.respond(&CommandContext::sample(&command.trigger))?;
            Ok(action)
        }) {
            Ok(action) => Some(Action::Reply(action)),
            Err(e) => {
                let line = line_of_key("text").map(|l| l + e.line.unwrap_or(1) - 1);
                problems.push(problem(
                    line,
                    Some("reply.text"),
                    format!("template: {}", e.message),
                ));
                None
            }
        },
        None => {
            problems.push(problem(
                None,
                None,
                "a route needs an action such as `[reply]`".into(),
            ));
            None
        }
    };
    match action {
        Some(action) if problems.is_empty() => Ok(Route {
            name,
            file: file.to_path_buf(),
            command,
            action,
        }),
        _ => Err(problems),
    }
}

/// Mattermost's trigger rules (PROTOCOL.md §1.1), checked before registering.
fn validate_trigger(command: &CommandSpec) -> Vec<String> {
    let trigger = &command.trigger;
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
    if BUILT_IN_TRIGGERS.contains(&trigger.as_str()) {
        problems.push(format!(
            "`/{trigger}` is a Mattermost built-in command and cannot be registered"
        ));
    }
    problems
}

fn check_unique_triggers(routes: &[Route], problems: &mut Vec<LoadProblem>) {
    let mut seen: HashMap<&str, &Path> = HashMap::new();
    for route in routes {
        if let Some(first) = seen.insert(&route.command.trigger, &route.file) {
            problems.push(LoadProblem {
                file: route.file.clone(),
                line: None,
                key: Some("command.trigger".into()),
                message: format!(
                    "trigger `/{}` is already used by {}",
                    route.command.trigger,
                    first.display()
                ),
            });
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// 1-based line where `key =` is first assigned.
fn find_key_line(source: &str, key: &str) -> Option<usize> {
    source
        .lines()
        .position(|line| {
            let line = line.trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
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

    const HELLO: &str = "[command]\ntrigger = \"hello\"\n[reply]\ntext = \"hi {{ user.name }}\"\n";

    #[test]
    fn a_valid_route_loads() {
        let set = load(&[("hello.toml", HELLO)]).unwrap();
        assert_eq!(set.get("hello").unwrap().command.trigger, "hello");
    }

    #[test]
    fn an_unknown_key_is_reported_with_file_and_line() {
        let problems =
            load(&[("bad.toml", "[command]\ntrigger = \"x\"\ntrigerr = 1\n")]).unwrap_err();
        assert_eq!(problems.len(), 1);
        let text = problems[0].to_string();
        assert!(text.contains("bad.toml:3"), "{text}");
        assert!(text.contains("trigerr"), "{text}");
    }

    #[test]
    fn a_built_in_trigger_is_refused() {
        let problems = load(&[("e.toml", &HELLO.replace("hello", "echo"))]).unwrap_err();
        assert!(problems[0].to_string().contains("built-in"), "{problems:?}");
    }

    #[test]
    fn every_problem_in_every_file_is_reported() {
        let problems = load(&[
            (
                "a.toml",
                "[command]\ntrigger = \"Bad Trigger\"\n[reply]\ntext = \"{{ nope }}\"\n",
            ),
            ("b.toml", "not toml at all ["),
        ])
        .unwrap_err();
        let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            all.iter()
                .any(|p| p.contains("a.toml") && p.contains("spaces")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|p| p.contains("a.toml") && p.contains("lower case")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|p| p.contains("a.toml:4") && p.contains("template")),
            "{all:?}"
        );
        assert!(all.iter().any(|p| p.contains("b.toml:1")), "{all:?}");
    }

    #[test]
    fn duplicate_triggers_across_files_are_reported() {
        let problems = load(&[("a.toml", HELLO), ("b.toml", HELLO)]).unwrap_err();
        assert!(
            problems[0].to_string().contains("already used by"),
            "{problems:?}"
        );
    }
}
