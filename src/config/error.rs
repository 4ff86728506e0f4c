//! [`ConfigError`], and figment's errors written so they name the setting and the exact file
//! or environment variable its value came from.

use std::path::PathBuf;

/// A configuration problem, naming the setting and where its value came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is malformed or of the wrong type (figment's message names key and source).
    #[error("configuration error: {0}")]
    Load(String),
    /// The configuration file named on the command line does not exist.
    #[error("configuration file {0} not found")]
    FileNotFound(PathBuf),
    /// A required setting is missing.
    #[error("missing setting `{setting}`: {hint}")]
    Missing {
        /// Dotted setting name.
        setting: &'static str,
        /// How to provide it.
        hint: &'static str,
    },
    /// A setting has a value that parses but makes no sense.
    #[error("invalid setting `{setting}`: {message}")]
    Invalid {
        /// Dotted setting name.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The token file cannot be read.
    #[error("cannot read mattermost.token_file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// All of figment's errors, each naming the setting and where its value came from (the file,
/// or the exact environment variable).
pub(super) fn render_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_lowercase();
            let source = match &e.metadata {
                Some(md) if md.name.contains("environment") => environment_source(&key),
                Some(md) => md
                    .source
                    .as_ref()
                    .map_or_else(|| md.name.to_string(), ToString::to_string),
                None => "built-in defaults".to_owned(),
            };
            let kind = describe_kind(&e.kind);
            if key.is_empty() {
                format!("{kind} (in {source})")
            } else {
                format!("setting `{key}` (from {source}): {kind}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The environment variable(s) behind `key`. An unknown section (`SWITCHBOARD_SERVR__LISTEN`)
/// reaches figment as one value for `servr`, so the variable is looked up, not rebuilt from
/// the key: `SWITCHBOARD_SERVR` alone would name a variable nobody set.
fn environment_source(key: &str) -> String {
    let variable = format!("SWITCHBOARD_{}", key.to_uppercase().replace('.', "__"));
    let nested = format!("{variable}__");
    let mut set: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            let upper = name.to_uppercase();
            upper == variable || upper.starts_with(&nested)
        })
        .collect();
    set.sort();
    match set.len() {
        0 => format!("environment variable {variable}"),
        1 => format!("environment variable {}", set.join("")),
        _ => format!("environment variables {}", set.join(", ")),
    }
}

/// figment's words for what is wrong, except an unknown field: its own message wraps the
/// list of expected fields, each in backticks, in one more pair (``expected `one of `a``…).
fn describe_kind(kind: &figment::error::Kind) -> String {
    match kind {
        figment::error::Kind::UnknownField(found, expected) => {
            let expected: Vec<String> = expected.iter().map(|f| format!("`{f}`")).collect();
            match expected.len() {
                0 => format!("unknown field `{found}`: this section has no settings"),
                _ => format!(
                    "unknown field `{found}`, expected one of {}",
                    expected.join(", ")
                ),
            }
        }
        other => other.to_string(),
    }
}
