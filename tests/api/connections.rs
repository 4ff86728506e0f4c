//! Slow and silent clients: the header-read and idle timeouts, the connection limit, and a
//! shutdown that does not wait for half-sent requests (in process and through the binary).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

async fn start_with(configure: impl FnOnce(&mut switchboard::config::Settings)) -> TestApp {
    let sim = spawn_sim().await;
    let mut settings = settings(
        sim.url().as_str(),
        &sim.bot_token(),
        &["main"],
        &repo_root().join("routes"),
    );
    configure(&mut settings);
    let app = spawn_app(settings).await;
    // The simulator must outlive the test's use of the app.
    std::mem::forget(sim);
    app
}

/// Whether the server closed `stream` within `limit` (a read returns end of file or an
/// error); false when it is still open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

const PARTIAL_HEAD: &[u8] = b"POST /commands/hello HTTP/1.1\r\nHost: x\r\nContent-Type: appl";

#[tokio::test]
async fn slow_and_silent_clients_are_disconnected_after_the_header_timeout() {
    let app = start_with(|s| {
        s.server.header_read_timeout_secs = 1;
        s.server.idle_timeout_secs = 3;
    })
    .await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(PARTIAL_HEAD).await.unwrap();
    // Trickling a byte now and then does not keep a slowloris connection alive.
    let trickle = async {
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow.write_all(b"i").await.is_err() {
                break;
            }
        }
    };
    trickle.await;
    assert!(
        closed_within(&mut slow, Duration::from_secs(2)).await,
        "slowloris kept"
    );
    assert!(
        closed_within(&mut silent, Duration::from_secs(2)).await,
        "silent kept"
    );

    // A kept-alive connection outlives the header timeout between requests, then the idle
    // timeout closes it.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        !closed_within(&mut kept, Duration::from_millis(1800)).await,
        "closed at the header timeout while idle"
    );
    assert!(
        closed_within(&mut kept, Duration::from_secs(3)).await,
        "idle kept"
    );
    app.stop().await;
}

#[tokio::test]
async fn idle_connections_beyond_the_limit_do_not_stop_real_callbacks() {
    let app = start_with(|s| {
        s.server.max_connections = 8;
        s.server.header_read_timeout_secs = 30;
        s.server.idle_timeout_secs = 30;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Well before any timeout, a real request gets through: idle ones made room.
    let answered = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::Client::new().get(app.url("/healthz")).send(),
    )
    .await
    .expect("a real request was starved by idle connections")
    .unwrap();
    assert_eq!(answered.status(), 200);
    let mut closed = 0;
    for stream in &mut idle {
        if closed_within(stream, Duration::from_millis(50)).await {
            closed += 1;
        }
    }
    assert!(closed >= 12, "only {closed} idle connections were closed");
    app.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_half_sent_request() {
    // On a new connection, a while after it opened and at once; and on a kept-alive one right
    // after its answer (whose bytes may still be on their way out, so it is dropped a moment
    // later, not after the header timeout).
    for (after_a_request, pause) in [(false, 400), (false, 0), (true, 0)] {
        let app = start_with(|s| {
            s.server.shutdown_grace_secs = 20;
            s.server.header_read_timeout_secs = 20;
        })
        .await;
        let mut half = TcpStream::connect(app.addr).await.unwrap();
        if after_a_request {
            half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = [0u8; 512];
            let n = half.read(&mut answer).await.unwrap();
            assert!(
                answer[..n].starts_with(b"HTTP/1.1 200"),
                "{:?}",
                &answer[..n]
            );
        }
        half.write_all(PARTIAL_HEAD).await.unwrap();
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let started = std::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), app.stop())
            .await
            .unwrap_or_else(|_| {
                panic!("shutdown waited for a half-sent request ({after_a_request}, {pause} ms)")
            });
        assert!(closed_within(&mut half, Duration::from_secs(1)).await);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{after_a_request}, {pause} ms"
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `switchboard serve` from the repository root with the shipped `config.toml` and `routes/`:
/// SIGTERM with a half-sent request on a connection exits well within the grace period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_promptly_on_sigterm_with_a_half_sent_request() {
    let sim = spawn_sim().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SWITCHBOARD_SERVER__LISTEN", &listen)
        .env("SWITCHBOARD_SERVER__PUBLIC_URL", format!("http://{listen}"))
        .env("SWITCHBOARD_MATTERMOST__URL", sim.url().to_string())
        .env("SWITCHBOARD_MATTERMOST__TOKEN", sim.bot_token())
        .env(
            "SWITCHBOARD_SIGNING__KEYS",
            "t:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: SocketAddr = listen.parse().unwrap();
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !ready {
        let _ = child.kill();
        panic!("switchboard did not start");
    }
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(PARTIAL_HEAD).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let kill = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!("no exit within 8 s of SIGTERM (the grace period is 20 s)");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
    assert!(closed_within(&mut half, Duration::from_secs(1)).await);
}
