//! [`DoubleBarrier`]: `count` processes enter together and leave together
//! (Go's `recipe.DoubleBarrier`).

use super::key::{new_unique_kv, wait_events};
use crate::v3::concurrency::ConcurrencyClient as Client;
use crate::v3::concurrency::error::{Error, Result};
use crate::v3::concurrency::session::Session;
use crate::v3::op::{DeleteOptions, GetOptions, PutOptions};
use crate::v3::watch::EventType;

/// A double barrier on `<key>/waiters/` and `<key>/ready`: [`DoubleBarrier::enter`]
/// returns once `count` processes entered; [`DoubleBarrier::leave`] once all
/// of them left. Each process's waiter key is attached to its session.
#[derive(Debug)]
pub struct DoubleBarrier<C> {
    session: Session<C>,
    key: String,
    count: usize,
    my_key: Option<(String, i64)>,
}

impl<C: Client> DoubleBarrier<C> {
    /// A double barrier on `key` for `count` processes (Go's
    /// `NewDoubleBarrier`).
    pub fn new(session: &Session<C>, key: impl Into<String>, count: usize) -> DoubleBarrier<C> {
        DoubleBarrier {
            session: session.clone(),
            key: key.into(),
            count,
            my_key: None,
        }
    }

    fn waiters(&self) -> String {
        format!("{}/waiters", self.key)
    }

    fn ready(&self) -> String {
        format!("{}/ready", self.key)
    }

    /// Enters, and waits until `count` processes have:
    /// [`Error::TooManyClients`] when more than `count` are in.
    pub async fn enter(&mut self) -> Result<()> {
        let client = self.session.client();
        let (key, rev) = new_unique_kv(client, &self.waiters(), "", self.session.lease()).await?;
        self.my_key = Some((key, rev));
        let resp = client.get(self.waiters(), GetOptions::prefix()).await?;
        if resp.kvs.len() > self.count {
            return Err(Error::TooManyClients);
        }
        if resp.kvs.len() == self.count {
            client.put(self.ready(), "", PutOptions::default()).await?;
            return Ok(());
        }
        wait_events(client, &self.ready(), false, rev, &[EventType::Put]).await?;
        Ok(())
    }

    /// Leaves, and waits until every process has.
    pub async fn leave(&mut self) -> Result<()> {
        let client = self.session.client().clone();
        loop {
            let resp = client.get(self.waiters(), GetOptions::prefix()).await?;
            if resp.kvs.is_empty() {
                return Ok(());
            }
            let mut lowest = &resp.kvs[0];
            let mut highest = &resp.kvs[0];
            for k in &resp.kvs {
                if k.mod_revision < lowest.mod_revision {
                    lowest = k;
                }
                if k.mod_revision > highest.mod_revision {
                    highest = k;
                }
            }
            let my_key = self
                .my_key
                .as_ref()
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            let is_lowest = lowest.key == my_key.as_bytes();
            if resp.kvs.len() == 1 {
                client
                    .delete(self.ready(), DeleteOptions::default())
                    .await?;
                self.delete_mine(&client).await?;
                return Ok(());
            }
            if is_lowest {
                // The lowest leaves last: wait for the highest to go.
                let key = String::from_utf8_lossy(&highest.key).into_owned();
                wait_events(
                    &client,
                    &key,
                    false,
                    highest.mod_revision,
                    &[EventType::Delete],
                )
                .await?;
                continue;
            }
            self.delete_mine(&client).await?;
            let key = String::from_utf8_lossy(&lowest.key).into_owned();
            wait_events(
                &client,
                &key,
                false,
                lowest.mod_revision,
                &[EventType::Delete],
            )
            .await?;
        }
    }

    async fn delete_mine(&mut self, client: &C) -> Result<()> {
        if let Some((key, _)) = self.my_key.take() {
            client.delete(key, DeleteOptions::default()).await?;
        }
        Ok(())
    }
}
