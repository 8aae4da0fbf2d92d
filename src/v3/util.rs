//! Compare helpers (Go's `clientv3util`).

use super::compare::{Compare, CompareOp};

/// A compare that holds when `key` exists (its version is above 0; Go's
/// `KeyExists`), e.g. to delete a key only if it is there.
///
/// ```
/// use etcd_sdk::v3::util::key_exists;
/// use etcd_sdk::v3::{Compare, CompareOp};
/// assert_eq!(key_exists("k"), Compare::version("k", CompareOp::Greater, 0));
/// ```
pub fn key_exists(key: impl Into<Vec<u8>>) -> Compare {
    Compare::version(key, CompareOp::Greater, 0)
}

/// A compare that holds when `key` does not exist (its version is 0; Go's
/// `KeyMissing`), e.g. to create a key only once.
///
/// ```
/// use etcd_sdk::v3::util::key_missing;
/// use etcd_sdk::v3::{Compare, CompareOp};
/// assert_eq!(key_missing("k"), Compare::version("k", CompareOp::Equal, 0));
/// ```
pub fn key_missing(key: impl Into<Vec<u8>>) -> Compare {
    Compare::version(key, CompareOp::Equal, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::pb::etcdserverpb::compare;

    #[test]
    fn exists_and_missing_compare_the_version_with_zero() {
        let e = key_exists("k").into_pb();
        assert_eq!(
            (e.key, e.result, e.target, e.target_union),
            (
                b"k".to_vec(),
                compare::CompareResult::Greater as i32,
                compare::CompareTarget::Version as i32,
                Some(compare::TargetUnion::Version(0))
            )
        );
        let m = key_missing("k").into_pb();
        assert_eq!(
            (m.result, m.target, m.target_union),
            (
                compare::CompareResult::Equal as i32,
                compare::CompareTarget::Version as i32,
                Some(compare::TargetUnion::Version(0))
            )
        );
    }
}
