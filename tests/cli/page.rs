//! The page `switchboard dev` serves and its JSON API, over HTTP from outside, as the
//! browser uses them: the binary from the repository root, input piped and kept open.
//! (The page itself in Chromium: `tests/browser`.)

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::switchboard;

/// `switchboard dev` running until dropped, and its page's URL.
struct Dev {
    child: Child,
    url: String,
}

impl Dev {
    fn start() -> Dev {
        let mut child = switchboard(&["dev"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Open ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        Dev { child, url }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `GET url`'s JSON answer.
async fn get_json(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let response = http.post(url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[test]
fn the_page_is_served_and_its_api_acts_as_the_chosen_user() {
    let dev = Dev::start();
    assert!(dev.url.starts_with("http://127.0.0.1:"), "{}", dev.url);
    runtime().block_on(async {
        let http = reqwest::Client::new();
        let page = http.get(&dev.url).send().await.unwrap();
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            page.text()
                .await
                .unwrap()
                .contains("<script src=\"/app.js\"")
        );

        let world: Value = get_json(&http, format!("{}api/world", dev.url)).await;
        let users: Vec<&str> = world["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap())
            .collect();
        assert_eq!(users, ["switchboard", "alice", "bob", "carol", "dave"]);
        assert!(
            world["users"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["token"].as_str().is_some_and(|t| t.len() == 26))
        );
        let carol = &world["users"][3];
        assert_eq!(carol["system_admin"], json!(true));
        let hello = world["commands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["trigger"] == "hello")
            .unwrap();
        assert_eq!(hello["hint"], "[text to repeat]");

        // Live updates: what bob's command does arrives on the event stream.
        let mut events = http
            .get(format!("{}api/events", dev.url))
            .send()
            .await
            .unwrap();
        let (status, _) = post(
            &http,
            format!("{}api/type", dev.url),
            json!({"user": "bob", "channel": "off-topic", "text": "/hello from the page"}),
        )
        .await;
        assert_eq!(status, 200);
        let mut seen = String::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(seen.contains("\"type\":\"integration\"")
            && seen.contains("You said: from the page"))
        {
            assert!(Instant::now() < deadline, "{seen}");
            let chunk = tokio::time::timeout(Duration::from_secs(20), events.chunk())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(seen.contains("Hello, @bob!"), "{seen}");
        assert!(seen.contains("\"kind\":\"slash command\""), "{seen}");

        // A message posts to the channel, as that user.
        let (status, _) = post(
            &http,
            format!("{}api/type", dev.url),
            json!({"user": "dave", "channel": "town-square", "text": "hello **all**"}),
        )
        .await;
        assert_eq!(status, 200);
        let posts: Value =
            get_json(&http, format!("{}api/posts?channel=town-square", dev.url)).await;
        let dave = world["users"][4]["id"].as_str().unwrap();
        assert!(
            posts["posts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["message"] == "hello **all**" && p["user_id"] == dave),
            "{posts}"
        );
    });
}

#[test]
fn the_page_answers_only_requests_addressed_to_a_loopback_name() {
    let dev = Dev::start();
    runtime().block_on(async {
        let http = reqwest::Client::new();
        let typed = format!("{}api/type", dev.url);
        let port = dev
            .url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .to_owned();
        // A page elsewhere whose DNS name was pointed at 127.0.0.1 (DNS rebinding) sends its
        // own name as the Host: refused, and nothing typed.
        for host in [
            "evil.example.com",
            "evil.example.com:80",
            "127.0.0.1.evil.example",
        ] {
            let response = http
                .post(typed.clone())
                .header("host", host)
                .json(&json!({"user": "alice", "channel": "town-square", "text": "rebound"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 421, "{host}");
            let world = http
                .get(format!("{}api/world", dev.url))
                .header("host", host)
                .send()
                .await
                .unwrap();
            assert_eq!(world.status().as_u16(), 421, "{host}");
        }
        let posts: Value =
            get_json(&http, format!("{}api/posts?channel=town-square", dev.url)).await;
        assert!(!posts.to_string().contains("rebound"), "{posts}");
        // The names a browser on this machine uses are served.
        for host in [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            "LOCALHOST".to_owned(),
        ] {
            let page = http
                .get(&dev.url)
                .header("host", &host)
                .send()
                .await
                .unwrap();
            assert_eq!(page.status().as_u16(), 200, "{host}");
        }
    });
}

#[test]
fn a_form_on_another_site_cannot_post_to_the_page_api() {
    let dev = Dev::start();
    runtime().block_on(async {
        let http = reqwest::Client::new();
        let origin = dev.url.trim_end_matches('/').to_owned();
        let upload = format!(
            "{}api/upload?user=alice&channel=town-square&name=forged.txt",
            dev.url
        );
        // What a browser sends for a plain HTML form (or a sandboxed frame) on another page:
        // no preflight is needed for it, so only these headers tell it apart.
        for (name, value) in [
            ("origin", "http://evil.example"),
            ("origin", "null"),
            ("origin", "http://127.0.0.1:1"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
        ] {
            let response = http
                .post(&upload)
                .header("content-type", "text/plain")
                .header(name, value)
                .body("forged")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 403, "{name}: {value}: {body}");
            assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("only from the page")),
                "{body}"
            );
            let typed = http
                .post(format!("{}api/type", dev.url))
                .header(name, value)
                .json(&json!({"user": "alice", "channel": "town-square", "text": "forged"}))
                .send()
                .await
                .unwrap();
            assert_eq!(typed.status().as_u16(), 403, "{name}: {value}");
        }
        let posts: Value =
            get_json(&http, format!("{}api/posts?channel=town-square", dev.url)).await;
        assert!(!posts.to_string().contains("forged"), "{posts}");
        // The page itself (its own origin) still uploads and types.
        let response = http
            .post(&upload)
            .header("content-type", "application/octet-stream")
            .header("origin", &origin)
            .header("sec-fetch-site", "same-origin")
            .body("mine")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let typed = http
            .post(format!("{}api/type", dev.url))
            .header("origin", &origin)
            .json(&json!({"user": "alice", "channel": "town-square", "text": "from the page"}))
            .send()
            .await
            .unwrap();
        assert_eq!(typed.status().as_u16(), 200);
    });
}

#[test]
fn the_page_api_refuses_bad_input_with_a_clear_error() {
    let dev = Dev::start();
    runtime().block_on(async {
        let http = reqwest::Client::new();
        let typed = format!("{}api/type", dev.url);
        let (status, body) = post(&http, typed.clone(), json!({"user": "mallory", "channel": "town-square", "text": "hi"})).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["error"].as_str().unwrap().contains("mallory"), "{body}");
        let (status, _) = post(&http, typed.clone(), json!({"user": "bob", "channel": "town-square", "text": "  "})).await;
        assert_eq!(status, 400);
        // dave is not in the private ~leads: Mattermost's permission error, not a 500.
        let (status, body) = post(&http, typed.clone(), json!({"user": "dave", "channel": "leads", "text": "let me in"})).await;
        assert_eq!(status, 422, "{body}");
        let response = http.post(typed.clone()).header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert!(response.status().is_client_error(), "{}", response.status());
        let missing = http.get(format!("{}api/posts?channel=nowhere", dev.url)).send().await.unwrap();
        assert_eq!(missing.status().as_u16(), 404);

        // A dialog is answered only by the user it was opened for.
        let (status, _) = post(&http, typed.clone(), json!({"user": "alice", "channel": "town-square", "text": "/deploy"})).await;
        assert_eq!(status, 200);
        let world: Value = get_json(&http, format!("{}api/world", dev.url)).await;
        let dialog = world["dialogs"][0]["id"].as_str().unwrap().to_owned();
        let answer = format!("{}api/dialog", dev.url);
        let (status, body) = post(&http, answer.clone(), json!({"user": "bob", "channel": "town-square", "dialog_id": dialog, "submission": {"version": "v1.0.0", "env": "staging"}})).await;
        assert_eq!(status, 403, "{body}");
        let (status, _) = post(&http, answer.clone(), json!({"user": "alice", "channel": "town-square", "dialog_id": "nope", "submission": {}})).await;
        assert_eq!(status, 404);
        // The route's own validation comes back as field errors; the dialog stays open.
        let (status, body) = post(&http, answer.clone(), json!({"user": "alice", "channel": "town-square", "dialog_id": dialog, "submission": {"version": "1.0", "env": "staging"}})).await;
        assert_eq!(status, 200);
        assert_eq!(body["closed"], json!(false), "{body}");
        assert!(body["reply"]["errors"]["version"].is_string(), "{body}");

        // A click on an action that does not exist is refused by the simulator, not a 500.
        let (status, _) = post(&http, format!("{}api/click", dev.url), json!({"user": "alice", "post_id": "x", "action_id": "y"})).await;
        assert_eq!(status, 422);
    });
}

#[test]
fn dev_stops_at_end_of_input_while_a_page_listens_for_updates() {
    let mut dev = Dev::start();
    runtime().block_on(async {
        let http = reqwest::Client::new();
        // An open page: its event stream never ends by itself.
        let mut events = http
            .get(format!("{}api/events", dev.url))
            .send()
            .await
            .unwrap();
        drop(dev.child.stdin.take()); // end of input
        let start = Instant::now();
        let status = loop {
            if let Some(status) = dev.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "dev did not stop while a page was open"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success());
        // The stream ended with it.
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(Some(_)) = events.chunk().await {}
        })
        .await;
        assert!(end.is_ok());
    });
}
