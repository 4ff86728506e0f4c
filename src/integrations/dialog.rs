//! The `dialog` action: open an interactive dialog, and validate its submission against the
//! rules declared per field before the `on_submit` action runs.
//!
//! Mattermost's web app enforces some rules (required, lengths) in the browser, but a
//! submission is just an HTTP request, so every rule is enforced again here; a failing field
//! gets its own message in the dialog's `errors`, which Mattermost shows beside the field.

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use serde_json::Value;

use super::pattern;

use super::context::Context;
use super::dialog_dates::DateRule;
use super::dialog_lookup::{Lookup, LookupEnv, LookupError};
use super::dialog_values::{as_default, multiselect_items};
use super::spec::{DialogSpec, ElementSpec, ElementType};
use super::template::{Template, TemplateError};
use crate::mattermost::models::{
    DateTimeConfig, Dialog, DialogElement, DialogElementType, DialogOption,
};

/// A compiled `[dialog]`.
#[derive(Debug, Clone)]
pub struct DialogAction {
    title: Template,
    introduction: Template,
    submit_label: Option<String>,
    icon_url: Option<String>,
    notify_on_cancel: bool,
    elements: Vec<Element>,
    rules: Vec<Rule>,
    /// The follow-up action run with the validated submission; `None`: a valid submission
    /// just closes the dialog. When it is a dialog, it opens as the next step.
    pub on_submit: Option<String>,
    /// The action run when the user cancels.
    pub on_cancel: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Element {
    pub(super) spec: ElementSpec,
    default: Option<Template>,
    pub(super) pattern: Option<Regex>,
    pub(super) dates: Option<DateRule>,
    lookup: Option<Lookup>,
    show_when: Option<Template>,
}

/// A compiled cross-field rule.
#[derive(Debug, Clone)]
struct Rule {
    when: Template,
    error: Template,
}

/// A problem with the declaration, as (element index, key, message).
pub type DeclarationProblem = (Option<usize>, &'static str, String);

impl DialogAction {
    /// Compiles the templates and patterns; declaration problems are returned, not thrown.
    pub fn compile(name: &str, spec: &DialogSpec) -> Result<Self, Vec<DeclarationProblem>> {
        let mut problems = Vec::new();
        let template = |problems: &mut Vec<DeclarationProblem>,
                        key: &'static str,
                        index: Option<usize>,
                        source: &str| {
            match Template::compile(&format!("{name}.{key}"), source) {
                Ok(t) => Some(t),
                Err(e) => {
                    problems.push((index, key, format!("template: {}", e.message)));
                    None
                }
            }
        };
        let title = template(&mut problems, "title", None, &spec.title);
        let introduction = template(&mut problems, "introduction", None, &spec.introduction);
        let mut elements = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, e) in spec.elements.iter().enumerate() {
            let default = match &e.default {
                Some(d) => template(&mut problems, "default", Some(i), d),
                None => None,
            };
            if !seen.insert(e.name.clone()) {
                problems.push((Some(i), "name", format!("`{}` is used twice", e.name)));
            }
            let pattern = match &e.pattern {
                Some(p) => match pattern::compile(p, e.unicode, true) {
                    Ok(r) => Some(r),
                    Err(err) => {
                        problems.push((
                            Some(i),
                            "pattern",
                            format!("not a regular expression: {err}"),
                        ));
                        None
                    }
                },
                None => None,
            };
            let needs_options = matches!(e.kind, ElementType::Radio)
                || (e.kind == ElementType::Select && e.data_source.is_none());
            if needs_options && e.options.is_empty() {
                problems.push((
                    Some(i),
                    "options",
                    "needs `options` (or a `data_source` for a select)".into(),
                ));
            }
            if let Some(source) = &e.data_source {
                if e.kind != ElementType::Select
                    || !matches!(source.as_str(), "users" | "channels" | "dynamic")
                {
                    problems.push((
                        Some(i),
                        "data_source",
                        "only a select has a data_source: `users`, `channels` or `dynamic`".into(),
                    ));
                }
            }
            let dynamic = e.data_source.as_deref() == Some("dynamic");
            let lookup = match (&e.lookup, dynamic) {
                (Some(l), true) => match Lookup::compile(name, i, l) {
                    Ok(lookup) => Some(lookup),
                    Err(found) => {
                        problems.extend(found);
                        None
                    }
                },
                (None, true) => {
                    problems.push((
                        Some(i),
                        "lookup",
                        "a `dynamic` select needs a `lookup` table with `options` or `http`".into(),
                    ));
                    None
                }
                (Some(_), false) => {
                    problems.push((
                        Some(i),
                        "lookup",
                        "only a select with `data_source = \"dynamic\"` takes `lookup`".into(),
                    ));
                    None
                }
                (None, false) => None,
            };
            if dynamic && !e.options.is_empty() {
                problems.push((
                    Some(i),
                    "options",
                    "a `dynamic` select gets its options from `lookup`".into(),
                ));
            }
            if let (Some(min), Some(max)) = (e.min_length, e.max_length) {
                if min > max {
                    problems.push((Some(i), "min_length", "is more than max_length".into()));
                }
            }
            element_problems(i, e, &mut problems);
            let is_date = matches!(e.kind, ElementType::Date | ElementType::Datetime);
            let dates = if is_date {
                match DateRule::compile(e) {
                    Ok(rule) => Some(rule),
                    Err(found) => {
                        problems.extend(found.into_iter().map(|(k, m)| (Some(i), k, m)));
                        None
                    }
                }
            } else {
                None
            };
            elements.push(Element {
                spec: e.clone(),
                default,
                pattern,
                dates,
                lookup,
                show_when: match &e.show_when {
                    Some(t) => template(&mut problems, "show_when", Some(i), t),
                    None => None,
                },
            });
        }
        problems.extend(unrefreshed_show_when(&elements));
        let mut rules = Vec::new();
        for (i, r) in spec.rules.iter().enumerate() {
            let key_when = "rules.when";
            let when = template(&mut problems, key_when, None, &r.when);
            let error = template(&mut problems, "rules.error", None, &r.error);
            if let (Some(when), Some(error)) = (when, error) {
                rules.push(Rule { when, error });
            } else {
                problems.push((None, "rules", format!("rule {} is not usable", i + 1)));
            }
        }
        match (title, introduction) {
            (Some(title), Some(introduction)) if problems.is_empty() => Ok(DialogAction {
                title,
                introduction,
                submit_label: spec.submit_label.clone(),
                icon_url: spec.icon_url.clone(),
                notify_on_cancel: spec.notify_on_cancel || spec.on_cancel.is_some(),
                elements,
                rules,
                on_submit: spec.on_submit.clone(),
                on_cancel: spec.on_cancel.clone(),
            }),
            _ => Err(problems),
        }
    }

    /// The element names, for `submission.<name>`.
    pub fn field_names(&self) -> Vec<String> {
        self.elements.iter().map(|e| e.spec.name.clone()).collect()
    }

    /// The dialog for one request; `state` carries (signed) data to the submission.
    pub fn build(
        &self,
        context: &Context,
        callback_id: &str,
        state: String,
    ) -> Result<Dialog, TemplateError> {
        let mut dialog = Dialog::new(self.title.render(context)?);
        let introduction = self.introduction.render(context)?;
        dialog.introduction_text = (!introduction.is_empty()).then_some(introduction);
        dialog.callback_id = Some(callback_id.to_owned());
        dialog.submit_label.clone_from(&self.submit_label);
        dialog.icon_url.clone_from(&self.icon_url);
        dialog.notify_on_cancel = self.notify_on_cancel.then_some(true);
        dialog.state = Some(state);
        let filled = self.with_every_field(context);
        for e in &self.elements {
            let s = &e.spec;
            if !e.shown(&filled)? {
                continue;
            }
            let kind = match s.kind {
                ElementType::Text => DialogElementType::Text,
                ElementType::Textarea => DialogElementType::Textarea,
                ElementType::Select => DialogElementType::Select,
                ElementType::Bool => DialogElementType::Bool,
                ElementType::Radio => DialogElementType::Radio,
                ElementType::Date => DialogElementType::Date,
                ElementType::Datetime => DialogElementType::Datetime,
                ElementType::File => DialogElementType::File,
            };
            let mut element = DialogElement::new(kind, s.name.clone(), s.display_name.clone());
            element.subtype.clone_from(&s.subtype);
            element.placeholder.clone_from(&s.placeholder);
            element.help_text.clone_from(&s.help_text);
            element.optional = Some(!s.required);
            element.min_length = s.min_length.and_then(|n| u32::try_from(n).ok());
            element.max_length = s.max_length.and_then(|n| u32::try_from(n).ok());
            element.data_source.clone_from(&s.data_source);
            element.multiselect = s.multiselect.then_some(true);
            element.refresh = s.refresh.then_some(true);
            if s.kind == ElementType::File {
                element.allow_multiple = (s.max_files.unwrap_or(1) > 1).then_some(true);
            }
            if e.dates.is_some() {
                element.min_date.clone_from(&s.min_date);
                element.max_date.clone_from(&s.max_date);
                element.time_interval = s.time_interval;
                let mut config = DateTimeConfig::default();
                config.location_timezone.clone_from(&s.time_zone);
                config.min_date.clone_from(&s.min_date);
                config.max_date.clone_from(&s.max_date);
                config.time_interval = s.time_interval;
                element.datetime_config = (config != DateTimeConfig::default()).then_some(config);
            }
            if !s.options.is_empty() {
                element.options = Some(
                    s.options
                        .iter()
                        .map(|o| DialogOption {
                            text: o.text.clone(),
                            value: o.value.clone(),
                            extra: Default::default(),
                        })
                        .collect(),
                );
            }
            element.default = e.default.as_ref().map(|t| t.render(context)).transpose()?;
            // A refreshed form keeps what the user already entered.
            if let Some(current) = context.submission.get(&s.name).and_then(as_default) {
                element.default = Some(current);
            }
            dialog.elements.push(element);
        }
        Ok(dialog)
    }

    /// Checks a submission against every rule; returns the cleaned values or an error per
    /// field. Keys that are not declared are dropped.
    pub fn validate(
        &self,
        submission: &serde_json::Map<String, Value>,
    ) -> Result<BTreeMap<String, Value>, HashMap<String, String>> {
        self.validate_at(submission, jiff::Timestamp::now(), &HashSet::new())
    }

    /// [`DialogAction::validate`] with relative dates reckoned at `now`, skipping the
    /// `hidden` elements (see [`DialogAction::hidden`]).
    pub fn validate_at(
        &self,
        submission: &serde_json::Map<String, Value>,
        now: jiff::Timestamp,
        hidden: &HashSet<String>,
    ) -> Result<BTreeMap<String, Value>, HashMap<String, String>> {
        let mut values = BTreeMap::new();
        let mut errors = HashMap::new();
        for e in &self.elements {
            if hidden.contains(&e.spec.name) {
                // Not shown, so not taken: whatever was sent for it is dropped.
                values.insert(e.spec.name.clone(), Value::Null);
                continue;
            }
            let raw = submission.get(&e.spec.name).cloned().unwrap_or(Value::Null);
            let checked = if e.spec.kind == ElementType::File {
                e.check_files(raw)
            } else if e.spec.multiselect {
                e.check_many(raw)
            } else {
                e.check_one(raw, now)
            };
            match checked {
                Ok(value) => {
                    values.insert(e.spec.name.clone(), value);
                }
                Err(message) => {
                    errors.insert(e.spec.name.clone(), message);
                }
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// `context` with every field of this dialog in `submission` (`null` when not sent yet),
    /// so `show_when` can test a field the user has not filled in; a multiselect's value is
    /// the list of its values whichever client sent it (the mobile app sends one string
    /// `"a,b"`, where `'a' in submission.tags` would test for a substring; nothing chosen is
    /// `[]`, not `null`, which `in` cannot test), as the follow-up action sees it. A value
    /// no client sends for a multiselect is left as sent: the submission check refuses it.
    fn with_every_field(&self, context: &Context) -> Context {
        let mut filled = context.clone();
        for e in &self.elements {
            let value = filled
                .submission
                .entry(e.spec.name.clone())
                .or_insert(Value::Null);
            if e.spec.multiselect {
                if let Ok(items) = multiselect_items(value.clone(), &e.spec.options) {
                    *value = Value::Array(items.into_iter().map(Value::String).collect());
                }
            }
        }
        filled
    }

    /// The newer Mattermost features this dialog uses (besides being a next step, which the
    /// route knows), each with the first version that has it; see [`super::versions`].
    pub fn features(&self) -> Vec<super::versions::Feature> {
        use super::versions::Feature;
        let mut found = Vec::new();
        let mut add = |f: Feature| {
            if !found.contains(&f) {
                found.push(f);
            }
        };
        for e in &self.elements {
            let s = &e.spec;
            if s.multiselect {
                add(Feature::Multiselect);
            }
            match s.kind {
                ElementType::Date => add(Feature::DateElement),
                ElementType::Datetime => add(Feature::DatetimeElement),
                ElementType::File => add(Feature::FileElement),
                _ => {}
            }
            if s.data_source.as_deref() == Some("dynamic") {
                add(Feature::DynamicSelect);
            }
            if s.refresh {
                add(Feature::FieldRefresh);
            }
        }
        if !self.rules.is_empty() {
            add(Feature::GenericError);
        }
        found
    }

    /// Renders the templates `build` does not (rules, lookups) in `context`, so `check`
    /// reports what would fail at run time.
    pub fn render_checks(&self, context: &Context) -> Result<(), TemplateError> {
        let mut filled = self.with_every_field(context);
        filled
            .results
            .insert("query".into(), Value::String(String::new()));
        for rule in &self.rules {
            rule.when.render(&filled)?;
            rule.error.render(&filled)?;
        }
        for lookup in self.elements.iter().filter_map(|e| e.lookup.as_ref()) {
            lookup.render_check(&filled)?;
        }
        Ok(())
    }

    /// The limits of the shown `file` elements, for [`super::dialog_files::verify`].
    pub(super) fn file_limits(
        &self,
        hidden: &HashSet<String>,
    ) -> Vec<super::dialog_files::FileLimits> {
        self.elements
            .iter()
            .filter(|e| e.spec.kind == ElementType::File && !hidden.contains(&e.spec.name))
            .map(|e| super::dialog_files::FileLimits::of(&e.spec))
            .collect()
    }

    /// Whether any element asks for a refresh when changed (the dialog then needs a
    /// `source_url`).
    pub fn refreshes(&self) -> bool {
        self.elements.iter().any(|e| e.spec.refresh)
    }

    /// The elements `show_when` hides in `context` (whose `submission` holds the values as
    /// sent: they only decide what is shown; each shown value is checked in full).
    pub fn hidden(&self, context: &Context) -> Result<HashSet<String>, TemplateError> {
        let mut hidden = HashSet::new();
        // Most dialogs show every element: no copy of the context to test none.
        if self.shows_every_element() {
            return Ok(hidden);
        }
        let filled = self.with_every_field(context);
        for e in &self.elements {
            if !e.shown(&filled)? {
                hidden.insert(e.spec.name.clone());
            }
        }
        Ok(hidden)
    }

    /// Whether no element has a `show_when` (so [`Self::hidden`] needs no context).
    pub fn shows_every_element(&self) -> bool {
        self.elements.iter().all(|e| e.show_when.is_none())
    }

    /// Whether a valid submission is checked further, against lookups or rules (so
    /// [`Self::check_lookups`] and [`Self::refusal`] need a context).
    pub fn checks_further(&self) -> bool {
        !self.rules.is_empty()
            || self
                .elements
                .iter()
                .any(|e| e.lookup.as_ref().is_some_and(|l| !l.free_form))
    }

    /// Points the dynamic selects of a built `dialog` at `url` (Switchboard's lookup URL).
    pub fn set_lookup_url(&self, dialog: &mut Dialog, url: &str) {
        for element in &mut dialog.elements {
            if element.data_source.as_deref() == Some("dynamic") {
                element.data_source_url = Some(url.to_owned());
            }
        }
    }

    /// The options of dynamic select `field` for `query`, in `context` (which holds the
    /// values so far); `None` when `field` is not a dynamic select of this dialog.
    pub async fn lookup(
        &self,
        field: &str,
        query: &str,
        context: &Context,
        env: LookupEnv<'_>,
    ) -> Option<Result<Vec<(String, String)>, LookupError>> {
        let element = self.elements.iter().find(|e| e.spec.name == field)?;
        let lookup = element.lookup.as_ref()?;
        Some(lookup.candidates(query, context, env).await)
    }

    /// Checks the values of dynamic selects against what their lookup offers (unless
    /// declared `free_form`); an error per refused field. A template failing is `Err` (the
    /// route's mistake); a service failing refuses the field with a message saying so.
    pub async fn check_lookups(
        &self,
        context: &Context,
        env: LookupEnv<'_>,
    ) -> Result<Result<(), HashMap<String, String>>, TemplateError> {
        let mut errors = HashMap::new();
        for e in &self.elements {
            let Some(lookup) = e.lookup.as_ref().filter(|l| !l.free_form) else {
                continue;
            };
            let chosen: Vec<&str> = match context.submission.get(&e.spec.name) {
                Some(Value::String(v)) => vec![v.as_str()],
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if chosen.is_empty() {
                continue;
            }
            // Boxed: an http lookup is a large future, needed only here; inline, every
            // submission's future would carry (and copy) its size.
            match Box::pin(lookup.refused(&chosen, context, env)).await {
                Ok(None) => {}
                Ok(Some(bad)) => {
                    errors.insert(
                        e.spec.name.clone(),
                        format!("`{bad}` is not one of the options offered."),
                    );
                }
                Err(LookupError::Template(t)) => return Err(t),
                Err(LookupError::TooManyToConfirm(n)) => {
                    tracing::warn!(field = %e.spec.name, chosen = n, "too many values to confirm with the lookup service");
                    errors.insert(
                        e.spec.name.clone(),
                        format!(
                            "Too many values to check: choose at most {} that the list does not show before you type.",
                            super::dialog_lookup::MOST_CONFIRMATIONS
                        ),
                    );
                }
                Err(other) => {
                    tracing::warn!(field = %e.spec.name, error = %other, "a lookup to check a submitted value failed");
                    errors.insert(
                        e.spec.name.clone(),
                        "The options could not be checked (the lookup service failed); try again."
                            .to_owned(),
                    );
                }
            }
        }
        Ok(if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        })
    }

    /// The generic error of the first cross-field rule that refuses the submission in
    /// `context` (which holds the validated `submission`).
    pub fn refusal(&self, context: &Context) -> Result<Option<String>, TemplateError> {
        for rule in &self.rules {
            // Comparisons render `True` (Python style) or `true` when written out by hand.
            if rule
                .when
                .render(context)?
                .trim()
                .eq_ignore_ascii_case("true")
            {
                return Ok(Some(rule.error.render(context)?));
            }
        }
        Ok(None)
    }
}

impl Element {
    /// Whether `show_when` (if any) shows this element in `context`.
    fn shown(&self, context: &Context) -> Result<bool, TemplateError> {
        match &self.show_when {
            None => Ok(true),
            Some(t) => Ok(t.render(context)?.trim().eq_ignore_ascii_case("true")),
        }
    }
}

/// `show_when` reading a field of the same dialog that has no `refresh = true`: the client
/// only asks for a new form when a refresh field changes, so the element would not appear (or
/// disappear) as the user fills the form in, while the submission is checked against the
/// values — a required element shown by them fails on a field the user never saw.
fn unrefreshed_show_when(elements: &[Element]) -> Vec<DeclarationProblem> {
    let mut problems = Vec::new();
    for (i, e) in elements.iter().enumerate() {
        let Some(show_when) = &e.show_when else {
            continue;
        };
        let mut read: Vec<String> = show_when
            .variables()
            .iter()
            .filter_map(|v| v.strip_prefix("submission."))
            .map(|rest| rest.split('.').next().unwrap_or(rest).to_owned())
            .collect();
        read.sort();
        read.dedup();
        for field in read {
            let Some(other) = elements.iter().find(|o| o.spec.name == field) else {
                continue; // an earlier step's value: fixed while this form is open
            };
            if !other.spec.refresh {
                problems.push((
                    Some(i),
                    "show_when",
                    format!(
                        "reads `submission.{field}`, but `{field}` has no `refresh = true`: \
                         Mattermost does not rebuild the form when it changes, so this field \
                         would not appear or disappear as the user fills the form in"
                    ),
                ));
            }
        }
    }
    problems
}

/// Problems with the keys that only some element types take.
fn element_problems(i: usize, e: &ElementSpec, problems: &mut Vec<DeclarationProblem>) {
    let is_date = matches!(e.kind, ElementType::Date | ElementType::Datetime);
    let mut only = |present: bool, key: &'static str, what: &str| {
        if present {
            problems.push((Some(i), key, format!("only {what} takes `{key}`")));
        }
    };
    only(
        e.multiselect && e.kind != ElementType::Select,
        "multiselect",
        "a select",
    );
    only(
        !e.multiselect && e.min_items.is_some(),
        "min_items",
        "a multiselect",
    );
    only(
        !e.multiselect && e.max_items.is_some(),
        "max_items",
        "a multiselect",
    );
    only(
        !is_date && e.min_date.is_some(),
        "min_date",
        "a date or datetime",
    );
    only(
        !is_date && e.max_date.is_some(),
        "max_date",
        "a date or datetime",
    );
    only(
        !is_date && e.time_zone.is_some(),
        "time_zone",
        "a date or datetime",
    );
    only(
        is_date && !e.options.is_empty(),
        "options",
        "a select or radio",
    );
    let is_file = e.kind == ElementType::File;
    only(
        !is_file && e.max_files.is_some(),
        "max_files",
        "a file element",
    );
    only(
        !is_file && e.max_file_bytes.is_some(),
        "max_file_bytes",
        "a file element",
    );
    only(
        !is_file && !e.extensions.is_empty(),
        "extensions",
        "a file element",
    );
    only(
        is_file && !e.options.is_empty(),
        "options",
        "a select or radio",
    );
    problems.extend(
        super::dialog_files::declaration_problems(e)
            .into_iter()
            .map(|(k, m)| (Some(i), k, m)),
    );
    if let (Some(min), Some(max)) = (e.min_items, e.max_items) {
        if min > max {
            problems.push((Some(i), "min_items", "is more than max_items".into()));
        }
    }
    if e.max_items == Some(0) {
        problems.push((Some(i), "max_items", "must be at least 1".into()));
    }
    if let Some(subtype) = &e.subtype {
        if !matches!(e.kind, ElementType::Text | ElementType::Textarea) {
            problems.push((
                Some(i),
                "subtype",
                "only a text field takes `subtype`".into(),
            ));
        } else if !TEXT_SUBTYPES.contains(&subtype.as_str()) {
            // Mattermost shows an unknown subtype as plain text: the author's intent is lost.
            problems.push((
                Some(i),
                "subtype",
                format!(
                    "`{subtype}` is not a subtype: one of {}",
                    TEXT_SUBTYPES.map(|s| format!("`{s}`")).join(", ")
                ),
            ));
        }
    }
    if let Some(problem) = default_option_problem(e) {
        problems.push((Some(i), "default", problem));
    }
}

/// The subtypes Mattermost gives a text field (`DialogElement.SubType`).
const TEXT_SUBTYPES: [&str; 6] = ["text", "email", "number", "password", "tel", "url"];

/// Why the `default` of a select or radio with static options cannot be submitted, if it
/// cannot: Mattermost preselects nothing for a value it does not offer, and a required field
/// then fails on submit with a field the user never touched. A default with template markup
/// is only known when the dialog opens, and is not checked here.
fn default_option_problem(e: &ElementSpec) -> Option<String> {
    let default = e.default.as_deref().filter(|d| !d.is_empty())?;
    let static_options = matches!(e.kind, ElementType::Radio)
        || (e.kind == ElementType::Select && e.data_source.is_none());
    if !static_options || e.options.is_empty() || default.contains("{{") || default.contains("{%") {
        return None;
    }
    // A multiselect's default is its values, comma-separated.
    let values: Vec<&str> = if e.multiselect {
        default.split(',').map(str::trim).collect()
    } else {
        vec![default]
    };
    let missing = values
        .into_iter()
        .find(|v| !e.options.iter().any(|o| o.value == *v))?;
    let offered: Vec<String> = e.options.iter().map(|o| format!("`{}`", o.value)).collect();
    Some(format!(
        "`{missing}` is not the value of one of its options ({})",
        offered.join(", ")
    ))
}

/// Why `text` cannot be accepted from a form, if it cannot: control characters (a NUL ends a
/// C string and cannot be put in an environment variable; the others are invisible) except tab,
/// and line breaks where the field allows several lines.
pub(crate) fn control_character(text: &str, multi_line: bool) -> Option<String> {
    let bad = text
        .chars()
        .find(|&c| c.is_control() && c != '\t' && !(multi_line && (c == '\n' || c == '\r')))?;
    Some(match bad {
        '\0' => "This value contains a NUL character, which is not allowed.".to_owned(),
        '\n' | '\r' => "This value must be a single line.".to_owned(),
        other => format!(
            "This value contains a control character (U+{:04X}), which is not allowed.",
            u32::from(other)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialog() -> DialogAction {
        let spec: DialogSpec = toml::from_str(
            r#"
            title = "Deploy {{ args.env }}"
            on_submit = "run"
            [[elements]]
            name = "version"
            display_name = "Version"
            type = "text"
            required = true
            pattern = 'v\d+\.\d+'
            max_length = 10
            [[elements]]
            name = "env"
            display_name = "Environment"
            type = "radio"
            options = [{ text = "Staging", value = "staging" }, { text = "Prod", value = "prod" }]
            [[elements]]
            name = "sure"
            display_name = "I am sure"
            type = "bool"
            required = true
            "#,
        )
        .unwrap();
        DialogAction::compile("d", &spec).unwrap()
    }

    fn submit(v: &Value) -> Result<BTreeMap<String, Value>, HashMap<String, String>> {
        dialog().validate(v.as_object().unwrap())
    }

    #[test]
    fn every_failing_field_gets_its_own_error() {
        let errors = submit(&serde_json::json!({"version": "latest", "env": "dev", "sure": false}))
            .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors["version"].contains("form"));
        assert!(errors["env"].contains("options"));
        assert!(errors["sure"].contains("ticked"));
        let errors = submit(&serde_json::json!({"sure": true})).unwrap_err();
        assert_eq!(errors["version"], "This field is required.");
    }

    #[test]
    fn a_blank_required_field_is_missing_and_said_so() {
        for blank in ["", "   ", "\t \u{a0}"] {
            let errors = submit(&serde_json::json!({"version": blank, "sure": true})).unwrap_err();
            assert_eq!(errors["version"], "This field is required.", "{blank:?}");
        }
    }

    #[test]
    fn patterns_have_the_web_clients_ascii_classes() {
        let errors = submit(&serde_json::json!({"version": "v١.٢", "sure": true})).unwrap_err();
        assert_eq!(errors["version"], "This value is not in the expected form.");
        let spec: DialogSpec = toml::from_str(
            "title = \"t\"\n[[elements]]\nname = \"v\"\ndisplay_name = \"V\"\ntype = \"text\"\npattern = 'v\\d+'\nunicode = true\n",
        )
        .unwrap();
        let dialog = DialogAction::compile("d", &spec).unwrap();
        let values = dialog
            .validate(serde_json::json!({"v": "v١"}).as_object().unwrap())
            .unwrap();
        assert_eq!(
            values["v"], "v١",
            "`unicode = true` opts into Unicode digits"
        );
        assert_eq!(dialog.on_submit, None, "on_submit is optional");
    }

    #[test]
    fn control_characters_are_refused_with_a_field_error() {
        let spec: DialogSpec = toml::from_str(
            r#"
            title = "t"
            [[elements]]
            name = "line"
            display_name = "Line"
            type = "text"
            [[elements]]
            name = "notes"
            display_name = "Notes"
            type = "textarea"
            "#,
        )
        .unwrap();
        let dialog = DialogAction::compile("d", &spec).unwrap();
        let submit = |v: Value| dialog.validate(v.as_object().unwrap());
        let errors =
            submit(serde_json::json!({"line": "v1\u{0}rm", "notes": "a\u{1b}[2J"})).unwrap_err();
        assert!(errors["line"].contains("NUL"), "{errors:?}");
        assert!(errors["notes"].contains("U+001B"), "{errors:?}");
        let errors = submit(serde_json::json!({"line": "two\nlines"})).unwrap_err();
        assert_eq!(errors["line"], "This value must be a single line.");
        let values = submit(serde_json::json!({"line": "a\tb", "notes": "two\r\nlines"})).unwrap();
        assert_eq!(values["notes"], "two\r\nlines");
    }

    #[test]
    fn user_and_channel_selects_take_ids_only() {
        let spec: DialogSpec = toml::from_str(
            r#"
            title = "Page"
            on_submit = "run"
            [[elements]]
            name = "who"
            display_name = "Who"
            type = "select"
            data_source = "users"
            [[elements]]
            name = "where"
            display_name = "Where"
            type = "select"
            data_source = "channels"
            required = false
            "#,
        )
        .unwrap();
        let dialog = DialogAction::compile("d", &spec).unwrap();
        let submit = |v: Value| dialog.validate(v.as_object().unwrap());
        let errors =
            submit(serde_json::json!({"who": "@alice", "where": "town-square"})).unwrap_err();
        assert_eq!(errors["who"], "Choose a user from the list.");
        assert_eq!(errors["where"], "Choose a channel from the list.");
        let values = submit(serde_json::json!({"who": "u1b2c3d4e5f6g7h8i9j0k1l2m3"})).unwrap();
        assert_eq!(values["who"], "u1b2c3d4e5f6g7h8i9j0k1l2m3");
    }

    /// A checkbox is `true` or `false`: a number or another word from a hand-made request is
    /// refused, never passed on as text that a template would take as true.
    #[test]
    fn a_checkbox_takes_a_boolean_only() {
        for (sent, ok) in [
            (serde_json::json!(true), Some(true)),
            (serde_json::json!("true"), Some(true)),
            (serde_json::json!(false), Some(false)),
            (serde_json::json!("false"), Some(false)),
            (serde_json::json!(0), None),
            (serde_json::json!(1), None),
            (serde_json::json!("no"), None),
            (serde_json::json!("yes"), None),
            (serde_json::json!(["true"]), None),
        ] {
            let spec: DialogSpec = toml::from_str(
                "title = 't'\n[[elements]]\nname = 'urgent'\ndisplay_name = 'Urgent'\ntype = 'bool'",
            )
            .unwrap();
            let result = DialogAction::compile("d", &spec)
                .unwrap()
                .validate(serde_json::json!({ "urgent": sent }).as_object().unwrap());
            match ok {
                Some(b) => assert_eq!(result.unwrap()["urgent"], b, "{sent}"),
                None => assert_eq!(
                    result.unwrap_err()["urgent"],
                    "This value has the wrong type.",
                    "{sent}"
                ),
            }
        }
    }

    /// A field shown by another's value needs that one to refresh the form; a value from an
    /// earlier step (not a field of this dialog) is fixed and needs nothing.
    #[test]
    fn show_when_reading_a_field_without_refresh_is_a_declaration_problem() {
        let compile = |refresh: bool| {
            let spec: DialogSpec = toml::from_str(&format!(
                r#"
                title = "t"
                [[elements]]
                name = "severity"
                display_name = "Severity"
                type = "radio"
                refresh = {refresh}
                options = [{{ text = "Sev 1", value = "sev1" }}]
                [[elements]]
                name = "reason"
                display_name = "Why?"
                type = "textarea"
                required = true
                show_when = "{{{{ submission.severity == 'sev1' and submission.summary }}}}"
                "#
            ))
            .unwrap();
            DialogAction::compile("d", &spec)
        };
        let problems = compile(false).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].0, problems[0].1), (Some(1), "show_when"));
        assert!(
            problems[0].2.contains("`severity` has no `refresh = true`"),
            "{problems:?}"
        );
        assert!(compile(true).is_ok());
    }

    #[test]
    fn a_valid_submission_yields_declared_values_only() {
        let values = submit(
            &serde_json::json!({"version": "v1.2", "env": "prod", "sure": "true", "extra": "x"}),
        )
        .unwrap();
        assert_eq!(values["version"], "v1.2");
        assert_eq!(values["sure"], true);
        assert!(!values.contains_key("extra"));
    }

    #[test]
    fn a_multiselect_takes_an_array_of_offered_values_in_its_count() {
        let spec: DialogSpec = toml::from_str(
            r#"
            title = "t"
            [[elements]]
            name = "teams"
            display_name = "Teams"
            type = "select"
            multiselect = true
            required = true
            min_items = 1
            max_items = 2
            options = [{ text = "A", value = "a" }, { text = "B", value = "b" }, { text = "C", value = "c" }]
            [[elements]]
            name = "people"
            display_name = "People"
            type = "select"
            data_source = "users"
            multiselect = true
            "#,
        )
        .unwrap();
        let dialog = DialogAction::compile("d", &spec).unwrap();
        let submit = |v: Value| dialog.validate(v.as_object().unwrap());
        let values = submit(serde_json::json!({"teams": ["a", "c"]})).unwrap();
        assert_eq!(values["teams"], serde_json::json!(["a", "c"]));
        assert_eq!(values["people"], serde_json::json!([]));
        for (teams, error) in [
            (serde_json::json!(["a", "b", "c"]), "Choose at most 2."),
            (
                serde_json::json!(["a", "z"]),
                "Choose one of the offered options.",
            ),
            (serde_json::json!(["a", "a"]), "`a` is chosen twice."),
            (serde_json::json!([]), "This field is required."),
            (serde_json::json!([1]), "This value has the wrong type."),
            (
                serde_json::json!({"a": true}),
                "This value has the wrong type.",
            ),
        ] {
            let errors = submit(serde_json::json!({ "teams": teams })).unwrap_err();
            assert_eq!(errors["teams"], error, "{teams}");
        }
        let errors = submit(serde_json::json!({"teams": ["a"], "people": ["@alice"]})).unwrap_err();
        assert_eq!(errors["people"], "Choose a user from the list.");
    }

    /// The mobile app submits a multiselect as one comma-separated string, and a web adapter
    /// may pass the apps-form option objects through: each is the same choice as the array.
    #[test]
    fn a_multiselect_is_read_in_every_form_mattermost_clients_send() {
        let spec: DialogSpec = toml::from_str(
            r#"
            title = "t"
            [[elements]]
            name = "teams"
            display_name = "Teams"
            type = "select"
            multiselect = true
            max_items = 2
            options = [{ text = "A", value = "a" }, { text = "B", value = "b" }, { text = "C", value = "c" }, { text = "D, E", value = "d,e" }]
            "#,
        )
        .unwrap();
        let dialog = DialogAction::compile("d", &spec).unwrap();
        let submit =
            |v: Value| dialog.validate(serde_json::json!({ "teams": v }).as_object().unwrap());
        for sent in [
            serde_json::json!(["a", "c"]),
            serde_json::json!("a,c"),
            serde_json::json!("a, c"),
            serde_json::json!([{"label": "A", "value": "a"}, {"label": "C", "value": "c"}]),
        ] {
            assert_eq!(
                submit(sent.clone()).unwrap()["teams"],
                serde_json::json!(["a", "c"]),
                "{sent}"
            );
        }
        assert_eq!(
            submit(serde_json::json!("b")).unwrap()["teams"],
            serde_json::json!(["b"])
        );
        // An offered value with a comma in it is one value.
        assert_eq!(
            submit(serde_json::json!("d,e")).unwrap()["teams"],
            serde_json::json!(["d,e"])
        );
        // Split, the values are checked like an array's.
        for (sent, error) in [
            (serde_json::json!("a,b,c"), "Choose at most 2."),
            (
                serde_json::json!("a,z"),
                "Choose one of the offered options.",
            ),
            (serde_json::json!("a,a"), "`a` is chosen twice."),
            (
                serde_json::json!([{"label": "A"}]),
                "This value has the wrong type.",
            ),
        ] {
            assert_eq!(submit(sent.clone()).unwrap_err()["teams"], error, "{sent}");
        }
    }

    #[test]
    fn keys_of_other_element_types_are_declaration_problems() {
        let spec: DialogSpec = toml::from_str(
            "title = \"t\"\n[[elements]]\nname = \"a\"\ndisplay_name = \"A\"\ntype = \"text\"\nmultiselect = true\nmax_items = 2\nmin_date = \"today\"\n",
        )
        .unwrap();
        let problems = DialogAction::compile("d", &spec).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|(_, k, _)| *k).collect();
        assert_eq!(keys, vec!["multiselect", "min_date"]);
    }

    #[test]
    fn a_rule_refuses_with_its_error_when_true() {
        let spec: DialogSpec = toml::from_str(
            "title = \"t\"\n[[rules]]\nwhen = \"{{ submission.severity == 'sev1' and submission.teams | length < 2 }}\"\nerror = \"Page two teams for {{ submission.severity }}.\"\n",
        )
        .unwrap();
        let dialog = DialogAction::compile("d", &spec).unwrap();
        let mut context = Context::default();
        context.submission.insert("severity".into(), "sev1".into());
        context
            .submission
            .insert("teams".into(), serde_json::json!(["a"]));
        assert_eq!(
            dialog.refusal(&context).unwrap().as_deref(),
            Some("Page two teams for sev1.")
        );
        context
            .submission
            .insert("teams".into(), serde_json::json!(["a", "b"]));
        assert_eq!(dialog.refusal(&context).unwrap(), None);
    }

    #[test]
    fn an_unknown_subtype_and_a_default_that_is_not_an_option_are_declaration_problems() {
        let spec: DialogSpec = toml::from_str(
            r#"title = "t"
            [[elements]]
            name = "x"
            display_name = "X"
            type = "text"
            subtype = "colour"
            [[elements]]
            name = "s"
            display_name = "S"
            type = "select"
            default = "zzz"
            options = [{ text = "A", value = "a" }]
            [[elements]]
            name = "m"
            display_name = "M"
            type = "select"
            multiselect = true
            default = "a, b"
            options = [{ text = "A", value = "a" }, { text = "B", value = "b" }]
            [[elements]]
            name = "r"
            display_name = "R"
            type = "radio"
            default = "{{ args.r }}"
            options = [{ text = "A", value = "a" }]
            "#,
        )
        .unwrap();
        let problems = DialogAction::compile("d", &spec).unwrap_err();
        assert_eq!(
            problems,
            vec![
                (
                    Some(0),
                    "subtype",
                    "`colour` is not a subtype: one of `text`, `email`, `number`, `password`, `tel`, `url`"
                        .to_owned()
                ),
                (
                    Some(1),
                    "default",
                    "`zzz` is not the value of one of its options (`a`)".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn bad_declarations_are_reported_per_element() {
        let spec: DialogSpec = toml::from_str(
            "title = \"t\"\non_submit = \"x\"\n[[elements]]\nname = \"a\"\ndisplay_name = \"A\"\ntype = \"radio\"\npattern = \"(\"\n",
        )
        .unwrap();
        let problems = DialogAction::compile("d", &spec).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|(i, k, _)| (*i, *k)).collect();
        assert_eq!(keys, vec![(Some(0), "pattern"), (Some(0), "options")]);
    }
}
