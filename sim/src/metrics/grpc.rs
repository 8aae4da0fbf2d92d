//! gRPC server metrics as etcd 3.4 exports them through grpc-prometheus:
//! `grpc_server_started_total`, `grpc_server_handled_total`,
//! `grpc_server_msg_received_total`, `grpc_server_msg_sent_total`, with
//! `--metrics extensive` `grpc_server_handling_seconds`, and etcd's own byte
//! counters of its gRPC codec (`etcd_network_client_grpc_{received,sent}_bytes_total`:
//! the encoded size of every message in and out).
//!
//! Every call goes through one [`RpcCall`] ([`GrpcMetrics::start`]): started at
//! once, messages as they pass, handled once with its code (when it is dropped
//! unfinished, the client went away: see [`RpcType::abandoned_code`]). The
//! methods etcd registers at start ([`REGISTERED`]) are listed with zeros before
//! any call, as grpc-prometheus pre-initialises them; Lock and Election, which
//! etcd registers later, appear once called.

use super::exposition::{Family, Kind, Labels, Value};
use prometheus_client::metrics::histogram::Histogram;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// How a method streams (the `grpc_type` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RpcType {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStream,
    /// Streams both ways.
    BidiStream,
}

impl RpcType {
    /// The label value grpc-prometheus prints.
    pub fn as_str(self) -> &'static str {
        match self {
            RpcType::Unary => "unary",
            RpcType::ServerStream => "server_stream",
            RpcType::BidiStream => "bidi_stream",
        }
    }

    /// The code a call ends with when the client goes away before it finished:
    /// etcd's bidi handlers (Watch, LeaseKeepAlive) turn the cancelled context into
    /// Unavailable ("the only server-side cancellation is noleader"); other
    /// handlers end with the context's Canceled.
    pub fn abandoned_code(self) -> i32 {
        match self {
            RpcType::BidiStream => CODE_UNAVAILABLE,
            RpcType::Unary | RpcType::ServerStream => CODE_CANCELED,
        }
    }
}

/// One gRPC method: its service's full name, its name and how it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rpc {
    /// `etcdserverpb.KV`, `grpc.health.v1.Health`, ...
    pub service: &'static str,
    /// `Range`, `Watch`, ...
    pub method: &'static str,
    /// Unary or streaming.
    pub kind: RpcType,
}

const fn rpc(service: &'static str, method: &'static str, kind: RpcType) -> Rpc {
    Rpc {
        service,
        method,
        kind,
    }
}

const KV: &str = "etcdserverpb.KV";
const WATCH: &str = "etcdserverpb.Watch";
const LEASE: &str = "etcdserverpb.Lease";
const CLUSTER: &str = "etcdserverpb.Cluster";
const MAINTENANCE: &str = "etcdserverpb.Maintenance";
const AUTH: &str = "etcdserverpb.Auth";
const HEALTH: &str = "grpc.health.v1.Health";
const LOCK: &str = "v3lockpb.Lock";
const ELECTION: &str = "v3electionpb.Election";

use RpcType::{BidiStream, ServerStream, Unary};

