//! [`FullLine`]: tracing-subscriber's default text line (`Format<Full>`), with the request
//! context, written faster.
//!
//! The line is the default's: time, level, the spans from the outermost (`name{fields}:`),
//! target, fields. The request context ([`super::request`]) comes first among the spans, as
//! the `request` span it stands for would. Without colours every part is a plain
//! `write_str`: the default writes each through `write!` and `nu_ansi_term` styles that are
//! no-ops without colours but not free ones (a third of the 7 000 instructions of a
//! callback's access line, #12); with colours the parts are painted as the default paints
//! them. A test holds the two to the same bytes.

use std::fmt;

use nu_ansi_term::{Color, Style};
use tracing::{Event, Level, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::fields::write_plain_span;
use super::request;

/// The default text line with timer `T`, and the request context.
#[derive(Debug)]
pub(crate) struct FullLine<T> {
    timer: T,
}

impl<T: FormatTime> FullLine<T> {
    pub(crate) fn new(timer: T) -> Self {
        FullLine { timer }
    }
}

/// The styles of a line's parts: the default's with colours, none without.
struct Styles {
    ansi: bool,
}

impl Styles {
    fn write(&self, writer: &mut Writer<'_>, style: Style, text: &str) -> fmt::Result {
        if self.ansi {
            write!(writer, "{}", style.paint(text))
        } else {
            writer.write_str(text)
        }
    }

    fn level(&self, writer: &mut Writer<'_>, level: Level) -> fmt::Result {
        let (text, colour) = match level {
            Level::TRACE => ("TRACE", Color::Purple),
            Level::DEBUG => ("DEBUG", Color::Blue),
            Level::INFO => (" INFO", Color::Green),
            Level::WARN => (" WARN", Color::Yellow),
            Level::ERROR => ("ERROR", Color::Red),
        };
        self.write(writer, colour.normal(), text)?;
        writer.write_char(' ')
    }

    /// `name{fields}:`, braces only around fields.
    fn span(&self, writer: &mut Writer<'_>, name: &str, fields: &str) -> fmt::Result {
        self.span_with(writer, name, !fields.is_empty(), |w| w.write_str(fields))
    }

    fn span_with(
        &self,
        writer: &mut Writer<'_>,
        name: &str,
        braces: bool,
        fields: impl FnOnce(&mut Writer<'_>) -> fmt::Result,
    ) -> fmt::Result {
        let bold = Style::new().bold();
        self.write(writer, bold, name)?;
        if braces {
            self.write(writer, bold, "{")?;
            fields(writer)?;
            self.write(writer, bold, "}")?;
        }
        self.write(writer, Style::new().dimmed(), ":")
    }
}

impl<S, N, T> FormatEvent<S, N> for FullLine<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // An event forwarded from the `log` crate names its own target in its fields.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let styles = Styles {
            ansi: writer.has_ansi_escapes(),
        };
        let dimmed = Style::new().dimmed();
        if styles.ansi {
            write!(writer, "{}", dimmed.prefix())?;
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        if styles.ansi {
            write!(writer, "{}", dimmed.suffix())?;
        }
        writer.write_char(' ')?;
        styles.level(&mut writer, *meta.level())?;
        let mut seen = request::with_current(|request| {
            if !styles.ansi
                && let Some(written) = request
                    .with_strs(|fields| write_plain_span(&mut writer, request.name(), fields))
            {
                return Some(written);
            }
            request.with_fields(|fields| {
                styles.span_with(&mut writer, request.name(), true, |w| {
                    ctx.format_fields(w.by_ref(), fields)
                })
            })
        })
        .flatten()
        .transpose()?
        .is_some();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let fields = extensions
                    .get::<FormattedFields<N>>()
                    .map_or("", |fields| fields.as_str());
                styles.span(&mut writer, span.metadata().name(), fields)?;
                seen = true;
            }
        }
        if seen {
            writer.write_char(' ')?;
        }
        styles.write(&mut writer, dimmed, meta.target())?;
        styles.write(&mut writer, dimmed, ":")?;
        writer.write_char(' ')?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}
