//! [`WatchOptions`]: Go's `OpOption`s that apply to a watch.

use crate::v3::op::KeyRange;
use crate::v3::pb::etcdserverpb::{WatchCreateRequest, watch_create_request::FilterType};

/// Options of a watch (Go's `With…` options for `Watch`). `Default`: the one
/// key, from the next revision on, every event type, no previous values, no
/// created or progress notifications, whole responses, on the client's
/// plain stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchOptions {
    /// Which keys (`WithPrefix`, `WithFromKey`, `WithRange`). Default: only
    /// the key. An empty key with a prefix or from-key range means every key.
    pub range: KeyRange,
    /// Deliver events from this revision on (`WithRev`), replaying history.
    /// `0`: from the revision after the one current when the watch is
    /// created. A compacted revision ends the watch with
    /// [`crate::v3::Error::WatchCompacted`].
    pub revision: i64,
    /// Include each event's previous key-value (`WithPrevKV`). Creates have
    /// none, and neither does a value whose history was compacted.
    pub prev_kv: bool,
    /// Drop PUT events (`WithFilterPut`).
    pub filter_put: bool,
    /// Drop DELETE events (`WithFilterDelete`).
    pub filter_delete: bool,
    /// Ask the server for a progress notification when the watcher had no
    /// events for a while (`WithProgressNotify`; etcd's interval, 10 min by
    /// default). They arrive as responses with
    /// [`crate::v3::WatchResponse::is_progress_notify`].
    pub progress_notify: bool,
    /// Deliver the server's created reply as the first response
    /// (`WithCreatedNotify`); only for the first creation, never for a resume.
    pub created_notify: bool,
    /// Let the server split a large response (`WithFragment`). The client
    /// reassembles the parts, so this only changes the server's sizing.
    pub fragment: bool,
    /// Use a stream that requires a leader (`WithRequireLeader`): a member
    /// that loses its leader ends the stream, and the client re-creates it
    /// (the watchers resume where they were). Watchers with and without this
    /// flag run on two separate streams.
    pub require_leader: bool,
}

impl WatchOptions {
    /// Every key with the watch's key as prefix (`WithPrefix`).
    pub fn prefix() -> WatchOptions {
        WatchOptions {
            range: KeyRange::Prefix,
            ..Default::default()
        }
    }

    /// Every key ≥ the watch's key (`WithFromKey`).
    pub fn from_key() -> WatchOptions {
        WatchOptions {
            range: KeyRange::FromKey,
            ..Default::default()
        }
    }

    /// The create request for `key` starting at `start_revision` (Go never
    /// sets `watch_id`: the server assigns one).
    pub(crate) fn create_request(&self, key: &[u8], start_revision: i64) -> WatchCreateRequest {
        let (key, range_end) = self.range.encode(key.to_vec());
        let mut filters = Vec::new();
        if self.filter_put {
            filters.push(FilterType::Noput as i32);
        }
        if self.filter_delete {
            filters.push(FilterType::Nodelete as i32);
        }
        WatchCreateRequest {
            key,
            range_end,
            start_revision,
            progress_notify: self.progress_notify,
            filters,
            prev_kv: self.prev_kv,
            watch_id: 0,
            fragment: self.fragment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_reaches_the_create_request() {
        let plain = WatchOptions::default().create_request(b"k", 0);
        assert_eq!(
            plain,
            WatchCreateRequest {
                key: b"k".to_vec(),
                ..Default::default()
            }
        );
        let all = WatchOptions {
            prev_kv: true,
            filter_put: true,
            filter_delete: true,
            progress_notify: true,
            fragment: true,
            ..WatchOptions::prefix()
        }
        .create_request(b"a/", 7);
        assert_eq!(all.range_end, b"a0");
        assert_eq!(all.start_revision, 7);
        assert_eq!(
            all.filters,
            vec![FilterType::Noput as i32, FilterType::Nodelete as i32]
        );
        assert!(all.prev_kv && all.progress_notify && all.fragment);
        let every_key = WatchOptions::prefix().create_request(b"", 0);
        assert_eq!((every_key.key, every_key.range_end), (vec![0], vec![0]));
        let from = WatchOptions::from_key().create_request(b"m", 0);
        assert_eq!(from.range_end, vec![0]);
        let range = WatchOptions {
            range: KeyRange::End(b"z".to_vec()),
            ..Default::default()
        }
        .create_request(b"a", 0);
        assert_eq!(range.range_end, b"z");
    }
}
