use super::*;
use crate::server::v3_command::apply;
use crate::store::v3::lease::LessorConfig;
use crate::store::v3::watch::WatchConfig;
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::authpb::{Permission, permission::Type};
use etcd_sdk::v3::pb::etcdserverpb::{
    AuthEnableRequest, AuthRoleAddRequest, AuthRoleGetRequest, AuthRoleGrantPermissionRequest,
    AuthUserAddRequest, AuthUserChangePasswordRequest, AuthUserGetRequest,
    AuthUserGrantRoleRequest, AuthUserListRequest, Compare, InternalAuthenticateRequest,
    LeaseGrantRequest, LeaseRevokeRequest, PutRequest, RangeRequest, RequestHeader, TxnRequest,
};

fn stores() -> V3Stores {
    V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20))
}

fn as_user(user: &str, rev: u64, mut req: InternalRaftRequest) -> InternalRaftRequest {
    req.header = Some(RequestHeader {
        id: 1,
        username: user.into(),
        auth_revision: rev,
    });
    req
}

fn ok(s: &mut V3Stores, req: InternalRaftRequest) -> V3Applied {
    apply(s, &req, Instant::now()).unwrap()
}

fn refused(s: &mut V3Stores, req: InternalRaftRequest) -> Option<EtcdError> {
    apply(s, &req, Instant::now()).unwrap_err().etcd_error()
}

