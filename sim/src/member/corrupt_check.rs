//! etcd's corruption checks (`etcdserver/corrupt.go`):
//!
//! - the initial check (`--experimental-initial-corrupt-check`,
//!   [`initial_check`]): before a restarted member serves, it takes its own
//!   HashKV at its current revision, asks every peer for its HashKV at that
//!   revision, and refuses to start (`<id> found data inconsistency with peers`)
//!   when a peer with the same compact revision has another hash;
//! - the periodic check (`--experimental-corrupt-check-time`,
//!   [`CorruptMonitor`]): every interval the leader takes its HashKV, asks the
//!   followers for theirs at that revision, confirms its leadership (a read
//!   barrier), takes its HashKV again, and raises the CORRUPT alarm (member id
//!   0, as etcd 3.4.23 does: it cannot tell which member is wrong) through Raft
//!   when its two hashes differ at one revision, a follower is ahead of it, or
//!   a follower with its compact revision has another hash. Under that alarm the
//!   applier refuses writes with `etcdserver: corrupt cluster`
//!   ([`crate::server::v3_alarm`]).
//!
//! etcd asks its peers over the peer port (`GET /members/hashkv`); our peer
//! port carries only Raft frames, so a member asks its peers' client URLs
//! (Maintenance.HashKV over gRPC) instead. Peers that do not answer are logged
//! and skipped, as etcd skips them. With v3 auth on, HashKV wants the root
//! role, which the member does not have: every peer then refuses and the check
//! compares nothing (logged).

use super::membership::Cluster;
use super::state_machine::lock;
use super::v3_backend::MemberV3;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_state::V3Stores;
use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmRequest, AlarmType, InternalRaftRequest, alarm_request::AlarmAction,
};
use etcd_sdk::v3::{Client, Config, EtcdError, Maintenance};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One member's HashKV: hash, revision (the member's current one when it
/// answered) and compact revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hashed {
    /// The hash.
    pub hash: u32,
    /// The member's revision.
    pub revision: i64,
    /// Its compact revision.
    pub compact_revision: i64,
}

/// What a peer answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PeerHash {
    /// The peer's id.
    pub id: u64,
    /// Its hash, or why there is none (the last endpoint's error).
    pub result: Result<Hashed, PeerHashError>,
}

/// Why a peer gave no hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PeerHashError {
    /// The revision is ahead of the peer's (etcd: "peer is lagging behind").
    FutureRevision,
    /// The peer compacted it (etcd: "local node is lagging behind").
    Compacted,
    /// Anything else (unreachable, refused).
    Other(String),
}

/// This member's HashKV now.
fn own_hash(stores: &Mutex<V3Stores>) -> Result<Hashed, String> {
    let s = lock(stores);
    let h = s.kv.hash_kv(0).map_err(|e| e.to_string())?;
    Ok(Hashed {
        hash: h.hash,
        revision: s.kv.current_revision(),
        compact_revision: h.compact_revision,
    })
}

/// Asks every other member with client URLs for its HashKV at `revision`
/// (each URL in turn until one answers), each call bounded by `timeout`.
pub(crate) async fn peer_hashes(
    own_id: u64,
    cluster: &Mutex<Cluster>,
    revision: i64,
    timeout: Duration,
) -> Vec<PeerHash> {
    let peers: Vec<(u64, Vec<String>)> = lock(cluster)
        .members()
        .into_iter()
        .filter(|m| m.id != own_id && !m.client_urls.is_empty())
        .map(|m| (m.id, m.client_urls))
        .collect();
    let mut out = Vec::with_capacity(peers.len());
    for (id, urls) in peers {
        let mut last = PeerHashError::Other("no client URL".into());
        let mut got = None;
        for url in &urls {
            match hash_at(url, revision, timeout).await {
                Ok(h) => {
                    got = Some(h);
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        local = %format_args!("{own_id:x}"),
                        requested_revision = revision,
                        remote_endpoint = %url,
                        error = ?e,
                        "failed hash kv request"
                    );
                    last = e;
                }
            }
        }
        out.push(PeerHash {
            id,
            result: got.ok_or(last),
        });
    }
    out
}

/// One HashKV call to `url`.
async fn hash_at(url: &str, revision: i64, timeout: Duration) -> Result<Hashed, PeerHashError> {
    let mut cfg = Config::new([url.to_string()]);
    cfg.dial_timeout = Some(timeout);
    cfg.request_timeout = Some(timeout);
    let client = Client::new(cfg)
        .await
        .map_err(|e| PeerHashError::Other(e.to_string()))?;
    let r = client.hash_kv(url, revision).await;
    client.close();
    let r = r.map_err(|e| match e.etcd() {
        Some(EtcdError::FutureRev) => PeerHashError::FutureRevision,
        Some(EtcdError::Compacted) => PeerHashError::Compacted,
        _ => PeerHashError::Other(e.to_string()),
    })?;
    Ok(Hashed {
        hash: r.hash,
        revision: r.header.map_or(0, |h| h.revision),
        compact_revision: r.compact_revision,
    })
}

