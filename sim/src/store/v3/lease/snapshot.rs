//! The lessor's part of a snapshot: what etcd keeps in its backend's `lease` bucket.
//!
//! Per lease: its ID, its granted TTL and its persisted remaining TTL (0 unless
//! checkpoints are persisted). Attached keys are not stored: after [`Lessor::restore`]
//! the server re-attaches them from the kv store with [`Lessor::rebuild_attachments`],
//! as etcd does. Expiries are not stored either: restored leases never expire until the
//! lessor is next promoted.
//!
//! Format (version 1), big-endian: the magic `b"ELSN"`, a version byte (1), the lease
//! count (u64), then per lease in increasing ID order: ID (i64), TTL (i64), remaining
//! TTL (i64).

use super::LeaseId;
use super::lessor::Lessor;
use super::record::Lease;
use std::collections::BTreeMap;

const MAGIC: &[u8; 4] = b"ELSN";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 8;
const RECORD_LEN: usize = 3 * 8;

/// Bytes that are not a lessor snapshot.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Too short for the header, or not starting with the magic bytes.
    #[error("invalid lessor snapshot: not a lessor snapshot")]
    NotASnapshot,
    /// A format version this build cannot read.
    #[error("invalid lessor snapshot: unsupported version {0}")]
    UnsupportedVersion(u8),
    /// The length does not match the lease count.
    #[error("invalid lessor snapshot: {len} bytes cannot hold {count} leases")]
    BadLength {
        /// The number of bytes given.
        len: usize,
        /// The lease count in the header.
        count: u64,
    },
    /// A lease with ID 0, or IDs not strictly increasing (a duplicate).
    #[error("invalid lessor snapshot: lease ID {0} is zero or out of order")]
    BadLeaseId(LeaseId),
}

/// One lease as the snapshot records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Record {
    id: LeaseId,
    ttl: i64,
    remaining_ttl: i64,
}

impl Lessor {
    /// Encodes every lease (ID, granted TTL, persisted remaining TTL) deterministically.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + RECORD_LEN * self.leases.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(self.leases.len() as u64).to_be_bytes());
        for lease in self.leases.values() {
            out.extend_from_slice(&lease.id.to_be_bytes());
            out.extend_from_slice(&lease.ttl.to_be_bytes());
            out.extend_from_slice(&lease.persisted_remaining_ttl.to_be_bytes());
        }
        out
    }

    /// Replaces every lease with the snapshot's (etcd's `Recover`): TTLs below the
    /// minimum are raised to it, remaining TTLs come from the snapshot, no lease has
    /// keys (see [`Lessor::rebuild_attachments`]) and none expires, whether or not the
    /// lessor is primary, until the next [`Lessor::promote`]. The expiry queue and the
    /// checkpoint schedule are dropped. On error nothing changes.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let records = decode(bytes)?;
        let mut leases = BTreeMap::new();
        for r in records {
            let mut lease = Lease::new(r.id, r.ttl.max(self.config.min_ttl));
            lease.remaining_ttl = r.remaining_ttl;
            lease.persisted_remaining_ttl = r.remaining_ttl;
            leases.insert(r.id, lease);
        }
        self.leases = leases;
        self.expiry_queue.clear();
        self.checkpoints.clear();
        Ok(())
    }
}

