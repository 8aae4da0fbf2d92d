//! The two log formats of etcd 3.4, for the server's stderr, so that harnesses and
//! operators that read etcd's log read ours the same way:
//!
//! - `capnslog` (etcd 3.4's default): `2026-12-07 12:37:23.228604 I | etcdserver:
//!   published {…} to cluster …` — date and time (UTC here), a level letter
//!   (`D`, `I`, `N` for notice, `W`, `E`), then the message; our other fields
//!   follow as `key=value`.
//! - `zap`: one JSON object per line, `{"level":"info","ts":"…Z","caller":"…",
//!   "msg":"…", …fields}`, field names with `-` as zap writes them.
//!
//! Events that mark a milestone etcd also logs carry two extra fields the
//! formats read: `zap_msg`, the zap message (etcd words its two loggers'
//! messages differently), and `capnslog`, a level letter that overrides the one
//! from the tracing level (etcd logs some milestones at NOTICE, which tracing
//! has no level for). Neither is printed.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Which of etcd's loggers to look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `--logger=capnslog`.
    Capnslog,
    /// `--logger=zap`.
    Zap,
}

impl LogFormat {
    /// The format for a `--logger` value (anything but `zap` is capnslog, as the
    /// config accepts only the two).
    pub fn from_logger(logger: &str) -> LogFormat {
        if logger == "zap" {
            LogFormat::Zap
        } else {
            LogFormat::Capnslog
        }
    }
}

/// The fields of one event, split into what the formats treat specially.
#[derive(Default)]
struct Fields {
    message: String,
    zap_msg: Option<String>,
    capnslog: Option<String>,
    rest: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            "zap_msg" => self.zap_msg = Some(value),
            "capnslog" => self.capnslog = Some(value),
            name => self.rest.push((name, value)),
        }
    }
}

impl<S, N> FormatEvent<S, N> for LogFormat
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
        let mut fields = Fields::default();
        event.record(&mut fields);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let meta = event.metadata();
        let line = match self {
            LogFormat::Capnslog => capnslog_line(now, *meta.level(), &fields),
            LogFormat::Zap => {
                let caller = match (meta.file(), meta.line()) {
                    (Some(f), Some(l)) => format!("{}:{l}", short_path(f)),
                    _ => meta.target().to_string(),
                };
                zap_line(now, *meta.level(), &caller, &fields)
            }
        };
        writeln!(writer, "{line}")
    }
}

/// `src/member/publish.rs` → `member/publish.rs`, as zap shortens callers to
/// package/file.
fn short_path(path: &str) -> &str {
    path.rsplit_once("/src/")
        .map(|(_, p)| p)
        .or_else(|| path.strip_prefix("src/"))
        .unwrap_or(path)
}

fn capnslog_line(now: std::time::Duration, level: Level, fields: &Fields) -> String {
    let letter = fields.capnslog.clone().unwrap_or_else(|| {
        match level {
            Level::ERROR => "E",
            Level::WARN => "W",
            Level::INFO => "I",
            Level::DEBUG | Level::TRACE => "D",
        }
        .to_string()
    });
    let (date, time) = civil(now);
    let mut line = format!(
        "{date} {time}.{:06} {letter} | {}",
        now.subsec_micros(),
        fields.message
    );
    // A milestone's message says all that etcd's capnslog line says; its fields
    // are for zap.
    if fields.zap_msg.is_none() {
        for (k, v) in &fields.rest {
            let _ = write!(line, " {k}={v}");
        }
    }
    line
}

fn zap_line(now: std::time::Duration, level: Level, caller: &str, fields: &Fields) -> String {
    let level = match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG | Level::TRACE => "debug",
    };
    let (date, time) = civil(now);
    let ts = format!("{date}T{time}.{:03}Z", now.subsec_millis());
    let msg = match &fields.zap_msg {
        Some(m) => m.clone(),
        None => strip_package(&fields.message).to_string(),
    };
    let mut line = format!(
        "{{\"level\":{},\"ts\":{},\"caller\":{},\"msg\":{}",
        json(level),
        json(&ts),
        json(caller),
        json(&msg)
    );
    for (k, v) in &fields.rest {
        let _ = write!(line, ",{}:{}", json(&k.replace('_', "-")), json(v));
    }
    line.push('}');
    line
}

