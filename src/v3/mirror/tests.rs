use super::*;
use crate::v3::kv::{CompactOptions, CompactResponse, OpResponse, PutResponse, ResponseHeader};
use crate::v3::op::{DeleteOptions, Op, PutOptions};
use crate::v3::pb::etcdserverpb::{RangeRequest, request_op};
use crate::v3::pb::mvccpb::KeyValue;
use crate::v3::watch::{Event, EventType, WatchResponse};
use async_trait::async_trait;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A one-revision store: answers range gets (with limit and more) at
/// revision `rev`, records every request and watch, streams `events` to a
/// watch, and applies puts, deletes and txns of them to `written`.
#[derive(Default)]
struct Fake {
    rev: i64,
    keys: BTreeMap<Vec<u8>, Vec<u8>>,
    gets: Mutex<Vec<RangeRequest>>,
    watches: Mutex<Vec<(Vec<u8>, WatchOptions)>>,
    events: Vec<WatchResponse>,
    written: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    txns: Mutex<usize>,
}

impl Fake {
    fn with_keys(n: usize, rev: i64) -> Self {
        let mut keys = BTreeMap::new();
        keys.insert(b"other".to_vec(), b"x".to_vec());
        for i in 0..n {
            keys.insert(
                format!("p/{i:04}").into_bytes(),
                format!("v{i}").into_bytes(),
            );
        }
        keys.insert(b"q".to_vec(), b"x".to_vec());
        Fake {
            rev,
            keys,
            ..Default::default()
        }
    }

    fn range(&self, r: &RangeRequest) -> GetResponseOf {
        let in_range = |k: &Vec<u8>| match &r.range_end[..] {
            [] => k == &r.key,
            [0] => k >= &r.key,
            end => k >= &r.key && &k[..] < end,
        };
        let all: Vec<_> = self.keys.iter().filter(|(k, _)| in_range(k)).collect();
        let limit = if r.limit > 0 {
            r.limit as usize
        } else {
            all.len()
        };
        GetResponseOf {
            kvs: all
                .iter()
                .take(limit)
                .map(|(k, v)| KeyValue {
                    key: k.to_vec(),
                    value: v.to_vec(),
                    mod_revision: 1,
                    ..Default::default()
                })
                .collect(),
            more: all.len() > limit,
            count: all.len() as i64,
        }
    }

    fn apply(&self, op: Op) {
        let mut w = self.written.lock().unwrap();
        match op {
            Op::Put(p) => {
                w.insert(p.key, p.value);
            }
            Op::Delete(d) => {
                w.remove(&d.key);
            }
            Op::Txn(t) => {
                drop(w);
                *self.txns.lock().unwrap() += 1;
                for r in t.success {
                    match r.request {
                        Some(request_op::Request::RequestPut(p)) => self.apply(Op::Put(p)),
                        Some(request_op::Request::RequestDeleteRange(d)) => {
                            self.apply(Op::Delete(d))
                        }
                        other => panic!("unexpected txn op {other:?}"),
                    }
                }
            }
            Op::Get(_) => {}
        }
    }
}

struct GetResponseOf {
    kvs: Vec<KeyValue>,
    more: bool,
    count: i64,
}

#[async_trait]
impl KV for Fake {
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        let header = Some(ResponseHeader {
            revision: self.rev,
            ..Default::default()
        });
        Ok(match op {
            Op::Get(r) => {
                self.gets.lock().unwrap().push(r.clone());
                let page = self.range(&r);
                OpResponse::Get(GetResponse {
                    header,
                    kvs: page.kvs,
                    more: page.more,
                    count: page.count,
                })
            }
            Op::Txn(_) => {
                self.apply(op);
                OpResponse::Txn(crate::v3::TxnResponse {
                    header,
                    succeeded: true,
                    responses: Vec::new(),
                })
            }
            other => {
                self.apply(other);
                OpResponse::Put(PutResponse {
                    header,
                    prev_kv: None,
                })
            }
        })
    }
    async fn compact(&self, _: i64, _: CompactOptions) -> Result<CompactResponse> {
        Ok(CompactResponse::default())
    }
}

