//! Client-side read caching through a leasing protocol (Go's
//! `clientv3/leasing`): a [`LeasingKv`] serves linearizable reads of the
//! keys it owns from memory, and the cluster keeps it right by making every
//! other leasing writer ask it to give a key up first.
//!
//! How it works (key layout and txns are Go's, so Go programs using
//! `leasing.NewKV(cli, prefix)` and this package share keys and ownership
//! on one cluster):
//!
//! - [`new_kv`] makes a [`crate::v3::concurrency::Session`]: a lease kept
//!   alive. Every key this client owns has a **lease key** `prefix + key`
//!   (e.g. prefix `"lease/"`, key `"abc"`: `"lease/abc"`), empty, attached to
//!   that lease.
//! - A get of a key not owned reads it and creates its lease key in one
//!   txn; later gets of it are answered from the cache, with no request.
//!   A watch on the lease key tells the owner when to give it up.
//! - A put or delete by the owner is written through (guarded by the lease
//!   key) and the cache updated. A writer that does not own the key puts
//!   the value `REVOKE` on the owner's lease key and waits: the owner drops
//!   the key and deletes its lease key, and the write goes through.
//! - Range gets, gets at a revision and serializable gets of keys not
//!   owned go straight to the server; range deletes revoke every owner in
//!   the range first; transactions are answered from the cache when they
//!   only read owned keys and otherwise run guarded by the lease keys of
//!   what they write.
//! - When the session's lease is lost (expired, revoked) the cache is
//!   dropped and a new session made; [`Closer::close`] revokes the lease,
//!   which deletes every lease key of the client.
//!
//! The protocol only holds among leasing clients: a plain client writing a
//! key that a leasing client owns is not seen by it (as in Go). Writers
//! should go through a [`LeasingKv`] (with the same prefix).
//!
//! ```no_run
//! use etcd_sdk::v3::concurrency::SessionOptions;
//! use etcd_sdk::v3::{Client, GetOptions, KV, PutOptions, leasing};
//!
//! # async fn demo() -> etcd_sdk::v3::Result<()> {
//! let client = Client::connect(["127.0.0.1:2379"]).await?;
//! let (kv, closer) =
//!     leasing::new_kv(client.clone(), "lease/", SessionOptions::new().with_ttl(10)).await?;
//! kv.put("config", "v1", PutOptions::default()).await?;
//! let first = kv.get("config", GetOptions::default()).await?; // acquires "lease/config"
//! let again = kv.get("config", GetOptions::default()).await?; // from the cache
//! assert_eq!(first.kvs, again.kvs);
//! closer.close().await?; // revokes the session: "lease/config" is deleted
//! # Ok(()) }
//! ```
//!
//! # Differences from Go
//!
//! - An owner also drops a key whose lease key is deleted by anyone (Go
//!   keeps serving it until a `REVOKE` comes).
//! - A put or delete of a key not owned is one txn (Go's first tries the
//!   owner's guarded txn too, which writes the key once more when nobody
//!   owns it).
//! - A from-key range (and a prefix of every key) covers the lease keys
//!   under the prefix up to the prefix's end (Go's lease range ends at
//!   `prefix + "\0"`, so such deletes revoke no owner).
//! - A read of an owned key waits for every write of this client to it in
//!   flight, and their answers are applied in revision order (Go's cache
//!   waits for the latest write only and applies answers as they come, so
//!   concurrent puts can leave a wrong create revision or version).
//! - Compares evaluated on the cache follow the server: a value compare on
//!   a missing key fails and a lease compare is evaluated (Go's cache
//!   treats both as equal).
//! - [`Closer::close`] revokes the session's lease (Go's leaves it to
//!   expire), and [`new_kv`] fails if the first session cannot be made
//!   (Go's waits).

mod cache;
mod eval;
mod kv;
mod latch;
mod protocol;
mod session;
mod txn;

pub use cache::REVOKE_BACKOFF;
pub use kv::{Closer, LeasingKv};

use crate::v3::concurrency::{ConcurrencyClient as LeasingClient, SessionOptions};
use crate::v3::error::Result;
use cache::Cache;
use kv::Alive;
use latch::Latch;
use session::{Sessions, client_error};
use std::sync::Arc;

/// The value a writer puts on an owner's lease key to ask for the key
/// (Go's `"REVOKE"`).
pub const REVOKE: &[u8] = b"REVOKE";

/// What the calls and the background tasks share.
pub(crate) struct Shared<C> {
    client: C,
    prefix: Vec<u8>,
    cache: Cache,
    sessions: Sessions<C>,
    /// Opens on close (or when every user handle is dropped).
    closed: Arc<Latch>,
}

/// A leasing KV over `client` whose lease keys are `prefix + key` (Go's
/// `leasing.NewKV(cl, pfx, opts...)`), and its closer. `opts` set the
/// session (Go's `concurrency.WithTTL` etc.; the TTL bounds how long
/// writers wait for an owner that vanished). Fails if the session cannot
/// be made.
pub async fn new_kv<C: LeasingClient>(
    client: C,
    prefix: impl Into<Vec<u8>>,
    opts: SessionOptions,
) -> Result<(LeasingKv<C>, Closer<C>)> {
    let cache = Cache::default();
    let sessions = Sessions::start(client.clone(), opts, &cache).await?;
    let closed = Latch::closed();
    let shared = Arc::new(Shared {
        client,
        prefix: prefix.into(),
        cache,
        sessions,
        closed: closed.clone(),
    });
    let alive = Arc::new(Alive(closed));
    let monitor = shared.clone();
    tokio::spawn(async move {
        let client = monitor.client.clone();
        monitor
            .sessions
            .monitor(client, &monitor.cache, &monitor.closed)
            .await;
    });
    Ok((
        LeasingKv {
            shared: shared.clone(),
            alive: alive.clone(),
        },
        Closer {
            shared,
            _alive: alive,
        },
    ))
}

impl<C: LeasingClient> Shared<C> {
    async fn close(&self) -> Result<()> {
        self.closed.open();
        self.cache.reset();
        match self.sessions.take() {
            Some(s) => s.close().await.map_err(client_error),
            None => Ok(()),
        }
    }
}
