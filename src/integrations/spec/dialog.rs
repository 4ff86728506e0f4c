//! `[dialog]`: its elements, their types, dynamic-select lookups and validation rules.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::OptionSpec;

/// `[dialog]`: open an interactive dialog.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogSpec {
    /// Title (template).
    pub title: String,
    /// Introduction text, Markdown (template).
    #[serde(default)]
    pub introduction: String,
    /// Submit button label.
    #[serde(default)]
    pub submit_label: Option<String>,
    /// Icon URL.
    #[serde(default)]
    pub icon_url: Option<String>,
    /// Ask Mattermost to tell us when the user cancels (implied by `on_cancel`).
    #[serde(default)]
    pub notify_on_cancel: bool,
    /// The action run when the user closes the dialog without submitting, a key of
    /// `[actions]`; it sees the `args` and `context` of the action that opened the dialog.
    #[serde(default)]
    pub on_cancel: Option<String>,
    /// Checks across fields, run after every field passed its own checks: the first whose
    /// `when` renders true keeps the dialog open with its `error` in the footer.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// The fields.
    #[serde(default)]
    pub elements: Vec<ElementSpec>,
    /// The follow-up action run with the validated submission, a key of `[actions]`. Without
    /// it, a valid submission just closes the dialog (nothing runs, no API call).
    #[serde(default)]
    pub on_submit: Option<String>,
}

/// One dialog field, with its validation.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementSpec {
    /// Key in `submission.<name>`.
    pub name: String,
    /// Label.
    pub display_name: String,
    /// `text`, `textarea`, `select`, `bool`, `radio`, `date`, `datetime`, `file`.
    #[serde(rename = "type")]
    pub kind: ElementType,
    /// For `text`: `email`, `number`, `password`, `tel`, `url`.
    #[serde(default)]
    pub subtype: Option<String>,
    /// Default value (template).
    #[serde(default)]
    pub default: Option<String>,
    /// Placeholder.
    #[serde(default)]
    pub placeholder: Option<String>,
    /// Help text.
    #[serde(default)]
    pub help_text: Option<String>,
    /// Must be filled in (Mattermost's `optional` is the inverse).
    #[serde(default)]
    pub required: bool,
    /// Minimum length (text, textarea).
    #[serde(default)]
    pub min_length: Option<usize>,
    /// Maximum length (text, textarea).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// A regular expression the whole value must match, with the web client's JavaScript
    /// semantics: `\d`, `\w` and `\b` are ASCII-only unless `unicode` is set.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Give `pattern` Unicode classes (`\d` matches every decimal digit, not just 0-9).
    #[serde(default)]
    pub unicode: bool,
    /// For select and radio: the allowed options (also enforced on submission).
    #[serde(default)]
    pub options: Vec<OptionSpec>,
    /// For select: `users`, `channels`, or `dynamic` (options from `lookup` as the user types).
    #[serde(default)]
    pub data_source: Option<String>,
    /// Changing this field asks Switchboard for an updated form (Mattermost ≥ 11.1), in which
    /// every element's `show_when` is evaluated again with the values so far.
    #[serde(default)]
    pub refresh: bool,
    /// Show the element only when this template (over `submission`, `args`, `context`)
    /// renders `true`; a hidden element is not submitted and not required. A field of the same
    /// dialog it reads needs `refresh = true`.
    #[serde(default)]
    pub show_when: Option<String>,
    /// For a `dynamic` select: how its options are computed.
    #[serde(default)]
    pub lookup: Option<LookupSpec>,
    /// For select: several values may be chosen; the submission is an array (the mobile app's
    /// comma-separated string is read as the same values).
    #[serde(default)]
    pub multiselect: bool,
    /// For a multiselect: the fewest values (a required one needs at least one anyway).
    #[serde(default)]
    pub min_items: Option<usize>,
    /// For a multiselect: the most values.
    #[serde(default)]
    pub max_items: Option<usize>,
    /// For date and datetime: the earliest day, `YYYY-MM-DD` or relative (`today`,
    /// `tomorrow`, `yesterday`, `+7d`, `-2w`).
    #[serde(default)]
    pub min_date: Option<String>,
    /// For date and datetime: the latest day, as `min_date`.
    #[serde(default)]
    pub max_date: Option<String>,
    /// For datetime: minutes between offered times (a divisor of 1440); submitted times must
    /// fall on it.
    #[serde(default)]
    pub time_interval: Option<u32>,
    /// For date and datetime: the IANA time zone (`Europe/Berlin`) that relative bounds, day
    /// limits and the time interval are reckoned in; UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// For file: the most files (1 to 10, Mattermost's limit per submission; default 1). More
    /// than 1 lets the user upload several (`allow_multiple`).
    #[serde(default)]
    pub max_files: Option<usize>,
    /// For file: the largest accepted file, in bytes (Mattermost's own `MaxFileSize` applies
    /// at upload anyway).
    #[serde(default)]
    pub max_file_bytes: Option<u64>,
    /// For file: the accepted extensions (`pdf`, `png`; case ignored, no dot); empty: any.
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// `lookup` of a dynamic select: Switchboard serves the lookup URL itself, from a template
/// (`options`) or by asking another service (`http`); exactly one of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    /// A template listing the candidate options, one per line, `value` or `value | text`; it
    /// sees `query` (the typed text), `submission` (the other values so far), `args` and
    /// `context`. Switchboard keeps the lines whose value or text contains the query (ignoring
    /// case), at most 100. With an empty `query` it must list every acceptable value: that is
    /// what a submission is checked against.
    #[serde(default)]
    pub options: Option<String>,
    /// Ask another service for the options, as the typed text changes.
    #[serde(default)]
    pub http: Option<LookupHttpSpec>,
    /// Accept any submitted value instead of only those the lookup lists.
    #[serde(default)]
    pub free_form: bool,
}

