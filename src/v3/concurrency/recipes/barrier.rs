//! [`Barrier`]: blocks processes until the key is deleted (Go's
//! `recipe.Barrier`).

use super::key::{put_new_kv, wait_events};
use crate::v3::concurrency::error::Result;
use crate::v3::concurrency::key::header_revision;
use crate::v3::kv::KV;
use crate::v3::op::{DeleteOptions, GetOptions};
use crate::v3::watch::{EventType, Watcher};

/// A barrier on one key: [`Barrier::hold`] raises it, [`Barrier::release`]
/// lowers it, and [`Barrier::wait`] blocks while it is up.
#[derive(Clone, Debug)]
pub struct Barrier<C> {
    client: C,
    key: String,
}

impl<C: KV + Watcher> Barrier<C> {
    /// A barrier on `key` (Go's `NewBarrier`).
    pub fn new(client: C, key: impl Into<String>) -> Barrier<C> {
        Barrier {
            client,
            key: key.into(),
        }
    }

    /// Raises the barrier (creates the key); [`crate::v3::concurrency::Error::KeyExists`]
    /// when it is up already.
    pub async fn hold(&self) -> Result<()> {
        put_new_kv(&self.client, &self.key, "", 0).await?;
        Ok(())
    }

    /// Lowers the barrier (deletes the key), releasing every waiter.
    pub async fn release(&self) -> Result<()> {
        self.client
            .delete(self.key.clone(), DeleteOptions::default())
            .await?;
        Ok(())
    }

    /// Returns at once if the barrier is down, else when it is lowered.
    pub async fn wait(&self) -> Result<()> {
        let resp = self
            .client
            .get(self.key.clone(), GetOptions::default())
            .await?;
        if resp.kvs.is_empty() {
            return Ok(());
        }
        // Go waits for a PUT then a DELETE from the read's revision, which
        // hangs when the key's PUT is older than that revision (the PUT is
        // not replayed); waiting for the DELETE after the read has no such
        // gap.
        wait_events(
            &self.client,
            &self.key,
            false,
            header_revision(&resp.header) + 1,
            &[EventType::Delete],
        )
        .await?;
        Ok(())
    }
}
