//! `switchboard check` as a user runs it: the built binary, from a directory holding
//! `config.toml` and `routes/` (relative paths, as shipped), reporting every problem of every
//! file in one run with `file:line`.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::repo_root;

fn check_in(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .current_dir(dir)
        // Only the files decide; nothing from the test's environment.
        .env_remove("SWITCHBOARD_ROUTES__DIR")
        .env_remove("SWITCHBOARD_CONFIG")
        .output()
        .unwrap()
}

/// A copy of the shipped `config.toml` and `routes/` (scripts included, modes kept).
fn shipped_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("config.toml"),
        dir.path().join("config.toml"),
    )
    .unwrap();
    for sub in ["routes", "routes/scripts", "routes/samples"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(repo_root().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    dir
}

#[test]
fn check_passes_the_shipped_files_from_the_repository_root() {
    let output = check_in(&repo_root());
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

const BROKEN: &str = r#"description = "A route with several mistakes."
[command]
trigger = "weather"
descripton = "typo"
hnit = "typo"

[[args]]
name = "city"
requird = true

[reply]
text = """
{% if args.city %}Weather in {{ args.city }}
{% else %}Hello {{ usr }}, try {{ args.cty }}{% endif %}"""
visiblity = "in_channel"
"#;

const SECOND_HELLO: &str = r#"[command]
trigger = "hello"

[reply]
text = "Hi {{ user.nmae }}"
"#;

#[test]
fn check_reports_every_problem_of_every_file_in_one_run() {
    let dir = shipped_copy();
    std::fs::write(dir.path().join("routes/broken.toml"), BROKEN).unwrap();
    // Sorted after hello.toml, so it is the file that adds the duplicate.
    std::fs::write(dir.path().join("routes/zz-hello.toml"), SECOND_HELLO).unwrap();
    let output = check_in(dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "routes/broken.toml:4: unknown field `descripton` in `[command]`",
        "routes/broken.toml:5: unknown field `hnit` in `[command]`",
        "routes/broken.toml:9: unknown field `requird` in `[[args]]` #1",
        "routes/broken.toml:15: unknown field `visiblity` in `[reply]`",
        // Misspelt variables in the branch a sample would not take.
        "routes/broken.toml:14: `reply.text`: template: unknown variable `usr`",
        "routes/broken.toml:14: `reply.text`: template: unknown variable `args.cty`",
        "routes/zz-hello.toml:5: `reply.text`: template: unknown variable `user.nmae`",
        "routes/zz-hello.toml:2: `command.trigger`: trigger `/hello` is already used by routes/hello.toml:",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("error: routes/hello.toml"),
        "the file that had the trigger first is not blamed:\n{stderr}"
    );
    assert!(stderr.contains("8 problem(s)"), "{stderr}");
}

#[tokio::test]
async fn a_reload_refuses_a_misspelt_variable_in_a_branch_no_sample_takes() {
    use crate::helpers::{settings, spawn_app, spawn_sim};
    use switchboard::integrations::ReloadOutcome;

    let dir = tempfile::tempdir().unwrap();
    let route = |text: &str| format!("[command]\ntrigger = \"hi\"\n[reply]\ntext = \"{text}\"\n");
    std::fs::write(dir.path().join("hi.toml"), route("first")).unwrap();
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        dir.path(),
    ))
    .await;
    app.wait_ready().await;

    std::fs::write(
        dir.path().join("hi.toml"),
        route("{% if text %}{{ text }}{% else %}{{ usr }}{% endif %}"),
    )
    .unwrap();
    match app.state.routes.reload().await {
        ReloadOutcome::Rejected(problems) => {
            let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
            assert!(
                shown.iter().any(
                    |p| p.contains("hi.toml:4: `reply.text`: template: unknown variable `usr`")
                ),
                "{shown:?}"
            );
        }
        other => panic!("expected a rejection: {other:?}"),
    }
    let outcome = sim
        .world()
        .execute_command("alice", "main", "town-square", "/hi")
        .await
        .unwrap();
    assert_eq!(
        outcome.posts[0].message, "first",
        "the old set keeps serving"
    );
}

