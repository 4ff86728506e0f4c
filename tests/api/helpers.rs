//! `spawn_app()` and friends: start the simulator, build the *real* application against it,
//! and drive callbacks the way Mattermost sends them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Toml};
use secrecy::SecretString;
use switchboard::config::Settings;
use switchboard::integrations::load_dir;
use switchboard::server::AppState;
use switchboard::sim::Simulator;
use switchboard::startup::Application;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Logs go to the test output only when `TEST_LOG` is set.
pub fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        switchboard::telemetry::init(switchboard::telemetry::subscriber(
            "debug",
            switchboard::config::LogFormat::Text,
            std::io::stderr,
        ));
    }
}

/// The repository root (where `config.toml` and `routes/` are).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A loopback address with an OS-picked port.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Starts a simulated Mattermost.
pub async fn spawn_sim() -> Simulator {
    init_test_logging();
    Simulator::start(loopback())
        .await
        .expect("simulator starts")
}

/// Settings for a Switchboard talking to `mattermost_url` with `token`, registering in `teams`,
/// with routes from `routes_dir`. The server's address is filled in by [`spawn_app`].
pub fn settings(mattermost_url: &str, token: &str, teams: &[&str], routes_dir: &Path) -> Settings {
    let toml = format!(
        "[mattermost]\nurl = {mattermost_url:?}\nteams = {teams:?}\n[routes]\ndir = {:?}\n",
        routes_dir.display().to_string()
    );
    let figment = figment::Figment::from(Toml::string(switchboard::config::DEFAULTS))
        .merge(Toml::string(&toml));
    let mut settings = Settings::from_figment(&figment).expect("valid test settings");
    settings.mattermost.token = Some(SecretString::from(token.to_owned()));
    settings
}

/// A running Switchboard.
pub struct TestApp {
    pub addr: SocketAddr,
    #[allow(dead_code)] // for tests that inspect readiness or tokens directly
    pub state: AppState,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Builds and starts the real application on 127.0.0.1 with `settings` (listen and public URL
/// are replaced by the bound address).
pub async fn spawn_app(settings: Settings) -> TestApp {
    spawn_app_on(settings, loopback()).await
}

/// Like [`spawn_app`] on a given address (a restart binds the port its predecessor had, so
/// its callback URLs are the same).
pub async fn spawn_app_on(settings: Settings, addr: SocketAddr) -> TestApp {
    spawn_app_with(settings, addr, |app| app).await
}

/// Like [`spawn_app_on`], letting `configure` register handlers or a signer before it runs.
pub async fn spawn_app_with(
    mut settings: Settings,
    addr: SocketAddr,
    configure: impl FnOnce(Application) -> Application,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    settings.server.listen = addr;
    settings.server.public_url = format!("http://{addr}").parse().expect("url");
    let routes = load_dir(&settings.routes.dir).expect("routes load");
    let app =
        configure(Application::with_listener(settings, routes, listener).expect("app builds"));
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        state,
        http: reqwest::Client::new(),
        stop: Some(stop),
        task,
    }
}

/// Like [`spawn_app`], but every replica announces the same `public_url` (replicas behind
/// one load balancer): the commands they register are the same objects.
pub async fn spawn_replica(mut settings: Settings, public_url: &str) -> TestApp {
    let listener = tokio::net::TcpListener::bind(loopback())
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    settings.server.listen = addr;
    settings.server.public_url = public_url.parse().expect("url");
    let routes = load_dir(&settings.routes.dir).expect("routes load");
    let app = Application::with_listener(settings, routes, listener).expect("app builds");
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        state,
        http: reqwest::Client::new(),
        stop: Some(stop),
        task,
    }
}

/// The sim and an app registered in team `main` with the shipped routes, ready.
pub async fn spawn_ready() -> (Simulator, TestApp) {
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    ))
    .await;
    app.wait_ready().await;
    (sim, app)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits (at most 10 s) for `/readyz` to answer 200.
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.readyz().await == 200 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "switchboard did not become ready within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Status of `GET /readyz`.
    pub async fn readyz(&self) -> u16 {
        self.http
            .get(self.url("/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// POSTs a form body to `path` with the slash-command content type.
    pub async fn post_form(&self, path: &str, body: String) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// A slash-command form body with every field Mattermost sends.
pub fn slash_form(token: &str, team_id: &str, text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("channel_id", "c0000000000000000000000000")
        .append_pair("channel_name", "town-square")
        .append_pair("command", "/hello")
        .append_pair("response_url", "http://127.0.0.1:1/hooks/commands/x")
        .append_pair("root_id", "")
        .append_pair("team_domain", "main")
        .append_pair("team_id", team_id)
        .append_pair("text", text)
        .append_pair("token", token)
        .append_pair("trigger_id", "dHJpZ2dlcg==")
        .append_pair("user_id", "u0000000000000000000000000")
        .append_pair("user_name", "alice")
        .finish()
}

/// A simulator and a ready Switchboard serving the routes in `dir` for team `main`.
pub async fn start(dir: &std::path::Path) -> (Simulator, TestApp) {
    let sim = spawn_sim().await;
    let app = spawn_app(settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        dir,
    ))
    .await;
    app.wait_ready().await;
    (sim, app)
}
