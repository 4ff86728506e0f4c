//! Issue 16, lease mode: three `switchboard serve` processes elect a leader through a
//! Kubernetes Lease served by a stand-in of the API server (GET/POST/PUT of one Lease with
//! real resourceVersion and 409 semantics, bearer token checked); the leader is killed while it
//! works, a new one takes over within the lease duration, and every message and tick is
//! answered once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::helpers::spawn_sim;
use crate::replay::{free_addr, serve_from_repo};
use crate::takeover::{Calls, WORK, answers, kill_the_holder_of, routes, slow_service, wait_for};
use crate::triggers::wait_listening;

const NAMESPACE: &str = "chat";
const LEASE_SECS: u64 = 3;

/// The API server's Lease, as far as leader election uses it.
#[derive(Default)]
struct ApiServer {
    lease: Option<Value>,
    version: u64,
    /// The tokens accepted now (the test rotates them).
    tokens: Vec<String>,
    /// Every holder written, in order.
    holders: Vec<String>,
    conflicts: usize,
    /// How long each write (PUT) takes to answer.
    put_delay: Duration,
    /// Writes that recorded one or more events as done.
    done_writes: usize,
}

/// Events the Lease records as done.
fn done_entries(lease: Option<&Value>) -> usize {
    lease
        .and_then(|l| l["metadata"]["annotations"]["switchboard.dev/handled"].as_str())
        .and_then(|handled| serde_json::from_str::<HashMap<String, Value>>(handled).ok())
        .map_or(0, |handled| {
            handled.values().filter(|h| h["s"] == "done").count()
        })
}

type Api = Arc<Mutex<ApiServer>>;

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                      "message": message, "reason": reason, "code": code.as_u16()});
    (code, Json(body)).into_response()
}

fn authorized(api: &ApiServer, headers: &HeaderMap) -> bool {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    presented.is_some_and(|t| api.tokens.iter().any(|ok| ok == t))
}

fn store(api: &mut ApiServer, mut lease: Value) -> Value {
    api.version += 1;
    lease["metadata"]["resourceVersion"] = json!(api.version.to_string());
    let holder = lease["spec"]["holderIdentity"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if api.holders.last() != Some(&holder) {
        api.holders.push(holder);
    }
    if done_entries(Some(&lease)) > done_entries(api.lease.as_ref()) {
        api.done_writes += 1;
    }
    api.lease = Some(lease.clone());
    lease
}

async fn get_lease(
    State(api): State<Api>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let api = api.lock().unwrap();
    if !authorized(&api, &headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    match &api.lease {
        Some(lease) if ns == NAMESPACE && lease["metadata"]["name"] == name.as_str() => {
            Json(lease.clone()).into_response()
        }
        _ => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("leases \"{name}\" not found"),
        ),
    }
}

async fn create_lease(
    State(api): State<Api>,
    Path(ns): Path<String>,
    headers: HeaderMap,
    Json(lease): Json<Value>,
) -> Response {
    let mut api = api.lock().unwrap();
    if !authorized(&api, &headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    assert_eq!(ns, NAMESPACE);
    if api.lease.is_some() {
        api.conflicts += 1;
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            "leases \"switchboard\" already exists",
        );
    }
    if lease["metadata"].get("resourceVersion").is_some() {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "resourceVersion should not be set on objects to be created",
        );
    }
    (StatusCode::CREATED, Json(store(&mut api, lease))).into_response()
}

async fn replace_lease(
    State(api): State<Api>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    Json(lease): Json<Value>,
) -> Response {
    let delay = api.lock().unwrap().put_delay;
    tokio::time::sleep(delay).await;
    let mut api = api.lock().unwrap();
    if !authorized(&api, &headers) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    assert_eq!(ns, NAMESPACE);
    let Some(current) = &api.lease else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("leases \"{name}\" not found"),
        );
    };
    if lease["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
        api.conflicts += 1;
        return status(
            StatusCode::CONFLICT,
            "Conflict",
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"switchboard\": the object has been modified; please apply your changes to the latest version and try again",
        );
    }
    Json(store(&mut api, lease)).into_response()
}

