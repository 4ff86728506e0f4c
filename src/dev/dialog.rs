//! Dialogs at the REPL: shown as the web client would lay them out (title, introduction, each
//! field's label, type, required mark, options and default), answered with `!submit
//! name=value …` (arrays for multiselects, relative dates, `@path` uploads for file elements), and the integration's answer shown as the user would see it (the dialog
//! closes, or stays open with an error beside each field).

use std::io::Write;

use serde_json::{Map, Value};

use crate::sim::World;

/// Prints a dialog that just opened.
pub(super) fn show(out: &mut dyn Write, dialog: &Value) {
    show_as(out, "(dialog opened)", dialog);
}

/// Prints the form that replaced the open dialog after a refresh.
pub(super) fn show_refreshed(out: &mut dyn Write, dialog: &Value) {
    show_as(out, "(dialog refreshed)", dialog);
}

/// Prints `dialog` under `heading`: title, introduction, a line per field, the buttons.
fn show_as(out: &mut dyn Write, heading: &str, dialog: &Value) {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let _ = writeln!(out, "{heading} {}", text(dialog, "title"));
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
            Some("dynamic") => kind.push_str(", looked up"),
            _ => {}
        }
        if element.get("multiselect").and_then(Value::as_bool) == Some(true) {
            kind.push_str(", several: a,b");
        }
        if element.get("allow_multiple").and_then(Value::as_bool) == Some(true) {
            kind.push_str(", several: @a,@b");
        } else if kind == "file" {
            kind.push_str(": @path");
        }
        for (key, what) in [("min_date", "from"), ("max_date", "until")] {
            if let Some(day) = element.get(key).and_then(Value::as_str) {
                kind.push_str(&format!(", {what} {day}"));
            }
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
    // The legend only where a `*` is shown.
    let any_required = elements
        .iter()
        .any(|e| e.get("optional").and_then(Value::as_bool) != Some(true));
    let legend = if any_required { "(* required) " } else { "" };
    let _ = writeln!(
        out,
        "    {legend}[{submit}]: !submit name=value …   [Cancel]: !cancel"
    );
}

/// What `!submit` typed, before its files are uploaded.
#[derive(Debug, Default)]
pub(super) struct Draft {
    /// The values the web client would send.
    pub(super) values: Map<String, Value>,
    /// File elements and the local paths to upload for each (`name=@path`).
    pub(super) uploads: Vec<(String, Vec<String>)>,
}

/// What `!submit` typed, as the submission the web client would send: every element's
/// default, then the typed values. Unknown names are refused with the real ones; `@name` and
/// `~name` become ids for user and channel selects; an option may be given by its text;
/// `bool` fields take true/false (yes/no, on/off). A multiselect takes comma-separated values
/// (`tags=a,b`) or the key repeated (`tags=a tags=b`), sent as an array; a date takes
/// `YYYY-MM-DD` or `today`, `tomorrow`, `yesterday`, `+3d`, `-1w`; a datetime takes
/// `YYYY-MM-DD HH:MM` (in the element's time zone, else UTC) or RFC 3339; a file element
/// takes `@path` (several: `@a.log,@b.log`), uploaded as the current user before submitting.
pub(super) fn submission(
    world: &World,
    team: &str,
    dialog: &Value,
    words: &[String],
) -> Result<Draft, String> {
    draft(world, team, dialog, words, true)
}

/// The values the web client holds while the user fills `dialog` in with `words`: as
/// [`submission`], but a name this form does not have (yet: a refresh may bring it) is passed
/// over, as are files (nothing is uploaded before the real submission).
pub(super) fn filled_in(
    world: &World,
    team: &str,
    dialog: &Value,
    words: &[String],
) -> Result<Map<String, Value>, String> {
    Ok(draft(world, team, dialog, words, false)?.values)
}

/// `strict`: an unknown name is an error (a submission), else passed over (filling in).
fn draft(
    world: &World,
    team: &str,
    dialog: &Value,
    words: &[String],
    strict: bool,
) -> Result<Draft, String> {
    let elements = elements(dialog);
    let mut draft = Draft {
        values: defaults(&elements),
        uploads: Vec::new(),
    };
    let mut typed = std::collections::HashSet::new();
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
            if !strict {
                continue;
            }
            let names: Vec<&str> = elements
                .iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .collect();
            return Err(format!(
                "this dialog has no field `{name}`; its fields are {}",
                names.join(", ")
            ));
        };
        // A repeated key adds to what was typed before (not to the default).
        let first = typed.insert(name.to_owned());
        let kind = element.get("type").and_then(Value::as_str).unwrap_or("");
        if kind == "file" && !strict {
            continue;
        }
        if kind == "file" {
            let mut paths = Vec::new();
            for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.strip_prefix('@') {
                    Some(path) => paths.push(path.to_owned()),
                    None => {
                        return Err(format!(
                            "`{part}`: give a file to upload as @path (e.g. {name}=@notes.txt)"
                        ));
                    }
                }
            }
            match draft.uploads.iter_mut().find(|(n, _)| n == name) {
                Some((_, list)) if !first => list.extend(paths),
                Some((_, list)) => *list = paths,
                None => draft.uploads.push((name.to_owned(), paths)),
            }
            draft.values.remove(name);
            continue;
        }
        if element.get("multiselect").and_then(Value::as_bool) == Some(true) {
            let mut items = match draft.values.get(name) {
                Some(Value::Array(items)) if !first => items.clone(),
                _ => Vec::new(),
            };
            for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                items.push(value_for(world, team, element, part)?);
            }
            draft.values.insert(name.to_owned(), Value::Array(items));
            continue;
        }
        draft
            .values
            .insert(name.to_owned(), value_for(world, team, element, value)?);
    }
    Ok(draft)
}

