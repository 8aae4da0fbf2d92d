//! Operations and their options (Go's `Op` and `OpOption`s, spec §4.5):
//! [`GetOptions`], [`PutOptions`], [`DeleteOptions`], [`KeyRange`], and
//! [`Op`], which [`crate::v3::KV::do_op`] and transactions run.

use super::compare::Compare;
use super::pb::etcdserverpb::{
    DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, range_request, request_op,
};

/// Which keys a get or delete covers, starting at its key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KeyRange {
    /// Only the key itself (the default).
    #[default]
    Single,
    /// Every key starting with the key (`WithPrefix`); an empty key means
    /// every key.
    Prefix,
    /// Every key greater than or equal to the key (`WithFromKey`); an empty
    /// key means every key.
    FromKey,
    /// Keys in `[key, end)` (`WithRange`).
    End(Vec<u8>),
}

/// The end of the range of keys starting with `prefix` (Go's
/// `GetPrefixRangeEnd`): the prefix with its last byte below `0xff`
/// incremented and what follows it dropped; `"\0"` (no end) when every byte
/// is `0xff` or the prefix is empty.
///
/// ```
/// use etcd_sdk::v3::get_prefix_range_end;
/// assert_eq!(get_prefix_range_end(b"foo/"), b"foo0");
/// assert_eq!(get_prefix_range_end(b"a\xff"), b"b");
/// assert_eq!(get_prefix_range_end(b"\xff\xff"), b"\0");
/// ```
pub fn get_prefix_range_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|&b| b < 0xff) {
        Some(i) => {
            let mut end = prefix[..=i].to_vec();
            end[i] += 1;
            end
        }
        None => vec![0],
    }
}

impl KeyRange {
    /// The `(key, range_end)` etcd is sent for `key` (Go's encoding: an empty
    /// key with a prefix or from-key range becomes `"\0"`).
    pub fn encode(&self, key: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
        match self {
            KeyRange::Single => (key, Vec::new()),
            KeyRange::Prefix if key.is_empty() => (vec![0], vec![0]),
            KeyRange::Prefix => {
                let end = get_prefix_range_end(&key);
                (key, end)
            }
            KeyRange::FromKey if key.is_empty() => (vec![0], vec![0]),
            KeyRange::FromKey => (key, vec![0]),
            KeyRange::End(end) => (key, end.clone()),
        }
    }
}

/// What to sort a get's result by (`WithSort`'s target).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortTarget {
    /// The key (the default).
    #[default]
    Key,
    /// The version.
    Version,
    /// The create revision.
    Create,
    /// The mod revision.
    Mod,
    /// The value.
    Value,
}

/// The direction of a sort (`WithSort`'s order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// No sort (the default; etcd returns keys in ascending key order).
    #[default]
    None,
    /// Ascending.
    Ascend,
    /// Descending.
    Descend,
}

/// Options of a get (Go's `OpOption`s for `Get`). `Default` is a
/// linearizable read of the one key at the latest revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Which keys. Default: only the key.
    pub range: KeyRange,
    /// Read at this revision (`WithRev`). `0`: the latest.
    pub revision: i64,
    /// At most this many keys (`WithLimit`). `0`: no limit.
    pub limit: i64,
    /// Sort by this target (`WithSort`). `None`: etcd's ascending key order.
    /// Sorting by key ascending is sent as no sort, as Go does (the server
    /// would otherwise read the whole range before limiting).
    pub sort: Option<(SortTarget, SortOrder)>,
    /// Serve from the member's local state without a quorum round
    /// (`WithSerializable`). Default `false`: linearizable.
    pub serializable: bool,
    /// Return keys without values (`WithKeysOnly`).
    pub keys_only: bool,
    /// Return only the count (`WithCountOnly`).
    pub count_only: bool,
    /// Only keys with a mod revision ≥ this (`WithMinModRev`). `0`: no bound.
    pub min_mod_revision: i64,
    /// Only keys with a mod revision ≤ this (`WithMaxModRev`). `0`: no bound.
    pub max_mod_revision: i64,
    /// Only keys with a create revision ≥ this (`WithMinCreateRev`). `0`: no bound.
    pub min_create_revision: i64,
    /// Only keys with a create revision ≤ this (`WithMaxCreateRev`). `0`: no bound.
    pub max_create_revision: i64,
}

impl GetOptions {
    /// Every key with the get's key as prefix (`WithPrefix`).
    pub fn prefix() -> GetOptions {
        GetOptions {
            range: KeyRange::Prefix,
            ..Default::default()
        }
    }

    /// Every key ≥ the get's key (`WithFromKey`).
    pub fn from_key() -> GetOptions {
        GetOptions {
            range: KeyRange::FromKey,
            ..Default::default()
        }
    }

