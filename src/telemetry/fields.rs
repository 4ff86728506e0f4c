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

    /// `name=value`: the name and `=` written as they are, the value formatted (one level of
    /// formatting machinery, not two).
    fn write_plain(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        self.pad();
        if self.result.is_ok() {
            let writer = &mut self.writer;
            self.result = writer
                .write_str(field.name())
                .and_then(|()| writer.write_char('='))
                .and_then(|()| fmt::Write::write_fmt(&mut Sanitising(&mut *writer), value));
        }
    }

    /// `name=value` for an integer, its digits written without the formatting machinery.
    fn write_integer(&mut self, field: &Field, negative: bool, value: u64) {
        let mut digits = [0u8; 20];
        let digits = decimal(value, &mut digits);
        self.pad();
        if self.result.is_ok() {
            let writer = &mut self.writer;
            self.result = writer
                .write_str(field.name())
                .and_then(|()| writer.write_str(if negative { "=-" } else { "=" }))
                .and_then(|()| writer.write_str(digits));
        }
    }
}

/// `value`'s decimal digits, written into `digits` without the formatting machinery.
pub(crate) fn decimal(mut value: u64, digits: &mut [u8; 20]) -> &str {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    std::str::from_utf8(&digits[at..]).unwrap_or("0")
}

/// `name="value"`, put together on the stack and written at once when short (each write to
/// the line is a call through `dyn Write`; ids and routes are short).
fn write_quoted(writer: &mut Writer<'_>, name: &str, value: &str) -> fmt::Result {
    const SHORT: usize = 128;
    let length = name.len() + value.len() + 3;
    if length > SHORT {
        writer.write_str(name)?;
        writer.write_str("=\"")?;
        writer.write_str(value)?;
        return writer.write_char('"');
    }
    let mut line = [0u8; SHORT];
    let (name_end, value_end) = (name.len(), name.len() + 2 + value.len());
    line[..name_end].copy_from_slice(name.as_bytes());
    line[name_end..name_end + 2].copy_from_slice(b"=\"");
    line[name_end + 2..value_end].copy_from_slice(value.as_bytes());
    line[value_end] = b'"';
    // Put together from two `str`s and ASCII: always UTF-8.
    writer.write_str(std::str::from_utf8(&line[..length]).map_err(|_| fmt::Error)?)
}

/// A span of string fields as a line without colours shows it, `name{a="x" b="y"}:`, put
/// together in a buffer of this thread's and written at once, when every value is written
/// verbatim (as [`PlainFields`] would, see [`debug_is_verbatim`]) and the whole is short;
/// `None`, with nothing written, otherwise.
pub(crate) fn write_plain_span(
    writer: &mut Writer<'_>,
    name: &str,
    fields: &[(&str, &str)],
) -> Option<fmt::Result> {
    thread_local! {
        static SPAN: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SPAN.with_borrow_mut(|span| {
        span.clear();
        push_plain_span(span, name, fields).then(|| writer.write_str(span))
    })
}

/// Appends the span [`write_plain_span`] writes to `line`; `false`, with nothing appended,
/// when a value is not written verbatim or the span is longer than 512 bytes (each line's
/// buffer keeps its largest size).
pub(crate) fn push_plain_span(line: &mut String, name: &str, fields: &[(&str, &str)]) -> bool {
    const SHORT: usize = 512;
    // `name{` … `}:`, or `name:`; `field="value"` each, a space between.
    let length = name.len()
        + if fields.is_empty() {
            1
        } else {
            2 + fields.len()
        }
        + fields
            .iter()
            .map(|(f, v)| f.len() + v.len() + 3)
            .sum::<usize>();
    if length > SHORT
        || fields
            .iter()
            .any(|(field, value)| field.starts_with("r#") || !debug_is_verbatim(value))
    {
        return false;
    }
    line.reserve(length);
    line.push_str(name);
    for (i, (field, value)) in fields.iter().enumerate() {
        line.push_str(if i == 0 { "{" } else { " " });
        line.push_str(field);
        line.push_str("=\"");
        line.push_str(value);
        line.push('"');
    }
    line.push_str(if fields.is_empty() { ":" } else { "}:" });
    true
}

/// Whether `str`'s `Debug` writes `byte` as it is: printable ASCII other than `"` and `\`.
fn byte_is_verbatim(byte: u8) -> bool {
    (b' '..=b'~').contains(&byte) & (byte != b'"') & (byte != b'\\')
}

/// Writes text with the terminal's control characters escaped, line breaks included, so
/// nothing logged can move the cursor, recolour the terminal or start a line that looks like
/// another event's (a caller's JSON key in a parse error once did). Tabs stay. A run of text
/// with none of them, which is nearly everything we log, goes out in one write rather than a
/// character at a time. The escapes are those tracing-subscriber writes for a message's
/// ANSI controls (`\x1b`, `\u{85}`), and `\n`, `\r`.
struct Sanitising<W>(W);

/// Whether [`Sanitising`] escapes `c`.
fn is_escaped(c: char) -> bool {
    c.is_control() && c != '\t'
}

impl<W: fmt::Write> fmt::Write for Sanitising<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if !text.contains(is_escaped) {
            return self.0.write_str(text);
        }
        for c in text.chars() {
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\0'..='\x7f' if is_escaped(c) => write!(self.0, "\\x{:02x}", c as u32)?,
                c if is_escaped(c) => write!(self.0, "\\u{{{:x}}}", c as u32)?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A field's value, written as [`Sanitising`] writes text.
struct Escaped<'a>(&'a dyn fmt::Debug);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Write::write_fmt(&mut Sanitising(f), format_args!("{:?}", self.0))
    }
}