fn decode(bytes: &[u8]) -> Result<Vec<Record>, SnapshotError> {
    let (header, body) = match bytes.split_first_chunk::<HEADER_LEN>() {
        Some(split) => split,
        None => return Err(SnapshotError::NotASnapshot),
    };
    if &header[..4] != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    if header[4] != VERSION {
        return Err(SnapshotError::UnsupportedVersion(header[4]));
    }
    let mut count_bytes = [0u8; 8];
    count_bytes.copy_from_slice(&header[5..]);
    let count = u64::from_be_bytes(count_bytes);
    let bad_length = SnapshotError::BadLength {
        len: bytes.len(),
        count,
    };
    let expected = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(RECORD_LEN));
    if expected != Some(body.len()) {
        return Err(bad_length);
    }
    let mut records: Vec<Record> = Vec::with_capacity(body.len() / RECORD_LEN);
    for chunk in body.chunks_exact(RECORD_LEN) {
        let field = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&chunk[i * 8..i * 8 + 8]);
            i64::from_be_bytes(b)
        };
        let record = Record {
            id: field(0),
            ttl: field(1),
            remaining_ttl: field(2),
        };
        let in_order = records.last().is_none_or(|prev| prev.id < record.id);
        if record.id == 0 || !in_order {
            return Err(SnapshotError::BadLeaseId(record.id));
        }
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use crate::store::v3::lease::lessor::tests::primary_lessor;
    use std::time::{Duration, Instant};

    fn sample(now: Instant) -> Lessor {
        let mut le = primary_lessor(now);
        le.grant(5, 30, now).unwrap();
        le.grant(-3, 1, now).unwrap();
        le.grant(i64::MAX, 9_000_000_000, now).unwrap();
        le.attach(5, b"k".to_vec()).unwrap();
        le
    }

    #[test]
    fn round_trip_keeps_ids_and_ttls_not_keys_or_expiries() {
        let t0 = Instant::now();
        let le = sample(t0);
        let bytes = le.snapshot();
        assert_eq!(bytes.len(), HEADER_LEN + 3 * RECORD_LEN);
        assert_eq!(&bytes[..5], b"ELSN\x01");

        let mut follower = Lessor::new(LessorConfig::default());
        follower.grant(77, 10, t0).unwrap();
        follower.restore(&bytes).unwrap();
        assert_eq!(follower.leases(), vec![-3, 5, i64::MAX]);
        assert_eq!(follower.get(-3).map(|l| l.ttl()), Some(2));
        assert_eq!(follower.get(5).map(|l| l.ttl()), Some(30));
        assert!(follower.get(5).is_some_and(|l| l.keys().is_empty()));
        assert!(follower.get(5).is_some_and(|l| l.expiry().is_none()));
        // Same state, same bytes.
        assert_eq!(follower.snapshot(), bytes);
        assert_eq!(
            Lessor::new(LessorConfig::default()).snapshot().len(),
            HEADER_LEN
        );
    }

    #[test]
    fn restore_then_rebuild_then_promote() {
        let t0 = Instant::now();
        let bytes = sample(t0).snapshot();
        let mut le = primary_lessor(t0);
        le.restore(&bytes).unwrap();
        // Restored on a primary: still no expiry until promoted again.
        assert!(le.expired(t0 + Duration::from_secs(100), 500).is_empty());
        assert_eq!(
            le.rebuild_attachments(vec![(b"k".to_vec(), 5), (b"x".to_vec(), 6)]),
            1
        );
        assert_eq!(le.revoke(5), Ok(vec![b"k".to_vec()]));
        let t1 = t0 + Duration::from_secs(200);
        le.promote(t1, Duration::from_secs(1));
        assert_eq!(le.expired(t1 + Duration::from_secs(3), 500), vec![-3]);
    }

    #[test]
    fn restore_raises_ttls_to_this_lessors_minimum() {
        let t0 = Instant::now();
        let bytes = sample(t0).snapshot();
        let mut le = Lessor::new(LessorConfig {
            min_ttl: 60,
            ..LessorConfig::default()
        });
        le.restore(&bytes).unwrap();
        assert_eq!(le.get(-3).map(|l| l.ttl()), Some(60));
        assert_eq!(le.get(5).map(|l| l.ttl()), Some(60));
    }

    #[test]
    fn garbage_is_an_error_and_changes_nothing() {
        let t0 = Instant::now();
        let good = sample(t0).snapshot();
        let mut le = Lessor::new(LessorConfig::default());
        le.grant(1, 10, t0).unwrap();

        let mut cases: Vec<(Vec<u8>, SnapshotError)> = vec![
            (vec![], SnapshotError::NotASnapshot),
            (b"ELSN".to_vec(), SnapshotError::NotASnapshot),
            (
                b"NOPE\x01\0\0\0\0\0\0\0\0".to_vec(),
                SnapshotError::NotASnapshot,
            ),
            (
                b"ELSN\x02\0\0\0\0\0\0\0\0".to_vec(),
                SnapshotError::UnsupportedVersion(2),
            ),
        ];
        let truncated = good[..good.len() - 1].to_vec();
        cases.push((
            truncated.clone(),
            SnapshotError::BadLength {
                len: truncated.len(),
                count: 3,
            },
        ));
        let mut huge = b"ELSN\x01".to_vec();
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        cases.push((
            huge,
            SnapshotError::BadLength {
                len: HEADER_LEN,
                count: u64::MAX,
            },
        ));
        let mut zero_id = b"ELSN\x01".to_vec();
        zero_id.extend_from_slice(&1u64.to_be_bytes());
        zero_id.extend_from_slice(&[0; RECORD_LEN]);
        cases.push((zero_id, SnapshotError::BadLeaseId(0)));
        let mut duplicate = b"ELSN\x01".to_vec();
        duplicate.extend_from_slice(&2u64.to_be_bytes());
        for _ in 0..2 {
            duplicate.extend_from_slice(&4i64.to_be_bytes());
            duplicate.extend_from_slice(&10i64.to_be_bytes());
            duplicate.extend_from_slice(&0i64.to_be_bytes());
        }
        cases.push((duplicate, SnapshotError::BadLeaseId(4)));

        for (bytes, want) in cases {
            assert_eq!(le.restore(&bytes), Err(want));
            assert_eq!(le.leases(), vec![1]);
        }
    }

    mod proptests {
        use super::*;
        use crate::proptest_config::proptest_config as config;
        use crate::store::v3::lease::MAX_LEASE_TTL;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn arbitrary_bytes_never_panic_nor_change_state(
                tail in prop::collection::vec(any::<u8>(), 0..120),
                with_header in any::<bool>(),
                count in 0u64..6,
            ) {
                let mut bytes = Vec::new();
                if with_header {
                    bytes.extend_from_slice(b"ELSN\x01");
                    bytes.extend_from_slice(&count.to_be_bytes());
                }
                bytes.extend_from_slice(&tail);
                let now = Instant::now();
                let mut le = Lessor::new(LessorConfig::default());
                le.grant(1, 10, now).unwrap();
                let before = le.snapshot();
                if le.restore(&bytes).is_err() {
                    prop_assert_eq!(le.snapshot(), before);
                } else {
                    // Whatever decoded has the header's lease count (TTLs below the
                    // minimum were raised, so the bytes may differ there).
                    prop_assert!(with_header);
                    prop_assert_eq!(le.len() as u64, count);
                    prop_assert_eq!(le.snapshot().len(), bytes.len());
                }
            }

            #[test]
            fn any_lease_set_round_trips(
                leases in prop::collection::btree_map(
                    any::<i64>().prop_filter("0 is no lease", |id| *id != 0),
                    (2i64..=MAX_LEASE_TTL, 0i64..100),
                    0..20,
                ),
            ) {
                let now = Instant::now();
                let mut le = Lessor::new(LessorConfig {
                    checkpoint: Some(crate::store::v3::lease::CheckpointConfig {
                        interval: Duration::from_secs(1),
                        persist: true,
                    }),
                    ..LessorConfig::default()
                });
                for (&id, &(ttl, remaining)) in &leases {
                    le.grant(id, ttl, now).unwrap();
                    le.checkpoint(id, remaining, now);
                }
                let bytes = le.snapshot();
                let mut restored = Lessor::new(*le.config());
                restored.restore(&bytes).unwrap();
                prop_assert_eq!(restored.snapshot(), bytes);
                for (&id, &(ttl, remaining)) in &leases {
                    let lease = restored.get(id);
                    prop_assert_eq!(lease.map(|l| l.ttl()), Some(ttl));
                    prop_assert_eq!(lease.map(|l| l.checkpointed_remaining_ttl()), Some(remaining));
                }
            }
        }
    }
}
