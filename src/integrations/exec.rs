//! The `exec` action: run a local program and show its output live in a thread.
//!
//! Decisions:
//! - **Never a shell.** The program is a path; each `args` entry is a template rendered into
//!   exactly one argv entry, so a user's `; rm -rf /` is one harmless argument.
//! - **A clean environment.** The child gets `PATH`, `HOME`, `LANG` and `TZ` from Switchboard,
//!   the request as `SWITCHBOARD_*` variables and the route's `env`; nothing else, so the bot
//!   token in Switchboard's environment never reaches a script.
//! - **The whole process group dies on timeout.** The child leads its own process group, and
//!   `SIGKILL` goes to the group, so a script's children cannot outlive it. The run ends when
//!   the program exits: what it left running in the background gets a second to finish its
//!   output, then the group is killed (so a daemon holding stdout cannot stretch the run to
//!   the timeout).
//! - **Bounded everything.** Output beyond `output_cap_bytes` is counted, not kept; at most
//!   `max_concurrent` runs per route, `queue` more wait, and beyond that the user is told the
//!   route is busy. The counts outlive route reloads and, with a shared store, hold across
//!   replicas ([`Limiters`]).
//! - **Live output.** The first post announces the run; a reply in its thread is edited as
//!   output arrives (at most once per `edit_interval_ms`, showing the tail) and ends with
//!   ✅/❌, the exit code and the duration. A program that cannot start is reported there.
//!   When Mattermost refuses that last edit, the status still reaches the thread (see
//!   [`exec_finish`](super::exec_finish)).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use super::context::Context;
use super::exec_finish::{OutputPost, show_final};
use super::spec::ExecSpec;
use super::template::{Template, TemplateError};
use crate::mattermost::Client;
use crate::mattermost::{ChannelId, PostId};
use crate::store::{LEASE_TTL, Lease, Store, StoreError};

/// A compiled `[exec]`.
#[derive(Debug, Clone)]
pub struct ExecAction {
    /// The program, resolved against the routes directory.
    pub program: PathBuf,
    args: Vec<Template>,
    env: Vec<(String, Template)>,
    cwd: PathBuf,
    timeout: Duration,
    output_cap: usize,
    edit_interval: Duration,
    tail_chars: usize,
    started: Template,
    /// `max_concurrent` and `queue`.
    limits: (usize, usize),
    /// The program as the route file names it, for messages users see (never the server's
    /// absolute path).
    shown_program: String,
}

