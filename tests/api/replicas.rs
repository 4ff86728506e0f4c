//! Three replicas sharing one real redis-server (`[store] url`): a replayed dialog state runs
//! once in total, and a route's `max_concurrent` holds across replicas.

use std::time::Duration;

use base64::Engine as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use switchboard::config::Settings;
use switchboard::sim::Simulator;
use switchboard::store::{Lease, Store, StoreSettings};

use crate::helpers::*;
use crate::redis_server::RedisServer;
use crate::replay::{
    deploy_runs, free_addr, serve_from_repo, shipped_routes_copy, spawn_serve_from_repo,
    wait_for_ended_deploy_runs, wait_for_finished_deploys, wait_until_ready,
};

/// Settings sharing `redis` and one signing key, as replicas behind one Service are set up.
fn replica_settings(sim: &Simulator, routes: &std::path::Path, redis: &RedisServer) -> Settings {
    let mut settings = settings(sim.url().as_str(), &sim.bot_token(), &["main"], routes);
    let secret = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    settings.signing.keys = Some(SecretString::from(format!("k1:{secret}")));
    settings.store.url = Some(SecretString::from(redis.url()));
    settings
}

/// Replica A announces its own address; B and C announce A's (one Service in front of all).
async fn three_replicas(settings: &Settings) -> [TestApp; 3] {
    let a = spawn_app(settings.clone()).await;
    a.wait_ready().await;
    let public = a.url("");
    let b = spawn_replica(settings.clone(), &public).await;
    let c = spawn_replica(settings.clone(), &public).await;
    b.wait_ready().await;
    c.wait_ready().await;
    [a, b, c]
}

