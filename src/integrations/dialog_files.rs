//! `file` elements of a dialog (Mattermost ≥ 11.10): the declaration's limits, the shape of
//! a submitted value, and the check of each file against Mattermost's files API.
//!
//! Protocol (see `crate::mattermost::models::dialog` for the sources): the web client uploads
//! each chosen file at once (`POST /api/v4/files` into the dialog's channel); the submission
//! carries the element's file id(s) in `submission.<name>` (comma-separated when several) and
//! all ids again in the top-level `file_ids`. A real Mattermost checks existence, ownership and
//! the count of 10 before it forwards the submission, but anyone who reaches Switchboard's
//! dialog URL can send any ids, so each one is checked here again through
//! `GET /api/v4/files/{id}/info` (as the bot: it needs to be able to read the channel the file
//! was uploaded to, or be the uploader).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::dialog::Element;
use super::spec::{ElementSpec, ElementType};
use crate::mattermost::{Client, FileId};

/// Mattermost's limit of file ids per dialog submission.
pub(super) const MOST_FILES: usize = 10;

/// Problems with a file element's limits, as (key, message).
pub(super) fn declaration_problems(e: &ElementSpec) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if e.kind != ElementType::File {
        return problems;
    }
    if let Some(n) = e.max_files {
        if n == 0 || n > MOST_FILES {
            problems.push((
                "max_files",
                format!("must be 1 to {MOST_FILES} (Mattermost takes at most {MOST_FILES} files per submission)"),
            ));
        }
    }
    if e.max_file_bytes == Some(0) {
        problems.push(("max_file_bytes", "must be at least 1".into()));
    }
    for ext in &e.extensions {
        let ok = !ext.is_empty() && ext.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            problems.push((
                "extensions",
                format!("`{ext}` is not an extension (letters and digits, no dot)"),
            ));
        }
    }
    for key in [
        ("pattern", e.pattern.is_some()),
        ("min_length", e.min_length.is_some()),
        ("max_length", e.max_length.is_some()),
        ("data_source", e.data_source.is_some()),
        ("default", e.default.is_some()),
    ] {
        if key.1 {
            problems.push((key.0, "a file element does not take it".into()));
        }
    }
    problems
}

