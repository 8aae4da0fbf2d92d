//! [`V3Stores`]: a member's v3 state — the MVCC store, the lessor and the
//! watchable store — held together under one lock, because every write changes
//! the kv store, mirrors its lease changes into the lessor and hands its events
//! to the watchers in one step, in log order.
//!
//! Its durable part (kv + lessor + auth store + alarms) is one snapshot blob
//! ([`V3Stores::snapshot`]), which the member puts in its Raft snapshot beside
//! the v2 store; watchers and simple tokens are not durable (clients re-create
//! them, as with etcd), nor is the modelled db size (each member's own, see
//! [`super::v3_quota`]).

use super::v3_alarm::{AlarmSnapshotError, AlarmStore};
use super::v3_quota::{BackendSize, size_in_use};
use crate::auth::v3::{
    AuthStore, SimpleTokens, TokenKind, TokenProvider, store::SnapshotError as AuthSnapshotError,
};
use crate::metrics::StoreMetrics;
use crate::store::v3::kv::{KvStore, snapshot::SnapshotError};
use crate::store::v3::lease::{Lessor, LessorConfig};
use crate::store::v3::watch::{WatchConfig, WatchableStore};

/// The first byte of a v3 snapshot blob (its format version): 2 adds the auth
/// store and the alarms; blobs of version 1 (kv and leases) still restore, with
/// neither.
const SNAPSHOT_VERSION: u8 = 2;

/// The version of blobs with kv and leases only.
const SNAPSHOT_VERSION_KV_LEASES: u8 = 1;

/// A member's v3 state.
pub struct V3Stores {
    /// The MVCC key-value store.
    pub kv: KvStore,
    /// The lessor.
    pub lessor: Lessor,
    /// The watchable store (watch streams and their watchers).
    pub watch: WatchableStore,
    /// The v3 auth store (replicated, in the snapshot).
    pub auth: AuthStore,
    /// This member's token provider: simple tokens (in memory only) or JWTs.
    pub tokens: Box<dyn TokenProvider>,
    /// The raft index of the entry being applied, or of the last one applied
    /// (simple tokens carry the index of the entry that minted them). The member
    /// sets it before applying.
    pub applied_index: u64,
    /// The commit index this member booted with: entries up to it were applied
    /// before, and the simple tokens they minted died with the old process.
    pub replay_until: u64,
    /// The active alarms (replicated).
    pub alarms: AlarmStore,
    /// This member's modelled db size (local: not in the snapshot).
    pub backend_size: BackendSize,
    /// The backend quota checked when a write is applied
    /// (`--quota-backend-bytes`; `None`: none). See [`super::v3_quota`].
    pub quota_backend_bytes: Option<u64>,
    /// Told when an applied write outgrew the quota and no NOSPACE alarm is
    /// active: the member then proposes one for itself. `None`: nobody is
    /// told (tests).
    pub nospace: Option<tokio::sync::mpsc::UnboundedSender<()>>,
    /// Where the store and lease operations are counted (the member's metrics;
    /// local, not in the snapshot).
    pub metrics: StoreMetrics,
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
    /// The auth store's part is invalid.
    #[error("v3 snapshot: auth store")]
    Auth(#[source] AuthSnapshotError),
    /// The alarms' part is invalid.
    #[error("v3 snapshot: alarms")]
    Alarms(#[source] AlarmSnapshotError),
}

impl V3Stores {
    /// Empty stores: revision 1, no leases, no watchers.
    pub fn new(lessor: LessorConfig, watch: WatchConfig) -> V3Stores {
        V3Stores {
            kv: KvStore::new(),
            lessor: Lessor::new(lessor),
            watch: WatchableStore::new(watch),
            auth: AuthStore::new(),
            tokens: Box::new(SimpleTokens::default()),
            applied_index: 0,
            replay_until: 0,
            alarms: AlarmStore::new(),
            backend_size: BackendSize::new(),
            quota_backend_bytes: Some(super::v3_quota::DEFAULT_QUOTA_BYTES),
            nospace: None,
            metrics: StoreMetrics::default(),
        }
    }

    /// Sets the token provider (`--auth-token`); `ttl` is how long simple
    /// tokens live after their last use (`--auth-token-ttl`).
    pub fn set_token_provider(&mut self, kind: &TokenKind, ttl: std::time::Duration) {
        self.tokens = kind.provider(ttl);
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

    /// The durable state (kv store, leases, auth store, alarms) as one blob: a
    /// version byte, then the kv snapshot, the lessor's and the auth store's,
    /// each framed by its length (u64, big-endian), then the alarms' bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let kv = self.kv.to_snapshot();
        let leases = self.lessor.snapshot();
        let auth = self.auth.to_snapshot();
        let alarms = self.alarms.to_bytes();
        let mut out =
            Vec::with_capacity(1 + 24 + kv.len() + leases.len() + auth.len() + alarms.len());
        out.push(SNAPSHOT_VERSION);
        out.extend_from_slice(&(kv.len() as u64).to_be_bytes());
        out.extend_from_slice(&kv);
        out.extend_from_slice(&(leases.len() as u64).to_be_bytes());
        out.extend_from_slice(&leases);
        out.extend_from_slice(&(auth.len() as u64).to_be_bytes());
        out.extend_from_slice(&auth);
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
        let (kv_bytes, rest) = split_framed(rest)?;
        let (lease_bytes, auth, alarms) = match version {
            SNAPSHOT_VERSION_KV_LEASES => (rest, AuthStore::new(), AlarmStore::new()),
            SNAPSHOT_VERSION => {
                let (lease_bytes, rest) = split_framed(rest)?;
                let (auth_bytes, alarm_bytes) = split_framed(rest)?;
                let auth = AuthStore::from_snapshot(auth_bytes).map_err(V3SnapshotError::Auth)?;
                let alarms =
                    AlarmStore::from_bytes(alarm_bytes).map_err(V3SnapshotError::Alarms)?;
                (lease_bytes, auth, alarms)
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
        if auth.is_enabled() != self.auth.is_enabled() || auth.revision() != self.auth.revision() {
            // Tokens minted under another auth state are not trusted (etcd's
            // recover keeps its provider, but a new provider on restart knows none).
            self.tokens.clear();
        }
        self.auth = auth;
        self.alarms = alarms;
        let in_use = self.size_in_use();
        self.backend_size.observe(in_use);
        Ok(())
    }
}

/// Splits `bytes` into a part framed by its u64 big-endian length and the rest.
fn split_framed(bytes: &[u8]) -> Result<(&[u8], &[u8]), V3SnapshotError> {
    let (len, rest) = bytes
        .split_first_chunk::<8>()
        .ok_or(V3SnapshotError::Framing("truncated"))?;
    let len = usize::try_from(u64::from_be_bytes(*len))
        .map_err(|_| V3SnapshotError::Framing("too long"))?;
    if rest.len() < len {
        return Err(V3SnapshotError::Framing("truncated"));
    }
    Ok(rest.split_at(len))
}
