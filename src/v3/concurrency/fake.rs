//! A test double of the client traits: an in-memory, single-member etcd
//! (revisions, create/mod revisions, versions, leases that end their keys,
//! txns with compares, sorted and limited ranges, watches from a revision),
//! recording every op it is given.

use crate::v3::error::{Error, EtcdError, Result};
use crate::v3::kv::{
    CompactOptions, CompactResponse, DeleteResponse, GetResponse, KV, OpResponse, PutResponse,
    ResponseHeader, TxnResponse,
};
use crate::v3::lease::{
    KeepAliveStream, Lease, LeaseGrantResponse, LeaseId, LeaseKeepAliveResponse,
    LeaseLeasesResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, TimeToLiveOptions,
};
use crate::v3::op::Op;
use crate::v3::pb::etcdserverpb::{
    self as pb, DeleteRangeRequest, PutRequest, RangeRequest, compare, range_request,
};
use crate::v3::pb::mvccpb::KeyValue;
use crate::v3::watch::{Event, EventType, WatchOptions, WatchResponse, WatchStream, Watcher};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// A watcher: its range and where its responses go.
type WatcherEntry = (
    Vec<u8>,
    Vec<u8>,
    mpsc::UnboundedSender<Result<WatchResponse>>,
);

#[derive(Default)]
struct State {
    rev: i64,
    kvs: BTreeMap<Vec<u8>, KeyValue>,
    leases: BTreeMap<i64, Vec<mpsc::UnboundedSender<Result<LeaseKeepAliveResponse>>>>,
    next_lease: i64,
    history: Vec<Event>,
    /// Every write: (revision, key, the key-value after it; `None` when deleted).
    log: Vec<(i64, Vec<u8>, Option<KeyValue>)>,
    watchers: Vec<WatcherEntry>,
    ops: Vec<Op>,
    /// Txns (with compares) left to fail with an error before they run.
    fail_txns: usize,
    /// Whether the op being applied has taken its revision.
    bumped: bool,
}

/// The double; clones share the store.
#[derive(Clone)]
pub(crate) struct Fake(Arc<Mutex<State>>);

impl Default for Fake {
    /// An empty store at revision 1, as etcd starts.
    fn default() -> Self {
        Fake(Arc::new(Mutex::new(State {
            rev: 1,
            ..Default::default()
        })))
    }
}

fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    if end.is_empty() {
        key == start
    } else if end == [0] {
        key >= start
    } else {
        key >= start && key < end
    }
}

