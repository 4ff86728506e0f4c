//! The hostile-input corpus (`tests/hostile/cases.toml`): every case sent as raw bytes to a
//! running Switchboard with the shipped routes; each gets its expected status and, unless it
//! is a genuine command, leaves no trace: no program ran, nothing was written to Mattermost.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

#[derive(Debug, Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_b64: Option<String>,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    times: usize,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    chunk_bytes: usize,
    #[serde(default)]
    chunks: usize,
    #[serde(default)]
    no_length: bool,
    expect: u16,
    #[serde(default)]
    ran: bool,
    #[serde(default)]
    body_contains: Option<String>,
    #[serde(default)]
    body_lacks: Option<String>,
}

impl Case {
    fn body(&self, fill: &dyn Fn(&str) -> String) -> Vec<u8> {
        if let Some(b64) = &self.body_b64 {
            return base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("body_b64 is base64");
        }
        if let Some(body) = &self.body {
            return fill(body).into_bytes();
        }
        if self.chunks > 0 {
            let chunk = format!(
                "{:x}\r\n{}\r\n",
                self.chunk_bytes,
                "A".repeat(self.chunk_bytes)
            );
            return chunk.repeat(self.chunks).into_bytes();
        }
        let mut body = fill(&self.prefix);
        body.push_str(&self.repeat.repeat(self.times));
        body.push_str(&fill(&self.suffix));
        body.into_bytes()
    }

    fn request(&self, fill: &dyn Fn(&str) -> String) -> Vec<u8> {
        let body = self.body(fill);
        if let Some(raw) = &self.raw {
            let raw = fill(raw);
            let (head, tail) = raw.split_once("{BODY}").unwrap_or((&raw, ""));
            let mut out = head.as_bytes().to_vec();
            if raw.contains("{BODY}") {
                out.extend_from_slice(&body);
                out.extend_from_slice(tail.as_bytes());
            }
            return out;
        }
        let method = self.method.as_deref().expect("method or raw");
        let path = fill(self.path.as_deref().expect("path or raw"));
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: switchboard\r\n");
        for header in &self.headers {
            head.push_str(&fill(header));
            head.push_str("\r\n");
        }
        if !self.no_length && (method != "GET" || !body.is_empty()) {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&body);
        out
    }
}

/// Sends `request` and reads the answer: its status (0 when the connection closed without
/// one) and body text.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (413, 431) and close before taking everything: ignore that.
    let _ = stream.write_all(request).await;
    let _ = stream.flush().await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if complete(&answer) {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Whether `answer` holds a whole response (head and a Content-Length body).
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    body.len() >= length
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_case_gets_its_status_and_nothing_runs() {
    let corpus: Corpus = toml::from_str(
        &std::fs::read_to_string(repo_root().join("tests/hostile/cases.toml")).unwrap(),
    )
    .unwrap();
    assert!(corpus.case.len() >= 30, "the corpus is complete");

    // The shipped routes, with the deploy script replaced by one that leaves a marker.
    let dir = tempfile::tempdir().unwrap();
    let source = repo_root().join("routes");
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    // The webhook routes' sample bodies.
    std::fs::create_dir_all(dir.path().join("samples")).unwrap();
    for entry in std::fs::read_dir(source.join("samples")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            dir.path().join("samples").join(entry.file_name()),
        )
        .unwrap();
    }
    let marker = dir.path().join("scripts/RAN");
    let script = dir.path().join("scripts/deploy.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

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
    let token = world
        .commands("main")
        .into_iter()
        .find(|c| c.trigger == "hello")
        .unwrap()
        .token;
    let team = world.team_id("main").unwrap();
    let junk = "a".repeat(100_000);
    let fill = |text: &str| {
        text.replace("{TOKEN}", &token)
            .replace("{TEAM}", &team)
            .replace("{JUNK_100K}", &junk)
    };

    let mut failures = Vec::new();
    for case in &corpus.case {
        world.clear_requests();
        let (status, body) = exchange(app.addr, &case.request(&fill)).await;
        if status != case.expect {
            failures.push(format!(
                "{}: expected {}, got {status} {:?}",
                case.name,
                case.expect,
                body.chars().take(200).collect::<String>()
            ));
        }
        if let Some(wanted) = &case.body_contains
            && !body.contains(wanted.as_str())
        {
            failures.push(format!("{}: answer lacks {wanted:?}: {body}", case.name));
        }
        if let Some(unwanted) = &case.body_lacks
            && body.contains(unwanted.as_str())
        {
            failures.push(format!("{}: answer has {unwanted:?}: {body}", case.name));
        }
        if !case.ran {
            let writes = world.write_requests();
            if !writes.is_empty() {
                failures.push(format!("{}: wrote to Mattermost: {writes:?}", case.name));
            }
        }
        if marker.exists() {
            failures.push(format!("{}: a program ran", case.name));
            let _ = std::fs::remove_file(&marker);
        }
    }
    // Still serving real callbacks after all of it.
    assert_eq!(app.readyz().await, 200);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
