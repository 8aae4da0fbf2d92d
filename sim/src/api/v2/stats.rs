//! `/v2/stats/self`, `/v2/stats/leader` and `/v2/stats/store` (spec §7, §4.9): the
//! JSON shapes etcd serves, and the handler. The member behind it implements
//! [`StatsBackend`].

use super::members::message_error;
use super::response::{Body, json, method_not_allowed};
use crate::server::backend::V2Backend;
use etcd_sdk::wire::to_go_json;
use http::{Response, StatusCode};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// etcd's `ServerStats` JSON (`/v2/stats/self`); the package and bandwidth rates,
/// which etcd omits when zero, are not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SelfStats {
    /// The member's name.
    pub name: String,
    /// The member id in hex.
    pub id: String,
    /// `StateLeader`, `StateFollower`, `StateCandidate` or `StatePreCandidate`.
    pub state: String,
    /// When the member started (RFC 3339 with nanoseconds, UTC).
    #[serde(rename = "startTime")]
    pub start_time: String,
    /// The leader this member follows (or is).
    #[serde(rename = "leaderInfo")]
    pub leader_info: LeaderInfo,
    /// Append requests received from the leader.
    #[serde(rename = "recvAppendRequestCnt")]
    pub recv_append_request_cnt: u64,
    /// Append requests sent to followers.
    #[serde(rename = "sendAppendRequestCnt")]
    pub send_append_request_cnt: u64,
}

/// The `leaderInfo` of [`SelfStats`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LeaderInfo {
    /// The leader's id in hex (empty before any leader was seen).
    pub leader: String,
    /// How long it has led, as Go prints a duration (`1m8.19s`).
    pub uptime: String,
    /// Since when this member has seen it lead (RFC 3339 with nanoseconds).
    #[serde(rename = "startTime")]
    pub start_time: String,
}

/// etcd's `LeaderStats` JSON (`/v2/stats/leader`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LeaderStats {
    /// The leader's id in hex.
    pub leader: String,
    /// Per follower (hex id).
    pub followers: BTreeMap<String, FollowerStats>,
}

/// One follower in [`LeaderStats`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FollowerStats {
    /// Round-trip latencies in milliseconds.
    pub latency: LatencyStats,
    /// Append outcomes.
    pub counts: CountsStats,
}

/// Latencies of [`FollowerStats`], in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    /// The latest.
    #[serde(serialize_with = "go_float")]
    pub current: f64,
    /// The mean.
    #[serde(serialize_with = "go_float")]
    pub average: f64,
    /// The standard deviation.
    #[serde(rename = "standardDeviation", serialize_with = "go_float")]
    pub standard_deviation: f64,
    /// The smallest.
    #[serde(serialize_with = "go_float")]
    pub minimum: f64,
    /// The largest.
    #[serde(serialize_with = "go_float")]
    pub maximum: f64,
}

/// Counts of [`FollowerStats`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CountsStats {
    /// Failed sends.
    pub fail: u64,
    /// Successful sends.
    pub success: u64,
}

/// A float as Go writes it: integral values without a fraction (`0`, not `0.0`).
fn go_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// What the stats handler needs from a member.
pub trait StatsBackend: Send + Sync + 'static {
    /// This member's server statistics.
    fn self_stats(&self) -> SelfStats;
    /// The leader's statistics, `None` unless this member leads.
    fn leader_stats(&self) -> Option<LeaderStats>;
    /// The member's metrics in Prometheus's text format (`/metrics`); `None`
    /// (the default) serves no `/metrics`.
    fn metrics_text(&self) -> Option<String> {
        None
    }
}

/// Formats `d` as Go's `time.Duration.String` (`1h2m3.5s`, `1.5ms`, `0s`).
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let frac = |value: u128, unit: u128| -> String {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let width = unit.ilog10() as usize;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", frac(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", frac(nanos, 1_000_000));
    }
    let secs = nanos / 1_000_000_000;
    let sub = nanos % 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let s = frac(s * 1_000_000_000 + sub, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

/// Serves `/v2/stats/<which>` (`store`, `self` or `leader`); GET only.
pub fn handle<B>(backend: &B, method: &str, which: &str) -> Response<Body>
where
    B: V2Backend + StatsBackend + ?Sized,
{
    if method != "GET" {
        return method_not_allowed("GET");
    }
    match which {
        "store" => {
            let stats = backend
                .v2_store()
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .stats();
            json(StatusCode::OK, stats.to_json())
        }
        "self" => json(StatusCode::OK, to_go_json(&backend.self_stats())),
        _ => match backend.leader_stats() {
            Some(s) => json(StatusCode::OK, to_go_json(&s)),
            None => message_error(StatusCode::FORBIDDEN, "not current leader"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(5)), "5ns");
        assert_eq!(go_duration(Duration::from_nanos(1_500)), "1.5µs");
        assert_eq!(go_duration(ms(500)), "500ms");
        assert_eq!(go_duration(ms(68_190)), "1m8.19s");
        assert_eq!(go_duration(ms(3_723_500)), "1h2m3.5s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_secs(2)), "2s");
    }

    #[test]
    fn json_shapes_are_etcds() {
        let s = SelfStats {
            name: "t1".into(),
            id: "f4a457008d1441f2".into(),
            state: "StateLeader".into(),
            start_time: "2026-11-20T23:00:00.5Z".into(),
            leader_info: LeaderInfo {
                leader: "f4a457008d1441f2".into(),
                uptime: "1m8.19s".into(),
                start_time: "2026-11-20T23:00:01Z".into(),
            },
            recv_append_request_cnt: 0,
            send_append_request_cnt: 3,
        };
        assert_eq!(
            String::from_utf8(to_go_json(&s)).unwrap(),
            r#"{"name":"t1","id":"f4a457008d1441f2","state":"StateLeader","startTime":"2026-11-20T23:00:00.5Z","leaderInfo":{"leader":"f4a457008d1441f2","uptime":"1m8.19s","startTime":"2026-11-20T23:00:01Z"},"recvAppendRequestCnt":0,"sendAppendRequestCnt":3}"#
        );
        let mut followers = BTreeMap::new();
        followers.insert(
            "2".to_string(),
            FollowerStats {
                latency: LatencyStats {
                    current: 1.5,
                    ..Default::default()
                },
                counts: CountsStats {
                    fail: 0,
                    success: 7,
                },
            },
        );
        let l = LeaderStats {
            leader: "1".into(),
            followers,
        };
        assert_eq!(
            String::from_utf8(to_go_json(&l)).unwrap(),
            r#"{"leader":"1","followers":{"2":{"latency":{"current":1.5,"average":0,"standardDeviation":0,"minimum":0,"maximum":0},"counts":{"fail":0,"success":7}}}}"#
        );
    }
}
