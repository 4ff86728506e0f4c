//! How a route file's problems are recorded: each with its file, line and key, the line
//! found from the key (or from the template's own line), and the unknown keys and wrong
//! values the typed parse would stop at, all reported in one run.

use super::{FileChecker, LoadProblem};
use crate::integrations::keys::unknown_keys;
use crate::integrations::locate::{key_line, split_key, variable_line};
use crate::integrations::spec::RouteFile;
use crate::integrations::template::TemplateError;
use crate::integrations::type_errors;
use crate::integrations::variables::UnknownVariable;

impl FileChecker<'_> {
    /// Records a problem at `section` (e.g. `exec`, `args`), element `index` of an array of
    /// tables, `key`.
    pub(super) fn problem(
        &mut self,
        section: &str,
        index: Option<usize>,
        key: &str,
        message: String,
    ) {
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
    pub(super) fn failing_key(&self) -> Option<String> {
        let deserializer = toml::de::Deserializer::parse(self.source).ok()?;
        let error = serde_path_to_error::deserialize::<_, RouteFile>(deserializer).err()?;
        let path = error.path().to_string();
        (path != ".").then_some(path)
    }

    /// A problem of the value of `full` (`reply.attachments[0].actions[1].action`), at that
    /// key's line or its nearest enclosing key's.
    pub(super) fn problem_at(&mut self, full: &str, message: String) {
        self.problems.push(LoadProblem {
            file: self.file.to_path_buf(),
            line: self.key_line(full),
            key: Some(full.to_owned()),
            message,
        });
    }

    /// An unknown variable, at the line of the template's key where the variable first
    /// appears (a multi-line template, an inline table spanning lines).
    pub(super) fn variable_problem(&mut self, unknown: &UnknownVariable) {
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
    pub(super) fn key_line(&self, full: &str) -> Option<usize> {
        key_line(&self.keys, full)
    }

    /// A template problem: the key comes from the template's name, the line from the key's
    /// line plus the line within the template.
    pub(super) fn template_problem(&mut self, fallback: &str, e: &TemplateError) {
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

    /// The typed parse stops at the first unknown key or wrong value: report every unknown
    /// key and every wrong value of the file (see [`type_errors`]) and parse what is left, so
    /// the file's other problems show in the same run. `None` when the file is not TOML (the
    /// typed parse's own error is then the one to report); `Some(None)` when what is left
    /// does not parse either (every problem found is recorded).
    pub(super) fn without_unknown_keys(&mut self) -> Option<Option<RouteFile>> {
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
            if error.stood_in
                && let Some(path) = &error.path
            {
                // A stand-in variant of an element's kind (a dialog element's `type`) makes
                // the element's other keys meaningless to check: its `options` are right for
                // the `select` it was meant to be, not for the `text` standing in.
                let element = path
                    .rsplit_once('.')
                    .filter(|(parent, _)| {
                        parent.ends_with(']') && error.message.starts_with("unknown variant")
                    })
                    .map(|(parent, _)| parent);
                self.stood_in.0.push(element.unwrap_or(path).to_owned());
            }
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
        self.stood_in.1 = self.problems.len();
        Some(spec)
    }

    /// Drops the problems found at a key (or below it) after a stand-in took its wrong value's
    /// place: the key's own report stands, and the stand-in's (an empty trigger) are not the
    /// file's. The file's triggers, a stand-in's among them, then take no part in the check
    /// for duplicates.
    pub(super) fn drop_stand_in_problems(&mut self) {
        let (keys, recorded) = &self.stood_in;
        if keys.is_empty() {
            return;
        }
        let under = |key: &str| {
            keys.iter().any(|k| {
                key.strip_prefix(k.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
        };
        let mut index = 0;
        self.problems.retain(|problem| {
            let later = index >= *recorded;
            index += 1;
            !(later && problem.key.as_deref().is_some_and(under))
        });
        self.triggers = None;
    }
}