/// Every method a member serves, by service.
pub mod rpcs {
    #![allow(missing_docs)]
    use super::*;
    pub const RANGE: Rpc = rpc(KV, "Range", Unary);
    pub const PUT: Rpc = rpc(KV, "Put", Unary);
    pub const DELETE_RANGE: Rpc = rpc(KV, "DeleteRange", Unary);
    pub const TXN: Rpc = rpc(KV, "Txn", Unary);
    pub const COMPACT: Rpc = rpc(KV, "Compact", Unary);
    pub const WATCH_: Rpc = rpc(WATCH, "Watch", BidiStream);
    pub const LEASE_GRANT: Rpc = rpc(LEASE, "LeaseGrant", Unary);
    pub const LEASE_REVOKE: Rpc = rpc(LEASE, "LeaseRevoke", Unary);
    pub const LEASE_KEEP_ALIVE: Rpc = rpc(LEASE, "LeaseKeepAlive", BidiStream);
    pub const LEASE_TIME_TO_LIVE: Rpc = rpc(LEASE, "LeaseTimeToLive", Unary);
    pub const LEASE_LEASES: Rpc = rpc(LEASE, "LeaseLeases", Unary);
    pub const MEMBER_ADD: Rpc = rpc(CLUSTER, "MemberAdd", Unary);
    pub const MEMBER_REMOVE: Rpc = rpc(CLUSTER, "MemberRemove", Unary);
    pub const MEMBER_UPDATE: Rpc = rpc(CLUSTER, "MemberUpdate", Unary);
    pub const MEMBER_LIST: Rpc = rpc(CLUSTER, "MemberList", Unary);
    pub const MEMBER_PROMOTE: Rpc = rpc(CLUSTER, "MemberPromote", Unary);
    pub const ALARM: Rpc = rpc(MAINTENANCE, "Alarm", Unary);
    pub const STATUS: Rpc = rpc(MAINTENANCE, "Status", Unary);
    pub const DEFRAGMENT: Rpc = rpc(MAINTENANCE, "Defragment", Unary);
    pub const HASH: Rpc = rpc(MAINTENANCE, "Hash", Unary);
    pub const HASH_KV: Rpc = rpc(MAINTENANCE, "HashKV", Unary);
    pub const SNAPSHOT: Rpc = rpc(MAINTENANCE, "Snapshot", ServerStream);
    pub const MOVE_LEADER: Rpc = rpc(MAINTENANCE, "MoveLeader", Unary);
    pub const AUTH_ENABLE: Rpc = rpc(AUTH, "AuthEnable", Unary);
    pub const AUTH_DISABLE: Rpc = rpc(AUTH, "AuthDisable", Unary);
    pub const AUTHENTICATE: Rpc = rpc(AUTH, "Authenticate", Unary);
    pub const USER_ADD: Rpc = rpc(AUTH, "UserAdd", Unary);
    pub const USER_GET: Rpc = rpc(AUTH, "UserGet", Unary);
    pub const USER_LIST: Rpc = rpc(AUTH, "UserList", Unary);
    pub const USER_DELETE: Rpc = rpc(AUTH, "UserDelete", Unary);
    pub const USER_CHANGE_PASSWORD: Rpc = rpc(AUTH, "UserChangePassword", Unary);
    pub const USER_GRANT_ROLE: Rpc = rpc(AUTH, "UserGrantRole", Unary);
    pub const USER_REVOKE_ROLE: Rpc = rpc(AUTH, "UserRevokeRole", Unary);
    pub const ROLE_ADD: Rpc = rpc(AUTH, "RoleAdd", Unary);
    pub const ROLE_GET: Rpc = rpc(AUTH, "RoleGet", Unary);
    pub const ROLE_LIST: Rpc = rpc(AUTH, "RoleList", Unary);
    pub const ROLE_DELETE: Rpc = rpc(AUTH, "RoleDelete", Unary);
    pub const ROLE_GRANT_PERMISSION: Rpc = rpc(AUTH, "RoleGrantPermission", Unary);
    pub const ROLE_REVOKE_PERMISSION: Rpc = rpc(AUTH, "RoleRevokePermission", Unary);
    pub const HEALTH_CHECK: Rpc = rpc(HEALTH, "Check", Unary);
    pub const HEALTH_WATCH: Rpc = rpc(HEALTH, "Watch", ServerStream);
    pub const LOCK_: Rpc = rpc(LOCK, "Lock", Unary);
    pub const UNLOCK: Rpc = rpc(LOCK, "Unlock", Unary);
    pub const CAMPAIGN: Rpc = rpc(ELECTION, "Campaign", Unary);
    pub const PROCLAIM: Rpc = rpc(ELECTION, "Proclaim", Unary);
    pub const LEADER: Rpc = rpc(ELECTION, "Leader", Unary);
    pub const OBSERVE: Rpc = rpc(ELECTION, "Observe", ServerStream);
    pub const RESIGN: Rpc = rpc(ELECTION, "Resign", Unary);
}

