//! No lookup a route does not need (issue #12): names looked up only when a route reads them,
//! and cached; `[post]` into the request's own channel with one API call; the access log line
//! on by default and off with `[log] access = false`.

use std::process::Stdio;

use serde_json::{Map, json};
use switchboard::sim::Simulator;

use crate::helpers::*;
use crate::ops::{binary, free_port, serve_env, terminate, wait_ready};

/// A routes directory holding `files` (name → contents).
fn routes(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    dir
}

/// `GET` calls for users, channels and teams made since `from` (index into the log).
fn lookups(sim: &Simulator, from: usize) -> Vec<String> {
    sim.world().api_requests()[from..]
        .iter()
        .filter(|r| r.method == "GET")
        .filter(|r| {
            ["/api/v4/users/", "/api/v4/channels/", "/api/v4/teams/"]
                .iter()
                .any(|p| r.path.starts_with(p))
        })
        .map(|r| r.path.clone())
        .collect()
}

/// A dialog route whose `on_submit` reply uses `text`.
fn dialog_route(trigger: &str, text: &str) -> String {
    format!(
        "[command]\ntrigger = \"{trigger}\"\n[dialog]\ntitle = \"Ask\"\non_submit = \"done\"\n\
         [[dialog.elements]]\nname = \"q\"\ndisplay_name = \"Q\"\ntype = \"text\"\n\
         [actions.done.reply]\ntext = \"{text}\"\n"
    )
}

async fn submit(sim: &Simulator, q: &str) {
    let world = sim.world();
    let dialog = world.opened_dialogs().last().cloned().unwrap();
    let mut submission = Map::new();
    submission.insert("q".into(), json!(q));
    let answer = world
        .submit_dialog("alice", "main", "town-square", &dialog, submission, false)
        .await
        .unwrap();
    assert_eq!(answer, json!({}));
}