async fn api_server(api: Api) -> std::net::SocketAddr {
    let base = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases";
    let app = Router::new()
        .route(base, axum::routing::post(create_lease))
        .route(
            &format!("{base}/{{name}}"),
            axum::routing::get(get_lease).put(replace_lease),
        )
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn holder(api: &Api) -> Option<String> {
    let api = api.lock().unwrap();
    let holder = api.lease.as_ref()?["spec"]["holderIdentity"]
        .as_str()?
        .to_owned();
    // The identity is the pod's host name (HOSTNAME, here the replica's name) and a random part.
    Some(holder.split('_').next()?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_elect_a_leader_by_lease_and_a_new_one_answers_once_after_a_kill() {
    let api: Api = Arc::default();
    api.lock().unwrap().tokens = vec!["token-1".to_owned()];
    let api_addr = api_server(api.clone()).await;
    let account = tempfile::tempdir().unwrap();
    std::fs::write(account.path().join("token"), "token-1\n").unwrap();
    std::fs::write(account.path().join("namespace"), NAMESPACE).unwrap();

    let sim = spawn_sim().await;
    let calls: Calls = Arc::default();
    let dir = routes(slow_service(calls.clone()).await);
    let listens = [free_addr(), free_addr(), free_addr()];
    let public = format!("http://{}", listens[0]);
    let mut replicas = HashMap::new();
    for (n, listen) in listens.into_iter().enumerate() {
        let env = [
            // As in a pod (auto mode picks the Lease), with the API server and the service
            // account's files pointed at the stand-in.
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_owned()),
            ("KUBERNETES_API_URL", format!("http://{api_addr}")),
            (
                "KUBERNETES_SERVICE_ACCOUNT_DIR",
                account.path().display().to_string(),
            ),
            ("HOSTNAME", format!("r{n}")),
            ("REPLICA_NAME", format!("r{n}")),
            ("SWITCHBOARD_ROUTES__DIR", dir.path().display().to_string()),
            (
                "SWITCHBOARD_COORDINATION__LEASE_DURATION_SECS",
                LEASE_SECS.to_string(),
            ),
            (
                "SWITCHBOARD_COORDINATION__RENEW_DEADLINE_MS",
                "2500".to_owned(),
            ),
            (
                "SWITCHBOARD_COORDINATION__RETRY_PERIOD_MS",
                "400".to_owned(),
            ),
        ];
        replicas.insert(
            format!("r{n}"),
            serve_from_repo(&sim, listen, &public, &env).await,
        );
    }
    wait_listening(&sim, 3).await;
    // A tick after this is known to every replica (see the takeover test).
    let all_scheduling = chrono::Utc::now().timestamp() + 2;
    let logged = replicas["r2"].logged();
    assert!(
        logged.contains(&format!(
            "kubernetes lease: replicas elect a leader through the Lease {NAMESPACE}/switchboard"
        )),
        "the startup log says lease mode is active: {logged}"
    );
    let first_leader = wait_for("a leader", || holder(&api)).await;

    // Every replica exports `switchboard_leader`: 1 on the leader, 0 on followers.
    let http = reqwest::Client::new();
    for (n, listen) in listens.into_iter().enumerate() {
        let name = format!("r{n}");
        let want = if name == first_leader { 1.0 } else { 0.0 };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let exposition = crate::ops::scrape(&http, &format!("http://{listen}/metrics")).await;
            let value = exposition.series("switchboard_leader");
            if value == Some(want) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: switchboard_leader is {value:?}, not {want}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // The token rotates: the new one is read from the file for the next calls.
    std::fs::write(account.path().join("token"), "token-2\n").unwrap();
    api.lock().unwrap().tokens = vec!["token-2".to_owned()];

    let town = sim.world().channel_id("main", "town-square").unwrap();
    let off_topic = sim.world().channel_id("main", "off-topic").unwrap();
    sim.post_in("alice", &town, "", "slow 1").await.unwrap();
    let call = kill_the_holder_of(&calls, &mut replicas, |w| w == "slow 1").await;
    assert_eq!(
        call.replica, first_leader,
        "only the leader handles messages"
    );
    let killed_at = tokio::time::Instant::now();
    let second_leader = wait_for("a new leader", || {
        holder(&api).filter(|h| *h != first_leader)
    })
    .await;
    // Within the lease duration after the last renewal, plus the candidates' jittered retry
    // (at most 2.2 retry periods), with room for a loaded machine.
    assert!(
        killed_at.elapsed() <= Duration::from_secs(2 * LEASE_SECS + 1),
        "a new leader after {:?}",
        killed_at.elapsed()
    );
    wait_for("the message's answer", || {
        answers(&sim, &town)
            .contains(&"slow 1".to_owned())
            .then_some(())
    })
    .await;

    // The new leader is killed while it runs a tick: the last replica leads and runs it.
    let tick = kill_the_holder_of(&calls, &mut replicas, |w| {
        w.strip_prefix("tick ")
            .and_then(|at| at.parse::<i64>().ok())
            .is_some_and(|at| at >= all_scheduling)
    })
    .await;
    assert_eq!(tick.replica, second_leader);
    wait_for("the killed tick's answer", || {
        answers(&sim, &off_topic).contains(&tick.what).then_some(())
    })
    .await;
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
    if unique.len() != ticks.len() {
        // Everything that tells who ran what, for a failure seen once on a loaded CI machine.
        let calls: Vec<String> = calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| format!("{} {}", c.replica, c.what))
            .collect();
        let holders = api.lock().unwrap().holders.clone();
        let logs: Vec<String> = replicas
            .iter()
            .map(|(name, served)| format!("--- {name}\n{}", served.logged()))
            .collect();
        panic!(
            "a tick was answered twice: {ticks:?}\ncalls to the service: {calls:?}\n\
             Lease holders in order: {holders:?}\nlive replicas' logs:\n{}",
            logs.join("\n")
        );
    }
    {
        let api = api.lock().unwrap();
        let lease = api.lease.clone().unwrap();
        assert!(
            lease["spec"]["leaseTransitions"].as_i64().unwrap() >= 2,
            "{lease}"
        );
        assert_eq!(lease["spec"]["leaseDurationSeconds"], LEASE_SECS);
        // Three leaders in turn (more only if a loaded machine made a leader miss its renew
        // deadline: then it stepped down, as it must).
        assert!(
            api.holders.len() >= 3,
            "three leaders in turn: {:?}",
            api.holders
        );
    }

    // A leader finishing several events at once records them done in one Lease write, not
    // one write after another: each write is a moment in which a kill would have the events
    // not yet recorded answered again by the next leader. Slow writes make the events queue.
    let burst: Vec<String> = (1..=10).map(|n| format!("slow burst {n}")).collect();
    let (done_before, writes_before) = {
        let mut api = api.lock().unwrap();
        api.put_delay = Duration::from_millis(300);
        (done_entries(api.lease.as_ref()), api.done_writes)
    };
    for text in &burst {
        sim.post_in("alice", &town, "", text).await.unwrap();
    }
    wait_for("the burst's answers, recorded done", || {
        let answered = answers(&sim, &town);
        let recorded = done_entries(api.lock().unwrap().lease.as_ref());
        (burst.iter().all(|b| answered.contains(b)) && recorded >= done_before + burst.len())
            .then_some(())
    })
    .await;
    let done_writes = {
        let mut api = api.lock().unwrap();
        api.put_delay = Duration::ZERO;
        api.done_writes - writes_before
    };
    // One write per event would be at least 10; ticks finishing meanwhile add a few.
    assert!(
        done_writes < burst.len(),
        "{done_writes} Lease writes recorded the burst's {} events done",
        burst.len()
    );

    // Stopped as Kubernetes stops a pod (SIGTERM), the last leader gives the Lease up, so a
    // new pod need not wait for it to expire (client-go's ReleaseOnCancel).
    let mut last = replicas.into_values().next().unwrap();
    let status = tokio::task::spawn_blocking(move || (last.terminate(), last))
        .await
        .unwrap();
    assert!(status.0.success(), "{}", status.1.logged());
    let lease = api.lock().unwrap().lease.clone().unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "", "{lease}");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 1, "{lease}");
}