async fn post_json_to_all(replicas: &[TestApp], path: &str, body: &Value) -> Vec<Value> {
    let sends = replicas.iter().map(|r| {
        let request = r.http.post(r.url(path)).json(body).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    });
    futures::future::join_all(sends).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialog_state_sent_to_three_replicas_sharing_redis_runs_once_in_total() {
    let Some(redis) = RedisServer::start("replicas::dialog") else {
        return;
    };
    let sim = spawn_sim().await;
    let routes = shipped_routes_copy();
    let replicas = three_replicas(&replica_settings(&sim, routes.path(), &redis)).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy production")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");
    let body = json!({
        "type": "dialog_submission",
        "callback_id": dialog.callback_id(),
        "state": dialog.state(),
        "user_id": world.user_id("alice").unwrap(),
        "channel_id": world.channel_id("main", "town-square").unwrap(),
        "team_id": world.team_id("main").unwrap(),
        "submission": {"version": "v1.2.3", "env": "production"},
        "cancelled": false,
    });

    // The same state at once to every replica: one accepts, two refuse.
    let answers = post_json_to_all(&replicas, "/dialogs/deploy", &body).await;
    let refused = |answers: &[Value]| {
        answers
            .iter()
            .filter(|a| a["error"] == "This dialog was already submitted.")
            .count()
    };
    assert_eq!(refused(&answers), 2, "{answers:?}");
    wait_for_finished_deploys(&sim, 1).await;

    // And again, later, to each: refused everywhere.
    let answers = post_json_to_all(&replicas, "/dialogs/deploy", &body).await;
    assert_eq!(refused(&answers), 3, "{answers:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deploy_runs(&sim).len(), 1, "{:#?}", deploy_runs(&sim));
    for replica in replicas {
        replica.stop().await;
    }
}

const SLOW: &str = r#"
[command]
trigger = "slow"

[exec]
program = "scripts/slow.sh"
max_concurrent = 1
queue = 0
edit_interval_ms = 50
started = "started"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_max_concurrent_holds_across_three_replicas_sharing_redis() {
    let Some(redis) = RedisServer::start("replicas::max_concurrent") else {
        return;
    };
    let sim = spawn_sim().await;
    let routes = tempfile::tempdir().unwrap();
    std::fs::write(routes.path().join("slow.toml"), SLOW).unwrap();
    std::fs::create_dir(routes.path().join("scripts")).unwrap();
    let script = routes.path().join("scripts/slow.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 2\necho done\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let replicas = three_replicas(&replica_settings(&sim, routes.path(), &redis)).await;
    let world = sim.world();
    let token = world
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == "slow")
        .expect("/slow registered")
        .token;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "channel_id",
            &world.channel_id("main", "town-square").unwrap(),
        )
        .append_pair("channel_name", "town-square")
        .append_pair("command", "/slow")
        .append_pair("response_url", "http://127.0.0.1:1/hooks/commands/x")
        .append_pair("team_domain", "main")
        .append_pair("team_id", &world.team_id("main").unwrap())
        .append_pair("text", "")
        .append_pair("token", &token)
        .append_pair("trigger_id", "dHJpZ2dlcg==")
        .append_pair("user_id", &world.user_id("alice").unwrap())
        .append_pair("user_name", "alice")
        .finish();
    let run_everywhere = || {
        futures::future::join_all(replicas.iter().map(|r| {
            let form = form.clone();
            async move {
                let response = r.post_form("/commands/slow", form).await;
                assert_eq!(response.status(), 200);
                response.json::<Value>().await.unwrap()["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }
        }))
    };

    let answers = run_everywhere().await;
    let started = answers.iter().filter(|t| *t == "started").count();
    let busy = answers.iter().filter(|t| t.contains("is busy")).count();
    assert_eq!((started, busy), (1, 2), "{answers:?}");

    // Once the run is over, its slot is free again for any replica.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !world
        .posts_in("main", "town-square")
        .iter()
        .any(|p| p.message.starts_with("✅ `slow`"))
    {
        assert!(tokio::time::Instant::now() < deadline, "the run finished");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = replicas[2]
        .post_form("/commands/slow", form.clone())
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(answer["text"], "started", "{answer}");
    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_shares_records_counts_and_caches_and_frees_a_dead_holders_lease() {
    let Some(redis) = RedisServer::start("replicas::store") else {
        return;
    };
    let settings = StoreSettings {
        url: Some(SecretString::from(redis.url())),
        ..StoreSettings::default()
    };
    // Two processes' worth of clients.
    let a = Store::from_settings(&settings).unwrap();
    let b = Store::from_settings(&settings).unwrap();
    a.ping().await.unwrap();
    let minute = Duration::from_secs(60);

    assert!(a.claim_once("t", minute).await.unwrap());
    assert!(!b.claim_once("t", minute).await.unwrap());
    b.forget("t").await.unwrap();
    assert!(b.claim_once("t", minute).await.unwrap());

    for n in 1..=5 {
        let store = if n % 2 == 0 { &a } else { &b };
        assert_eq!(store.take_use("u", 5, minute).await.unwrap(), Some(n));
    }
    assert_eq!(a.take_use("u", 5, minute).await.unwrap(), None);
    b.give_back_use("u").await.unwrap();
    assert_eq!(a.uses("u").await.unwrap(), 4);

    a.cache_put("c", "system_admin system_user", minute)
        .await
        .unwrap();
    assert_eq!(
        b.cache_get("c").await.unwrap().as_deref(),
        Some("system_admin system_user")
    );

    // A replica that dies holding a slot stops renewing it: the slot frees itself.
    let short = Duration::from_millis(300);
    assert_eq!(
        a.lease("l", "dead", 1, short).await.unwrap(),
        Lease::Granted { others: 0 }
    );
    assert_eq!(b.lease("l", "alive", 1, minute).await.unwrap(), Lease::Full);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        b.lease("l", "alive", 1, minute).await.unwrap(),
        Lease::Granted { others: 0 }
    );
    assert!(!a.renew("l", "dead", minute).await.unwrap());
    assert!(b.renew("l", "alive", minute).await.unwrap());

    // Keys carry the prefix, so deployments can share one Redis.
    assert!(a.key("used", "x").starts_with("switchboard:"));
}

#[tokio::test]
async fn doctor_checks_that_the_shared_store_answers() {
    use switchboard::reconcile::doctor::{self, Status};
    let sim = spawn_sim().await;
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    );
    let store = |findings: &[doctor::Finding]| {
        findings
            .iter()
            .find(|f| f.check == "shared store")
            .cloned()
            .expect("a shared store finding")
    };

    // Default: in-process, and doctor says when that is not enough.
    let finding = store(&doctor::run(&settings, None).await);
    assert!(finding.message.contains("in-process"), "{finding}");
    assert!(
        finding.message.contains("more than one replica"),
        "{finding}"
    );

    // Configured but nobody listens: a failure naming the address, never the password.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    settings.store.url = Some(SecretString::from(format!(
        "redis://:s3cretpassw0rd@127.0.0.1:{port}/0"
    )));
    let findings = doctor::run(&settings, None).await;
    let finding = store(&findings);
    assert_eq!(finding.status, Status::Fail, "{finding}");
    assert!(
        finding.message.contains(&format!("127.0.0.1:{port}")),
        "{finding}"
    );
    assert!(!format!("{findings:?}").contains("s3cretpassw0rd"));
    assert!(doctor::has_failures(&findings));

    // A live Redis: fine.
    let Some(redis) = RedisServer::start("replicas::doctor") else {
        return;
    };
    settings.store.url = Some(SecretString::from(redis.url()));
    let finding = store(&doctor::run(&settings, None).await);
    assert_eq!(finding.status, Status::Ok, "{finding}");
    assert!(finding.message.contains("answers"), "{finding}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_serve_binaries_sharing_redis_refuse_a_state_replayed_to_any_of_them() {
    let Some(redis) = RedisServer::start("replicas::serve") else {
        return;
    };
    let sim = spawn_sim().await;
    let listens = [free_addr(), free_addr(), free_addr()];
    // One Service in front of all three: they all announce the first one's address.
    let public = format!("http://{}", listens[0]);
    let env = [("SWITCHBOARD_STORE__URL", redis.url())];
    let mut served = Vec::new();
    for listen in listens {
        served.push(serve_from_repo(&sim, listen, &public, &env).await);
    }
    assert!(
        served[1]
            .logged()
            .contains(&format!("redis at {}", redis.url())),
        "the store in use is logged: {}",
        served[1].logged()
    );

    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy staging")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");
    let body = json!({
        "type": "dialog_submission",
        "callback_id": dialog.callback_id(),
        "state": dialog.state(),
        "user_id": world.user_id("alice").unwrap(),
        "channel_id": world.channel_id("main", "town-square").unwrap(),
        "team_id": world.team_id("main").unwrap(),
        "submission": {"version": "v4.5.6", "env": "staging"},
        "cancelled": false,
    });
    let http = reqwest::Client::new();
    let submit = |listen: std::net::SocketAddr| {
        let request = http
            .post(format!("http://{listen}/dialogs/deploy"))
            .json(&body)
            .send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    let accepted = submit(listens[0]).await;
    assert!(accepted.get("error").is_none(), "{accepted}");
    wait_for_ended_deploy_runs(&sim, 1).await;
    for listen in listens {
        let answer = submit(listen).await;
        assert_eq!(answer["error"], "This dialog was already submitted.");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deploy_runs(&sim).len(), 1, "{:#?}", deploy_runs(&sim));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_a_submission_is_refused_with_try_again_and_nothing_runs() {
    let Some(redis) = RedisServer::start("replicas::redis_down") else {
        return;
    };
    let sim = spawn_sim().await;
    let routes = shipped_routes_copy();
    let app = spawn_app(replica_settings(&sim, routes.path(), &redis)).await;
    app.wait_ready().await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy staging")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");
    let submit = || {
        world.submit_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            json!({"version": "v1.0.0", "env": "staging"})
                .as_object()
                .unwrap()
                .clone(),
            false,
        )
    };
    // Down: the process is stopped; its port is kept for its return.
    let port = redis.port();
    drop(redis);

    let answer = submit().await.unwrap();
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("try again")),
        "{answer}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deploy_runs(&sim).is_empty(), "{:#?}", deploy_runs(&sim));

    // Redis comes back, and stays up a while before anyone submits: the first submission
    // after that works (the connection is made again when a command finds none).
    let _back = tokio::task::spawn_blocking(move || RedisServer::start_on(port))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answer = submit().await.unwrap();
    assert_eq!(answer, json!({}), "the first submission after the outage");
    app.stop().await;
}

