//! The gateway's path table: which `POST /v3/...` path calls which RPC, as
//! etcd 3.4's generated gateway registers them (including the `/v3/kv/lease/...`
//! aliases of three Lease RPCs), and what a path that is not in the table, or a
//! method other than POST, gets.

/// One RPC the gateway can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// `etcdserverpb.KV/Range`.
    Range,
    /// `etcdserverpb.KV/Put`.
    Put,
    /// `etcdserverpb.KV/DeleteRange`.
    DeleteRange,
    /// `etcdserverpb.KV/Txn`.
    Txn,
    /// `etcdserverpb.KV/Compact`.
    Compact,
    /// `etcdserverpb.Watch/Watch` (bidirectional stream).
    Watch,
    /// `etcdserverpb.Lease/LeaseGrant`.
    LeaseGrant,
    /// `etcdserverpb.Lease/LeaseRevoke`.
    LeaseRevoke,
    /// `etcdserverpb.Lease/LeaseKeepAlive` (bidirectional stream).
    LeaseKeepAlive,
    /// `etcdserverpb.Lease/LeaseTimeToLive`.
    LeaseTimeToLive,
    /// `etcdserverpb.Lease/LeaseLeases`.
    LeaseLeases,
    /// `etcdserverpb.Cluster/MemberAdd`.
    MemberAdd,
    /// `etcdserverpb.Cluster/MemberRemove`.
    MemberRemove,
    /// `etcdserverpb.Cluster/MemberUpdate`.
    MemberUpdate,
    /// `etcdserverpb.Cluster/MemberList`.
    MemberList,
    /// `etcdserverpb.Cluster/MemberPromote`.
    MemberPromote,
    /// `etcdserverpb.Maintenance/Alarm`.
    Alarm,
    /// `etcdserverpb.Maintenance/Status`.
    Status,
    /// `etcdserverpb.Maintenance/Defragment`.
    Defragment,
    /// `etcdserverpb.Maintenance/Hash` (its path is also HashKV's, which loses).
    Hash,
    /// `etcdserverpb.Maintenance/Snapshot` (server stream).
    Snapshot,
    /// `etcdserverpb.Maintenance/MoveLeader`.
    MoveLeader,
    /// `etcdserverpb.Auth/AuthEnable`.
    AuthEnable,
    /// `etcdserverpb.Auth/AuthDisable`.
    AuthDisable,
    /// `etcdserverpb.Auth/Authenticate`.
    Authenticate,
    /// `etcdserverpb.Auth/UserAdd`.
    UserAdd,
    /// `etcdserverpb.Auth/UserGet`.
    UserGet,
    /// `etcdserverpb.Auth/UserList`.
    UserList,
    /// `etcdserverpb.Auth/UserDelete`.
    UserDelete,
    /// `etcdserverpb.Auth/UserChangePassword`.
    UserChangePassword,
    /// `etcdserverpb.Auth/UserGrantRole`.
    UserGrantRole,
    /// `etcdserverpb.Auth/UserRevokeRole`.
    UserRevokeRole,
    /// `etcdserverpb.Auth/RoleAdd`.
    RoleAdd,
    /// `etcdserverpb.Auth/RoleGet`.
    RoleGet,
    /// `etcdserverpb.Auth/RoleList`.
    RoleList,
    /// `etcdserverpb.Auth/RoleDelete`.
    RoleDelete,
    /// `etcdserverpb.Auth/RoleGrantPermission`.
    RoleGrantPermission,
    /// `etcdserverpb.Auth/RoleRevokePermission`.
    RoleRevokePermission,
    /// `v3lockpb.Lock/Lock`.
    Lock,
    /// `v3lockpb.Lock/Unlock`.
    Unlock,
    /// `v3electionpb.Election/Campaign`.
    Campaign,
    /// `v3electionpb.Election/Proclaim`.
    Proclaim,
    /// `v3electionpb.Election/Leader`.
    Leader,
    /// `v3electionpb.Election/Observe` (server stream).
    Observe,
    /// `v3electionpb.Election/Resign`.
    Resign,
}