impl ExecAction {
    /// Compiles the templates; `base` is the routes directory, already absolute (see
    /// [`load_dir`](super::load_dir)), so `program` and `cwd` are absolute too.
    pub fn compile(
        name: &str,
        spec: &ExecSpec,
        base: &std::path::Path,
    ) -> Result<Self, TemplateError> {
        let t = |key: &str, source: &str| Template::compile(&format!("{name}.{key}"), source);
        let m =
            |key: &str, source: &str| Template::compile_message(&format!("{name}.{key}"), source);
        Ok(ExecAction {
            program: base.join(&spec.program),
            args: spec
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| t(&format!("args[{i}]"), a))
                .collect::<Result<_, _>>()?,
            env: spec
                .env
                .iter()
                .map(|(k, v)| Ok((k.clone(), t(&format!("env.{k}"), v)?)))
                .collect::<Result<_, TemplateError>>()?,
            cwd: spec
                .cwd
                .as_ref()
                .map_or_else(|| base.to_path_buf(), |c| base.join(c)),
            timeout: Duration::from_secs(spec.timeout_secs),
            output_cap: spec.output_cap_bytes,
            edit_interval: Duration::from_millis(spec.edit_interval_ms),
            tail_chars: spec.tail_chars,
            started: m("started", &spec.started)?,
            limits: (spec.max_concurrent, spec.queue),
            shown_program: spec.program.clone(),
        })
    }

    /// Test-renders every template.
    pub fn check(&self, context: &Context) -> Result<(), TemplateError> {
        self.prepare(context)?;
        self.started.render(context)?;
        Ok(())
    }

    /// Takes a slot (or a place in the queue) for one run of this action on `route`; `None`
    /// when the route is busy. The count lives in `limiters`, which outlive route reloads.
    pub async fn admit(
        &self,
        route: &str,
        limiters: &Limiters,
    ) -> Result<Option<Ticket>, StoreError> {
        limiters.admit(route, self.limits).await
    }

    /// The immediate answer to the user.
    pub fn started_text(
        &self,
        context: &Context,
        ticket: &Ticket,
    ) -> Result<String, TemplateError> {
        let mut text = self.started.render(context)?;
        if let Ticket::Queued { ahead, .. } = ticket {
            text.push_str(&format!(" (queued: {ahead} waiting before it)"));
        }
        Ok(text)
    }

    /// Renders argv and environment for one run.
    pub fn prepare(&self, context: &Context) -> Result<Prepared, TemplateError> {
        let args = self
            .args
            .iter()
            .map(|t| t.render(context))
            .collect::<Result<Vec<_>, _>>()?;
        let mut env = request_env(context);
        for (key, template) in &self.env {
            env.push((key.clone(), template.render(context)?));
        }
        Ok(Prepared {
            program: self.program.clone(),
            args,
            env,
            cwd: self.cwd.clone(),
            timeout: self.timeout,
            output_cap: self.output_cap,
        })
    }

    /// Runs in the background (tracked by `cx`, so shutdown waits for it), showing progress
    /// in the request's channel (and thread).
    pub fn spawn_live(&self, cx: &crate::integrations::Cx, context: Context, ticket: Ticket) {
        let action = self.clone();
        let client = cx.client().clone();
        let interrupt = cx.interruption();
        // Counted in the exec gauges from now on; dropping it unfinished counts as abandoned.
        let mut job = crate::metrics::ExecJob::queued(&context.route);
        cx.spawn(async move {
            let _permit = match ticket.wait().await {
                Some(permit) => permit,
                None => return,
            };
            job.started();
            let prepared = match action.prepare(&context) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(route = %context.route, error = %e, "exec template failed");
                    return;
                }
            };
            match action
                .run_live(&client, &context, prepared, &interrupt)
                .await
            {
                Ok(outcome) => job.finished(outcome),
                Err(e) => {
                    tracing::error!(route = %context.route, error = %e, "exec progress posts failed");
                }
            }
        });
    }

    async fn run_live(
        &self,
        client: &Client,
        context: &Context,
        prepared: Prepared,
        interrupt: &tokio_util::sync::CancellationToken,
    ) -> Result<crate::metrics::ExecOutcome, crate::mattermost::Error> {
        let channel = ChannelId::new(context.channel.id.clone());
        let header = format!("⏳ `{}` started by @{}", context.route, context.user.name);
        let mut create = client.posts().create(&channel, header);
        let thread_root =
            (!context.root_id.is_empty()).then(|| PostId::new(context.root_id.clone()));
        if let Some(root) = &thread_root {
            create = create.root_id(root);
        }
        let root_post = create.send().await?;
        let thread = thread_root.unwrap_or_else(|| root_post.id.clone());
        let output_post = client
            .posts()
            .create(&channel, "_waiting for output…_")
            .root_id(&thread)
            .send()
            .await?;

        let at = OutputPost {
            route: &context.route,
            channel: &channel,
            thread: &thread,
            post: &output_post.id,
        };

        let (updates, mut seen) = watch::channel(String::new());
        let editor = {
            let client = client.clone();
            let id = output_post.id.clone();
            let interval = self.edit_interval;
            let tail = self.tail_chars;
            tokio::spawn(async move {
                while seen.changed().await.is_ok() {
                    let text = format_output(&seen.borrow_and_update(), tail, false, None);
                    if let Err(e) = client.posts().patch(&id).message(text).send().await {
                        tracing::warn!(error = %e, "editing the live output post failed");
                    }
                    tokio::time::sleep(interval).await;
                }
            })
        };
        // Cut off when the shutdown grace period is over: the thread then says so, instead
        // of "running…" for good (dropping the run kills the program).
        let outcome = tokio::select! {
            outcome = run(&prepared, Some(&updates)) => Some(outcome),
            () = interrupt.cancelled() => None,
        };
        let so_far = updates.borrow().clone();
        drop(updates);
        editor.abort();
        let _ = editor.await;
        let Some(outcome) = outcome else {
            tracing::warn!(route = %context.route, "exec job interrupted by shutdown");
            let status = "interrupted: Switchboard was stopped before it finished";
            let body = format_output(&so_far, self.tail_chars, false, Some(status));
            let header = format!(
                "⚠️ `{}` started by @{}: {status}",
                context.route, context.user.name
            );
            finish(client, at, body, &root_post.id, header).await;
            return Ok(crate::metrics::ExecOutcome::Abandoned);
        };

        let status = match &outcome.error {
            // The full error (with the server's path) goes to the log; users see the program
            // as their route names it.
            Some(error) => {
                tracing::error!(route = %context.route, %error, "exec program could not start");
                let reason = error
                    .strip_prefix(&format!("{}: ", self.program.display()))
                    .unwrap_or(error.as_str());
                format!("could not start `{}`: {reason}", self.shown_program)
            }
            None => outcome.status_line(),
        };
        let body = format_output(
            &outcome.output,
            self.tail_chars,
            outcome.truncated,
            Some(&status),
        );
        let mark = if outcome.success() { "✅" } else { "❌" };
        let header = format!(
            "{mark} `{}` started by @{}: {status}",
            context.route, context.user.name
        );
        finish(client, at, body, &root_post.id, header).await;
        use crate::metrics::ExecOutcome as Metric;
        Ok(if outcome.error.is_some() {
            Metric::SpawnError
        } else if outcome.timed_out {
            Metric::TimedOut
        } else if outcome.success() {
            Metric::Succeeded
        } else {
            Metric::Failed
        })
    }
}

