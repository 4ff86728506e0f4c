//! Single use of signed tokens (issue 13, item 3): a dialog state, and the context of a button
//! declared `once = true`, run their action once; replays are answered and run nothing.

use std::time::Duration;

use serde_json::{Map, Value, json};
use switchboard::sim::{SimEvent, SimPost, Simulator};

use crate::helpers::*;

/// The shipped routes, copied so the test may count the deploy script's runs.
pub fn shipped_routes_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("routes");
    for sub in ["scripts", "samples"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    for sub in ["", "scripts", "samples"] {
        for entry in std::fs::read_dir(source.join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    dir
}

/// Posts in ~town-square announcing a finished deploy (one per run of deploy.sh).
pub fn deploy_runs(sim: &Simulator) -> Vec<SimPost> {
    sim.world()
        .posts_in("main", "town-square")
        .into_iter()
        .filter(|p| p.message.contains("`deploy` started by @alice"))
        .collect()
}

/// Waits until `n` deploys have finished (✅), at most 20 s.
pub async fn wait_for_finished_deploys(sim: &Simulator, n: usize) {
    wait_for_ended_deploys(sim, n, |p| p.message.starts_with('✅')).await;
}

/// Waits until `n` deploy runs satisfy `ended`, at most 20 s.
async fn wait_for_ended_deploys(sim: &Simulator, n: usize, ended: impl Fn(&SimPost) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done = deploy_runs(sim).iter().filter(|p| ended(p)).count();
        if done >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{done} of {n} deploys finished: {:#?}",
            deploy_runs(sim)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test]
async fn a_replayed_deploy_dialog_state_runs_the_script_once() {
    let dir = shipped_routes_copy();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy production")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");

    // A submission with a field error leaves the dialog open: the same state comes again,
    // fixed, and is accepted.
    let answer = world
        .submit_dialog(
            "alice",
            "main",
            "town-square",
            &dialog,
            object(json!({"version": "latest", "env": "production"})),
            false,
        )
        .await
        .unwrap();
    assert!(answer["errors"]["version"].is_string(), "{answer}");
    let good = object(json!({"version": "v1.2.3", "env": "production"}));
    let answer = world
        .submit_dialog("alice", "main", "town-square", &dialog, good.clone(), false)
        .await
        .unwrap();
    assert!(answer.get("error").is_none(), "{answer}");
    wait_for_finished_deploys(&sim, 1).await;

    // The same state three more times: answered in the dialog, nothing runs.
    for _ in 0..3 {
        let answer = world
            .submit_dialog("alice", "main", "town-square", &dialog, good.clone(), false)
            .await
            .unwrap();
        assert_eq!(answer["error"], "This dialog was already submitted.");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deploy_runs(&sim).len(), 1, "{:#?}", deploy_runs(&sim));
}

#[tokio::test]
async fn two_copies_of_one_state_sent_at_once_run_once() {
    let dir = shipped_routes_copy();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy staging")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");
    let good = object(json!({"version": "v2.0.0", "env": "staging"}));
    let (a, b) = tokio::join!(
        world.submit_dialog("alice", "main", "town-square", &dialog, good.clone(), false),
        world.submit_dialog("alice", "main", "town-square", &dialog, good.clone(), false),
    );
    let refused = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|answer| answer["error"] == "This dialog was already submitted.")
        .count();
    assert_eq!(refused, 1);
    wait_for_finished_deploys(&sim, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deploy_runs(&sim).len(), 1);
}

#[tokio::test]
async fn two_dialogs_opened_with_the_same_arguments_are_used_up_separately() {
    let dir = shipped_routes_copy();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    for _ in 0..2 {
        world
            .execute_command("alice", "main", "town-square", "/deploy staging")
            .await
            .unwrap();
    }
    let dialogs = world.opened_dialogs();
    assert_eq!(dialogs.len(), 2);
    for dialog in &dialogs {
        let answer = world
            .submit_dialog(
                "alice",
                "main",
                "town-square",
                dialog,
                object(json!({"version": "v3.0.0", "env": "staging"})),
                false,
            )
            .await
            .unwrap();
        assert!(answer.get("error").is_none(), "{answer}");
    }
    wait_for_finished_deploys(&sim, 2).await;
}

const APPROVE: &str = r#"
[command]
trigger = "approve"

[reply]
visibility = "in_channel"
text = "Release {{ text }} waits for approval"

[[reply.attachments]]
actions = [
  { id = "approve", name = "Approve", action = "go", once = true, context = { release = "{{ text }}" } },
  { id = "note", name = "Note", action = "note" },
]

[actions.go.post]
channel = "town-square"
message = "approved {{ context.release }} by @{{ user.name }}"

[actions.note.post]
channel = "town-square"
message = "noted by @{{ user.name }}"
"#;

