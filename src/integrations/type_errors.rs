//! Every value of the wrong type in a route file, not only the first: the typed parse stops at
//! the first one, which hid the file's other problems until it was fixed.
//!
//! Each wrong value is reported by its path and taken out of the parsed table, and the rest is
//! parsed again, until it parses or a required key is missing. A key taken out is then missing:
//! that follows from the first report and is not reported again. When the key is required, a
//! stand-in of the type the parse expected (`""`, `0`, `false`, `[]`, an enum's first variant)
//! takes its place, so one wrong required key does not hide the rest of the file; the
//! checks after the parse leave that key alone (the stand-in's problems are not the file's).

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
    /// A stand-in of the expected type took the value's place (the key is required).
    pub(super) stood_in: bool,
}

/// `table` parsed as a route file with every wrong value taken out, and each one found.
/// `None` when what is left does not parse (a required key is missing).
pub(super) fn parse_reporting_each(mut table: toml::Table) -> (Option<RouteFile>, Vec<TypeError>) {
    let mut found: Vec<TypeError> = Vec::new();
    // What was taken out, the stand-in the parse's message names for it, and its report.
    let mut removed: Vec<Taken> = Vec::new();
    while found.len() < MOST {
        let value = toml::Value::Table(table.clone());
        let error = match serde_path_to_error::deserialize::<_, RouteFile>(value) {
            Ok(spec) => return (Some(spec), found),
            Err(error) => error,
        };
        let segments = steps(error.path());
        let message = error.inner().message().trim().to_owned();
        let missing = message.starts_with("missing field");
        // A key taken out below, now missing: its own report stands, and a stand-in of the
        // expected type goes in once so the rest of the file is parsed.
        if missing
            && let Some(taken) = removed
                .iter_mut()
                .find(|t| is_missing_removed(&t.path, &segments, &message))
        {
            let Some(stand_in) = taken.stand_in.take() else {
                return (None, found);
            };
            if !insert(&mut table, &taken.path, stand_in) {
                return (None, found);
            }
            found[taken.report].stood_in = true;
            continue;
        }
        // The stand-in itself is refused (a type the message did not name exactly): the
        // file's report stands, and nothing more is parsed.
        if removed
            .iter()
            .any(|t| t.path == segments && found[t.report].stood_in)
        {
            return (None, found);
        }
        let path = error.path().to_string();
        found.push(TypeError {
            path: (path != ".").then_some(path),
            message,
            stood_in: false,
        });
        // A wrong item of an array takes the array out: taking out the item alone would
        // shift the paths of the items after it.
        let mut target = segments;
        let whole = !matches!(target.last(), Some(Step::Index(_)));
        while matches!(target.last(), Some(Step::Index(_))) {
            target.pop();
        }
        if missing || !remove(&mut table, &target) {
            return (None, found);
        }
        let report = found.len() - 1;
        // An array taken out for one wrong item has no stand-in: the message is the item's.
        let stand_in = if whole {
            stand_in_for(&found[report].message)
        } else {
            None
        };
        removed.push(Taken {
            path: target,
            stand_in,
            report,
        });
    }
    (None, found)
}

/// A value taken out of the file.
struct Taken {
    path: Vec<Step>,
    /// What goes in its place if the key turns out to be required (once).
    stand_in: Option<toml::Value>,
    /// Its index among the reports.
    report: usize,
}

