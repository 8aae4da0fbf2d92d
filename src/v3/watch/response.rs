//! [`WatchResponse`] and [`Event`]: what a watch delivers, typed.

use crate::v3::error::Error;
use crate::v3::kv::ResponseHeader;
use crate::v3::pb::etcdserverpb as pb;
use crate::v3::pb::mvccpb::{self, KeyValue};

/// The kind of an [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A key was written (created or modified).
    Put,
    /// A key was deleted (or its lease expired or was revoked).
    Delete,
}

/// One change of one key (Go's `clientv3.Event`).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventType,
    /// After a put: the new key-value. After a delete: only `key` and
    /// `mod_revision` (the delete's revision) are set.
    pub kv: KeyValue,
    /// The key-value before the event, when the watch asked for it
    /// ([`crate::v3::WatchOptions::prev_kv`]) and the key existed.
    pub prev_kv: Option<KeyValue>,
}

impl Event {
    /// Whether the event created the key (a put whose create and mod
    /// revisions are equal).
    pub fn is_create(&self) -> bool {
        self.kind == EventType::Put && self.kv.create_revision == self.kv.mod_revision
    }

    /// Whether the event put a new value on an existing key.
    pub fn is_modify(&self) -> bool {
        self.kind == EventType::Put && self.kv.create_revision != self.kv.mod_revision
    }

    /// The revision of the change.
    pub fn revision(&self) -> i64 {
        self.kv.mod_revision
    }
}

impl From<mvccpb::Event> for Event {
    fn from(e: mvccpb::Event) -> Self {
        let kind = if e.r#type == mvccpb::event::EventType::Delete as i32 {
            EventType::Delete
        } else {
            EventType::Put
        };
        Event {
            kind,
            kv: e.kv.unwrap_or_default(),
            prev_kv: e.prev_kv,
        }
    }
}

/// One response of a watch (Go's `clientv3.WatchResponse`): a batch of
/// events in revision order, a created notification
/// ([`crate::v3::WatchOptions::created_notify`]) or a progress notification.
/// Fragments are already reassembled.
///
/// A [`crate::v3::WatchStream`] yields a response whose [`WatchResponse::err`]
/// is set (compaction, cancellation) as that error instead, so the
/// responses it yields as `Ok` never carry one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WatchResponse {
    /// The header: its revision is the store's when the response was made
    /// (for a progress notification: every event up to it was delivered).
    pub header: Option<ResponseHeader>,
    /// The events, in revision order.
    pub events: Vec<Event>,
    /// Set when the watcher's next revision was compacted: the oldest
    /// revision a watch may start at.
    pub compact_revision: i64,
    /// Whether the server cancelled the watcher.
    pub canceled: bool,
    /// Whether this is the created notification.
    pub created: bool,
    /// Why the server cancelled the watcher, when it said.
    pub cancel_reason: String,
}

impl WatchResponse {
    /// Whether this is a progress notification (Go's `IsProgressNotify`):
    /// no events, not created, not cancelled, not compacted, and a header
    /// revision.
    pub fn is_progress_notify(&self) -> bool {
        self.events.is_empty()
            && !self.canceled
            && !self.created
            && self.compact_revision == 0
            && self.revision() != 0
    }

    /// The header's revision (0 without a header).
    pub fn revision(&self) -> i64 {
        self.header.as_ref().map_or(0, |h| h.revision)
    }

    /// The error this response stands for (Go's `Err`):
    /// [`Error::WatchCompacted`] when `compact_revision` is set,
    /// [`Error::WatchCanceled`] when the server cancelled the watcher,
    /// `None` otherwise.
    pub fn err(&self) -> Option<Error> {
        if self.compact_revision != 0 {
            Some(Error::WatchCompacted {
                compact_revision: self.compact_revision,
            })
        } else if self.canceled {
            Some(Error::WatchCanceled {
                reason: self.cancel_reason.clone(),
            })
        } else {
            None
        }
    }
}

impl From<pb::WatchResponse> for WatchResponse {
    fn from(r: pb::WatchResponse) -> Self {
        WatchResponse {
            header: r.header,
            events: r.events.into_iter().map(Event::from).collect(),
            compact_revision: r.compact_revision,
            canceled: r.canceled,
            created: r.created,
            cancel_reason: r.cancel_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(revision: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision,
            ..Default::default()
        })
    }

    #[test]
    fn progress_notify_and_err_follow_go() {
        let progress = WatchResponse {
            header: header(9),
            ..Default::default()
        };
        assert!(progress.is_progress_notify() && progress.err().is_none());
        let created = WatchResponse {
            created: true,
            ..progress.clone()
        };
        assert!(!created.is_progress_notify());
        assert!(!WatchResponse::default().is_progress_notify());

        let compacted = WatchResponse {
            compact_revision: 5,
            canceled: true,
            ..progress.clone()
        };
        assert!(matches!(
            compacted.err(),
            Some(Error::WatchCompacted {
                compact_revision: 5
            })
        ));
        let canceled = WatchResponse {
            canceled: true,
            cancel_reason: "mvcc: watcher range is empty".into(),
            ..progress
        };
        assert!(
            matches!(canceled.err(), Some(Error::WatchCanceled { reason }) if reason.contains("range"))
        );
    }

    #[test]
    fn events_are_typed() {
        let kv = |create, modr| KeyValue {
            key: b"k".to_vec(),
            create_revision: create,
            mod_revision: modr,
            ..Default::default()
        };
        let put = Event::from(mvccpb::Event {
            r#type: mvccpb::event::EventType::Put as i32,
            kv: Some(kv(3, 3)),
            prev_kv: None,
        });
        assert!(put.is_create() && !put.is_modify());
        assert_eq!(put.revision(), 3);
        let modify = Event::from(mvccpb::Event {
            r#type: 0,
            kv: Some(kv(3, 4)),
            prev_kv: Some(kv(3, 3)),
        });
        assert!(modify.is_modify() && modify.prev_kv.is_some());
        let delete = Event::from(mvccpb::Event {
            r#type: mvccpb::event::EventType::Delete as i32,
            kv: Some(kv(0, 5)),
            prev_kv: None,
        });
        assert_eq!(delete.kind, EventType::Delete);
        assert!(!delete.is_create() && !delete.is_modify());
    }
}