#[tokio::test]
async fn a_run_time_template_error_names_the_variable_and_the_route_line() {
    use tokio::io::AsyncWriteExt;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    // `check` cannot know what the service answers: this one has no `answer`.
    let service = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"other": 1})))
        .mount(&service)
        .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("config.toml"),
        dir.path().join("config.toml"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("routes")).unwrap();
    std::fs::write(
        dir.path().join("routes/ask.toml"),
        format!(
            "[command]\ntrigger = \"ask\"\n[http]\nurl = \"{}/answer\"\nbody = \"{{}}\"\n[http.reply]\ntext = \"\"\"\nAnswer:\n{{{{ response.json.answer }}}}\"\"\"\n",
            service.uri()
        ),
    )
    .unwrap();
    let mut dev = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("dev")
        .current_dir(dir.path())
        .env_remove("SWITCHBOARD_ROUTES__DIR")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = dev.stdin.take().unwrap();
    stdin.write_all(b"/ask why\n").await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), dev.wait_with_output())
        .await
        .expect("dev ends at end of input")
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("`response.json.answer` is undefined"),
        "the variable is named:\n{log}"
    );
    assert!(
        log.contains("routes/ask.toml:9"),
        "the route file line is named:\n{log}"
    );
}

const TRIAGE: &str = r#"[command]
trigger = "triage"

[dialog]
title = "Triage"

[[dialog.elements]]
name = "kind"
display_name = "Kind"
type = "select"
refresh = true
options = [{ text = "Bug", value = "bug" }, { text = "Idea", value = "idea" }]

[[dialog.elements]]
name = "steps"
display_name = "Steps"
type = "textarea"
show_when = "{{ submission.knd == 'bug' }}"

[[dialog.elements]]
name = "area"
display_name = "Area"
type = "select"
data_source = "dynamic"

[dialog.elements.lookup.http]
url = "https://areas.example/search?q={{ qurey }}&kind={{ submission.kind }}"
"#;

