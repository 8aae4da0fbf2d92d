//! The errors the kv store and its request validators produce. Each variant is one row
//! of etcd's server error table; `Display` is etcd's exact message (clients match on
//! it), and each variant's doc names the gRPC code etcd sends it with.

use thiserror::Error;

/// A kv store or validation error.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KvError {
    /// An empty key in Range, Put, DeleteRange, or any compare or op of a Txn.
    /// gRPC code: InvalidArgument.
    #[error("etcdserver: key is not provided")]
    KeyNotProvided,
    /// `ignore_value`/`ignore_lease` on a key that does not exist, or a Txn op with no
    /// request set. gRPC code: InvalidArgument.
    #[error("etcdserver: key not found")]
    KeyNotFound,
    /// `ignore_value` together with a non-empty value. gRPC code: InvalidArgument.
    #[error("etcdserver: value is provided")]
    ValueProvided,
    /// `ignore_lease` together with a non-zero lease. gRPC code: InvalidArgument.
    #[error("etcdserver: lease is provided")]
    LeaseProvided,
    /// More compares, success ops or failure ops than the Txn limit (128 by default).
    /// gRPC code: InvalidArgument.
    #[error("etcdserver: too many operations in txn request")]
    TooManyOps,
    /// A Txn whose puts collide with each other or with its deletes.
    /// gRPC code: InvalidArgument.
    #[error("etcdserver: duplicate key given in txn request")]
    DuplicateKey,
    /// A read (Range, a Txn's Range, HashKV, a watch) or a Compact at a revision that
    /// compaction already removed. `compact_revision` is the store's compact revision
    /// (-1 when never compacted), for watch cancel replies. gRPC code: OutOfRange.
    #[error("etcdserver: mvcc: required revision has been compacted")]
    Compacted {
        /// The store's compact revision when the request failed.
        compact_revision: i64,
    },
    /// A read or Compact at a revision above the current one. gRPC code: OutOfRange.
    #[error("etcdserver: mvcc: required revision is a future revision")]
    FutureRevision,
    /// A Put (or a Txn's Put) with a lease that does not exist. gRPC code: NotFound.
    #[error("etcdserver: requested lease not found")]
    LeaseNotFound,
}

/// The kv store's result type.
pub type Result<T, E = KvError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_etcd() {
        let cases = [
            (KvError::KeyNotProvided, "etcdserver: key is not provided"),
            (KvError::KeyNotFound, "etcdserver: key not found"),
            (KvError::ValueProvided, "etcdserver: value is provided"),
            (KvError::LeaseProvided, "etcdserver: lease is provided"),
            (
                KvError::TooManyOps,
                "etcdserver: too many operations in txn request",
            ),
            (
                KvError::DuplicateKey,
                "etcdserver: duplicate key given in txn request",
            ),
            (
                KvError::Compacted {
                    compact_revision: 7,
                },
                "etcdserver: mvcc: required revision has been compacted",
            ),
            (
                KvError::FutureRevision,
                "etcdserver: mvcc: required revision is a future revision",
            ),
            (
                KvError::LeaseNotFound,
                "etcdserver: requested lease not found",
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
    }
}
