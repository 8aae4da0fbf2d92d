//! The pure bookkeeping of a watch stream: where each watcher resumes on a
//! new stream ([`ResumePoint`]) and the reassembly of fragmented responses
//! ([`Reassembler`]).
//!
//! The resume revision is exact, never Go's approximation: Go resumes a
//! watcher that saw only its created reply (or a progress notification) at
//! the header's revision, which can deliver that revision's events twice;
//! here it is the header's revision + 1, and stream-wide progress replies
//! (`watch_id` -1, which etcd 3.4 sends without waiting for unsynced
//! watchers) never move it.

use crate::v3::pb::etcdserverpb as pb;
use std::collections::BTreeMap;

/// Where a watcher's events continue: the revision its next create asks
/// for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResumePoint {
    /// The next revision the watcher expects; 0 while it is "from now" and
    /// the server has not said which revision that is.
    next: i64,
}

impl ResumePoint {
    /// A watcher asked to start at `start_revision` (0: from now).
    pub(crate) fn new(start_revision: i64) -> ResumePoint {
        ResumePoint {
            next: start_revision.max(0),
        }
    }

    /// The `start_revision` of the watcher's next create request.
    pub(crate) fn start_revision(&self) -> i64 {
        self.next
    }

    /// The created reply: a watcher "from now" gets the events after the
    /// revision current at creation, which is the reply's header revision
    /// (etcd reads it before registering the watcher at that revision + 1).
    pub(crate) fn on_created(&mut self, header_revision: i64) {
        if self.next == 0 && header_revision > 0 {
            self.next = header_revision + 1;
        }
    }

    /// A response addressed to this watcher. After events, the next one is
    /// past the last event's revision (a revision's events never span two
    /// responses once fragments are joined). A progress notification of the
    /// watcher's own (the server sends it only while the watcher is synced)
    /// says every event up to its header revision was delivered. Anything
    /// else (a catch-up batch's header runs ahead of its events) says nothing.
    pub(crate) fn on_response(&mut self, resp: &pb::WatchResponse) {
        if let Some(last) = resp.events.last() {
            let rev = last.kv.as_ref().map_or(0, |kv| kv.mod_revision);
            self.advance_to(rev + 1);
        } else if is_progress_notify(resp) {
            let rev = resp.header.as_ref().map_or(0, |h| h.revision);
            self.advance_to(rev + 1);
        }
    }

    fn advance_to(&mut self, next: i64) {
        if next > self.next {
            self.next = next;
        }
    }
}

/// Go's `IsProgressNotify` on the wire message.
pub(crate) fn is_progress_notify(resp: &pb::WatchResponse) -> bool {
    resp.events.is_empty()
        && !resp.created
        && !resp.canceled
        && resp.compact_revision == 0
        && resp.header.as_ref().is_some_and(|h| h.revision != 0)
}

/// Joins the parts of fragmented responses (`fragment=true` on every part
/// but the last), per watch ID. One per stream: parts never span streams.
#[derive(Debug, Default)]
pub(crate) struct Reassembler {
    partial: BTreeMap<i64, pb::WatchResponse>,
}

impl Reassembler {
    /// Takes one message off the stream; gives back a whole response once
    /// its last part is in. Created and cancel replies are never fragments.
    pub(crate) fn push(&mut self, resp: pb::WatchResponse) -> Option<pb::WatchResponse> {
        if resp.created || resp.canceled {
            self.partial.remove(&resp.watch_id);
            return Some(resp);
        }
        let whole = match self.partial.remove(&resp.watch_id) {
            Some(mut joined) => {
                joined.events.extend(resp.events);
                joined.fragment = resp.fragment;
                joined
            }
            None => resp,
        };
        if whole.fragment {
            self.partial.insert(whole.watch_id, whole);
            None
        } else {
            Some(whole)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::pb::etcdserverpb::ResponseHeader;
    use crate::v3::pb::mvccpb::{Event, KeyValue};

    fn header(revision: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision,
            ..Default::default()
        })
    }

    fn event(rev: i64) -> Event {
        Event {
            kv: Some(KeyValue {
                key: format!("k{rev}").into_bytes(),
                mod_revision: rev,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn events(watch_id: i64, header_rev: i64, revs: &[i64]) -> pb::WatchResponse {
        pb::WatchResponse {
            header: header(header_rev),
            watch_id,
            events: revs.iter().map(|&r| event(r)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn from_now_resumes_after_the_created_revision() {
        let mut p = ResumePoint::new(0);
        assert_eq!(p.start_revision(), 0);
        p.on_created(7);
        assert_eq!(p.start_revision(), 8, "not 7: revision 7 is not ours");
        // A second created reply (a resume) does not move it back.
        p.on_created(3);
        assert_eq!(p.start_revision(), 8);
    }

    #[test]
    fn a_requested_start_is_kept_until_events_pass_it() {
        let mut p = ResumePoint::new(4);
        p.on_created(20);
        assert_eq!(p.start_revision(), 4, "replay from 4 is still owed");
        // A catch-up batch: header 20, events only up to 9.
        p.on_response(&events(0, 20, &[4, 6, 9]));
        assert_eq!(p.start_revision(), 10);
        // A future start stays put when a progress notify reports less.
        let mut future = ResumePoint::new(50);
        future.on_created(20);
        future.on_response(&events(0, 21, &[]));
        assert_eq!(future.start_revision(), 50);
    }

    #[test]
    fn after_events_the_last_revision_plus_one() {
        let mut p = ResumePoint::new(0);
        p.on_created(1);
        p.on_response(&events(0, 5, &[3, 3, 5]));
        assert_eq!(p.start_revision(), 6);
        // Never backwards.
        p.on_response(&events(0, 4, &[4]));
        assert_eq!(p.start_revision(), 6);
    }

    #[test]
    fn after_its_own_progress_notify_the_header_revision_plus_one() {
        let mut p = ResumePoint::new(0);
        p.on_created(2);
        p.on_response(&events(0, 12, &[]));
        assert_eq!(p.start_revision(), 13);
        // A cancel or compaction reply is not progress.
        let mut q = ResumePoint::new(3);
        q.on_response(&pb::WatchResponse {
            header: header(30),
            canceled: true,
            compact_revision: 9,
            ..Default::default()
        });
        assert_eq!(q.start_revision(), 3);
    }

    #[test]
    fn fragments_join_per_watch_id() {
        let mut r = Reassembler::default();
        let part = |id: i64, revs: &[i64], more: bool| pb::WatchResponse {
            fragment: more,
            ..events(id, 9, revs)
        };
        assert!(r.push(part(1, &[9, 9], true)).is_none());
        // Another watcher's whole response passes through meanwhile.
        let other = r.push(part(2, &[9], false)).expect("whole");
        assert_eq!(other.events.len(), 1);
        assert!(r.push(part(1, &[9], true)).is_none());
        let joined = r.push(part(1, &[9], false)).expect("last part");
        assert_eq!((joined.watch_id, joined.events.len()), (1, 4));
        assert!(!joined.fragment);
    }

    #[test]
    fn created_and_cancel_replies_pass_through_and_drop_parts() {
        let mut r = Reassembler::default();
        assert!(
            r.push(pb::WatchResponse {
                fragment: true,
                ..events(4, 9, &[9])
            })
            .is_none()
        );
        let cancel = pb::WatchResponse {
            watch_id: 4,
            canceled: true,
            ..Default::default()
        };
        assert!(r.push(cancel).is_some_and(|c| c.events.is_empty()));
        let next = r.push(events(4, 10, &[10])).expect("whole");
        assert_eq!(next.events.len(), 1, "the dropped parts are not joined in");
    }
}
