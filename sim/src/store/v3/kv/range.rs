//! A RangeRequest against the store: the revision to read, then etcd's option pipeline
//! (fetch, min/max filters, sort, limit, keys_only, count_only).

use etcd_sdk::v3::pb::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_sdk::v3::pb::etcdserverpb::{RangeRequest, RangeResponse};
use etcd_sdk::v3::pb::mvccpb::KeyValue;

use super::error::Result;
use super::key_range::KeyRange;
use super::store::KvStore;

impl KvStore {
    /// Serves a RangeRequest at the current revision (response header left `None`).
    ///
    /// - `revision`: 0 or negative = current; above current fails with
    ///   [`KvError::FutureRevision`](super::KvError::FutureRevision), below the compact
    ///   revision with [`KvError::Compacted`](super::KvError::Compacted).
    /// - `count`: live keys in the range at that revision, before filters and limit.
    /// - With a sort order or any min/max filter, the whole range is read, filtered,
    ///   sorted, then cut to `limit`. Otherwise `limit + 1` keys are read in key order
    ///   (then sorted ascending if `sort_target != KEY`, as etcd does) and cut to `limit`.
    /// - `more`: true only when `limit > 0` cut something off.
    /// - `keys_only` clears values; `count_only` returns no kvs.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse> {
        self.range_at(req, self.current_revision)
    }

    /// A RangeRequest as seen by a read whose newest revision is `current` (inside a
    /// write batch: the batch's read revision).
    pub(super) fn range_at(&self, req: &RangeRequest, current: i64) -> Result<RangeResponse> {
        let rev = self.read_revision(req.revision, current)?;
        let filtered = req.min_mod_revision != 0
            || req.max_mod_revision != 0
            || req.min_create_revision != 0
            || req.max_create_revision != 0;
        let fetch_all = req.sort_order != SortOrder::None as i32 || filtered;
        let fetch_limit = if fetch_all || req.limit <= 0 {
            usize::MAX
        } else {
            usize::try_from(req.limit)
                .unwrap_or(usize::MAX)
                .saturating_add(1)
        };

        let range = KeyRange::new(&req.key, &req.range_end);
        let mut count = 0i64;
        let mut kvs: Vec<KeyValue> = Vec::new();
        for (_, found) in self.index.live_at(&range, rev) {
            count += 1;
            if req.count_only || kvs.len() >= fetch_limit {
                continue;
            }
            if let Some(stored) = self.backend.get(&found.modified) {
                kvs.push(stored.kv.clone());
            }
        }

        if req.max_mod_revision != 0 {
            kvs.retain(|kv| kv.mod_revision <= req.max_mod_revision);
        }
        if req.min_mod_revision != 0 {
            kvs.retain(|kv| kv.mod_revision >= req.min_mod_revision);
        }
        if req.max_create_revision != 0 {
            kvs.retain(|kv| kv.create_revision <= req.max_create_revision);
        }
        if req.min_create_revision != 0 {
            kvs.retain(|kv| kv.create_revision >= req.min_create_revision);
        }

        sort(&mut kvs, req.sort_order, req.sort_target);

        let mut more = false;
        if req.limit > 0 {
            let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
            if kvs.len() > limit {
                kvs.truncate(limit);
                more = true;
            }
        }
        if req.keys_only {
            for kv in &mut kvs {
                kv.value.clear();
            }
        }
        Ok(RangeResponse {
            header: None,
            kvs,
            more,
            count,
        })
    }
}

