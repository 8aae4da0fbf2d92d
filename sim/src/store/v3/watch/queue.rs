//! A watch stream's outbound queue: responses in the order they are to be sent.
//!
//! Watcher responses (events, progress notifications, compaction cancels) take one
//! of `capacity` slots (etcd's `chanBufLen`, 128); when the slots are full the
//! producer is told so and parks the watcher as a victim. Control replies (created,
//! cancel, progress-request answers, create rejections) are answers to client
//! requests and are always queued; the server bounds them by not reading the next
//! request while [`OutQueue::control_len`] is at `CTRL_STREAM_BUF_LEN`.

use std::collections::VecDeque;

use etcd_sdk::v3::pb::etcdserverpb::WatchResponse;

/// One queued response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Entry {
    /// A reply to a client request; takes no slot.
    Control(WatchResponse),
    /// A watcher's response; takes a slot until polled.
    Watcher {
        /// The watcher that produced it.
        watch_id: i64,
        /// The response, before fragmentation.
        resp: WatchResponse,
        /// Whether the watcher asked for fragmentation.
        fragment: bool,
    },
}

/// The bounded outbound queue of one stream.
#[derive(Debug)]
pub(crate) struct OutQueue {
    entries: VecDeque<Entry>,
    watcher_entries: usize,
    capacity: usize,
}

impl OutQueue {
    /// An empty queue with `capacity` watcher slots.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            watcher_entries: 0,
            capacity,
        }
    }

    /// Queues a control reply.
    pub(crate) fn push_control(&mut self, resp: WatchResponse) {
        self.entries.push_back(Entry::Control(resp));
    }

    /// Queues a watcher response, or gives it back when every slot is taken.
    pub(crate) fn try_push_watcher(
        &mut self,
        watch_id: i64,
        resp: WatchResponse,
        fragment: bool,
    ) -> Result<(), WatchResponse> {
        if self.watcher_entries >= self.capacity {
            return Err(resp);
        }
        self.watcher_entries += 1;
        self.entries.push_back(Entry::Watcher {
            watch_id,
            resp,
            fragment,
        });
        Ok(())
    }

    /// Whether a watcher response would be refused now.
    pub(crate) fn is_full(&self) -> bool {
        self.watcher_entries >= self.capacity
    }

    /// Takes every queued entry, oldest first.
    pub(crate) fn drain(&mut self) -> Vec<Entry> {
        self.watcher_entries = 0;
        self.entries.drain(..).collect()
    }

    /// Queued entries of both kinds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Queued control replies.
    pub(crate) fn control_len(&self) -> usize {
        self.entries.len() - self.watcher_entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(id: i64) -> WatchResponse {
        WatchResponse {
            watch_id: id,
            ..WatchResponse::default()
        }
    }

    #[test]
    fn watcher_slots_are_bounded_and_control_replies_are_not() {
        let mut q = OutQueue::new(2);
        assert!(q.try_push_watcher(1, resp(1), false).is_ok());
        q.push_control(resp(-1));
        assert!(q.try_push_watcher(2, resp(2), true).is_ok());
        assert!(q.is_full());
        assert_eq!(q.try_push_watcher(3, resp(3), false), Err(resp(3)));
        q.push_control(resp(-2));
        assert_eq!(q.len(), 4);
        assert_eq!(q.control_len(), 2);
        let drained = q.drain();
        let ids: Vec<i64> = drained
            .iter()
            .map(|e| match e {
                Entry::Control(r) | Entry::Watcher { resp: r, .. } => r.watch_id,
            })
            .collect();
        assert_eq!(ids, vec![1, -1, 2, -2]);
        assert!(!q.is_full());
        assert_eq!(q.len(), 0);
        assert!(q.try_push_watcher(3, resp(3), false).is_ok());
    }
}
