//! [`Cache`]: the keys this client owns (Go's `leaseCache`): for each, its
//! state as last read or written here and the revision at which its lease
//! key was acquired; plus which session's lease the entries belong to, the
//! keys given up recently (not re-acquired for [`REVOKE_BACKOFF`]), and
//! the latest header seen (what a transaction answered from the cache
//! carries).

use super::eval::{cacheable, holds, in_range, serve};
use super::latch::{Gate, WriteGuard};
use crate::v3::kv::{GetResponse, OpResponse, ResponseHeader, TxnResponse};
use crate::v3::lease::LeaseId;
use crate::v3::op::Op;
use crate::v3::pb::etcdserverpb::{Compare, RangeRequest};
use crate::v3::pb::mvccpb::KeyValue;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// How long a key given up (its lease key revoked or lost) is read from the
/// server without trying to own it again (Go's `revokeBackoff`).
pub const REVOKE_BACKOFF: Duration = Duration::from_secs(2);

/// One owned key.
#[derive(Debug)]
struct Entry {
    /// The key.
    key: Vec<u8>,
    /// The key's state as read (no key-value: it does not exist), with the
    /// writes folded in once none was in flight.
    base: GetResponse,
    /// This client's writes of the key answered since: by revision, the
    /// value put (`None`: deleted) and the answer's header. While writes
    /// are in flight their answers can come in any order; reads wait until
    /// all are in, and the state is `base` with these applied in revision
    /// order.
    writes: BTreeMap<i64, (Option<Vec<u8>>, Option<ResponseHeader>)>,
    /// The revision at which the lease key was acquired (not older than the
    /// lease key's create revision).
    rev: i64,
    /// This client's writes of the key in flight.
    gate: Arc<Gate>,
}

impl Entry {
    /// The key's state: `base` with the writes applied in revision order.
    fn view(&self) -> GetResponse {
        let mut r = self.base.clone();
        for (&rev, (value, header)) in &self.writes {
            match value {
                Some(value) => match r.kvs.first_mut() {
                    Some(kv) => {
                        kv.version += 1;
                        kv.mod_revision = rev;
                        kv.value.clone_from(value);
                    }
                    None => {
                        r.kvs.push(KeyValue {
                            key: self.key.clone(),
                            create_revision: rev,
                            mod_revision: rev,
                            version: 1,
                            value: value.clone(),
                            lease: 0,
                        });
                        r.count = 1;
                    }
                },
                None => {
                    r.kvs.clear();
                    r.count = 0;
                }
            }
            r.header = *header;
        }
        r
    }

    /// Records a write answered at `header`'s revision (one the read
    /// already reflects is ignored).
    fn record(&mut self, value: Option<&[u8]>, header: &Option<ResponseHeader>) {
        let rev = revision(header);
        if rev > revision(&self.base.header) {
            self.writes
                .insert(rev, (value.map(<[u8]>::to_vec), *header));
        }
    }

    /// Folds the writes into `base` when none is in flight (no answer with
    /// a lower revision can come any more).
    fn settle(&mut self) {
        if self.gate.is_idle() && !self.writes.is_empty() {
            self.base = self.view();
            self.writes.clear();
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The session's lease the entries were acquired with; 0 while there
    /// is no session.
    lease: LeaseId,
    entries: BTreeMap<Vec<u8>, Entry>,
    /// Keys given up, and when.
    revoked: BTreeMap<Vec<u8>, Instant>,
    header: Option<ResponseHeader>,
}

/// What the cache says about a get.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The get cannot be answered from a cache (a range, a past revision).
    Bypass,
    /// The key is not owned.
    Miss,
    /// The answer.
    Hit(GetResponse),
}

/// The owned keys; shared by the leasing KV's calls and its tasks.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    state: Mutex<State>,
}

fn revision(h: &Option<ResponseHeader>) -> i64 {
    h.as_ref().map_or(0, |h| h.revision)
}

