//! Checking one submitted value of a dialog element: single values (text, choices, dates) and
//! multiselect arrays. The declaration rules live in `dialog/compile.rs`.

use serde_json::Value;

use super::dialog::{Element, control_character};
use super::spec::{ElementType, OptionSpec};

/// Most values a multiselect submission may carry, whatever is declared: a hostile request
/// cannot make Switchboard check thousands.
pub(super) const MOST_ITEMS: usize = 500;

/// A submitted value as an element's `default` (multiselect: comma-separated).
pub(super) fn as_default(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    }
}

/// The values of a multiselect, in each form Mattermost's clients submit one: an array of
/// strings (the web app), or one string of comma-separated values (the mobile app's dialog
/// adapter, `convertAppFormValuesToDialogSubmission`, joins the chosen values with `,`, the
/// form the server itself reads a multiselect `default` in); array items may also be the
/// apps-form option objects `{"label", "value"}` a web adapter passes through. Nothing chosen
/// is an empty list. The one reader of the three forms: the submission check and `show_when`
/// (which must see what the follow-up action will) both come here.
pub(super) fn multiselect_items(raw: Value, options: &[OptionSpec]) -> Result<Vec<String>, String> {
    Ok(match raw {
        Value::Null => Vec::new(),
        Value::String(t) if t.trim().is_empty() => Vec::new(),
        // An offered value that itself holds a comma stays whole.
        Value::String(t) if options.iter().any(|o| o.value == t) => vec![t],
        Value::String(t) => {
            let items: Vec<String> = t
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            if items.len() > MOST_ITEMS {
                return Err(format!("At most {MOST_ITEMS} values."));
            }
            items
        }
        Value::Array(items) if items.len() <= MOST_ITEMS => items
            .into_iter()
            .map(|v| match v {
                Value::String(t) => Ok(t),
                Value::Object(mut option) => match option.remove("value") {
                    Some(Value::String(t)) => Ok(t),
                    _ => Err("This value has the wrong type.".to_owned()),
                },
                _ => Err("This value has the wrong type.".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Value::Array(_) => return Err(format!("At most {MOST_ITEMS} values.")),
        _ => return Err("This value has the wrong type.".into()),
    })
}

impl Element {
    /// One value (every element but a multiselect).
    pub(super) fn check_one(&self, raw: Value, now: jiff::Timestamp) -> Result<Value, String> {
        let s = &self.spec;
        let value = match (s.kind, raw) {
            // A checkbox is submitted as a JSON boolean by the web and mobile clients (the
            // strings are tolerated). Anything else came from a hand-made request and is
            // refused: taken as text, `0` or `"no"` would be a non-empty string, which is
            // *true* in a template's `{% if submission.x %}`.
            (ElementType::Bool, Value::Bool(b)) => Value::Bool(b),
            (ElementType::Bool, Value::String(t)) if t == "true" => Value::Bool(true),
            (ElementType::Bool, Value::String(t)) if t == "false" || t.is_empty() => {
                Value::Bool(false)
            }
            (ElementType::Bool, Value::Null) => Value::Bool(false),
            (ElementType::Bool, _) => return Err("This value has the wrong type.".into()),
            (_, Value::Null) => Value::Null,
            (_, Value::String(t)) => Value::String(t),
            (_, Value::Number(n)) => Value::String(n.to_string()),
            (_, _) => return Err("This value has the wrong type.".into()),
        };
        let text = value.as_str().unwrap_or_default();
        if let Some(problem) = control_character(text, s.kind == ElementType::Textarea) {
            return Err(problem);
        }
        if s.kind == ElementType::Bool {
            if s.required && value != Value::Bool(true) {
                return Err("This box must be ticked.".into());
            }
            return Ok(value);
        }
        // Blank is missing: "   " does not fill a required field.
        if text.trim().is_empty() {
            if s.required {
                return Err("This field is required.".into());
            }
            return Ok(Value::Null);
        }
        let length = text.chars().count();
        if let Some(min) = s.min_length.filter(|&m| length < m) {
            return Err(format!("At least {min} characters."));
        }
        if let Some(max) = s.max_length.filter(|&m| length > m) {
            return Err(format!("At most {max} characters."));
        }
        self.check_choice(text)?;
        if let Some(dates) = &self.dates {
            dates.check(text, now)?;
        }
        if self.pattern.as_ref().is_some_and(|p| !p.is_match(text)) {
            return Err("This value is not in the expected form.".into());
        }
        if s.subtype.as_deref() == Some("number") && text.parse::<f64>().is_err() {
            return Err("Enter a number.".into());
        }
        Ok(value)
    }

    /// A chosen value: one of the options, or an id from Mattermost's user or channel list.
    fn check_choice(&self, text: &str) -> Result<(), String> {
        let s = &self.spec;
        if !s.options.is_empty() && !s.options.iter().any(|o| o.value == text) {
            return Err("Choose one of the offered options.".into());
        }
        if let Some(source) = s.data_source.as_deref().filter(|s| *s != "dynamic") {
            if !crate::mattermost::is_valid_id(text) {
                // Mattermost sends the id picked from its list; anything else was typed into
                // a hand-made request.
                let what = if source == "channels" {
                    "channel"
                } else {
                    "user"
                };
                return Err(format!("Choose a {what} from the list."));
            }
        }
        Ok(())
    }

    /// A multiselect, read by [`multiselect_items`]: each value must be a valid choice,
    /// none twice, as many as declared.
    pub(super) fn check_many(&self, raw: Value) -> Result<Value, String> {
        let s = &self.spec;
        let items = multiselect_items(raw, &s.options)?;
        if items.is_empty() {
            if s.required {
                return Err("This field is required.".into());
            }
            return Ok(Value::Array(Vec::new()));
        }
        let mut seen = std::collections::HashSet::new();
        for item in &items {
            if let Some(problem) = control_character(item, false) {
                return Err(problem);
            }
            if item.trim().is_empty() {
                return Err("A chosen value is blank.".into());
            }
            self.check_choice(item)?;
            if !seen.insert(item.as_str()) {
                return Err(format!("`{item}` is chosen twice."));
            }
        }
        if let Some(min) = s.min_items.filter(|&m| items.len() < m) {
            return Err(format!("Choose at least {min}."));
        }
        if let Some(max) = s.max_items.filter(|&m| items.len() > m) {
            return Err(format!("Choose at most {max}."));
        }
        Ok(Value::Array(items.into_iter().map(Value::String).collect()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::context::{Context, SampleShape};
    use super::super::dialog::DialogAction;
    use super::super::spec::DialogSpec;
    use super::*;

    /// A multiselect `envs` (`prod`, `preprod`) and a field shown when `prod` is chosen.
    fn dialog() -> DialogAction {
        let spec: DialogSpec = toml::from_str(
            r#"
            title = "t"
            [[elements]]
            name = "envs"
            display_name = "Environments"
            type = "select"
            multiselect = true
            refresh = true
            options = [{ text = "Prod", value = "prod" }, { text = "Pre-prod", value = "preprod" }]
            [[elements]]
            name = "why"
            display_name = "Why prod?"
            type = "text"
            show_when = "{{ 'prod' in submission.envs }}"
            "#,
        )
        .unwrap();
        DialogAction::compile("d", &spec).unwrap()
    }

    fn hidden_when_sent(envs: Value) -> bool {
        let mut context = Context::sample("d", &SampleShape::default());
        context.submission.insert("envs".into(), envs);
        dialog().hidden(&context).unwrap().contains("why")
    }

    #[test]
    fn show_when_sees_a_multiselect_as_its_list_of_values_whichever_client_sent_it() {
        // Web app: an array; mobile app: one comma-separated string; a web adapter: options.
        for (sent, hidden) in [
            (json!(["preprod"]), true),
            (json!("preprod"), true),
            (json!([{ "label": "Pre-prod", "value": "preprod" }]), true),
            (json!(["preprod", "prod"]), false),
            (json!("preprod,prod"), false),
            (json!("prod"), false),
            (Value::Null, true),
        ] {
            // `'prod' in "preprod"` would be a substring test: true.
            assert_eq!(hidden_when_sent(sent.clone()), hidden, "{sent}");
        }
    }

    #[test]
    fn multiselect_items_reads_the_three_forms_alike() {
        let options: Vec<OptionSpec> =
            vec![toml::from_str("text = \"D, E\"\nvalue = \"d,e\"").unwrap()];
        for sent in [
            json!(["a", "b"]),
            json!("a,b"),
            json!(" a , b "),
            json!([{ "label": "A", "value": "a" }, { "value": "b" }]),
        ] {
            assert_eq!(
                multiselect_items(sent.clone(), &options).unwrap(),
                ["a", "b"],
                "{sent}"
            );
        }
        assert_eq!(multiselect_items(json!("d,e"), &options).unwrap(), ["d,e"]);
        assert_eq!(
            multiselect_items(json!(""), &options).unwrap(),
            Vec::<String>::new()
        );
        assert!(multiselect_items(json!(3), &options).is_err());
    }
}
