//! The walking skeleton, end to end: registration, the `/hello` callback, restarts, an
//! unreachable Mattermost, `check` and `dev`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn startup_registers_exactly_one_hello_command_per_team_with_our_url() {
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main", "ops"],
        &repo_root().join("routes"),
    ))
    .await;
    app.wait_ready().await;

    for team in ["main", "ops"] {
        let commands = sim.world().commands(team);
        let hello: Vec<_> = commands.iter().filter(|c| c.trigger == "hello").collect();
        assert_eq!(hello.len(), 1, "team {team}: {commands:?}");
        assert_eq!(hello[0].url, app.url("/commands/hello"));
        assert_eq!(hello[0].method, "P");
    }
}

#[tokio::test]
async fn hello_answers_the_user_ephemerally_with_their_text() {
    let (sim, _app) = spawn_ready().await;

    let outcome = sim
        .world()
        .execute_command("alice", "main", "town-square", "/hello hi there")
        .await
        .expect("command runs");

    assert_eq!(outcome.posts.len(), 1, "{:?}", outcome.posts);
    let post = &outcome.posts[0];
    assert!(post.is_ephemeral(), "the greeting is ephemeral");
    assert_eq!(post.message, "Hello, @alice! You said: hi there");
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_with_401_and_no_detail() {
    let (sim, app) = spawn_ready().await;
    let team_id = sim.world().team_id("main").expect("team");

    let wrong = app
        .post_form(
            "/commands/hello",
            slash_form("wrongtoken0000000000000000", &team_id, "x"),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.text().await.unwrap(), "");

    let missing = app
        .post_form("/commands/hello", slash_form("", &team_id, "x"))
        .await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.text().await.unwrap(), "");
}

#[tokio::test]
async fn bad_requests_get_4xx_never_500() {
    let (sim, app) = spawn_ready().await;
    let team_id = sim.world().team_id("main").expect("team");
    let token = hello_token(&sim, "main");

    let unknown = app
        .post_form("/commands/nope", slash_form(&token, &team_id, "x"))
        .await;
    assert_eq!(unknown.status(), 404);

    let garbage = app.post_form("/commands/hello", "%%%&&&=".into()).await;
    assert_eq!(garbage.status(), 400);

    let json = app
        .http
        .post(app.url("/commands/hello"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);

    let huge = app
        .post_form(
            "/commands/hello",
            slash_form(&token, &team_id, &"x".repeat(300_000)),
        )
        .await;
    assert_eq!(huge.status(), 413);

    let ok = app
        .post_form("/commands/hello", slash_form(&token, &team_id, "fine"))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "application/json");
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["response_type"], "ephemeral");
    assert_eq!(body["text"], "Hello, @alice! You said: fine");
}

