//! [`PlainFields`]: tracing-subscriber's default field format for text lines, written faster.
//!
//! The default visitor paints every field name through `nu_ansi_term` (a no-op style when
//! colours are off, but not a free one) and writes strings with `str`'s `Debug`, which checks
//! every character against Unicode tables. For a callback that was a third of the cost of its
//! log lines: the request span's ids and the access line's fields. Here a field whose value
//! is printable ASCII without `"` or `\` (ids, routes, numbers) is written directly — the same
//! bytes `Debug` gives for it, quotes included — and everything else (the message, colours,
//! other characters, errors) goes to the default visitor, so lines read exactly as before.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{RecordFields, VisitOutput as _};
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// The default text field format (`name=value`, space separated), faster for plain values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PlainFields;

impl<'writer> FormatFields<'writer> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'a> {
    writer: Writer<'a>,
    /// Nothing written yet (no space before the next field).
    is_empty: bool,
    result: fmt::Result,
}

impl PlainVisitor<'_> {
    /// Whether `field` is written as `name=value` by the default visitor with nothing else
    /// to it: not the message, no raw-identifier or `log.` name, no colours.
    fn plain(&self, field: &Field) -> bool {
        let name = field.name();
        !self.writer.has_ansi_escapes()
            && name != "message"
            && !name.starts_with("r#")
            && !name.starts_with("log.")
    }

    fn pad(&mut self) {
        if self.is_empty {
            self.is_empty = false;
        } else {
            self.result = self.writer.write_char(' ');
        }
    }

    /// Hands one field to the default visitor.
    fn default(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
        record(&mut visitor);
        self.result = visitor.finish();
        // It writes something for every field but `log.` ones (which it skips without a
        // space, like an empty set).
        self.is_empty = false;
    }

    fn write_plain(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        self.pad();
        if self.result.is_ok() {
            self.result = self
                .writer
                .write_fmt(format_args!("{}={}", field.name(), value));
        }
    }
}

/// `str`'s `Debug` leaves printable ASCII other than `"` and `\` as it is.
fn debug_is_verbatim(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) && debug_is_verbatim(value) {
            self.pad();
            if self.result.is_ok() {
                let writer = &mut self.writer;
                self.result = writer
                    .write_str(field.name())
                    .and_then(|()| writer.write_str("=\""))
                    .and_then(|()| writer.write_str(value))
                    .and_then(|()| writer.write_char('"'));
            }
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_str(field, value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) {
            self.write_plain(field, format_args!("{value}"));
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) {
            self.write_plain(field, format_args!("{value}"));
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_i64(field, value));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) {
            self.write_plain(field, format_args!("{value}"));
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_bool(field, value));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        self.default(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) {
            self.write_plain(field, format_args!("{value:?}"));
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_debug(field, value));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::telemetry::Captured;

    /// Everything the server logs, and what a hostile caller could put into it.
    fn log_everything() {
        let span = tracing::info_span!(
            "request",
            method = %"POST",
            path = %"/commands/hello",
            request_id = "0a1b2c3d-1f",
            kind = Some("commands"),
            route = Option::<&str>::None,
            team_id = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        let _entered = span.enter();
        span.record("team_id", "t\"eam\n\u{1b}[31m");
        span.record("user_id", "ünïcode id");
        let error = std::io::Error::other("disk full");
        tracing::info!(
            status = 200u16,
            signed = -3i64,
            ok = true,
            ratio = 0.5f64,
            outcome = %"ok",
            debug = ?vec!["a", "b"],
            quote = "say \"hi\"",
            backslash = r"C:\dir",
            empty = "",
            r#type = "raw",
            "callback answered"
        );
        tracing::warn!(
            error = &error as &(dyn std::error::Error + 'static),
            "with an error"
        );
        tracing::error!("message with \u{1b}[31mescape\u{7} and \"quotes\"");
        tracing::info!(late = "only a field");
    }

    fn lines(fields: Option<PlainFields>, ansi: bool) -> String {
        let sink = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(sink.clone())
            .with_ansi(ansi)
            .without_time();
        let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match fields {
            Some(fields) => Box::new(tracing_subscriber::registry().with(layer.fmt_fields(fields))),
            None => Box::new(tracing_subscriber::registry().with(layer)),
        };
        tracing::subscriber::with_default(subscriber, log_everything);
        sink.text()
    }

    #[test]
    fn lines_are_the_default_formats_byte_for_byte() {
        for ansi in [false, true] {
            let (default, plain) = (lines(None, ansi), lines(Some(PlainFields), ansi));
            assert!(default.contains("callback answered"), "{default}");
            assert_eq!(plain, default, "ansi: {ansi}");
        }
    }
}