/// The methods etcd 3.4 registers with grpc-prometheus when its gRPC server
/// starts (every service but Lock and Election): they are listed with zeros.
pub const REGISTERED: &[Rpc] = {
    use rpcs::*;
    &[
        RANGE,
        PUT,
        DELETE_RANGE,
        TXN,
        COMPACT,
        WATCH_,
        LEASE_GRANT,
        LEASE_REVOKE,
        LEASE_KEEP_ALIVE,
        LEASE_TIME_TO_LIVE,
        LEASE_LEASES,
        MEMBER_ADD,
        MEMBER_REMOVE,
        MEMBER_UPDATE,
        MEMBER_LIST,
        MEMBER_PROMOTE,
        ALARM,
        STATUS,
        DEFRAGMENT,
        HASH,
        HASH_KV,
        SNAPSHOT,
        MOVE_LEADER,
        AUTH_ENABLE,
        AUTH_DISABLE,
        AUTHENTICATE,
        USER_ADD,
        USER_GET,
        USER_LIST,
        USER_DELETE,
        USER_CHANGE_PASSWORD,
        USER_GRANT_ROLE,
        USER_REVOKE_ROLE,
        ROLE_ADD,
        ROLE_GET,
        ROLE_LIST,
        ROLE_DELETE,
        ROLE_GRANT_PERMISSION,
        ROLE_REVOKE_PERMISSION,
        HEALTH_CHECK,
        HEALTH_WATCH,
    ]
};

/// gRPC's status codes by number, as grpc-go names them (the `grpc_code` label).
pub const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// `OK`'s number.
pub const CODE_OK: i32 = 0;
/// `Canceled`'s number.
pub const CODE_CANCELED: i32 = 1;
/// `Unknown`'s number (what grpc-go reports for a code it does not know).
pub const CODE_UNKNOWN: i32 = 2;
/// `Unavailable`'s number.
pub const CODE_UNAVAILABLE: i32 = 14;

/// The label of code number `code` (`Unknown` for a number gRPC does not define).
pub fn code_name(code: i32) -> &'static str {
    usize::try_from(code)
        .ok()
        .and_then(|i| CODE_NAMES.get(i))
        .copied()
        .unwrap_or(CODE_NAMES[CODE_UNKNOWN as usize])
}

/// grpc-prometheus's handling-time buckets (Prometheus's default buckets).
pub const HANDLING_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One method's counts.
#[derive(Debug, Default)]
struct Counts {
    started: u64,
    received: u64,
    sent: u64,
    /// Calls handled, by code name.
    handled: BTreeMap<&'static str, u64>,
    /// Handling times (`--metrics extensive` only), once one was observed.
    handling: Option<Histogram>,
}

#[derive(Debug, Default)]
struct Inner {
    methods: Mutex<BTreeMap<Rpc, Counts>>,
    received_bytes: AtomicU64,
    sent_bytes: AtomicU64,
    extensive: AtomicBool,
}

/// The gRPC metrics of one member (cheap to clone; clones share the counts).
#[derive(Debug, Clone)]
pub struct GrpcMetrics {
    inner: Arc<Inner>,
}

impl Default for GrpcMetrics {
    fn default() -> Self {
        GrpcMetrics::new()
    }
}

impl GrpcMetrics {
    /// Counts with [`REGISTERED`]'s methods listed at zero (every code handled 0).
    pub fn new() -> GrpcMetrics {
        let methods = REGISTERED
            .iter()
            .map(|rpc| {
                let counts = Counts {
                    handled: CODE_NAMES.iter().map(|c| (*c, 0)).collect(),
                    ..Counts::default()
                };
                (*rpc, counts)
            })
            .collect();
        GrpcMetrics {
            inner: Arc::new(Inner {
                methods: Mutex::new(methods),
                ..Inner::default()
            }),
        }
    }

    /// Turns the handling-time histograms on (`--metrics extensive`): those of
    /// [`REGISTERED`]'s methods are listed empty at once, as etcd lists them.
    pub fn enable_handling_time(&self) {
        self.inner.extensive.store(true, Ordering::Relaxed);
        let mut methods = self.methods();
        for rpc in REGISTERED {
            methods
                .entry(*rpc)
                .or_default()
                .handling
                .get_or_insert_with(|| Histogram::new(HANDLING_BUCKETS));
        }
    }

    fn methods(&self) -> MutexGuard<'_, BTreeMap<Rpc, Counts>> {
        self.inner.methods.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts counting a call of `rpc`.
    pub fn start(&self, rpc: Rpc) -> RpcCall {
        self.methods().entry(rpc).or_default().started += 1;
        RpcCall {
            metrics: self.clone(),
            rpc,
            started: Instant::now(),
            finished: AtomicBool::new(false),
        }
    }