/// `plan` says what lease mode needs; `doctor` checks that the service account may read the
/// Lease, and names rbac.yaml when it may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_doctor_report_the_lease_permission_need() {
    let api: Api = Arc::default();
    api.lock().unwrap().tokens = vec!["good".to_owned()];
    let api_addr = api_server(api.clone()).await;
    let account = tempfile::tempdir().unwrap();
    std::fs::write(account.path().join("token"), "not-allowed").unwrap();
    std::fs::write(account.path().join("namespace"), NAMESPACE).unwrap();
    let sim = spawn_sim().await;
    let dir = routes(free_addr());
    let (url, token) = (sim.url().to_string(), sim.bot_token());
    let env = vec![
        ("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_owned()),
        ("KUBERNETES_API_URL", format!("http://{api_addr}")),
        (
            "KUBERNETES_SERVICE_ACCOUNT_DIR",
            account.path().display().to_string(),
        ),
        ("SWITCHBOARD_ROUTES__DIR", dir.path().display().to_string()),
        ("SWITCHBOARD_MATTERMOST__URL", url),
        ("SWITCHBOARD_MATTERMOST__TOKEN", token),
    ];
    let run = move |command: &'static str| {
        let env = env.clone();
        tokio::task::spawn_blocking(move || {
            let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .arg(command)
                .current_dir(crate::helpers::repo_root())
                .envs(env)
                .output()
                .unwrap();
            String::from_utf8_lossy(&output.stdout).into_owned()
        })
    };
    let plan = run("plan").await.unwrap();
    assert!(
        plan.contains("(coordination lease) a Kubernetes Lease `switchboard` in the pod's namespace: the service account may get, create and update leases (coordination.k8s.io), see deploy/kubernetes/rbac.yaml"),
        "{plan}"
    );
    let line = |out: &str| {
        out.lines()
            .find(|l| l.contains("coordination lease"))
            .unwrap_or_else(|| panic!("no lease line in {out}"))
            .to_owned()
    };
    let refused = run("doctor").await.unwrap();
    let refused_line = line(&refused);
    assert!(refused_line.starts_with("[FAIL]"), "{refused}");
    assert!(
        refused_line.contains("may not get leases (HTTP 401)"),
        "{refused}"
    );
    assert!(refused.contains("deploy/kubernetes/rbac.yaml"), "{refused}");
    assert!(
        !refused.contains("not-allowed"),
        "the token is never shown: {refused}"
    );

    std::fs::write(account.path().join("token"), "good").unwrap();
    let allowed = run("doctor").await.unwrap();
    let allowed_line = line(&allowed);
    assert!(allowed_line.starts_with("[ok"), "{allowed}");
    assert!(
        allowed_line.contains(&format!(
            "the Lease {NAMESPACE}/switchboard is readable (no leader yet)"
        )),
        "{allowed}"
    );
}
