//! Issue 16: a message is answered once and a tick runs once also when the replica handling it
//! is killed (SIGKILL) mid-run: three `switchboard serve` processes, one simulator, one
//! redis-server; the action is an `http` call to a slow local service, so the holder is
//! killed while it works, before it answered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::spawn_sim;
use crate::redis_server::RedisServer;
use crate::replay::{Served, free_addr, serve_from_repo};
use crate::triggers::wait_listening;

/// How long the slow service takes to answer.
pub const WORK: Duration = Duration::from_millis(1500);
/// The claims' lifetime the replicas are started with.
const CLAIM_TTL_MS: u64 = 1500;

/// A request the slow service received: which replica sent it, what for, and when.
#[derive(Debug, Clone)]
pub struct Call {
    pub replica: String,
    pub what: String,
    pub at: tokio::time::Instant,
}

pub type Calls = Arc<Mutex<Vec<Call>>>;

/// Records each call, waits [`WORK`], answers `{"what": …}`.
pub async fn slow_service(calls: Calls) -> std::net::SocketAddr {
    async fn work(
        State(calls): State<Calls>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let what = body["what"].as_str().unwrap_or_default().to_owned();
        calls.lock().unwrap().push(Call {
            replica: headers
                .get("x-replica")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            what: what.clone(),
            at: tokio::time::Instant::now(),
        });
        tokio::time::sleep(WORK).await;
        Json(json!({"what": what}))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/work", axum::routing::post(work))
        .with_state(calls);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

pub fn routes(service: std::net::SocketAddr) -> tempfile::TempDir {
    let http = format!(
        "[http]\nurl = \"http://{service}/work\"\n\
         headers_from_env = {{ \"X-Replica\" = \"REPLICA_NAME\" }}\ntimeout_secs = 10\n"
    );
    let reply =
        "[http.reply]\nvisibility = \"in_channel\"\ntext = \"done: {{ response.json.what }}\"\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slow-message.toml"),
        format!(
            "[message]\ntrigger_words = [\"slow\"]\nreply_in = \"channel\"\n\n{http}\
             body = '{{\"what\": {{{{ text | tojson }}}}}}'\n\n{reply}"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("slow-tick.toml"),
        format!(
            "[schedule]\nevery_secs = 2\nchannel = \"off-topic\"\n\n{http}\
             body = '{{\"what\": \"tick {{{{ tick.timestamp }}}}\"}}'\n\n{reply}"
        ),
    )
    .unwrap();
    dir
}

/// The bot's `done: …` answers in `channel_id`.
pub fn answers(sim: &switchboard::sim::Simulator, channel_id: &str) -> Vec<String> {
    let bot = sim.world().user_id("switchboard").unwrap();
    sim.posts_in_channel(channel_id)
        .into_iter()
        .filter(|p| p.user_id == bot)
        .filter_map(|p| p.message.strip_prefix("done: ").map(str::to_owned))
        .collect()
}

/// Waits (at most 40 s: the suite runs many of these at once on 2 cores) until `found`
/// returns something.
pub async fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Kills the replica that made the first call for `what` that is still in flight (the
/// service has not answered it, so its answer is not posted), and returns the call.
///
/// Nor while another call of the same replica was answered moments ago: the replica may have
/// posted that answer and not yet recorded its event done, the window in which a takeover
/// answers twice (documented in `triggers::claims`; this test is about a kill mid-work). A
/// new leader runs the ticks it kept pending all at once, so several finish together, and
/// a lease test that killed it on an old call, or just as such a batch finished, saw ticks
/// answered twice.
pub async fn kill_the_holder_of(
    calls: &Calls,
    replicas: &mut HashMap<String, Served>,
    what: impl Fn(&str) -> bool,
) -> Call {
    let in_flight = WORK - Duration::from_millis(200);
    // Its other calls must be in flight too, or answered long enough ago for the replica to
    // have recorded their events done.
    let settled = WORK + Duration::from_millis(700);
    let call = wait_for("the holder's call", || {
        let calls = calls.lock().unwrap();
        let quiet = |replica: &str| {
            calls.iter().filter(|c| c.replica == replica).all(|c| {
                let age = c.at.elapsed();
                age < in_flight || age > settled
            })
        };
        calls
            .iter()
            .find(|c| {
                what(&c.what)
                    && replicas.contains_key(&c.replica)
                    && c.at.elapsed() < in_flight
                    && quiet(&c.replica)
            })
            .cloned()
    })
    .await;
    let mut holder = replicas.remove(&call.replica).expect("a live replica");
    holder.kill_hard();
    call
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_run_has_its_message_and_tick_taken_over_and_answered_once() {
    let Some(redis) = RedisServer::start("takeover::store") else {
        return;
    };
    let sim = spawn_sim().await;
    let calls: Calls = Arc::default();
    let service = slow_service(calls.clone()).await;
    let dir = routes(service);
    let listens = [free_addr(), free_addr(), free_addr()];
    let public = format!("http://{}", listens[0]);
    let mut replicas = HashMap::new();
    for (n, listen) in listens.into_iter().enumerate() {
        let env = [
            ("SWITCHBOARD_STORE__URL", redis.url()),
            ("SWITCHBOARD_ROUTES__DIR", dir.path().display().to_string()),
            (
                "SWITCHBOARD_COORDINATION__CLAIM_TTL_MS",
                CLAIM_TTL_MS.to_string(),
            ),
            ("REPLICA_NAME", format!("r{n}")),
        ];
        replicas.insert(
            format!("r{n}"),
            serve_from_repo(&sim, listen, &public, &env).await,
        );
    }
    wait_listening(&sim, 3).await;
    // Every replica's schedule runs from here on: a tick after this is known to all of them.
    // (An earlier one may be known only to the replicas that started first, and killing
    // those two leaves nobody to take it over.)
    let all_scheduling = chrono::Utc::now().timestamp() + 2;
    assert!(
        replicas["r1"]
            .logged()
            .contains("taken over when its claim expires"),
        "the startup log says how events are shared: {}",
        replicas["r1"].logged()
    );
    let town = sim.world().channel_id("main", "town-square").unwrap();
    let off_topic = sim.world().channel_id("main", "off-topic").unwrap();

    // A message; its holder is killed while the slow service works for it.
    sim.post_in("alice", &town, "", "slow 1").await.unwrap();
    let first = kill_the_holder_of(&calls, &mut replicas, |w| w == "slow 1").await;
    let again = wait_for("a takeover of the message", || {
        calls
            .lock()
            .unwrap()
            .iter()
            .find(|c| c.what == "slow 1" && c.replica != first.replica)
            .cloned()
    })
    .await;
    // Taken over within the claim's lifetime after the holder's last renewal (a third of it
    // before the kill at most), with room for a loaded machine.
    assert!(
        again.at - first.at <= Duration::from_millis(3 * CLAIM_TTL_MS),
        "taken over after {:?}",
        again.at - first.at
    );

    // A tick; its holder (one of the two left) is killed mid-run too.
    let tick = kill_the_holder_of(&calls, &mut replicas, |w| {
        w.strip_prefix("tick ")
            .and_then(|at| at.parse::<i64>().ok())
            .is_some_and(|at| at >= all_scheduling)
    })
    .await;
    wait_for("the killed tick's answer", || {
        answers(&sim, &off_topic).contains(&tick.what).then_some(())
    })
    .await;
    wait_for("the message's answer", || {
        answers(&sim, &town)
            .contains(&"slow 1".to_owned())
            .then_some(())
    })
    .await;
    // Two more ticks on the last replica, and time for duplicates to show, were there any.
    let before = answers(&sim, &off_topic).len();
    wait_for("later ticks", || {
        (answers(&sim, &off_topic).len() >= before + 2).then_some(())
    })
    .await;
    tokio::time::sleep(WORK + Duration::from_millis(500)).await;

    assert_eq!(answers(&sim, &town), vec!["slow 1".to_owned()]);
    let ticks = answers(&sim, &off_topic);
    let mut unique = ticks.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        ticks.len(),
        "a tick was answered twice: {ticks:?}"
    );
    assert!(ticks.contains(&tick.what), "{ticks:?}");
    // The killed tick was run again by another replica, not lost.
    assert!(
        calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.what == tick.what && c.replica != tick.replica),
        "{:?}",
        calls.lock().unwrap()
    );
    drop(replicas);
}
