//! Code generated from proto/ by madsim-tonic-build: one module per proto package,
//! each with its messages, a `*_client` module per service (e.g.
//! `etcdserverpb::kv_client::KvClient`) and a `*_server` module per service. In
//! real builds it is tonic over HTTP/2; in sim builds (`--cfg madsim`) madsim's
//! simulated gRPC.

/// Package `etcdserverpb`: the KV, Watch, Lease, Cluster, Maintenance and Auth services.
#[allow(missing_docs, clippy::all)]
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}

/// Package `mvccpb`: `KeyValue` and watch `Event`.
#[allow(missing_docs, clippy::all)]
pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}

/// Package `authpb`: users, roles and permissions.
#[allow(missing_docs, clippy::all)]
pub mod authpb {
    tonic::include_proto!("authpb");
}

/// Package `v3lockpb`: the Lock service.
#[allow(missing_docs, clippy::all)]
pub mod v3lockpb {
    tonic::include_proto!("v3lockpb");
}

/// Package `v3electionpb`: the Election service.
#[allow(missing_docs, clippy::all)]
pub mod v3electionpb {
    tonic::include_proto!("v3electionpb");
}
