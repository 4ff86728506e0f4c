use super::*;
use crate::integrations::Action;
use crate::integrations::locate::template_location;
use crate::integrations::template::TemplateError;

fn load(files: &[(&str, &str)]) -> Result<RouteSet, Vec<LoadProblem>> {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    load_dir(dir.path())
}

fn problems(files: &[(&str, &str)]) -> Vec<String> {
    load(files)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

const HELLO: &str = "[command]\ntrigger = \"hello\"\n[reply]\ntext = \"hi {{ user.name }}\"\n";

#[test]
fn a_valid_route_loads() {
    let set = load(&[("hello.toml", HELLO)]).unwrap();
    let route = set.get("hello").unwrap();
    assert_eq!(route.command.as_ref().unwrap().trigger, "hello");
}

#[test]
fn an_unknown_key_is_reported_with_file_and_line() {
    let all = problems(&[("bad.toml", "[command]\ntrigger = \"x\"\ntrigerr = 1\n")]);
    assert!(all[0].contains("bad.toml:3"), "{all:?}");
    assert!(all[0].contains("trigerr"), "{all:?}");
    // The rest of the file is still checked in the same run.
    assert!(all[1].contains("needs an action"), "{all:?}");
    assert_eq!(all.len(), 2, "{all:?}");
}

#[test]
fn a_stand_in_for_a_wrong_required_key_adds_no_problem_of_its_own() {
    // An empty trigger stands in for `5`; a `text` element for the misspelt `dat`, whose
    // `min_date` is right for the date it was meant to be.
    let all = problems(&[(
        "stand.toml",
        "[command]\ntrigger = 5\n[dialog]\ntitle = \"T\"\n[[dialog.elements]]\nname = \"v\"\n\
         display_name = \"V\"\ntype = \"dat\"\nmin_date = \"2026-01-01\"\n\
         [[dialog.elements]]\nname = \"w\"\ndisplay_name = \"W\"\ntype = \"text\"\nmin_length = -1\n",
    )]);
    assert!(
        all[0].contains("stand.toml:2: `command.trigger`: invalid type"),
        "{all:?}"
    );
    assert!(
        all[1].contains("`dialog.elements[0].type`: unknown variant `dat`"),
        "{all:?}"
    );
    // The next element is checked as usual.
    assert!(
        all[2].contains("`dialog.elements[1].min_length`"),
        "{all:?}"
    );
    assert_eq!(all.len(), 3, "{all:?}");
}

#[test]
fn a_backslash_in_a_double_quoted_pattern_suggests_single_quotes() {
    let all = problems(&[(
        "esc.toml",
        "[hook]\ntrigger_words = [\"b\"]\npattern = \"^build\\s+x\"\n[reply]\ntext = \"x\"\n",
    )]);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("esc.toml:3") && all[0].contains("'single quotes'"),
        "{all:?}"
    );
}

#[test]
fn a_files_problems_come_in_line_order() {
    let all = problems(&[(
        "order.toml",
        "[reply]\ntext = \"{{ nope }}\"\n[command]\ntrigger = \"x\"\n[[args]]\nname = \"a\"\ntype = \"integer\"\ndefault = \"ten\"\n",
    )]);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[0].contains("order.toml:2"), "{all:?}");
    assert!(all[1].contains("order.toml:8"), "{all:?}");
}

#[test]
fn every_unknown_key_is_reported_in_one_run_with_the_files_other_problems() {
    let all = problems(&[(
        "bad.toml",
        "descripton = \"x\"\n[command]\ntrigger = \"Bad\"\ntrigerr = 1\n[[args]]\nname = \"a\"\nrequird = true\n[reply]\ntext = \"hi\"\ncolour = \"red\"\n",
    )]);
    let has = |needle: &[&str]| all.iter().any(|p| needle.iter().all(|n| p.contains(n)));
    assert!(has(&["bad.toml:1: unknown field `descripton`"]), "{all:?}");
    assert!(
        has(&[
            "bad.toml:4: unknown field `trigerr` in `[command]`",
            "`trigger`"
        ]),
        "{all:?}"
    );
    assert!(
        has(&["bad.toml:7: unknown field `requird` in `[[args]]` #1"]),
        "{all:?}"
    );
    assert!(
        has(&["bad.toml:10: unknown field `colour` in `[reply]`"]),
        "{all:?}"
    );
    assert!(
        has(&["bad.toml:3: `command.trigger`", "lower case"]),
        "{all:?}"
    );
    assert_eq!(all.len(), 5, "{all:?}");
}