    /// The families of these counts.
    pub fn families(&self) -> Vec<Family> {
        let label = |rpc: &Rpc| -> Labels {
            vec![
                ("grpc_method", rpc.method.into()),
                ("grpc_service", rpc.service.into()),
                ("grpc_type", rpc.kind.as_str().into()),
            ]
        };
        let mut started = Family::new(
            "grpc_server_started_total",
            "Total number of RPCs started on the server.",
            Kind::Counter,
        );
        let mut handled = Family::new(
            "grpc_server_handled_total",
            "Total number of RPCs completed on the server, regardless of success or failure.",
            Kind::Counter,
        );
        let mut received = Family::new(
            "grpc_server_msg_received_total",
            "Total number of RPC stream messages received on the server.",
            Kind::Counter,
        );
        let mut sent = Family::new(
            "grpc_server_msg_sent_total",
            "Total number of gRPC stream messages sent by the server.",
            Kind::Counter,
        );
        let mut handling = Family::new(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            Kind::Histogram,
        );
        for (rpc, counts) in self.methods().iter() {
            started
                .series
                .push((label(rpc), Value::Counter(counts.started)));
            received
                .series
                .push((label(rpc), Value::Counter(counts.received)));
            sent.series.push((label(rpc), Value::Counter(counts.sent)));
            for (code, n) in &counts.handled {
                let mut labels = vec![("grpc_code", (*code).to_string())];
                labels.extend(label(rpc));
                handled.series.push((labels, Value::Counter(*n)));
            }
            if let Some(h) = &counts.handling {
                handling
                    .series
                    .push((label(rpc), Value::Histogram(h.clone())));
            }
        }
        let mut out = vec![
            started,
            handled,
            received,
            sent,
            Family::counter(
                "etcd_network_client_grpc_received_bytes_total",
                "The total number of bytes received from grpc clients.",
                self.inner.received_bytes.load(Ordering::Relaxed),
            ),
            Family::counter(
                "etcd_network_client_grpc_sent_bytes_total",
                "The total number of bytes sent to grpc clients.",
                self.inner.sent_bytes.load(Ordering::Relaxed),
            ),
        ];
        if self.inner.extensive.load(Ordering::Relaxed) {
            out.push(handling);
        }
        out
    }
}

/// One call being counted (see the module docs). A streaming call's request
/// and response sides may share it (behind an `Arc`): the first
/// [`RpcCall::finish`] counts, and dropping the last holder of an unfinished
/// call counts it abandoned.
#[derive(Debug)]
pub struct RpcCall {
    metrics: GrpcMetrics,
    rpc: Rpc,
    started: Instant,
    finished: AtomicBool,
}