impl Cache {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held leaves plain data behind; go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session's lease the cache fills with (0: none).
    pub(crate) fn lease(&self) -> LeaseId {
        self.state().lease
    }

    /// A new session with `lease` starts filling the cache.
    pub(crate) fn start(&self, lease: LeaseId) {
        self.state().lease = lease;
    }

    /// The session ended: every entry goes (their lease keys went with the
    /// lease), and nothing is added until [`Cache::start`].
    pub(crate) fn reset(&self) {
        let mut s = self.state();
        s.lease = 0;
        s.entries.clear();
    }

    /// The revision at which `key`'s lease key was acquired; 0 if not owned.
    pub(crate) fn rev(&self, key: &[u8]) -> i64 {
        self.state().entries.get(key).map_or(0, |e| e.rev)
    }

    /// Whether `key` is owned.
    pub(crate) fn owns(&self, key: &[u8]) -> bool {
        self.state().entries.contains_key(key)
    }

    /// Holds gets of `key` until the guard drops (a write is in flight);
    /// with the lease key's acquire revision. `None`, 0 if not owned.
    pub(crate) fn lock(&self, key: &[u8]) -> (Option<WriteGuard>, i64) {
        let mut s = self.state();
        match s.entries.get_mut(key) {
            Some(e) => (Some(e.gate.enter()), e.rev),
            None => (None, 0),
        }
    }

    /// [`Cache::lock`] for every owned key in `[begin, end)`.
    pub(crate) fn lock_range(&self, begin: &[u8], end: &[u8]) -> Vec<WriteGuard> {
        let mut s = self.state();
        s.entries
            .iter_mut()
            .filter(|(k, _)| in_range(k, begin, end))
            .map(|(_, e)| e.gate.enter())
            .collect()
    }

    /// [`Cache::lock`] for every owned key a put or delete among `ops`
    /// (flattened) writes.
    pub(crate) fn lock_writes(&self, ops: &[Op]) -> Vec<WriteGuard> {
        let mut guards = Vec::new();
        for op in ops {
            match op {
                Op::Put(p) => guards.extend(self.lock(&p.key).0),
                Op::Delete(d) if d.range_end.is_empty() => guards.extend(self.lock(&d.key).0),
                Op::Delete(d) => guards.extend(self.lock_range(&d.key, &d.range_end)),
                Op::Get(_) | Op::Txn(_) => {}
            }
        }
        guards
    }

