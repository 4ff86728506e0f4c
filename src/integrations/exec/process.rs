//! Running one program: its own process group, output read as it comes and capped, the
//! group killed on timeout or once the program exits and its leftovers had their grace.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

/// argv, environment and limits of one run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment (nothing else is inherited but `PATH`, `HOME`, `LANG`, `TZ`).
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Kill the process group after this long.
    pub timeout: Duration,
    /// Most output bytes kept.
    pub output_cap: usize,
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The exit code, when the program exited by itself.
    pub exit_code: Option<i32>,
    /// Killed after the timeout.
    pub timed_out: bool,
    /// Why the program could not start.
    pub error: Option<String>,
    /// Output (stdout and stderr interleaved), at most the cap.
    pub output: String,
    /// Whether output was dropped over the cap.
    pub truncated: bool,
    /// Bytes the program wrote in all.
    pub output_bytes: usize,
    /// Wall time, in seconds.
    pub duration_secs: f64,
}

impl Outcome {
    /// Exited with 0.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.error.is_none()
    }

    /// `exit 0 in 1.2 s`, `timed out after 5 s …`, `could not start …`.
    pub fn status_line(&self) -> String {
        if let Some(error) = &self.error {
            return format!("could not start: {error}");
        }
        if self.timed_out {
            return format!(
                "timed out after {:.1} s; the process group was killed",
                self.duration_secs
            );
        }
        match self.exit_code {
            Some(code) => format!("exit {code} in {:.1} s", self.duration_secs),
            None => format!("killed by a signal after {:.1} s", self.duration_secs),
        }
    }

    /// For templates: `exec.exit_code`, `exec.output`, …
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// How long output may still arrive after the program exited (from processes it left behind
/// holding its stdout or stderr).
const LEFTOVER_OUTPUT_GRACE: Duration = Duration::from_secs(1);

/// Runs `prepared` to the end (or the timeout), sending the output so far to `updates`.
pub async fn run(prepared: &Prepared, updates: Option<&watch::Sender<String>>) -> Outcome {
    let started = Instant::now();
    let mut command = tokio::process::Command::new(&prepared.program);
    command
        .args(&prepared.args)
        .current_dir(&prepared.cwd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    for key in ["PATH", "HOME", "LANG", "TZ"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command.envs(prepared.env.iter().map(|(k, v)| (k, v)));
    let mut outcome = Outcome {
        exit_code: None,
        timed_out: false,
        error: None,
        output: String::new(),
        truncated: false,
        output_bytes: 0,
        duration_secs: 0.0,
    };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let reason = crate::integrations::shebang::start_error(&prepared.program, &e);
            outcome.error = Some(format!("{}: {reason}", prepared.program.display()));
            return outcome;
        }
    };
    let pgid = child.id();
    let (chunks_tx, mut chunks) = mpsc::channel::<Vec<u8>>(16);
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(pump(stdout, chunks_tx.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(pump(stderr, chunks_tx.clone()));
    }
    drop(chunks_tx);

    let deadline = tokio::time::Instant::now() + prepared.timeout;
    let mut kept: Vec<u8> = Vec::new();
    let mut keep = |chunk: Vec<u8>, outcome: &mut Outcome| {
        outcome.output_bytes += chunk.len();
        let room = prepared.output_cap.saturating_sub(kept.len());
        if chunk.len() > room {
            outcome.truncated = true;
        }
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if let Some(updates) = updates {
            let _ = updates.send(String::from_utf8_lossy(&kept).into_owned());
        }
    };
    let mut status = None;
    let mut pipes_open = true;
    // Once the program has exited, how long output may still arrive: something it started
    // in the background can hold its stdout open for good, and the run is over anyway.
    let mut leftovers_until = None;
    loop {
        if status.is_some() && !pipes_open {
            break;
        }
        tokio::select! {
            chunk = chunks.recv(), if pipes_open => match chunk {
                Some(chunk) => keep(chunk, &mut outcome),
                None => pipes_open = false,
            },
            exit = child.wait(), if status.is_none() => {
                status = Some(exit);
                leftovers_until = Some(tokio::time::Instant::now() + LEFTOVER_OUTPUT_GRACE);
            }
            () = tokio::time::sleep_until(leftovers_until.unwrap_or(deadline)),
                if leftovers_until.is_some() =>
            {
                // What the pipes already delivered is kept; the group is killed below.
                while let Ok(chunk) = chunks.try_recv() {
                    keep(chunk, &mut outcome);
                }
                break;
            }
            () = tokio::time::sleep_until(deadline) => {
                outcome.timed_out = true;
                kill_group(pgid);
                let _ = child.wait().await;
                break;
            }
        }
    }
    if !outcome.timed_out {
        // The leader is gone; take down anything it left running in its group.
        kill_group(pgid);
    }
    if let Some(Ok(status)) = status {
        outcome.exit_code = status.code();
    }
    outcome.output = String::from_utf8_lossy(&kept).into_owned();
    outcome.duration_secs = started.elapsed().as_secs_f64();
    outcome
}

/// Sends SIGKILL to the process group led by `pid`.
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    // ESRCH (already gone) is the normal case after a clean exit.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

async fn pump(mut pipe: impl tokio::io::AsyncRead + Unpin, out: mpsc::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if out.send(buf[..n].to_vec()).await.is_err() {
                    return;
                }
            }
        }
    }
}
