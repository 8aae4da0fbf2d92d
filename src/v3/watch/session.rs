//! One gRPC Watch stream of a [`super::hub`] task and what is in flight on
//! it: the creates still to send and the one awaiting its reply, the server's
//! watch IDs, partial fragments, and the progress requests in order.

use super::hub::Slot;
use super::resume::Reassembler;
use crate::v3::client::StreamReport;
use crate::v3::pb::etcdserverpb::{
    self as pb, WatchCancelRequest, WatchProgressRequest, watch_request::RequestUnion,
};
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::{Status, Streaming};

/// Who asked for a progress reply (replies come in request order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Asker {
    User,
    Probe,
}

pub(super) enum Link {
    /// The call is made; the server has not answered yet.
    Opening(BoxFuture<'static, std::result::Result<Streaming<pb::WatchResponse>, Status>>),
    /// The response stream.
    Up(Box<Streaming<pb::WatchResponse>>),
}

/// One gRPC Watch stream and what is in flight on it.
pub(super) struct Session {
    pub(super) requests: mpsc::UnboundedSender<pb::WatchRequest>,
    pub(super) link: Link,
    /// Watchers (local IDs) still to create, in order.
    pub(super) queue: VecDeque<u64>,
    /// The watcher whose create awaits its reply.
    pub(super) outstanding: Option<u64>,
    /// Server watch ID → local ID.
    pub(super) ids: BTreeMap<i64, u64>,
    /// Watch IDs cancelled for events nobody wants (once each).
    pub(super) cancels_sent: BTreeSet<i64>,
    pub(super) fragments: Reassembler,
    pub(super) progress: VecDeque<Asker>,
    pub(super) last_heard: Instant,
    pub(super) probe_sent: Option<Instant>,
    pub(super) heard_any: bool,
    /// Feeds this stream's outcome to its endpoint's breaker.
    pub(super) report: Option<StreamReport>,
}

impl Session {
    pub(super) fn send(&self, req: RequestUnion) {
        // A closed request side means the call failed; its error comes on the link.
        let _ = self.requests.send(pb::WatchRequest {
            request_union: Some(req),
        });
    }

    pub(super) fn cancel(&self, watch_id: i64) {
        self.send(RequestUnion::CancelRequest(WatchCancelRequest { watch_id }));
    }

    pub(super) fn request_progress(&mut self, asker: Asker) {
        self.send(RequestUnion::ProgressRequest(WatchProgressRequest {}));
        self.progress.push_back(asker);
    }

    /// Sends the next queued create if none is outstanding.
    pub(super) fn send_next_create(&mut self, watchers: &BTreeMap<u64, Slot>) {
        while self.outstanding.is_none() {
            let Some(local) = self.queue.pop_front() else {
                return;
            };
            if let Some(slot) = watchers.get(&local) {
                let _ = self.requests.send(slot.create_request());
                self.outstanding = Some(local);
            }
        }
    }

    pub(super) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.probe_sent = None;
        self.heard_any = true;
        if let Some(r) = self.report.as_mut() {
            r.healthy();
        }
    }

    /// Whether every queued create was sent and answered (a progress reply
    /// then reaches every watcher).
    pub(super) fn creates_done(&self) -> bool {
        self.queue.is_empty() && self.outstanding.is_none()
    }
}
