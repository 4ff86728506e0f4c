//! The callback listener's accept loop: how long a connection may take to send a request, how
//! long it may sit idle, how many may be open, and what shutdown does to each.
//!
//! `axum::serve` has none of these knobs, and hyper's own header-read timer also runs while a
//! keep-alive connection waits between requests, so the two limits could not differ. Each
//! connection here is served by hyper (HTTP/1.1 and h2c, as `axum::serve` does) beside a
//! watchdog that knows its phase:
//!
//! | phase | ends | limit |
//! |---|---|---|
//! | waiting, nothing received (new or kept alive) | first byte | `idle_timeout_secs` (a new connection: `header_read_timeout_secs`) |
//! | a request begun, its head incomplete (slowloris) | head complete | `header_read_timeout_secs` from its first byte |
//! | request in flight | response written | `request_timeout_secs` (middleware) |
//!
//! At most `max_connections` are open; at that limit the next connection waits in the kernel's
//! backlog, and connections that are idle (nothing received) are closed at once to make room,
//! so silent sockets cannot starve real callbacks; half-sent ones last their header timeout.
//! On shutdown the listener closes, connections without a request in flight are dropped at
//! once (idle or half-sent: nobody is waiting for an answer on them), and the others finish
//! their request and close.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use futures::future::Either;
use futures::task::AtomicWaker;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::util::Oneshot;
use tower::{Service, ServiceExt as _};

use crate::config::ServerSettings;

/// In a request's extensions when [`Limits::drop_hook`] is on: closes its connection without
/// an answer (the simulator's injected connection resets).
#[derive(Debug, Clone)]
pub(crate) struct DropConnection(CancellationToken);

impl DropConnection {
    /// Closes the connection now; the request's handler is dropped with it.
    #[cfg_attr(
        not(feature = "sim"),
        expect(dead_code, reason = "only the simulator closes connections this way")
    )]
    pub(crate) fn now(&self) {
        self.0.cancel();
    }
}

/// The connection limits, from `[server]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// From a request's first byte (or a connection's opening) to its complete head.
    pub header_read_timeout: Duration,
    /// How long a connection may wait, with nothing received, for its next request.
    pub idle_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Whether each request carries a [`DropConnection`] in its extensions (the simulator's
    /// injected resets); Switchboard's own server has no use for it and skips the insert.
    pub drop_hook: bool,
}

