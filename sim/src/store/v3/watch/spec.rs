//! A watcher's normalised create request: its key range, filters and options, and
//! the per-watcher shaping of events (filters, `prev_kv`).

use etcd_sdk::v3::pb::etcdserverpb::WatchCreateRequest;
use etcd_sdk::v3::pb::etcdserverpb::watch_create_request::FilterType;
use etcd_sdk::v3::pb::mvccpb::Event;
use etcd_sdk::v3::pb::mvccpb::event::EventType;

/// The cancel reason of a create whose `range_end` is not above its key.
pub const ERR_EMPTY_RANGE: &str = "mvcc: watcher range is empty";
/// The cancel reason of a create whose explicit `watch_id` is already in use.
pub const ERR_DUPLICATE_ID: &str = "mvcc: duplicate watch ID provided on the WatchStream";

/// The keys a watcher covers, normalised as etcd's watch server does: an empty key
/// is `"\0"`, an empty `range_end` is one key and a one-byte `"\0"` is "from key".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRange {
    /// Exactly this key.
    Key(Vec<u8>),
    /// Every key `k` with `start <= k < end` (`end > start`).
    Range {
        /// First key covered.
        start: Vec<u8>,
        /// First key past the range.
        end: Vec<u8>,
    },
    /// Every key `>= start`.
    FromKey(Vec<u8>),
}

impl KeyRange {
    /// Normalises a create request's `key`/`range_end`. `None` when the range is
    /// empty (`range_end <= key` and not `"\0"`).
    pub fn from_request(key: &[u8], range_end: &[u8]) -> Option<Self> {
        let key = if key.is_empty() {
            vec![0]
        } else {
            key.to_vec()
        };
        match range_end {
            [] => Some(Self::Key(key)),
            [0] => Some(Self::FromKey(key)),
            end if end > key.as_slice() => Some(Self::Range {
                start: key,
                end: end.to_vec(),
            }),
            _ => None,
        }
    }

    /// The first key of the range.
    pub fn start(&self) -> &[u8] {
        match self {
            Self::Key(k) | Self::FromKey(k) => k,
            Self::Range { start, .. } => start,
        }
    }

    /// The range end in etcd's wire form (`""` one key, `"\0"` from key).
    pub fn wire_end(&self) -> &[u8] {
        match self {
            Self::Key(_) => &[],
            Self::FromKey(_) => &[0],
            Self::Range { end, .. } => end,
        }
    }

    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        match self {
            Self::Key(k) => k.as_slice() == key,
            Self::FromKey(start) => key >= start.as_slice(),
            Self::Range { start, end } => key >= start.as_slice() && key < end.as_slice(),
        }
    }
}

/// Everything the store keeps of a watcher's create request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchSpec {
    /// The keys watched.
    pub range: KeyRange,
    /// NOPUT: drop PUT events.
    pub no_put: bool,
    /// NODELETE: drop DELETE events.
    pub no_delete: bool,
    /// Keep `prev_kv` on events (never on creates).
    pub prev_kv: bool,
    /// Send progress notifications while idle.
    pub progress_notify: bool,
    /// Split responses at the fragment limit.
    pub fragment: bool,
}

impl WatchSpec {
    /// Builds the spec of a create request; `None` when its range is empty.
    /// Unknown filter values are ignored, as etcd does.
    pub fn from_request(req: &WatchCreateRequest) -> Option<Self> {
        let range = KeyRange::from_request(&req.key, &req.range_end)?;
        let has = |f: FilterType| req.filters.contains(&(f as i32));
        Some(Self {
            range,
            no_put: has(FilterType::Noput),
            no_delete: has(FilterType::Nodelete),
            prev_kv: req.prev_kv,
            progress_notify: req.progress_notify,
            fragment: req.fragment,
        })
    }

    /// The events this watcher is sent out of `events` (already in its range): the
    /// filtered ones dropped, `prev_kv` removed unless asked for and always on
    /// creates (a PUT whose create revision is its mod revision).
    pub fn shape(&self, events: Vec<Event>) -> Vec<Event> {
        events
            .into_iter()
            .filter(|ev| !self.filtered(ev))
            .map(|mut ev| {
                if !self.prev_kv || is_create(&ev) {
                    ev.prev_kv = None;
                }
                ev
            })
            .collect()
    }

    fn filtered(&self, ev: &Event) -> bool {
        let put = ev.r#type == EventType::Put as i32;
        let delete = ev.r#type == EventType::Delete as i32;
        (self.no_put && put) || (self.no_delete && delete)
    }
}