#[test]
fn a_duplicate_trigger_names_both_files_and_blames_the_later_even_when_it_has_other_problems() {
    let all = problems(&[
        ("a.toml", HELLO),
        ("b.toml", &format!("{HELLO}bogus = 1\n")),
    ]);
    let duplicate = all
        .iter()
        .find(|p| p.contains("already used"))
        .expect("a duplicate");
    assert!(
        duplicate.contains("b.toml:2: `command.trigger`: trigger `/hello` is already used by ")
            && duplicate.ends_with("a.toml:2"),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|p| p.contains("b.toml:5: unknown field `bogus`")),
        "{all:?}"
    );
    let blamed = load(&[
        ("a.toml", HELLO),
        ("b.toml", &format!("{HELLO}bogus = 1\n")),
    ])
    .unwrap_err();
    assert!(
        blamed.iter().all(|p| p.file.ends_with("b.toml")),
        "the earlier file is not blamed: {all:?}"
    );
}

#[test]
fn a_misspelt_variable_in_an_untaken_branch_is_reported_by_name_and_line() {
    let all = problems(&[(
        "h.toml",
        "[command]\ntrigger = \"h\"\n[reply]\ntext = \"\"\"\n{% if text %}hi {{ user.name }}{% else %}\n{{ usr }} {{ user.nmae }}{% endif %}\"\"\"\n",
    )]);
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(
        all[0].contains("h.toml:6: `reply.text`: template: unknown variable `user.nmae`: `user` has `id` and `name`"),
        "{all:?}"
    );
    assert!(
        all[1]
            .contains("h.toml:6: `reply.text`: template: unknown variable `usr`: no such variable"),
        "{all:?}"
    );
}

#[test]
fn a_run_time_template_error_names_the_route_file_line() {
    let set = load(&[("hello.toml", HELLO)]).unwrap();
    let route = set.get("hello").unwrap();
    let e = TemplateError {
        message: "undefined value".into(),
        line: Some(1),
        name: Some("hello.reply.text".into()),
    };
    assert!(
        template_location(route, &e).ends_with("hello.toml:4"),
        "{}",
        template_location(route, &e)
    );
}

#[test]
fn a_built_in_trigger_is_refused() {
    let all = problems(&[("e.toml", &HELLO.replace("hello", "echo"))]);
    assert!(all[0].contains("built-in"), "{all:?}");
}

#[test]
fn every_problem_in_every_file_is_reported() {
    let all = problems(&[
        (
            "a.toml",
            "[command]\ntrigger = \"Bad Trigger\"\n[reply]\ntext = \"{{ nope }}\"\n",
        ),
        ("b.toml", "not toml at all ["),
    ]);
    let has = |needle: &[&str]| all.iter().any(|p| needle.iter().all(|n| p.contains(n)));
    assert!(has(&["a.toml:2", "spaces"]), "{all:?}");
    assert!(has(&["a.toml:2", "lower case"]), "{all:?}");
    assert!(has(&["a.toml:4", "`reply.text`", "template"]), "{all:?}");
    assert!(has(&["b.toml:1"]), "{all:?}");
}

#[test]
fn duplicate_triggers_across_files_are_reported_with_line() {
    let all = problems(&[("a.toml", HELLO), ("b.toml", HELLO)]);
    assert!(
        all[0].contains("b.toml:2: `command.trigger`: trigger `/hello` is already used by"),
        "{all:?}"
    );
}

#[test]
fn a_template_error_in_a_named_action_points_at_its_own_line() {
    let all = problems(&[(
        "d.toml",
        "[command]\ntrigger = \"d\"\n[reply]\ntext = \"ok\"\n[actions.next.reply]\ntext = \"\"\"\nline one\n{{ args.nope }}\"\"\"\n",
    )]);
    assert!(
        all.iter()
            .any(|p| p.contains("d.toml:8: `actions.next.reply.text`")),
        "{all:?}"
    );
}

