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