/// Ends a job's thread: the output post's final text (`body`, shown another way when the
/// edit is refused, see [`show_final`]), then the header. The program has run whatever
/// happens here, so failures are logged rather than returned: the job counts by how the
/// program ended.
async fn finish(
    client: &Client,
    at: OutputPost<'_>,
    body: String,
    header_post: &PostId,
    header: String,
) {
    if let Err(error) = show_final(client, at, body).await {
        tracing::error!(%error, "an exec job's final status was not shown");
    }
    // The status is in the thread already (the output post or a reply); a header left at
    // "⏳ started" is only untidy.
    if let Err(error) = client
        .posts()
        .patch(header_post)
        .message(header)
        .send()
        .await
    {
        tracing::warn!(route = at.route, post = %header_post, %error, "editing an exec job's header failed");
    }
}

/// The request as environment variables.
fn request_env(context: &Context) -> Vec<(String, String)> {
    let mut env = vec![
        ("SWITCHBOARD_ROUTE".into(), context.route.clone()),
        ("SWITCHBOARD_USER_ID".into(), context.user.id.clone()),
        ("SWITCHBOARD_USER_NAME".into(), context.user.name.clone()),
        ("SWITCHBOARD_CHANNEL_ID".into(), context.channel.id.clone()),
        (
            "SWITCHBOARD_CHANNEL_NAME".into(),
            context.channel.name.clone(),
        ),
        ("SWITCHBOARD_TEAM_ID".into(), context.team.id.clone()),
        ("SWITCHBOARD_TEAM_NAME".into(), context.team.name.clone()),
        ("SWITCHBOARD_TEXT".into(), context.text.clone()),
    ];
    let var = |prefix: &str, key: &str| {
        format!(
            "SWITCHBOARD_{prefix}_{}",
            key.to_ascii_uppercase().replace('-', "_")
        )
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    for (key, value) in &context.args {
        env.push((var("ARG", key), text(value)));
    }
    for (key, value) in &context.submission {
        env.push((var("FIELD", key), text(value)));
    }
    for (key, value) in &context.captures {
        env.push((var("CAPTURE", key), value.clone()));
    }
    env
}

/// Characters of a live output post kept for what surrounds the output (the notes, the
/// fence, the status line), so that the post stays within Mattermost's limit whatever
/// `tail_chars` is.
const OUTPUT_POST_FRAME_CHARS: usize = 1000;

/// The post text: the output's tail in a code block, and the status when finished. At most
/// a post's length (`POST_MESSAGE_MAX_CHARS`): Mattermost refuses a longer edit, which would
/// leave the thread showing "running…" for good.
fn format_output(output: &str, tail_chars: usize, truncated: bool, status: Option<&str>) -> String {
    // The fence escape below adds at most one character per three: a tail of this many
    // characters fits whatever the output holds. Cut before escaping, never after, so that
    // the cut cannot leave a bare fence that would end our code block.
    let fits = (crate::protocol::POST_MESSAGE_MAX_CHARS - OUTPUT_POST_FRAME_CHARS) / 4 * 3;
    let tail_chars = tail_chars.min(fits);
    let count = output.chars().count();
    let shown: String = if count > tail_chars {
        output.chars().skip(count - tail_chars).collect()
    } else {
        output.to_owned()
    };
    // A fence inside the output would end our code block early.
    let shown = shown.replace("```", "`\u{200b}``");
    let mut text = String::new();
    if count > tail_chars {
        text.push_str("_…earlier output not shown_\n");
    }
    if shown.trim().is_empty() {
        text.push_str("_no output_");
    } else {
        text.push_str("```\n");
        text.push_str(shown.trim_end_matches('\n'));
        text.push_str("\n```");
    }
    if truncated {
        text.push_str("\n_output over the cap was dropped_");
    }
    match status {
        Some(status) => {
            let mark = if status.starts_with("exit 0 ") {
                "✅"
            } else {
                "❌"
            };
            text.push_str(&format!("\n{mark} {status}"));
        }
        None => text.push_str("\n⏳ running…"),
    }
    text
}

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
            let reason = super::shebang::start_error(&prepared.program, &e);
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

/// The concurrency limits of every route's exec runs, kept in the [`Store`]: so they outlive
/// route reloads (runs started before a reload still count after it) and, with a shared store,
/// hold across replicas. Keyed by route and limits: changing `max_concurrent` or `queue` starts
/// a fresh count (the runs already going finish under the old one).
///
/// A slot or queue place is a lease renewed while it is held (see [`crate::store`]), so a
/// replica that dies frees its places within [`LEASE_TTL`]. A queued run takes a slot when one
/// is given back in this process, or at its next poll otherwise; waiting runs are not served in
/// strict order.
#[derive(Debug, Clone, Default)]
pub struct Limiters {
    store: Store,
}

/// How often a queued run looks for a slot freed elsewhere (another replica, or expired).
const QUEUE_POLL: Duration = Duration::from_millis(250);

impl Limiters {
    /// Limits counted in `store`.
    pub fn new(store: Store) -> Self {
        Limiters { store }
    }

    fn keys(&self, route: &str, (max, queue): (usize, usize)) -> (String, String) {
        let id = format!("{route}:{max}:{queue}");
        (
            self.store.key("exec_running", &id),
            self.store.key("exec_queued", &id),
        )
    }

    async fn admit(
        &self,
        route: &str,
        (max, queue): (usize, usize),
    ) -> Result<Option<Ticket>, StoreError> {
        let (running, queued) = self.keys(route, (max, queue));
        let holder = crate::store::holder_id();
        let max = max.max(1);
        if let Lease::Granted { .. } = self.store.lease(&running, &holder, max, LEASE_TTL).await? {
            return Ok(Some(Ticket::Running(Permit::hold(
                &self.store,
                running,
                holder,
            ))));
        }
        match self.store.lease(&queued, &holder, queue, LEASE_TTL).await? {
            Lease::Granted { others } => Ok(Some(Ticket::Queued {
                ahead: others,
                place: Permit::hold(&self.store, queued, holder.clone()),
                slot: SlotRequest {
                    store: self.store.clone(),
                    key: running,
                    holder,
                    max,
                },
            })),
            Lease::Full => Ok(None),
        }
    }
}

/// A held slot or queue place: renewed in the background while held, given back on drop.
#[derive(Debug)]
pub struct Permit {
    store: Store,
    key: String,
    holder: String,
    renewer: tokio::task::JoinHandle<()>,
}

impl Permit {
    fn hold(store: &Store, key: String, holder: String) -> Self {
        let renewer = tokio::spawn({
            let (store, key, holder) = (store.clone(), key.clone(), holder.clone());
            async move {
                loop {
                    tokio::time::sleep(LEASE_TTL / 3).await;
                    match store.renew(&key, &holder, LEASE_TTL).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(%key, "an exec slot expired before it was renewed");
                            return;
                        }
                        Err(e) => tracing::warn!(%key, error = %e, "renewing an exec slot failed"),
                    }
                }
            }
        });
        Permit {
            store: store.clone(),
            key,
            holder,
            renewer,
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.renewer.abort();
        let (store, key, holder) = (
            self.store.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.holder),
        );
        // Without a runtime (process exit) the lease simply expires.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.unlease(&key, &holder).await {
                    tracing::warn!(%key, error = %e, "giving back an exec slot failed; it expires");
                }
            });
        }
    }
}

