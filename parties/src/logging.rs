//! Logging: every part of `parties` reports through `tracing` events; the binary installs one
//! subscriber that prints them on stderr, as text or as one JSON object per line.
//!
//! What is logged: party names and ids, phases and job states, plan hashes, session ids,
//! byte/round counts, durations, file paths. What is never logged: a share, a key, a seed, a
//! genotype, a phenotype value, an individual's id (`tests/logging.rs` checks a whole
//! simulated job's log for key and seed bytes and sample ids).
//!
//! Targets outside this crate (quinn, rustls) are shown from `warn` up only.

use core::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

/// How log events are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line: `ts` (Unix seconds), `level`, `target`, `message` and the
    /// event's fields.
    Json,
}

/// Prints events as JSON lines (see [`LogFormat::Json`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonLines;

struct JsonVisitor(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let meta = event.metadata();
        let mut v = JsonVisitor(serde_json::Map::new());
        v.0.insert("ts".into(), serde_json::json!(ts));
        v.0.insert("level".into(), meta.level().as_str().into());
        v.0.insert("target".into(), meta.target().into());
        event.record(&mut v);
        writeln!(writer, "{}", serde_json::Value::Object(v.0))
    }
}

/// The level this crate logs at: `warn` with `quiet`, else `info`.
pub fn level(quiet: bool) -> Level {
    if quiet { Level::WARN } else { Level::INFO }
}

/// A subscriber printing this crate's events from `max` up (others from `warn` up) to
/// `writer` in `format`. The binary installs it globally ([`init`]); tests can capture it.
pub fn subscriber<W>(max: Level, format: LogFormat, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = Targets::new()
        .with_default(LevelFilter::WARN.min(LevelFilter::from_level(max)))
        .with_target(env!("CARGO_CRATE_NAME"), max)
        .with_target("igs_mpc", max);
    let base = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Text => Box::new(
            tracing_subscriber::registry()
                .with(base.with_target(false))
                .with(filter),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::registry()
                .with(base.event_format(JsonLines))
                .with(filter),
        ),
    }
}

/// Installs the global subscriber of the `igs-mpc` binary: stderr, `info` (`warn` if `quiet`).
pub fn init(quiet: bool, format: LogFormat) -> Result<(), String> {
    tracing::subscriber::set_global_default(subscriber(level(quiet), format, std::io::stderr))
        .map_err(|e| format!("cannot install the logger: {e}"))
}