    fn first_last(target: SortTarget, order: SortOrder) -> GetOptions {
        GetOptions {
            range: KeyRange::Prefix,
            sort: Some((target, order)),
            limit: 1,
            ..Default::default()
        }
    }

    /// The first-created key under the prefix (`WithFirstCreate`).
    pub fn first_create() -> GetOptions {
        Self::first_last(SortTarget::Create, SortOrder::Ascend)
    }

    /// The last-created key under the prefix (`WithLastCreate`).
    pub fn last_create() -> GetOptions {
        Self::first_last(SortTarget::Create, SortOrder::Descend)
    }

    /// The lexically first key under the prefix (`WithFirstKey`).
    pub fn first_key() -> GetOptions {
        Self::first_last(SortTarget::Key, SortOrder::Ascend)
    }

    /// The lexically last key under the prefix (`WithLastKey`).
    pub fn last_key() -> GetOptions {
        Self::first_last(SortTarget::Key, SortOrder::Descend)
    }

    /// The least recently modified key under the prefix (`WithFirstRev`).
    pub fn first_rev() -> GetOptions {
        Self::first_last(SortTarget::Mod, SortOrder::Ascend)
    }

    /// The most recently modified key under the prefix (`WithLastRev`).
    pub fn last_rev() -> GetOptions {
        Self::first_last(SortTarget::Mod, SortOrder::Descend)
    }

    /// The `RangeRequest` for `key` with these options.
    pub fn to_request(&self, key: Vec<u8>) -> RangeRequest {
        let (key, range_end) = self.range.encode(key);
        let (target, order) = match self.sort {
            Some((SortTarget::Key, SortOrder::Ascend)) | None => (SortTarget::Key, SortOrder::None),
            Some(s) => s,
        };
        RangeRequest {
            key,
            range_end,
            limit: self.limit,
            revision: self.revision,
            sort_order: match order {
                SortOrder::None => range_request::SortOrder::None,
                SortOrder::Ascend => range_request::SortOrder::Ascend,
                SortOrder::Descend => range_request::SortOrder::Descend,
            } as i32,
            sort_target: match target {
                SortTarget::Key => range_request::SortTarget::Key,
                SortTarget::Version => range_request::SortTarget::Version,
                SortTarget::Create => range_request::SortTarget::Create,
                SortTarget::Mod => range_request::SortTarget::Mod,
                SortTarget::Value => range_request::SortTarget::Value,
            } as i32,
            serializable: self.serializable,
            keys_only: self.keys_only,
            count_only: self.count_only,
            min_mod_revision: self.min_mod_revision,
            max_mod_revision: self.max_mod_revision,
            min_create_revision: self.min_create_revision,
            max_create_revision: self.max_create_revision,
        }
    }
}

/// Options of a put. `Default`: no lease, no previous value returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Attach the key to this lease (`WithLease`). `0`: no lease.
    pub lease: i64,
    /// Return the previous key-value (`WithPrevKV`).
    pub prev_kv: bool,
    /// Keep the current value (`WithIgnoreValue`); the put's value must be empty.
    pub ignore_value: bool,
    /// Keep the current lease (`WithIgnoreLease`); `lease` must be 0.
    pub ignore_lease: bool,
}

impl PutOptions {
    /// The `PutRequest` for `key` and `value` with these options.
    pub fn to_request(&self, key: Vec<u8>, value: Vec<u8>) -> PutRequest {
        PutRequest {
            key,
            value,
            lease: self.lease,
            prev_kv: self.prev_kv,
            ignore_value: self.ignore_value,
            ignore_lease: self.ignore_lease,
        }
    }
}

/// Options of a delete. `Default`: only the key, no previous values returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Which keys. Default: only the key.
    pub range: KeyRange,
    /// Return the deleted key-values (`WithPrevKV`).
    pub prev_kv: bool,
}

impl DeleteOptions {
    /// Every key with the delete's key as prefix (`WithPrefix`).
    pub fn prefix() -> DeleteOptions {
        DeleteOptions {
            range: KeyRange::Prefix,
            ..Default::default()
        }
    }

    /// The `DeleteRangeRequest` for `key` with these options.
    pub fn to_request(&self, key: Vec<u8>) -> DeleteRangeRequest {
        let (key, range_end) = self.range.encode(key);
        DeleteRangeRequest {
            key,
            range_end,
            prev_kv: self.prev_kv,
        }
    }
}

/// One operation: a get, put, delete or nested transaction (Go's `Op`).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A get (`OpGet`).
    Get(RangeRequest),
    /// A put (`OpPut`).
    Put(PutRequest),
    /// A delete (`OpDelete`).
    Delete(DeleteRangeRequest),
    /// A transaction (`OpTxn`).
    Txn(TxnRequest),
}

