//! The whole kv store as bytes (for the Raft snapshot) and back.
//!
//! Format version 1, all integers big-endian:
//! ```text
//! u8  version (= 1)
//! i64 current revision    i64 compact revision (-1 = never)    u64 change count
//! per change, in revision order:
//!   i64 main  i64 sub  u8 kind (0 = put, 1 = tombstone)  u32 key length  key
//!   put only: i64 create_revision  i64 version  i64 lease  u32 value length  value
//! ```
//! A tombstone's KeyValue is `{ key }`; a put's mod_revision is its main revision. The
//! key index is rebuilt from the changes. Decoding checks lengths and consistency and
//! returns [`SnapshotError`] instead of panicking.

use bytes::{Buf, BufMut};
use etcd_sdk::v3::pb::mvccpb::KeyValue;
use thiserror::Error;

use super::revision::Revision;
use super::store::{KvStore, Stored};

/// The snapshot format this code writes.
pub const SNAPSHOT_FORMAT_VERSION: u8 = 1;

const KIND_PUT: u8 = 0;
const KIND_TOMBSTONE: u8 = 1;

/// Why a snapshot could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SnapshotError {
    /// The input is empty.
    #[error("kv snapshot: empty input")]
    Empty,
    /// The first byte names a format this code does not read.
    #[error("kv snapshot: unknown format version {0}")]
    UnknownVersion(u8),
    /// The input ended in the middle of a field.
    #[error("kv snapshot: truncated while reading {0}")]
    Truncated(&'static str),
    /// Bytes follow the last change.
    #[error("kv snapshot: {0} trailing bytes")]
    TrailingBytes(usize),
    /// The fields decode but do not describe a valid store.
    #[error("kv snapshot: inconsistent data: {0}")]
    Inconsistent(String),
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn need(&self, n: usize, what: &'static str) -> Result<(), SnapshotError> {
        if self.buf.remaining() < n {
            Err(SnapshotError::Truncated(what))
        } else {
            Ok(())
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, SnapshotError> {
        self.need(1, what)?;
        Ok(self.buf.get_u8())
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, SnapshotError> {
        self.need(8, what)?;
        Ok(self.buf.get_i64())
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, SnapshotError> {
        self.need(8, what)?;
        Ok(self.buf.get_u64())
    }

    fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>, SnapshotError> {
        self.need(4, what)?;
        let len = self.buf.get_u32() as usize;
        self.need(len, what)?;
        let out = self.buf[..len].to_vec();
        self.buf.advance(len);
        Ok(out)
    }
}

fn inconsistent(msg: String) -> SnapshotError {
    SnapshotError::Inconsistent(msg)
}

impl KvStore {
    /// The store as bytes (deterministic: equal stores give equal bytes).
    pub fn to_snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(25 + self.size_bytes as usize);
        out.put_u8(SNAPSHOT_FORMAT_VERSION);
        out.put_i64(self.current_revision);
        out.put_i64(self.compact_main);
        out.put_u64(self.backend.len() as u64);
        for (rev, stored) in &self.backend {
            out.put_i64(rev.main);
            out.put_i64(rev.sub);
            let kv = &stored.kv;
            out.put_u8(if stored.tombstone {
                KIND_TOMBSTONE
            } else {
                KIND_PUT
            });
            out.put_u32(kv.key.len() as u32);
            out.put_slice(&kv.key);
            if !stored.tombstone {
                out.put_i64(kv.create_revision);
                out.put_i64(kv.version);
                out.put_i64(kv.lease);
                out.put_u32(kv.value.len() as u32);
                out.put_slice(&kv.value);
            }
        }
        out
    }

    /// A store from [`KvStore::to_snapshot`] bytes.
    pub fn from_snapshot(data: &[u8]) -> Result<KvStore, SnapshotError> {
        let mut r = Reader { buf: data };
        if data.is_empty() {
            return Err(SnapshotError::Empty);
        }
        let version = r.u8("format version")?;
        if version != SNAPSHOT_FORMAT_VERSION {
            return Err(SnapshotError::UnknownVersion(version));
        }
        let current = r.i64("current revision")?;
        let compact = r.i64("compact revision")?;
        let count = r.u64("change count")?;
        if current < 1 || compact < -1 || compact > current {
            return Err(inconsistent(format!(
                "current revision {current}, compact revision {compact}"
            )));
        }
        let mut store = KvStore {
            current_revision: current,
            compact_main: compact,
            ..KvStore::default()
        };
        let mut last: Option<Revision> = None;
        for _ in 0..count {
            let rev = Revision::new(r.i64("main revision")?, r.i64("sub revision")?);
            if rev.main < 2 || rev.main > current || rev.sub < 0 || last.is_some_and(|l| l >= rev) {
                return Err(inconsistent(format!(
                    "revision {}.{} out of order or range",
                    rev.main, rev.sub
                )));
            }
            last = Some(rev);
            let kind = r.u8("change kind")?;
            let key = r.bytes("key")?;
            let stored = match kind {
                KIND_TOMBSTONE => {
                    if !store.index.entry(&key).tombstone(rev) {
                        return Err(inconsistent(format!(
                            "tombstone at {} for a key that is not live",
                            rev.main
                        )));
                    }
                    Stored {
                        kv: KeyValue {
                            key,
                            ..Default::default()
                        },
                        tombstone: true,
                    }
                }
                KIND_PUT => {
                    let create_revision = r.i64("create revision")?;
                    let version = r.i64("version")?;
                    let lease = r.i64("lease")?;
                    let value = r.bytes("value")?;
                    if create_revision < 2 || create_revision > rev.main || version < 1 {
                        return Err(inconsistent(format!(
                            "put at {} with create revision {create_revision}, version {version}",
                            rev.main
                        )));
                    }
                    store
                        .index
                        .entry(&key)
                        .put_restored(rev, create_revision, version);
                    Stored {
                        kv: KeyValue {
                            key,
                            create_revision,
                            mod_revision: rev.main,
                            version,
                            value,
                            lease,
                        },
                        tombstone: false,
                    }
                }
                other => return Err(inconsistent(format!("unknown change kind {other}"))),
            };
            store.size_bytes += stored.size();
            store.backend.insert(rev, stored);
        }
        if r.buf.has_remaining() {
            return Err(SnapshotError::TrailingBytes(r.buf.remaining()));
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::super::NoLeases;
    use super::super::test_support::*;
    use super::*;
    use std::collections::BTreeSet;

    fn history() -> KvStore {
        let leases: BTreeSet<i64> = [42].into_iter().collect();
        let mut s = KvStore::new();
        put(&mut s, "a", "1");
        put(&mut s, "a", "2");
        let mut p = put_req("b", "leased");
        p.lease = 42;
        s.put(&p, &leases).unwrap();
        s.delete_range(&del_req("a", ""));
        put(&mut s, "a", "3");
        put(&mut s, "c", "");
        s.compact(4).unwrap();
        put(&mut s, "b", "4");
        s
    }

    #[test]
    fn round_trip_keeps_everything() {
        let s = history();
        let bytes = s.to_snapshot();
        assert_eq!(bytes[0], SNAPSHOT_FORMAT_VERSION);
        let back = KvStore::from_snapshot(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.to_snapshot(), bytes, "deterministic");
        assert_eq!(back.hash_kv(0), s.hash_kv(0));
        assert_eq!(back.size_bytes(), s.size_bytes());
        // The rebuilt key index behaves the same for later writes and reads.
        let mut s2 = s.clone();
        let mut back2 = back.clone();
        put(&mut s2, "a", "9");
        put(&mut back2, "a", "9");
        assert_eq!(s2.get(b"a"), back2.get(b"a"));
        assert_eq!(back2.get(b"a").unwrap().version, 2);
        for rev in 4..=s.current_revision() {
            assert_eq!(
                s.range(&range_req_at("\0", "\0", rev)),
                back.range(&range_req_at("\0", "\0", rev))
            );
        }
        assert_eq!(
            KvStore::from_snapshot(&KvStore::new().to_snapshot()).unwrap(),
            KvStore::new()
        );
        let _ = NoLeases;
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let bytes = history().to_snapshot();
        assert_eq!(KvStore::from_snapshot(&[]), Err(SnapshotError::Empty));
        assert_eq!(
            KvStore::from_snapshot(&[9]),
            Err(SnapshotError::UnknownVersion(9))
        );
        for cut in 1..bytes.len() {
            assert!(
                KvStore::from_snapshot(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            KvStore::from_snapshot(&extra),
            Err(SnapshotError::TrailingBytes(1))
        );
        // Every single-byte corruption either decodes to some store or fails cleanly.
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0xa5;
            let _ = KvStore::from_snapshot(&bad);
        }
        // A huge claimed length does not allocate or panic.
        let mut huge = vec![SNAPSHOT_FORMAT_VERSION];
        huge.extend_from_slice(&5i64.to_be_bytes());
        huge.extend_from_slice(&(-1i64).to_be_bytes());
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(
            KvStore::from_snapshot(&huge),
            Err(SnapshotError::Truncated(_))
        ));
    }

    #[test]
    fn inconsistent_data_is_rejected() {
        // A tombstone for a key never put.
        let mut bad = vec![SNAPSHOT_FORMAT_VERSION];
        bad.extend_from_slice(&3i64.to_be_bytes());
        bad.extend_from_slice(&(-1i64).to_be_bytes());
        bad.extend_from_slice(&1u64.to_be_bytes());
        bad.extend_from_slice(&2i64.to_be_bytes());
        bad.extend_from_slice(&0i64.to_be_bytes());
        bad.push(KIND_TOMBSTONE);
        bad.extend_from_slice(&1u32.to_be_bytes());
        bad.push(b'k');
        assert!(matches!(
            KvStore::from_snapshot(&bad),
            Err(SnapshotError::Inconsistent(_))
        ));
        // Compact revision above current.
        let mut bad = vec![SNAPSHOT_FORMAT_VERSION];
        bad.extend_from_slice(&3i64.to_be_bytes());
        bad.extend_from_slice(&4i64.to_be_bytes());
        bad.extend_from_slice(&0u64.to_be_bytes());
        assert!(matches!(
            KvStore::from_snapshot(&bad),
            Err(SnapshotError::Inconsistent(_))
        ));
    }
}
