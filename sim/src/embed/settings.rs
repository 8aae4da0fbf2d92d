//! etcd 3.4's settings (its command-line flags, which are also its YAML keys and,
//! upper-cased, its `ETCD_*` variables): their kinds, defaults and what our server
//! does with each; and [`apply`], which sets one on a [`Config`].

use super::config::{ClusterState, Config};
use super::urls::parse_url_list;
use super::values::{parse_bool, parse_duration, parse_int, parse_uint};
use std::path::PathBuf;
use std::time::Duration;

/// How a setting's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A Go bool flag: `--flag` alone means true.
    Bool,
    /// An unsigned integer (Go `uint`/`uint64`).
    Uint,
    /// A signed integer (Go `int`/`int64`).
    Int,
    /// A Go duration (`5s`).
    Duration,
    /// Free text.
    Str,
    /// A comma-separated URL list.
    Urls,
    /// Comma-separated strings.
    Strings,
    /// One of the listed values.
    Choice(&'static [&'static str]),
    /// A flag etcd accepts and ignores (an old etcd 0.4 flag).
    Ignored,
}

/// What our server does with a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Kept in a [`Config`] field.
    Field,
    /// Not implemented: a non-default value is recorded in
    /// [`Config::unsupported`] and rejected by validation.
    Unsupported,
    /// Accepted, but it configures something our server does not have (a warning
    /// says so when it is not the default).
    NoEffect,
    /// Handled by the command line itself (`--version`, `--config-file`).
    Command,
}

/// One of etcd's settings.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The flag name without dashes (`listen-client-urls`).
    pub name: &'static str,
    /// How its value is written.
    pub kind: Kind,
    /// etcd's default, as its help shows it.
    pub default: &'static str,
    /// What our server does with it.
    pub support: Support,
    /// One line of help.
    pub help: &'static str,
}

const fn s(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    support: Support,
    help: &'static str,
) -> Setting {
    Setting {
        name,
        kind,
        default,
        support,
        help,
    }
}

use Kind::{Bool, Duration as Dur, Ignored, Int, Str, Strings, Uint, Urls};
use Support::{Command, Field, NoEffect, Unsupported};