#[tokio::test]
async fn dialog_names_are_looked_up_only_when_read_and_then_cached() {
    let dir = routes(&[
        (
            "named.toml",
            &dialog_route("named", "{{ user.name }} asked {{ submission.q }}"),
        ),
        (
            "quiet.toml",
            "[command]\ntrigger = \"quiet\"\n[dialog]\ntitle = \"Ask\"\non_submit = \"done\"\n\
             [[dialog.elements]]\nname = \"q\"\ndisplay_name = \"Q\"\ntype = \"text\"\n\
             [actions.done.post]\nchannel = \"here\"\nmessage = \"asked {{ submission.q }}\"\nreply = \"\"\n",
        ),
    ]);
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        dir.path(),
    ))
    .await;
    app.wait_ready().await;
    let world = sim.world();
    let user_id = world.user_id("alice").unwrap();

    // A route whose templates read no name: no lookup at all, only its post.
    world
        .execute_command("alice", "main", "town-square", "/quiet")
        .await
        .unwrap();
    let from = world.api_requests().len();
    submit(&sim, "first").await;
    let calls: Vec<String> = world.api_requests()[from..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(calls, ["POST /api/v4/posts"]);

    // A route reading user.name: one user lookup on the first submission…
    world
        .execute_command("alice", "main", "town-square", "/named")
        .await
        .unwrap();
    let channel_id = world.channel_id("main", "town-square").unwrap();
    // (The simulator refuses the bot's ephemeral post, so the answer is a direct message: that
    // delivery reads the channel's name, for "From ~town-square:", whatever the route's
    // templates read, and the bot's id the first time.)
    let delivery = [format!("/api/v4/channels/{channel_id}")];
    let from = world.api_requests().len();
    submit(&sim, "one").await;
    let expected = [
        format!("/api/v4/users/{user_id}"),
        "/api/v4/users/me".to_owned(),
        format!("/api/v4/channels/{channel_id}"),
    ];
    assert_eq!(lookups(&sim, from), expected);
    // …and none for the second from the same user.
    world
        .execute_command("alice", "main", "town-square", "/named")
        .await
        .unwrap();
    let from = world.api_requests().len();
    submit(&sim, "two").await;
    assert_eq!(lookups(&sim, from), delivery);
    let direct = sim.direct_channel("switchboard", "alice").unwrap();
    let posts = sim.posts_in_channel(&direct);
    assert!(
        posts
            .iter()
            .any(|p| p.message == "From ~town-square: alice asked two"),
        "{posts:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_post_here_makes_exactly_one_api_call_and_named_channels_are_cached() {
    let dir = routes(&[
        (
            "here.toml",
            "[command]\ntrigger = \"here\"\n[post]\nchannel = \"here\"\nmessage = \"{{ text }}\"\nreply = \"Posted.\"\n",
        ),
        (
            "named.toml",
            "[command]\ntrigger = \"named\"\n[post]\nchannel = \"off-topic\"\nmessage = \"{{ text }}\"\n",
        ),
    ]);
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        dir.path(),
    ))
    .await;
    app.wait_ready().await;
    let world = sim.world();

    let from = world.api_requests().len();
    let outcome = world
        .execute_command("alice", "main", "town-square", "/here shipped")
        .await
        .unwrap();
    let calls: Vec<String> = world.api_requests()[from..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(calls, ["POST /api/v4/posts"]);
    assert_eq!(
        outcome
            .posts
            .iter()
            .filter(|p| p.message == "Posted.")
            .count(),
        1
    );
    assert!(
        world
            .posts_in("main", "town-square")
            .iter()
            .any(|p| p.message == "shipped")
    );

    // A channel by name: looked up once, then from the cache.
    for text in ["a", "b"] {
        world
            .execute_command("alice", "main", "town-square", &format!("/named {text}"))
            .await
            .unwrap();
    }
    let channel_lookups = world.api_requests()[from..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/channels/name/"))
        .count();
    assert_eq!(channel_lookups, 1);
    let messages: Vec<String> = world
        .posts_in("main", "off-topic")
        .into_iter()
        .map(|p| p.message)
        .collect();
    assert!(
        messages.contains(&"a".into()) && messages.contains(&"b".into()),
        "{messages:?}"
    );
    app.stop().await;
}

/// Runs the built binary from the repository root with the shipped config.toml and routes,
/// sends `/hello` through the simulator, stops it; returns what it wrote to stderr.
async fn serve_hello(extra_env: &[(&str, &str)]) -> String {
    let sim = spawn_sim().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let env = serve_env(&sim, &listen, std::path::Path::new("routes"));
    let child = binary()
        .arg("serve")
        .current_dir(repo_root())
        .envs(
            env.iter()
                // The shipped routes directory and teams, as the README runs it.
                .filter(|(k, _)| !k.contains("ROUTES__DIR") && !k.contains("TEAMS"))
                .map(|(k, v)| (*k, v.as_str())),
        )
        .envs(extra_env.iter().copied())
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&reqwest::Client::new(), listen.parse().unwrap()).await;
    let outcome = sim
        .world()
        .execute_command("alice", "main", "town-square", "/hello there")
        .await
        .unwrap();
    assert!(
        outcome
            .posts
            .iter()
            .any(|p| p.message.contains("You said: there")),
        "{:?}",
        outcome.posts
    );
    let (status, stderr) = terminate(child).await;
    assert_eq!(status.code(), Some(0), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_line_is_on_by_default_plain_in_a_pipe_and_off_when_configured() {
    let on = serve_hello(&[]).await;
    let line = on
        .lines()
        .find(|l| l.contains("callback answered"))
        .unwrap_or_else(|| panic!("no access line: {on}"));
    // The whole line as tracing's text format writes an event in the request's span (the
    // line is written without the event, src/telemetry/access.rs): time, level, the request
    // context, target, message, fields.
    let (time, rest) = line
        .split_once("  INFO ")
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        time.len() == 27 && time.starts_with("20") && time.ends_with('Z'),
        "{line}"
    );
    assert!(
        rest.starts_with(r#"request{method="POST" path="/commands/hello" request_id=""#),
        "{line}"
    );
    let (context, event) = rest.split_once("}: ").unwrap_or_else(|| panic!("{line}"));
    for field in [
        r#" kind="commands" route="hello" team_id=""#,
        r#"" channel_id=""#,
        r#"" user_id=""#,
    ] {
        assert!(context.contains(field), "{field} in {line}");
    }
    let latency = event
        .strip_prefix(
            "switchboard::server::middleware: callback answered status=200 outcome=ok latency_ms=",
        )
        .unwrap_or_else(|| panic!("{line}"));
    assert!(latency.parse::<u64>().is_ok(), "{line}");
    assert!(!on.contains('\u{1b}'), "ANSI codes in a pipe: {on:?}");

    let off = serve_hello(&[("SWITCHBOARD_LOG__ACCESS", "false")]).await;
    assert!(off.contains("switchboard starting"), "{off}");
    assert!(!off.contains("callback answered"), "{off}");

    // The log filter applies to the access line as to every other line.
    let filtered = serve_hello(&[(
        "SWITCHBOARD_LOG__FILTER",
        "info,switchboard::server::middleware=warn",
    )])
    .await;
    assert!(filtered.contains("switchboard starting"), "{filtered}");
    assert!(!filtered.contains("callback answered"), "{filtered}");
}

#[tokio::test]
async fn user_and_channel_arguments_are_checked_and_carry_their_ids() {
    let dir = routes(&[(
        "greet.toml",
        "[command]\ntrigger = \"greet\"\n\
         [[args]]\nname = \"who\"\ntype = \"user\"\nrequired = true\n\
         [[args]]\nname = \"where\"\ntype = \"channel\"\n\
         [reply]\ntext = \"Hi {{ args.who }} ({{ args.who.id }}){% if args.where %} in {{ args.where }} ({{ args.where.id }}){% endif %}\"\n",
    )]);
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        dir.path(),
    ))
    .await;
    app.wait_ready().await;
    let world = sim.world();
    let reply = |line: &'static str| {
        let world = sim.world();
        async move {
            let outcome = world
                .execute_command("alice", "main", "town-square", line)
                .await
                .unwrap();
            outcome.posts[0].message.clone()
        }
    };

    let bob = world.user_id("bob").unwrap();
    let off_topic = world.channel_id("main", "off-topic").unwrap();
    assert_eq!(
        reply("/greet @bob ~off-topic").await,
        format!("Hi bob ({bob}) in off-topic ({off_topic})")
    );
    let unknown = reply("/greet @nobody").await;
    assert!(
        unknown.starts_with("⚠️ There is no user `@nobody`."),
        "{unknown}"
    );
    assert!(
        unknown.contains("Usage: `/greet <@who> [~where]`"),
        "{unknown}"
    );
    let unknown = reply("/greet @bob ~nowhere").await;
    assert!(
        unknown.starts_with("⚠️ There is no channel `~nowhere`."),
        "{unknown}"
    );
    // A second use of the same names is answered from the cache.
    let from = world.api_requests().len();
    reply("/greet @bob ~off-topic").await;
    assert_eq!(lookups(&sim, from), Vec::<String>::new());
    app.stop().await;
}