/// etcd's sort step: NONE with a target other than KEY means ASCEND; unknown orders or
/// targets leave the order as read (key order). Ties keep key order.
fn sort(kvs: &mut [KeyValue], order: i32, target: i32) {
    let order = if target != SortTarget::Key as i32 && order == SortOrder::None as i32 {
        SortOrder::Ascend as i32
    } else {
        order
    };
    let descending = if order == SortOrder::Ascend as i32 {
        false
    } else if order == SortOrder::Descend as i32 {
        true
    } else {
        return;
    };
    let Ok(target) = SortTarget::try_from(target) else {
        return;
    };
    kvs.sort_by(|a, b| {
        let ord = match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        };
        if descending { ord.reverse() } else { ord }
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// a..e created at 2..6; then c, a rewritten (7, 8): versions a=2, c=2.
    fn store() -> KvStore {
        let mut s = KvStore::new();
        for (k, v) in [("a", "5"), ("b", "4"), ("c", "3"), ("d", "2"), ("e", "1")] {
            put(&mut s, k, v);
        }
        put(&mut s, "c", "33");
        put(&mut s, "a", "55");
        s
    }

    fn keys(r: &RangeResponse) -> Vec<String> {
        r.kvs
            .iter()
            .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
            .collect()
    }

    #[test]
    fn single_prefix_from_and_all() {
        let s = store();
        let r = s.range(&range_req("b", "")).unwrap();
        assert_eq!((keys(&r), r.count, r.more), (vec!["b".into()], 1, false));
        let r = s.range(&range_req("b", "d")).unwrap();
        assert_eq!(keys(&r), vec!["b", "c"]);
        let r = s.range(&range_req("c", "\0")).unwrap();
        assert_eq!(keys(&r), vec!["c", "d", "e"]);
        let r = s.range(&range_req("\0", "\0")).unwrap();
        assert_eq!(r.count, 5);
        let r = s.range(&range_req("d", "b")).unwrap();
        assert_eq!((r.count, r.kvs.len()), (0, 0));
        let r = s.range(&range_req("zz", "")).unwrap();
        assert_eq!((r.count, r.kvs.len(), r.more), (0, 0, false));
    }

    #[test]
    fn prefix_range() {
        let mut s = store();
        put(&mut s, "ba", "x");
        s.put(
            &etcd_sdk::v3::pb::etcdserverpb::PutRequest {
                key: b"b\xff".to_vec(),
                value: b"y".to_vec(),
                ..Default::default()
            },
            &crate::store::v3::kv::NoLeases,
        )
        .unwrap();
        // Prefix "b" = [b, c): the key itself and everything under it.
        let r = s.range(&range_req("b", "c")).unwrap();
        assert_eq!(keys(&r), vec!["b", "ba", "b\u{fffd}"]);
        assert_eq!(r.count, 3);
    }

    #[test]
    fn limit_more_and_count() {
        let s = store();
        let mut req = range_req("\0", "\0");
        req.limit = 2;
        let r = s.range(&req).unwrap();
        assert_eq!(
            (keys(&r), r.more, r.count),
            (vec!["a".into(), "b".into()], true, 5)
        );
        req.limit = 5;
        let r = s.range(&req).unwrap();
        assert_eq!((r.kvs.len(), r.more, r.count), (5, false, 5));
        req.limit = -1;
        assert_eq!(s.range(&req).unwrap().kvs.len(), 5);
    }

    /// §2.3's verified example: limit=1 with min_mod_revision gives one kv, more=true,
    /// and an unfiltered count.
    #[test]
    fn count_ignores_filters_and_limit() {
        let s = store();
        let mut req = range_req("\0", "\0");
        req.limit = 1;
        req.keys_only = true;
        req.min_mod_revision = 6;
        let r = s.range(&req).unwrap();
        assert_eq!(keys(&r), vec!["a"]);
        assert!(r.kvs[0].value.is_empty());
        assert_eq!(r.kvs[0].mod_revision, 8);
        assert!(r.more);
        assert_eq!(r.count, 5);
        req.limit = 0;
        let r = s.range(&req).unwrap();
        assert_eq!(keys(&r), vec!["a", "c", "e"]);
        assert!(!r.more);
    }

    #[test]
    fn min_max_filters() {
        let s = store();
        let mut req = range_req("\0", "\0");
        req.max_mod_revision = 5;
        assert_eq!(keys(&s.range(&req).unwrap()), vec!["b", "d"]);
        let mut req = range_req("\0", "\0");
        req.min_create_revision = 4;
        req.max_create_revision = 5;
        assert_eq!(keys(&s.range(&req).unwrap()), vec!["c", "d"]);
        let mut req = range_req("\0", "\0");
        req.min_mod_revision = 7;
        req.max_mod_revision = 7;
        assert_eq!(keys(&s.range(&req).unwrap()), vec!["c"]);
    }

    #[test]
    fn sort_orders_and_targets() {
        let s = store();
        let sorted = |order: SortOrder, target: SortTarget, limit: i64| {
            let mut req = range_req("\0", "\0");
            req.sort_order = order as i32;
            req.sort_target = target as i32;
            req.limit = limit;
            keys(&s.range(&req).unwrap())
        };
        assert_eq!(
            sorted(SortOrder::Descend, SortTarget::Key, 0),
            vec!["e", "d", "c", "b", "a"]
        );
        assert_eq!(
            sorted(SortOrder::Ascend, SortTarget::Value, 0),
            vec!["e", "d", "c", "b", "a"]
        );
        assert_eq!(
            sorted(SortOrder::Descend, SortTarget::Mod, 2),
            vec!["a", "c"]
        );
        assert_eq!(
            sorted(SortOrder::Ascend, SortTarget::Create, 0),
            vec!["a", "b", "c", "d", "e"]
        );
        // Ties (version 1) keep key order.
        assert_eq!(
            sorted(SortOrder::Descend, SortTarget::Version, 0),
            vec!["a", "c", "b", "d", "e"]
        );
        // NONE with a non-KEY target sorts ascending, but only over the limit+1 keys
        // read in key order (etcd does not read the whole range then; checked on etcd
        // 3.4.23 with the same values: limit=2, sort_target=VALUE gave c, b).
        assert_eq!(
            sorted(SortOrder::None, SortTarget::Value, 0),
            vec!["e", "d", "c", "b", "a"]
        );
        assert_eq!(
            sorted(SortOrder::None, SortTarget::Value, 2),
            vec!["c", "b"]
        );
        // With an explicit order the whole range is sorted first.
        assert_eq!(
            sorted(SortOrder::Ascend, SortTarget::Value, 2),
            vec!["e", "d"]
        );
    }

    #[test]
    fn count_only_and_history() {
        let s = store();
        let mut req = range_req("\0", "\0");
        req.count_only = true;
        let r = s.range(&req).unwrap();
        assert_eq!((r.count, r.kvs.len()), (5, 0));
        let mut req = range_req("\0", "\0");
        req.revision = 4;
        let r = s.range(&req).unwrap();
        assert_eq!(keys(&r), vec!["a", "b", "c"]);
        assert_eq!(r.kvs[0].value, b"5");
    }
}