/// A value of the type the parse expected, from its message (`…, expected a string`, or for an
/// enum `unknown variant …, expected` and its variants); `None` for a table or a type it does
/// not name plainly.
fn stand_in_for(message: &str) -> Option<toml::Value> {
    let (_, expected) = message.rsplit_once("expected ")?;
    let value = match expected {
        "a string" => toml::Value::String(String::new()),
        "a boolean" => toml::Value::Boolean(false),
        "a sequence" => toml::Value::Array(Vec::new()),
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "an integer" => {
            toml::Value::Integer(0)
        }
        "f32" | "f64" => toml::Value::Float(0.0),
        // An enum: its first variant, named first in back quotes (`one of …` or `… or …`).
        variants => {
            let variants = variants.strip_prefix("one of ").unwrap_or(variants);
            let first = variants.strip_prefix('`')?.split('`').next()?;
            toml::Value::String(first.to_owned())
        }
    };
    Some(value)
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

/// Puts `value` at `path` of `table`, whose enclosing tables and arrays are there; `false`
/// when they are not.
fn insert(table: &mut toml::Table, path: &[Step], value: toml::Value) -> bool {
    let Some((Step::Key(key), parent)) = path.split_last() else {
        return false;
    };
    table_at(table, parent).is_some_and(|t| t.insert(key.clone(), value).is_none())
}

/// Takes the value at `path` out of `table`; `false` when there is none to take.
fn remove(table: &mut toml::Table, path: &[Step]) -> bool {
    let Some((Step::Key(key), parent)) = path.split_last() else {
        return false;
    };
    table_at(table, parent).is_some_and(|t| t.remove(key).is_some())
}

/// The table at `path` of `table` (`table` itself for an empty path); `None` when there is
/// none.
fn table_at<'t>(table: &'t mut toml::Table, path: &[Step]) -> Option<&'t mut toml::Table> {
    let Some((Step::Key(first), rest)) = path.split_first() else {
        return path.is_empty().then_some(table);
    };
    let mut at = table.get_mut(first)?;
    for segment in rest {
        at = match (segment, at) {
            (Step::Key(key), toml::Value::Table(t)) => t.get_mut(key)?,
            (Step::Index(index), toml::Value::Array(a)) => a.get_mut(*index)?,
            _ => return None,
        };
    }
    match at {
        toml::Value::Table(t) => Some(t),
        _ => None,
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
    fn a_required_key_of_the_wrong_type_is_reported_once_and_a_stand_in_parses_the_rest() {
        let (spec, found) =
            parse("[command]\ntrigger = 5\n[reply]\nvisibility = \"loud\"\ntext = \"hi\"\n");
        let paths: Vec<_> = found.iter().filter_map(|e| e.path.as_deref()).collect();
        assert_eq!(paths, ["command.trigger", "reply.visibility"], "{found:?}");
        // The trigger is required: a stand-in took its place. The visibility has a default:
        // taken out, it is not missed.
        assert!(found[0].stood_in && !found[1].stood_in, "{found:?}");
        let spec = spec.expect("parses with the stand-ins");
        assert_eq!(spec.command.map(|c| c.trigger).as_deref(), Some(""));
    }

    #[test]
    fn a_stand_in_goes_in_for_the_types_the_parse_names() {
        for (message, stand_in) in [
            (
                "invalid type: integer `5`, expected a string",
                Some(toml::Value::String(String::new())),
            ),
            (
                "invalid type: string \"yes\", expected a boolean",
                Some(toml::Value::Boolean(false)),
            ),
            (
                "invalid type: string \"x\", expected u64",
                Some(toml::Value::Integer(0)),
            ),
            (
                "invalid type: string \"x\", expected a sequence",
                Some(toml::Value::Array(Vec::new())),
            ),
            (
                "unknown variant `texty`, expected one of `text`, `textarea`",
                Some(toml::Value::String("text".into())),
            ),
            (
                "unknown variant `loud`, expected `ephemeral` or `in_channel`",
                Some(toml::Value::String("ephemeral".into())),
            ),
            ("invalid type: integer `1`, expected struct Command", None),
        ] {
            assert_eq!(stand_in_for(message), stand_in, "{message}");
        }
    }

    #[test]
    fn each_wrong_required_key_is_reported_once_and_the_file_still_parses() {
        let (spec, found) = parse(
            "[command]\ntrigger = \"t\"\n[[args]]\nname = 7\n[dialog]\ntitle = 3\n\
             [[dialog.elements]]\nname = \"a\"\ndisplay_name = \"A\"\ntype = \"texty\"\n",
        );
        let paths: Vec<_> = found.iter().filter_map(|e| e.path.as_deref()).collect();
        assert_eq!(
            paths,
            ["args[0].name", "dialog.elements[0].type", "dialog.title"],
            "{found:?}"
        );
        assert!(found.iter().all(|e| e.stood_in), "{found:?}");
        assert!(spec.is_some());
    }
}
