//! Deadlines and deferred replies.
//!
//! Mattermost waits at most 30 s for any callback, and older servers let a trigger id open a
//! dialog for only 3 s. So a handler gets a budget (`[callbacks] budget_ms`, default 2.5 s):
//! if it is done in time its answer is the callback's answer; if not, the callback is
//! acknowledged at once and the handler's answer is delivered later by the kind's own path
//! (`response_url` for slash commands, the REST API for the rest).
//!
//! The handler is polled inline, in the callback's own task: most answers (a rendered
//! template, a refusal) need no I/O and are ready on the first poll, and then no timer is
//! armed. One that is not ready is polled on, inline, against one timer for the budget (an
//! API call within the budget costs no task, channel or second span). Only a handler still
//! running when the budget runs out — or when the callback is dropped, e.g. its connection
//! closed — moves to a task on the state's `TaskTracker` (`AppState::background`), so a late
//! one keeps going after the HTTP answer and shutdown waits for it, within
//! `[server] shutdown_grace_secs` (what is still running then is counted in the log).
//! Hand-over is race free: the future is owned by exactly one side at a time (the inline
//! poller, then the task), so an answer is either taken inline or delivered late — never both,
//! never neither. A panic is caught whether it happens in an inline poll or in the task.
//!
//! Measured on the bench's S2 (a `[post]`, one API call per command, `bench/instructions.sh`):
//! polling inline instead of a task and a oneshot channel per pending handler saved about
//! 7 000 of 222 000 instructions per request (3 %).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::Poll;
use std::time::Duration;

use tracing::Instrument as _;

use super::error::AppError;
use super::state::AppState;
use crate::integrations::{BoxFuture, HandlerError};

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

/// A handler's result with the context and request it borrowed, which only the late path
/// reads, boxed: the work's output is moved through several futures' outputs on its way to
/// the answer, and a pointer moves for less than the 650 bytes of a slash command's (five
/// copies per command, #12: with the route context boxed too, S1 copies 24 800 bytes per
/// request instead of 30 300, valgrind DHAT `--mode=copy`).
pub(crate) type Answered<R, C, Q> = Box<(Result<R, HandlerError>, C, Q)>;

impl<R, C, Q> Outcome<Answered<R, C, Q>> {
    /// The callback's answer, for work that hands back its handler's result with what it
    /// borrowed (context and request, which only the late path reads): the handler's answer
    /// when it finished in time; `apology()` when it failed (logged as "`kind` handler
    /// failed") or panicked; `acknowledged()` while it runs on. A handler that does not take
    /// this kind of callback is refused as [`AppError::Unsupported`].
    pub(crate) fn answer(
        self,
        kind: &'static str,
        apology: impl FnOnce() -> R,
        acknowledged: impl FnOnce() -> R,
    ) -> Result<R, AppError> {
        match self {
            Outcome::Now(answered) => match answered.0 {
                Ok(answer) => Ok(answer),
                Err(HandlerError::Unsupported(callback)) => Err(AppError::Unsupported(callback)),
                Err(e) => {
                    tracing::error!(error = %e, "{kind} handler failed");
                    Ok(apology())
                }
            },
            Outcome::Deferred => Ok(acknowledged()),
            Outcome::Lost => Ok(apology()),
        }
    }
}

/// Runs `work`: inline when it is ready on its first poll, else on the background tracker,
/// waiting for it at most the callback budget. If it finishes later, `late` gets its output
/// and says whether the answer reached the user. `kind` and `route` label the metrics: a
/// deadline miss when the budget runs out, a delivered/failed deferred reply afterwards.
pub(crate) fn run<'a, T, W, L>(
    state: &'a AppState,
    kind: &'static str,
    route: &'a str,
    work: W,
    late: L,
) -> impl Future<Output = Outcome<T>> + Send + 'a
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
{
    run_extended(state, kind, route, work, late, || {
        Box::pin(std::future::ready(Duration::ZERO))
    })
}

/// Like [`run`], but when the budget runs out `extend` is asked how much longer the answer
/// is still worth waiting for inline (e.g. only Mattermost may apply it); zero defers at once.
///
/// Not an `async fn`: the work is boxed here, when the callback's future is made, so that
/// future holds a pointer instead of the work itself (an `async fn` keeps its arguments in
/// its own state, and each caller's future keeps them again). What follows a first poll that
/// is not ready is a future of its own, boxed only then ([`wait`]). Both keep the callback's
/// future small: it is moved into its box in full, and S1's 3.4 kB were copied twice per
/// request into memory the cache did not hold.
pub(crate) fn run_extended<'a, T, W, L, E>(
    state: &'a AppState,
    kind: &'static str,
    route: &'a str,
    work: W,
    late: L,
    extend: E,
) -> impl Future<Output = Outcome<T>> + Send + 'a
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
    E: FnOnce() -> BoxFuture<'static, Duration> + Send + 'a,
{
    let mut work = Box::pin(work);
    async move {
        // The budget counts from here, so a slow first poll uses it up too.
        let started = tokio::time::Instant::now();
        // One inline poll; a panic in it is caught like one in the task (the boxed future is
        // dropped, never polled again, so observing it after the unwind is sound).
        // The first poll's output is taken before anything else is awaited, so this future
        // does not keep room for it.
        match std::future::poll_fn(|cx| {
            Poll::Ready(catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))))
        })
        .await
        {
            Ok(Poll::Ready(out)) => return Outcome::Now(out),
            Ok(Poll::Pending) => {}
            Err(_) => {
                tracing::error!("handler panicked");
                return Outcome::Lost;
            }
        }
        let held = Held {
            work: Some(work),
            late: Some(late),
            span: tracing::Span::current(),
            state,
            kind,
            route,
        };
        Box::pin(wait(held, started, extend)).await
    }
}

