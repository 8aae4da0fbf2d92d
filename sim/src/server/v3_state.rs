//! [`V3Stores`]: a member's v3 state — the MVCC store, the lessor and the
//! watchable store — held together under one lock, because every write changes
//! the kv store, mirrors its lease changes into the lessor and hands its events
//! to the watchers in one step, in log order.
//!
//! Its durable part (kv + lessor + alarms) is one snapshot blob
//! ([`V3Stores::snapshot`]), which the member puts in its Raft snapshot beside
//! the v2 store; watchers are not durable (clients re-create them), nor is the
//! modelled db size (each member's own, see [`super::v3_quota`]).

use super::v3_alarm::{AlarmSnapshotError, AlarmStore};
use super::v3_quota::{BackendSize, size_in_use};
use crate::store::v3::kv::{KvStore, snapshot::SnapshotError};
use crate::store::v3::lease::{Lessor, LessorConfig};
use crate::store::v3::watch::{WatchConfig, WatchableStore};

/// The first byte of a v3 snapshot blob (its format version): 2 holds the
/// alarms too; 1 (kv and leases only) is still restored.
const SNAPSHOT_VERSION: u8 = 2;
/// The version before alarms.
const SNAPSHOT_VERSION_NO_ALARMS: u8 = 1;

/// A member's v3 state.
pub struct V3Stores {
    /// The MVCC key-value store.
    pub kv: KvStore,
    /// The lessor.
    pub lessor: Lessor,
    /// The watchable store (watch streams and their watchers).
    pub watch: WatchableStore,
    /// The active alarms (replicated).
    pub alarms: AlarmStore,
    /// This member's modelled db size (local: not in the snapshot).
    pub backend_size: BackendSize,
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
    /// The alarms' part is invalid.
    #[error("v3 snapshot: alarms")]
    Alarms(#[source] AlarmSnapshotError),
}

/// Splits a u64-length-prefixed part off `rest`.
fn split_part(rest: &[u8]) -> Result<(&[u8], &[u8]), V3SnapshotError> {
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or(V3SnapshotError::Framing("truncated"))?;
    let len = usize::try_from(u64::from_be_bytes(*len))
        .map_err(|_| V3SnapshotError::Framing("too long"))?;
    if rest.len() < len {
        return Err(V3SnapshotError::Framing("truncated"));
    }
    Ok(rest.split_at(len))
}

impl V3Stores {
    /// Empty stores: revision 1, no leases, no watchers.
    pub fn new(lessor: LessorConfig, watch: WatchConfig) -> V3Stores {
        V3Stores {
            kv: KvStore::new(),
            lessor: Lessor::new(lessor),
            watch: WatchableStore::new(watch),
            alarms: AlarmStore::new(),
            backend_size: BackendSize::new(),
        }
    }

    /// The modelled size in use of the backend (see [`super::v3_quota`]).
    pub fn size_in_use(&self) -> u64 {
        size_in_use(self)
    }

    /// The modelled db size, after growing it to the size in use if needed.
    pub fn db_size(&mut self) -> u64 {
        let in_use = self.size_in_use();
        self.backend_size.observe(in_use);
        self.backend_size.db_size()
    }

    /// The durable state (kv store, leases, alarms) as one blob: a version byte,
    /// then the kv snapshot's length (u64, big-endian) and bytes, the lessor's
    /// length and bytes, then the alarms' bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let kv = self.kv.to_snapshot();
        let leases = self.lessor.snapshot();
        let alarms = self.alarms.to_bytes();
        let mut out = Vec::with_capacity(1 + 16 + kv.len() + leases.len() + alarms.len());
        out.push(SNAPSHOT_VERSION);
        out.extend_from_slice(&(kv.len() as u64).to_be_bytes());
        out.extend_from_slice(&kv);
        out.extend_from_slice(&(leases.len() as u64).to_be_bytes());
        out.extend_from_slice(&leases);
        out.extend_from_slice(&alarms);
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
        let (kv_bytes, rest) = split_part(rest)?;
        let (lease_bytes, alarms) = match version {
            SNAPSHOT_VERSION_NO_ALARMS => (rest, AlarmStore::new()),
            SNAPSHOT_VERSION => {
                let (leases, alarms) = split_part(rest)?;
                (
                    leases,
                    AlarmStore::from_bytes(alarms).map_err(V3SnapshotError::Alarms)?,
                )
            }
            _ => return Err(V3SnapshotError::Framing("unknown version")),
        };
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
        self.alarms = alarms;
        let in_use = self.size_in_use();
        self.backend_size.observe(in_use);
        Ok(())
    }
}