impl State {
    fn header(&self) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision: self.rev,
            ..Default::default()
        })
    }

    /// The keys as they were at `rev` (0: now).
    fn at(&self, rev: i64) -> BTreeMap<Vec<u8>, KeyValue> {
        if rev == 0 {
            return self.kvs.clone();
        }
        let mut kvs = BTreeMap::new();
        for (r, key, kv) in &self.log {
            if *r > rev {
                break;
            }
            match kv {
                Some(kv) => kvs.insert(key.clone(), kv.clone()),
                None => kvs.remove(key),
            };
        }
        kvs
    }

    fn range(&self, r: &RangeRequest) -> GetResponse {
        let kvs = self.at(r.revision);
        let mut kvs: Vec<KeyValue> = kvs
            .values()
            .filter(|kv| in_range(&kv.key, &r.key, &r.range_end))
            .filter(|kv| r.max_create_revision == 0 || kv.create_revision <= r.max_create_revision)
            .filter(|kv| r.min_create_revision == 0 || kv.create_revision >= r.min_create_revision)
            .filter(|kv| r.max_mod_revision == 0 || kv.mod_revision <= r.max_mod_revision)
            .filter(|kv| r.min_mod_revision == 0 || kv.mod_revision >= r.min_mod_revision)
            .cloned()
            .collect();
        let target = r.sort_target;
        kvs.sort_by(|a, b| match target {
            t if t == range_request::SortTarget::Create as i32 => {
                a.create_revision.cmp(&b.create_revision)
            }
            t if t == range_request::SortTarget::Mod as i32 => a.mod_revision.cmp(&b.mod_revision),
            t if t == range_request::SortTarget::Version as i32 => a.version.cmp(&b.version),
            t if t == range_request::SortTarget::Value as i32 => a.value.cmp(&b.value),
            _ => a.key.cmp(&b.key),
        });
        if r.sort_order == range_request::SortOrder::Descend as i32 {
            kvs.reverse();
        }
        let count = kvs.len() as i64;
        let more = r.limit > 0 && kvs.len() as i64 > r.limit;
        if r.limit > 0 {
            kvs.truncate(r.limit as usize);
        }
        GetResponse {
            header: self.header(),
            kvs,
            more,
            count,
        }
    }

    fn notify(&mut self, ev: Event) {
        self.history.push(ev.clone());
        let header = self.header();
        self.watchers.retain(|(start, end, tx)| {
            if !in_range(&ev.kv.key, start, end) {
                return !tx.is_closed();
            }
            tx.send(Ok(WatchResponse {
                header,
                events: vec![ev.clone()],
                ..Default::default()
            }))
            .is_ok()
        });
    }

    /// The revision of the op being applied: the first write takes a new one.
    fn touch(&mut self) -> i64 {
        if !self.bumped {
            self.bumped = true;
            self.rev += 1;
        }
        self.rev
    }

    fn put(&mut self, r: &PutRequest) -> PutResponse {
        let rev = self.touch();
        let prev = self.kvs.get(&r.key).cloned();
        let kv = KeyValue {
            key: r.key.clone(),
            create_revision: prev.as_ref().map_or(rev, |p| p.create_revision),
            mod_revision: rev,
            version: prev.as_ref().map_or(1, |p| p.version + 1),
            value: r.value.clone(),
            lease: r.lease,
        };
        self.kvs.insert(r.key.clone(), kv.clone());
        self.log.push((rev, r.key.clone(), Some(kv.clone())));
        self.notify(Event {
            kind: EventType::Put,
            kv,
            prev_kv: None,
        });
        PutResponse {
            header: self.header(),
            prev_kv: None,
        }
    }

    fn delete(&mut self, r: &DeleteRangeRequest) -> DeleteResponse {
        let keys: Vec<Vec<u8>> = self
            .kvs
            .keys()
            .filter(|k| in_range(k, &r.key, &r.range_end))
            .cloned()
            .collect();
        let rev = if keys.is_empty() {
            self.rev
        } else {
            self.touch()
        };
        for k in &keys {
            self.kvs.remove(k);
            self.log.push((rev, k.clone(), None));
            self.notify(Event {
                kind: EventType::Delete,
                kv: KeyValue {
                    key: k.clone(),
                    mod_revision: rev,
                    ..Default::default()
                },
                prev_kv: None,
            });
        }
        DeleteResponse {
            header: self.header(),
            deleted: keys.len() as i64,
            prev_kvs: vec![],
        }
    }

    fn holds(&self, c: &pb::Compare) -> bool {
        let kv = self.kvs.get(&c.key);
        let ord = match &c.target_union {
            Some(compare::TargetUnion::Version(v)) => kv.map_or(0, |k| k.version).cmp(v),
            Some(compare::TargetUnion::CreateRevision(v)) => {
                kv.map_or(0, |k| k.create_revision).cmp(v)
            }
            Some(compare::TargetUnion::ModRevision(v)) => kv.map_or(0, |k| k.mod_revision).cmp(v),
            Some(compare::TargetUnion::Lease(v)) => kv.map_or(0, |k| k.lease).cmp(v),
            Some(compare::TargetUnion::Value(v)) => match kv {
                Some(k) => k.value.cmp(v),
                None => return false,
            },
            None => return false,
        };
        use std::cmp::Ordering::*;
        match compare::CompareResult::try_from(c.result) {
            Ok(compare::CompareResult::Equal) => ord == Equal,
            Ok(compare::CompareResult::NotEqual) => ord != Equal,
            Ok(compare::CompareResult::Greater) => ord == Greater,
            Ok(compare::CompareResult::Less) => ord == Less,
            Err(_) => false,
        }
    }

    fn run(&mut self, op: Op) -> OpResponse {
        match op {
            Op::Get(r) => OpResponse::Get(self.range(&r)),
            Op::Put(r) => OpResponse::Put(self.put(&r)),
            Op::Delete(r) => OpResponse::Delete(self.delete(&r)),
            Op::Txn(t) => {
                let succeeded = t.compare.iter().all(|c| self.holds(c));
                let branch = if succeeded { t.success } else { t.failure };
                let responses = branch
                    .into_iter()
                    .filter_map(|r| r.request)
                    .map(|r| {
                        self.run(match r {
                            pb::request_op::Request::RequestRange(r) => Op::Get(r),
                            pb::request_op::Request::RequestPut(r) => Op::Put(r),
                            pb::request_op::Request::RequestDeleteRange(r) => Op::Delete(r),
                            pb::request_op::Request::RequestTxn(r) => Op::Txn(r),
                        })
                    })
                    .collect();
                OpResponse::Txn(TxnResponse {
                    header: self.header(),
                    succeeded,
                    responses,
                })
            }
        }
    }

    fn revoke(&mut self, id: i64) -> bool {
        let Some(senders) = self.leases.remove(&id) else {
            return false;
        };
        for tx in senders {
            let _ = tx.send(Err(Error::KeepAliveHalted {
                id,
                reason: Box::new(Error::etcd_error(EtcdError::LeaseNotFound)),
            }));
        }
        let keys: Vec<Vec<u8>> = self
            .kvs
            .values()
            .filter(|kv| kv.lease == id)
            .map(|kv| kv.key.clone())
            .collect();
        if !keys.is_empty() {
            self.bumped = false;
            for key in keys {
                self.delete(&DeleteRangeRequest {
                    key,
                    ..Default::default()
                });
            }
        }
        true
    }
}

impl Fake {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every op given so far.
    pub(crate) fn ops(&self) -> Vec<Op> {
        self.state().ops.clone()
    }

