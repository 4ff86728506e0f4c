//! Triggers used by more than one route file: `/hello` declared twice, or the same hook
//! trigger word in the same channel. The later file in file-name order is the culprit; the
//! message names the earlier file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::load::LoadProblem;
use super::locate::KeyFinder;
use super::spec::RouteFile;

/// The triggers one file declares, with their lines.
#[derive(Debug)]
pub(super) struct Triggers {
    file: PathBuf,
    command: Option<(String, Option<usize>)>,
    hook_words: Vec<String>,
    hook_channel: Option<String>,
    hook_line: Option<usize>,
}

impl Triggers {
    pub(super) fn of(file: &Path, source: &str, spec: &RouteFile) -> Triggers {
        let keys = KeyFinder::new(source);
        Triggers {
            file: file.to_path_buf(),
            command: spec
                .command
                .as_ref()
                .map(|c| (c.trigger.clone(), keys.line("command", None, "trigger"))),
            hook_words: spec
                .hook
                .as_ref()
                .map(|h| h.trigger_words.clone())
                .unwrap_or_default(),
            hook_channel: spec.hook.as_ref().and_then(|h| h.channel.clone()),
            hook_line: keys.line("hook", None, "trigger_words"),
        }
    }
}

/// A trigger used twice: the later file (in file-name order) is the culprit, and the message
/// names the file (and line) that had it first.
pub(super) fn check_unique_triggers(all: &[Triggers], problems: &mut Vec<LoadProblem>) {
    let at = |file: &Path, line: Option<usize>| match line {
        Some(line) => format!("{}:{line}", file.display()),
        None => file.display().to_string(),
    };
    /// A file and the line in it.
    type Place<'a> = (&'a Path, Option<usize>);
    let mut seen: HashMap<&str, Place<'_>> = HashMap::new();
    let mut words: HashMap<(&str, Option<&str>), Place<'_>> = HashMap::new();
    for t in all {
        if let Some((trigger, line)) = &t.command {
            if let Some((first, first_line)) = seen.get(trigger.as_str()) {
                problems.push(LoadProblem {
                    file: t.file.clone(),
                    line: *line,
                    key: Some("command.trigger".into()),
                    message: format!(
                        "trigger `/{trigger}` is already used by {}",
                        at(first, *first_line)
                    ),
                });
            } else {
                seen.insert(trigger, (&t.file, *line));
            }
        }
        for word in &t.hook_words {
            let key = (word.as_str(), t.hook_channel.as_deref());
            if let Some((first, first_line)) = words.get(&key) {
                problems.push(LoadProblem {
                    file: t.file.clone(),
                    line: t.hook_line,
                    key: Some("hook.trigger_words".into()),
                    message: format!(
                        "trigger word `{word}` is already used by {}",
                        at(first, *first_line)
                    ),
                });
            } else {
                words.insert(key, (&t.file, t.hook_line));
            }
        }
    }
}
