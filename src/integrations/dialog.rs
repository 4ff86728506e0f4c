//! The `dialog` action: open an interactive dialog, and validate its submission against the
//! rules declared per field before the `on_submit` action runs.
//!
//! Mattermost's web app enforces some rules (required, lengths) in the browser, but a
//! submission is just an HTTP request, so every rule is enforced again here; a failing field
//! gets its own message in the dialog's `errors`, which Mattermost shows beside the field.
//!
//! Here: building the dialog for a request and validating a submission. Beside it: `compile`
//! (the declaration compiled, with every problem it has).

use std::collections::{BTreeMap, HashMap, HashSet};

use regex::Regex;
use serde_json::Value;

use super::context::Context;
use super::dialog_dates::DateRule;
use super::dialog_lookup::{Lookup, LookupEnv, LookupError};
use super::dialog_values::{as_default, multiselect_items};
use super::spec::{ElementSpec, ElementType};
use super::template::{Template, TemplateError};
use crate::mattermost::models::{
    DateTimeConfig, Dialog, DialogElement, DialogElementType, DialogOption,
};

mod compile;

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
mod tests;
