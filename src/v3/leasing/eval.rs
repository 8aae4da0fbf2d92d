//! Answering from the cache without the server: a get's options applied to
//! a cached key ([`serve`]), a transaction's compare evaluated on it
//! ([`holds`]), and key ranges ([`in_range`]).

use crate::v3::kv::GetResponse;
use crate::v3::pb::etcdserverpb::{Compare, RangeRequest, compare};
use crate::v3::pb::mvccpb::KeyValue;
use std::cmp::Ordering;

/// Whether `key` is in `[begin, end)`; an empty `end` means `begin` alone,
/// `"\0"` means no upper bound.
pub(crate) fn in_range(key: &[u8], begin: &[u8], end: &[u8]) -> bool {
    match end {
        [] => key == begin,
        [0] => key >= begin,
        end => key >= begin && key < end,
    }
}

/// Whether the cache may answer `req` at all: not a read at a past
/// revision, not a range (Go's `isBadOp`).
pub(crate) fn cacheable(req: &RangeRequest) -> bool {
    req.revision <= 0 && req.range_end.is_empty()
}

/// The answer to get `req` of one key whose state is `cached`: the same
/// header and count, the key-value dropped when `count_only` asks for none
/// or a min/max create/mod revision bound excludes it, the value dropped
/// with `keys_only`. Limits and sorting change nothing for one key; a
/// serializable read is answered the same way.
pub(crate) fn serve(cached: &GetResponse, req: &RangeRequest) -> GetResponse {
    let mut out = GetResponse {
        header: cached.header,
        kvs: Vec::new(),
        more: false,
        count: cached.count,
    };
    let Some(kv) = cached.kvs.first() else {
        return out;
    };
    let excluded = req.count_only
        || req.min_mod_revision > kv.mod_revision
        || (req.max_mod_revision != 0 && req.max_mod_revision < kv.mod_revision)
        || req.min_create_revision > kv.create_revision
        || (req.max_create_revision != 0 && req.max_create_revision < kv.create_revision);
    if !excluded {
        let mut kv = kv.clone();
        if req.keys_only {
            kv.value.clear();
        }
        out.kvs.push(kv);
    }
    out
}

