//! A callback's access line, `callback answered status=… outcome=… latency_ms=…`, written
//! straight to the log writer.
//!
//! [`callback_answered`] is the one place the line is logged. When lines are plain text (no
//! colours: what a service's standard error is) it puts the line together itself from its
//! parts — the time, the level, the request context as [`FullLine`](super::line::FullLine)
//! writes it, the target, the message and three fields — and hands it to the process's
//! non-blocking writer, the same bytes the tracing event would have given (a test holds the
//! two to that). What it skips is the event's way there: its dispatch through the layers,
//! a field visitor called through `dyn` for each field, and a copy through the layer's
//! per-line buffer. That way cost about 5 200 instructions per request; this one about
//! 3 100, most of it the request context's fields (#12, `bench/instructions.sh 2000`: S1
//! 48 563 → 46 450, S2 121 973 → 119 738, S3 75 061 → 73 214; `bench/ab.sh`: S1 1.04×,
//! S3 1.03×). The line is still filtered as the event would be (`RUST_LOG`, `[log]
//! filter`), and still queued with every other line, in order.
//!
//! Anything else goes through tracing as before: JSON lines, colours, a process whose
//! subscriber is not the one [`super::init_stderr`] installs (tests, a program embedding
//! Switchboard with its own), an entered span, or a request context whose values need
//! escaping.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::OnceLock;

use tracing::Level;
use tracing_appender::non_blocking::NonBlocking;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use super::fields::{decimal, push_plain_span};
use super::request;
use crate::metrics::CallbackOutcome;

/// The target the access line names: the module that answers callbacks.
const TARGET: &str = "switchboard::server::middleware";

/// The message of the access line.
const MESSAGE: &str = "callback answered";

/// The writer plain-text lines go to, once [`super::init_stderr`] installed one.
static PLAIN_WRITER: OnceLock<NonBlocking> = OnceLock::new();

/// Lets [`callback_answered`] write to `writer`, the writer of the process's plain-text
/// lines without colours. The first call wins.
pub(super) fn install(writer: NonBlocking) {
    let _ = PLAIN_WRITER.set(writer);
}

/// Logs the current request's access line at `info`.
pub(crate) fn callback_answered(status: u16, outcome: CallbackOutcome, latency_ms: u64) {
    if !write_directly(status, outcome, latency_ms) {
        event(status, outcome, latency_ms);
    }
}

/// The access line as a tracing event.
fn event(status: u16, outcome: CallbackOutcome, latency_ms: u64) {
    tracing::info!(target: TARGET, status, %outcome, latency_ms, "{MESSAGE}");
}

/// Writes the access line to the installed writer; `false`, with nothing written, when it
/// must go through tracing (see the module docs).
fn write_directly(status: u16, outcome: CallbackOutcome, latency_ms: u64) -> bool {
    let Some(installed) = PLAIN_WRITER.get() else {
        return false;
    };
    if !tracing::enabled!(target: TARGET, Level::INFO) {
        // Filtered out: nothing to write either way.
        return true;
    }
    if !tracing::Span::current().is_none() {
        // The event's line would show the span.
        return false;
    }
    thread_local! {
        /// The line being put together, and this thread's handle on the writer.
        static LINE: RefCell<(String, Option<NonBlocking>)> = const { RefCell::new((String::new(), None)) };
    }
    LINE.with_borrow_mut(|(line, writer)| {
        line.clear();
        if !put_together(line, &super::LineTime, status, outcome, latency_ms) {
            return false;
        }
        let writer = writer.get_or_insert_with(|| installed.clone());
        // Lossy: a full queue drops the line and counts it, as it does for the event's.
        let _ = writer.write_all(line.as_bytes());
        true
    })
}

