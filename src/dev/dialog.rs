//! Dialogs at the REPL: shown as the web client would lay them out (title, introduction, each
//! field's label, type, required mark, options and default), answered with `!submit
//! name=value …`, and the integration's answer shown as the user would see it (the dialog
//! closes, or stays open with an error beside each field).

use std::io::Write;

use serde_json::{Map, Value};

use crate::sim::World;

/// Prints a dialog that just opened.
pub(super) fn show(out: &mut dyn Write, dialog: &Value) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let _ = writeln!(out, "(dialog opened) {}", text(dialog, "title"));
    let intro = text(dialog, "introduction_text");
    for line in intro.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "    {line}");
    }
    let elements = elements(dialog);
    let width = elements
        .iter()
        .map(|e| text(e, "name").chars().count())
        .max()
        .unwrap_or(0);
    for element in &elements {
        let name = text(element, "name");
        let label = text(element, "display_name");
        let mut kind = text(element, "type");
        let subtype = text(element, "subtype");
        if !subtype.is_empty() && subtype != "text" {
            kind = format!("{kind}/{subtype}");
        }
        match element.get("data_source").and_then(Value::as_str) {
            Some("users") => kind.push_str(" of @users"),
            Some("channels") => kind.push_str(" of ~channels"),
            _ => {}
        }
        let optional = element.get("optional").and_then(Value::as_bool) == Some(true);
        let mut line = format!(
            "    {name:width$}  {label}{} ({kind})",
            if optional { "" } else { " *" }
        );
        let options: Vec<String> = options(element)
            .map(|(text, value)| {
                if text == value || text.is_empty() {
                    value.to_owned()
                } else {
                    format!("{value} ({text})")
                }
            })
            .collect();
        if !options.is_empty() {
            line.push_str(&format!(": {}", options.join(" | ")));
        }
        for (key, what) in [("default", "default"), ("placeholder", "e.g.")] {
            let value = text(element, key);
            if !value.is_empty() {
                line.push_str(&format!("; {what} {value}"));
            }
        }
        let help = text(element, "help_text");
        if !help.is_empty() {
            line.push_str(&format!(" — {help}"));
        }
        let _ = writeln!(out, "{line}");
    }
    let submit = text(dialog, "submit_label");
    let submit = if submit.is_empty() { "Submit" } else { &submit };
    let _ = writeln!(
        out,
        "    (* required) [{submit}]: !submit name=value …   [Cancel]: !cancel"
    );
}

/// What `!submit` typed, as the submission the web client would send: every element's
/// default, then the typed values. Unknown names are refused with the real ones; `@name` and
/// `~name` become ids for user and channel selects; an option may be given by its text;
/// `bool` fields take true/false (yes/no, on/off).
pub(super) fn submission(
    world: &World,
    team: &str,
    dialog: &Value,
    words: &[String],
) -> Result<Map<String, Value>, String> {
    let elements = elements(dialog);
    let mut submission = defaults(&elements);
    for word in words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!(
                "`{word}`: write name=value (quote values with spaces: notes=\"two words\")"
            ));
        };
        let Some(element) = elements
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        else {
            let names: Vec<&str> = elements
                .iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .collect();
            return Err(format!(
                "this dialog has no field `{name}`; its fields are {}",
                names.join(", ")
            ));
        };
        submission.insert(name.to_owned(), value_for(world, team, element, value)?);
    }
    Ok(submission)
}

/// One typed value as the web client would send it for `element`.
fn value_for(world: &World, team: &str, element: &Value, value: &str) -> Result<Value, String> {
    let kind = element.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "bool" {
        return match value.to_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "off" | "0" | "" => Ok(Value::Bool(false)),
            _ => Err(format!("`{value}`: a checkbox is true or false")),
        };
    }
    match element.get("data_source").and_then(Value::as_str) {
        Some("users") => {
            let name = value.trim_start_matches('@');
            return match world.user_id(name) {
                Some(id) => Ok(Value::String(id)),
                None => Err(format!("no user @{name}")),
            };
        }
        Some("channels") => {
            let name = value.trim_start_matches('~');
            return match world.channel_id(team, name) {
                Some(id) => Ok(Value::String(id)),
                None => Err(format!("no channel ~{name} in team {team}")),
            };
        }
        _ => {}
    }
    // An option may be typed by its text; anything else goes as typed, so the route's own
    // validation can be tried.
    let by_text = options(element)
        .find(|(text, option)| *option != value && text.eq_ignore_ascii_case(value))
        .map(|(_, option)| option.to_owned());
    Ok(Value::String(by_text.unwrap_or_else(|| value.to_owned())))
}

/// Prints what the integration answered to a submission, as the user would see it.
pub(super) fn show_answer(out: &mut dyn Write, dialog: &Value, answer: &Value, cancelled: bool) {
    let error = answer.get("error").and_then(Value::as_str).unwrap_or("");
    let errors = answer.get("errors").and_then(Value::as_object);
    if cancelled {
        let _ = writeln!(out, "(dialog cancelled)");
        return;
    }
    if error.is_empty() && errors.is_none_or(Map::is_empty) {
        let _ = writeln!(out, "(dialog submitted and closed)");
        return;
    }
    let _ = writeln!(
        out,
        "(dialog stays open: correct it and !submit again, or !cancel)"
    );
    if !error.is_empty() {
        let _ = writeln!(out, "    error: {error}");
    }
    let elements = elements(dialog);
    for (name, message) in errors.into_iter().flatten() {
        let label = elements
            .iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|e| e.get("display_name").and_then(Value::as_str))
            .unwrap_or(name);
        let message = message
            .as_str()
            .map_or_else(|| message.to_string(), str::to_owned);
        let _ = writeln!(out, "    {name} ({label}): {message}");
    }
}

/// Whether the answer keeps the dialog open (it names an error).
pub(super) fn stays_open(answer: &Value) -> bool {
    answer
        .get("error")
        .and_then(Value::as_str)
        .is_some_and(|e| !e.is_empty())
        || answer
            .get("errors")
            .and_then(Value::as_object)
            .is_some_and(|e| !e.is_empty())
}

fn elements(dialog: &Value) -> Vec<Value> {
    dialog
        .get("elements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn options(element: &Value) -> impl Iterator<Item = (&str, &str)> {
    element
        .get("options")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o.get("text").and_then(Value::as_str).unwrap_or(""),
                o.get("value").and_then(Value::as_str).unwrap_or(""),
            )
        })
}

/// The values a web client pre-fills: each element's non-empty `default`, as a JSON boolean for
/// `bool` elements and a string otherwise.
fn defaults(elements: &[Value]) -> Map<String, Value> {
    elements
        .iter()
        .filter_map(|element| {
            let name = element.get("name")?.as_str()?;
            let default = element.get("default")?.as_str().filter(|d| !d.is_empty())?;
            let value = if element.get("type").and_then(Value::as_str) == Some("bool") {
                Value::Bool(default == "true")
            } else {
                Value::String(default.to_owned())
            };
            Some((name.to_owned(), value))
        })
        .collect()
}
