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
//!
//! Here: the action (compiled, then run for one request with its thread posts). Beside it:
//! `process` (running the program: [`run`]) and `limits` (the concurrency counts: [`Limiters`]).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use super::context::Context;
use super::exec_finish::{OutputPost, show_final};
use super::spec::ExecSpec;
use super::template::{Template, TemplateError};
use crate::mattermost::Client;
use crate::mattermost::{ChannelId, PostId};
use crate::store::StoreError;

mod limits;
mod process;

pub use limits::{Limiters, Ticket};
pub use process::{Outcome, Prepared, run};

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

#[cfg(test)]
mod tests;
