//! [`Compare`]: the conditions of a transaction (Go's `Compare(Version(k), "=", 1)`).

use super::op::KeyRange;
use super::pb::etcdserverpb::{self as pb, compare};

/// How a compare relates the key's field to the given value (Go's `"="`,
/// `"!="`, `">"`, `"<"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `>`
    Greater,
    /// `<`
    Less,
}

/// One condition of a transaction: a key's version, create revision, mod
/// revision, value or lease compared with a value. Over a range
/// ([`Compare::with_range`], [`Compare::with_prefix`]) every key in it must
/// satisfy it.
///
/// ```
/// use etcd_sdk::v3::{Compare, CompareOp};
/// let absent = Compare::create_revision("lock", CompareOp::Equal, 0);
/// let all_old = Compare::mod_revision("jobs/", CompareOp::Less, 100).with_prefix();
/// # let _ = (absent, all_old);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Compare(pb::Compare);

impl Compare {
    fn new(key: Vec<u8>, op: CompareOp, target: compare::TargetUnion) -> Compare {
        let target_kind = match target {
            compare::TargetUnion::Version(_) => compare::CompareTarget::Version,
            compare::TargetUnion::CreateRevision(_) => compare::CompareTarget::Create,
            compare::TargetUnion::ModRevision(_) => compare::CompareTarget::Mod,
            compare::TargetUnion::Value(_) => compare::CompareTarget::Value,
            compare::TargetUnion::Lease(_) => compare::CompareTarget::Lease,
        };
        let result = match op {
            CompareOp::Equal => compare::CompareResult::Equal,
            CompareOp::NotEqual => compare::CompareResult::NotEqual,
            CompareOp::Greater => compare::CompareResult::Greater,
            CompareOp::Less => compare::CompareResult::Less,
        };
        Compare(pb::Compare {
            result: result as i32,
            target: target_kind as i32,
            key,
            range_end: Vec::new(),
            target_union: Some(target),
        })
    }

    /// Compares the key's version (0 when it does not exist).
    pub fn version(key: impl Into<Vec<u8>>, op: CompareOp, version: i64) -> Compare {
        Self::new(key.into(), op, compare::TargetUnion::Version(version))
    }

    /// Compares the key's create revision (0 when it does not exist).
    pub fn create_revision(key: impl Into<Vec<u8>>, op: CompareOp, revision: i64) -> Compare {
        Self::new(
            key.into(),
            op,
            compare::TargetUnion::CreateRevision(revision),
        )
    }

    /// Compares the key's mod revision (0 when it does not exist).
    pub fn mod_revision(key: impl Into<Vec<u8>>, op: CompareOp, revision: i64) -> Compare {
        Self::new(key.into(), op, compare::TargetUnion::ModRevision(revision))
    }

    /// Compares the key's value (false for every op when it does not exist).
    pub fn value(key: impl Into<Vec<u8>>, op: CompareOp, value: impl Into<Vec<u8>>) -> Compare {
        Self::new(key.into(), op, compare::TargetUnion::Value(value.into()))
    }

    /// Compares the key's lease ID (0 when it has none).
    pub fn lease(key: impl Into<Vec<u8>>, op: CompareOp, lease: i64) -> Compare {
        Self::new(key.into(), op, compare::TargetUnion::Lease(lease))
    }

    /// Applies to every key in `[key, end)`.
    pub fn with_range(mut self, end: impl Into<Vec<u8>>) -> Compare {
        self.0.range_end = end.into();
        self
    }

    /// Applies to every key with the key as prefix (an empty key: every key).
    pub fn with_prefix(mut self) -> Compare {
        let (key, end) = KeyRange::Prefix.encode(std::mem::take(&mut self.0.key));
        self.0.key = key;
        self.0.range_end = end;
        self
    }

    /// The protobuf message sent.
    pub fn as_pb(&self) -> &pb::Compare {
        &self.0
    }

    /// The protobuf message sent, by value.
    pub fn into_pb(self) -> pb::Compare {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_and_op_encodes() {
        let c = Compare::version("k", CompareOp::Equal, 2).into_pb();
        assert_eq!(
            c,
            pb::Compare {
                result: 0,
                target: 0,
                key: b"k".to_vec(),
                range_end: vec![],
                target_union: Some(compare::TargetUnion::Version(2)),
            }
        );
        let c = Compare::create_revision("k", CompareOp::Greater, 3).into_pb();
        assert_eq!(
            (c.result, c.target, c.target_union),
            (1, 1, Some(compare::TargetUnion::CreateRevision(3)))
        );
        let c = Compare::mod_revision("k", CompareOp::Less, 4).into_pb();
        assert_eq!(
            (c.result, c.target, c.target_union),
            (2, 2, Some(compare::TargetUnion::ModRevision(4)))
        );
        let c = Compare::value("k", CompareOp::NotEqual, "v").into_pb();
        assert_eq!(
            (c.result, c.target, c.target_union),
            (3, 3, Some(compare::TargetUnion::Value(b"v".to_vec())))
        );
        let c = Compare::lease("k", CompareOp::Equal, 5).into_pb();
        assert_eq!(
            (c.result, c.target, c.target_union),
            (0, 4, Some(compare::TargetUnion::Lease(5)))
        );
    }

    #[test]
    fn ranges_and_prefixes() {
        let c = Compare::version("a", CompareOp::Equal, 0)
            .with_range("c")
            .into_pb();
        assert_eq!((c.key, c.range_end), (b"a".to_vec(), b"c".to_vec()));
        let c = Compare::version("a/", CompareOp::Equal, 0)
            .with_prefix()
            .into_pb();
        assert_eq!((c.key, c.range_end), (b"a/".to_vec(), b"a0".to_vec()));
        let c = Compare::version("", CompareOp::Equal, 0)
            .with_prefix()
            .into_pb();
        assert_eq!((c.key, c.range_end), (vec![0], vec![0]));
    }
}
