//! Where the three v3 stores meet: the lessor answers the kv store's lease
//! lookups, and the kv store is the watchable store's history.

use super::kv::{KvError, KvStore, LeaseLookup};
use super::lease::Lessor;
use super::watch::{Compacted, EventSource};
use etcd_sdk::v3::pb::mvccpb;

impl LeaseLookup for Lessor {
    fn lease_exists(&self, id: i64) -> bool {
        self.contains(id)
    }
}

impl EventSource for KvStore {
    fn current_revision(&self) -> i64 {
        KvStore::current_revision(self)
    }

    fn compact_revision(&self) -> i64 {
        KvStore::compact_revision(self)
    }

    fn events_between(
        &self,
        from: i64,
        to: i64,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<Vec<mvccpb::Event>, Compacted> {
        KvStore::events_between(self, from, to, key, range_end).map_err(|e| match e {
            KvError::Compacted { compact_revision } => Compacted { compact_revision },
            // History reads fail only by compaction; anything else would be a bug
            // in the kv store, reported as the compaction it cannot be.
            other => {
                tracing::error!(error = %other, "store: history read failed");
                Compacted {
                    compact_revision: KvStore::compact_revision(self),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use crate::store::v3::watch::{WatchConfig, WatchableStore};
    use etcd_sdk::v3::pb::etcdserverpb::{DeleteRangeRequest, PutRequest, WatchCreateRequest};
    use std::time::{Duration, Instant};

    /// A put applied as the server applies it: kv, then the lessor, then watchers.
    fn put(
        kv: &mut KvStore,
        lessor: &mut Lessor,
        watch: &mut WatchableStore,
        key: &str,
        value: &str,
        lease: i64,
    ) {
        let (_, changes) = kv
            .put(
                &PutRequest {
                    key: key.into(),
                    value: value.into(),
                    lease,
                    ..Default::default()
                },
                &*lessor,
            )
            .unwrap();
        lessor.apply_lease_changes(&changes.lease_changes).unwrap();
        watch.notify(changes.revision, &changes.events);
    }

    #[test]
    fn a_revoke_deletes_the_attached_keys_in_one_revision_and_watchers_see_it() {
        let now = Instant::now();
        let mut kv = KvStore::new();
        let mut lessor = Lessor::new(LessorConfig::default());
        let mut watch = WatchableStore::new(WatchConfig::new(1_572_864));
        lessor.promote(now, Duration::from_secs(1));
        lessor.grant(7, 10, now).unwrap();
        let stream = watch.open_stream();
        watch
            .create(
                stream,
                &WatchCreateRequest {
                    key: b"a".to_vec(),
                    range_end: b"z".to_vec(),
                    ..Default::default()
                },
                &kv,
            )
            .unwrap();
        put(&mut kv, &mut lessor, &mut watch, "a", "1", 7);
        put(&mut kv, &mut lessor, &mut watch, "b", "2", 7);
        put(&mut kv, &mut lessor, &mut watch, "c", "3", 0);
        // A put to an unknown lease is refused by the lessor's answer.
        let err = kv
            .put(
                &PutRequest {
                    key: b"d".to_vec(),
                    lease: 8,
                    ..Default::default()
                },
                &lessor,
            )
            .unwrap_err();
        assert_eq!(err, KvError::LeaseNotFound);

        let keys = lessor.revoke(7).unwrap();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
        let changes = kv.delete_keys(&keys).expect("a write");
        lessor.apply_lease_changes(&changes.lease_changes).unwrap();
        assert_eq!(changes.revision, 5);
        watch.notify(changes.revision, &changes.events);

        let got: Vec<_> = watch.poll(stream).unwrap();
        let events: Vec<(i64, usize)> = got
            .iter()
            .filter(|r| !r.events.is_empty())
            .map(|r| (r.header.as_ref().unwrap().revision, r.events.len()))
            .collect();
        // Three puts, then both deletes in one response at one revision.
        assert_eq!(events, vec![(2, 1), (3, 1), (4, 1), (5, 2)]);
        let last = got.last().unwrap();
        assert!(
            last.events
                .iter()
                .all(|e| e.r#type == mvccpb::event::EventType::Delete as i32)
        );
        assert!(kv.get(b"a").is_none() && kv.get(b"c").is_some());
    }

    #[test]
    fn a_watch_from_history_reads_the_kv_store_and_stops_at_compaction() {
        let mut kv = KvStore::new();
        let mut lessor = Lessor::new(LessorConfig::default());
        let mut watch = WatchableStore::new(WatchConfig::new(1_572_864));
        for v in ["1", "2", "3", "4"] {
            put(&mut kv, &mut lessor, &mut watch, "k", v, 0);
        }
        kv.delete_range(&DeleteRangeRequest {
            key: b"k".to_vec(),
            ..Default::default()
        });
        kv.compact(3).unwrap();
        let stream = watch.open_stream();
        // At the compact revision: served with what compaction kept.
        let at = WatchCreateRequest {
            key: b"k".to_vec(),
            start_revision: 3,
            ..Default::default()
        };
        watch.create(stream, &at, &kv).unwrap();
        // Below it: cancelled with the compact revision.
        let below = WatchCreateRequest {
            start_revision: 2,
            ..at.clone()
        };
        watch.create(stream, &below, &kv).unwrap();
        while watch.unsynced_count() > 0 {
            watch.sync_unsynced(&kv);
        }
        let got = watch.poll(stream).unwrap();
        let cancelled: Vec<i64> = got
            .iter()
            .filter(|r| r.canceled)
            .map(|r| r.compact_revision)
            .collect();
        assert_eq!(cancelled, vec![3]);
        let revisions: Vec<i64> = got
            .iter()
            .flat_map(|r| r.events.iter())
            .filter_map(|e| e.kv.as_ref().map(|kv| kv.mod_revision))
            .collect();
        // Puts at 3, 4 and 5, the delete at 6.
        assert_eq!(revisions, vec![3, 4, 5, 6]);
    }
}