/// The ids in a submitted value: a string (one id, or several comma-separated) or an array of
/// strings.
fn ids_in(raw: Value) -> Result<Vec<String>, String> {
    let items: Vec<String> = match raw {
        Value::Null => Vec::new(),
        Value::String(t) => t
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Value::Array(items) if items.len() <= MOST_FILES * 2 => items
            .into_iter()
            .map(|v| match v {
                Value::String(t) => Ok(t.trim().to_owned()),
                _ => Err("This value has the wrong type.".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Value::Array(_) => return Err(format!("At most {MOST_FILES} files.")),
        _ => return Err("This value has the wrong type.".into()),
    };
    Ok(items)
}

impl Element {
    /// The submitted file ids: well-formed, none twice, as many as declared. Whether each is a
    /// real file of the submitter is [`verify`]'s job (it needs the network).
    pub(super) fn check_files(&self, raw: Value) -> Result<Value, String> {
        let s = &self.spec;
        let ids = ids_in(raw)?;
        if ids.is_empty() {
            if s.required {
                return Err("This field is required.".into());
            }
            return Ok(Value::Array(Vec::new()));
        }
        let most = s.max_files.unwrap_or(1);
        if ids.len() > most {
            return Err(if most == 1 {
                "Upload one file only.".to_owned()
            } else {
                format!("Upload at most {most} files.")
            });
        }
        let mut seen = std::collections::HashSet::new();
        for id in &ids {
            if !crate::mattermost::is_valid_id(id) {
                return Err("This is not an uploaded file.".into());
            }
            if !seen.insert(id.as_str()) {
                return Err("The same file is given twice.".into());
            }
        }
        Ok(Value::Array(ids.into_iter().map(Value::String).collect()))
    }
}

/// One file element's limits, for [`verify`].
#[derive(Debug, Clone)]
pub(super) struct FileLimits {
    pub(super) name: String,
    pub(super) max_file_bytes: Option<u64>,
    pub(super) extensions: Vec<String>,
}

impl FileLimits {
    pub(super) fn of(spec: &ElementSpec) -> Self {
        FileLimits {
            name: spec.name.clone(),
            max_file_bytes: spec.max_file_bytes,
            extensions: spec.extensions.iter().map(|e| e.to_lowercase()).collect(),
        }
    }
}

/// Checks every file of every file element in `values` (as [`Element::check_files`] left
/// them: arrays of well-formed ids) through Mattermost: it exists, `user_id` uploaded it, its
/// extension and size fit. Returns an error per refused field; `Err` when Mattermost could
/// not be asked (the caller answers with a generic error, never a wrong refusal).
pub(super) async fn verify(
    client: &Client,
    user_id: &str,
    limits: &[FileLimits],
    values: &BTreeMap<String, Value>,
) -> Result<HashMap<String, String>, crate::mattermost::Error> {
    let mut errors = HashMap::new();
    for limit in limits {
        let ids: Vec<&str> = values
            .get(&limit.name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for id in ids {
            let info = match client.files().info(&FileId::new(id)).await {
                Ok(info) => info,
                // A 403 means the bot may not read it: for the submitter it is not a file of
                // this dialog either; the log says which.
                Err(e)
                    if e.is_not_found()
                        || e.is_forbidden()
                        || e.status().is_some_and(|s| s.as_u16() == 400) =>
                {
                    tracing::info!(field = %limit.name, file_id = id, error = %e, "dialog file refused: not a readable file");
                    errors.insert(
                        limit.name.clone(),
                        "This file does not exist (upload it again).".to_owned(),
                    );
                    break;
                }
                Err(e) => return Err(e),
            };
            if let Some(problem) = refusal(limit, user_id, &info) {
                errors.insert(limit.name.clone(), problem);
                break;
            }
        }
    }
    Ok(errors)
}

/// Why one file cannot be taken, if it cannot.
fn refusal(
    limit: &FileLimits,
    user_id: &str,
    info: &crate::mattermost::models::FileInfo,
) -> Option<String> {
    if info.user_id.as_str() != user_id {
        return Some(format!("`{}` was not uploaded by you.", info.name));
    }
    if info.delete_at != 0 {
        return Some(format!("`{}` was deleted.", info.name));
    }
    if !limit.extensions.is_empty() {
        let ext = info.extension.to_lowercase();
        if !limit.extensions.contains(&ext) {
            return Some(format!(
                "`{}` is not one of the accepted types ({}).",
                info.name,
                limit.extensions.join(", ")
            ));
        }
    }
    if let Some(most) = limit.max_file_bytes {
        if u64::try_from(info.size).unwrap_or(u64::MAX) > most {
            return Some(format!("`{}` is larger than {most} bytes.", info.name));
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::integrations::dialog::DialogAction;
    use crate::integrations::spec::DialogSpec;

    fn dialog(
        extra: &str,
    ) -> Result<DialogAction, Vec<crate::integrations::dialog::DeclarationProblem>> {
        let spec: DialogSpec = toml::from_str(&format!(
            "title = \"t\"\n[[elements]]\nname = \"logs\"\ndisplay_name = \"Logs\"\ntype = \"file\"\n{extra}"
        ))
        .unwrap();
        DialogAction::compile("d", &spec)
    }

    #[test]
    fn a_file_value_is_a_list_of_well_formed_distinct_ids_within_the_count() {
        let d = dialog("max_files = 2\nrequired = true\n").unwrap();
        let id = "f1b2c3d4e5f6g7h8i9j0k1l2m3";
        let other = "a1b2c3d4e5f6g7h8i9j0k1l2m3";
        let submit = |v: Value| d.validate(serde_json::json!({ "logs": v }).as_object().unwrap());
        assert_eq!(
            submit(Value::String(format!("{id},{other}"))).unwrap()["logs"],
            serde_json::json!([id, other])
        );
        assert_eq!(
            submit(serde_json::json!([id])).unwrap()["logs"],
            serde_json::json!([id])
        );
        for (value, error) in [
            (
                serde_json::json!([id, other, "b1b2c3d4e5f6g7h8i9j0k1l2m3"]),
                "Upload at most 2 files.",
            ),
            (serde_json::json!([id, id]), "The same file is given twice."),
            (
                serde_json::json!("../etc/passwd"),
                "This is not an uploaded file.",
            ),
            (serde_json::json!(""), "This field is required."),
            (serde_json::json!(7), "This value has the wrong type."),
        ] {
            assert_eq!(submit(value.clone()).unwrap_err()["logs"], error, "{value}");
        }
    }

    #[test]
    fn file_limits_are_checked_when_declared() {
        let problems =
            dialog("max_files = 11\nextensions = [\".pdf\"]\nmax_file_bytes = 0\n").unwrap_err();
        let keys: Vec<_> = problems.iter().map(|(_, k, _)| *k).collect();
        assert_eq!(keys, ["max_files", "max_file_bytes", "extensions"]);
        let spec: DialogSpec = toml::from_str(
            "title = \"t\"\n[[elements]]\nname = \"a\"\ndisplay_name = \"A\"\ntype = \"text\"\nmax_files = 2\n",
        )
        .unwrap();
        let problems = DialogAction::compile("d", &spec).unwrap_err();
        assert_eq!(problems[0].1, "max_files");
    }
}
