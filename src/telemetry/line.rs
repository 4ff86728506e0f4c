//! [`FullLine`]: tracing-subscriber's default text line (`Format<Full>`), written faster.
//!
//! The default format writes each part through `write!` and `nu_ansi_term` styles that are
//! no-ops without colours but not free ones (the level, every span name, brace and colon, the
//! target): a third of the 7 000 instructions of a callback's access line (#12). Without
//! colours this writes the same bytes with plain `write_str`; with colours, and for events
//! forwarded from the `log` crate (whose metadata the default format rewrites), it hands the
//! event to the default format. A test holds the two to the same bytes.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The default text line with timer `T`, faster without colours.
#[derive(Debug)]
pub(crate) struct FullLine<T> {
    timer: T,
    default: Format<Full, T>,
}

impl<T: FormatTime + Clone> FullLine<T> {
    pub(crate) fn new(timer: T) -> Self {
        FullLine {
            default: tracing_subscriber::fmt::format()
                .with_timer(timer.clone())
                .with_target(true),
            timer,
        }
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
        let meta = event.metadata();
        if writer.has_ansi_escapes() || meta.fields().field("log.target").is_some() {
            return self.default.format_event(ctx, writer, event);
        }
        if self.timer.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_char(' ')?;
        writer.write_str(match *meta.level() {
            Level::TRACE => "TRACE ",
            Level::DEBUG => "DEBUG ",
            Level::INFO => " INFO ",
            Level::WARN => " WARN ",
            Level::ERROR => "ERROR ",
        })?;
        if let Some(scope) = ctx.event_scope() {
            let mut seen = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                seen = true;
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            if seen {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}
