//! Declared routes end to end through the simulated Mattermost: arguments, access, each
//! action kind (reply, dialog, exec, http, post, buttons), outgoing-hook triggers, and hot
//! reload. Each test writes its own routes directory (the shipped files are copied where a
//! test exercises them), so every shipped example is loaded by a test.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};
use switchboard::integrations::ReloadOutcome;
use switchboard::sim::{SimPost, Simulator};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A routes directory with `files` (name → contents; names may include `scripts/`).
fn routes_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let target = dir.path().join(name);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, body).unwrap();
        if name.ends_with(".sh") {
            make_executable(&target);
        }
    }
    dir
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The shipped `routes/` copied into a temporary directory.
fn shipped_routes() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("routes");
    for sub in ["scripts", "samples"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    for sub in ["", "scripts", "samples"] {
        for entry in std::fs::read_dir(source.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                let target = dir.path().join(sub).join(entry.file_name());
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    dir
}

/// Runs `/command` as `user` in main/town-square and returns the one post it made.
async fn run(sim: &Simulator, user: &str, command: &str) -> SimPost {
    let outcome = sim
        .world()
        .execute_command(user, "main", "town-square", command)
        .await
        .unwrap_or_else(|e| panic!("{command}: {e:?}"));
    assert_eq!(outcome.posts.len(), 1, "{command}: {:?}", outcome.posts);
    outcome.posts[0].clone()
}

/// Waits (at most 15 s) until a post in `channel` satisfies `done`, and returns it.
async fn wait_for_post(sim: &Simulator, channel: &str, done: impl Fn(&SimPost) -> bool) -> SimPost {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(post) = sim
            .world()
            .posts_in("main", channel)
            .into_iter()
            .find(&done)
        {
            return post;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no matching post in ~{channel}: {:#?}",
            sim.world().posts_in("main", channel)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const GREET: &str = r#"
[command]
trigger = "greet"
description = "Greet someone"

[[args]]
name = "who"
type = "user"
required = true
help = "who to greet"

[[args]]
name = "times"
type = "integer"
default = 1

[[args]]
name = "loud"
type = "boolean"

[[args]]
name = "style"
type = "choice"
choices = ["plain", "fancy"]
option = true
default = "plain"

[[args]]
name = "note"
option = true

[reply]
text = "{{ 'HELLO' if args.loud else 'hello' }} @{{ args.who }} x{{ args.times }} ({{ args.style }}){% if args.note %} note={{ args.note }}{% endif %}"
"#;

#[tokio::test]
async fn arguments_are_parsed_with_options_flags_and_quoting() {
    let dir = routes_dir(&[("greet.toml", GREET)]);
    let (sim, _app) = start(dir.path()).await;

    let post = run(
        &sim,
        "alice",
        r#"/greet @bob 3 --loud --style fancy --note "two words""#,
    )
    .await;
    assert_eq!(post.message, "HELLO @bob x3 (fancy) note=two words");
    assert!(post.is_ephemeral());

    let post = run(&sim, "alice", "/greet @bob --note='single quoted'").await;
    assert_eq!(post.message, "hello @bob x1 (plain) note=single quoted");
}

#[tokio::test]
async fn help_and_usage_errors_answer_with_generated_usage() {
    let dir = routes_dir(&[("greet.toml", GREET)]);
    let (sim, _app) = start(dir.path()).await;

    let command = sim
        .world()
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == "greet")
        .unwrap();
    assert_eq!(
        command.auto_complete_hint,
        "<@who> [times] [--loud] [--style plain|fancy] [--note value]"
    );

    let help = run(&sim, "alice", "/greet help").await;
    assert!(
        help.message.starts_with("Usage: `/greet <@who>"),
        "{}",
        help.message
    );
    assert!(
        help.message
            .contains("- `who` (@user, required): who to greet"),
        "{}",
        help.message
    );

    for (text, error) in [
        ("/greet", "missing required argument `who`"),
        ("/greet bob", "`who`: `bob` is not a @username"),
        ("/greet @bob many", "`times`: `many` is not a whole number"),
        (
            "/greet @bob --style gaudy",
            "`style`: `gaudy` is not one of plain, fancy",
        ),
        ("/greet @bob --volume 11", "unknown option `--volume`"),
        ("/greet @bob --note \"unclosed", "a \" quote is not closed"),
    ] {
        let post = run(&sim, "alice", text).await;
        assert!(post.is_ephemeral());
        assert!(post.message.contains(error), "{text}: {}", post.message);
        assert!(
            post.message.contains("Usage: `/greet"),
            "{text}: {}",
            post.message
        );
    }
}

#[tokio::test]
async fn user_text_with_template_syntax_is_shown_not_evaluated() {
    let dir = shipped_routes();
    let (sim, _app) = start(dir.path()).await;
    let post = run(
        &sim,
        "alice",
        "/hello {{ 7*7 }} {% for x in range(3) %}x{% endfor %}",
    )
    .await;
    assert_eq!(
        post.message,
        "Hello, @alice! You said: {{ 7*7 }} {% for x in range(3) %}x{% endfor %}"
    );
    let greet = routes_dir(&[("greet.toml", GREET)]);
    let (sim, _app) = start(greet.path()).await;
    let post = run(&sim, "alice", "/greet @bob --note \"{{ user.id }}\"").await;
    assert!(
        post.message.ends_with("note={{ user.id }}"),
        "{}",
        post.message
    );
}

#[tokio::test]
async fn access_lists_and_roles_refuse_clearly_and_run_nothing() {
    let marker = tempfile::tempdir().unwrap();
    let marker_file = marker.path().join("ran");
    let script = format!("#!/bin/sh\ntouch {}\n", marker_file.display());
    let dir = routes_dir(&[
        (
            "bobonly.toml",
            "[command]\ntrigger = \"bobonly\"\n[access]\nusers = [\"bob\"]\n[exec]\nprogram = \"scripts/mark.sh\"\n",
        ),
        ("scripts/mark.sh", &script),
        (
            "admin.toml",
            "[command]\ntrigger = \"admin\"\n[access]\nroles = [\"system_admin\"]\n[reply]\ntext = \"admin ok\"\n",
        ),
        (
            "leadsonly.toml",
            "[command]\ntrigger = \"leadsonly\"\n[access]\nchannels = [\"leads\"]\n[reply]\ntext = \"in leads\"\n",
        ),
    ]);
    let (sim, _app) = start(dir.path()).await;

    let refused = run(&sim, "alice", "/bobonly").await;
    assert!(refused.is_ephemeral());
    assert_eq!(
        refused.message,
        "🚫 You cannot use `/bobonly`: you are not on this command's list of users."
    );
    let refused = run(&sim, "alice", "/leadsonly").await;
    assert_eq!(
        refused.message,
        "🚫 You cannot use `/leadsonly`: it can only be used in ~leads."
    );
    let refused = run(&sim, "bob", "/admin").await;
    assert_eq!(
        refused.message,
        "🚫 You cannot use `/admin`: it needs the role system_admin."
    );
    sim.world().set_system_admin("alice", true).unwrap();
    assert_eq!(run(&sim, "alice", "/admin").await.message, "admin ok");

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!marker_file.exists(), "a refused exec must not run");
}

#[tokio::test]
async fn deploy_dialog_validates_fields_then_runs_the_script_with_live_output_in_a_thread() {
    let dir = shipped_routes();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();

    let outcome = world
        .execute_command("alice", "main", "town-square", "/deploy production")
        .await
        .unwrap();
    assert!(
        outcome
            .posts
            .iter()
            .all(|p| p.message.is_empty() || p.is_ephemeral()),
        "{:?}",
        outcome.posts
    );
    let dialogs = world.opened_dialogs();
    assert_eq!(dialogs.len(), 1);
    let dialog = &dialogs[0];
    assert_eq!(dialog.title(), "Deploy");
    assert_eq!(dialog.element_names(), vec!["version", "env", "notes"]);
    assert_eq!(
        dialog.dialog["elements"][1]["default"], "production",
        "the argument preselects"
    );

    let submission = |v: Value| -> Map<String, Value> { v.as_object().unwrap().clone() };
    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            dialog,
            submission(json!({"version": "latest", "env": "moon"})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        answer["errors"]["version"],
        "This value is not in the expected form."
    );
    assert_eq!(
        answer["errors"]["env"],
        "Choose one of the offered options."
    );
    assert!(
        world
            .posts_in("main", "town-square")
            .iter()
            .all(|p| !p.message.contains("started by"))
    );

    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            dialog,
            submission(json!({"version": "v1.2.3", "env": "production", "notes": "go"})),
            false,
        )
        .await
        .unwrap();
    assert!(
        answer
            .get("errors")
            .is_none_or(|e| e.as_object().is_none_or(Map::is_empty)),
        "{answer}"
    );

    let root = wait_for_post(&sim, "town-square", |p| {
        p.message.starts_with("✅ `deploy` started by @alice")
    })
    .await;
    assert!(root.message.contains("exit 0 in"), "{}", root.message);
    let output = wait_for_post(&sim, "town-square", |p| {
        p.root_id == root.id && p.message.contains("✅ exit 0")
    })
    .await;
    for line in [
        "Deploying v1.2.3 to production for alice",
        "==> switching traffic",
        "Deployed v1.2.3 to production",
    ] {
        assert!(output.message.contains(line), "{}", output.message);
    }
    assert!(
        output.edit_at > 0,
        "the output post is edited as output arrives"
    );
}

/// An exec route running `script` with extra `[exec]` settings.
fn exec_route(trigger: &str, script: &str, settings: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("{trigger}.toml"),
            format!(
                "[command]\ntrigger = \"{trigger}\"\n[exec]\nprogram = \"scripts/{trigger}.sh\"\nedit_interval_ms = 50\n{settings}\n"
            ),
        ),
        (
            format!("scripts/{trigger}.sh"),
            format!("#!/bin/sh\n{script}\n"),
        ),
    ]
}