#[test]
fn references_to_missing_actions_are_reported() {
    let all = problems(&[(
        "d.toml",
        "[command]\ntrigger = \"d\"\n[dialog]\ntitle = \"t\"\non_submit = \"nowhere\"\n",
    )]);
    assert!(
        all.iter()
            .any(|p| p.contains("d.toml:5: `dialog.on_submit`: `nowhere` is not an action")),
        "{all:?}"
    );
    // `update` where no button runs the action would be ignored: refused.
    let all = problems(&[(
        "u.toml",
        "[command]\ntrigger = \"u\"\n[reply]\ntext = \"hi\"\nupdate = true\n",
    )]);
    assert!(
        all.iter().any(|p| p.contains(
            "u.toml:5: `reply.update`: `update = true` replaces the post whose button was clicked, but no button runs this action"
        )),
        "{all:?}"
    );
    // …and where a button runs it, allowed: also a button of an `[http]` answer, whose
    // target is checked like any other.
    let all = problems(&[(
        "h.toml",
        "[command]\ntrigger = \"h\"\n[http]\nurl = \"http://svc/x\"\n[http.reply]\ntext = \"?\"\n[[http.reply.attachments]]\nactions = [\n  { id = \"a\", name = \"A\", action = \"again\" },\n  { id = \"b\", name = \"B\", action = \"gone\" },\n]\n[actions.again.reply]\ntext = \"again\"\nupdate = true\n",
    )]);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("`http.reply.attachments[0].actions[1].action`: `gone` is not an action"),
        "{all:?}"
    );
    // A button's target is named by its full key, at the line of its `actions`.
    let all = problems(&[(
        "b.toml",
        "[command]\ntrigger = \"b\"\n[reply]\ntext = \"?\"\n[[reply.attachments]]\ntext = \"vote\"\nactions = [\n  { id = \"yes\", name = \"Yes\", action = \"yes\" },\n  { id = \"no\", name = \"No\", action = \"no\" },\n]\n[actions.yes.reply]\ntext = \"y\"\n",
    )]);
    assert!(
        all.iter().any(|p| p
            .contains("b.toml:7: `reply.attachments[0].actions[1].action`: `no` is not an action")),
        "{all:?}"
    );
}

#[test]
fn an_exec_program_that_is_missing_or_not_executable_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.sh"), "echo").unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[command]\ntrigger = \"a\"\n[exec]\nprogram = \"missing.sh\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "[command]\ntrigger = \"b\"\n[exec]\nprogram = \"plain.sh\"\n",
    )
    .unwrap();
    let all: Vec<String> = load_dir(dir.path())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        all.iter()
            .any(|p| p.contains("a.toml:4: `exec.program`") && p.contains("cannot be used")),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|p| p.contains("b.toml:4: `exec.program`") && p.contains("not executable")),
        "{all:?}"
    );
}

#[test]
fn exec_paths_of_a_relative_routes_dir_are_resolved_to_absolute_paths() {
    // `cargo test` runs in the package root, like a user running `switchboard` there with
    // the default `dir = "routes"`. The program must not depend on the working directory
    // (the process starts in `cwd`, the routes directory).
    let set = load_dir(Path::new("routes")).unwrap();
    let Action::Exec(exec) = &set.get("deploy").unwrap().actions["run"] else {
        panic!("deploy.run is an exec action");
    };
    assert!(exec.program.is_absolute(), "{}", exec.program.display());
    assert!(exec.program.ends_with("routes/scripts/deploy.sh"));
    assert!(exec.program.is_file(), "{}", exec.program.display());
}

#[test]
fn argument_problems_point_at_their_element() {
    let all = problems(&[(
        "a.toml",
        "[command]\ntrigger = \"a\"\n[[args]]\nname = \"ok\"\n[[args]]\nname = \"c\"\ntype = \"choice\"\n[reply]\ntext = \"{{ args.ok }}\"\n",
    )]);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].ends_with("a.toml:5: `args[1].choices`: a choice needs `choices`"),
        "{all:?}"
    );
}

