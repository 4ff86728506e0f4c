//! Every value of the wrong type in a route file, not only the first: the typed parse stops at
//! the first one, which hid the file's other problems until it was fixed.
//!
//! Each wrong value is reported by its path and taken out of the parsed table, and the rest is
//! parsed again, until it parses or a required key is missing. A key taken out is then missing:
//! that follows from the first report and is not reported again.

use serde_path_to_error::{Path, Segment};

use super::locate::{KeyFinder, key_line};
use super::spec::RouteFile;

/// The most wrong values reported per file (each one is another parse of the file).
const MOST: usize = 50;

/// One step of a path into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
    /// An enum variant or a step `serde_path_to_error` could not name: nothing to take out.
    Other,
}

fn steps(path: &Path) -> Vec<Step> {
    path.iter()
        .map(|segment| match segment {
            Segment::Map { key } => Step::Key(key.clone()),
            Segment::Seq { index } => Step::Index(*index),
            _ => Step::Other,
        })
        .collect()
}

/// A value of the wrong type (or a missing key) in a file, by its path (`args[0].required`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TypeError {
    /// Where it is, as `serde_path_to_error` writes it; `None` at the top.
    pub(super) path: Option<String>,
    /// What is wrong, as the TOML deserialiser says it.
    pub(super) message: String,
}

/// `table` parsed as a route file with every wrong value taken out, and each one found.
/// `None` when what is left does not parse (a required key is missing).
pub(super) fn parse_reporting_each(mut table: toml::Table) -> (Option<RouteFile>, Vec<TypeError>) {
    let mut found = Vec::new();
    let mut removed: Vec<Vec<Step>> = Vec::new();
    while found.len() < MOST {
        let value = toml::Value::Table(table.clone());
        let error = match serde_path_to_error::deserialize::<_, RouteFile>(value) {
            Ok(spec) => return (Some(spec), found),
            Err(error) => error,
        };
        let segments = steps(error.path());
        let message = error.inner().message().trim().to_owned();
        let missing = message.starts_with("missing field");
        // A key taken out below, now missing: its own report stands.
        if missing
            && removed
                .iter()
                .any(|r| is_missing_removed(r, &segments, &message))
        {
            return (None, found);
        }
        let path = error.path().to_string();
        found.push(TypeError {
            path: (path != ".").then_some(path),
            message,
        });
        // A wrong item of an array takes the array out: taking out the item alone would
        // shift the paths of the items after it.
        let mut target = segments;
        while matches!(target.last(), Some(Step::Index(_))) {
            target.pop();
        }
        if missing || !remove(&mut table, &target) {
            return (None, found);
        }
        removed.push(target);
    }
    (None, found)
}

/// The line of `path` in the file: a key of an element of an array of tables
/// (`args[0].required`) is looked for in that element's table, which [`key_line`] does only
/// for attachments and dialog elements; a table missing a key (`post`, `args[0]`) is shown at
/// its header.
pub(super) fn line(keys: &KeyFinder<'_>, path: &str) -> Option<usize> {
    let element = |head: &str| -> Option<(String, usize)> {
        let (section, index) = head.strip_suffix(']')?.rsplit_once('[')?;
        Some((section.to_owned(), index.parse().ok()?))
    };
    let in_element = path.rsplit_once('.').and_then(|(head, key)| {
        let (section, index) = element(head)?;
        (!key.contains('[')).then(|| keys.line(&section, Some(index), key))?
    });
    let header = || match element(path) {
        Some((section, index)) => keys.line(&section, Some(index), ""),
        None => keys.line(path, None, ""),
    };
    in_element.or_else(|| key_line(keys, path)).or_else(header)
}

/// Whether `message` (`missing field \`x\``) at `at` is about the key `removed`.
fn is_missing_removed(removed: &[Step], at: &[Step], message: &str) -> bool {
    let Some((last, parent)) = removed.split_last() else {
        return false;
    };
    let Step::Key(key) = last else {
        return false;
    };
    parent == at && message.starts_with(&format!("missing field `{key}`"))
}

/// Takes the value at `path` out of `table`; `false` when there is none to take.
fn remove(table: &mut toml::Table, path: &[Step]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut at: &mut toml::Value = match parent.first() {
        None => {
            return match last {
                Step::Key(key) => table.remove(key).is_some(),
                _ => false,
            };
        }
        Some(Step::Key(key)) => match table.get_mut(key) {
            Some(value) => value,
            None => return false,
        },
        Some(_) => return false,
    };
    for segment in parent.iter().skip(1) {
        at = match (segment, at) {
            (Step::Key(key), toml::Value::Table(t)) => match t.get_mut(key) {
                Some(value) => value,
                None => return false,
            },
            (Step::Index(index), toml::Value::Array(a)) => match a.get_mut(*index) {
                Some(value) => value,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, at) {
        (Step::Key(key), toml::Value::Table(t)) => t.remove(key).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str) -> (Option<RouteFile>, Vec<TypeError>) {
        parse_reporting_each(toml::from_str(source).unwrap())
    }

    #[test]
    fn every_wrong_value_is_found_and_the_rest_parses() {
        let (spec, found) = parse(
            "[command]\ntrigger = \"t\"\ndescription = 5\n[[args]]\nname = \"a\"\nrequired = \"yes\"\n[reply]\ntext = \"hi\"\n",
        );
        let paths: Vec<_> = found.iter().filter_map(|e| e.path.clone()).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            paths.contains(&"command.description".to_owned()),
            "{found:?}"
        );
        assert!(paths.contains(&"args[0].required".to_owned()), "{found:?}");
        assert!(
            found.iter().all(|e| e.message.contains("invalid type")),
            "{found:?}"
        );
        assert!(spec.is_some());
    }

    #[test]
    fn a_required_key_of_the_wrong_type_is_reported_once() {
        let (spec, found) = parse("[command]\ntrigger = 5\n[reply]\ntext = \"hi\"\n");
        assert!(spec.is_none());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path.as_deref(), Some("command.trigger"));
    }
}