fn as_refs(files: &[(String, String)]) -> Vec<(&str, &str)> {
    files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

#[tokio::test]
async fn exec_timeout_kills_the_program_and_says_so() {
    let files = exec_route(
        "slow",
        "echo starting\nsleep 30\necho never",
        "timeout_secs = 1",
    );
    let dir = routes_dir(&as_refs(&files));
    let (sim, _app) = start(dir.path()).await;

    let started = run(&sim, "alice", "/slow").await;
    assert!(
        started.message.contains("Started `slow`"),
        "{}",
        started.message
    );
    let output = wait_for_post(&sim, "town-square", |p| {
        !p.root_id.is_empty() && p.message.contains("timed out")
    })
    .await;
    assert!(
        output.message.starts_with("```\nstarting\n```"),
        "{}",
        output.message
    );
    assert!(
        output.message.contains("❌ timed out after"),
        "{}",
        output.message
    );
    assert!(!output.message.contains("never"));
    wait_for_post(&sim, "town-square", |p| {
        p.message.starts_with("❌ `slow` started by @alice")
    })
    .await;
}

#[tokio::test]
async fn exec_output_over_the_cap_is_dropped_and_a_failing_exit_is_shown() {
    let files = exec_route(
        "noisy",
        "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done; exit 3",
        "output_cap_bytes = 100\ntail_chars = 50",
    );
    let dir = routes_dir(&as_refs(&files));
    let (sim, _app) = start(dir.path()).await;
    run(&sim, "alice", "/noisy").await;
    let output = wait_for_post(&sim, "town-square", |p| {
        !p.root_id.is_empty() && p.message.contains("exit 3")
    })
    .await;
    assert!(
        output.message.contains("_output over the cap was dropped_"),
        "{}",
        output.message
    );
    assert!(
        output.message.contains("❌ exit 3 in"),
        "{}",
        output.message
    );
    assert!(
        !output.message.contains("line-199"),
        "output past the cap is not kept"
    );
}

#[tokio::test]
async fn a_full_queue_answers_busy_and_runs_nothing_more() {
    let marker = tempfile::tempdir().unwrap();
    let gate = marker.path().join("go");
    let script = format!(
        "echo run >> {}/runs\nwhile [ ! -e {} ]; do sleep 0.05; done",
        marker.path().display(),
        gate.display()
    );
    let files = exec_route("one", &script, "max_concurrent = 1\nqueue = 1");
    let dir = routes_dir(&as_refs(&files));
    let (sim, _app) = start(dir.path()).await;

    assert!(run(&sim, "alice", "/one").await.message.contains("Started"));
    let queued = run(&sim, "alice", "/one").await;
    assert!(
        queued.message.contains("queued: 0 waiting before it"),
        "{}",
        queued.message
    );
    let busy = run(&sim, "bob", "/one").await;
    assert_eq!(
        busy.message,
        "⏳ `one` is busy (every slot and queue place is taken); try later."
    );

    std::fs::write(&gate, "").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while sim
        .world()
        .posts_in("main", "town-square")
        .iter()
        .filter(|p| p.message.starts_with("✅ `one`"))
        .count()
        < 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "both admitted runs finish"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let runs = std::fs::read_to_string(marker.path().join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 2, "the refused run never started");
}

#[tokio::test]
async fn a_reload_keeps_counting_the_runs_already_going() {
    let marker = tempfile::tempdir().unwrap();
    let gate = marker.path().join("go");
    let script = format!("while [ ! -e {} ]; do sleep 0.05; done", gate.display());
    let files = exec_route("one", &script, "max_concurrent = 1\nqueue = 0");
    let dir = routes_dir(&as_refs(&files));
    let (sim, app) = start(dir.path()).await;
    assert!(run(&sim, "alice", "/one").await.message.contains("Started"));

    // A change elsewhere in the file (same limits) while the run is going.
    let (name, toml) = &files[0];
    std::fs::write(
        dir.path().join(name),
        toml.replace("[exec]", "description = \"edited\"\n[exec]"),
    )
    .unwrap();
    assert!(matches!(
        app.state.routes.reload().await,
        ReloadOutcome::Swapped(_)
    ));
    let busy = run(&sim, "bob", "/one").await;
    assert_eq!(
        busy.message, "⏳ `one` is busy (every slot and queue place is taken); try later.",
        "the run from before the reload still holds the one slot"
    );
    std::fs::write(&gate, "").unwrap();
}

#[tokio::test]
async fn a_program_that_cannot_start_is_reported_in_the_thread() {
    let files = exec_route("gone", "echo hi", "");
    let dir = routes_dir(&as_refs(&files));
    let (sim, _app) = start(dir.path()).await;
    // Loaded fine, then removed before it runs.
    std::fs::remove_file(dir.path().join("scripts/gone.sh")).unwrap();
    run(&sim, "alice", "/gone").await;
    let output = wait_for_post(&sim, "town-square", |p| {
        p.message.contains("could not start")
    })
    .await;
    assert!(
        output.message.contains("scripts/gone.sh"),
        "{}",
        output.message
    );
    assert!(output.message.contains('❌'), "{}", output.message);
}

#[tokio::test]
async fn a_script_whose_interpreter_is_missing_is_not_reported_as_missing_itself() {
    let files = exec_route("crlf", "echo hi", "");
    let dir = routes_dir(&as_refs(&files));
    let (sim, _app) = start(dir.path()).await;
    // Loaded fine, then saved with Windows line endings: the system now looks for `/bin/sh\r`
    // and answers "No such file or directory", about a script that is there.
    let script = dir.path().join("scripts/crlf.sh");
    std::fs::write(&script, "#!/bin/sh\r\necho hi\r\n").unwrap();
    run(&sim, "alice", "/crlf").await;
    let output = wait_for_post(&sim, "town-square", |p| {
        p.message.contains("could not start")
    })
    .await;
    assert!(
        output
            .message
            .contains("could not start `scripts/crlf.sh`: its `#!` line ends in a carriage return"),
        "{}",
        output.message
    );
    assert!(
        !output.message.contains("No such file"),
        "{}",
        output.message
    );
}

fn forward_route(url: &str, timeout: u64) -> String {
    std::fs::read_to_string(repo_root().join("routes/forward.toml"))
        .unwrap()
        .replace("http://127.0.0.1:9090/answer", url)
        .replace("timeout_secs = 5", &format!("timeout_secs = {timeout}"))
}

#[tokio::test]
async fn http_forward_renders_the_json_answer() {
    let service = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/answer"))
        .and(header("x-asked-by", "alice"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"user": "alice", "question": "why \"quotes\"?"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"answer": "because"})))
        .expect(1)
        .mount(&service)
        .await;
    let forward = forward_route(&format!("{}/answer", service.uri()), 5);
    let dir = routes_dir(&[("forward.toml", &forward)]);
    let (sim, _app) = start(dir.path()).await;

    let post = run(&sim, "alice", "/ask why \"quotes\"?").await;
    assert_eq!(post.message, "💡 because");
}

