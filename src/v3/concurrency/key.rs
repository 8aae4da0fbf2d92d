//! Waiting for keys to go (Go's `waitDelete` / `waitDeletes`), shared by
//! [`super::Mutex`] and [`super::Election`].

use super::error::{Error, Result};
use crate::v3::kv::{KV, ResponseHeader};
use crate::v3::op::GetOptions;
use crate::v3::watch::{EventType, WatchOptions, Watcher};
use futures_util::StreamExt;

/// The revision of a header (0 when the server sent none).
pub(crate) fn header_revision(h: &Option<ResponseHeader>) -> i64 {
    h.as_ref().map_or(0, |h| h.revision)
}

/// Waits until `key` is deleted, watching from `revision`.
pub(crate) async fn wait_delete<C: Watcher>(client: &C, key: &[u8], revision: i64) -> Result<()> {
    let mut events = client
        .watch(
            key.to_vec(),
            WatchOptions {
                revision,
                ..Default::default()
            },
        )
        .await?;
    while let Some(resp) = events.next().await {
        if resp?.events.iter().any(|e| e.kind == EventType::Delete) {
            return Ok(());
        }
    }
    Err(Error::LostWatcher)
}

/// Waits until no key under `prefix` has a create revision ≤
/// `max_create_rev`: repeatedly finds the last-created such key and waits
/// for its deletion. Returns the header of the read that found none.
pub(crate) async fn wait_deletes<C: KV + Watcher>(
    client: &C,
    prefix: &str,
    max_create_rev: i64,
) -> Result<Option<ResponseHeader>> {
    if max_create_rev < 1 {
        // Nothing is created before revision 1 (and etcd reads a bound of
        // 0 as no bound, which would find the caller's own key).
        return Ok(None);
    }
    loop {
        let resp = client
            .get(
                prefix,
                GetOptions {
                    max_create_revision: max_create_rev,
                    ..GetOptions::last_create()
                },
            )
            .await?;
        let Some(last) = resp.kvs.first() else {
            return Ok(resp.header);
        };
        wait_delete(client, &last.key, header_revision(&resp.header)).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::fake::Fake;
    use crate::v3::op::{DeleteOptions, PutOptions};
    use std::time::Duration;

    #[tokio::test]
    async fn waits_for_every_earlier_key_newest_first() {
        let fake = Fake::default();
        fake.put("p/a", "", PutOptions::default()).await.unwrap();
        fake.put("p/b", "", PutOptions::default()).await.unwrap();
        fake.put("p/c", "", PutOptions::default()).await.unwrap();
        let c_rev = fake.kv("p/c").unwrap().create_revision;
        // No bound below revision 1: nothing to wait for.
        assert_eq!(wait_deletes(&fake, "p/", 0).await.unwrap(), None);
        let waiter = tokio::spawn({
            let fake = fake.clone();
            async move { wait_deletes(&fake, "p/", c_rev - 1).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        fake.delete("p/a", DeleteOptions::default()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "p/b is still there");
        fake.clear_ops();
        fake.delete("p/b", DeleteOptions::default()).await.unwrap();
        let header = waiter.await.unwrap().unwrap();
        assert_eq!(header_revision(&header), fake.revision());
        // p/c (created later) was never waited for.
        assert!(fake.kv("p/c").is_some());
    }
}