#[test]
fn two_actions_in_one_route_are_refused() {
    let all = problems(&[(
        "a.toml",
        "[command]\ntrigger = \"a\"\n[reply]\ntext = \"x\"\n[post]\nchannel = \"c\"\nmessage = \"m\"\n",
    )]);
    assert!(all.iter().any(|p| p.contains("only one action")), "{all:?}");
}

#[test]
fn a_route_without_trigger_or_action_is_reported() {
    let all = problems(&[("a.toml", "description = \"nothing\"\n")]);
    assert!(all.iter().any(|p| p.contains("needs a trigger")), "{all:?}");
    assert!(all.iter().any(|p| p.contains("needs an action")), "{all:?}");
}

#[test]
fn a_pattern_that_does_not_compile_is_the_only_problem_reported_for_its_groups() {
    for trigger in ["hook", "message"] {
        let all = problems(&[(
            "re.toml",
            &format!(
                "[{trigger}]\ntrigger_words = [\"re\"]\npattern = '^re (?P<x>[a-z+$'\n[reply]\ntext = \"{{{{ captures.x }}}}\"\n"
            ),
        )]);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains(&format!("re.toml:3: `{trigger}.pattern`")),
            "{all:?}"
        );
    }
}

#[test]
fn a_bad_dialog_pattern_is_shown_as_written() {
    let all = problems(&[(
        "d.toml",
        "[command]\ntrigger = \"d\"\n[dialog]\ntitle = \"D\"\n[[dialog.elements]]\nname = \"x\"\ndisplay_name = \"X\"\ntype = \"text\"\npattern = '[a-z'\n",
    )]);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].contains("d.toml:9: `dialog.elements[0].pattern`: not a regular expression")
            && all[0].contains("\n    [a-z\n"),
        "{all:?}"
    );
    assert!(!all[0].contains("^(?:"), "{all:?}");
}

#[test]
fn a_bad_hook_pattern_is_reported() {
    let all = problems(&[(
        "h.toml",
        "[hook]\ntrigger_words = [\"x\"]\npattern = \"(\"\n[reply]\ntext = \"t\"\n",
    )]);
    assert!(
        all.iter().any(|p| p.contains("h.toml:3: `hook.pattern`")),
        "{all:?}"
    );
}

#[test]
fn trigger_problems_are_reported_with_file_line_and_key() {
    let all = problems(&[
        (
            "s.toml",
            "[schedule]\nchannel = \"c\"\ncron = \"0 25 * * *\"\n[reply]\ntext = \"t\"\n",
        ),
        (
            "m.toml",
            "[message]\ntrigger_words = [\"x\"]\npattern = \"(?P<a\"\n[reply]\ntext = \"{{ captures.b }}\"\n",
        ),
        (
            "w.toml",
            "[webhook]\nchannel = \"c\"\nallow_from = [\"300.0.0.1\"]\nhmac_secret_env = \"lower\"\n[dialog]\ntitle = \"t\"\non_submit = \"x\"\n[actions.x.reply]\ntext = \"t\"\n",
        ),
        (
            "t.toml",
            "[schedule]\nevery_secs = 60\nchannel = \"c\"\n[reply]\ntext = \"{{ body.x }}\"\n",
        ),
    ]);
    for expected in [
        "s.toml:3: `schedule.cron`",
        "m.toml:3: `message.pattern`",
        "w.toml:3: `webhook.allow_from`",
        "w.toml:4: `webhook.hmac_secret_env`",
        "w.toml:5: `dialog`: a webhook or schedule has no user",
        "t.toml:5: `reply.text`: template",
    ] {
        assert!(
            all.iter().any(|p| p.contains(expected)),
            "{expected} missing in {all:?}"
        );
    }
}

#[test]
fn the_hint_is_generated_from_the_arguments() {
    let set = load(&[(
        "a.toml",
        "[command]\ntrigger = \"a\"\n[[args]]\nname = \"env\"\nrequired = true\n[reply]\ntext = \"{{ args.env }}\"\n",
    )])
    .unwrap();
    assert_eq!(
        set.get("a").unwrap().command.as_ref().unwrap().hint,
        "<env>"
    );
}