/// The rest of [`run_extended`] for work not ready on its first poll: polled inline until the
/// budget (perhaps extended) runs out, then handed over to a task.
async fn wait<T, W, L, E>(
    mut held: Held<'_, T, W, L>,
    started: tokio::time::Instant,
    extend: E,
) -> Outcome<T>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
    E: FnOnce() -> BoxFuture<'static, Duration>,
{
    // From here the work is held by `held`: if this future is dropped before the work is
    // done (the budget ran out, or the callback was abandoned), it continues in a task.
    let state = held.state;
    let (kind, route) = (held.kind, held.route);
    let mut deadline = started + state.settings.callbacks.budget();
    let mut extended = false;
    let mut extend = Some(extend);
    loop {
        match held.poll_until(deadline).await {
            Inline::Done(out) => return Outcome::Now(out),
            Inline::Panicked => {
                tracing::error!("handler panicked");
                return Outcome::Lost;
            }
            Inline::TimedOut => {}
        }
        let more = match extend.take() {
            Some(extend) if !extended => extend().await,
            _ => Duration::ZERO,
        };
        extended = true;
        if more.is_zero() {
            break;
        }
        tracing::info!(
            extra_ms = u64::try_from(more.as_millis()).unwrap_or(u64::MAX),
            "handler over budget; still answering inline"
        );
        deadline = tokio::time::Instant::now() + more;
    }
    tracing::info!(
        budget_ms = state.settings.callbacks.budget_ms,
        "handler over budget; acknowledged, answer follows"
    );
    crate::metrics::deadline_missed(kind, route);
    // Dropping `held` hands the work over to a task, which delivers its answer late.
    drop(held);
    Outcome::Deferred
}

/// How an inline wait ended.
enum Inline<T> {
    Done(T),
    Panicked,
    TimedOut,
}

/// A pending handler polled inline; handed to a background task when dropped unfinished.
struct Held<'a, T, W, L>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
{
    work: Option<std::pin::Pin<Box<W>>>,
    late: Option<L>,
    /// The span entered when the work was held, which the task carries on.
    span: tracing::Span,
    state: &'a AppState,
    kind: &'static str,
    route: &'a str,
}

impl<T, W, L> Held<'_, T, W, L>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
{
    /// Polls the work until it is done or `deadline` passes; a done or panicked work is
    /// dropped, so it is not handed over.
    async fn poll_until(&mut self, deadline: tokio::time::Instant) -> Inline<T> {
        let sleep = tokio::time::sleep_until(deadline);
        let mut sleep = std::pin::pin!(sleep);
        let ended = std::future::poll_fn(|cx| {
            let Some(work) = self.work.as_mut() else {
                return Poll::Ready(Inline::Panicked);
            };
            match catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
                Ok(Poll::Ready(out)) => Poll::Ready(Inline::Done(out)),
                Err(_) => Poll::Ready(Inline::Panicked),
                Ok(Poll::Pending) => match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Inline::TimedOut),
                    Poll::Pending => Poll::Pending,
                },
            }
        })
        .await;
        if !matches!(ended, Inline::TimedOut) {
            self.work = None;
            self.late = None;
        }
        ended
    }
}

impl<T, W, L> Drop for Held<'_, T, W, L>
where
    T: Send + 'static,
    W: Future<Output = T> + Send + 'static,
    L: FnOnce(T) -> BoxFuture<'static, bool> + Send + 'static,
{
    fn drop(&mut self) {
        let (Some(work), Some(late)) = (self.work.take(), self.late.take()) else {
            return;
        };
        let (kind, route) = (self.kind, self.route.to_owned());
        let task = async move {
            let out = work.await;
            tracing::info!("handler finished after the budget; delivering its answer late");
            let delivered = late(out).await;
            crate::metrics::deferred_reply(kind, &route, delivered);
        }
        .instrument(self.span.clone());
        // The callback's request context, read here rather than when the work was held: only
        // work handed to a task needs a copy. Dropping happens within the context (in the
        // callback's poll when the budget ran out; tokio's `TaskLocalFuture` drops what it
        // wraps within it when the callback is abandoned).
        match crate::telemetry::request::current() {
            Some(context) => self
                .state
                .background
                .spawn(crate::telemetry::request::scope(context, task)),
            None => self.state.background.spawn(task),
        };
    }
}