/// etcd's verdict of the initial check: the number of peers with the same
/// compact revision and another hash (logging each finding as etcd does).
pub(crate) fn initial_mismatches(own_id: u64, local: Hashed, peers: &[PeerHash]) -> usize {
    let mut mismatches = 0;
    for p in peers {
        match &p.result {
            Ok(h) if h.hash != local.hash && h.compact_revision == local.compact_revision => {
                tracing::error!(
                    "{own_id:x}'s hash {} != {:x}'s hash {} (revision {}, peer revision {}, compact revision {})",
                    local.hash,
                    p.id,
                    h.hash,
                    local.revision,
                    h.revision,
                    local.compact_revision
                );
                mismatches += 1;
            }
            Ok(h) if h.hash != local.hash => tracing::warn!(
                "{own_id:x} cannot check hash of peer({:x}): peer has a different compact revision {} (revision:{})",
                p.id,
                h.compact_revision,
                local.revision
            ),
            Ok(_) => {}
            Err(PeerHashError::FutureRevision) => tracing::warn!(
                "{own_id:x} cannot check the hash of peer({:x}) at revision {}: peer is lagging behind",
                p.id,
                local.revision
            ),
            Err(PeerHashError::Compacted) => tracing::warn!(
                "{own_id:x} cannot check the hash of peer({:x}) at revision {}: local node is lagging behind",
                p.id,
                local.revision
            ),
            Err(PeerHashError::Other(_)) => {}
        }
    }
    mismatches
}

/// The initial check's error text, etcd's.
pub(crate) fn inconsistency_error(own_id: u64) -> String {
    format!("{own_id:x} found data inconsistency with peers")
}

/// The initial check: compares this member's HashKV with its peers' at its
/// current revision.
///
/// # Errors
///
/// etcd's texts: `<id> failed to fetch hash (<why>)`, `<id> found data
/// inconsistency with peers`.
pub(crate) async fn initial_check(
    own_id: u64,
    stores: &Mutex<V3Stores>,
    cluster: &Mutex<Cluster>,
    timeout: Duration,
) -> Result<(), String> {
    tracing::info!("{own_id:x} starting initial corruption check with timeout {timeout:?}...");
    let local = own_hash(stores).map_err(|e| format!("{own_id:x} failed to fetch hash ({e})"))?;
    let peers = peer_hashes(own_id, cluster, local.revision, timeout).await;
    if initial_mismatches(own_id, local, &peers) > 0 {
        return Err(inconsistency_error(own_id));
    }
    tracing::info!("{own_id:x} succeeded on initial corruption checking: no corruption");
    Ok(())
}

/// Whether the leader's check finds corruption: `first` and `second` are its
/// HashKV before and after asking the followers (etcd's `h, rev, crev` and
/// `h2, rev2, crev2`). Each finding is logged as etcd logs it.
pub(crate) fn leader_finds_corruption(first: Hashed, second: Hashed, peers: &[PeerHash]) -> bool {
    let mut corrupt = false;
    if second.hash != first.hash
        && second.revision == first.revision
        && second.compact_revision == first.compact_revision
    {
        tracing::warn!(
            "mismatched hashes {} and {} for revision {}",
            first.hash,
            second.hash,
            first.revision
        );
        corrupt = true;
    }
    for p in peers {
        let Ok(h) = &p.result else { continue };
        if h.revision > second.revision {
            tracing::warn!(
                "revision {} from member {:x}, expected at most {}",
                h.revision,
                p.id,
                second.revision
            );
            corrupt = true;
        }
        if h.compact_revision > second.compact_revision {
            tracing::warn!(
                "compact revision {} from member {:x}, expected at most {}",
                h.compact_revision,
                p.id,
                second.compact_revision
            );
            corrupt = true;
        }
        if h.compact_revision == first.compact_revision && h.hash != first.hash {
            tracing::warn!(
                "hash {} at revision {} from member {:x}, expected hash {}",
                h.hash,
                first.revision,
                p.id,
                first.hash
            );
            corrupt = true;
        }
    }
    corrupt
}