    /// The gates of the owned keys the gets among `ops` read: wait for them
    /// before answering from the cache.
    pub(crate) fn read_gates(&self, ops: &[Op]) -> Vec<Arc<Gate>> {
        let s = self.state();
        ops.iter()
            .filter_map(|op| match op {
                Op::Get(g) => s.entries.get(&g.key).map(|e| e.gate.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether `key` may be acquired: not given up within the last
    /// [`REVOKE_BACKOFF`].
    pub(crate) fn may_acquire(&self, key: &[u8]) -> bool {
        let mut s = self.state();
        let now = Instant::now();
        s.revoked
            .retain(|_, at| now.duration_since(*at) <= REVOKE_BACKOFF);
        !s.revoked.contains_key(key)
    }

    /// Adds `key`, read as `response` by the acquire that took its lease
    /// key with `lease`, and answers `req` from it; whether it was added.
    /// Nothing is added when the session changed meanwhile (the lease key
    /// went with the old one) or the key is already owned (a concurrent get
    /// added it first; its entry is kept, writes may have updated it).
    pub(crate) fn add(
        &self,
        key: &[u8],
        response: GetResponse,
        lease: LeaseId,
        req: &RangeRequest,
    ) -> (GetResponse, bool) {
        let answer = serve(&response, req);
        let mut s = self.state();
        if s.lease != lease || lease == 0 || s.entries.contains_key(key) {
            return (answer, false);
        }
        if revision(&s.header) < revision(&response.header) {
            s.header = response.header;
        }
        let rev = revision(&response.header);
        s.entries.insert(
            key.to_vec(),
            Entry {
                key: key.to_vec(),
                base: response,
                writes: BTreeMap::new(),
                rev,
                gate: Gate::idle(),
            },
        );
        (answer, true)
    }

    /// Answers `req` from the cache, waiting first for a write of this
    /// client to the key that is in flight.
    pub(crate) async fn get(&self, req: &RangeRequest) -> Lookup {
        if !cacheable(req) {
            return Lookup::Bypass;
        }
        let gate = match self.state().entries.get(&req.key) {
            Some(e) => e.gate.clone(),
            None => return Lookup::Miss,
        };
        gate.wait().await;
        match self.state().entries.get_mut(&req.key) {
            Some(e) => {
                e.settle();
                Lookup::Hit(serve(&e.view(), req))
            }
            // Evicted while waiting.
            None => Lookup::Miss,
        }
    }

    /// This client put `value` at `key` at `header`'s revision.
    #[cfg(test)]
    pub(crate) fn update(&self, key: &[u8], value: &[u8], header: &Option<ResponseHeader>) {
        let mut s = self.state();
        update_entry(&mut s, key, value, header);
    }

    /// This client deleted `key` at `header`'s revision.
    #[cfg(test)]
    pub(crate) fn delete(&self, key: &[u8], header: &Option<ResponseHeader>) {
        let mut s = self.state();
        delete_entry(&mut s, key, header);
    }

    /// Applies the writes a transaction ran (flattened, the branches taken
    /// only) at `header`'s revision, all under one lock so that readers see
    /// all or none of them.
    pub(crate) fn apply(&self, ran: &[Op], header: &Option<ResponseHeader>) {
        let mut s = self.state();
        for op in ran {
            match op {
                Op::Put(p) if p.lease != 0 || p.ignore_value || p.ignore_lease => {
                    evict_entry(&mut s, &p.key);
                }
                Op::Put(p) => update_entry(&mut s, &p.key, &p.value, header),
                Op::Delete(d) if d.range_end.is_empty() => delete_entry(&mut s, &d.key, header),
                Op::Delete(d) => {
                    let keys: Vec<Vec<u8>> = s
                        .entries
                        .keys()
                        .filter(|k| in_range(k, &d.key, &d.range_end))
                        .cloned()
                        .collect();
                    for k in keys {
                        delete_entry(&mut s, &k, header);
                    }
                }
                Op::Get(_) | Op::Txn(_) => {}
            }
        }
    }

    /// Drops `key` (its lease key is being given up, or a write's outcome
    /// is unknown); the acquire revision it had, if owned.
    pub(crate) fn evict(&self, key: &[u8]) -> Option<i64> {
        evict_entry(&mut self.state(), key)
    }

    /// Drops `key` unless its entry was acquired after revision `rev` (a
    /// newer ownership that a revoke at `rev` does not concern). Whether
    /// the entry (if any) was older.
    pub(crate) fn evict_upto(&self, key: &[u8], rev: i64) -> bool {
        let mut s = self.state();
        match s.entries.get(key) {
            Some(e) if e.rev > rev => false,
            _ => {
                evict_entry(&mut s, key);
                true
            }
        }
    }

    /// [`Cache::evict`] for every owned key in `[begin, end)`.
    pub(crate) fn evict_range(&self, begin: &[u8], end: &[u8]) {
        let mut s = self.state();
        let keys: Vec<Vec<u8>> = s
            .entries
            .keys()
            .filter(|k| in_range(k, begin, end))
            .cloned()
            .collect();
        for k in keys {
            evict_entry(&mut s, &k);
        }
    }

    /// A transaction answered from the cache, if it can be (Go's
    /// `txnLeasing.eval`): every compare on one owned key, and the branch
    /// taken made of gets of owned keys only (an empty branch too).
    pub(crate) fn eval_txn(
        &self,
        compares: &[Compare],
        then: &[Op],
        otherwise: &[Op],
    ) -> Option<TxnResponse> {
        let s = self.state();
        let header = s.header?;
        let mut succeeded = true;
        for c in compares {
            if !c.range_end.is_empty() {
                return None;
            }
            let e = s.entries.get(&c.key)?;
            if !holds(e.view().kvs.first(), c) {
                succeeded = false;
                break;
            }
        }
        let branch = if succeeded { then } else { otherwise };
        let mut responses = Vec::with_capacity(branch.len());
        for op in branch {
            let Op::Get(g) = op else { return None };
            if !cacheable(g) {
                return None;
            }
            let e = s.entries.get(&g.key)?;
            responses.push(OpResponse::Get(serve(&e.view(), g)));
        }
        Some(TxnResponse {
            header: Some(header),
            succeeded,
            responses,
        })
    }
}

fn evict_entry(s: &mut State, key: &[u8]) -> Option<i64> {
    let e = s.entries.remove(key)?;
    s.revoked.insert(key.to_vec(), Instant::now());
    Some(e.rev)
}

fn update_entry(s: &mut State, key: &[u8], value: &[u8], header: &Option<ResponseHeader>) {
    note_header(s, header);
    if let Some(e) = s.entries.get_mut(key) {
        e.record(Some(value), header);
    }
}

fn delete_entry(s: &mut State, key: &[u8], header: &Option<ResponseHeader>) {
    note_header(s, header);
    if let Some(e) = s.entries.get_mut(key) {
        e.record(None, header);
    }
}

fn note_header(s: &mut State, header: &Option<ResponseHeader>) {
    if revision(&s.header) < revision(header) {
        s.header = *header;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::compare::{Compare as Cmp, CompareOp};
    use crate::v3::op::{DeleteOptions, GetOptions, PutOptions};

    fn hdr(revision: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            revision,
            ..Default::default()
        })
    }

    fn get_req(key: &str) -> RangeRequest {
        GetOptions::default().to_request(key.into())
    }

    fn absent(rev: i64) -> GetResponse {
        GetResponse {
            header: hdr(rev),
            ..Default::default()
        }
    }

    async fn hit(c: &Cache, key: &str) -> GetResponse {
        match c.get(&get_req(key)).await {
            Lookup::Hit(r) => r,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[tokio::test]
    async fn entries_follow_this_clients_writes() {
        let c = Cache::default();
        c.start(7);
        c.add(b"k", absent(3), 7, &get_req("k"));
        assert_eq!(c.rev(b"k"), 3);
        assert!(hit(&c, "k").await.kvs.is_empty());
        c.update(b"k", b"v1", &hdr(4));
        c.update(b"k", b"v2", &hdr(6));
        // An answer that arrives late counts as a version, not as the value.
        c.update(b"k", b"v0", &hdr(5));
        let r = hit(&c, "k").await;
        let kv = &r.kvs[0];
        assert_eq!(
            (
                &kv.value[..],
                kv.create_revision,
                kv.mod_revision,
                kv.version,
                r.count
            ),
            (&b"v2"[..], 4, 6, 3, 1)
        );
        c.delete(b"k", &hdr(7));
        let r = hit(&c, "k").await;
        assert_eq!((r.kvs.len(), r.count, r.header), (0, 0, hdr(7)));
        // A key not owned is not touched by updates.
        c.update(b"other", b"x", &hdr(8));
        assert!(matches!(c.get(&get_req("other")).await, Lookup::Miss));
        let prefix = GetOptions::prefix().to_request(b"k".to_vec());
        assert!(matches!(c.get(&prefix).await, Lookup::Bypass));
    }

    #[tokio::test]
    async fn a_changed_session_adds_nothing_and_a_reset_drops_everything() {
        let c = Cache::default();
        c.start(7);
        c.add(b"old", absent(3), 6, &get_req("old"));
        assert!(!c.owns(b"old"));
        c.add(b"k", absent(3), 7, &get_req("k"));
        c.reset();
        assert!(!c.owns(b"k"));
        assert_eq!(c.lease(), 0);
        c.add(b"k", absent(4), 7, &get_req("k"));
        assert!(!c.owns(b"k"));
    }

    #[tokio::test(start_paused = true)]
    async fn evicted_keys_back_off_and_newer_entries_survive_old_revokes() {
        let c = Cache::default();
        c.start(1);
        c.add(b"k", absent(5), 1, &get_req("k"));
        assert!(!c.evict_upto(b"k", 4));
        assert!(c.owns(b"k"));
        assert!(c.evict_upto(b"k", 5));
        assert!(!c.owns(b"k"));
        assert!(!c.may_acquire(b"k"));
        tokio::time::sleep(REVOKE_BACKOFF + Duration::from_millis(1)).await;
        assert!(c.may_acquire(b"k"));
        for k in ["a/1", "a/2", "b"] {
            c.add(k.as_bytes(), absent(6), 1, &get_req(k));
        }
        c.evict_range(b"a/", b"a0");
        assert!(!c.owns(b"a/1") && !c.owns(b"a/2") && c.owns(b"b"));
    }

    #[tokio::test]
    async fn gets_wait_for_a_write_in_flight() {
        let c = Arc::new(Cache::default());
        c.start(1);
        c.add(b"k", absent(2), 1, &get_req("k"));
        let (guard, rev) = c.lock(b"k");
        assert_eq!(rev, 2);
        let reader = tokio::spawn({
            let c = c.clone();
            async move { hit(&c, "k").await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!reader.is_finished());
        c.update(b"k", b"v", &hdr(3));
        drop(guard);
        let r = reader.await.unwrap();
        assert_eq!(r.kvs[0].value, b"v");
    }

    #[tokio::test]
    async fn transactions_answered_from_the_cache() {
        let c = Cache::default();
        assert!(c.eval_txn(&[], &[], &[]).is_none(), "nothing seen yet");
        c.start(1);
        let resp = GetResponse {
            header: hdr(2),
            kvs: vec![KeyValue {
                key: b"k".to_vec(),
                value: b"abc".to_vec(),
                create_revision: 2,
                mod_revision: 2,
                version: 1,
                lease: 0,
            }],
            more: false,
            count: 1,
        };
        c.add(b"k", resp, 1, &get_req("k"));
        let get_k = Op::get("k", GetOptions::default());
        let eq = Cmp::value("k", CompareOp::Equal, "abc").into_pb();
        let r = c
            .eval_txn(std::slice::from_ref(&eq), std::slice::from_ref(&get_k), &[])
            .unwrap();
        assert!(r.succeeded);
        assert_eq!(r.responses.len(), 1);
        let ne = Cmp::version("k", CompareOp::Greater, 1).into_pb();
        let r = c
            .eval_txn(&[ne], std::slice::from_ref(&get_k), &[])
            .unwrap();
        assert!(!r.succeeded && r.responses.is_empty());
        // A compare or a get on a key not owned, a range compare, a write:
        // the server must answer.
        let other = Cmp::version("x", CompareOp::Equal, 0).into_pb();
        assert!(c.eval_txn(&[other], &[], &[]).is_none());
        let ranged = Cmp::version("k", CompareOp::Equal, 1)
            .with_prefix()
            .into_pb();
        assert!(c.eval_txn(&[ranged], &[], &[]).is_none());
        assert!(
            c.eval_txn(&[], &[Op::get("x", GetOptions::default())], &[])
                .is_none()
        );
        assert!(
            c.eval_txn(&[], &[Op::put("k", "v", PutOptions::default())], &[])
                .is_none()
        );
        // Writes of a transaction applied at once.
        c.apply(
            &[
                Op::put("k", "new", PutOptions::default()),
                Op::delete("k", DeleteOptions::prefix()),
            ],
            &hdr(5),
        );
        assert!(hit(&c, "k").await.kvs.is_empty());
    }
}