/// Whether compare `c` holds for a key whose state is `kv` (`None`: the key
/// does not exist), as etcd evaluates it: a missing key compares as all
/// zeros, except that a value compare on a missing key never holds.
pub(crate) fn holds(kv: Option<&KeyValue>, c: &Compare) -> bool {
    let zero = KeyValue::default();
    let target = c.target_union.as_ref();
    if kv.is_none() && matches!(target, Some(compare::TargetUnion::Value(_))) {
        return false;
    }
    let kv = kv.unwrap_or(&zero);
    let ord = match target {
        Some(compare::TargetUnion::Version(v)) => kv.version.cmp(v),
        Some(compare::TargetUnion::CreateRevision(v)) => kv.create_revision.cmp(v),
        Some(compare::TargetUnion::ModRevision(v)) => kv.mod_revision.cmp(v),
        Some(compare::TargetUnion::Value(v)) => kv.value.as_slice().cmp(v.as_slice()),
        Some(compare::TargetUnion::Lease(v)) => kv.lease.cmp(v),
        None => Ordering::Equal,
    };
    match compare::CompareResult::try_from(c.result) {
        Ok(compare::CompareResult::Equal) => ord == Ordering::Equal,
        Ok(compare::CompareResult::NotEqual) => ord != Ordering::Equal,
        Ok(compare::CompareResult::Greater) => ord == Ordering::Greater,
        Ok(compare::CompareResult::Less) => ord == Ordering::Less,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::compare::{Compare as Cmp, CompareOp};
    use crate::v3::kv::ResponseHeader;
    use crate::v3::op::GetOptions;

    fn cached() -> GetResponse {
        GetResponse {
            header: Some(ResponseHeader {
                revision: 9,
                ..Default::default()
            }),
            kvs: vec![KeyValue {
                key: b"k".to_vec(),
                value: b"abc".to_vec(),
                create_revision: 2,
                mod_revision: 2,
                version: 1,
                lease: 0,
            }],
            more: false,
            count: 1,
        }
    }

    fn req(opts: GetOptions) -> RangeRequest {
        opts.to_request(b"k".to_vec())
    }

    #[test]
    fn ranges() {
        assert!(in_range(b"k", b"k", b""));
        assert!(!in_range(b"k2", b"k", b""));
        assert!(in_range(b"z", b"k", b"\0"));
        assert!(in_range(b"k/1", b"k/", b"k0"));
        assert!(!in_range(b"k0", b"k/", b"k0"));
        assert!(!in_range(b"j", b"k", b"\0"));
    }

    #[test]
    fn only_current_single_key_reads_are_cacheable() {
        assert!(cacheable(&req(GetOptions::default())));
        assert!(cacheable(&req(GetOptions {
            serializable: true,
            keys_only: true,
            ..Default::default()
        })));
        assert!(!cacheable(&req(GetOptions::prefix())));
        assert!(!cacheable(&req(GetOptions {
            revision: 3,
            ..Default::default()
        })));
    }

    #[test]
    fn serve_applies_the_options() {
        let c = cached();
        assert_eq!(serve(&c, &req(GetOptions::default())), c);
        let keys = serve(
            &c,
            &req(GetOptions {
                keys_only: true,
                ..Default::default()
            }),
        );
        assert_eq!(
            (keys.kvs[0].key.as_slice(), keys.kvs[0].value.len()),
            (&b"k"[..], 0)
        );
        for (opts, present) in [
            (
                GetOptions {
                    count_only: true,
                    ..Default::default()
                },
                false,
            ),
            (
                GetOptions {
                    min_mod_revision: 3,
                    ..Default::default()
                },
                false,
            ),
            (
                GetOptions {
                    min_mod_revision: 2,
                    ..Default::default()
                },
                true,
            ),
            (
                GetOptions {
                    max_mod_revision: 1,
                    ..Default::default()
                },
                false,
            ),
            (
                GetOptions {
                    min_create_revision: 3,
                    ..Default::default()
                },
                false,
            ),
            (
                GetOptions {
                    max_create_revision: 1,
                    ..Default::default()
                },
                false,
            ),
            (
                GetOptions {
                    max_create_revision: 2,
                    limit: 1,
                    ..Default::default()
                },
                true,
            ),
        ] {
            let r = serve(&c, &req(opts.clone()));
            assert_eq!(r.kvs.len(), usize::from(present), "{opts:?}");
            assert_eq!(r.count, 1);
            assert_eq!(r.header, c.header);
        }
        let absent = GetResponse {
            kvs: vec![],
            count: 0,
            ..c
        };
        assert_eq!(serve(&absent, &req(GetOptions::default())), absent);
    }

    #[test]
    fn compares_as_etcd_does() {
        let c = cached();
        let kv = c.kvs.first();
        let t = |cmp: Cmp| holds(kv, cmp.as_pb());
        let m = |cmp: Cmp| holds(None, cmp.as_pb());
        // Go's TestLeasingTxnOwnerIf table, on a key created at revision 2.
        assert!(t(Cmp::value("k", CompareOp::Equal, "abc")));
        assert!(t(Cmp::create_revision("k", CompareOp::Equal, 2)));
        assert!(t(Cmp::mod_revision("k", CompareOp::Equal, 2)));
        assert!(t(Cmp::version("k", CompareOp::Equal, 1)));
        assert!(!t(Cmp::value("k", CompareOp::Greater, "abc")));
        assert!(!t(Cmp::create_revision("k", CompareOp::Greater, 2)));
        assert!(!t(Cmp::version("k", CompareOp::Greater, 1)));
        assert!(!t(Cmp::value("k", CompareOp::Less, "abc")));
        assert!(!t(Cmp::create_revision("k", CompareOp::Less, 2)));
        assert!(!t(Cmp::mod_revision("k", CompareOp::Less, 2)));
        assert!(!t(Cmp::version("k", CompareOp::Less, 1)));
        assert!(t(Cmp::value("k", CompareOp::NotEqual, "x")));
        assert!(t(Cmp::lease("k", CompareOp::Equal, 0)));
        assert!(!t(Cmp::lease("k", CompareOp::Equal, 5)));
        // A missing key: zeros, and a value compare never holds.
        assert!(m(Cmp::version("k", CompareOp::Equal, 0)));
        assert!(m(Cmp::create_revision("k", CompareOp::Less, 1)));
        assert!(!m(Cmp::value("k", CompareOp::Equal, "")));
        assert!(!m(Cmp::value("k", CompareOp::NotEqual, "x")));
    }
}