/// Every gateway path (below `/v3`) and its RPC. All are POST.
const TABLE: &[(&str, Rpc)] = &[
    ("/kv/range", Rpc::Range),
    ("/kv/put", Rpc::Put),
    ("/kv/deleterange", Rpc::DeleteRange),
    ("/kv/txn", Rpc::Txn),
    ("/kv/compaction", Rpc::Compact),
    ("/watch", Rpc::Watch),
    ("/lease/grant", Rpc::LeaseGrant),
    ("/lease/revoke", Rpc::LeaseRevoke),
    ("/kv/lease/revoke", Rpc::LeaseRevoke),
    ("/lease/keepalive", Rpc::LeaseKeepAlive),
    ("/lease/timetolive", Rpc::LeaseTimeToLive),
    ("/kv/lease/timetolive", Rpc::LeaseTimeToLive),
    ("/lease/leases", Rpc::LeaseLeases),
    ("/kv/lease/leases", Rpc::LeaseLeases),
    ("/cluster/member/add", Rpc::MemberAdd),
    ("/cluster/member/remove", Rpc::MemberRemove),
    ("/cluster/member/update", Rpc::MemberUpdate),
    ("/cluster/member/list", Rpc::MemberList),
    ("/cluster/member/promote", Rpc::MemberPromote),
    ("/maintenance/alarm", Rpc::Alarm),
    ("/maintenance/status", Rpc::Status),
    ("/maintenance/defragment", Rpc::Defragment),
    ("/maintenance/hash", Rpc::Hash),
    ("/maintenance/snapshot", Rpc::Snapshot),
    ("/maintenance/transfer-leadership", Rpc::MoveLeader),
    ("/auth/enable", Rpc::AuthEnable),
    ("/auth/disable", Rpc::AuthDisable),
    ("/auth/authenticate", Rpc::Authenticate),
    ("/auth/user/add", Rpc::UserAdd),
    ("/auth/user/get", Rpc::UserGet),
    ("/auth/user/list", Rpc::UserList),
    ("/auth/user/delete", Rpc::UserDelete),
    ("/auth/user/changepw", Rpc::UserChangePassword),
    ("/auth/user/grant", Rpc::UserGrantRole),
    ("/auth/user/revoke", Rpc::UserRevokeRole),
    ("/auth/role/add", Rpc::RoleAdd),
    ("/auth/role/get", Rpc::RoleGet),
    ("/auth/role/list", Rpc::RoleList),
    ("/auth/role/delete", Rpc::RoleDelete),
    ("/auth/role/grant", Rpc::RoleGrantPermission),
    ("/auth/role/revoke", Rpc::RoleRevokePermission),
    ("/lock/lock", Rpc::Lock),
    ("/lock/unlock", Rpc::Unlock),
    ("/election/campaign", Rpc::Campaign),
    ("/election/proclaim", Rpc::Proclaim),
    ("/election/leader", Rpc::Leader),
    ("/election/observe", Rpc::Observe),
    ("/election/resign", Rpc::Resign),
];

/// What a request to a gateway path gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A POST to a path in the table.
    Call(Rpc),
    /// A path in the table with another method: 405, `Method Not Allowed`.
    MethodNotAllowed,
    /// A path not in the table: 404, `Not Found` (grpc-gateway's text, not Go's
    /// `404 page not found`).
    NotFound,
}

/// The rewrite etcd applies before routing: a path under `/v3beta/` is served
/// as the same path under `/v3/` (only the first occurrence is replaced, and only
/// with the trailing slash: `/v3beta` itself is not a gateway path).
pub fn rewrite_beta(path: String) -> String {
    match path.strip_prefix("/v3beta/") {
        Some(rest) => format!("/v3/{rest}"),
        None => path,
    }
}

/// Whether the (rewritten, cleaned) path belongs to the gateway: `/v3/` and
/// everything below it. (`/v3` without the slash is redirected to `/v3/` by
/// the HTTP mux, as Go's `ServeMux` does for a registered subtree.)
pub fn is_gateway_path(path: &str) -> bool {
    path.starts_with("/v3/")
}