fn put(key: &str) -> InternalRaftRequest {
    InternalRaftRequest {
        put: Some(PutRequest {
            key: key.into(),
            value: b"v".to_vec(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Root (root role), u (readwrite on [/a, /b)), auth enabled.
fn setup(s: &mut V3Stores) {
    let reqs = [
        InternalRaftRequest {
            auth_user_add: Some(AuthUserAddRequest {
                name: "root".into(),
                password: "hash".into(),
                options: None,
            }),
            ..Default::default()
        },
        InternalRaftRequest {
            auth_user_grant_role: Some(AuthUserGrantRoleRequest {
                user: "root".into(),
                role: "root".into(),
            }),
            ..Default::default()
        },
        InternalRaftRequest {
            auth_user_add: Some(AuthUserAddRequest {
                name: "u".into(),
                password: "hash".into(),
                options: None,
            }),
            ..Default::default()
        },
        InternalRaftRequest {
            auth_role_add: Some(AuthRoleAddRequest { name: "r".into() }),
            ..Default::default()
        },
        InternalRaftRequest {
            auth_role_grant_permission: Some(AuthRoleGrantPermissionRequest {
                name: "r".into(),
                perm: Some(Permission {
                    perm_type: Type::Readwrite as i32,
                    key: b"/a".to_vec(),
                    range_end: b"/b".to_vec(),
                }),
            }),
            ..Default::default()
        },
        InternalRaftRequest {
            auth_user_grant_role: Some(AuthUserGrantRoleRequest {
                user: "u".into(),
                role: "r".into(),
            }),
            ..Default::default()
        },
        InternalRaftRequest {
            auth_enable: Some(AuthEnableRequest {}),
            ..Default::default()
        },
    ];
    for r in reqs {
        ok(s, r);
    }
}

#[test]
fn writes_are_checked_with_the_header_user_and_revision() {
    let mut s = stores();
    setup(&mut s);
    let rev = s.auth.revision();
    ok(&mut s, as_user("u", rev, put("/a1")));
    assert_eq!(
        refused(&mut s, as_user("u", rev, put("/c"))),
        Some(EtcdError::PermissionDenied)
    );
    assert_eq!(refused(&mut s, put("/a1")), Some(EtcdError::UserEmpty));
    assert_eq!(
        refused(&mut s, as_user("u", rev - 1, put("/a1"))),
        Some(EtcdError::AuthOldRevision)
    );
    ok(&mut s, as_user("root", rev, put("/anything")));
    // Txn: compares need READ, both branches are checked.
    let txn = |failure_key: &str| InternalRaftRequest {
        txn: Some(TxnRequest {
            compare: vec![Compare {
                key: b"/a1".to_vec(),
                ..Default::default()
            }],
            success: vec![RequestOp {
                request: Some(request_op::Request::RequestPut(PutRequest {
                    key: b"/a2".to_vec(),
                    ..Default::default()
                })),
            }],
            failure: vec![RequestOp {
                request: Some(request_op::Request::RequestRange(RangeRequest {
                    key: failure_key.into(),
                    ..Default::default()
                })),
            }],
        }),
        ..Default::default()
    };
    ok(&mut s, as_user("u", rev, txn("/a3")));
    assert_eq!(
        refused(&mut s, as_user("u", rev, txn("/z"))),
        Some(EtcdError::PermissionDenied)
    );
}

#[test]
fn lease_revoke_needs_write_on_its_keys() {
    let mut s = stores();
    setup(&mut s);
    let rev = s.auth.revision();
    let now = Instant::now();
    s.lessor.promote(now, std::time::Duration::from_secs(1));
    ok(
        &mut s,
        as_user(
            "root",
            rev,
            InternalRaftRequest {
                lease_grant: Some(LeaseGrantRequest { ttl: 60, id: 7 }),
                ..Default::default()
            },
        ),
    );
    let mut p = put("/zz");
    if let Some(x) = p.put.as_mut() {
        x.lease = 7;
    }
    ok(&mut s, as_user("root", rev, p));
    let revoke = InternalRaftRequest {
        lease_revoke: Some(LeaseRevokeRequest { id: 7 }),
        ..Default::default()
    };
    assert_eq!(
        refused(&mut s, as_user("u", rev, revoke.clone())),
        Some(EtcdError::PermissionDenied)
    );
    ok(&mut s, as_user("root", rev, revoke));
}

#[test]
fn admin_requests_and_self_reads() {
    let mut s = stores();
    setup(&mut s);
    let rev = s.auth.revision();
    let list = InternalRaftRequest {
        auth_user_list: Some(AuthUserListRequest {}),
        ..Default::default()
    };
    assert_eq!(
        refused(&mut s, as_user("u", rev, list.clone())),
        Some(EtcdError::PermissionDenied)
    );
    assert_eq!(refused(&mut s, list.clone()), Some(EtcdError::UserEmpty));
    let V3Applied::Auth(a) = ok(&mut s, as_user("root", rev, list)) else {
        panic!("an auth result");
    };
    assert!(matches!(*a, AuthApplied::UserList(ref l) if l.users == ["root", "u"]));
    let get = |name: &str| InternalRaftRequest {
        auth_user_get: Some(AuthUserGetRequest { name: name.into() }),
        ..Default::default()
    };
    ok(&mut s, as_user("u", rev, get("u")));
    assert_eq!(
        refused(&mut s, as_user("u", rev, get("root"))),
        Some(EtcdError::PermissionDenied)
    );
    let role_get = |role: &str| InternalRaftRequest {
        auth_role_get: Some(AuthRoleGetRequest { role: role.into() }),
        ..Default::default()
    };
    ok(&mut s, as_user("u", rev, role_get("r")));
    assert_eq!(
        refused(&mut s, as_user("u", rev, role_get("root"))),
        Some(EtcdError::PermissionDenied)
    );
}

#[test]
fn tokens_are_minted_at_the_entry_index_and_dropped_on_password_change() {
    let mut s = stores();
    setup(&mut s);
    let rev = s.auth.revision();
    s.applied_index = 42;
    let auth = InternalRaftRequest {
        authenticate: Some(InternalAuthenticateRequest {
            name: "u".into(),
            password: String::new(),
            simple_token: "abcdefghijklmnop".into(),
        }),
        ..Default::default()
    };
    let V3Applied::Auth(a) = ok(&mut s, auth) else {
        panic!("an auth result");
    };
    let AuthApplied::Authenticate(t) = *a else {
        panic!("a token");
    };
    assert_eq!(t.token, "abcdefghijklmnop.42");
    let now = Instant::now();
    assert_eq!(
        s.tokens
            .info(&t.token, 0, now)
            .map(|t| t.username)
            .as_deref(),
        Some("u")
    );
    ok(
        &mut s,
        as_user(
            "root",
            rev,
            InternalRaftRequest {
                auth_user_change_password: Some(AuthUserChangePasswordRequest {
                    name: "u".into(),
                    password: "hash2".into(),
                }),
                ..Default::default()
            },
        ),
    );
    assert_eq!(s.tokens.info(&t.token, 0, now).map(|t| t.username), None);
    // Replayed after a restart (at or below the boot commit index): not registered.
    s.replay_until = 50;
    s.applied_index = 50;
    let replayed = InternalRaftRequest {
        authenticate: Some(InternalAuthenticateRequest {
            name: "u".into(),
            password: String::new(),
            simple_token: "qrstuvwxyzabcdef".into(),
        }),
        ..Default::default()
    };
    ok(&mut s, replayed);
    assert_eq!(
        s.tokens
            .info("qrstuvwxyzabcdef.50", 0, now)
            .map(|t| t.username),
        None
    );
}

#[test]
fn the_snapshot_keeps_the_auth_store_and_old_blobs_restore() {
    let mut s = stores();
    setup(&mut s);
    let blob = s.snapshot();
    let mut t = stores();
    t.restore(&blob).unwrap();
    assert_eq!(t.auth, s.auth);
    assert!(t.restore(&blob[..blob.len() - 1]).is_err());
    // A version-1 blob: kv framed, then the lessor's bytes, no auth store.
    let kv = s.kv.to_snapshot();
    let mut old = vec![1u8];
    old.extend_from_slice(&(kv.len() as u64).to_be_bytes());
    old.extend_from_slice(&kv);
    old.extend_from_slice(&s.lessor.snapshot());
    let mut u = stores();
    u.restore(&old).unwrap();
    assert!(!u.auth.is_enabled());
    assert_eq!(u.kv.current_revision(), s.kv.current_revision());
}