/// Every setting of etcd 3.4.23, in the order of its help.
pub const SETTINGS: &[Setting] = &[
    s(
        "config-file",
        Str,
        "",
        Command,
        "Path to the server configuration file (YAML); other flags and ETCD_* variables are then ignored.",
    ),
    // Member.
    s(
        "name",
        Str,
        "default",
        Field,
        "Human-readable name for this member.",
    ),
    s(
        "data-dir",
        Str,
        "${name}.etcd",
        Field,
        "Path to the data directory.",
    ),
    s(
        "wal-dir",
        Str,
        "",
        Field,
        "Path to the dedicated WAL directory.",
    ),
    s(
        "snapshot-count",
        Uint,
        "100000",
        Field,
        "Committed entries that trigger a snapshot.",
    ),
    s(
        "heartbeat-interval",
        Uint,
        "100",
        Field,
        "Heartbeat interval (ms): the Raft tick.",
    ),
    s(
        "election-timeout",
        Uint,
        "1000",
        Field,
        "Election timeout (ms).",
    ),
    s(
        "initial-election-tick-advance",
        Bool,
        "true",
        Field,
        "Fast-forward initial election ticks (etcd-sim: accepted, never fast-forwards).",
    ),
    s(
        "listen-peer-urls",
        Urls,
        "http://localhost:2380",
        Field,
        "URLs to listen on for peer traffic.",
    ),
    s(
        "listen-client-urls",
        Urls,
        "http://localhost:2379",
        Field,
        "URLs to listen on for client traffic.",
    ),
    s(
        "max-snapshots",
        Uint,
        "5",
        Field,
        "Snapshot files to keep (0 is unlimited).",
    ),
    s(
        "max-wals",
        Uint,
        "5",
        Field,
        "WAL files to keep (0 is unlimited).",
    ),
    s(
        "quota-backend-bytes",
        Int,
        "0",
        Field,
        "v3 backend quota (no effect on the v2 API).",
    ),
    s(
        "backend-batch-interval",
        Dur,
        "0s",
        Field,
        "v3 backend commit interval (no effect on the v2 API).",
    ),
    s(
        "backend-batch-limit",
        Int,
        "0",
        Field,
        "v3 backend commit batch (no effect on the v2 API).",
    ),
    s(
        "max-txn-ops",
        Uint,
        "128",
        Field,
        "Most operations in a v3 transaction (no effect on the v2 API).",
    ),
    s(
        "max-request-bytes",
        Uint,
        "1572864",
        Field,
        "Largest v3 request (bytes).",
    ),
    s(
        "max-concurrent-streams",
        Uint,
        "4294967295",
        Field,
        "gRPC streams per client (no effect on the v2 API).",
    ),
    s(
        "grpc-keepalive-min-time",
        Dur,
        "5s",
        Field,
        "gRPC keepalive minimum (no effect on the v2 API).",
    ),
    s(
        "grpc-keepalive-interval",
        Dur,
        "2h0m0s",
        Field,
        "gRPC keepalive interval (no effect on the v2 API).",
    ),
    s(
        "grpc-keepalive-timeout",
        Dur,
        "20s",
        Field,
        "gRPC keepalive timeout (no effect on the v2 API).",
    ),
    // Clustering.
    s(
        "initial-advertise-peer-urls",
        Urls,
        "http://localhost:2380",
        Field,
        "This member's peer URLs advertised to the cluster.",
    ),
    s(
        "initial-cluster",
        Str,
        "default=http://localhost:2380",
        Field,
        "Initial cluster configuration for bootstrapping.",
    ),
    s(
        "initial-cluster-state",
        Kind::Choice(&["new", "existing"]),
        "new",
        Field,
        "Initial cluster state ('new' or 'existing').",
    ),
    s(
        "initial-cluster-token",
        Str,
        "etcd-cluster",
        Field,
        "Initial cluster token.",
    ),
    s(
        "advertise-client-urls",
        Urls,
        "http://localhost:2379",
        Field,
        "This member's client URLs advertised to clients.",
    ),
    s(
        "discovery",
        Str,
        "",
        Field,
        "Discovery URL used to bootstrap the cluster (etcd's v2 discovery protocol).",
    ),
    s(
        "discovery-fallback",
        Kind::Choice(&["proxy", "exit"]),
        "proxy",
        Field,
        "Expected behavior ('exit' or 'proxy') when discovery services fails (etcd-sim has no proxy mode: a full cluster makes it exit either way).",
    ),
    s(
        "discovery-proxy",
        Str,
        "",
        Field,
        "HTTP proxy to use for traffic to discovery service.",
    ),
    s(
        "discovery-srv",
        Str,
        "",
        Field,
        "DNS domain used to bootstrap initial cluster (real builds only; not in the simulator).",
    ),
    s(
        "discovery-srv-name",
        Str,
        "",
        Field,
        "Service name to query when using DNS discovery.",
    ),
    s(
        "strict-reconfig-check",
        Bool,
        "true",
        Field,
        "Reject reconfigurations that would lose quorum (etcd-sim: not enforced).",
    ),
    s(
        "pre-vote",
        Bool,
        "false",
        Field,
        "Run Raft's pre-vote phase.",
    ),
    s(
        "auto-compaction-retention",
        Str,
        "0",
        Field,
        "v3 auto compaction retention: hours or revisions (by mode), or a duration.",
    ),
    s(
        "auto-compaction-mode",
        Str,
        "periodic",
        Field,
        "v3 auto compaction mode: periodic|revision.",
    ),
    s(
        "enable-v2",
        Bool,
        "false",
        Field,
        "Accept v2 requests (etcd-sim serves only v2: must be true).",
    ),
    // Security.
    s(
        "cert-file",
        Str,
        "",
        Field,
        "Path to the client server TLS cert file (sim builds: accepted, the port runs plaintext).",
    ),
    s(
        "key-file",
        Str,
        "",
        Field,
        "Path to the client server TLS key file.",
    ),
    s(
        "client-cert-auth",
        Bool,
        "false",
        Field,
        "Enable client cert authentication (v3 auth: the certificate's CN is the user of requests without a token).",
    ),
    s(
        "client-crl-file",
        Str,
        "",
        Field,
        "Path to the client certificate revocation list file.",
    ),
    s(
        "client-cert-allowed-hostname",
        Str,
        "",
        Field,
        "Allowed TLS hostname for client cert authentication.",
    ),
    s(
        "trusted-ca-file",
        Str,
        "",
        Field,
        "Path to the client server TLS trusted CA cert file.",
    ),
    s(
        "auto-tls",
        Bool,
        "false",
        Field,
        "Client TLS using generated certificates (a P-256 key; etcd makes P-521).",
    ),
    s(
        "peer-cert-file",
        Str,
        "",
        Unsupported,
        "Peer TLS cert file (not supported).",
    ),
    s(
        "peer-key-file",
        Str,
        "",
        Unsupported,
        "Peer TLS key file (not supported).",
    ),
    s(
        "peer-client-cert-auth",
        Bool,
        "false",
        Unsupported,
        "Peer cert authentication (not supported).",
    ),
    s(
        "peer-trusted-ca-file",
        Str,
        "",
        Unsupported,
        "Peer trusted CA file (not supported).",
    ),
    s(
        "peer-cert-allowed-cn",
        Str,
        "",
        Unsupported,
        "Peer cert CN (not supported).",
    ),
    s(
        "peer-cert-allowed-hostname",
        Str,
        "",
        Unsupported,
        "Peer cert hostname (not supported).",
    ),
    s(
        "peer-auto-tls",
        Bool,
        "false",
        Unsupported,
        "Peer auto TLS (not supported).",
    ),
    s(
        "peer-crl-file",
        Str,
        "",
        Unsupported,
        "Peer CRL file (not supported).",
    ),
    s(
        "cipher-suites",
        Strings,
        "",
        Field,
        "Comma-separated list of supported TLS cipher suites between client/server (Go's names; TLS 1.2 only, as in Go; the suites rustls offers).",
    ),
    s(
        "experimental-peer-skip-client-san-verification",
        Bool,
        "false",
        Unsupported,
        "Skip peer SAN verification (not supported).",
    ),
    s(
        "cors",
        Str,
        "*",
        Unsupported,
        "CORS origins (etcd-sim allows all: only '*').",
    ),
    s(
        "host-whitelist",
        Str,
        "*",
        Unsupported,
        "Acceptable Host headers (etcd-sim allows all: only '*').",
    ),
    // Auth.
    s(
        "auth-token",
        Str,
        "simple",
        Field,
        "Specify v3 authentication token type and its options ('simple' or 'jwt'): jwt,sign-method=<RS256..PS512|ES256..ES512|HS256..HS512>,priv-key=<file>,pub-key=<file>,ttl=<duration>.",
    ),
    s(
        "bcrypt-cost",
        Uint,
        "10",
        Field,
        "bcrypt cost for v3 passwords (4 to 31; others fall back to 10, as etcd; v2 passwords use 10).",
    ),
    s(
        "auth-token-ttl",
        Uint,
        "300",
        Field,
        "v3 simple token TTL in seconds (no effect on the v2 API).",
    ),
    // Profiling and monitoring.
    s(
        "enable-pprof",
        Bool,
        "false",
        Unsupported,
        "pprof over HTTP (not supported).",
    ),
    s(
        "metrics",
        Str,
        "basic",
        Field,
        "Set level of detail for exported metrics, specify 'extensive' to include histogram metrics.",
    ),
    s(
        "listen-metrics-urls",
        Urls,
        "",
        Field,
        "List of URLs to listen on for the metrics and health endpoints.",
    ),
    // Logging.
    s(
        "logger",
        Str,
        "capnslog",
        Field,
        "'capnslog' or 'zap' (etcd-sim logs in its own format).",
    ),
    s(
        "log-output",
        Strings,
        "default",
        Field,
        "Deprecated alias of --log-outputs.",
    ),
    s(
        "log-outputs",
        Strings,
        "default",
        Field,
        "Log to 'default', 'stderr' or 'stdout'; with --logger=zap also to files (comma-separated).",
    ),
    s(
        "log-level",
        Str,
        "info",
        Field,
        "debug, info, warn, error, panic or fatal.",
    ),
    s("debug", Bool, "false", Field, "Debug-level logging."),
    s(
        "log-package-levels",
        Str,
        "",
        Unsupported,
        "Per-package log levels (not supported).",
    ),
    // v2 proxy.
    s(
        "proxy",
        Kind::Choice(&["off", "readonly", "on"]),
        "off",
        Unsupported,
        "v2 proxy mode (not supported).",
    ),
    s(
        "proxy-failure-wait",
        Uint,
        "5000",
        NoEffect,
        "v2 proxy setting (no proxy: no effect).",
    ),
    s(
        "proxy-refresh-interval",
        Uint,
        "30000",
        NoEffect,
        "v2 proxy setting (no proxy: no effect).",
    ),
    s(
        "proxy-dial-timeout",
        Uint,
        "1000",
        NoEffect,
        "v2 proxy setting (no proxy: no effect).",
    ),
    s(
        "proxy-write-timeout",
        Uint,
        "5000",
        NoEffect,
        "v2 proxy setting (no proxy: no effect).",
    ),
    s(
        "proxy-read-timeout",
        Uint,
        "0",
        NoEffect,
        "v2 proxy setting (no proxy: no effect).",
    ),
    // Experimental and unsafe.
    s(
        "experimental-initial-corrupt-check",
        Bool,
        "false",
        Field,
        "Check data corruption (HashKV against the peers') before serving a restarted member.",
    ),
    s(
        "experimental-corrupt-check-time",
        Dur,
        "0s",
        Field,
        "How often the leader checks data corruption (0: off); a mismatch raises the CORRUPT alarm.",
    ),
    s(
        "experimental-enable-v2v3",
        Str,
        "",
        Unsupported,
        "v2 over the v3 backend (not supported).",
    ),
    s(
        "experimental-backend-bbolt-freelist-type",
        Str,
        "array",
        NoEffect,
        "bbolt freelist type (no bbolt: no effect).",
    ),
    s(
        "experimental-enable-lease-checkpoint",
        Bool,
        "false",
        NoEffect,
        "v3 lease checkpoints (no effect on the v2 API).",
    ),
    s(
        "experimental-enable-lease-checkpoint-persist",
        Bool,
        "false",
        NoEffect,
        "Persist checkpointed lease TTLs (no effect: checkpoints are not enabled).",
    ),
    s(
        "experimental-compaction-batch-limit",
        Int,
        "1000",
        NoEffect,
        "v3 compaction batch (no effect on the v2 API).",
    ),
    s(
        "experimental-watch-progress-notify-interval",
        Dur,
        "10m0s",
        Field,
        "Interval of v3 watch progress notifications (minimum 100ms).",
    ),
    s(
        "experimental-warning-apply-duration",
        Dur,
        "100ms",
        NoEffect,
        "Slow-apply warning threshold (no effect).",
    ),
    s(
        "enable-grpc-gateway",
        Bool,
        "true",
        NoEffect,
        "v3 gRPC gateway (no effect on the v2 API).",
    ),
    s(
        "unsafe-no-fsync",
        Bool,
        "false",
        Unsupported,
        "Skip fsync (not supported).",
    ),
    s(
        "force-new-cluster",
        Bool,
        "false",
        Field,
        "Force to create a new one member cluster (from an existing data dir).",
    ),
    s(
        "version",
        Bool,
        "false",
        Command,
        "Print the version and exit.",
    ),
    // etcd 0.4's flags, accepted and ignored.
    s("cluster-active-size", Ignored, "", Command, ""),
    s("cluster-remove-delay", Ignored, "", Command, ""),
    s("cluster-sync-interval", Ignored, "", Command, ""),
    s("config", Ignored, "", Command, ""),
    s("force", Ignored, "", Command, ""),
    s("max-result-buffer", Ignored, "", Command, ""),
    s("max-retry-attempts", Ignored, "", Command, ""),
    s("peer-heartbeat-interval", Ignored, "", Command, ""),
    s("peer-election-timeout", Ignored, "", Command, ""),
    s("retry-interval", Ignored, "", Command, ""),
    s("snapshot", Ignored, "", Command, ""),
    s("v", Ignored, "", Command, ""),
    s("vv", Ignored, "", Command, ""),
    s("test.coverprofile", Ignored, "", Command, ""),
    s("test.outputdir", Ignored, "", Command, ""),
];

