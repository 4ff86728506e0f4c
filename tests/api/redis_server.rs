//! A throwaway `redis-server` for tests: on a free loopback port, in a temporary directory,
//! nothing saved, killed when dropped.
//!
//! When `redis-server` is not installed the tests that need it are reported as skipped (a line
//! on stderr) — unless `TEST_REDIS_SERVER=required` (set by `.ci/run`), which makes them
//! fail instead, so CI never passes without running them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server.
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

const INSTALL_HINT: &str = "redis-server is not installed: `apt-get install redis-server` \
     (Debian/Ubuntu) or `brew install redis`, or unset TEST_REDIS_SERVER to skip";

impl RedisServer {
    /// Starts one; `None` (with a "skipped" line naming `test`) when redis-server is absent and
    /// not required.
    pub fn start(test: &str) -> Option<RedisServer> {
        Self::start_with(test, &[])
    }

    /// Like [`RedisServer::start`], with extra `redis-server` arguments (e.g. `--requirepass`).
    pub fn start_with(test: &str, extra: &[&str]) -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            if std::env::var("TEST_REDIS_SERVER").as_deref() == Ok("required") {
                panic!("{test}: {INSTALL_HINT}");
            }
            eprintln!("SKIPPED {test}: {INSTALL_HINT}");
            return None;
        }
        // A few attempts: the free port may be taken between choosing and binding it.
        for _ in 0..5 {
            if let Some(server) = Self::spawn(free_port(), extra) {
                return Some(server);
            }
        }
        panic!("{test}: redis-server did not start");
    }

    /// Starts one again on `port` (the port of one that was dropped), as after an outage.
    pub fn start_on(port: u16) -> RedisServer {
        for _ in 0..50 {
            if let Some(server) = Self::spawn(port, &[]) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server did not start again on {port}");
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(port: u16, extra: &[&str]) -> Option<RedisServer> {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--protected-mode",
                    "yes",
                ])
                .args(extra)
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if ping(port) {
                    return Some(RedisServer {
                        child,
                        port,
                        _dir: dir,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        None
    }

    /// `redis://127.0.0.1:<port>/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    // "+PONG", or "-NOAUTH …" from a server that wants a password: either way it is up.
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && (&buf == b"+PONG\r\n" || buf.starts_with(b"-NOAUTH"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
