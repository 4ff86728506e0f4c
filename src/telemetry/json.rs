//! [`JsonLine`]: tracing-subscriber's JSON line (`Format<Json>` with the current span and the
//! span list), with the request context ([`super::request`]) as the outermost span.
//!
//! Each line is one object: `timestamp`, `level`, `fields` (the event's, with `message`),
//! `target`, `span` (the innermost span: the request context when no tracing span is entered
//! below it) and `spans` (from the outermost, each with its fields and `name`); `span` and
//! `spans` are left out when there is none. A test holds it to the default JSON line, parsed.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use super::request;

/// The JSON line with timer `T`, and the request context.
#[derive(Debug)]
pub(crate) struct JsonLine<T> {
    timer: T,
}

impl<T: FormatTime> JsonLine<T> {
    pub(crate) fn new(timer: T) -> Self {
        JsonLine { timer }
    }
}

/// `text` as a JSON string.
fn write_string(writer: &mut Writer<'_>, text: &str) -> fmt::Result {
    writer.write_str(&serde_json::to_string(text).map_err(|_| fmt::Error)?)
}

/// A span's JSON object: its fields (an object, as `JsonFields` writes them) with `name`.
fn span_object(fields: &str, name: &str) -> Result<String, fmt::Error> {
    let fields = fields.trim_end();
    let mut object = match fields.strip_suffix('}') {
        Some(open) if open.trim_end() != "{" => format!("{open},"),
        _ => String::from("{"),
    };
    object.push_str("\"name\":");
    object.push_str(&serde_json::to_string(name).map_err(|_| fmt::Error)?);
    object.push('}');
    Ok(object)
}

impl<S, T> FormatEvent<S, JsonFields> for JsonLine<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut timestamp = String::new();
        if self
            .timer
            .format_time(&mut Writer::new(&mut timestamp))
            .is_err()
        {
            timestamp.clear();
        }
        let mut spans = Vec::new();
        if let Some(object) = request::with_current(|request| {
            let mut fields = String::new();
            request
                .with_fields(|record| {
                    JsonFields::new().format_fields(Writer::new(&mut fields), record)
                })
                .transpose()?;
            span_object(&fields, request.name())
        }) {
            spans.push(object?);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let fields = extensions
                    .get::<FormattedFields<JsonFields>>()
                    .map_or("", |fields| fields.as_str());
                spans.push(span_object(fields, span.metadata().name())?);
            }
        }

        writer.write_str("{\"timestamp\":")?;
        write_string(&mut writer, &timestamp)?;
        writer.write_str(",\"level\":")?;
        write_string(&mut writer, meta.level().as_str())?;
        writer.write_str(",\"fields\":")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_str(",\"target\":")?;
        write_string(&mut writer, meta.target())?;
        if let Some(current) = spans.last() {
            writer.write_str(",\"span\":")?;
            writer.write_str(current)?;
            writer.write_str(",\"spans\":[")?;
            writer.write_str(&spans.join(","))?;
            writer.write_char(']')?;
        }
        writer.write_str("}\n")
    }
}