#[tokio::test]
async fn a_once_button_runs_its_action_once_and_other_buttons_stay_reusable() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("approve.toml"), APPROVE).unwrap();
    let (sim, _app) = start(dir.path()).await;
    let world = sim.world();
    let outcome = world
        .execute_command("alice", "main", "town-square", "/approve r42")
        .await
        .unwrap();
    let post = outcome.posts[0].clone();
    let ids = world.action_ids(&post.id);
    let id = |label: &str| ids.iter().find(|(_, l)| l == label).unwrap().0.clone();

    world
        .click_action("bob", &post.id, &id("Approve"), None)
        .await
        .unwrap();
    let mut events = world.subscribe();
    world
        .click_action("alice", &post.id, &id("Approve"), None)
        .await
        .unwrap();
    let told = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(SimEvent::EphemeralPost(post)) = events.recv().await {
                return post.message;
            }
        }
    })
    .await
    .expect("the second click is told why nothing happened");
    assert_eq!(told, "This button was already used.");
    for _ in 0..2 {
        world
            .click_action("bob", &post.id, &id("Note"), None)
            .await
            .unwrap();
    }
    let posts = world.posts_in("main", "town-square");
    let count = |text: &str| posts.iter().filter(|p| p.message.contains(text)).count();
    assert_eq!(count("approved r42 by @"), 1, "{posts:#?}");
    assert_eq!(count("approved r42 by @bob"), 1, "{posts:#?}");
    assert_eq!(count("noted by @bob"), 2, "a plain button stays reusable");
}

/// A `switchboard serve` child, killed if the test ends early, and its log.
pub struct Served {
    child: std::process::Child,
    log: tempfile::NamedTempFile,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Kills it at once (SIGKILL: no shutdown, no cleanup), as a crash or an OOM kill would.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it as Kubernetes does (SIGTERM) and waits until it has exited.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged so far.
    pub fn logged(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

/// A free loopback address.
pub fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Starts `switchboard serve` as the README runs it: from the repository, with the shipped
/// config.toml and routes/, the rest from the environment (`extra` added), listening on
/// `listen` and announcing `public`; waits until it is ready.
pub async fn serve_from_repo(
    sim: &Simulator,
    listen: std::net::SocketAddr,
    public: &str,
    extra: &[(&str, String)],
) -> Served {
    let served = spawn_serve_from_repo(sim, listen, public, extra);
    wait_until_ready(&served, listen).await;
    served
}

/// Like [`serve_from_repo`], without waiting for it to be ready.
pub fn spawn_serve_from_repo(
    sim: &Simulator,
    listen: std::net::SocketAddr,
    public: &str,
    extra: &[(&str, String)],
) -> Served {
    let log = tempfile::NamedTempFile::new().unwrap();
    let secret = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode([3u8; 32])
    };
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(repo_root())
        .arg("serve")
        .env("SWITCHBOARD_SERVER__LISTEN", listen.to_string())
        .env("SWITCHBOARD_SERVER__PUBLIC_URL", public)
        .env("SWITCHBOARD_MATTERMOST__URL", sim.url().as_str())
        .env("SWITCHBOARD_MATTERMOST__TOKEN", sim.bot_token())
        .env("SWITCHBOARD_SIGNING__KEYS", format!("k1:{secret}"))
        .env_remove("SWITCHBOARD_STORE__URL")
        // A CI runner inside a Kubernetes pod must not turn these into lease-mode replicas.
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_API_URL")
        .envs(extra.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    Served { child, log }
}

/// Waits (20 s at most) until `served`, listening on `listen`, answers `/readyz` with 200.
pub async fn wait_until_ready(served: &Served, listen: std::net::SocketAddr) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ready = http
            .get(format!("http://{listen}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "serve did not become ready: {}",
            served.logged()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `n` deploy runs have ended (✅ or ❌).
pub async fn wait_for_ended_deploy_runs(sim: &Simulator, n: usize) {
    // The run's outcome (✅, or ❌ where the relative `routes` dir misplaces deploy.sh: the
    // exec path resolution is fixed on its own branch) is not what these tests are about: how
    // many runs a state starts is.
    wait_for_ended_deploys(sim, n, |p| !p.message.starts_with('⏳')).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_from_the_repository_runs_a_replayed_deploy_state_once() {
    let sim = spawn_sim().await;
    let listen = free_addr();
    let served = serve_from_repo(&sim, listen, &format!("http://{listen}"), &[]).await;

    let world = sim.world();
    world
        .execute_command("alice", "main", "town-square", "/deploy staging")
        .await
        .unwrap();
    let dialog = world.opened_dialogs().pop().expect("a dialog opened");
    let good = object(json!({"version": "v9.9.9", "env": "staging"}));
    let answer = world
        .submit_dialog("alice", "main", "town-square", &dialog, good.clone(), false)
        .await
        .unwrap();
    assert!(answer.get("error").is_none(), "{answer}");
    wait_for_ended_deploy_runs(&sim, 1).await;
    for _ in 0..3 {
        let answer = world
            .submit_dialog("alice", "main", "town-square", &dialog, good.clone(), false)
            .await
            .unwrap();
        assert_eq!(answer["error"], "This dialog was already submitted.");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(deploy_runs(&sim).len(), 1, "{:#?}", deploy_runs(&sim));
    let logged = served.logged();
    assert!(
        logged.contains("single-use token was sent again"),
        "the replay is logged: {logged}"
    );
}
