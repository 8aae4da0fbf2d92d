//! [`Watcher`]: a [`crate::v3::Watcher`] whose keys all live under a prefix
//! (Go's `namespace.NewWatcher`).

use super::{prefix_interval, strip};
use crate::v3::error::{Error, EtcdError, Result};
use crate::v3::op::KeyRange;
use crate::v3::watch::{WatchOptions, WatchResponse, WatchStream, Watcher as WatcherApi};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::sync::Arc;

/// A [`crate::v3::Watcher`] that watches under `prefix` and takes it off
/// the keys of every event (and of its previous key-value). An empty key
/// with [`WatchOptions::prefix`] (or from-key) watches the whole namespace,
/// the prefix itself included, as Go's does.
///
/// [`crate::v3::Watcher::request_progress`] and
/// [`crate::v3::Watcher::close`] pass through: they act on every watcher of
/// the wrapped client, as in Go.
#[derive(Clone, Debug)]
pub struct Watcher<W> {
    inner: W,
    prefix: Arc<[u8]>,
}

impl<W: WatcherApi> Watcher<W> {
    /// `inner`'s watches under `prefix`.
    pub fn new(inner: W, prefix: impl Into<Vec<u8>>) -> Self {
        Watcher {
            inner,
            prefix: prefix.into().into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The wrapped watcher.
    pub fn inner(&self) -> &W {
        &self.inner
    }

    /// The key and options sent to the wrapped watcher for a watch of `key`
    /// with `opts`. Go computes the range end from the key as given (not
    /// from the `"\0"` an empty prefixed key is sent as), so an empty key
    /// covers `[prefix, end of prefix)`.
    pub fn prefix_watch(
        &self,
        key: &[u8],
        mut opts: WatchOptions,
    ) -> Result<(Vec<u8>, WatchOptions)> {
        let end = match (&opts.range, key.is_empty()) {
            (KeyRange::Single, true) => return Err(Error::etcd_error(EtcdError::EmptyKey)),
            (KeyRange::Single, false) => Vec::new(),
            (KeyRange::Prefix | KeyRange::FromKey, true) => vec![0],
            (range, false) => range.encode(key.to_vec()).1,
            (KeyRange::End(end), true) => end.clone(),
        };
        let (pfx_key, pfx_end) = prefix_interval(&self.prefix, key, &end);
        opts.range = if pfx_end.is_empty() {
            KeyRange::Single
        } else {
            KeyRange::End(pfx_end)
        };
        Ok((pfx_key, opts))
    }
}

/// `resp` with `prefix` taken off the keys of its events.
fn unprefix(prefix: &[u8], mut resp: WatchResponse) -> WatchResponse {
    for ev in &mut resp.events {
        strip(prefix, &mut ev.kv.key);
        if let Some(prev) = ev.prev_kv.as_mut() {
            strip(prefix, &mut prev.key);
        }
    }
    resp
}

#[async_trait]
impl<W: WatcherApi> WatcherApi for Watcher<W> {
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send,
    {
        let (key, opts) = self.prefix_watch(&key.into(), opts)?;
        let inner = self.inner.watch(key, opts).await?;
        let prefix = Arc::clone(&self.prefix);
        Ok(WatchStream::from_stream(
            inner.map(move |r| r.map(|resp| unprefix(&prefix, resp))),
        ))
    }

    async fn request_progress(&self) -> Result<()> {
        self.inner.request_progress().await
    }

    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::pb::mvccpb::KeyValue;
    use crate::v3::watch::{Event, EventType};
    use std::sync::Mutex;

    /// A watcher that records the watches it is asked for and streams the
    /// scripted responses.
    #[derive(Default)]
    struct Scripted {
        asked: Mutex<Vec<(Vec<u8>, KeyRange)>>,
        responses: Vec<WatchResponse>,
    }

    #[async_trait]
    impl WatcherApi for Scripted {
        async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
        where
            K: Into<Vec<u8>> + Send,
        {
            self.asked.lock().unwrap().push((key.into(), opts.range));
            let items: Vec<Result<WatchResponse>> =
                self.responses.iter().cloned().map(Ok).collect();
            Ok(WatchStream::from_stream(futures_util::stream::iter(items)))
        }
        async fn request_progress(&self) -> Result<()> {
            Ok(())
        }
        async fn close(&self) -> Result<()> {
            Ok(())
        }
    }

    fn kv(key: &[u8]) -> KeyValue {
        KeyValue {
            key: key.to_vec(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn ranges_are_prefixed_as_go_does() {
        let w = Watcher::new(Scripted::default(), "app/");
        let end = |e: &[u8]| KeyRange::End(e.to_vec());
        for (key, opts) in [
            ("k", WatchOptions::default()),
            ("k/", WatchOptions::prefix()),
            ("k", WatchOptions::from_key()),
            ("", WatchOptions::prefix()),
            ("", WatchOptions::from_key()),
            (
                "a",
                WatchOptions {
                    range: end(b"c"),
                    ..Default::default()
                },
            ),
        ] {
            w.watch(key, opts).await.unwrap();
        }
        assert_eq!(
            *w.inner().asked.lock().unwrap(),
            vec![
                (b"app/k".to_vec(), KeyRange::Single),
                (b"app/k/".to_vec(), end(b"app/k0")),
                (b"app/k".to_vec(), end(b"app0")),
                (b"app/".to_vec(), end(b"app0")),
                (b"app/".to_vec(), end(b"app0")),
                (b"app/a".to_vec(), end(b"app/c")),
            ]
        );
        let err = w.watch("", WatchOptions::default()).await.unwrap_err();
        assert_eq!(err.etcd(), Some(EtcdError::EmptyKey));
    }

    #[tokio::test]
    async fn events_and_previous_values_lose_the_prefix() {
        let resp = WatchResponse {
            events: vec![
                Event {
                    kind: EventType::Put,
                    kv: kv(b"app/a"),
                    prev_kv: Some(kv(b"app/a")),
                },
                Event {
                    kind: EventType::Delete,
                    kv: kv(b"app/b"),
                    prev_kv: None,
                },
            ],
            ..Default::default()
        };
        let inner = Scripted {
            responses: vec![resp],
            ..Default::default()
        };
        let w = Watcher::new(inner, "app/");
        let mut s = w.watch("", WatchOptions::prefix()).await.unwrap();
        let got = s.next().await.unwrap().unwrap();
        let keys: Vec<_> = got
            .events
            .iter()
            .map(|e| (e.kv.key.clone(), e.prev_kv.as_ref().map(|p| p.key.clone())))
            .collect();
        assert_eq!(
            keys,
            vec![(b"a".to_vec(), Some(b"a".to_vec())), (b"b".to_vec(), None)]
        );
        assert!(s.next().await.is_none());
    }
}
