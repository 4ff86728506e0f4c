//! Tracing subscriber construction.
//!
//! [`subscriber`] builds a subscriber from a filter, a format and a sink, so tests can capture
//! output; [`init`] installs one for the process; [`init_stderr`] installs the one `serve`
//! uses: lines go to stderr through a non-blocking writer (a channel to one writer thread,
//! batched into few writes), so a request never waits for the terminal or the pipe, with ANSI
//! colours only when stderr is a terminal and `NO_COLOR` is unset. `RUST_LOG`, when set, wins over the configured
//! filter. [`error_chain`] renders an error with its causes for the one log line that
//! reports it.

use std::io::BufWriter;
use std::sync::OnceLock;

use tracing::Subscriber;
use tracing::subscriber::set_global_default;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, Registry, fmt, prelude::*};

use crate::config::LogFormat;

mod access;
mod fields;
mod json;
mod line;
pub(crate) mod request;

pub(crate) use access::callback_answered;
pub use request::record_caller;

/// Builds a subscriber writing to `sink`, without ANSI colours.
pub fn subscriber<W>(filter: &str, format: LogFormat, sink: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    build(filter, format, sink, false)
}

/// Lines queued for the log writer before new ones are dropped.
const LOG_QUEUE_LINES: usize = 16 * 1024;

/// The writer's count of lines dropped with its queue full, once [`init_stderr`] ran.
static DROPPED: OnceLock<tracing_appender::non_blocking::ErrorCounter> = OnceLock::new();

/// Log lines dropped so far because the writer's queue was full (0 before [`init_stderr`]);
/// exported as `switchboard_log_lines_dropped_total`.
pub fn dropped_log_lines() -> u64 {
    DROPPED.get().map_or(0, |count| {
        u64::try_from(count.dropped_lines()).unwrap_or(u64::MAX)
    })
}

/// Installs the process's subscriber writing to stderr off the request path (see the module
/// docs). Keep the guard until exit: dropping it flushes what is still queued. When the
/// queue is full (the reader of stderr stalled) lines are dropped rather than making
/// requests wait, and counted ([`dropped_log_lines`], a metric).
pub fn init_stderr(filter: &str, format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let ansi = colour();
    // The worker writes every queued line, then flushes: one write per batch, not per line.
    // The queue is allocated (and every slot touched) up front: tracing-appender's default
    // of 128 000 lines held 4 MiB of the idle process's 21.5 MiB. 16 384 lines cost 0.5 MiB
    // and hold a third of a second of access lines at 50 000 requests/s; the writer empties
    // the queue in batches far faster than that unless stderr itself stalls.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(true)
        .thread_name("switchboard-log")
        .finish(BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    // The first writer's count is the process's (there is one stderr writer per process).
    let _ = DROPPED.set(writer.error_counter());
    let plain = (format == LogFormat::Text && !ansi).then(|| writer.clone());
    // Access lines go to the writer directly only when its subscriber is the process's (not
    // when one was set before, e.g. by a program embedding Switchboard).
    if set_global_default(build(filter, format, writer, ansi)).is_ok()
        && let Some(plain) = plain
    {
        access::install(plain);
    }
    guard
}

fn build<W>(
    filter: &str,
    format: LogFormat,
    sink: W,
    ansi: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Text => Box::new(
            registry.with(
                fmt::layer()
                    .with_writer(sink)
                    .fmt_fields(fields::PlainFields)
                    .event_format(line::FullLine::new(LineTime))
                    .with_ansi(ansi),
            ),
        ),
        LogFormat::Json => Box::new(
            registry.with(
                fmt::layer()
                    .with_writer(sink)
                    .fmt_fields(fmt::format::JsonFields::new())
                    .event_format(json::JsonLine::new(LineTime))
                    .with_ansi(false),
            ),
        ),
    }
}

/// The time at the start of each line, as tracing-subscriber's default writes it
/// (`2026-01-31T12:34:56.123456Z`, UTC, microseconds), with the part up to the seconds
/// formatted once per second per thread: the calendar arithmetic and formatting were a sixth
/// of the cost of a callback's access line.
#[derive(Debug, Clone, Copy, Default)]
struct LineTime;