/// The store alone, nothing else using it: after an outage, the first command once Redis is
/// back works (the connection manager had given up reconnecting while it was down).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_store_command_after_an_outage_works() {
    let Some(redis) = RedisServer::start("replicas::outage") else {
        return;
    };
    let settings = switchboard::store::StoreSettings {
        url: Some(secrecy::SecretString::from(redis.url())),
        ..switchboard::store::StoreSettings::default()
    };
    let store = switchboard::store::Store::from_settings(&settings).unwrap();
    let ttl = Duration::from_secs(60);
    assert!(store.claim_once("before", ttl).await.unwrap());
    let port = redis.port();
    drop(redis);
    assert!(store.claim_once("during", ttl).await.is_err());
    // The manager's own reconnection attempts run out while Redis is down.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _back = tokio::task::spawn_blocking(move || RedisServer::start_on(port))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(store.claim_once("after", ttl).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reaches_a_password_protected_redis_with_the_password_from_env_or_file() {
    let password = "correct-horse-battery-staple";
    let Some(redis) = RedisServer::start_with("replicas::password", &["--requirepass", password])
    else {
        return;
    };
    let sim = spawn_sim().await;
    let doctor = |extra: Vec<(&'static str, String)>| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .current_dir(repo_root())
            .arg("doctor")
            .env("SWITCHBOARD_MATTERMOST__URL", sim.url().as_str())
            .env("SWITCHBOARD_MATTERMOST__TOKEN", sim.bot_token())
            .env("SWITCHBOARD_STORE__URL", redis.url())
            .env_remove("SWITCHBOARD_STORE__PASSWORD")
            .envs(extra)
            .output()
    };
    let store_line = |output: &std::process::Output| {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(!stdout.contains(password), "{stdout}");
        stdout
            .lines()
            .find(|l| l.contains("shared store"))
            .unwrap_or_else(|| panic!("no shared store line: {stdout}"))
            .to_owned()
    };

    let without = doctor(vec![]).await.unwrap();
    assert!(
        !without.status.success(),
        "{}",
        String::from_utf8_lossy(&without.stdout)
    );
    let line = store_line(&without);
    assert!(line.starts_with("[FAIL]"), "{line}");

    let from_env = doctor(vec![("SWITCHBOARD_STORE__PASSWORD", password.to_owned())])
        .await
        .unwrap();
    let line = store_line(&from_env);
    assert!(
        line.starts_with("[ok  ]") && line.contains("answers"),
        "{line}"
    );

    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{password}\n")).unwrap();
    let from_file = doctor(vec![(
        "SWITCHBOARD_STORE__PASSWORD_FILE",
        file.path().display().to_string(),
    )])
    .await
    .unwrap();
    let line = store_line(&from_file);
    assert!(line.starts_with("[ok  ]"), "{line}");
}