/// Misspelt variables in a dialog's `show_when`, `rules` and lookups are reported with the
/// file and line, by `switchboard check` run from the repository on a copy of `routes/`.
#[test]
fn check_reports_misspelt_variables_in_show_when_rules_and_lookups() {
    let dir = shipped_copy();
    let routes = dir.path().join("routes");
    let incident = std::fs::read_to_string(routes.join("incident.toml")).unwrap();
    let misspelt = incident.replace(
        "when = \"{{ submission.severity == 'sev1'",
        "when = \"{{ submission.sevrity == 'sev1'",
    );
    assert_ne!(
        misspelt, incident,
        "the shipped rule changed: update this test"
    );
    std::fs::write(routes.join("incident.toml"), misspelt).unwrap();
    std::fs::write(routes.join("triage.toml"), TRIAGE).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .current_dir(repo_root())
        .env("SWITCHBOARD_ROUTES__DIR", &routes)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line_of = |file: &str, needle: &str| {
        let text = std::fs::read_to_string(routes.join(file)).unwrap();
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    };
    for expected in [
        format!(
            "incident.toml:{}: `actions.details.dialog.rules[0].when`: template: unknown variable `submission.sevrity`",
            line_of("incident.toml", "submission.sevrity")
        ),
        format!(
            "triage.toml:{}: `dialog.elements[1].show_when`: template: unknown variable `submission.knd`",
            line_of("triage.toml", "submission.knd")
        ),
        format!(
            "triage.toml:{}: `dialog.elements[2].lookup.http.url`: template: unknown variable `qurey`",
            line_of("triage.toml", "qurey")
        ),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    // The dialog's own fields and the lookup's `query` are known: nothing else is reported.
    assert!(!stderr.contains("`submission.kind`"), "{stderr}");
    assert_eq!(stderr.matches("unknown variable").count(), 3, "{stderr}");
}

#[test]
fn check_refuses_a_zero_limit_naming_the_setting() {
    let dir = shipped_copy();
    for (setting, variable) in [
        (
            "server.header_read_timeout_secs",
            "SWITCHBOARD_SERVER__HEADER_READ_TIMEOUT_SECS",
        ),
        (
            "server.idle_timeout_secs",
            "SWITCHBOARD_SERVER__IDLE_TIMEOUT_SECS",
        ),
        (
            "server.max_connections",
            "SWITCHBOARD_SERVER__MAX_CONNECTIONS",
        ),
        (
            "server.request_timeout_secs",
            "SWITCHBOARD_SERVER__REQUEST_TIMEOUT_SECS",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("check")
            .current_dir(dir.path())
            .env_remove("SWITCHBOARD_ROUTES__DIR")
            .env(variable, "0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{variable}=0 passed: {stderr}");
        assert!(
            stderr.contains(setting) && stderr.contains("must be greater than 0"),
            "{variable}=0: {stderr}"
        );
    }
}

/// The bot token, the signing keys and the Redis password come from the environment or a
/// file of their own: written into config.toml, they are refused by name, and the value is
/// not repeated. A token given twice (variable and file) is refused too.
#[test]
fn check_refuses_secrets_in_the_configuration_file_and_a_token_given_twice() {
    let dir = shipped_copy();
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    let check = |envs: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("check")
            .current_dir(dir.path())
            .env_remove("SWITCHBOARD_ROUTES__DIR")
            .env_remove("SWITCHBOARD_MATTERMOST__TOKEN")
            .env_remove("SWITCHBOARD_MATTERMOST__TOKEN_FILE")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    assert!(check(&[]).0, "the shipped copy passes: {}", check(&[]).1);
    for (table, line, setting, variable) in [
        (
            "[mattermost]",
            "token = \"hunter2-bot-token\"",
            "mattermost.token",
            "SWITCHBOARD_MATTERMOST__TOKEN",
        ),
        (
            "[signing]",
            "keys = \"k1:hunter2hunter2hunter2hunter2hunter2hunter2hu=\"",
            "signing.keys",
            "SWITCHBOARD_SIGNING__KEYS",
        ),
        (
            "[store]",
            "password = \"hunter2-redis\"",
            "store.password",
            "SWITCHBOARD_STORE__PASSWORD",
        ),
    ] {
        assert!(config.contains(&format!("\n{table}\n")), "{table}");
        std::fs::write(
            dir.path().join("config.toml"),
            config.replacen(&format!("\n{table}\n"), &format!("\n{table}\n{line}\n"), 1),
        )
        .unwrap();
        let (ok, stderr) = check(&[]);
        assert!(!ok, "{setting} in config.toml passed: {stderr}");
        assert!(
            stderr.contains(setting) && stderr.contains(variable) && stderr.contains("config.toml"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("hunter2"),
            "the secret was repeated: {stderr}"
        );
    }
    std::fs::write(dir.path().join("config.toml"), &config).unwrap();
    std::fs::write(dir.path().join("token"), "from-the-file").unwrap();
    let (ok, stderr) = check(&[
        ("SWITCHBOARD_MATTERMOST__TOKEN", "from-the-variable"),
        ("SWITCHBOARD_MATTERMOST__TOKEN_FILE", "token"),
    ]);
    assert!(!ok && stderr.contains("set one of them"), "{stderr}");
}

#[test]
fn check_names_the_table_of_a_missing_key() {
    let dir = shipped_copy();
    let routes = dir.path().join("routes");
    std::fs::write(
        routes.join("nightly.toml"),
        "[schedule]\ncron = \"0 9 * * 1\"\n\n[post]\nchannel = \"town-square\"\nmessage = \"hi\"\n",
    )
    .unwrap();
    std::fs::write(
        routes.join("tell.toml"),
        "[command]\ntrigger = \"tell\"\n\n[post]\nchannel = \"town-square\"\n",
    )
    .unwrap();
    std::fs::write(
        routes.join("ask.toml"),
        "[command]\ntrigger = \"ask\"\n\n[[args]]\nrequired = true\n\n[reply]\ntext = \"x\"\n",
    )
    .unwrap();
    let output = check_in(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    for expected in [
        "routes/nightly.toml:1: `schedule`: missing field `channel`",
        "routes/tell.toml:4: `post`: missing field `message`",
        "routes/ask.toml:4: `args[0]`: missing field `name`",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

/// The finding's route: two buttons sharing an id (a click on "Reject" ran `approve`, since
/// Mattermost finds the clicked button by id), an id with `-`, and an unknown style.
const SAME_ID: &str = r#"[command]
trigger = "u"
[reply]
visibility = "in_channel"
text = "x"
[[reply.attachments]]
actions = [
  { id = "go", name = "Approve", action = "approve" },
  { id = "go", name = "Reject", action = "reject", style = "blue" },
  { id = "go-now", name = "Now", action = "approve" },
]
[actions.approve.reply]
text = "APPROVED"
[actions.reject.reply]
text = "REJECTED"
"#;

#[test]
fn check_refuses_a_script_with_windows_line_endings_or_a_missing_interpreter() {
    use std::os::unix::fs::PermissionsExt;
    let dir = shipped_copy();
    let routes = dir.path().join("routes");
    for (name, body) in [
        ("bad.sh", "#!/bin/sh\r\necho hi\r\n"),
        ("gone.sh", "#!/nonexistent/bash\necho hi\n"),
    ] {
        let script = routes.join("scripts").join(name);
        std::fs::write(&script, body).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        routes.join("e1.toml"),
        "[command]\ntrigger = \"e1\"\n[exec]\nprogram = \"scripts/bad.sh\"\n",
    )
    .unwrap();
    std::fs::write(
        routes.join("e2.toml"),
        "[command]\ntrigger = \"e2\"\n[exec]\nprogram = \"scripts/gone.sh\"\n",
    )
    .unwrap();
    let output = check_in(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    for expected in [
        "routes/e1.toml:4: `exec.program`: ",
        "scripts/bad.sh` cannot start: its `#!` line ends in a carriage return (the file has Windows line endings), so the system looks for an interpreter named `/bin/sh\\r`",
        "routes/e2.toml:4: `exec.program`: ",
        "scripts/gone.sh` cannot start: the interpreter `/nonexistent/bash` on its `#!` line does not exist",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

#[test]
fn check_refuses_buttons_mattermost_would_misroute_naming_file_line_and_key() {
    let dir = shipped_copy();
    std::fs::write(dir.path().join("routes/u.toml"), SAME_ID).unwrap();
    let output = check_in(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    for expected in [
        "routes/u.toml:7: `reply.attachments[0].actions[1].id`: `go` is already the id of `reply.attachments[0].actions[0]` in this post",
        "routes/u.toml:7: `reply.attachments[0].actions[1].style`: `blue` is not a button style",
        "routes/u.toml:7: `reply.attachments[0].actions[2].id`: `go-now` is not a button id: use letters and digits only",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
    assert!(stderr.contains("3 problem(s)"), "{stderr}");
}

/// The finding's dialog: a subtype Mattermost does not know (shown as plain text), and a
/// default no option has (the required select then failed on a field the user never touched).
const DIALOG_MISTAKES: &str = r#"[command]
trigger = "dd"
[dialog]
title = "DD"
on_submit = "done"
[[dialog.elements]]
name = "x"
display_name = "X"
type = "text"
subtype = "colour"
[[dialog.elements]]
name = "s"
display_name = "S"
type = "select"
default = "zzz"
required = true
options = [{ text = "A", value = "a" }]
[actions.done.reply]
text = "{{ submission.x }} {{ submission.s }}"
"#;

#[test]
fn check_refuses_an_unknown_subtype_and_a_default_that_is_not_an_option() {
    let dir = shipped_copy();
    std::fs::write(dir.path().join("routes/dd.toml"), DIALOG_MISTAKES).unwrap();
    let output = check_in(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    for expected in [
        "routes/dd.toml:10: `dialog.elements[0].subtype`: `colour` is not a subtype: one of `text`, `email`, `number`, `password`, `tel`, `url`",
        "routes/dd.toml:15: `dialog.elements[1].default`: `zzz` is not the value of one of its options (`a`)",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

/// `show_when` reading a field that does not refresh the form: Mattermost never rebuilds it
/// when that field changes, so the element would never appear for the user while the
/// submission is checked as if it had. `check` refuses it, naming the field to fix.
#[test]
fn check_refuses_show_when_on_a_field_that_does_not_refresh() {
    let dir = shipped_copy();
    let routes = dir.path().join("routes");
    let route = r#"[command]
trigger = "report"

[dialog]
title = "Report"

[[dialog.elements]]
name = "severity"
display_name = "Severity"
type = "radio"
options = [{ text = "Sev 1", value = "sev1" }, { text = "Sev 3", value = "sev3" }]

[[dialog.elements]]
name = "reason"
display_name = "Why?"
type = "textarea"
required = true
show_when = "{{ submission.severity == 'sev1' }}"
"#;
    std::fs::write(routes.join("report.toml"), route).unwrap();
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("check")
            .current_dir(repo_root())
            .env("SWITCHBOARD_ROUTES__DIR", &routes)
            .output()
            .unwrap()
    };
    let output = check();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = route
        .lines()
        .position(|l| l.starts_with("show_when"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!(
            "report.toml:{line}: `dialog.elements[1].show_when`: reads `submission.severity`, but `severity` has no `refresh = true`"
        )),
        "{stderr}"
    );
    // With the refresh declared, the route is accepted.
    std::fs::write(
        routes.join("report.toml"),
        route.replace("type = \"radio\"\n", "type = \"radio\"\nrefresh = true\n"),
    )
    .unwrap();
    let output = check();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
