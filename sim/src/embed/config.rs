//! [`Config`]: etcd 3.4's `embed.Config`, the settings our server honours, with
//! etcd's defaults. Settings of etcd's that we do not implement are kept by flag
//! name in [`Config::unsupported`] when given a non-default value, and
//! [`Config::validate`] rejects them.

use super::error::EmbedError;
pub use crate::api::v2::user_handlers::UserHandler;
pub use crate::api::v3::extra_services::{ExtraServices, ServiceRegister};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// etcd's default member name.
pub const DEFAULT_NAME: &str = "default";
/// etcd's default `--listen-peer-urls` and `--initial-advertise-peer-urls`.
pub const DEFAULT_PEER_URL: &str = "http://localhost:2380";
/// etcd's default `--listen-client-urls` and `--advertise-client-urls`.
pub const DEFAULT_CLIENT_URL: &str = "http://localhost:2379";
/// etcd 3.4's default `--snapshot-count` (also used when it is set to 0).
pub const DEFAULT_SNAPSHOT_COUNT: u64 = 100_000;
/// The longest election timeout etcd accepts, in milliseconds.
pub const MAX_ELECTION_MS: u64 = 50_000;

/// `--initial-cluster-state`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClusterState {
    /// `new`: bootstrap a new cluster from `--initial-cluster`.
    #[default]
    New,
    /// `existing`: join a running cluster (after `member add`).
    Existing,
}

impl ClusterState {
    /// etcd's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterState::New => "new",
            ClusterState::Existing => "existing",
        }
    }
}