/// The setting named `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// A setting's value, parsed by its kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A bool.
    Bool(bool),
    /// An unsigned integer.
    Uint(u64),
    /// A signed integer.
    Int(i64),
    /// A duration.
    Duration(Duration),
    /// Text (also a choice).
    Str(String),
    /// A list (URLs, strings).
    List(Vec<String>),
}

impl Setting {
    /// Parses `raw` by this setting's kind.
    ///
    /// # Errors
    ///
    /// The Go flag package's reason (`parse error`, `value out of range`, a URL
    /// error, `invalid value` for a choice).
    pub fn parse(&self, raw: &str) -> Result<Value, String> {
        Ok(match self.kind {
            Bool | Ignored => Value::Bool(parse_bool(raw)?),
            Uint => Value::Uint(parse_uint(raw)?),
            Int => Value::Int(parse_int(raw)?),
            Dur => Value::Duration(parse_duration(raw)?),
            Str => Value::Str(raw.to_string()),
            Urls => Value::List(parse_url_list(raw)?),
            Strings => Value::List(
                raw.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            Kind::Choice(valid) => {
                if !valid.contains(&raw) {
                    return Err("invalid value".into());
                }
                Value::Str(raw.to_string())
            }
        })
    }

    /// Whether `value` is this setting's default.
    pub fn is_default(&self, value: &Value) -> bool {
        self.parse(self.default).is_ok_and(|d| &d == value)
    }
}

/// What applying a setting noted for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Stored.
    Set,
    /// Accepted without effect (the text says why), or ignored.
    Notice(String),
}