/// A message without its capnslog package prefix (`embed: x` → `x`).
fn strip_package(message: &str) -> &str {
    match message.split_once(": ") {
        Some((pkg, rest))
            if !pkg.is_empty()
                && pkg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'/' || b == b'-') =>
        {
            rest
        }
        _ => message,
    }
}

fn json(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// UTC date (`YYYY-MM-DD`) and time (`HH:MM:SS`) of a time since the epoch.
fn civil(since_epoch: std::time::Duration) -> (String, String) {
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Days since 1970-01-01 to a proleptic Gregorian date (the well-known
    // era-based conversion: 400-year eras of 146,097 days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3_600, rem % 3_600 / 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(
            civil(Duration::ZERO),
            ("1970-01-01".into(), "00:00:00".into())
        );
        // 2026-12-07 12:37:23 UTC.
        assert_eq!(
            civil(Duration::from_secs(1_796_647_043)),
            ("2026-12-07".into(), "12:37:23".into())
        );
        // A leap day.
        assert_eq!(
            civil(Duration::from_secs(951_782_400)),
            ("2000-02-29".into(), "00:00:00".into())
        );
    }

    fn fields(message: &str, zap: Option<&str>, letter: Option<&str>) -> Fields {
        Fields {
            message: message.into(),
            zap_msg: zap.map(Into::into),
            capnslog: letter.map(Into::into),
            rest: vec![("cluster_version", "3.4".into())],
        }
    }

    #[test]
    fn capnslog_lines_read_like_etcds() {
        let at = Duration::from_secs(1_796_647_043) + Duration::from_micros(228_604);
        let f = fields(
            "etcdserver/membership: set the initial cluster version to 3.4",
            None,
            Some("N"),
        );
        assert_eq!(
            capnslog_line(at, Level::INFO, &f),
            "2026-12-07 12:37:23.228604 N | etcdserver/membership: set the initial cluster version to 3.4 cluster_version=3.4"
        );
        let f = fields("embed: ready to serve client requests", None, None);
        assert!(capnslog_line(at, Level::WARN, &f).contains(" W | embed: ready"));
        // A milestone (it has a zap message) prints no fields.
        let f = fields(
            "etcdserver/api: enabled capabilities for version 3.4",
            Some("enabled capabilities for version"),
            None,
        );
        assert!(
            capnslog_line(at, Level::INFO, &f)
                .ends_with(" I | etcdserver/api: enabled capabilities for version 3.4")
        );
    }

    #[test]
    fn zap_lines_are_json_with_etcds_message() {
        let at = Duration::from_secs(1_796_647_043) + Duration::from_micros(228_604);
        let f = fields(
            "etcdserver/api: enabled capabilities for version 3.4",
            Some("enabled capabilities for version"),
            Some("N"),
        );
        let line = zap_line(at, Level::INFO, "member/membership.rs:10", &f);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "info");
        assert_eq!(v["ts"], "2026-12-07T12:37:23.228Z");
        assert_eq!(v["msg"], "enabled capabilities for version");
        assert_eq!(v["cluster-version"], "3.4");
        assert!(line.starts_with("{\"level\":\"info\",\"ts\":"), "{line}");
        // Without a zap message, the capnslog package prefix is dropped.
        let f = fields("embed: ready to serve client requests", None, None);
        let v: serde_json::Value =
            serde_json::from_str(&zap_line(at, Level::INFO, "x", &f)).unwrap();
        assert_eq!(v["msg"], "ready to serve client requests");
        assert_eq!(strip_package("no prefix here"), "no prefix here");
        assert_eq!(strip_package("Weird: Case"), "Weird: Case");
    }

    #[test]
    fn callers_are_shortened() {
        assert_eq!(
            short_path("/work/main/sim/src/member/publish.rs"),
            "member/publish.rs"
        );
        assert_eq!(short_path("src/x.rs"), "x.rs");
    }
}
