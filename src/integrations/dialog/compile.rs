//! Compiling a `[dialog]`: its templates, patterns, dates, lookups and rules, and every
//! problem of the declaration found in one pass (per element, with its key).

use super::{DeclarationProblem, DialogAction, Element, Rule};
use crate::integrations::dialog_dates::DateRule;
use crate::integrations::dialog_lookup::Lookup;
use crate::integrations::pattern;
use crate::integrations::spec::{DialogSpec, ElementSpec, ElementType};
use crate::integrations::template::Template;

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
        crate::integrations::dialog_files::declaration_problems(e)
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