/// Puts the access line together in `line` as [`FullLine`](super::line::FullLine) writes the
/// event without colours; `false` when the request context is missing or needs escaping.
fn put_together(
    line: &mut String,
    timer: &impl FormatTime,
    status: u16,
    outcome: CallbackOutcome,
    latency_ms: u64,
) -> bool {
    if timer.format_time(&mut Writer::new(line)).is_err() {
        return false;
    }
    line.push_str("  INFO ");
    let context = request::with_current(|request| {
        request.with_strs(|fields| push_plain_span(line, request.name(), fields))
    });
    if context != Some(true) {
        return false;
    }
    let mut digits = [0u8; 20];
    for part in [
        " ",
        TARGET,
        ": ",
        MESSAGE,
        " status=",
        decimal(u64::from(status), &mut digits),
    ] {
        line.push_str(part);
    }
    for part in [
        " outcome=",
        outcome.as_str(),
        " latency_ms=",
        decimal(latency_ms, &mut digits),
        "\n",
    ] {
        line.push_str(part);
    }
    true
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Method, Uri};

    use super::*;
    use crate::telemetry::request::{Detail, RequestContext, record_caller, record_detail};
    use crate::telemetry::{Captured, FixedTime, plain_lines};

    fn context(path: &'static str, request_id: &'static str) -> RequestContext {
        RequestContext::new(
            Method::POST,
            Uri::from_static(path),
            Some(HeaderValue::from_static(request_id)),
            Some(path.split('/').nth(1).unwrap_or_default()),
        )
    }

    /// The access line as the event gives it, through the text format `serve` installs.
    fn through_tracing(context: RequestContext, answer: (u16, CallbackOutcome, u64)) -> String {
        let sink = Captured::default();
        tracing::subscriber::with_default(plain_lines(sink.clone()), || {
            request::sync_scope(context, || {
                record_caller("benchteamid000000000000000", "channel-id", "user id");
                record_detail(Detail::Step, "second");
                event(answer.0, answer.1, answer.2);
            });
        });
        sink.text()
    }

    /// The access line as [`put_together`] writes it, or `None` when it leaves it to tracing.
    fn directly(context: RequestContext, answer: (u16, CallbackOutcome, u64)) -> Option<String> {
        let mut line = String::new();
        request::sync_scope(context, || {
            record_caller("benchteamid000000000000000", "channel-id", "user id");
            record_detail(Detail::Step, "second");
            put_together(&mut line, &FixedTime, answer.0, answer.1, answer.2)
        })
        .then_some(line)
    }

    #[test]
    fn the_line_written_directly_is_the_events_byte_for_byte() {
        let answers = [
            (200, CallbackOutcome::Ok, 0),
            (403, CallbackOutcome::Unauthorized, 17),
            (200, CallbackOutcome::Unavailable, 2_500),
            (500, CallbackOutcome::Error, u64::MAX),
        ];
        for answer in answers {
            let direct = directly(context("/dialogs/deploy", "0a1b2c3d-1f"), answer);
            let event = through_tracing(context("/dialogs/deploy", "0a1b2c3d-1f"), answer);
            assert_eq!(direct.as_deref(), Some(event.as_str()));
        }
        assert_eq!(
            through_tracing(
                context("/commands/s1", "3858a970-7d2"),
                (200, CallbackOutcome::Ok, 3)
            ),
            "2026-01-31T12:34:56.123456Z  INFO request{method=\"POST\" path=\"/commands/s1\" \
             request_id=\"3858a970-7d2\" kind=\"commands\" route=\"s1\" \
             team_id=\"benchteamid000000000000000\" channel_id=\"channel-id\" user_id=\"user id\" \
             step=\"second\"}: switchboard::server::middleware: callback answered status=200 \
             outcome=ok latency_ms=3\n"
        );
    }

    #[test]
    fn a_context_that_needs_escaping_or_none_is_left_to_tracing() {
        // A caller's request id with a quote: the event escapes it.
        let quoted = directly(
            context("/commands/s1", "from \"the\" caller"),
            (200, CallbackOutcome::Ok, 1),
        );
        assert_eq!(quoted, None);
        let mut line = String::new();
        assert!(!put_together(
            &mut line,
            &FixedTime,
            200,
            CallbackOutcome::Ok,
            1
        ));
    }
}