#[async_trait]
impl Watcher for Fake {
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send,
    {
        self.watches.lock().unwrap().push((key.into(), opts));
        let items: Vec<Result<WatchResponse>> = self.events.iter().cloned().map(Ok).collect();
        Ok(WatchStream::from_stream(futures_util::stream::iter(items)))
    }
    async fn request_progress(&self) -> Result<()> {
        Ok(())
    }
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn sync_base_pages_through_the_prefix_at_one_revision() {
    let s = Syncer::new(Fake::with_keys(25, 40), "p/", 0).with_batch_limit(10);
    let pages: Vec<_> = s.sync_base().await.unwrap().collect().await;
    assert_eq!(s.revision(), 40);
    let sizes: Vec<_> = pages
        .iter()
        .map(|p| p.as_ref().unwrap().kvs.len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    let keys: Vec<_> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().kvs)
        .map(|kv| String::from_utf8(kv.key).unwrap())
        .collect();
    let want: Vec<_> = (0..25).map(|i| format!("p/{i:04}")).collect();
    assert_eq!(keys, want);

    let gets = s.client().gets.lock().unwrap().clone();
    // The revision probe (Go reads "foo"), then three pages at revision 40.
    assert_eq!(gets[0].key, b"foo");
    assert_eq!(gets[0].revision, 0);
    let pages: Vec<_> = gets[1..]
        .iter()
        .map(|g| (g.key.clone(), g.range_end.clone(), g.revision, g.limit))
        .collect();
    assert_eq!(
        pages,
        vec![
            (b"p/".to_vec(), b"p0".to_vec(), 40, 10),
            (b"p/0009\0".to_vec(), b"p0".to_vec(), 40, 10),
            (b"p/0019\0".to_vec(), b"p0".to_vec(), 40, 10),
        ]
    );
    assert!(gets[1..].iter().all(|g| !g.serializable));
}

#[tokio::test]
async fn sync_base_at_a_given_revision_with_empty_prefix_reads_everything_serializably() {
    let s = Syncer::new(Fake::with_keys(3, 40), "", 33).serializable(true);
    let pages: Vec<_> = s.sync_base().await.unwrap().collect().await;
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].as_ref().unwrap().kvs.len(), 5);
    let gets = s.client().gets.lock().unwrap().clone();
    assert_eq!(gets.len(), 1, "no revision probe when one is given");
    assert_eq!(
        (&gets[0].key[..], &gets[0].range_end[..], gets[0].revision),
        (&[0u8][..], &[0u8][..], 33)
    );
    assert!(gets[0].serializable);
    assert_eq!(gets[0].limit, DEFAULT_BATCH_LIMIT);
}

#[tokio::test]
async fn sync_updates_watches_the_prefix_after_the_base_revision() {
    let s = Syncer::new(Fake::with_keys(0, 12), "p/", 0);
    let err = s.sync_updates().await.unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    let _ = s.sync_base().await.unwrap().collect::<Vec<_>>().await;
    s.sync_updates().await.unwrap();
    let watches = s.client().watches.lock().unwrap().clone();
    assert_eq!(watches.len(), 1);
    let (key, opts) = &watches[0];
    assert_eq!(key, b"p/");
    assert_eq!(opts.range, KeyRange::Prefix);
    assert_eq!(opts.revision, 13);
}

fn event(kind: EventType, key: &str, value: &str, rev: i64) -> Event {
    Event {
        kind,
        kv: KeyValue {
            key: key.into(),
            value: value.into(),
            mod_revision: rev,
            ..Default::default()
        },
        prev_kv: None,
    }
}

#[test]
fn updates_become_one_txn_per_source_revision() {
    let events = [
        event(EventType::Put, "p/a", "1", 5),
        event(EventType::Delete, "p/b", "", 5),
        event(EventType::Put, "p/c", "3", 6),
        event(EventType::Put, "p/a", "4", 7),
    ];
    let txns = update_txns(&events, |k| rewrite_key(k, b"p/", b"d/"));
    assert_eq!(
        txns,
        vec![
            vec![
                Op::put("d/a", "1", PutOptions::default()),
                Op::delete("d/b", DeleteOptions::default())
            ],
            vec![Op::put("d/c", "3", PutOptions::default())],
            vec![Op::put("d/a", "4", PutOptions::default())],
        ]
    );
    assert!(update_txns(&[], |k| k.to_vec()).is_empty());
}

#[tokio::test]
async fn mirror_copies_the_base_then_applies_updates() {
    let mut source = Fake::with_keys(12, 20);
    source.events = vec![WatchResponse {
        events: vec![
            event(EventType::Put, "p/new", "n", 21),
            event(EventType::Delete, "p/0003", "", 21),
            event(EventType::Put, "p/0000", "changed", 22),
        ],
        ..Default::default()
    }];
    let m = Mirror::new(
        source,
        Fake::default(),
        MirrorOptions {
            prefix: b"p/".to_vec(),
            dest_prefix: Some(b"copy/".to_vec()),
            batch_limit: 5,
        },
    );
    // The fake watch ends after its events, which ends the run.
    let err = m.run().await.unwrap_err();
    assert!(matches!(err, Error::Closed), "{err:?}");
    let written = m.dest().written.lock().unwrap().clone();
    let mut want: BTreeMap<Vec<u8>, Vec<u8>> = (0..12)
        .filter(|i| *i != 3)
        .map(|i| {
            (
                format!("copy/{i:04}").into_bytes(),
                format!("v{i}").into_bytes(),
            )
        })
        .collect();
    want.insert(b"copy/new".to_vec(), b"n".to_vec());
    want.insert(b"copy/0000".to_vec(), b"changed".to_vec());
    assert_eq!(written, want);
    assert_eq!(*m.dest().txns.lock().unwrap(), 2);
    assert_eq!(m.total(), 12 + 3);
    assert_eq!(m.synced_revision(), 22);
}