/// `str`'s `Debug` leaves printable ASCII other than `"` and `\` as it is.
fn debug_is_verbatim(value: &str) -> bool {
    // Eight bytes at a time (ids are 26), the rest one by one.
    let words = value.as_bytes().chunks_exact(8);
    let rest = words.remainder();
    words
        .map(|word| <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes))
        .all(word_is_verbatim)
        && rest.iter().all(|&byte| byte_is_verbatim(byte))
}

/// [`byte_is_verbatim`] for each byte of `word` at once: no byte below `' '`, above `'~'`,
/// or equal to `"` or `\` (the classic tests for a byte less than, greater than, or equal to
/// a constant in a word; exact for these constants).
fn word_is_verbatim(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
    // Adding 0x7f - 0x7e = 1 to each byte sets the high bit of any byte above 0x7e.
    let above_tilde = (word.wrapping_add(ONES) | word) & HIGH != 0;
    !(below_space
        || above_tilde
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\'))))
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) && debug_is_verbatim(value) {
            self.pad();
            if self.result.is_ok() {
                self.result = write_quoted(&mut self.writer, field.name(), value);
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
            self.write_integer(field, false, value);
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_err() {
            return;
        }
        if self.plain(field) {
            self.write_integer(field, value < 0, value.unsigned_abs());
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
        // The default visitor escapes an error's ANSI controls but not its line breaks: an
        // error that has any is written as its chain, escaped, instead.
        let chain = crate::telemetry::error_chain(value);
        if chain.contains(is_escaped) {
            let chain = format_args!("{chain}");
            self.default(|v| v.record_debug(field, &Escaped(&chain)));
        } else {
            self.default(|v| v.record_error(field, value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        if field.name() == "message" {
            self.pad();
            if self.result.is_ok() {
                self.result = if self.writer.sanitizes_ansi_escapes() {
                    fmt::Write::write_fmt(
                        &mut Sanitising(&mut self.writer),
                        format_args!("{value:?}"),
                    )
                } else {
                    write!(self.writer, "{value:?}")
                };
            }
        } else if self.plain(field) {
            self.write_plain(field, format_args!("{value:?}"));
        } else if !field.name().starts_with("log.") {
            self.default(|v| v.record_debug(field, &Escaped(value)));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::telemetry::{Captured, FixedTime};

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
        let long = "id-".repeat(60);
        tracing::info!(
            status = 200u16,
            signed = -3i64,
            min = i64::MIN,
            max = u64::MAX,
            zero = 0u64,
            ok = true,
            ratio = 0.5f64,
            outcome = %"ok",
            debug = ?vec!["a", "b"],
            quote = "say \"hi\"",
            backslash = r"C:\dir",
            empty = "",
            long = long.as_str(),
            r#type = "raw",
            "callback answered"
        );
        tracing::warn!(
            error = &error as &(dyn std::error::Error + 'static),
            "with an error"
        );
        tracing::error!(
            "message with \u{1b}[31mescape\u{7} and \"quotes\" \u{85}\u{9f}\u{a0}\u{8}\u{c}\u{7f}"
        );
        let who = "\u{1b}]0;title\u{7}";
        tracing::warn!("formatted {who} message");
        tracing::info!(late = "only a field");
    }

    /// The lines of [`log_everything`]: with the default field format or ours, and with the
    /// default line format or ours ([`crate::telemetry::line::FullLine`]).
    fn lines(fields: Option<PlainFields>, ansi: bool, full_line: bool) -> String {
        use crate::telemetry::line::FullLine;
        let sink = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(sink.clone())
            .with_ansi(ansi)
            .with_timer(FixedTime);
        let registry = tracing_subscriber::registry();
        let subscriber: Box<dyn tracing::Subscriber + Send + Sync> = match (fields, full_line) {
            (Some(fields), true) => Box::new(
                registry.with(
                    layer
                        .fmt_fields(fields)
                        .event_format(FullLine::new(FixedTime)),
                ),
            ),
            (Some(fields), false) => Box::new(registry.with(layer.fmt_fields(fields))),
            (None, _) => Box::new(registry.with(layer)),
        };
        tracing::subscriber::with_default(subscriber, log_everything);
        sink.text()
    }

    fn plain_span(fields: &[(&str, &str)]) -> Option<String> {
        let mut out = String::new();
        let written = write_plain_span(&mut Writer::new(&mut out), "request", fields)?;
        written.unwrap();
        Some(out)
    }

    #[test]
    fn plain_spans_are_put_together_at_once_only_from_verbatim_values() {
        assert_eq!(
            plain_span(&[("method", "POST"), ("route", "hello")]).as_deref(),
            Some(r#"request{method="POST" route="hello"}:"#)
        );
        assert_eq!(plain_span(&[]).as_deref(), Some("request:"));
        // Values `Debug` escapes, and what does not fit, go to the field formatter.
        for value in ["say \"hi\"", r"C:\dir", "line\nbreak", "ünïcode", "\u{7f}"] {
            assert_eq!(plain_span(&[("id", value)]), None, "{value:?}");
        }
        let long = "x".repeat(600);
        assert_eq!(plain_span(&[("id", &long)]), None);
    }

    #[test]
    fn a_word_is_verbatim_exactly_when_each_of_its_bytes_is() {
        // Every byte value in every position, among verbatim neighbours.
        for position in 0..8 {
            for byte in 0..=u8::MAX {
                let mut word = *b"abcdefgh";
                word[position] = byte;
                assert_eq!(
                    word_is_verbatim(u64::from_le_bytes(word)),
                    byte_is_verbatim(byte),
                    "{byte:#04x} at {position}"
                );
            }
        }
        // Borrows between bytes cannot hide or invent one.
        for word in [
            [0x20u8; 8],
            [0x7e; 8],
            [0x1f, 0x7f, 0x21, 0x5b, 0x5d, 0x23, 0xff, 0],
        ] {
            assert_eq!(
                word_is_verbatim(u64::from_le_bytes(word)),
                word.iter().all(|&b| byte_is_verbatim(b)),
                "{word:?}"
            );
        }
        assert!(debug_is_verbatim("benchteamid000000000000000"));
        assert!(!debug_is_verbatim("benchteamid00000000000000\\"));
        assert!(!debug_is_verbatim("benchteam\"id"));
    }

    #[test]
    fn lines_are_the_default_formats_byte_for_byte() {
        for ansi in [false, true] {
            let default = lines(None, ansi, false);
            assert!(default.contains("callback answered"), "{default}");
            assert_eq!(
                lines(Some(PlainFields), ansi, false),
                default,
                "ansi: {ansi}"
            );
            assert_eq!(
                lines(Some(PlainFields), ansi, true),
                default,
                "ansi: {ansi}"
            );
        }
    }

    /// What a caller can put into a field's or an error's text: a line break and a forged
    /// event after it, a carriage return, terminal controls.
    const HOSTILE: &str = "key\n2026-01-31T00:00:00Z ERROR forged\r\u{1b}[2J\u{9b}\u{0}\tend";

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "malformed body: {HOSTILE}")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    fn log_hostile() {
        let error = Outer(std::io::Error::other(HOSTILE));
        tracing::warn!(error = %format_args!("bad request: {HOSTILE}"), "callback refused");
        tracing::warn!(error = ?HOSTILE.to_owned(), "debug field");
        tracing::warn!(
            error = &error as &(dyn std::error::Error + 'static),
            "error field"
        );
        tracing::warn!("message {HOSTILE}");
    }

    #[test]
    fn hostile_text_in_any_field_stays_on_its_own_line_with_controls_escaped() {
        for ansi in [false, true] {
            let sink = Captured::default();
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(sink.clone())
                .with_ansi(ansi)
                .with_timer(FixedTime)
                .fmt_fields(PlainFields)
                .event_format(crate::telemetry::line::FullLine::new(FixedTime));
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::with_default(subscriber, log_hostile);
            let text = sink.text();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 4, "ansi {ansi}: {text}");
            for line in &lines {
                let start = line.trim_start_matches("\u{1b}[2m");
                assert!(start.starts_with("2026-01-31T12:34:56.123456Z"), "{line}");
                assert!(
                    line.contains(r"key\n2026-01-31T00:00:00Z ERROR forged\r"),
                    "{line}"
                );
                // Only our own colours' ESC remain, and no C1 control or NUL.
                assert!(
                    !line.contains(['\r', '\u{9b}', '\0'])
                        && (ansi || !line.contains('\u{1b}'))
                        && !line.contains("\u{1b}[2J"),
                    "{line:?}"
                );
            }
        }
    }
}