impl fmt::time::FormatTime for LineTime {
    fn format_time(&self, w: &mut fmt::format::Writer<'_>) -> std::fmt::Result {
        use std::cell::RefCell;
        use std::time::{SystemTime, UNIX_EPOCH};
        thread_local! {
            /// (Unix second, `YYYY-MM-DDTHH:MM:SS` of it).
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let Ok(since) = SystemTime::now().duration_since(UNIX_EPOCH) else {
            // Before 1970: the default timer knows how to write that.
            return fmt::time::SystemTime.format_time(w);
        };
        let (secs, micros) = (since.as_secs(), since.subsec_micros());
        SECOND.with_borrow_mut(|(second, text)| {
            if *second != secs {
                let Ok(at) = jiff::Timestamp::from_second(secs as i64) else {
                    return fmt::time::SystemTime.format_time(w);
                };
                text.clear();
                let at = at.to_zoned(jiff::tz::TimeZone::UTC);
                if at.year() > 9999 {
                    return fmt::time::SystemTime.format_time(w);
                }
                use std::fmt::Write as _;
                let _ = write!(
                    text,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    at.year(),
                    at.month(),
                    at.day(),
                    at.hour(),
                    at.minute(),
                    at.second()
                );
                *second = secs;
            }
            w.write_str(text)?;
            let mut fraction = *b".000000Z";
            let mut rest = micros;
            for digit in fraction[1..7].iter_mut().rev() {
                *digit = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            // ASCII digits: always UTF-8.
            w.write_str(std::str::from_utf8(&fraction).unwrap_or(".000000Z"))
        })
    }
}

/// Whether text logs may use ANSI colours: every sink the binary uses is standard error.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `error` and every cause below it, joined by `: ` — the one form errors are logged in,
/// once, where they are handled.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let more = inner.to_string();
        // `#[error(transparent)]` and "{0}" wrappers repeat their source's text.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = inner.source();
    }
    text
}

/// Installs `subscriber` for the whole process; a second call is ignored.
pub fn init(subscriber: Box<dyn Subscriber + Send + Sync>) {
    // Fails only if a subscriber is already set (tests, or a library user's own).
    let _ = set_global_default(subscriber);
}

/// Log lines written in a test, to assert on: a writer for a `fmt` subscriber.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    /// Everything written so far.
    pub(crate) fn text(&self) -> String {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

/// A timer that always writes the same time, so lines written two ways can be compared
/// (tests).
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedTime;

#[cfg(test)]
impl fmt::time::FormatTime for FixedTime {
    fn format_time(&self, w: &mut fmt::format::Writer<'_>) -> std::fmt::Result {
        w.write_str("2026-01-31T12:34:56.123456Z")
    }
}

/// The text lines `serve` writes to a pipe (no colours), at [`FixedTime`], into `sink`
/// (tests).
#[cfg(test)]
pub(crate) fn plain_lines(sink: Captured) -> impl Subscriber + Send + Sync {
    Registry::default().with(
        fmt::layer()
            .with_writer(sink)
            .with_ansi(false)
            .fmt_fields(fields::PlainFields)
            .event_format(line::FullLine::new(FixedTime)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(timer: impl fmt::time::FormatTime) -> String {
        let mut out = String::new();
        timer
            .format_time(&mut fmt::format::Writer::new(&mut out))
            .unwrap();
        out
    }

    #[test]
    fn line_times_read_like_the_default_timer() {
        // Two readings a moment apart agree up to the second (unless a second boundary lies
        // between them: then the next pair does); both have the default's shape.
        for _ in 0..3 {
            let (ours, default) = (formatted(LineTime), formatted(fmt::time::SystemTime));
            assert_eq!(ours.len(), default.len(), "{ours} / {default}");
            assert!(ours.ends_with('Z') && ours.as_bytes()[19] == b'.', "{ours}");
            if ours[..19] == default[..19] {
                return;
            }
        }
        panic!("the seconds never agreed");
    }
}