/// A PUT that created its key (create revision == mod revision).
fn is_create(ev: &Event) -> bool {
    ev.r#type == EventType::Put as i32
        && ev
            .kv
            .as_ref()
            .is_some_and(|kv| kv.create_revision == kv.mod_revision)
}

/// The main revision of an event (its kv's `mod_revision`; 0 if the kv is missing).
pub fn event_revision(ev: &Event) -> i64 {
    ev.kv.as_ref().map_or(0, |kv| kv.mod_revision)
}

/// The key of an event (empty if the kv is missing).
pub fn event_key(ev: &Event) -> &[u8] {
    ev.kv.as_ref().map_or(&[], |kv| kv.key.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::mvccpb::KeyValue;

    fn ev(ty: EventType, key: &str, create: i64, rev: i64, prev: bool) -> Event {
        Event {
            r#type: ty as i32,
            kv: Some(KeyValue {
                key: key.into(),
                create_revision: create,
                mod_revision: rev,
                ..KeyValue::default()
            }),
            prev_kv: prev.then(|| KeyValue {
                key: key.into(),
                mod_revision: rev - 1,
                ..KeyValue::default()
            }),
        }
    }

    #[test]
    fn empty_key_is_nul_and_range_end_rules() {
        assert_eq!(
            KeyRange::from_request(b"", b""),
            Some(KeyRange::Key(vec![0]))
        );
        assert_eq!(
            KeyRange::from_request(b"", b"\0"),
            Some(KeyRange::FromKey(vec![0]))
        );
        assert_eq!(
            KeyRange::from_request(b"a", b"b"),
            Some(KeyRange::Range {
                start: b"a".to_vec(),
                end: b"b".to_vec()
            })
        );
        assert_eq!(KeyRange::from_request(b"b", b"a"), None);
        assert_eq!(KeyRange::from_request(b"a", b"a"), None);
        // A two-byte end starting with NUL is an ordinary (empty) range, not "from key".
        assert_eq!(KeyRange::from_request(b"a", b"\0\0"), None);
    }

    #[test]
    fn contains_follows_the_range_kind() {
        let one = KeyRange::Key(b"k".to_vec());
        assert!(one.contains(b"k") && !one.contains(b"k1"));
        let from = KeyRange::FromKey(b"k".to_vec());
        assert!(from.contains(b"k") && from.contains(b"z") && !from.contains(b"a"));
        let range = KeyRange::from_request(b"a", b"c").expect("non-empty");
        assert!(range.contains(b"a") && range.contains(b"bzz") && !range.contains(b"c"));
        assert_eq!(one.wire_end(), b"");
        assert_eq!(from.wire_end(), b"\0");
        assert_eq!(range.wire_end(), b"c");
        assert_eq!(range.start(), b"a");
    }

    #[test]
    fn filters_and_prev_kv_stripping() {
        let req = |filters: Vec<i32>, prev_kv: bool| WatchCreateRequest {
            key: b"k".to_vec(),
            filters,
            prev_kv,
            ..WatchCreateRequest::default()
        };
        let events = vec![
            ev(EventType::Put, "k", 2, 2, false),
            ev(EventType::Put, "k", 2, 3, true),
            ev(EventType::Delete, "k", 0, 4, true),
        ];
        let no_put =
            WatchSpec::from_request(&req(vec![FilterType::Noput as i32], true)).expect("valid");
        let shaped = no_put.shape(events.clone());
        assert_eq!(shaped.len(), 1);
        assert_eq!(shaped[0].r#type, EventType::Delete as i32);
        assert!(shaped[0].prev_kv.is_some());

        let no_delete =
            WatchSpec::from_request(&req(vec![FilterType::Nodelete as i32], false)).expect("valid");
        let shaped = no_delete.shape(events.clone());
        assert_eq!(shaped.len(), 2);
        assert!(shaped.iter().all(|e| e.prev_kv.is_none()));

        let keep = WatchSpec::from_request(&req(vec![7], true)).expect("valid");
        let shaped = keep.shape(events);
        assert_eq!(shaped.len(), 3, "unknown filters are ignored");
        let prevs: Vec<bool> = shaped.iter().map(|e| e.prev_kv.is_some()).collect();
        // A create never carries prev_kv, even if the source filled one.
        assert_eq!(prevs, vec![false, true, true]);
        let mut create_with_prev = ev(EventType::Put, "k", 5, 5, true);
        create_with_prev.prev_kv = Some(KeyValue::default());
        assert!(keep.shape(vec![create_with_prev])[0].prev_kv.is_none());
    }
}