#[tokio::test]
async fn http_forward_reports_non_2xx_and_timeouts() {
    let service = MockServer::start().await;
    Mock::given(path("/broken"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .mount(&service)
        .await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&service)
        .await;
    let broken =
        forward_route(&format!("{}/broken", service.uri()), 5).replace("\"ask\"", "\"broken\"");
    let slow = forward_route(&format!("{}/slow", service.uri()), 1).replace("\"ask\"", "\"slow\"");
    let dir = routes_dir(&[("broken.toml", &broken), ("slow.toml", &slow)]);
    let (sim, _app) = start(dir.path()).await;

    // Each error names the URL (the route's author must see what failed), never its query.
    assert_eq!(
        run(&sim, "alice", "/broken q").await.message,
        format!("⚠️ `broken`: {}/broken answered HTTP 502.", service.uri())
    );
    assert_eq!(
        run(&sim, "alice", "/slow q").await.message,
        format!(
            "⚠️ `slow`: {}/slow did not answer within 1 s.",
            service.uri()
        )
    );
}

#[tokio::test]
async fn http_forward_names_the_url_it_could_not_reach_without_its_query() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = forward_route(&format!("http://127.0.0.1:{port}/answer?key=secret"), 5)
        .replace("\"ask\"", "\"down\"");
    let dir = routes_dir(&[("down.toml", &down)]);
    let (sim, _app) = start(dir.path()).await;

    let message = run(&sim, "alice", "/down q").await.message;

    assert!(
        message.starts_with(&format!(
            "⚠️ `down`: could not reach http://127.0.0.1:{port}/answer: "
        )) && message.to_lowercase().contains("refused"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn the_oncall_hook_posts_to_leads_and_answers_in_the_thread() {
    let dir = shipped_routes();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    // The reconciler registered the hook at startup and holds its token.
    assert_eq!(
        world.outgoing_hooks("main").len(),
        1,
        "oncall hook registered"
    );

    let trigger = world
        .create_post("alice", "main", "town-square", "oncall the build is red")
        .await
        .unwrap();
    let page = wait_for_post(&sim, "leads", |p| p.message.contains("paged on-call")).await;
    assert_eq!(
        page.message,
        "🚨 @alice paged on-call from ~town-square: the build is red"
    );
    let answer = wait_for_post(&sim, "town-square", |p| p.root_id == trigger.id).await;
    assert_eq!(
        answer.message,
        "Paged ~leads; someone will be with you shortly."
    );

    // A message that does not match the pattern does nothing.
    world
        .create_post("alice", "main", "town-square", "oncall")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        world
            .posts_in("main", "leads")
            .iter()
            .filter(|p| p.message.contains("paged"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_page_quoting_a_message_near_the_post_limit_is_cut_to_fit_not_lost() {
    // Arrange: a message Mattermost accepts, which the page's prefix (and the word joiners
    // that keep `@here` from paging) push over the post limit.
    let dir = shipped_routes();
    let (sim, _app) = start(dir.path()).await;
    let long = format!("oncall {}", "the build is red @here ".repeat(700));
    assert!(long.chars().count() < 16_383);

    // Act
    let trigger = sim
        .world()
        .create_post("alice", "main", "town-square", &long)
        .await
        .unwrap();

    // Assert: the page went out, cut at the limit and saying so; the user is told it did.
    let page = wait_for_post(&sim, "leads", |p| p.message.contains("paged on-call")).await;
    let chars = page.message.chars().count();
    assert!(chars <= 16_383, "the page has {chars} characters");
    assert!(
        page.message
            .ends_with("_(cut: the message was longer than a Mattermost post)_"),
        "{}",
        &page.message[page.message.len() - 100..]
    );
    let answer = wait_for_post(&sim, "town-square", |p| p.root_id == trigger.id).await;
    assert_eq!(
        answer.message,
        "Paged ~leads; someone will be with you shortly."
    );
}

#[tokio::test]
async fn poll_votes_are_kept_in_the_post_and_updated_by_clicks() {
    let dir = shipped_routes();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();

    let poll = run(&sim, "alice", "/poll Lunch at noon?").await;
    assert!(!poll.is_ephemeral());
    assert_eq!(poll.message, "📊 **Lunch at noon?** (asked by @alice)");
    let buttons = world.action_ids(&poll.id);
    let id_of = |label: &str| {
        buttons
            .iter()
            .find(|(_, name)| name == label)
            .map(|(id, _)| id.clone())
            .unwrap()
    };
    let counts = |sim: &Simulator| -> String {
        let post = sim.world().post(&poll.id).unwrap();
        post.props["attachments"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(counts(&sim), "Yes: 0 · No: 0 · Maybe: 0");

    world
        .click_action("alice", &poll.id, &id_of("Yes"), None)
        .await
        .unwrap();
    assert_eq!(counts(&sim), "Yes: 1 · No: 0 · Maybe: 0");
    world
        .click_action("bob", &poll.id, &id_of("Yes"), None)
        .await
        .unwrap();
    assert_eq!(counts(&sim), "Yes: 2 · No: 0 · Maybe: 0");
    world
        .click_action("alice", &poll.id, &id_of("No"), None)
        .await
        .unwrap();
    assert_eq!(counts(&sim), "Yes: 1 · No: 1 · Maybe: 0");
    world
        .click_action("alice", &poll.id, &id_of("No"), None)
        .await
        .unwrap();
    assert_eq!(
        counts(&sim),
        "Yes: 1 · No: 0 · Maybe: 0",
        "a second click takes the vote back"
    );
    let post = world.post(&poll.id).unwrap();
    assert_eq!(post.props["votes"], json!({"yes": ["bob"]}));
    assert_eq!(post.message, "📊 **Lunch at noon?** (asked by @alice)");
}

fn hello_route(text: &str) -> String {
    format!("[command]\ntrigger = \"hi\"\n[reply]\ntext = \"{text}\"\n")
}

#[tokio::test]
async fn a_reload_swaps_valid_routes_and_keeps_the_old_ones_on_a_broken_edit() {
    let dir = routes_dir(&[("hi.toml", &hello_route("first"))]);
    let (sim, app) = start(dir.path()).await;
    assert_eq!(run(&sim, "alice", "/hi").await.message, "first");

    // A good edit plus a new route: both served after the reload, the new one registered.
    std::fs::write(dir.path().join("hi.toml"), hello_route("second")).unwrap();
    std::fs::write(
        dir.path().join("new.toml"),
        "[command]\ntrigger = \"newcmd\"\n[reply]\ntext = \"new!\"\n",
    )
    .unwrap();
    match app.state.routes.reload().await {
        ReloadOutcome::Swapped(mut changed) => {
            changed.sort();
            assert_eq!(changed, vec!["hi", "new"]);
        }
        other => panic!("expected a swap: {other:?}"),
    }
    assert_eq!(run(&sim, "alice", "/hi").await.message, "second");

    // A broken edit is rejected with every problem; the old set keeps serving.
    std::fs::write(
        dir.path().join("hi.toml"),
        "[command]\ntrigger = \"hi\"\n[reply]\ntext = \"{{ oops \"\n",
    )
    .unwrap();
    match app.state.routes.reload().await {
        ReloadOutcome::Rejected(problems) => {
            assert!(
                problems[0].to_string().contains("hi.toml:4"),
                "{problems:?}"
            );
        }
        other => panic!("expected a rejection: {other:?}"),
    }
    assert_eq!(run(&sim, "alice", "/hi").await.message, "second");
}

#[tokio::test]
async fn a_reload_into_an_emptied_directory_keeps_the_routes_and_their_commands() {
    let dir = routes_dir(&[("hi.toml", &hello_route("first"))]);
    let (sim, app) = start(dir.path()).await;
    assert!(
        sim.world()
            .commands("main")
            .iter()
            .any(|c| c.trigger == "hi")
    );

    // The last route file goes (a config map being replaced, a volume unmounted).
    std::fs::remove_file(dir.path().join("hi.toml")).unwrap();
    match app.state.routes.reload().await {
        ReloadOutcome::Rejected(problems) => {
            let problem = problems[0].to_string();
            assert!(
                problem.contains("no route files") && problem.contains("keep serving"),
                "{problems:?}"
            );
        }
        other => panic!("expected a rejection: {other:?}"),
    }

    // Still served, still registered.
    assert_eq!(run(&sim, "alice", "/hi").await.message, "first");
    assert!(
        sim.world()
            .commands("main")
            .iter()
            .any(|c| c.trigger == "hi")
    );
}

#[tokio::test]
async fn a_restart_on_an_empty_routes_directory_deletes_no_command() {
    // Arrange: a server that registered /hi, stopped.
    let dir = routes_dir(&[("hi.toml", &hello_route("first"))]);
    let (sim, first) = start(dir.path()).await;
    let addr = first.addr;
    first.stop().await;
    assert!(
        sim.world()
            .commands("main")
            .iter()
            .any(|c| c.trigger == "hi")
    );
    let writes = sim.world().api_writes();

    // Act: the same server (same URL, so the command is its own) on an empty directory, as
    // with a volume not mounted yet.
    let empty = routes_dir(&[]);
    let settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        empty.path(),
    );
    let second = spawn_app_on(settings, addr).await;
    second.wait_ready().await;

    // Assert: ready, nothing written, the command still there.
    assert_eq!(sim.world().api_writes(), writes);
    assert!(
        sim.world()
            .commands("main")
            .iter()
            .any(|c| c.trigger == "hi")
    );
}

#[tokio::test]
async fn a_changed_file_is_picked_up_and_registered_without_a_signal() {
    let dir = routes_dir(&[("hi.toml", &hello_route("first"))]);
    let (sim, _app) = start(dir.path()).await;
    std::fs::write(
        dir.path().join("later.toml"),
        "[command]\ntrigger = \"later\"\n[reply]\ntext = \"added while running\"\n",
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !sim
        .world()
        .commands("main")
        .iter()
        .any(|c| c.trigger == "later")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new route was not registered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        run(&sim, "alice", "/later").await.message,
        "added while running"
    );
}

#[test]
fn check_reports_every_problem_with_file_line_and_key() {
    let dir = routes_dir(&[
        (
            "a.toml",
            "[command]\ntrigger = \"dup\"\n[reply]\ntext = \"{{ args.nope }}\"\n",
        ),
        (
            "b.toml",
            "[command]\ntrigger = \"dup\"\n[dialog]\ntitle = \"t\"\non_submit = \"nowhere\"\n",
        ),
        (
            "c.toml",
            "[command]\ntrigger = \"c\"\n[exec]\nprogram = \"scripts/missing.sh\"\n",
        ),
        ("d.toml", "[command]\ntrigger = \"d\"\nbogus = 1\n"),
    ]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("check")
        .env("SWITCHBOARD_ROUTES__DIR", dir.path())
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "a.toml:4: `reply.text`: template:",
        "b.toml:5: `dialog.on_submit`: `nowhere` is not an action",
        "c.toml:4: `exec.program`",
        "d.toml:3: unknown field `bogus`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[tokio::test]
async fn sighup_reloads_the_routes() {
    let dir = routes_dir(&[("hi.toml", &hello_route("before the signal"))]);
    let sim = spawn_sim().await;
    let mut settings = settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    settings.routes.reload_poll_ms = 0; // only SIGHUP reloads
    let app = spawn_app(settings).await;
    app.wait_ready().await;
    assert_eq!(run(&sim, "alice", "/hi").await.message, "before the signal");

    std::fs::write(dir.path().join("hi.toml"), hello_route("after the signal")).unwrap();
    // The watcher installed its SIGHUP handler when the app started, so the signal cannot
    // terminate the test process. Other apps in this binary reload too and find no change.
    nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGHUP).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let message = run(&sim, "alice", "/hi").await.message;
        if message == "after the signal" {
            break;
        }
        assert_eq!(message, "before the signal");
        assert!(
            tokio::time::Instant::now() < deadline,
            "SIGHUP did not reload"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kubernetes mounts a ConfigMap as links (`hi.toml -> ..data/hi.toml`) into a `..data` link
/// it points at a new directory on each update: the poller sees the change.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_reloads_routes_mounted_from_a_configmap() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let version = |name: &str, text: &str| {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("hi.toml"), hello_route(text)).unwrap();
    };
    version("..2026_12_06_1", "first version");
    symlink("..2026_12_06_1", dir.path().join("..data")).unwrap();
    symlink("..data/hi.toml", dir.path().join("hi.toml")).unwrap();
    let sim = spawn_sim().await;
    let mut settings = settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    settings.routes.reload_poll_ms = 100;
    let app = spawn_app(settings).await;
    app.wait_ready().await;
    assert_eq!(run(&sim, "alice", "/hi").await.message, "first version");

    // The kubelet's update: a new directory, a new `..data` link renamed over the old one.
    version("..2026_12_06_2", "second version");
    symlink("..2026_12_06_2", dir.path().join("..data_tmp")).unwrap();
    std::fs::rename(dir.path().join("..data_tmp"), dir.path().join("..data")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let message = run(&sim, "alice", "/hi").await.message;
        if message == "second version" {
            break;
        }
        assert_eq!(message, "first version");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the update was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_anywhere_hook_answers_only_messages_containing_its_word() {
    let dir = routes_dir(&[(
        "shout.toml",
        "[hook]\ntrigger_words = [\"coffee\"]\ntrigger_when = \"anywhere\"\nchannel = \"town-square\"\n[reply]\nvisibility = \"in_channel\"\ntext = \"☕ noted, @{{ user.name }} ({{ trigger_word or 'anywhere' }})\"\n",
    )]);
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    // Mattermost cannot match a word anywhere: registration made a hook for the whole
    // channel, and the route filters the text itself.
    assert_eq!(
        world.outgoing_hooks("main").len(),
        1,
        "shout hook registered"
    );

    world
        .create_post("alice", "main", "town-square", "nothing to see")
        .await
        .unwrap();
    world
        .create_post("bob", "main", "town-square", "who wants coffee?")
        .await
        .unwrap();
    let answer = wait_for_post(&sim, "town-square", |p| p.message.starts_with("☕")).await;
    assert_eq!(answer.message, "☕ noted, @bob (anywhere)");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        world
            .posts_in("main", "town-square")
            .iter()
            .filter(|p| p.message.starts_with("☕"))
            .count(),
        1,
        "the message without the word got no answer"
    );
}
