//! [`PriorityQueue`]: a queue served lowest priority number first (Go's
//! `recipe.PriorityQueue`).

use super::key::new_sequential_kv;
use super::queue::dequeue;
use crate::v3::concurrency::error::Result;
use crate::v3::kv::KV;
use crate::v3::op::GetOptions;
use crate::v3::watch::Watcher;

/// A priority queue under `<key>/<priority, 5 digits>/<sequence, 16
/// digits>` keys: lower numbers first, FIFO within a priority.
#[derive(Clone, Debug)]
pub struct PriorityQueue<C> {
    client: C,
    key: String,
}

impl<C: KV + Watcher> PriorityQueue<C> {
    /// A priority queue on `key` (Go's `NewPriorityQueue`).
    pub fn new(client: C, key: impl Into<String>) -> PriorityQueue<C> {
        PriorityQueue {
            client,
            key: key.into() + "/",
        }
    }

    /// Adds `value` with `priority` (lower is served first).
    pub async fn enqueue(&self, value: &str, priority: u16) -> Result<()> {
        let prefix = format!("{}{priority:05}", self.key);
        new_sequential_kv(&self.client, &prefix, value).await?;
        Ok(())
    }

    /// Removes and returns the value of the lowest priority (the oldest of
    /// that priority), waiting for one if the queue is empty.
    pub async fn dequeue(&self) -> Result<String> {
        dequeue(&self.client, &self.key, GetOptions::first_key()).await
    }
}
