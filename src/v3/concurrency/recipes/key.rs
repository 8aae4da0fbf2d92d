//! The key helpers the recipes share (Go's `recipes/key.go`, `client.go`
//! and `watch.go`).

use crate::v3::compare::{Compare, CompareOp};
use crate::v3::concurrency::error::{Error, Result};
use crate::v3::concurrency::key::header_revision;
use crate::v3::kv::KV;
use crate::v3::op::{DeleteOptions, GetOptions, Op, PutOptions};
use crate::v3::pb::mvccpb::KeyValue;
use crate::v3::watch::{Event, EventType, WatchOptions, Watcher};
use futures_util::StreamExt;

/// Puts `key` only if it does not exist; its revision, or
/// [`Error::KeyExists`].
pub(crate) async fn put_new_kv<C: KV>(kv: &C, key: &str, value: &str, lease: i64) -> Result<i64> {
    let resp = kv
        .txn()
        .when([Compare::version(key, CompareOp::Equal, 0)])
        .and_then([Op::put(
            key,
            value,
            PutOptions {
                lease,
                ..Default::default()
            },
        )])
        .commit()
        .await?;
    if !resp.succeeded {
        return Err(Error::KeyExists);
    }
    Ok(header_revision(&resp.header))
}

/// Nanoseconds since the epoch: the unique part of a queue key, as Go's
/// `time.Now().UnixNano()` (collisions are retried).
fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Puts a new key `<prefix>/<nanoseconds>` (Go's `newUniqueKV`); its key
/// and revision.
pub(crate) async fn new_unique_kv<C: KV>(
    kv: &C,
    prefix: &str,
    value: &str,
    lease: i64,
) -> Result<(String, i64)> {
    loop {
        let key = format!("{prefix}/{}", now_nanos());
        match put_new_kv(kv, &key, value, lease).await {
            Ok(rev) => return Ok((key, rev)),
            Err(Error::KeyExists) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Puts `<prefix>/<next sequence number, 16 digits>` (Go's
/// `newSequentialKV`), guarded by the marker key `__<prefix>`; its key.
pub(crate) async fn new_sequential_kv<C: KV>(kv: &C, prefix: &str, value: &str) -> Result<String> {
    loop {
        let resp = kv.get(prefix, GetOptions::last_key()).await?;
        let next = match resp.kvs.first() {
            None => 0,
            Some(last) => {
                let key = String::from_utf8_lossy(&last.key).into_owned();
                let tail = key.rsplit('/').next().unwrap_or_default();
                let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
                let n: u64 = digits
                    .parse()
                    .map_err(|_| Error::BadSequenceKey { key: key.clone() })?;
                n + 1
            }
        };
        let new_key = format!("{prefix}/{next:016}");
        let base_key = format!("__{prefix}");
        let resp = kv
            .txn()
            .when([Compare::mod_revision(
                base_key.clone(),
                CompareOp::Less,
                header_revision(&resp.header) + 1,
            )])
            .and_then([
                Op::put(base_key, "", PutOptions::default()),
                Op::put(new_key.clone(), value, PutOptions::default()),
            ])
            .commit()
            .await?;
        if resp.succeeded {
            return Ok(new_key);
        }
    }
}

/// Deletes `key` if its mod revision is `rev` (Go's `deleteRevKey`).
pub(crate) async fn delete_rev_key<C: KV>(kv: &C, key: &[u8], rev: i64) -> Result<bool> {
    let resp = kv
        .txn()
        .when([Compare::mod_revision(key.to_vec(), CompareOp::Equal, rev)])
        .and_then([Op::delete(key.to_vec(), DeleteOptions::default())])
        .commit()
        .await?;
    Ok(resp.succeeded)
}

/// Deletes the first of `kvs` still unchanged; the one claimed (Go's
/// `claimFirstKey`).
pub(crate) async fn claim_first_key<C: KV>(kv: &C, kvs: &[KeyValue]) -> Result<Option<KeyValue>> {
    for k in kvs {
        if delete_rev_key(kv, &k.key, k.mod_revision).await? {
            return Ok(Some(k.clone()));
        }
    }
    Ok(None)
}

/// Watches `key` (a prefix with `prefix`) from `rev` until the events of
/// the kinds `kinds` have happened in that order; the last one (Go's
/// `WaitEvents` / `WaitPrefixEvents`).
pub(crate) async fn wait_events<C: Watcher>(
    client: &C,
    key: &str,
    prefix: bool,
    rev: i64,
    kinds: &[EventType],
) -> Result<Event> {
    let opts = WatchOptions {
        revision: rev,
        ..if prefix {
            WatchOptions::prefix()
        } else {
            WatchOptions::default()
        }
    };
    let mut events = client.watch(key, opts).await?;
    let mut i = 0;
    while let Some(resp) = events.next().await {
        for ev in resp?.events {
            if ev.kind == kinds[i] {
                i += 1;
                if i == kinds.len() {
                    return Ok(ev);
                }
            }
        }
    }
    Err(Error::LostWatcher)
}