/// Issue: refusals while Redis was down were counted `outcome="ok"`, so the documented alert
/// on Switchboard's own failures never fired. They are `unavailable` now, and the replica
/// stays ready (readiness follows the store only until it answered once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_refused_while_redis_is_down_counts_as_unavailable_not_ok() {
    let Some(redis) = RedisServer::start("replicas::unavailable_metric") else {
        return;
    };
    let sim = spawn_sim().await;
    let listen = free_addr();
    let env = [("SWITCHBOARD_STORE__URL", redis.url())];
    let served = serve_from_repo(&sim, listen, &format!("http://{listen}"), &env).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy staging")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");
    drop(redis);

    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            json!({"version": "v1.0.0", "env": "staging"})
                .as_object()
                .unwrap()
                .clone(),
            false,
        )
        .await
        .unwrap();
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("try again")),
        "{answer}"
    );

    let http = reqwest::Client::new();
    let metrics = crate::ops::scrape(&http, &format!("http://{listen}/metrics")).await;
    let dialogs = |outcome| {
        metrics.value(
            "switchboard_callbacks_total",
            &[
                ("kind", "dialogs"),
                ("route", "deploy"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(dialogs("unavailable"), 1.0, "{}", served.logged());
    assert_eq!(dialogs("ok"), 0.0, "a refusal is not ok");
    let ready = http
        .get(format!("http://{listen}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        200,
        "an outage after startup keeps it ready"
    );
}

/// Issue: with an unreachable (or refusing) Redis, `serve` answered `/readyz` 200 although it
/// would refuse every dialog. It now waits for the store to answer once, says so in `/readyz`
/// and once per attempt in its log (never per probe), and becomes ready when Redis comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_is_not_ready_until_its_configured_store_answers() {
    if RedisServer::start("replicas::store_readiness").is_none() {
        return;
    }
    let sim = spawn_sim().await;
    let listen = free_addr();
    let port = free_addr().port();
    let env = [(
        "SWITCHBOARD_STORE__URL",
        format!("redis://127.0.0.1:{port}/0"),
    )];
    let served = spawn_serve_from_repo(&sim, listen, &format!("http://{listen}"), &env);
    let http = reqwest::Client::new();
    // Registration alone takes well under this; a probe every 100 ms, as a busy kubelet.
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(response) = http.get(format!("http://{listen}/readyz")).send().await {
            assert_eq!(response.status(), 503);
            let body = response.text().await.unwrap();
            assert!(body.contains("shared store"), "{body}");
        }
    }
    let logged = served.logged();
    assert!(
        logged.contains("the shared store does not answer")
            && logged.contains(&format!("127.0.0.1:{port}")),
        "{logged}"
    );
    assert!(
        !logged.contains("/readyz"),
        "probes are not logged one by one: {logged}"
    );

    // Redis arrives: the same process becomes ready, no restart.
    let _redis = tokio::task::spawn_blocking(move || RedisServer::start_on(port))
        .await
        .unwrap();
    wait_until_ready(&served, listen).await;
    assert!(served.logged().contains("shared store answers"));
}