/// What a queued run needs to take a slot.
#[derive(Debug)]
pub struct SlotRequest {
    store: Store,
    key: String,
    holder: String,
    max: usize,
}

/// A run's admission: a slot now, or a place in the queue.
#[derive(Debug)]
pub enum Ticket {
    /// Runs at once.
    Running(Permit),
    /// Waits for a slot.
    Queued {
        /// Runs waiting before this one.
        ahead: usize,
        /// The place in the queue, given back when the wait ends.
        place: Permit,
        /// The slot it waits for.
        slot: SlotRequest,
    },
}

impl Ticket {
    /// Waits for a slot (at once when running).
    pub async fn wait(self) -> Option<Permit> {
        match self {
            Ticket::Running(permit) => Some(permit),
            Ticket::Queued { place, slot, .. } => {
                let released = slot.store.release_signal();
                loop {
                    let notified = released.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    match slot
                        .store
                        .lease(&slot.key, &slot.holder, slot.max, LEASE_TTL)
                        .await
                    {
                        Ok(Lease::Granted { .. }) => {
                            let permit = Permit::hold(&slot.store, slot.key, slot.holder);
                            drop(place);
                            return Some(permit);
                        }
                        Ok(Lease::Full) => {}
                        Err(e) => tracing::warn!(error = %e, "waiting for an exec slot"),
                    }
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep(QUEUE_POLL) => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration, cap: usize) -> Prepared {
        Prepared {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("GREETING".into(), "hi".into())],
            cwd: std::env::temp_dir(),
            timeout,
            output_cap: cap,
        }
    }

    #[tokio::test]
    async fn output_exit_code_and_environment_are_captured() {
        let outcome = run(
            &sh(
                "echo $GREETING; echo oops >&2; exit 3",
                Duration::from_secs(10),
                1024,
            ),
            None,
        )
        .await;
        assert_eq!(outcome.exit_code, Some(3));
        assert!(outcome.output.contains("hi\n"), "{outcome:?}");
        assert!(outcome.output.contains("oops\n"), "{outcome:?}");
        assert!(!outcome.success());
        assert!(outcome.status_line().starts_with("exit 3 in "));
    }

    #[tokio::test]
    async fn the_environment_is_clean() {
        // SAFETY-free: set_var is not needed; the test process already has variables such as
        // CARGO_PKG_NAME that a clean child must not see.
        let outcome = run(
            &sh("echo \"[$CARGO_PKG_NAME]\"", Duration::from_secs(10), 1024),
            None,
        )
        .await;
        assert_eq!(outcome.output, "[]\n");
    }

    #[tokio::test]
    async fn a_background_process_holding_the_output_does_not_keep_the_run_going() {
        // `sleep` inherits stdout and would hold it open for a minute; the run ends with the
        // program (exit 3, its output kept), not at the 10 s timeout.
        let outcome = run(
            &sh(
                "sleep 60 & echo started; exit 3",
                Duration::from_secs(10),
                1024,
            ),
            None,
        )
        .await;
        assert!(!outcome.timed_out, "{outcome:?}");
        assert_eq!(outcome.exit_code, Some(3));
        assert_eq!(outcome.output, "started\n");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let marker = tempfile::tempdir().unwrap();
        let file = marker.path().join("survivor");
        // The grandchild would write the file after 2 s if it survived the kill.
        let script = format!("(sleep 2; touch {}) & sleep 30", file.display());
        let outcome = run(&sh(&script, Duration::from_millis(300), 1024), None).await;
        assert!(outcome.timed_out, "{outcome:?}");
        assert!(outcome.status_line().contains("timed out"));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!file.exists(), "a grandchild outlived the timeout");
    }

    #[tokio::test]
    async fn output_over_the_cap_is_dropped_and_counted() {
        let outcome = run(
            &sh(
                "head -c 10000 /dev/zero | tr '\\0' x",
                Duration::from_secs(10),
                100,
            ),
            None,
        )
        .await;
        assert_eq!(outcome.output.len(), 100);
        assert_eq!(outcome.output_bytes, 10000);
        assert!(outcome.truncated);
    }

    #[tokio::test]
    async fn a_missing_program_is_reported() {
        let mut prepared = sh("", Duration::from_secs(1), 10);
        prepared.program = "/nonexistent/deploy".into();
        let outcome = run(&prepared, None).await;
        assert!(
            outcome
                .status_line()
                .contains("could not start: /nonexistent/deploy"),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_a_freed_slot_goes_to_the_queue() {
        let limiters = Limiters::default();
        let first = limiters.admit("r", (1, 1)).await.unwrap();
        assert!(matches!(first, Some(Ticket::Running(_))));
        let second = limiters.admit("r", (1, 1)).await.unwrap();
        assert!(matches!(second, Some(Ticket::Queued { ahead: 0, .. })));
        assert!(
            limiters.admit("r", (1, 1)).await.unwrap().is_none(),
            "a full queue refuses"
        );
        // Other limits are another count.
        assert!(limiters.admit("r", (2, 1)).await.unwrap().is_some());
        drop(first);
        let permit = tokio::time::timeout(Duration::from_secs(5), second.unwrap().wait())
            .await
            .expect("the queued run gets the freed slot")
            .expect("a slot");
        // The queue place is given back by a task spawned on drop.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            matches!(
                limiters.admit("r", (1, 1)).await.unwrap(),
                Some(Ticket::Queued { ahead: 0, .. })
            ),
            "the queue place was given back"
        );
        drop(permit);
    }

    #[test]
    fn the_post_fits_mattermosts_limit_whatever_the_output_and_tail_chars() {
        // Every backtick fence in the output is escaped with one more character: a tail near
        // the limit would otherwise grow past it and every edit of the post would be refused.
        let output = "```".repeat(6000);
        let text = format_output(&output, 16_000, true, Some("exit 0 in 0.1 s"));
        assert!(
            text.chars().count() <= crate::protocol::POST_MESSAGE_MAX_CHARS,
            "{} characters",
            text.chars().count()
        );
        assert!(
            text.starts_with("_…earlier output not shown_\n```\n"),
            "{}",
            &text[..60]
        );
        assert!(text.ends_with("\n```\n_output over the cap was dropped_\n✅ exit 0 in 0.1 s"));
    }

    #[test]
    fn the_post_shows_the_tail_and_the_status() {
        let text = format_output("line1\nline2\n", 6, false, Some("exit 0 in 0.1 s"));
        assert_eq!(
            text,
            "_…earlier output not shown_\n```\nline2\n```\n✅ exit 0 in 0.1 s"
        );
    }
}