/// Looks up `method` on `path` (which starts with `/v3/`).
pub fn lookup(method: &str, path: &str) -> Lookup {
    let Some(rest) = path.strip_prefix("/v3") else {
        return Lookup::NotFound;
    };
    match TABLE.iter().find(|(p, _)| *p == rest) {
        Some((_, rpc)) if method == "POST" => Lookup::Call(*rpc),
        Some(_) => Lookup::MethodNotAllowed,
        None => Lookup::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_path_is_a_post() {
        assert_eq!(lookup("POST", "/v3/kv/range"), Lookup::Call(Rpc::Range));
        assert_eq!(
            lookup("POST", "/v3/kv/compaction"),
            Lookup::Call(Rpc::Compact)
        );
        assert_eq!(lookup("POST", "/v3/watch"), Lookup::Call(Rpc::Watch));
        assert_eq!(
            lookup("POST", "/v3/lease/keepalive"),
            Lookup::Call(Rpc::LeaseKeepAlive)
        );
        assert_eq!(
            lookup("POST", "/v3/maintenance/transfer-leadership"),
            Lookup::Call(Rpc::MoveLeader)
        );
        assert_eq!(
            lookup("POST", "/v3/auth/user/changepw"),
            Lookup::Call(Rpc::UserChangePassword)
        );
        assert_eq!(lookup("POST", "/v3/lock/lock"), Lookup::Call(Rpc::Lock));
        // Hash and HashKV share a path; Hash wins.
        assert_eq!(
            lookup("POST", "/v3/maintenance/hash"),
            Lookup::Call(Rpc::Hash)
        );
    }

    #[test]
    fn three_lease_rpcs_have_a_kv_alias_but_keepalive_has_none() {
        for (a, b, rpc) in [
            ("/v3/lease/revoke", "/v3/kv/lease/revoke", Rpc::LeaseRevoke),
            (
                "/v3/lease/timetolive",
                "/v3/kv/lease/timetolive",
                Rpc::LeaseTimeToLive,
            ),
            ("/v3/lease/leases", "/v3/kv/lease/leases", Rpc::LeaseLeases),
        ] {
            assert_eq!(lookup("POST", a), Lookup::Call(rpc));
            assert_eq!(lookup("POST", b), Lookup::Call(rpc));
        }
        assert_eq!(lookup("POST", "/v3/kv/lease/keepalive"), Lookup::NotFound);
    }

    #[test]
    fn other_methods_are_405_and_unknown_paths_404() {
        assert_eq!(lookup("GET", "/v3/kv/range"), Lookup::MethodNotAllowed);
        assert_eq!(lookup("PUT", "/v3/kv/range"), Lookup::MethodNotAllowed);
        assert_eq!(lookup("GET", "/v3/watch"), Lookup::MethodNotAllowed);
        assert_eq!(lookup("POST", "/v3/kv/nothere"), Lookup::NotFound);
        assert_eq!(lookup("GET", "/v3/kv/nothere"), Lookup::NotFound);
        assert_eq!(lookup("POST", "/v3/"), Lookup::NotFound);
        assert_eq!(lookup("POST", "/v3/kv/range/"), Lookup::NotFound);
        assert_eq!(lookup("POST", "/v3/lock"), Lookup::NotFound);
        assert_eq!(lookup("POST", "/v3/kv/range:x"), Lookup::NotFound);
    }

    #[test]
    fn v3beta_is_rewritten_and_v3alpha_is_not_ours() {
        assert_eq!(rewrite_beta("/v3beta/kv/range".into()), "/v3/kv/range");
        assert_eq!(rewrite_beta("/v3beta/".into()), "/v3/");
        assert_eq!(rewrite_beta("/v3beta".into()), "/v3beta");
        assert_eq!(rewrite_beta("/v2/keys/v3beta/".into()), "/v2/keys/v3beta/");
        assert!(is_gateway_path("/v3/kv/range"));
        assert!(is_gateway_path("/v3/"));
        assert!(!is_gateway_path("/v3"));
        assert!(!is_gateway_path("/v3alpha/kv/range"));
        assert!(!is_gateway_path("/v3beta/kv/range"));
    }
}
