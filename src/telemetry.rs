//! Tracing subscriber construction.
//!
//! [`subscriber`] builds a subscriber from a filter, a format and a sink, so tests can capture
//! output; [`init`] installs one for the process. `RUST_LOG`, when set, wins over the
//! configured filter.

use tracing::Subscriber;
use tracing::subscriber::set_global_default;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, Registry, fmt, prelude::*};

use crate::config::LogFormat;

/// Builds a subscriber writing to `sink`.
pub fn subscriber<W>(filter: &str, format: LogFormat, sink: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Text => {
            Box::new(registry.with(fmt::layer().with_writer(sink).with_target(true)))
        }
        LogFormat::Json => Box::new(
            registry.with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(sink),
            ),
        ),
    }
}

/// Installs `subscriber` for the whole process; a second call is ignored.
pub fn init(subscriber: Box<dyn Subscriber + Send + Sync>) {
    // Fails only if a subscriber is already set (tests, or a library user's own).
    let _ = set_global_default(subscriber);
}