impl Op {
    /// A get of `key` (`OpGet`).
    pub fn get(key: impl Into<Vec<u8>>, opts: GetOptions) -> Op {
        Op::Get(opts.to_request(key.into()))
    }

    /// A put of `value` at `key` (`OpPut`).
    pub fn put(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>, opts: PutOptions) -> Op {
        Op::Put(opts.to_request(key.into(), value.into()))
    }

    /// A delete of `key` (`OpDelete`).
    pub fn delete(key: impl Into<Vec<u8>>, opts: DeleteOptions) -> Op {
        Op::Delete(opts.to_request(key.into()))
    }

    /// A transaction (`OpTxn`): `then` runs when every compare holds,
    /// `otherwise` when one does not.
    pub fn txn(
        compares: impl IntoIterator<Item = Compare>,
        then: impl IntoIterator<Item = Op>,
        otherwise: impl IntoIterator<Item = Op>,
    ) -> Op {
        Op::Txn(TxnRequest {
            compare: compares.into_iter().map(Compare::into_pb).collect(),
            success: then.into_iter().map(Op::into_request_op).collect(),
            failure: otherwise.into_iter().map(Op::into_request_op).collect(),
        })
    }

    /// Whether running it changes nothing (a get, or a txn of gets only);
    /// such ops are retried like reads.
    pub fn is_read_only(&self) -> bool {
        match self {
            Op::Get(_) => true,
            Op::Put(_) | Op::Delete(_) => false,
            Op::Txn(t) => t
                .success
                .iter()
                .chain(&t.failure)
                .all(|r| matches!(&r.request, Some(request_op::Request::RequestRange(_)))),
        }
    }

