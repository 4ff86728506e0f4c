//! A small W3C WebDriver client over reqwest (already a dependency): enough to drive headless
//! Chromium through chromedriver — navigate, find, click, type, run a script, screenshot.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// How long any wait for the page may take.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The WebDriver key code for Enter.
pub(crate) const ENTER: &str = "\u{E007}";

/// chromedriver, and the Chromium binary it drives, when both are installed.
pub(crate) fn tools() -> Option<(PathBuf, PathBuf)> {
    let driver = which("chromedriver")?;
    let chromium = which("chromium").or_else(|| which("chromium-browser"))?;
    Some((driver, chromium))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A running chromedriver and one browser session; both end on drop.
pub(crate) struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    pub(crate) shots: PathBuf,
    step: u32,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a fresh headless Chromium session;
    /// screenshots go to `target/browser-screenshots/<name>/`.
    pub(crate) async fn start(name: &str) -> Browser {
        let (driver_path, chromium) = tools().expect("chromium and chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let start = Instant::now();
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(start.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser-screenshots")
            .join(name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        let mut browser = Browser {
            driver,
            base,
            http,
            shots,
            step: 0,
            _profile: profile,
        };
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1400,900".to_owned(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let session = browser
            .call(
                "POST",
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": chromium, "args": args},
                }}}),
            )
            .await;
        let id = session["sessionId"].as_str().unwrap().to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let response = request.send().await.unwrap();
        let value: Value = response.json().await.unwrap();
        if let Some(error) = value["value"].get("error") {
            panic!(
                "WebDriver {method} {path}: {error} {}",
                value["value"]["message"]
            );
        }
        value
            .get("value")
            .cloned()
            .map_or(value, |v| if v.is_null() { json!({}) } else { v })
    }

    /// Opens `url`.
    pub(crate) async fn goto(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    /// Runs `script` (a function body; `arguments` available) and returns its result.
    pub(crate) async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Waits until `script` returns a truthy value, failing with `what` after [`WAIT`].
    pub(crate) async fn wait_until(&mut self, what: &str, script: &str) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(script, json!([])).await;
            if !(value.is_null()
                || value == json!(false)
                || value == json!("")
                || value == json!({}))
            {
                return value;
            }
            if start.elapsed() > WAIT {
                self.screenshot(&format!("timeout-{}", what.replace(' ', "-")))
                    .await;
                let text = self.eval("return document.body.innerText", json!([])).await;
                panic!("waited {WAIT:?} for {what}; the page shows:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element matching `css` (waiting for it to appear).
    pub(crate) async fn find(&mut self, css: &str) -> String {
        let start = Instant::now();
        loop {
            let url = format!("{}/element", self.base);
            let response: Value = self
                .http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = response["value"]
                .as_object()
                .and_then(|o| o.values().next())
            {
                if response["value"].get("error").is_none() {
                    return id.as_str().unwrap().to_owned();
                }
            }
            if start.elapsed() > WAIT {
                self.screenshot(&format!("missing-{}", css.replace(' ', "_")))
                    .await;
                panic!("no element {css} after {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element matching `css`.
    pub(crate) async fn click(&mut self, css: &str) {
        let id = self.find(css).await;
        self.call("POST", &format!("/element/{id}/click"), json!({}))
            .await;
    }

    /// Types `text` into the element matching `css` (real key events).
    pub(crate) async fn type_into(&mut self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Clears the element matching `css`.
    pub(crate) async fn clear(&mut self, css: &str) {
        let id = self.find(css).await;
        self.call("POST", &format!("/element/{id}/clear"), json!({}))
            .await;
    }

    /// Saves a screenshot as `NN-name.png`; returns its path.
    pub(crate) async fn screenshot(&mut self, name: &str) -> PathBuf {
        self.step += 1;
        let png = self.call("GET", "/screenshot", json!({})).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or(""))
            .unwrap();
        let path = self.shots.join(format!("{:02}-{name}.png", self.step));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session (chromedriver then stops Chromium), then chromedriver itself.
        if let Some(rest) = self.base.strip_prefix("http://") {
            if let Some((host, path)) = rest.split_once('/') {
                use std::io::{Read, Write};
                if let Ok(mut stream) = std::net::TcpStream::connect(host) {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        stream,
                        "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let mut answer = Vec::new();
                    let _ = stream.read_to_end(&mut answer);
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