/// `lookup.http`: a request to another service whose JSON answer lists the options. URL,
/// headers and body are templates seeing `query`, `submission`, `args`, `context`, `user`
/// and `channel`; values in the URL are percent-encoded for the part they land in, as in
/// `[http]`. The answer is mapped with JSON Pointers (RFC 6901): `items` to the array,
/// `value` and `text` within each item. A submitted value is accepted when the service lists
/// it (asked with an empty `query`, then with the value as `query`), unless `free_form`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupHttpSpec {
    /// HTTP method: `GET` (default) or `POST`.
    #[serde(default = "default_lookup_method")]
    pub method: String,
    /// URL (template), e.g. `https://inventory.internal/search?q={{ query }}`.
    pub url: String,
    /// Headers (values are templates).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose value is read from an environment variable (secrets): header name →
    /// variable name.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// Body (template); sent as `application/json` when it parses as JSON, else text.
    #[serde(default)]
    pub body: Option<String>,
    /// Seconds to wait for the answer (the user is typing: keep it short).
    #[serde(default = "default_lookup_timeout")]
    pub timeout_secs: u64,
    /// Hosts (`name` or `name:port`) the URL may reach; empty: any. `[http] allowed_hosts`
    /// applies too.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Follow redirects (same scheme, host and port only).
    #[serde(default)]
    pub follow_redirects: bool,
    /// JSON Pointer to the array of options in the answer; `""` (default): the answer is the
    /// array.
    #[serde(default)]
    pub items: String,
    /// JSON Pointer to an option's value within an item (default `/value`); a number is taken
    /// as its decimal text. Items without one are skipped.
    #[serde(default = "default_lookup_value")]
    pub value: String,
    /// JSON Pointer to an option's shown text within an item (default `/text`); the value when
    /// absent.
    #[serde(default = "default_lookup_text")]
    pub text: String,
}

fn default_lookup_method() -> String {
    "GET".to_owned()
}
fn default_lookup_timeout() -> u64 {
    5
}
fn default_lookup_value() -> String {
    "/value".to_owned()
}
fn default_lookup_text() -> String {
    "/text".to_owned()
}

/// One cross-field check of a dialog.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A template over `submission`, `args`, `context`: the submission is refused when it
    /// renders `true` (a comparison renders `True`; case and surrounding space are ignored;
    /// anything else passes).
    pub when: String,
    /// The dialog's generic error shown when refused (template).
    pub error: String,
}

/// Dialog element types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ElementType {
    /// One line.
    Text,
    /// Several lines.
    Textarea,
    /// A menu.
    Select,
    /// A checkbox.
    Bool,
    /// Radio buttons.
    Radio,
    /// A day, submitted as `YYYY-MM-DD` (Mattermost ≥ 11.1).
    Date,
    /// A moment, submitted as RFC 3339 (Mattermost ≥ 11.1).
    Datetime,
    /// Uploaded files, submitted as file ids (Mattermost ≥ 11.10); the submission value is the
    /// list of ids, each checked to exist, belong to the submitter and fit the declared limits.
    File,
}
