//! The `dialog` action: open an interactive dialog, and validate its submission against the
//! rules declared per field before the `on_submit` action runs.
//!
//! Mattermost's web app enforces some rules (required, lengths) in the browser, but a
//! submission is just an HTTP request, so every rule is enforced again here; a failing field
//! gets its own message in the dialog's `errors`, which Mattermost shows beside the field.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde_json::Value;

use super::pattern;

use super::context::Context;
use super::spec::{DialogSpec, ElementSpec, ElementType};
use super::template::{Template, TemplateError};
use crate::mattermost::models::{Dialog, DialogElement, DialogElementType, DialogOption};

/// A compiled `[dialog]`.
#[derive(Debug, Clone)]
pub struct DialogAction {
    title: Template,
    introduction: Template,
    submit_label: Option<String>,
    icon_url: Option<String>,
    notify_on_cancel: bool,
    elements: Vec<Element>,
    /// The follow-up action run with the validated submission; `None`: a valid submission
    /// just closes the dialog.
    pub on_submit: Option<String>,
}

#[derive(Debug, Clone)]
struct Element {
    spec: ElementSpec,
    default: Option<Template>,
    pattern: Option<Regex>,
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
                if e.kind != ElementType::Select || !matches!(source.as_str(), "users" | "channels")
                {
                    problems.push((
                        Some(i),
                        "data_source",
                        "only a select has a data_source: `users` or `channels`".into(),
                    ));
                }
            }
            if let (Some(min), Some(max)) = (e.min_length, e.max_length) {
                if min > max {
                    problems.push((Some(i), "min_length", "is more than max_length".into()));
                }
            }
            elements.push(Element {
                spec: e.clone(),
                default,
                pattern,
            });
        }
        match (title, introduction) {
            (Some(title), Some(introduction)) if problems.is_empty() => Ok(DialogAction {
                title,
                introduction,
                submit_label: spec.submit_label.clone(),
                icon_url: spec.icon_url.clone(),
                notify_on_cancel: spec.notify_on_cancel,
                elements,
                on_submit: spec.on_submit.clone(),
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
        for e in &self.elements {
            let s = &e.spec;
            let kind = match s.kind {
                ElementType::Text => DialogElementType::Text,
                ElementType::Textarea => DialogElementType::Textarea,
                ElementType::Select => DialogElementType::Select,
                ElementType::Bool => DialogElementType::Bool,
                ElementType::Radio => DialogElementType::Radio,
            };
            let mut element = DialogElement::new(kind, s.name.clone(), s.display_name.clone());
            element.subtype.clone_from(&s.subtype);
            element.placeholder.clone_from(&s.placeholder);
            element.help_text.clone_from(&s.help_text);
            element.optional = Some(!s.required);
            element.min_length = s.min_length.and_then(|n| u32::try_from(n).ok());
            element.max_length = s.max_length.and_then(|n| u32::try_from(n).ok());
            element.data_source.clone_from(&s.data_source);
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
        let mut values = BTreeMap::new();
        let mut errors = HashMap::new();
        for e in &self.elements {
            let s = &e.spec;
            let raw = submission.get(&s.name).cloned().unwrap_or(Value::Null);
            let value = match (s.kind, raw) {
                (ElementType::Bool, Value::Bool(b)) => Value::Bool(b),
                (ElementType::Bool, Value::String(t)) => Value::Bool(t == "true"),
                (ElementType::Bool, Value::Null) => Value::Bool(false),
                (_, Value::Null) => Value::Null,
                (_, Value::String(t)) => Value::String(t),
                (_, Value::Number(n)) => Value::String(n.to_string()),
                (_, _) => {
                    errors.insert(s.name.clone(), "This value has the wrong type.".into());
                    continue;
                }
            };
            let text = value.as_str().unwrap_or_default();
            if let Some(problem) = control_character(text, s.kind == ElementType::Textarea) {
                errors.insert(s.name.clone(), problem);
                continue;
            }
            if s.kind == ElementType::Bool {
                if s.required && value != Value::Bool(true) {
                    errors.insert(s.name.clone(), "This box must be ticked.".into());
                }
                values.insert(s.name.clone(), value);
                continue;
            }
            // Blank is missing: "   " does not fill a required field.
            if text.trim().is_empty() {
                if s.required {
                    errors.insert(s.name.clone(), "This field is required.".into());
                }
                values.insert(s.name.clone(), Value::Null);
                continue;
            }
            let length = text.chars().count();
            if let Some(min) = s.min_length.filter(|&m| length < m) {
                errors.insert(s.name.clone(), format!("At least {min} characters."));
            } else if let Some(max) = s.max_length.filter(|&m| length > m) {
                errors.insert(s.name.clone(), format!("At most {max} characters."));
            } else if !s.options.is_empty() && !s.options.iter().any(|o| o.value == text) {
                errors.insert(s.name.clone(), "Choose one of the offered options.".into());
            } else if s.data_source.is_some() && !crate::mattermost::is_valid_id(text) {
                // Mattermost sends the id picked from its list; anything else was typed into
                // a hand-made request.
                let what = match s.data_source.as_deref() {
                    Some("channels") => "channel",
                    _ => "user",
                };
                errors.insert(s.name.clone(), format!("Choose a {what} from the list."));
            } else if e.pattern.as_ref().is_some_and(|p| !p.is_match(text)) {
                errors.insert(
                    s.name.clone(),
                    "This value is not in the expected form.".into(),
                );
            } else if s.subtype.as_deref() == Some("number") && text.parse::<f64>().is_err() {
                errors.insert(s.name.clone(), "Enter a number.".into());
            }
            values.insert(s.name.clone(), value);
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
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
