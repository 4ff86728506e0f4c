//! Triggers beyond callbacks: inbound webhooks, schedules, messages (issue 16).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::helpers::{repo_root, spawn_sim, start};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(http: &reqwest::Client, addr: SocketAddr) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("http://{addr}/readyz")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("switchboard at {addr} did not become ready");
}

pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `switchboard serve` from the repository root with the shipped config.toml and routes/, as
/// the README shows: the GitHub and Alertmanager examples posting into ~town-square.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_github_and_alertmanager_webhooks_post_verified_bodies_only() {
    let sim = spawn_sim().await;
    let listen = format!("127.0.0.1:{}", free_port());
    let github_secret = "It's a Secret to Everybody";
    let alertmanager_token = "am-token-0123456789";
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("stderr.log");
    let child = Child(
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .current_dir(repo_root())
            .env("SWITCHBOARD_SERVER__LISTEN", &listen)
            .env("SWITCHBOARD_SERVER__PUBLIC_URL", format!("http://{listen}"))
            .env("SWITCHBOARD_MATTERMOST__URL", sim.url().as_str())
            .env("SWITCHBOARD_MATTERMOST__TOKEN", sim.bot_token())
            .env("GITHUB_WEBHOOK_SECRET", github_secret)
            .env("ALERTMANAGER_TOKEN", alertmanager_token)
            // The shipped deploy and poll routes hand out buttons: serve needs a signing key.
            .env(
                "SWITCHBOARD_SIGNING__KEYS",
                format!("k1:{}", {
                    use base64::Engine as _;
                    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
                }),
            )
            .env_remove("SWITCHBOARD_STORE__URL")
            .env("SWITCHBOARD_LOG__FORMAT", "json")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    wait_ready(&http, listen.parse().unwrap()).await;
    let url = |route: &str| format!("http://{listen}/webhooks/{route}");
    let posts = || sim.world().posts_in("main", "town-square");
    let before = posts().len();

    // GitHub: a push, signed as GitHub signs it.
    let push = std::fs::read(repo_root().join("routes/samples/github-push.json")).unwrap();
    let answer = http
        .post(url("github"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header(
            "x-hub-signature-256",
            github_signature(github_secret, &push),
        )
        .body(push.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{:?}", answer.text().await);

    // The same delivery again (GitHub's Redeliver, or a replay): answered, nothing runs.
    let again = http
        .post(url("github"))
        .header("x-github-event", "push")
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header(
            "x-hub-signature-256",
            github_signature(github_secret, &push),
        )
        .body(push.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["outcome"], "already handled", "{again}");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("72d3162e-cc78-11e3-81ab-4c9367dc0958 was already handled"),
        "{again}"
    );
    // Without its delivery id: refused, so a replay cannot run by leaving the id out.
    let anonymous = http
        .post(url("github"))
        .header(
            "x-hub-signature-256",
            github_signature(github_secret, &push),
        )
        .body(push.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 400);
    assert!(
        anonymous
            .text()
            .await
            .unwrap()
            .contains("X-GitHub-Delivery"),
        "the 400 names the header"
    );
    let after_push = posts();
    assert_eq!(after_push.len(), before + 1);
    let post = after_push.last().unwrap();
    assert!(
        post.message
            .contains("**octocat** pushed 1 commit to `main` in `octo-org/hello-world`"),
        "{}",
        post.message
    );
    assert!(
        post.message.contains("Fix the greeting — Mona Lisa"),
        "{}",
        post.message
    );
    assert!(
        !post.message.contains("said hello twice"),
        "{}",
        post.message
    );

    // A body changed after signing, a signature with another secret, none at all: 401.
    let mut tampered = push.clone();
    tampered.extend_from_slice(b" ");
    for (body, signature) in [
        (tampered, Some(github_signature(github_secret, &push))),
        (
            push.clone(),
            Some(github_signature("another secret", &push)),
        ),
        (push.clone(), Some("sha256=not-hex".to_owned())),
        (push.clone(), None),
    ] {
        let mut request = http.post(url("github")).body(body);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    // Signed, but not JSON: 400, never 500.
    let garbage = b"{not json".to_vec();
    let answer = http
        .post(url("github"))
        .header(
            "x-hub-signature-256",
            github_signature(github_secret, &garbage),
        )
        .body(garbage)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(posts().len(), before + 1, "refused bodies posted something");

    // A pull request opened is posted; GitHub's ping posts nothing.
    let pull =
        std::fs::read(repo_root().join("routes/samples/github-pull-request-opened.json")).unwrap();
    let ping = br#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#.to_vec();
    for (n, body) in [pull, ping].into_iter().enumerate() {
        let answer = http
            .post(url("github"))
            .header("x-github-delivery", format!("delivery-{n}"))
            .header(
                "x-hub-signature-256",
                github_signature(github_secret, &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    let after_pull = posts();
    assert_eq!(after_pull.len(), before + 2);
    assert!(
        after_pull.last().unwrap().message.contains(
            "**monalisa** opened [#42 Say hello once](https://github.com/octo-org/hello-world/pull/42)"
        ),
        "{}",
        after_pull.last().unwrap().message
    );

    // A title written to hijack the route's link and load an image shows as written.
    let mut hostile: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("routes/samples/github-pull-request-opened.json")).unwrap(),
    )
    .unwrap();
    hostile["pull_request"]["title"] =
        "Fix](https://evil.example/login) ![x](https://evil.example/t.png) [@channel".into();
    let body = serde_json::to_vec(&hostile).unwrap();
    let answer = http
        .post(url("github"))
        .header("x-github-delivery", "delivery-hostile")
        .header(
            "x-hub-signature-256",
            github_signature(github_secret, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let message = posts().last().unwrap().message.clone();
    assert!(
        message.contains(
            r"[#42 Fix\]\(https://evil.example/login\) \!\[x\]\(https://evil.example/t.png\) \[@"
        ) && message.contains("](https://github.com/octo-org/hello-world/pull/42)")
            && !message.contains("@channel"),
        "{message}"
    );

    // Alertmanager: firing creates one post, resolved edits that same post.
    let firing =
        std::fs::read(repo_root().join("routes/samples/alertmanager-firing.json")).unwrap();
    let resolved =
        std::fs::read(repo_root().join("routes/samples/alertmanager-resolved.json")).unwrap();
    let unauthorized = http
        .post(url("alertmanager"))
        .header("authorization", "Bearer wrong")
        .body(firing.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    let send = |body: Vec<u8>| {
        http.post(url("alertmanager"))
            .bearer_auth(alertmanager_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answer: serde_json::Value = send(firing).await.unwrap().json().await.unwrap();
    assert_eq!(answer["outcome"], "posted", "{answer}");
    let post_id = answer["post_id"].as_str().unwrap().to_owned();
    let firing_post = sim.world().post(&post_id).unwrap();
    assert!(
        firing_post
            .message
            .starts_with("🔥 **FIRING** HighLatency (2 firing, 0 resolved)"),
        "{}",
        firing_post.message
    );
    assert!(
        firing_post
            .message
            .contains("api-1:9100: p99 latency above 2 s on api-1")
    );
    let count = posts().len();

    let answer: serde_json::Value = send(resolved).await.unwrap().json().await.unwrap();
    assert_eq!(answer["outcome"], "edited", "{answer}");
    assert_eq!(answer["post_id"], post_id.as_str());
    assert_eq!(posts().len(), count, "resolved made a new post");
    let resolved_post = sim.world().post(&post_id).unwrap();
    assert!(
        resolved_post
            .message
            .starts_with("✅ **RESOLVED** HighLatency (0 firing, 2 resolved)"),
        "{}",
        resolved_post.message
    );
    assert!(resolved_post.edit_at > 0);

    // No such webhook route; a route without [webhook]: 404.
    for route in ["nothing-here", "hello"] {
        let answer = http.post(url(route)).body("{}").send().await.unwrap();
        assert_eq!(answer.status(), 404, "{route}");
    }

    // The startup log says which coordination mode is active; no secret is logged.
    drop(child);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let coordination = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "schedules and messages")
        .unwrap_or_else(|| panic!("no coordination line in:\n{log}"));
    assert!(
        coordination["fields"]["coordination"]
            .as_str()
            .unwrap()
            .starts_with("single replica: "),
        "{coordination}"
    );
    assert!(!log.contains(github_secret) && !log.contains(alertmanager_token));
}

// ---------------------------------------------------------------------------------------------
// Schedules

fn schedule_route(every_secs: u64) -> String {
    format!(
        "[schedule]\nevery_secs = {every_secs}\nchannel = \"off-topic\"\n\
         [reply]\nvisibility = \"in_channel\"\ntext = \"tick {{{{ tick.timestamp }}}} at {{{{ tick.time }}}}\"\n"
    )
}

pub fn routes_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// The tick posts in ~off-topic of `main`, as their tick timestamps.
fn tick_posts(sim: &switchboard::sim::Simulator) -> Vec<i64> {
    sim.world()
        .posts_in("main", "off-topic")
        .iter()
        .filter_map(|p| p.message.strip_prefix("tick "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_posts_each_tick_with_its_time_into_the_declared_channel() {
    let sim = spawn_sim().await;
    let dir = routes_dir(&[("every.toml", &schedule_route(1))]);
    let settings =
        crate::helpers::settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    let app = crate::helpers::spawn_app(settings).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tick_posts(&sim).len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no ticks posted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ticks = tick_posts(&sim);
    assert_eq!(ticks[1] - ticks[0], 1, "{ticks:?}");
    let post = sim.world().posts_in("main", "off-topic")[0].clone();
    let time = chrono::DateTime::from_timestamp(ticks[0], 0).unwrap();
    assert!(
        post.message.ends_with(&time.fixed_offset().to_rfc3339()),
        "{}",
        post.message
    );
    let metrics = switchboard::metrics::render().unwrap_or_default();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("switchboard_triggers_total{")
                && l.contains("kind=\"schedule\"")
                && l.contains("route=\"every\"")
                && l.contains("outcome=\"posted\"")),
        "{metrics}"
    );
    app.stop().await;
}

/// Three replicas sharing one redis-server: every tick is posted exactly once, also after the
/// replica that started first is stopped mid-run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_post_each_schedule_tick_exactly_once_even_when_one_stops() {
    let Some(redis) = crate::redis_server::RedisServer::start("triggers::schedule") else {
        return;
    };
    let sim = spawn_sim().await;
    let dir = routes_dir(&[("every.toml", &schedule_route(1))]);
    let mut settings =
        crate::helpers::settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    settings.store.url = Some(secrecy::SecretString::from(redis.url()));
    let a = crate::helpers::spawn_app(settings.clone()).await;
    let public = a.url("");
    let b = crate::helpers::spawn_replica(settings.clone(), &public).await;
    let c = crate::helpers::spawn_replica(settings.clone(), &public).await;

    let wait_for = |n: usize| {
        let sim = &sim;
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while tick_posts(sim).len() < n {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {:?}",
                    tick_posts(sim)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_for(3).await;
    a.stop().await;
    let at_stop = tick_posts(&sim).len();
    wait_for(at_stop + 3).await;
    b.stop().await;
    c.stop().await;

    let ticks = tick_posts(&sim);
    let mut unique = ticks.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ticks.len(),
        "a tick was posted twice: {ticks:?}"
    );
    // No tick lost between the first and the last either (a stopped replica's claims are its
    // own; the others claim the next ticks).
    assert_eq!(
        (unique[unique.len() - 1] - unique[0]) as usize + 1,
        unique.len(),
        "{unique:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Messages

const STATUS_ROUTE: &str = r#"
[message]
mentioned = true
pattern = '(?i)status of (?P<service>[a-z0-9-]+)'

[reply]
visibility = "in_channel"
# Mentions the bot and matches the pattern again: were the bot's own posts not ignored,
# this would answer itself forever.
text = "@switchboard status of {{ captures.service }}: all green (asked by @{{ user.name }})"
"#;

pub const PING_ROUTE: &str = r#"
[message]
trigger_words = ["ping"]
reply_in = "channel"

[reply]
visibility = "in_channel"
text = "pong, @{{ user.name }}"
"#;

/// Waits until `n` apps hold an open WebSocket connection to the simulator, so that a post
/// made from now on reaches each of them.
pub async fn wait_listening(sim: &switchboard::sim::Simulator, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let open = sim.open_websockets();
        if open >= n {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{open} listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Replies by the bot in `channel_id`, as (root id, message).
pub fn bot_replies(sim: &switchboard::sim::Simulator, channel_id: &str) -> Vec<(String, String)> {
    let bot = sim.world().user_id("switchboard").unwrap();
    sim.posts_in_channel(channel_id)
        .into_iter()
        .filter(|p| p.user_id == bot)
        .map(|p| (p.root_id, p.message))
        .collect()
}

async fn wait_replies(sim: &switchboard::sim::Simulator, channel_id: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bot_replies(sim, channel_id).len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            bot_replies(sim, channel_id)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_in_a_dm_and_mentions_are_answered_and_the_bots_own_posts_are_not() {
    let sim = spawn_sim().await;
    let dir = routes_dir(&[("status.toml", STATUS_ROUTE), ("ping.toml", PING_ROUTE)]);
    let settings =
        crate::helpers::settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    let app = crate::helpers::spawn_app(settings).await;
    wait_listening(&sim, 1).await;
    let town = sim.world().channel_id("main", "town-square").unwrap();

    // In a channel without the mention: ignored. With it: answered in the thread.
    sim.post_in("alice", &town, "", "status of api?")
        .await
        .unwrap();
    let asked = sim
        .post_in("alice", &town, "", "@switchboard status of api?")
        .await
        .unwrap();
    wait_replies(&sim, &town, 1).await;
    // Time for a loop or a late answer to the unmentioned post to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bot_replies(&sim, &town),
        vec![(
            asked.id.clone(),
            "@switchboard status of api: all green (asked by @alice)".to_owned()
        )]
    );

    // A direct message: a mention is implied; `ping` answers in the channel, not a thread.
    let dm = sim.direct_channel("bob", "switchboard").unwrap();
    sim.post_in("bob", &dm, "", "status of db").await.unwrap();
    sim.post_in("bob", &dm, "", "ping").await.unwrap();
    wait_replies(&sim, &dm, 2).await;
    let mut replies = bot_replies(&sim, &dm);
    replies.sort();
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert_eq!(replies[0], (String::new(), "pong, @bob".to_owned()));
    assert_eq!(
        replies[1].1,
        "@switchboard status of db: all green (asked by @bob)"
    );

    // The bot itself posting a matching message: never answered.
    let before = bot_replies(&sim, &town).len();
    sim.post_in("switchboard", &town, "", "@switchboard status of web ping")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bot_replies(&sim, &town).len(),
        before + 1,
        "only its own post"
    );
    app.stop().await;
}

/// Three replicas sharing one redis-server each receive every `posted` event; every message
/// is answered exactly once, also after one replica is stopped mid-run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_answer_each_message_exactly_once_even_when_one_stops() {
    let Some(redis) = crate::redis_server::RedisServer::start("triggers::messages") else {
        return;
    };
    let sim = spawn_sim().await;
    let dir = routes_dir(&[("ping.toml", PING_ROUTE)]);
    let mut settings =
        crate::helpers::settings(sim.url().as_str(), &sim.bot_token(), &["main"], dir.path());
    settings.store.url = Some(secrecy::SecretString::from(redis.url()));
    let a = crate::helpers::spawn_app(settings.clone()).await;
    let public = a.url("");
    let b = crate::helpers::spawn_replica(settings.clone(), &public).await;
    let c = crate::helpers::spawn_replica(settings.clone(), &public).await;
    wait_listening(&sim, 3).await;
    let town = sim.world().channel_id("main", "town-square").unwrap();

    for i in 0..5 {
        sim.post_in("alice", &town, "", &format!("ping {i}"))
            .await
            .unwrap();
    }
    wait_replies(&sim, &town, 5).await;
    a.stop().await;
    for i in 5..10 {
        sim.post_in("bob", &town, "", &format!("ping {i}"))
            .await
            .unwrap();
    }
    wait_replies(&sim, &town, 10).await;
    // Time for duplicates to show, were there any.
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.stop().await;
    c.stop().await;
    let replies = bot_replies(&sim, &town);
    assert_eq!(replies.len(), 10, "{replies:?}");
    assert_eq!(
        replies.iter().filter(|r| r.1 == "pong, @alice").count(),
        5,
        "{replies:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// plan and doctor

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_doctor_say_what_the_shipped_webhooks_need() {
    let sim = spawn_sim().await;
    let (url, token) = (sim.url().to_string(), sim.bot_token());
    let run = move |command: &str, extra: Vec<(&'static str, String)>| {
        let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg(command)
            .current_dir(repo_root())
            .env("SWITCHBOARD_MATTERMOST__URL", &url)
            .env("SWITCHBOARD_MATTERMOST__TOKEN", &token)
            .env_remove("GITHUB_WEBHOOK_SECRET")
            .env_remove("ALERTMANAGER_TOKEN")
            .envs(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let plan = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run("plan", vec![])
    })
    .await
    .unwrap();
    assert!(
        plan.contains(
            "webhook  github: POST http://127.0.0.1:3000/webhooks/github; needs $GITHUB_WEBHOOK_SECRET set, the bot posting in ~town-square of main"
        ),
        "{plan}"
    );
    let doctor = tokio::task::spawn_blocking(move || {
        run("doctor", vec![("ALERTMANAGER_TOKEN", "x".to_owned())])
    })
    .await
    .unwrap();
    let line = |needle: &str| {
        doctor
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {doctor}"))
            .to_owned()
    };
    assert!(
        line("$GITHUB_WEBHOOK_SECRET").starts_with("[WARN]"),
        "{doctor}"
    );
    assert!(line("$ALERTMANAGER_TOKEN").starts_with("[ok"), "{doctor}");
    assert!(
        line("sees ~town-square in main").starts_with("[ok"),
        "{doctor}"
    );
}

// ---------------------------------------------------------------------------------------------
// dev

/// `switchboard dev` from the repository root, `input` piped in, routes from `routes`
/// (the shipped ones when `None`); its stdout once it has exited at end of input.
fn run_dev(input: &[u8], routes: Option<&std::path::Path>) -> String {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .current_dir(repo_root())
        .arg("dev")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(routes) = routes {
        command.env("SWITCHBOARD_ROUTES__DIR", routes);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "dev did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn an_alert_group_too_long_for_one_post_is_posted_cut_to_fit() {
    // Arrange: an outage, 400 instances firing at once; the rendered post is far over
    // Mattermost's 16,383 characters.
    let mut body: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("routes/samples/alertmanager-firing.json")).unwrap(),
    )
    .unwrap();
    let alert = body["alerts"][0].clone();
    body["alerts"] = (0..400)
        .map(|i| {
            let mut a = alert.clone();
            a["labels"]["instance"] = format!("db-{i:04}.prod.example.com:9100").into();
            a
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outage.json");
    std::fs::write(&file, body.to_string()).unwrap();

    // Act
    let stdout = run_dev(
        format!("!webhook alertmanager {}\n", file.display()).as_bytes(),
        None,
    );

    // Assert: posted (not refused whole), with the first alerts and a note that it was cut.
    assert!(
        stdout.contains("webhook alertmanager: {\"outcome\":\"posted\""),
        "{stdout}"
    );
    assert!(stdout.contains("db-0000.prod.example.com"), "{stdout}");
    assert!(
        stdout.contains("cut: the message was longer than a Mattermost post"),
        "{stdout}"
    );
}

#[test]
fn dev_posts_a_sample_webhook_body_and_fires_a_schedule_now() {
    let stdout = run_dev(
        b"!webhook alertmanager routes/samples/alertmanager-firing.json\n\
          !webhook alertmanager samples/alertmanager-resolved.json\n\
          !webhook github nowhere.json\n\
          !tick github\n",
        None,
    );
    assert!(
        stdout.contains("webhook alertmanager: {\"outcome\":\"posted\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("webhook alertmanager: {\"outcome\":\"edited\""),
        "{stdout}"
    );
    assert!(stdout.contains("FIRING** HighLatency"), "{stdout}");
    assert!(stdout.contains("error: nowhere.json:"), "{stdout}");
    assert!(
        stdout.contains("error: route `github` has no [schedule]"),
        "{stdout}"
    );

    let standup = "[schedule]\ncron = \"0 9 * * MON-FRI\"\ntimezone = \"Europe/Berlin\"\nchannel = \"town-square\"\n\
         [reply]\nvisibility = \"in_channel\"\ntext = \"Stand-up time ({{ tick.local }})\"\n";
    let dir = routes_dir(&[
        ("standup.toml", standup),
        (
            "nowhere.toml",
            &standup.replace("town-square", "no-such-channel"),
        ),
    ]);
    let stdout = run_dev(b"!tick standup\n!tick nowhere\n", Some(dir.path()));
    // In words, not Rust's debug output (`Posted("…")`); a failure is an error.
    assert!(stdout.contains("tick standup: posted "), "{stdout}");
    assert!(stdout.contains("Stand-up time ("), "{stdout}");
    assert!(stdout.contains("error: tick nowhere: failed: "), "{stdout}");
    assert!(
        !stdout.contains("Posted(") && !stdout.contains("Failed("),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// allow_from: the TCP peer as the listener saw it

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_from_admits_the_listed_peer_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    for (name, allowed) in [("near", "127.0.0.1"), ("far", "10.0.0.0/8")] {
        std::fs::write(
            dir.path().join(format!("{name}.toml")),
            format!(
                "[webhook]\nallow_from = [\"{allowed}\"]\nchannel = \"town-square\"\n\n\
                 [reply]\nvisibility = \"in_channel\"\ntext = \"{name}: {{{{ body.what | default('') }}}}\"\n"
            ),
        )
        .unwrap();
    }
    let (sim, app) = start(dir.path()).await;
    let send = |route: &'static str| {
        app.http
            .post(app.url(&format!("/webhooks/{route}")))
            .header("content-type", "application/json")
            // A forwarding header is never trusted: only the TCP peer counts.
            .header("x-forwarded-for", "10.1.2.3")
            .body(r#"{"what": "disk full"}"#)
            .send()
    };
    let near = send("near").await.unwrap();
    assert_eq!(near.status(), 200, "{:?}", near.text().await);
    let far = send("far").await.unwrap();
    assert_eq!(far.status(), 403);
    let texts: Vec<String> = sim
        .world()
        .posts_in("main", "town-square")
        .into_iter()
        .map(|p| p.message)
        .collect();
    assert!(texts.iter().any(|t| t == "near: disk full"), "{texts:?}");
    assert!(!texts.iter().any(|t| t.starts_with("far:")), "{texts:?}");
    app.stop().await;
}
