use super::*;
use crate::integrations::spec::DialogSpec;

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
    let errors =
        submit(&serde_json::json!({"version": "latest", "env": "dev", "sure": false})).unwrap_err();
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
    let errors = submit(serde_json::json!({"who": "@alice", "where": "town-square"})).unwrap_err();
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
    let submit = |v: Value| dialog.validate(serde_json::json!({ "teams": v }).as_object().unwrap());
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
