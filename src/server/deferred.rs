//! Deadlines and deferred replies.
//!
//! Mattermost waits at most 30 s for any callback, and older servers let a trigger id open a
//! dialog for only 3 s. So a handler gets a budget (`[callbacks] budget_ms`, default 2.5 s):
//! if it is done in time its answer is the callback's answer; if not, the callback is
//! acknowledged at once and the handler's answer is delivered later by the kind's own path
//! (`response_url` for slash commands, the REST API for the rest).
//!
//! The handler is first polled once inline: most answers (a rendered template, a refusal) need
//! no I/O and are ready at once, and then no task is spawned and no timer armed. A handler that
//! is not ready continues as a task on the state's `TaskTracker` (`AppState::background`), so
//! a late one keeps going after the HTTP answer and shutdown waits for it, within
//! `[server] shutdown_grace_secs` (what is still running then is counted in the log).
//! Hand-over is race free: on timeout the receiver is closed and drained once, so an answer is
//! either taken inline or, if the task finds the receiver closed, delivered late — never both,
//! never neither. A panic is caught whether it happens in the inline poll or in the task.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::oneshot;
use tracing::Instrument as _;

use super::state::AppState;
use crate::integrations::BoxFuture;

/// How a budgeted run ended.
#[derive(Debug)]
pub(crate) enum Outcome<T> {
    /// Finished within the budget: answer with it.
    Now(T),
    /// Still running: acknowledge; the late path will deliver.
    Deferred,
    /// The handler panicked (logged): answer with an apology.
    Lost,
}

/// Runs `work`: inline when it is ready on its first poll, else on the background tracker,
/// waiting for it at most the callback budget. If it finishes later, `late` gets its output
/// and says whether the answer reached the user. `kind` and `route` label the metrics: a
/// deadline miss when the budget runs out, a delivered/failed deferred reply afterwards.
pub(crate) async fn run<T, W, L>(
    state: &AppState,
    kind: &'static str,
    route: &str,
    work: W,
    late: L,
) -> Outcome<T>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
{
    run_extended(state, kind, route, work, late, || {
        Box::pin(std::future::ready(Duration::ZERO))
    })
    .await
}

/// Like [`run`], but when the budget runs out `extend` is asked how much longer the answer
/// is still worth waiting for inline (e.g. only Mattermost may apply it); zero defers at once.
pub(crate) async fn run_extended<T, W, L, E>(
    state: &AppState,
    kind: &'static str,
    route: &str,
    work: W,
    late: L,
    extend: E,
) -> Outcome<T>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
    E: FnOnce() -> BoxFuture<'static, Duration>,
{
    // The budget counts from here, so a slow first poll uses it up too.
    let deadline = tokio::time::Instant::now() + state.settings.callbacks.budget();
    let mut work = Box::pin(work);
    // One inline poll; a panic in it is caught like one in the task (the boxed future is
    // dropped, never polled again, so observing it after the unwind is sound).
    let first = std::future::poll_fn(|cx| {
        Poll::Ready(catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))))
    })
    .await;
    match first {
        Ok(Poll::Ready(out)) => return Outcome::Now(out),
        Ok(Poll::Pending) => {}
        Err(_) => {
            tracing::error!("handler panicked");
            return Outcome::Lost;
        }
    }
    let (tx, mut rx) = oneshot::channel::<T>();
    let span = tracing::Span::current();
    let late_route = route.to_owned();
    state.background.spawn(
        async move {
            let out = work.await;
            if let Err(out) = tx.send(out) {
                tracing::info!("handler finished after the budget; delivering its answer late");
                let delivered = late(out).await;
                crate::metrics::deferred_reply(kind, &late_route, delivered);
            }
        }
        .instrument(span),
    );
    let mut waited = tokio::time::timeout_at(deadline, &mut rx).await;
    if waited.is_err() {
        let more = extend().await;
        if !more.is_zero() {
            tracing::info!(
                extra_ms = u64::try_from(more.as_millis()).unwrap_or(u64::MAX),
                "handler over budget; still answering inline"
            );
            waited = tokio::time::timeout(more, &mut rx).await;
        }
    }
    match waited {
        Ok(Ok(out)) => Outcome::Now(out),
        Ok(Err(_)) => {
            tracing::error!("handler panicked");
            Outcome::Lost
        }
        Err(_) => {
            rx.close();
            match rx.try_recv() {
                Ok(out) => Outcome::Now(out),
                Err(_) => {
                    tracing::info!(
                        budget_ms = state.settings.callbacks.budget_ms,
                        "handler over budget; acknowledged, answer follows"
                    );
                    crate::metrics::deadline_missed(kind, route);
                    Outcome::Deferred
                }
            }
        }
    }
}
