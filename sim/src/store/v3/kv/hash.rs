//! HashKV: a CRC-32C (Castagnoli) over the stored history up to a revision, computed
//! over the same bytes etcd 3.4 hashes (the bucket name `key`, then each retained
//! change's 17/18-byte revision key and its marshalled KeyValue), so equal histories
//! hash equal, here and on real etcd.

use std::collections::BTreeSet;

use prost::Message;

use super::error::{KvError, Result};
use super::revision::Revision;
use super::store::KvStore;

/// The result of [`KvStore::hash_kv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashKv {
    /// CRC-32C over the history up to the requested revision.
    pub hash: u32,
    /// The store's compact revision (-1 when never compacted, as etcd reports it).
    pub compact_revision: i64,
}

/// CRC-32C lookup table (reflected polynomial 0x82F63B78).
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// A running CRC-32C.
#[derive(Clone, Copy, Debug)]
pub struct Crc32c(u32);

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c(!0)
    }
}

impl Crc32c {
    /// A fresh checksum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        let mut crc = self.0;
        for &b in data {
            crc = CRC32C_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
        self.0 = crc;
    }

    /// The checksum of everything fed so far.
    pub fn finish(&self) -> u32 {
        !self.0
    }
}

impl KvStore {
    /// etcd's HashKV at `rev` (0 = current): fails with [`KvError::Compacted`] when
    /// `0 < rev <= compact revision` and [`KvError::FutureRevision`] above the current
    /// revision. Hashes every retained change up to `rev`; of the changes at or below
    /// the compact revision, only each key's newest as of `rev` (when there is any such
    /// key; otherwise all of them, as etcd does).
    pub fn hash_kv(&self, rev: i64) -> Result<HashKv> {
        let compact = self.compact_main;
        if rev > 0 && rev <= compact {
            return Err(self.compacted());
        }
        if rev > 0 && rev > self.current_revision {
            return Err(KvError::FutureRevision);
        }
        let rev = if rev == 0 { self.current_revision } else { rev };
        let keep: BTreeSet<Revision> = self
            .index
            .iter()
            .filter_map(|(_, ki)| ki.keep(rev))
            .collect();
        let mut crc = Crc32c::new();
        crc.update(b"key");
        for (r, stored) in self
            .backend
            .range(..Revision::new(rev.saturating_add(1), 0))
        {
            if r.main <= compact && !keep.is_empty() && !keep.contains(r) {
                continue;
            }
            crc.update(&r.backend_key(stored.tombstone));
            crc.update(&stored.kv.encode_to_vec());
        }
        Ok(HashKv {
            hash: crc.finish(),
            compact_revision: compact,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::LeaseLookup;
    use super::super::test_support::*;
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::TxnRequest;
    use std::collections::BTreeSet;

    #[test]
    fn crc32c_check_value() {
        let mut c = Crc32c::new();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xE306_9283);
    }

    /// The history below was run on etcd 3.4.23 (`etcdctl endpoint hashkv --rev=N`);
    /// the expected hashes are what it reported.
    ///   2: put foo bar   3: put foo baz   4: put k2 v (lease 0x3d81a2507c8d9707)
    ///   5: del foo       6: put foo x1    7: txn { put a 1; put b 2; del k2 }
    fn etcd_history() -> KvStore {
        const LEASE: i64 = 0x3d81_a250_7c8d_9707;
        let leases: BTreeSet<i64> = [LEASE].into_iter().collect();
        assert!(leases.lease_exists(LEASE));
        let mut s = KvStore::new();
        put(&mut s, "foo", "bar");
        put(&mut s, "foo", "baz");
        let mut p = put_req("k2", "v");
        p.lease = LEASE;
        s.put(&p, &leases).unwrap();
        s.delete_range(&del_req("foo", ""));
        put(&mut s, "foo", "x1");
        let txn = TxnRequest {
            compare: Vec::new(),
            success: vec![put_op("a", "1"), put_op("b", "2"), del_op("k2", "")],
            failure: Vec::new(),
        };
        s.txn(&txn, &leases).unwrap();
        assert_eq!(s.current_revision(), 7);
        s
    }

    #[test]
    fn matches_etcd_3_4_hashes() {
        assert_eq!(KvStore::new().hash_kv(0).unwrap().hash, 1_084_519_789);
        assert_eq!(KvStore::new().hash_kv(0).unwrap().compact_revision, -1);
        let mut s = etcd_history();
        assert_eq!(s.hash_kv(0).unwrap().hash, 462_545_928);
        assert_eq!(s.hash_kv(7).unwrap().hash, 462_545_928);
        assert_eq!(s.hash_kv(2).unwrap().hash, 3_305_255_506);
        assert_eq!(s.hash_kv(3).unwrap().hash, 2_020_292_994);
        assert_eq!(s.hash_kv(5).unwrap().hash, 809_802_390);
        s.compact(4).unwrap();
        assert_eq!(
            s.hash_kv(0).unwrap(),
            HashKv {
                hash: 887_767_660,
                compact_revision: 4
            }
        );
        assert_eq!(s.hash_kv(5).unwrap().hash, 2_608_911_326);
        s.compact(5).unwrap();
        assert_eq!(s.hash_kv(0).unwrap().hash, 321_888_655);
    }

    #[test]
    fn equal_histories_hash_equal_and_differ_otherwise() {
        let a = etcd_history();
        let b = etcd_history();
        assert_eq!(a.hash_kv(0), b.hash_kv(0));
        let mut c = etcd_history();
        put(&mut c, "a", "1");
        assert_ne!(a.hash_kv(0).unwrap().hash, c.hash_kv(0).unwrap().hash);
        // Up to the common revision they still agree.
        assert_eq!(a.hash_kv(7), c.hash_kv(7));
        let mut d = etcd_history();
        d.compact(3).unwrap();
        assert_ne!(a.hash_kv(0).unwrap().hash, d.hash_kv(0).unwrap().hash);
    }

    /// etcd 3.4.23 refuses HashKV at exactly the compact revision (checked live).
    #[test]
    fn revision_errors() {
        let mut s = etcd_history();
        assert_eq!(s.hash_kv(8), Err(KvError::FutureRevision));
        s.compact(4).unwrap();
        assert_eq!(
            s.hash_kv(4),
            Err(KvError::Compacted {
                compact_revision: 4
            })
        );
        assert!(s.hash_kv(5).is_ok());
    }
}