/// The leader's periodic check (etcd's `monitorKVHash`).
pub(crate) struct CorruptMonitor {
    /// This member's id.
    pub id: u64,
    /// How often.
    pub interval: Duration,
    /// The member's v3 side (stores, proposals, leadership).
    pub v3: Arc<MemberV3>,
    /// The members (the followers' client URLs).
    pub cluster: Arc<Mutex<Cluster>>,
    /// Each HashKV call's and the read barrier's bound (the request timeout).
    pub timeout: Duration,
    /// Stops the task.
    pub shutdown: Arc<super::signal::Signal>,
}

impl CorruptMonitor {
    /// Runs until shutdown.
    pub async fn run(self) {
        tracing::info!(
            "enabled corruption checking with {:?} interval",
            self.interval
        );
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.wait() => return,
                _ = tokio::time::sleep(self.interval) => {}
            }
            if !self.v3.is_leader() {
                continue;
            }
            if let Err(e) = self.check().await {
                tracing::debug!("check hash kv failed {e}");
            }
        }
    }

    /// One check; raises the alarm on corruption.
    async fn check(&self) -> Result<(), String> {
        let first = own_hash(&self.v3.stores)?;
        let peers = peer_hashes(self.id, &self.cluster, first.revision, self.timeout).await;
        tokio::time::timeout(self.timeout, self.v3.proposer.raft().read_index())
            .await
            .map_err(|_| "read barrier timed out".to_string())?
            .map_err(|e| e.to_string())?;
        let second = own_hash(&self.v3.stores)?;
        if leader_finds_corruption(first, second, &peers) {
            let alarm = InternalRaftRequest {
                alarm: Some(AlarmRequest {
                    action: AlarmAction::Activate as i32,
                    member_id: 0,
                    alarm: AlarmType::Corrupt as i32,
                }),
                ..Default::default()
            };
            if let Err(e) = self.v3.propose_v3(alarm).await {
                tracing::warn!(error = %e, "corruption check: CORRUPT alarm not raised");
            }
        }
        tracing::info!("finished peer corruption check");
        Ok(())
    }
}

/// Damages this member's v3 history in place (`UnsafeMode::CorruptKv`).
pub(crate) fn corrupt_locally(own_id: u64, stores: &Mutex<V3Stores>) {
    let damaged = lock(stores).kv.unsafe_corrupt_newest_value();
    tracing::warn!(
        member = %format_args!("{own_id:x}"),
        ?damaged,
        "UNSAFE corrupt-kv: damaged the newest stored value in place (testing only)"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hash: u32, revision: i64, compact_revision: i64) -> Hashed {
        Hashed {
            hash,
            revision,
            compact_revision,
        }
    }

    fn peer(id: u64, result: Result<Hashed, PeerHashError>) -> PeerHash {
        PeerHash { id, result }
    }

    #[test]
    fn the_initial_check_counts_only_same_compaction_mismatches() {
        let local = h(7, 10, -1);
        assert_eq!(initial_mismatches(1, local, &[]), 0);
        let peers = [
            peer(2, Ok(h(7, 10, -1))),
            peer(3, Ok(h(8, 10, 4))),
            peer(4, Err(PeerHashError::FutureRevision)),
            peer(5, Err(PeerHashError::Compacted)),
            peer(6, Err(PeerHashError::Other("down".into()))),
        ];
        assert_eq!(initial_mismatches(1, local, &peers), 0);
        let peers = [peer(2, Ok(h(8, 12, -1))), peer(3, Ok(h(9, 12, -1)))];
        assert_eq!(initial_mismatches(1, local, &peers), 2);
        assert_eq!(
            inconsistency_error(0x8e9e05c52164694d),
            "8e9e05c52164694d found data inconsistency with peers"
        );
    }

    #[test]
    fn the_leader_check_follows_corrupt_go() {
        let a = h(7, 10, -1);
        assert!(!leader_finds_corruption(a, a, &[]));
        assert!(!leader_finds_corruption(a, h(8, 11, -1), &[]), "moved on");
        assert!(
            leader_finds_corruption(a, h(8, 10, -1), &[]),
            "own hash changed"
        );
        let ok = [
            peer(2, Ok(h(7, 10, -1))),
            peer(3, Err(PeerHashError::FutureRevision)),
        ];
        assert!(!leader_finds_corruption(a, a, &ok));
        for bad in [h(9, 10, -1), h(7, 11, -1), h(7, 10, 3)] {
            assert!(
                leader_finds_corruption(a, a, &[peer(2, Ok(bad))]),
                "{bad:?}"
            );
        }
        // Another compaction, same revision: not comparable.
        let b = h(7, 10, 5);
        assert!(!leader_finds_corruption(b, b, &[peer(2, Ok(h(9, 10, 4)))]));
    }
}