/// Sets `setting` to `value` on `cfg`.
///
/// # Errors
///
/// `value out of range` when a number does not fit the field.
pub fn apply(
    cfg: &mut Config,
    setting: &Setting,
    raw: &str,
    value: Value,
) -> Result<Applied, String> {
    match setting.support {
        Support::Command => {
            if setting.kind == Ignored {
                return Ok(Applied::Notice(format!(
                    "flag --{} is ignored",
                    setting.name
                )));
            }
            return Ok(Applied::Set);
        }
        Support::Unsupported => {
            if setting.is_default(&value) {
                cfg.unsupported.remove(setting.name);
            } else {
                cfg.unsupported.insert(setting.name.into(), raw.into());
            }
            return Ok(Applied::Set);
        }
        Support::NoEffect => {
            if setting.is_default(&value) {
                return Ok(Applied::Set);
            }
            return Ok(Applied::Notice(format!(
                "--{}={raw} has no effect in etcd-sim: {}",
                setting.name, setting.help
            )));
        }
        Support::Field => {}
    }
    set_field(cfg, setting.name, value)?;
    Ok(Applied::Set)
}

/// A path flag: empty means unset.
fn path_of(v: String) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
}

fn u32_of(v: u64) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| "value out of range".into())
}

fn set_field(cfg: &mut Config, name: &str, value: Value) -> Result<(), String> {
    use Value as V;
    match (name, value) {
        ("name", V::Str(v)) => cfg.name = v,
        ("data-dir", V::Str(v)) => cfg.data_dir = (!v.is_empty()).then(|| PathBuf::from(v)),
        ("wal-dir", V::Str(v)) => cfg.wal_dir = (!v.is_empty()).then(|| PathBuf::from(v)),
        ("snapshot-count", V::Uint(v)) => cfg.snapshot_count = v,
        ("heartbeat-interval", V::Uint(v)) => cfg.heartbeat_ms = v,
        ("election-timeout", V::Uint(v)) => cfg.election_ms = v,
        ("initial-election-tick-advance", V::Bool(v)) => cfg.initial_election_tick_advance = v,
        ("listen-peer-urls", V::List(v)) => cfg.listen_peer_urls = v,
        ("listen-client-urls", V::List(v)) => cfg.listen_client_urls = v,
        ("max-snapshots", V::Uint(v)) => cfg.max_snapshots = u32_of(v)?,
        ("max-wals", V::Uint(v)) => cfg.max_wals = u32_of(v)?,
        ("quota-backend-bytes", V::Int(v)) => cfg.quota_backend_bytes = v,
        ("backend-batch-interval", V::Duration(v)) => cfg.backend_batch_interval = v,
        ("backend-batch-limit", V::Int(v)) => cfg.backend_batch_limit = v,
        ("max-txn-ops", V::Uint(v)) => cfg.max_txn_ops = u32_of(v)?,
        ("max-request-bytes", V::Uint(v)) => cfg.max_request_bytes = u32_of(v)?,
        ("experimental-watch-progress-notify-interval", V::Duration(v)) => {
            cfg.watch_progress_notify_interval = v
        }
        ("max-concurrent-streams", V::Uint(v)) => cfg.max_concurrent_streams = u32_of(v)?,
        ("grpc-keepalive-min-time", V::Duration(v)) => cfg.grpc_keepalive_min_time = v,
        ("grpc-keepalive-interval", V::Duration(v)) => cfg.grpc_keepalive_interval = v,
        ("grpc-keepalive-timeout", V::Duration(v)) => cfg.grpc_keepalive_timeout = v,
        ("initial-advertise-peer-urls", V::List(v)) => cfg.initial_advertise_peer_urls = v,
        ("initial-cluster", V::Str(v)) => cfg.initial_cluster = Some(v),
        ("initial-cluster-state", V::Str(v)) => {
            cfg.initial_cluster_state = if v == "existing" {
                ClusterState::Existing
            } else {
                ClusterState::New
            }
        }
        ("initial-cluster-token", V::Str(v)) => cfg.initial_cluster_token = v,
        ("discovery", V::Str(v)) => cfg.discovery = v,
        ("discovery-fallback", V::Str(v)) => cfg.discovery_fallback = v,
        ("discovery-proxy", V::Str(v)) => cfg.discovery_proxy = v,
        ("discovery-srv", V::Str(v)) => cfg.discovery_srv = v,
        ("discovery-srv-name", V::Str(v)) => cfg.discovery_srv_name = v,
        ("advertise-client-urls", V::List(v)) => cfg.advertise_client_urls = v,
        ("strict-reconfig-check", V::Bool(v)) => cfg.strict_reconfig_check = v,
        ("pre-vote", V::Bool(v)) => cfg.pre_vote = v,
        ("auto-compaction-retention", V::Str(v)) => cfg.auto_compaction_retention = v,
        ("auto-compaction-mode", V::Str(v)) => cfg.auto_compaction_mode = v,
        ("enable-v2", V::Bool(v)) => cfg.enable_v2 = v,
        ("auth-token", V::Str(v)) => cfg.auth_token = v,
        ("bcrypt-cost", V::Uint(v)) => cfg.bcrypt_cost = u32_of(v)?,
        ("auth-token-ttl", V::Uint(v)) => cfg.auth_token_ttl = v,
        ("logger", V::Str(v)) => cfg.logger = v,
        ("log-output" | "log-outputs", V::List(v)) => cfg.log_outputs = v,
        ("log-level", V::Str(v)) => cfg.log_level = v,
        ("debug", V::Bool(v)) => cfg.debug = v,
        ("force-new-cluster", V::Bool(v)) => cfg.force_new_cluster = v,
        ("cert-file", V::Str(v)) => cfg.client_tls.cert_file = path_of(v),
        ("key-file", V::Str(v)) => cfg.client_tls.key_file = path_of(v),
        ("trusted-ca-file", V::Str(v)) => cfg.client_tls.trusted_ca_file = path_of(v),
        ("client-cert-auth", V::Bool(v)) => cfg.client_tls.client_cert_auth = v,
        ("client-crl-file", V::Str(v)) => cfg.client_tls.crl_file = path_of(v),
        ("client-cert-allowed-hostname", V::Str(v)) => {
            cfg.client_tls.allowed_hostname = Some(v).filter(|h| !h.is_empty())
        }
        ("auto-tls", V::Bool(v)) => cfg.client_auto_tls = v,
        ("cipher-suites", V::List(v)) => cfg.cipher_suites = v,
        ("metrics", V::Str(v)) => cfg.metrics = v,
        ("listen-metrics-urls", V::List(v)) => cfg.listen_metrics_urls = v,
        ("experimental-initial-corrupt-check", V::Bool(v)) => {
            cfg.experimental_initial_corrupt_check = v
        }
        ("experimental-corrupt-check-time", V::Duration(v)) => {
            cfg.experimental_corrupt_check_time = v
        }
        (name, value) => {
            return Err(format!("internal: setting {name} cannot take {value:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cfg: &mut Config, name: &str, raw: &str) -> Result<Applied, String> {
        let setting = find(name).unwrap();
        let value = setting.parse(raw)?;
        apply(cfg, setting, raw, value)
    }

    #[test]
    fn every_field_setting_applies_its_default() {
        // Applying each default must be accepted (kinds and setters agree) and leave
        // etcd's defaults in place.
        let mut cfg = Config::default();
        for st in SETTINGS {
            if st.support == Support::Field && st.name != "data-dir" && st.name != "initial-cluster"
            {
                let v = st
                    .parse(st.default)
                    .unwrap_or_else(|e| panic!("{}: {e}", st.name));
                apply(&mut cfg, st, st.default, v).unwrap();
            }
        }
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn unsupported_and_no_effect() {
        let mut cfg = Config::default();
        set(&mut cfg, "peer-cert-file", "/tmp/c.pem").unwrap();
        set(&mut cfg, "cors", "*").unwrap();
        assert_eq!(
            cfg.unsupported.keys().collect::<Vec<_>>(),
            vec!["peer-cert-file"]
        );
        set(&mut cfg, "peer-cert-file", "").unwrap();
        assert!(cfg.unsupported.is_empty());
        assert!(matches!(
            set(&mut cfg, "proxy-read-timeout", "10").unwrap(),
            Applied::Notice(_)
        ));
        assert_eq!(
            set(&mut cfg, "proxy-read-timeout", "0").unwrap(),
            Applied::Set
        );
        assert_eq!(
            set(&mut cfg, "max-wals", "4294967296").unwrap_err(),
            "value out of range"
        );
        assert_eq!(
            set(&mut cfg, "initial-cluster-state", "foo").unwrap_err(),
            "invalid value"
        );
        set(&mut cfg, "listen-client-urls", "http://b:1,http://a:1").unwrap();
        assert_eq!(cfg.listen_client_urls, vec!["http://a:1", "http://b:1"]);
    }

    #[test]
    fn client_tls_flags_set_their_fields() {
        let mut cfg = Config::default();
        set(&mut cfg, "cert-file", "/s.pem").unwrap();
        set(&mut cfg, "key-file", "/s.key").unwrap();
        set(&mut cfg, "trusted-ca-file", "/ca.pem").unwrap();
        set(&mut cfg, "client-cert-auth", "true").unwrap();
        set(&mut cfg, "client-crl-file", "/crl.pem").unwrap();
        set(&mut cfg, "auto-tls", "true").unwrap();
        set(
            &mut cfg,
            "cipher-suites",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        )
        .unwrap();
        assert!(cfg.unsupported.is_empty());
        let tls = &cfg.client_tls;
        assert_eq!(
            tls.cert_file.as_deref(),
            Some(std::path::Path::new("/s.pem"))
        );
        assert_eq!(
            tls.key_file.as_deref(),
            Some(std::path::Path::new("/s.key"))
        );
        assert_eq!(
            tls.trusted_ca_file.as_deref(),
            Some(std::path::Path::new("/ca.pem"))
        );
        assert_eq!(
            tls.crl_file.as_deref(),
            Some(std::path::Path::new("/crl.pem"))
        );
        assert!(tls.client_cert_auth && cfg.client_auto_tls);
        assert_eq!(cfg.cipher_suites.len(), 2);
        set(&mut cfg, "cert-file", "").unwrap();
        assert_eq!(cfg.client_tls.cert_file, None);
    }
}
