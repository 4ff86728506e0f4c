//! Where in a route file a problem is: the line of a key (following `[section]` and
//! `[[array]]` headers), of a variable inside a template, and of a run-time template error.

use std::collections::HashMap;

use regex::Regex;

use super::Route;
use super::template::TemplateError;

/// The line of a full key (`actions.vote.reply.props.votes`), or of the nearest enclosing
/// key that has a line of its own.
pub(super) fn key_line(keys: &KeyFinder<'_>, full: &str) -> Option<usize> {
    let mut full = full.to_owned();
    loop {
        let (section, index, key) = split_key(&full);
        if let Some(line) = keys.line(&section, index, &key) {
            return Some(line);
        }
        let cut = full.rfind(['.', '['])?;
        full.truncate(cut);
    }
}

/// Where a template error of `route` happened, as `file:line` (the line of the template's
/// key plus the line within the template), for run-time errors in the log.
pub(crate) fn template_location(route: &Route, e: &TemplateError) -> String {
    let keys = KeyFinder::new(&route.source);
    let line = e
        .name
        .as_deref()
        .and_then(|n| n.strip_prefix(&format!("{}.", route.name)))
        .and_then(|key| key_line(&keys, key))
        .map(|l| l + keys.value_offset(l) + e.line.unwrap_or(1) - 1);
    match line {
        Some(line) => format!("{}:{line}", route.file.display()),
        None => route.file.display().to_string(),
    }
}

/// The first line from `start` (1-based) where `path` (`user.nmae`, `usr`) appears as a
/// variable, not as an attribute of another one.
pub(super) fn variable_line(source: &str, start: usize, path: &str) -> Option<usize> {
    let mut pattern = String::from(r"(?:^|[^\w.])");
    for (i, part) in path.split('.').enumerate() {
        if i > 0 {
            pattern.push_str(r"\s*\.\s*");
        }
        pattern.push_str(&regex::escape(part));
    }
    pattern.push_str(r"\b");
    let re = Regex::new(&pattern).ok()?;
    source
        .lines()
        .enumerate()
        .skip(start.saturating_sub(1))
        .find(|(_, line)| re.is_match(line))
        .map(|(i, _)| i + 1)
}

/// 1-based line of a byte offset.
pub(super) fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// `actions.run.exec.args[1]` → (`actions.run.exec`, None, `args`); `dialog.elements[2].default`
/// → (`dialog.elements`, Some(2), `default`).
pub(super) fn split_key(full: &str) -> (String, Option<usize>, String) {
    // An indexed array of tables: everything up to `[i]` is the section.
    if let Some(open) = full.find('[') {
        if let Some(close) = full[open..].find(']') {
            let index = full[open + 1..open + close].parse().ok();
            let section = full[..open].to_owned();
            // `actions[1]` within the table: the line of `actions = [`.
            let key = full[open + close + 1..]
                .trim_start_matches('.')
                .split(['.', '['])
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
pub(super) struct KeyFinder<'a> {
    lines: Vec<(&'a str, bool)>,
}

impl<'a> KeyFinder<'a> {
    pub(super) fn new(source: &'a str) -> Self {
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
    pub(super) fn line(&self, section: &str, index: Option<usize>, key: &str) -> Option<usize> {
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
    pub(super) fn value_offset(&self, line: usize) -> usize {
        self.lines.get(line.wrapping_sub(1)).map_or(0, |(l, _)| {
            let l = l.trim_end();
            usize::from(l.ends_with("\"\"\"") || l.ends_with("'''"))
        })
    }
}