/// A client acting as the user holding `token` against the simulated Mattermost.
fn client_as(sim_url: &str, token: &str) -> Result<crate::mattermost::Client, String> {
    crate::mattermost::Client::builder(sim_url)
        .token(token)
        .build()
        .map_err(|e| e.to_string())
}

/// Uploads `bytes` as `name` into the channel as the user holding `token` (the page's file
/// elements); returns the file id.
pub(super) async fn upload_bytes(
    sim_url: &str,
    token: &str,
    channel_id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Result<String, String> {
    let client = client_as(sim_url, token)?;
    let channel = crate::mattermost::ChannelId::new(channel_id);
    let length = u64::try_from(bytes.len()).ok();
    let uploaded = client
        .files()
        .upload(
            &channel,
            name,
            Box::new(std::io::Cursor::new(bytes)),
            length,
        )
        .await
        .map_err(|e| format!("uploading {name}: {e}"))?;
    uploaded
        .file_infos
        .first()
        .map(|info| info.id.as_str().to_owned())
        .ok_or_else(|| format!("uploading {name}: the server returned no file"))
}

/// Uploads `paths` into the channel as the user holding `token`, through the client's files
/// API against the simulated Mattermost at `sim_url`; returns the file ids.
pub(super) async fn upload(
    sim_url: &str,
    token: &str,
    channel_id: &str,
    paths: &[String],
) -> Result<Vec<String>, String> {
    let client = client_as(sim_url, token)?;
    let channel = crate::mattermost::ChannelId::new(channel_id);
    let mut ids = Vec::new();
    for path in paths {
        let uploaded = client
            .files()
            .upload_path(&channel, path)
            .await
            .map_err(|e| format!("uploading {path}: {e}"))?;
        let Some(info) = uploaded.file_infos.first() else {
            return Err(format!("uploading {path}: the server returned no file"));
        };
        ids.push(info.id.as_str().to_owned());
    }
    Ok(ids)
}

/// The page's values as the web client sends them: a datetime picker's local time becomes
/// RFC 3339 in the element's time zone (the other values are already in their wire form).
pub(super) fn as_web_client_sends(
    dialog: &Value,
    mut values: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    for element in elements(dialog) {
        if element.get("type").and_then(Value::as_str) != Some("datetime") {
            continue;
        }
        let Some(name) = element.get("name").and_then(Value::as_str) else {
            continue;
        };
        if let Some(Value::String(local)) = values.get(name) {
            if !local.is_empty() {
                let sent = typed_date(&element, "datetime", local)?;
                values.insert(name.to_owned(), Value::String(sent));
            }
        }
    }
    Ok(values)
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
    if kind == "date" || kind == "datetime" {
        return Ok(Value::String(typed_date(element, kind, value)?));
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

/// A typed date as the web client's picker sends it: relative days become `YYYY-MM-DD`, a
/// datetime's `YYYY-MM-DD HH:MM` becomes RFC 3339 in the element's time zone (UTC when it has
/// none). Anything else goes as typed, so the route's own validation can be tried.
fn typed_date(element: &Value, kind: &str, value: &str) -> Result<String, String> {
    let zone = element
        .pointer("/datetime_config/location_timezone")
        .and_then(Value::as_str)
        .map(|name| jiff::tz::TimeZone::get(name).map_err(|e| e.to_string()))
        .transpose()?
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned(zone.clone()).date();
    // The reader `check` uses for `min_date`, `max_date` and a default: what `check`
    // accepts is what is resolved here (lower-cased first, for typing).
    let lower = value.trim().to_lowercase();
    if let Some(days) = crate::integrations::days_from_today(&lower) {
        let day = today
            .checked_add(jiff::Span::new().days(days))
            .map_err(|e| e.to_string())?;
        return Ok(if kind == "date" {
            day.to_string()
        } else {
            format_moment(&day.to_datetime(jiff::civil::Time::midnight()), &zone)?
        });
    }
    if kind == "datetime" {
        if let Some(moment) = crate::integrations::civil_datetime(value) {
            return format_moment(&moment, &zone);
        }
    }
    Ok(value.to_owned())
}

fn format_moment(
    moment: &jiff::civil::DateTime,
    zone: &jiff::tz::TimeZone,
) -> Result<String, String> {
    let zoned = moment.to_zoned(zone.clone()).map_err(|e| e.to_string())?;
    Ok(zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
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

pub(super) fn elements(dialog: &Value) -> Vec<Value> {
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
/// `bool` elements, the day or moment a relative date default names, and a string otherwise.
pub(super) fn defaults(elements: &[Value]) -> Map<String, Value> {
    elements
        .iter()
        .filter_map(|element| {
            let name = element.get("name")?.as_str()?;
            let default = element.get("default")?.as_str().filter(|d| !d.is_empty())?;
            let kind = element.get("type").and_then(Value::as_str).unwrap_or("");
            let value = if kind == "bool" {
                Value::Bool(default == "true")
            } else if kind == "date" || kind == "datetime" {
                // The web client resolves a relative default (`today`, `+1w`: its
                // `stringToMoment`) and submits the day or moment, never the word.
                Value::String(
                    typed_date(element, kind, default).unwrap_or_else(|_| default.to_owned()),
                )
            } else if element.get("multiselect").and_then(Value::as_bool) == Some(true) {
                Value::Array(
                    default
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| Value::String(v.to_owned()))
                        .collect(),
                )
            } else {
                Value::String(default.to_owned())
            };
            Some((name.to_owned(), value))
        })
        .collect()
}