impl RpcCall {
    /// A request message of `bytes` encoded bytes came in.
    pub fn received(&self, bytes: usize) {
        self.metrics.methods().entry(self.rpc).or_default().received += 1;
        self.metrics
            .inner
            .received_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A response message of `bytes` encoded bytes went out.
    pub fn sent(&self, bytes: usize) {
        self.metrics.methods().entry(self.rpc).or_default().sent += 1;
        self.metrics
            .inner
            .sent_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The call ended with status code `code` (later calls count nothing).
    pub fn finish(&self, code: i32) {
        if self.finished.swap(true, Ordering::Relaxed) {
            return;
        }
        let extensive = self.metrics.inner.extensive.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut methods = self.metrics.methods();
        let counts = methods.entry(self.rpc).or_default();
        *counts.handled.entry(code_name(code)).or_default() += 1;
        if extensive {
            counts
                .handling
                .get_or_insert_with(|| Histogram::new(HANDLING_BUCKETS))
                .observe(elapsed);
        }
    }
}

impl Drop for RpcCall {
    fn drop(&mut self) {
        self.finish(self.rpc.kind.abandoned_code());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(families: &[Family], name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let family = families.iter().find(|f| f.name == name)?;
        family.series.iter().find_map(|(l, v)| {
            let same = l.len() == labels.len()
                && l.iter()
                    .zip(labels)
                    .all(|((k, v), (k2, v2))| k == k2 && v == v2);
            match v {
                Value::Counter(n) if same => Some(*n),
                _ => None,
            }
        })
    }

    #[test]
    fn registered_methods_start_at_zero_with_every_code() {
        let m = GrpcMetrics::new();
        let f = m.families();
        let started = f
            .iter()
            .find(|f| f.name == "grpc_server_started_total")
            .unwrap();
        assert_eq!(started.series.len(), REGISTERED.len());
        assert_eq!(REGISTERED.len(), 41, "etcd 3.4 pre-registers 41 methods");
        let handled = f
            .iter()
            .find(|f| f.name == "grpc_server_handled_total")
            .unwrap();
        assert_eq!(handled.series.len(), REGISTERED.len() * 17);
        assert!(f.iter().all(|f| f.name != "grpc_server_handling_seconds"));
    }

    #[test]
    fn a_call_counts_start_messages_code_and_bytes() {
        let m = GrpcMetrics::new();
        let call = m.start(rpcs::RANGE);
        call.received(10);
        call.finish(11);
        let call = m.start(rpcs::PUT);
        call.received(7);
        call.sent(20);
        call.finish(CODE_OK);
        // A Lock call appears once made; a dropped bidi call ends Unavailable.
        let lock = m.start(rpcs::LOCK_);
        drop(lock);
        drop(m.start(rpcs::WATCH_));
        let f = m.families();
        let range = [
            ("grpc_code", "OutOfRange"),
            ("grpc_method", "Range"),
            ("grpc_service", "etcdserverpb.KV"),
            ("grpc_type", "unary"),
        ];
        assert_eq!(value(&f, "grpc_server_handled_total", &range), Some(1));
        let put = [
            ("grpc_method", "Put"),
            ("grpc_service", "etcdserverpb.KV"),
            ("grpc_type", "unary"),
        ];
        assert_eq!(value(&f, "grpc_server_started_total", &put), Some(1));
        assert_eq!(value(&f, "grpc_server_msg_sent_total", &put), Some(1));
        assert_eq!(value(&f, "grpc_server_msg_received_total", &put), Some(1));
        assert_eq!(
            value(&f, "etcd_network_client_grpc_received_bytes_total", &[]),
            Some(17)
        );
        assert_eq!(
            value(&f, "etcd_network_client_grpc_sent_bytes_total", &[]),
            Some(20)
        );
        let lock = [
            ("grpc_code", "Canceled"),
            ("grpc_method", "Lock"),
            ("grpc_service", "v3lockpb.Lock"),
            ("grpc_type", "unary"),
        ];
        assert_eq!(value(&f, "grpc_server_handled_total", &lock), Some(1));
        let lock_ok = [
            ("grpc_code", "OK"),
            ("grpc_method", "Lock"),
            ("grpc_service", "v3lockpb.Lock"),
            ("grpc_type", "unary"),
        ];
        assert_eq!(
            value(&f, "grpc_server_handled_total", &lock_ok),
            None,
            "not pre-registered"
        );
        let watch = [
            ("grpc_code", "Unavailable"),
            ("grpc_method", "Watch"),
            ("grpc_service", "etcdserverpb.Watch"),
            ("grpc_type", "bidi_stream"),
        ];
        assert_eq!(value(&f, "grpc_server_handled_total", &watch), Some(1));
        assert_eq!(code_name(99), "Unknown");
    }

    #[test]
    fn extensive_adds_handling_time_of_calls_made_since() {
        let m = GrpcMetrics::new();
        m.enable_handling_time();
        m.start(rpcs::PUT).finish(CODE_OK);
        m.start(rpcs::LOCK_).finish(CODE_OK);
        let f = m.families();
        let h = f
            .iter()
            .find(|f| f.name == "grpc_server_handling_seconds")
            .unwrap();
        // Every registered method's, listed empty as etcd does, and Lock's once called.
        assert_eq!(h.series.len(), REGISTERED.len() + 1);
        assert_eq!(h.kind, Kind::Histogram);
        let text = crate::metrics::exposition::encode(f);
        assert!(text.contains(
            "grpc_server_handling_seconds_count{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 1\n"
        ));
        assert!(text.contains(
            "grpc_server_handling_seconds_count{grpc_method=\"Range\",grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"} 0\n"
        ));
    }
}