    /// The op as a txn branch entry.
    pub fn into_request_op(self) -> RequestOp {
        RequestOp {
            request: Some(match self {
                Op::Get(r) => request_op::Request::RequestRange(r),
                Op::Put(r) => request_op::Request::RequestPut(r),
                Op::Delete(r) => request_op::Request::RequestDeleteRange(r),
                Op::Txn(r) => request_op::Request::RequestTxn(r),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_zero_but(req: RangeRequest, expect: RangeRequest) {
        assert_eq!(req, expect);
    }

    #[test]
    fn prefix_range_end() {
        assert_eq!(get_prefix_range_end(b"foo"), b"fop");
        assert_eq!(get_prefix_range_end(b"a\xff\xff"), b"b");
        assert_eq!(get_prefix_range_end(b"\xff"), b"\0");
        assert_eq!(get_prefix_range_end(b""), b"\0");
    }

    #[test]
    fn key_ranges_encode_as_go_does() {
        assert_eq!(
            KeyRange::Single.encode(b"k".to_vec()),
            (b"k".to_vec(), vec![])
        );
        assert_eq!(
            KeyRange::Prefix.encode(b"k/".to_vec()),
            (b"k/".to_vec(), b"k0".to_vec())
        );
        assert_eq!(KeyRange::Prefix.encode(vec![]), (vec![0], vec![0]));
        assert_eq!(
            KeyRange::FromKey.encode(b"k".to_vec()),
            (b"k".to_vec(), vec![0])
        );
        assert_eq!(KeyRange::FromKey.encode(vec![]), (vec![0], vec![0]));
        assert_eq!(
            KeyRange::End(b"z".to_vec()).encode(b"a".to_vec()),
            (b"a".to_vec(), b"z".to_vec())
        );
    }

    #[test]
    fn each_get_option_sets_its_field() {
        let base = RangeRequest {
            key: b"k".to_vec(),
            ..Default::default()
        };
        let enc = |o: GetOptions| o.to_request(b"k".to_vec());
        all_zero_but(enc(GetOptions::default()), base.clone());
        all_zero_but(
            enc(GetOptions {
                revision: 7,
                ..Default::default()
            }),
            RangeRequest {
                revision: 7,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                limit: 3,
                ..Default::default()
            }),
            RangeRequest {
                limit: 3,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                serializable: true,
                ..Default::default()
            }),
            RangeRequest {
                serializable: true,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                keys_only: true,
                ..Default::default()
            }),
            RangeRequest {
                keys_only: true,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                count_only: true,
                ..Default::default()
            }),
            RangeRequest {
                count_only: true,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                min_mod_revision: 2,
                ..Default::default()
            }),
            RangeRequest {
                min_mod_revision: 2,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                max_mod_revision: 3,
                ..Default::default()
            }),
            RangeRequest {
                max_mod_revision: 3,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                min_create_revision: 4,
                ..Default::default()
            }),
            RangeRequest {
                min_create_revision: 4,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                max_create_revision: 5,
                ..Default::default()
            }),
            RangeRequest {
                max_create_revision: 5,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions::prefix()),
            RangeRequest {
                range_end: b"l".to_vec(),
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions::from_key()),
            RangeRequest {
                range_end: vec![0],
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                sort: Some((SortTarget::Mod, SortOrder::Descend)),
                ..Default::default()
            }),
            RangeRequest {
                sort_target: 3,
                sort_order: 2,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                sort: Some((SortTarget::Value, SortOrder::Ascend)),
                ..Default::default()
            }),
            RangeRequest {
                sort_target: 4,
                sort_order: 1,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions {
                sort: Some((SortTarget::Version, SortOrder::None)),
                ..Default::default()
            }),
            RangeRequest {
                sort_target: 1,
                sort_order: 0,
                ..base.clone()
            },
        );
        // Key ascending is etcd's own order: sent as no sort.
        all_zero_but(
            enc(GetOptions {
                sort: Some((SortTarget::Key, SortOrder::Ascend)),
                ..Default::default()
            }),
            base.clone(),
        );
        all_zero_but(
            enc(GetOptions::first_create()),
            RangeRequest {
                range_end: b"l".to_vec(),
                sort_target: 2,
                sort_order: 1,
                limit: 1,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions::last_key()),
            RangeRequest {
                range_end: b"l".to_vec(),
                sort_target: 0,
                sort_order: 2,
                limit: 1,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions::first_key()),
            RangeRequest {
                range_end: b"l".to_vec(),
                limit: 1,
                ..base.clone()
            },
        );
        all_zero_but(
            enc(GetOptions::last_rev()),
            RangeRequest {
                range_end: b"l".to_vec(),
                sort_target: 3,
                sort_order: 2,
                limit: 1,
                ..base
            },
        );
    }

    #[test]
    fn put_and_delete_options_set_their_fields() {
        let put = |o: PutOptions| o.to_request(b"k".to_vec(), b"v".to_vec());
        let base = PutRequest {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            ..Default::default()
        };
        assert_eq!(put(PutOptions::default()), base);
        assert_eq!(
            put(PutOptions {
                lease: 9,
                ..Default::default()
            }),
            PutRequest {
                lease: 9,
                ..base.clone()
            }
        );
        assert_eq!(
            put(PutOptions {
                prev_kv: true,
                ..Default::default()
            }),
            PutRequest {
                prev_kv: true,
                ..base.clone()
            }
        );
        assert_eq!(
            put(PutOptions {
                ignore_value: true,
                ..Default::default()
            }),
            PutRequest {
                ignore_value: true,
                ..base.clone()
            }
        );
        assert_eq!(
            put(PutOptions {
                ignore_lease: true,
                ..Default::default()
            }),
            PutRequest {
                ignore_lease: true,
                ..base
            }
        );

        let del = |o: DeleteOptions| o.to_request(b"k".to_vec());
        assert_eq!(
            del(DeleteOptions::default()),
            DeleteRangeRequest {
                key: b"k".to_vec(),
                ..Default::default()
            }
        );
        assert_eq!(
            del(DeleteOptions {
                prev_kv: true,
                ..DeleteOptions::prefix()
            }),
            DeleteRangeRequest {
                key: b"k".to_vec(),
                range_end: b"l".to_vec(),
                prev_kv: true
            }
        );
        assert_eq!(
            del(DeleteOptions {
                range: KeyRange::FromKey,
                prev_kv: false
            }),
            DeleteRangeRequest {
                key: b"k".to_vec(),
                range_end: vec![0],
                prev_kv: false
            }
        );
    }

    #[test]
    fn ops_wrap_their_requests() {
        let txn = Op::txn(
            [Compare::version("k", super::super::CompareOp::Equal, 0)],
            [Op::put("k", "v", PutOptions::default())],
            [Op::get("k", GetOptions::default())],
        );
        let Op::Txn(t) = &txn else { panic!("{txn:?}") };
        assert_eq!(t.compare.len(), 1);
        assert!(matches!(
            t.success[0].request,
            Some(request_op::Request::RequestPut(_))
        ));
        assert!(matches!(
            t.failure[0].request,
            Some(request_op::Request::RequestRange(_))
        ));
        assert!(!txn.is_read_only());
        assert!(Op::get("k", GetOptions::default()).is_read_only());
        assert!(Op::txn([], [Op::get("a", GetOptions::default())], []).is_read_only());
        assert!(!Op::delete("k", DeleteOptions::default()).is_read_only());
    }
}