    /// Forgets the ops given so far.
    pub(crate) fn clear_ops(&self) {
        self.state().ops.clear();
    }

    /// The next `n` txns fail with Unavailable before they run.
    pub(crate) fn fail_next_txns(&self, n: usize) {
        self.state().fail_txns = n;
    }

    /// Expires lease `id` (as the server would after its TTL).
    pub(crate) fn expire(&self, id: i64) {
        self.state().revoke(id);
    }

    /// The store's revision.
    pub(crate) fn revision(&self) -> i64 {
        self.state().rev
    }

    /// The key-value at `key`.
    pub(crate) fn kv(&self, key: &str) -> Option<KeyValue> {
        self.state().kvs.get(key.as_bytes()).cloned()
    }
}

#[async_trait]
impl KV for Fake {
    async fn do_op(&self, op: Op) -> Result<OpResponse> {
        // Let other tasks run between calls, as a network would.
        tokio::task::yield_now().await;
        let mut s = self.state();
        s.ops.push(op.clone());
        if matches!(op, Op::Txn(_)) && s.fail_txns > 0 {
            s.fail_txns -= 1;
            return Err(Error::Status(tonic::Status::unavailable("injected")));
        }
        if let Op::Put(r) = &op
            && r.lease != 0
            && !s.leases.contains_key(&r.lease)
        {
            return Err(Error::etcd_error(EtcdError::LeaseNotFound));
        }
        s.bumped = false;
        let mut resp = s.run(op);
        let header = s.header();
        match &mut resp {
            OpResponse::Txn(t) => fix_headers(t, header),
            OpResponse::Put(p) => p.header = header,
            OpResponse::Delete(d) => d.header = header,
            OpResponse::Get(_) => {}
        }
        Ok(resp)
    }

    async fn compact(&self, _revision: i64, _opts: CompactOptions) -> Result<CompactResponse> {
        Ok(CompactResponse::default())
    }
}

fn fix_headers(t: &mut TxnResponse, header: Option<ResponseHeader>) {
    t.header = header;
    for r in &mut t.responses {
        if let OpResponse::Txn(inner) = r {
            fix_headers(inner, header);
        }
    }
}

#[async_trait]
impl Lease for Fake {
    async fn grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
        let mut s = self.state();
        s.next_lease += 0x10;
        let id = 0x6edb_a1fb_4ae6_4a00 + s.next_lease;
        s.leases.insert(id, Vec::new());
        Ok(LeaseGrantResponse {
            header: s.header(),
            id,
            ttl,
            error: String::new(),
        })
    }

    async fn revoke(&self, id: LeaseId) -> Result<LeaseRevokeResponse> {
        let mut s = self.state();
        if !s.revoke(id) {
            return Err(Error::etcd_error(EtcdError::LeaseNotFound));
        }
        Ok(LeaseRevokeResponse { header: s.header() })
    }

    async fn time_to_live(
        &self,
        id: LeaseId,
        _: TimeToLiveOptions,
    ) -> Result<LeaseTimeToLiveResponse> {
        let s = self.state();
        Ok(LeaseTimeToLiveResponse {
            header: s.header(),
            id,
            ttl: if s.leases.contains_key(&id) { 60 } else { -1 },
            ..Default::default()
        })
    }

    async fn leases(&self) -> Result<LeaseLeasesResponse> {
        Ok(LeaseLeasesResponse::default())
    }

    async fn keep_alive(&self, id: LeaseId) -> Result<KeepAliveStream> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut s = self.state();
        match s.leases.get_mut(&id) {
            Some(senders) => {
                let _ = tx.send(Ok(LeaseKeepAliveResponse {
                    header: None,
                    id,
                    ttl: 60,
                }));
                senders.push(tx);
            }
            None => {
                let _ = tx.send(Err(Error::KeepAliveHalted {
                    id,
                    reason: Box::new(Error::etcd_error(EtcdError::LeaseNotFound)),
                }));
            }
        }
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(KeepAliveStream::from_stream(id, stream))
    }

    async fn keep_alive_once(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
        Ok(LeaseKeepAliveResponse {
            header: None,
            id,
            ttl: 60,
        })
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl Watcher for Fake {
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send,
    {
        let (start, end) = opts.range.encode(key.into());
        let (tx, rx) = mpsc::unbounded_channel();
        let mut s = self.state();
        if opts.revision > 0 {
            for ev in s
                .history
                .iter()
                .filter(|e| e.kv.mod_revision >= opts.revision && in_range(&e.kv.key, &start, &end))
            {
                let _ = tx.send(Ok(WatchResponse {
                    header: Some(ResponseHeader {
                        revision: ev.kv.mod_revision,
                        ..Default::default()
                    }),
                    events: vec![ev.clone()],
                    ..Default::default()
                }));
            }
        }
        s.watchers.push((start, end, tx));
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(WatchStream::from_stream(stream))
    }

    async fn request_progress(&self) -> Result<()> {
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.state().watchers.clear();
        Ok(())
    }
}