impl Limits {
    pub(crate) fn from_settings(server: &ServerSettings) -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(server.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs.max(1)),
            max_connections: server.max_connections.max(1),
            drop_hook: false,
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true, then shuts down as the module says.
/// Returns once every connection is closed.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()>
where
    S: Service<axum::http::Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let shed = Arc::new(Notify::new());
    let stopping = CancellationToken::new();
    let connections = TaskTracker::new();
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let mut stopped = pin!(stopped);
    loop {
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached; closing idle connections, new ones wait"
                );
                // Until a connection closes, keep asking idle ones to make room (one that was
                // busy a moment ago may be idle now).
                let waited = loop {
                    shed.notify_waiters();
                    tokio::select! {
                        permit = Arc::clone(&permits).acquire_owned() => break permit.ok(),
                        () = tokio::time::sleep(SETTLE) => {}
                        () = &mut stopped => break None,
                    }
                };
                match waited {
                    Some(permit) => permit,
                    None => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: keep
                    // serving the connections we have, try again shortly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let shed = Arc::clone(&shed);
        let stopping = stopping.clone();
        connections.spawn(async move {
            serve_connection(stream, peer, app, limits, &shed, &stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!(
        open = connections.len(),
        "shutting down: listener closed; idle and half-sent connections dropped, requests in flight finishing"
    );
    stopping.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

/// The path prefix of the routes that read the peer's address (`/webhooks/{route}`).
const WEBHOOKS: &str = "/webhooks/";

/// Largest request head accepted (hyper answers 431 beyond it).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long after its last response a connection counts as quiet (see [`Phase::quiet`]).
const SETTLE: Duration = Duration::from_millis(250);

/// What the watchdog knows about one connection.
#[derive(Debug)]
struct Phase {
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// Whether any byte arrived since the connection last became idle.
    received: AtomicBool,
    /// When the connection last became idle (opened, or a response finished).
    idle_since: Mutex<Instant>,
    /// When the first byte of a not yet complete request head arrived.
    head_started: Mutex<Option<Instant>>,
}

impl Phase {
    fn new(now: Instant) -> Self {
        Phase {
            in_flight: AtomicUsize::new(0),
            received: AtomicBool::new(false),
            idle_since: Mutex::new(now),
            head_started: Mutex::new(None),
        }
    }

    fn bytes_arrived(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && !self.received.swap(true, Ordering::AcqRel)
        {
            *lock(&self.head_started) = Some(Instant::now());
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        *lock(&self.head_started) = None;
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            *lock(&self.idle_since) = Instant::now();
            self.received.store(false, Ordering::Release);
        }
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    fn idle(&self) -> bool {
        !self.busy() && !self.received.load(Ordering::Acquire)
    }

    /// Not busy, and not just finished: a response produced a moment ago may still be on its
    /// way into the socket, so a connection is dropped only once it has been quiet a while.
    fn quiet(&self) -> bool {
        !self.busy() && lock(&self.idle_since).elapsed() >= SETTLE
    }

    /// When the watchdog looks next: at this connection's deadline, and at the latest one
    /// `period` from now. Any deadline that arises later (a request head begun, a response
    /// finished) lies at least `period` after its cause, so this check comes no later than
    /// it: the phase is read only when the timer fires, and a request changes no timer.
    fn next_check(
        &self,
        limits: &Limits,
        opened: Instant,
        first_request: bool,
        now: Instant,
    ) -> Instant {
        let period = limits.header_read_timeout.min(limits.idle_timeout);
        let latest = now + period;
        self.deadline(limits, opened, first_request)
            .map_or(latest, |at| at.min(latest))
    }

    /// When this connection must be closed if nothing changes; `None` while busy.
    fn deadline(&self, limits: &Limits, opened: Instant, first_request: bool) -> Option<Instant> {
        if self.busy() {
            return None;
        }
        if let Some(started) = *lock(&self.head_started) {
            return Some(started + limits.header_read_timeout);
        }
        if first_request {
            return Some(opened + limits.header_read_timeout);
        }
        Some(*lock(&self.idle_since) + limits.idle_timeout)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve_connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    app: S,
    limits: Limits,
    shed: &Arc<Notify>,
    stopping: &CancellationToken,
) where
    S: Service<axum::http::Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let opened = Instant::now();
    let phase = Arc::new(Phase::new(opened));
    let served = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(Watched {
        inner: stream,
        phase: Arc::clone(&phase),
    });
    let kill = CancellationToken::new();
    let service = {
        let phase = Arc::clone(&phase);
        let served = Arc::clone(&served);
        let kill = kill.clone();
        hyper::service::service_fn(move |mut request: axum::http::Request<Incoming>| {
            if limits.drop_hook {
                request
                    .extensions_mut()
                    .insert(DropConnection(kill.clone()));
            }
            // The peer address, as `into_make_service_with_connect_info` gives it, for the one
            // route that reads it (`[webhook] allow_from`); other requests skip the boxed
            // insert (#12).
            if request.uri().path().starts_with(WEBHOOKS) {
                request.extensions_mut().insert(ConnectInfo(peer));
            }
            let guard = InFlight::enter(Arc::clone(&phase));
            served.store(true, Ordering::Release);
            Box::pin(Answer::new(app.clone(), request.map(Body::new), guard))
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A request head (line and headers) over 64 KiB gets 431; Mattermost sends a few hundred
    // bytes, and hyper's default would buffer ~400 KiB per connection.
    builder.http1().max_buf_size(MAX_HEAD_BYTES);
    // With upgrades: the simulated Mattermost serves its WebSocket through this loop too.
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = pin!(connection);
    // The watchdog runs as a task of its own and tells this one what to do through
    // `signals`: this task polls only the connection (and reads one atomic), however often
    // it is woken. Polling the watchdog's timer, notifications and cancellations beside the
    // connection on every wake cost each request about 1 400 instructions (#12, S1).
    let signals = Arc::new(Signals::default());
    let watchdog = Watchdog {
        phase,
        served,
        limits,
        opened,
        signals: Arc::clone(&signals),
    };
    let ended = CancellationToken::new();
    tokio::spawn(watchdog.run(Arc::clone(shed), stopping.clone(), kill, ended.clone()));
    let _ended = ended.drop_guard();
    let mut shutting_down = false;
    std::future::poll_fn(|cx| {
        signals.waker.register(cx.waker());
        let order = signals.order.load(Ordering::Acquire);
        if order & CLOSE != 0 {
            return Poll::Ready(());
        }
        if order & FINISH != 0 && !shutting_down {
            shutting_down = true;
            connection.as_mut().graceful_shutdown();
        }
        match connection.as_mut().poll(cx) {
            Poll::Ready(result) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
}

/// [`Signals::order`]: close the connection now.
const CLOSE: u8 = 1;
/// [`Signals::order`]: finish the request in flight, then close (graceful shutdown).
const FINISH: u8 = 2;

/// What a connection's watchdog tells its connection's task.
#[derive(Debug, Default)]
struct Signals {
    /// [`CLOSE`] and [`FINISH`], set by the watchdog.
    order: AtomicU8,
    /// The connection's task, woken when an order is given.
    waker: AtomicWaker,
}

impl Signals {
    fn give(&self, order: u8) {
        self.order.fetch_or(order, Ordering::AcqRel);
        self.waker.wake();
    }
}

/// One connection's watchdog (see the module docs): closes it when a limit passes, when idle
/// connections must make room, or on shutdown.
struct Watchdog {
    phase: Arc<Phase>,
    served: Arc<AtomicBool>,
    limits: Limits,
    opened: Instant,
    signals: Arc<Signals>,
}

impl Watchdog {
    /// Watches until the connection ends (`ended`) or it is told to close.
    async fn run(
        self,
        shed: Arc<Notify>,
        stopping: CancellationToken,
        kill: CancellationToken,
        ended: CancellationToken,
    ) {
        let Watchdog {
            phase,
            served,
            limits,
            opened,
            signals,
        } = self;
        let close = || signals.give(CLOSE);
        let mut shutting_down = false;
        // One timer per connection, re-armed only when it fires (see `Phase::next_check`):
        // the watchdog wakes no more than every `min(header_read, idle)` timeout and costs a
        // request nothing.
        let check = tokio::time::sleep_until(phase.next_check(&limits, opened, true, opened));
        let mut check = pin!(check);
        loop {
            tokio::select! {
                () = ended.cancelled() => return,
                () = kill.cancelled() => return close(),
                () = check.as_mut() => {
                    let now = Instant::now();
                    // Shutting down, and the last answer is out: nothing more is owed here.
                    if shutting_down && phase.quiet() {
                        return close();
                    }
                    let first_request = !served.load(Ordering::Acquire);
                    if phase.deadline(&limits, opened, first_request).is_some_and(|at| at <= now) {
                        let reason = if phase.idle() { "idle" } else { "request head not received in time" };
                        tracing::debug!(reason, "closing connection");
                        return close();
                    }
                    let next = phase.next_check(&limits, opened, first_request, now);
                    check.as_mut().reset(if shutting_down { next.min(now + SETTLE) } else { next });
                }
                () = shed.notified() => {
                    if phase.idle() && phase.quiet() {
                        tracing::debug!("closing an idle connection to make room");
                        return close();
                    }
                }
                () = stopping.cancelled(), if !shutting_down => {
                    // Idle or half-sent, and no answer on its way out (none given yet, or the
                    // last one a while ago): nobody waits for anything here.
                    if phase.quiet() || (!phase.busy() && !served.load(Ordering::Acquire)) {
                        return close();
                    }
                    // A request in flight (or a response on its way out) finishes; the
                    // connection is dropped once it is quiet (a half-sent next request is not
                    // waited for), or hyper closes it first.
                    shutting_down = true;
                    signals.give(FINISH);
                    check.as_mut().reset(Instant::now() + SETTLE);
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's answer: the service's future, and the request counted in flight until the
    /// answer is ready.
    ///
    /// Served boxed: hyper keeps the answer future in a slot of its connection, and with many
    /// keep-alive connections taking turns that slot has left the CPU's cache by the time the
    /// connection's next request is written into it (the middleware stack's future is about
    /// 700 bytes; the `async` block this replaces, holding the request and the app beside a
    /// `oneshot` of them, 1 224). A box reuses the blocks of its size that earlier answers
    /// freed, which are more often still cached. `BENCH_CACHE_SIM=1 bench/instructions.sh`:
    /// L1 data write misses per request S1 472 → 321, S3 545 → 411; instructions S1
    /// 45 209 → 45 007.
    struct Answer<F> {
        #[pin]
        future: F,
        guard: Option<InFlight>,
    }
}

/// What [`Answer`] waits for: the service called at once, or through `oneshot`.
type Called<S> = Either<
    <S as Service<axum::http::Request<Body>>>::Future,
    Pin<Box<Oneshot<S, axum::http::Request<Body>>>>,
>;

impl<S> Answer<Called<S>>
where
    S: Service<axum::http::Request<Body>>,
{
    /// The answer of `service` to `request`. Called at once when the service is ready, which
    /// the callback app always is (none of its layers holds requests back), so the request
    /// goes straight into the call; through `oneshot` otherwise, which waits for readiness
    /// with the task's waker.
    fn new(mut service: S, request: axum::http::Request<Body>, guard: InFlight) -> Self {
        let future = match service.poll_ready(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(())) => Either::Left(service.call(request)),
            _ => Either::Right(Box::pin(service.oneshot(request))),
        };
        Answer {
            future,
            guard: Some(guard),
        }
    }
}

impl<F: Future> Future for Answer<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let output = ready!(this.future.poll(cx));
        // Answered: the connection has no request in flight any more.
        this.guard.take();
        Poll::Ready(output)
    }
}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<Phase>);

impl InFlight {
    fn enter(phase: Arc<Phase>) -> Self {
        phase.request_started();
        InFlight(phase)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The socket, telling the watchdog when bytes arrive.
struct Watched {
    inner: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.phase.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
