//! [`V3Stores`]: a member's v3 state — the MVCC store, the lessor and the
//! watchable store — held together under one lock, because every write changes
//! the kv store, mirrors its lease changes into the lessor and hands its events
//! to the watchers in one step, in log order.
//!
//! Its durable part (kv + lessor) is one snapshot blob ([`V3Stores::snapshot`]),
//! which the member puts in its Raft snapshot beside the v2 store; watchers are
//! not durable (clients re-create them).

use crate::store::v3::kv::{KvStore, snapshot::SnapshotError};
use crate::store::v3::lease::{Lessor, LessorConfig};
use crate::store::v3::watch::{WatchConfig, WatchableStore};

/// The first byte of a v3 snapshot blob (its format version).
const SNAPSHOT_VERSION: u8 = 1;

/// A member's v3 state.
pub struct V3Stores {
    /// The MVCC key-value store.
    pub kv: KvStore,
    /// The lessor.
    pub lessor: Lessor,
    /// The watchable store (watch streams and their watchers).
    pub watch: WatchableStore,
}

/// A v3 snapshot blob that cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum V3SnapshotError {
    /// The blob is shorter than its framing says, or of an unknown version.
    #[error("v3 snapshot: {0}")]
    Framing(&'static str),
    /// The kv store's part is invalid.
    #[error("v3 snapshot: kv store")]
    Kv(#[source] SnapshotError),
    /// The lessor's part is invalid.
    #[error("v3 snapshot: lessor")]
    Lessor(#[source] crate::store::v3::lease::SnapshotError),
}

impl V3Stores {
    /// Empty stores: revision 1, no leases, no watchers.
    pub fn new(lessor: LessorConfig, watch: WatchConfig) -> V3Stores {
        V3Stores {
            kv: KvStore::new(),
            lessor: Lessor::new(lessor),
            watch: WatchableStore::new(watch),
        }
    }

    /// The durable state (kv store and leases) as one blob: a version byte, then
    /// the kv snapshot's length (u64, big-endian) and bytes, then the lessor's.
    pub fn snapshot(&self) -> Vec<u8> {
        let kv = self.kv.to_snapshot();
        let leases = self.lessor.snapshot();
        let mut out = Vec::with_capacity(1 + 8 + kv.len() + leases.len());
        out.push(SNAPSHOT_VERSION);
        out.extend_from_slice(&(kv.len() as u64).to_be_bytes());
        out.extend_from_slice(&kv);
        out.extend_from_slice(&leases);
        out
    }

    /// Replaces the durable state with a [`V3Stores::snapshot`] blob: the kv
    /// store, the leases, and the leases' attached keys rebuilt from the kv
    /// store's live keys. Watchers stay; they catch up from the new history or
    /// are cancelled as compacted. Nothing changes when the blob is invalid.
    ///
    /// # Errors
    ///
    /// [`V3SnapshotError`] for a blob that is not one.
    pub fn restore(&mut self, blob: &[u8]) -> Result<(), V3SnapshotError> {
        let (&version, rest) = blob
            .split_first()
            .ok_or(V3SnapshotError::Framing("empty"))?;
        if version != SNAPSHOT_VERSION {
            return Err(V3SnapshotError::Framing("unknown version"));
        }
        let (len, rest) = rest
            .split_first_chunk::<8>()
            .ok_or(V3SnapshotError::Framing("truncated"))?;
        let len = usize::try_from(u64::from_be_bytes(*len))
            .map_err(|_| V3SnapshotError::Framing("too long"))?;
        if rest.len() < len {
            return Err(V3SnapshotError::Framing("truncated"));
        }
        let (kv_bytes, lease_bytes) = rest.split_at(len);
        let kv = KvStore::from_snapshot(kv_bytes).map_err(V3SnapshotError::Kv)?;
        let mut lessor = Lessor::new(*self.lessor.config());
        lessor
            .restore(lease_bytes)
            .map_err(V3SnapshotError::Lessor)?;
        let skipped = lessor.rebuild_attachments(kv.live_leased_keys());
        if skipped > 0 {
            tracing::warn!(
                skipped,
                "v3 snapshot: keys attached to leases the snapshot does not hold"
            );
        }
        if self.lessor.is_primary() {
            // Restored leases wait for the next promotion to expire (etcd's rule);
            // the member promotes again when it leads.
            tracing::debug!("v3 snapshot: restored on the primary lessor");
        }
        self.kv = kv;
        self.lessor = lessor;
        Ok(())
    }
}