/// The configuration of an embedded etcd server (etcd 3.4's `embed.Config`). Every
/// field documents its flag and default; [`Config::default`] is etcd's.
///
/// What our server does with each: the member settings (name, directories,
/// snapshot count, heartbeat and election, URLs, initial cluster and its state and
/// token, pre-vote) are honoured. `--enable-v2` must be true: the server implements
/// the v2 API only. Settings that only shape etcd's v3 backend or gRPC server
/// (quota, txn ops, request bytes, keepalive, auto compaction, backend batching) are
/// checked as etcd checks them and otherwise have no effect, as on etcd's v2 API.
/// The client port's TLS is honoured (`https://` client URLs; see
/// [`Config::client_tls`]); `--metrics` and `--listen-metrics-urls` serve etcd's
/// metrics (see [`crate::metrics`]); force-new-cluster and the corruption checks
/// are honoured. Anything else of etcd's (peer TLS, discovery, proxy, CORS and
/// host lists, other experimental features) is rejected by [`Config::validate`]
/// when set to a non-default value; `README.md` in this directory has the
/// field-by-field table. Two fields are not settings but hooks of the embedding
/// program, as in etcd: [`Config::user_handlers`] and [`Config::service_register`].
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `--name` (default `default`).
    pub name: String,
    /// `--data-dir`; `None` means `<name>.etcd`, as etcd does.
    pub data_dir: Option<PathBuf>,
    /// `--wal-dir`: a dedicated WAL directory (default: inside the data dir).
    pub wal_dir: Option<PathBuf>,
    /// `--snapshot-count`: applied entries between snapshots (default 100 000; 0
    /// means the default).
    pub snapshot_count: u64,
    /// `--max-snapshots`: snapshot files kept (default 5; 0 is unlimited).
    pub max_snapshots: u32,
    /// `--max-wals`: WAL files kept (default 5; 0 is unlimited).
    pub max_wals: u32,
    /// `--heartbeat-interval` in milliseconds (default 100): the Raft tick.
    pub heartbeat_ms: u64,
    /// `--election-timeout` in milliseconds (default 1000).
    pub election_ms: u64,
    /// `--initial-election-tick-advance` (default true): fast-forward a booting
    /// member's election clock once its peers are connected, as etcd does.
    pub initial_election_tick_advance: bool,
    /// `--listen-peer-urls` (default `http://localhost:2380`), sorted.
    pub listen_peer_urls: Vec<String>,
    /// `--listen-client-urls` (default `http://localhost:2379`), sorted.
    pub listen_client_urls: Vec<String>,
    /// `--initial-advertise-peer-urls` (default `http://localhost:2380`), sorted.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--advertise-client-urls` (default `http://localhost:2379`), sorted. Empty
    /// when `--listen-client-urls` was given without it (an error, as in etcd).
    pub advertise_client_urls: Vec<String>,
    /// `--initial-cluster`; `None` means etcd's default: this member alone,
    /// `<name>=<each advertised peer URL>` when the name is not `default`, else
    /// `default=http://localhost:2380` (so a member keeping the default name but
    /// advertising another peer URL must list itself, as in etcd).
    pub initial_cluster: Option<String>,
    /// `--initial-cluster-state` (default `new`).
    pub initial_cluster_state: ClusterState,
    /// `--initial-cluster-token` (default `etcd-cluster`).
    pub initial_cluster_token: String,
    /// `--discovery` (default empty): bootstrap a new cluster through etcd's v2
    /// discovery protocol at this URL (see [`crate::discovery::v2`]) instead of
    /// `--initial-cluster`. Ignored once the data directory holds a member.
    pub discovery: String,
    /// `--discovery-fallback` (default `proxy`): what a member that finds the
    /// discovery cluster full does. etcd starts a v2 proxy for `proxy`; etcd-sim
    /// has no proxy mode and exits with an error for both values.
    pub discovery_fallback: String,
    /// `--discovery-proxy` (default empty): an HTTP proxy (`host:port` or a URL)
    /// the discovery requests go through.
    pub discovery_proxy: String,
    /// `--discovery-srv` (default empty): bootstrap from the DNS SRV records of this
    /// domain (`_etcd-server-ssl._tcp.` and `_etcd-server._tcp.`). Real builds only.
    pub discovery_srv: String,
    /// `--discovery-srv-name` (default empty): suffix of the SRV service names
    /// (`_etcd-server-<name>._tcp.`).
    pub discovery_srv_name: String,
    /// `--strict-reconfig-check` (default true): membership changes that could
    /// break the active quorum are refused, as etcd refuses them.
    pub strict_reconfig_check: bool,
    /// `--enable-v2` (etcd 3.4's default: false). Must be true here.
    pub enable_v2: bool,
    /// `--pre-vote` (default false).
    pub pre_vote: bool,
    /// `--auth-token` (default `simple`): the v3 token provider, `simple` or
    /// `jwt,sign-method=<method>,priv-key=<file>,pub-key=<file>,ttl=<duration>`
    /// (see [`super::auth_token`]).
    pub auth_token: String,
    /// `--bcrypt-cost` (default 10): the cost of v3 password hashes (etcd's bounds,
    /// 4 to 31; another value falls back to 10). v2 passwords use 10.
    pub bcrypt_cost: u32,
    /// `--auth-token-ttl` in seconds (default 300; v3 tokens only).
    pub auth_token_ttl: u64,
    /// `--quota-backend-bytes` (default 0; etcd's v3 backend only).
    pub quota_backend_bytes: i64,
    /// `--backend-batch-interval` (default 0; v3 backend only).
    pub backend_batch_interval: Duration,
    /// `--backend-batch-limit` (default 0; v3 backend only).
    pub backend_batch_limit: i64,
    /// `--max-txn-ops` (default 128; v3 only).
    pub max_txn_ops: u32,
    /// `--max-request-bytes` (default 1.5 MiB; v3 gRPC only).
    pub max_request_bytes: u32,
    /// `--experimental-watch-progress-notify-interval` (10 minutes).
    pub watch_progress_notify_interval: Duration,
    /// `--max-concurrent-streams` (default 2^32-1; v3 gRPC only).
    pub max_concurrent_streams: u32,
    /// `--grpc-keepalive-min-time` (default 5 s; v3 gRPC only).
    pub grpc_keepalive_min_time: Duration,
    /// `--grpc-keepalive-interval` (default 2 h; v3 gRPC only).
    pub grpc_keepalive_interval: Duration,
    /// `--grpc-keepalive-timeout` (default 20 s; v3 gRPC only).
    pub grpc_keepalive_timeout: Duration,
    /// `--auto-compaction-mode` (default `periodic`; v3 MVCC only).
    pub auto_compaction_mode: String,
    /// `--auto-compaction-retention` (default `0`; v3 MVCC only).
    pub auto_compaction_retention: String,
    /// `--logger` (default `capnslog`; `zap` also accepted; the format is ours).
    pub logger: String,
    /// `--log-outputs` (default `default`, i.e. stderr). With `--logger=capnslog`
    /// exactly one of `default`, `stderr` and `stdout`; with `zap` also file paths
    /// (created if missing, appended to). The `etcd-sim` binary writes its log
    /// there; an embedded server logs through the application's `tracing`
    /// subscriber, which this setting does not change.
    pub log_outputs: Vec<String>,
    /// `--log-level` (default `info`).
    pub log_level: String,
    /// `--debug` (default false): log level debug.
    pub debug: bool,
    /// `--metrics` (default `basic`): `extensive` adds the gRPC handling-time
    /// histograms; any other value is basic (etcd checks no more).
    pub metrics: String,
    /// `--listen-metrics-urls` (default none): extra plain-HTTP listeners serving
    /// `/metrics` and `/health` only.
    pub listen_metrics_urls: Vec<String>,
    /// The client port's TLS (etcd's `ClientTLSInfo`): `--cert-file`,
    /// `--key-file`, `--trusted-ca-file`, `--client-cert-auth`,
    /// `--client-crl-file`. Default: none. Served on `https://` listen client
    /// URLs in real builds; sim builds accept it and serve plaintext.
    pub client_tls: crate::tls::ClientTls,
    /// `--auto-tls` (default false): without `--cert-file`/`--key-file`, a
    /// self-signed certificate made at start in `<data-dir>/fixtures/client`.
    pub client_auto_tls: bool,
    /// `--cipher-suites` (default: rustls's): the TLS 1.2 suites offered, in
    /// Go's names (see [`crate::tls::cipher`]).
    pub cipher_suites: Vec<String>,
    /// `--force-new-cluster` (default false): restarting from a data dir, commit
    /// what it holds and come up as a one-member cluster, every other member
    /// removed, all data kept (ignored for a new member, as in etcd).
    pub force_new_cluster: bool,
    /// The peer transport (not an etcd flag; default datagrams, see
    /// [`crate::raft::PeerTransportKind`]).
    pub peer_transport: crate::raft::PeerTransportKind,
    /// `--experimental-initial-corrupt-check` (default false): before serving, a
    /// restarted member compares its HashKV with its peers' and refuses to start
    /// on a mismatch.
    pub experimental_initial_corrupt_check: bool,
    /// `--experimental-corrupt-check-time` (default 0: off): how often the
    /// leader compares HashKV with the followers, raising the CORRUPT alarm on a
    /// mismatch.
    pub experimental_corrupt_check_time: Duration,
    /// etcd settings we do not implement that were given a non-default value, by
    /// flag name (e.g. `cert-file`), with the value as given.
    pub unsupported: BTreeMap<String, String>,
    /// The application's own HTTP handlers on every client port (etcd's
    /// `UserHandlers`; no flag), by Go `ServeMux` pattern: `/hello` matches that
    /// path only, `/app/` its whole subtree (and `/app` redirects there), the
    /// longest pattern wins, and a pattern wins over etcd's own paths (a
    /// `/health` here replaces etcd's). `/` and `/v3/` are etcd's and refused,
    /// as are host patterns. A handler that panics has its connection closed
    /// (HTTP/1) or stream reset (HTTP/2); the member serves on. See
    /// [`crate::api::v2::user_handlers`].
    ///
    /// ```
    /// use etcd_sim::embed::{Config, UserHandler};
    /// let mut cfg = Config::default();
    /// cfg.user_handlers.insert(
    ///     "/hello".into(),
    ///     UserHandler::new(|_req| async { http::Response::new("hello\n".into()) }),
    /// );
    /// ```
    pub user_handlers: BTreeMap<String, UserHandler>,
    /// The application's own gRPC services on every client port (etcd's
    /// `ServiceRegister`; no flag), served beside KV, Watch, Lease, ... over the
    /// same HTTP/2 connections, plaintext and TLS. The function adds tonic
    /// services (see [`ExtraServices::add`]); registering a name twice (one of
    /// etcd's, or the same service again) fails [`super::start`], as it is
    /// fatal in etcd. Calls to unknown services answer `Unimplemented`.
    ///
    /// ```ignore
    /// // `GreeterServer`, `MyGreeter`: a tonic-build service and its implementation.
    /// cfg.service_register = Some(ServiceRegister::new(|s| {
    ///     s.add(GreeterServer::new(MyGreeter::default()));
    /// }));
    /// ```
    pub service_register: Option<ServiceRegister>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: DEFAULT_NAME.into(),
            data_dir: None,
            wal_dir: None,
            snapshot_count: DEFAULT_SNAPSHOT_COUNT,
            max_snapshots: 5,
            max_wals: 5,
            heartbeat_ms: 100,
            election_ms: 1000,
            initial_election_tick_advance: true,
            listen_peer_urls: vec![DEFAULT_PEER_URL.into()],
            listen_client_urls: vec![DEFAULT_CLIENT_URL.into()],
            initial_advertise_peer_urls: vec![DEFAULT_PEER_URL.into()],
            advertise_client_urls: vec![DEFAULT_CLIENT_URL.into()],
            initial_cluster: None,
            initial_cluster_state: ClusterState::New,
            initial_cluster_token: "etcd-cluster".into(),
            discovery: String::new(),
            discovery_fallback: "proxy".into(),
            discovery_proxy: String::new(),
            discovery_srv: String::new(),
            discovery_srv_name: String::new(),
            strict_reconfig_check: true,
            enable_v2: false,
            pre_vote: false,
            auth_token: "simple".into(),
            bcrypt_cost: 10,
            auth_token_ttl: 300,
            quota_backend_bytes: 0,
            backend_batch_interval: Duration::ZERO,
            backend_batch_limit: 0,
            max_txn_ops: 128,
            max_request_bytes: 1_572_864,
            watch_progress_notify_interval: Duration::from_secs(600),
            max_concurrent_streams: u32::MAX,
            grpc_keepalive_min_time: Duration::from_secs(5),
            grpc_keepalive_interval: Duration::from_secs(2 * 3600),
            grpc_keepalive_timeout: Duration::from_secs(20),
            auto_compaction_mode: "periodic".into(),
            auto_compaction_retention: "0".into(),
            logger: "capnslog".into(),
            log_outputs: vec!["default".into()],
            log_level: "info".into(),
            debug: false,
            metrics: "basic".into(),
            listen_metrics_urls: Vec::new(),
            force_new_cluster: false,
            peer_transport: crate::raft::PeerTransportKind::default(),
            client_tls: crate::tls::ClientTls::default(),
            client_auto_tls: false,
            cipher_suites: Vec::new(),
            experimental_initial_corrupt_check: false,
            experimental_corrupt_check_time: Duration::ZERO,
            unsupported: BTreeMap::new(),
            user_handlers: BTreeMap::new(),
            service_register: None,
        }
    }
}

