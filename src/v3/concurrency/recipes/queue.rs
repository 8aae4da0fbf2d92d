//! [`Queue`]: a multi-reader, multi-writer FIFO queue (Go's `recipe.Queue`).

use super::key::{claim_first_key, delete_rev_key, new_unique_kv, wait_events};
use crate::v3::concurrency::error::Result;
use crate::v3::concurrency::key::header_revision;
use crate::v3::kv::KV;
use crate::v3::op::GetOptions;
use crate::v3::watch::{EventType, Watcher};

/// A FIFO queue of values under `<prefix>/<nanoseconds>` keys.
#[derive(Clone, Debug)]
pub struct Queue<C> {
    client: C,
    prefix: String,
}

impl<C: KV + Watcher> Queue<C> {
    /// A queue on `prefix` (Go's `NewQueue`).
    pub fn new(client: C, prefix: impl Into<String>) -> Queue<C> {
        Queue {
            client,
            prefix: prefix.into(),
        }
    }

    /// Appends `value`.
    pub async fn enqueue(&self, value: &str) -> Result<()> {
        new_unique_kv(&self.client, &self.prefix, value, 0).await?;
        Ok(())
    }

    /// Removes and returns the oldest value, waiting for one if the queue
    /// is empty.
    pub async fn dequeue(&self) -> Result<String> {
        dequeue(&self.client, &self.prefix, GetOptions::first_rev()).await
    }
}

/// Claims the first key under `prefix` in `order`, or waits for a put.
pub(crate) async fn dequeue<C: KV + Watcher>(
    client: &C,
    prefix: &str,
    order: GetOptions,
) -> Result<String> {
    loop {
        let resp = client.get(prefix, order.clone()).await?;
        if let Some(kv) = claim_first_key(client, &resp.kvs).await? {
            return Ok(String::from_utf8_lossy(&kv.value).into_owned());
        }
        if resp.more {
            continue;
        }
        let ev = wait_events(
            client,
            prefix,
            true,
            header_revision(&resp.header),
            &[EventType::Put],
        )
        .await?;
        if delete_rev_key(client, &ev.kv.key, ev.kv.mod_revision).await? {
            return Ok(String::from_utf8_lossy(&ev.kv.value).into_owned());
        }
    }
}