/// Callbacks reach their handler straight from the middleware (src/server/dispatch.rs), not
/// through the router: what the router did for them must still hold.
#[tokio::test]
async fn callbacks_keep_the_routers_answers_and_the_configured_body_limit() {
    let sim = spawn_sim().await;
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    );
    // Above axum's own default body limit (2 MiB), which no longer caps the configured one.
    settings.server.body_limit_bytes = 3 * 1024 * 1024;
    let app = spawn_app(settings).await;
    app.wait_ready().await;
    let team_id = sim.world().team_id("main").expect("team");
    let token = hello_token(&sim, "main");

    // A percent-encoded route name is the route it decodes to, as axum's `Path` made it.
    let encoded = app
        .post_form("/commands/hel%6co", slash_form(&token, &team_id, "hi"))
        .await;
    assert_eq!(encoded.status(), 200);
    let body: serde_json::Value = encoded.json().await.unwrap();
    assert_eq!(body["text"], "Hello, @alice! You said: hi");

    // Other methods still reach the router: GET is a command's other method, PUT is none.
    let get = app
        .http
        .get(app.url(&format!(
            "/commands/hello?{}",
            slash_form(&token, &team_id, "by get")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let body: serde_json::Value = get.json().await.unwrap();
    assert_eq!(body["text"], "Hello, @alice! You said: by get");
    let put = app
        .http
        .put(app.url("/commands/hello"))
        .body(slash_form(&token, &team_id, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 405);
    for path in ["/commands/", "/commands/hello/more", "/commands/%FF"] {
        let r = app.post_form(path, slash_form(&token, &team_id, "x")).await;
        assert_eq!(r.status(), 404, "{path}");
    }

    // 2.5 MiB: over axum's default, under the configured limit.
    let big = app
        .post_form(
            "/commands/hello",
            slash_form(&token, &team_id, &"x".repeat(2_500_000)),
        )
        .await;
    assert_eq!(big.status(), 200);

    // A body sent without a length (chunked) is cut off at the limit: 413, not 400 or 500.
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024 * 1024]));
    let streamed = app
        .http
        .post(app.url("/commands/hello"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
}

#[tokio::test]
async fn a_restart_with_nothing_changed_makes_no_write_call() {
    let sim = spawn_sim().await;
    let settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    );
    let first = spawn_app(settings.clone()).await;
    first.wait_ready().await;
    let addr = first.addr;
    first.stop().await;
    let writes_after_first = sim.world().api_writes();
    assert_eq!(
        writes_after_first,
        shipped_commands() + shipped_hooks(),
        "the first start creates each shipped command and outgoing hook once"
    );

    let second = spawn_app_on(settings, addr).await;
    second.wait_ready().await;
    assert_eq!(
        sim.world().api_writes(),
        writes_after_first,
        "restart wrote again"
    );
    assert_eq!(sim.world().commands("main").len(), shipped_commands());

    // The restarted replica learned the token from the listing and accepts the callback.
    let outcome = sim
        .world()
        .execute_command("alice", "main", "town-square", "/hello again")
        .await
        .expect("command runs");
    assert_eq!(outcome.posts[0].message, "Hello, @alice! You said: again");
}

#[tokio::test]
async fn with_mattermost_down_at_start_switchboard_becomes_ready_once_it_is_up() {
    init_test_logging();
    // Reserve a port, then free it so nothing listens there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let token = "e2etoken000000000000000000";
    let app = spawn_app(settings(
        &format!("http://{addr}"),
        token,
        &["main"],
        &repo_root().join("routes"),
    ))
    .await;

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.readyz().await,
        503,
        "not ready while Mattermost is down"
    );
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "alive meanwhile"
    );

    let sim = switchboard::sim::Simulator::start_with(
        addr,
        switchboard::sim::SimSettings {
            bot_token: Some(token.to_owned()),
            ..Default::default()
        },
    )
    .await
    .expect("simulator starts on the reserved port");
    app.wait_ready().await;
    assert_eq!(sim.world().commands("main").len(), shipped_commands());
}

#[test]
fn check_reports_a_broken_route_file_by_name_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "[command]\ntrigger = \"hi\"\nunknown_key = true\n[reply]\ntext = \"x\"\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repo_root())
        .arg("check")
        .env("SWITCHBOARD_ROUTES__DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("broken.toml:3"), "{stderr}");
    assert!(stderr.contains("unknown_key"), "{stderr}");
}

#[test]
fn check_accepts_the_shipped_configuration_and_routes() {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repo_root())
        .arg("check")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `switchboard dev` in the repository with `input` piped in; returns its stdout once it
/// has exited successfully at end of input.
fn run_dev(input: &[u8]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repo_root())
        .arg("dev")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = wait_with_timeout(child, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn dev_submits_a_dialog_with_its_defaults_like_the_web_client() {
    // /deploy preselects env=staging in the dialog; !submit only types the version, so the
    // submission passes validation only if the default is sent too.
    let stdout = run_dev(b"/deploy staging\n!submit version=v1.2.3\n");
    assert!(stdout.contains("(dialog opened) Deploy"), "{stdout}");
    assert!(stdout.contains("(dialog submitted and closed)"), "{stdout}");
    assert!(stdout.contains("Deploying v1.2.3 to staging"), "{stdout}");
}

#[test]
fn dev_runs_a_piped_slash_command_and_exits_at_end_of_input() {
    let stdout = run_dev(b"/hello hi\n");
    assert!(
        stdout.contains("(only visible to you)") && stdout.contains("Hello, @alice! You said: hi"),
        "{stdout}"
    );
}

fn wait_with_timeout(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How many slash commands the shipped routes declare (each is created once per team).
fn shipped_commands() -> usize {
    switchboard::integrations::load_dir(&repo_root().join("routes"))
        .expect("shipped routes load")
        .commands()
        .count()
}

fn shipped_hooks() -> usize {
    switchboard::integrations::load_dir(&repo_root().join("routes"))
        .expect("shipped routes load")
        .hooks()
        .count()
}

/// The token of `/hello` in `team`.
fn hello_token(sim: &switchboard::sim::Simulator, team: &str) -> String {
    sim.world()
        .commands(team)
        .into_iter()
        .find(|c| c.trigger == "hello")
        .expect("hello is registered")
        .token
}