impl Config {
    /// The data directory: `data_dir`, or `<name>.etcd`.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.etcd", self.name)))
    }

    /// The initial cluster string: `initial_cluster`, or this member alone. With
    /// discovery (`--discovery`, `--discovery-srv`) and no `--initial-cluster` it is
    /// this member's own entry (`<name>=<advertised peer URLs>`), as etcd's
    /// `PeerURLsMapAndToken` builds it before asking the discovery service.
    pub fn initial_cluster(&self) -> String {
        match &self.initial_cluster {
            Some(s) => s.clone(),
            None if self.uses_discovery() => self.own_cluster_entry(),
            // etcd derives it from the name only when the name was changed.
            None if self.name == DEFAULT_NAME || self.name.is_empty() => {
                format!("{DEFAULT_NAME}={DEFAULT_PEER_URL}")
            }
            None => self
                .initial_advertise_peer_urls
                .iter()
                .map(|u| format!("{}={u}", self.name))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Whether a discovery flag (`--discovery` or `--discovery-srv`) is set.
    pub fn uses_discovery(&self) -> bool {
        !self.discovery.is_empty() || !self.discovery_srv.is_empty()
    }

    /// `<name>=<url>` for each advertised peer URL, joined with commas.
    pub fn own_cluster_entry(&self) -> String {
        self.initial_advertise_peer_urls
            .iter()
            .map(|u| format!("{}={u}", self.name))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The token provider `--auth-token` names, its keys read from disk.
    ///
    /// # Errors
    ///
    /// [`EmbedError::Invalid`] with etcd's words, [`EmbedError::Unsupported`].
    pub fn token_kind(&self) -> Result<crate::auth::v3::TokenKind, EmbedError> {
        super::auth_token::token_kind(&self.auth_token)
    }

    /// The Raft tick.
    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    /// Election timeout in ticks (etcd: election ms / heartbeat ms).
    pub fn election_ticks(&self) -> usize {
        usize::try_from(self.election_ms / self.heartbeat_ms.max(1)).unwrap_or(usize::MAX)
    }

    /// The automatic compaction these settings ask for (`None`: off).
    ///
    /// # Errors
    ///
    /// [`EmbedError::Invalid`] with etcd's text for a retention it cannot read.
    pub fn auto_compaction(
        &self,
    ) -> Result<Option<crate::server::v3_compactor::AutoCompaction>, EmbedError> {
        crate::server::v3_compactor::AutoCompaction::parse(
            &self.auto_compaction_mode,
            &self.auto_compaction_retention,
            super::values::parse_duration,
        )
        .map_err(EmbedError::Invalid)
    }

    /// The snapshot count in effect (0 means etcd's default).
    pub fn effective_snapshot_count(&self) -> u64 {
        if self.snapshot_count == 0 {
            DEFAULT_SNAPSHOT_COUNT
        } else {
            self.snapshot_count
        }
    }

    /// `log_outputs` as etcd's flag parser leaves them: sorted, without repeats.
    pub fn log_output_set(&self) -> Vec<&str> {
        let mut outputs: Vec<&str> = self.log_outputs.iter().map(String::as_str).collect();
        outputs.sort_unstable();
        outputs.dedup();
        outputs
    }

    /// The tracing filter directive for `log_level` and `debug`.
    pub fn log_filter(&self) -> &str {
        if self.debug {
            return "debug";
        }
        match self.log_level.as_str() {
            "debug" => "debug",
            "warn" => "warn",
            "error" | "panic" | "fatal" => "error",
            _ => "info",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_etcd_3_4s() {
        let c = Config::default();
        assert_eq!(c.name, "default");
        assert_eq!(c.data_dir(), PathBuf::from("default.etcd"));
        assert_eq!(c.initial_cluster(), "default=http://localhost:2380");
        assert_eq!(c.snapshot_count, 100_000);
        assert_eq!(
            (c.heartbeat_ms, c.election_ms, c.election_ticks()),
            (100, 1000, 10)
        );
        assert_eq!(c.max_request_bytes, 1_572_864);
        assert!(!c.enable_v2 && c.strict_reconfig_check && !c.pre_vote);
        let named = Config {
            name: "n1".into(),
            initial_advertise_peer_urls: vec!["http://10.0.0.1:2380".into()],
            ..Config::default()
        };
        assert_eq!(named.initial_cluster(), "n1=http://10.0.0.1:2380");
        assert_eq!(named.data_dir(), PathBuf::from("n1.etcd"));
        assert_eq!(
            Config {
                snapshot_count: 0,
                ..Config::default()
            }
            .effective_snapshot_count(),
            100_000
        );
    }
}
