//! Distributed locks, elections, software transactional memory and the
//! recipes built on them (Go's `clientv3/concurrency` and
//! `contrib/recipes`), interoperable with Go programs and `etcdctl`: the
//! key layouts and algorithms are Go's (spec §4.6).
//!
//! - [`Session`]: a lease kept alive; the keys of locks and campaigns are
//!   attached to it and vanish with it.
//! - [`Mutex`]: `<prefix>/<lease hex>` keys, the lowest create revision
//!   holds the lock, waiters watch their predecessor's deletion;
//!   [`Mutex::is_owner`] fences writes.
//! - [`Election`]: the same layout; campaign, proclaim, resign, leader,
//!   observe.
//! - [`new_stm`]: optimistic transactions at four isolation levels.
//! - [`Locker`]: a [`Mutex`] handle without contexts (Go's `NewLocker`),
//!   errors returned instead of panics, and a [`LockGuard`] that unlocks
//!   on drop.
//! - [`recipes`]: barriers, queues and a readers-writer lock.
//!
//! Everything is generic over the client traits ([`ConcurrencyClient`] =
//! [`KV`] + [`Lease`] + [`Watcher`]), so it runs over
//! [`crate::v3::Client`], over wrappers of it (e.g. a namespace) and over
//! test doubles. Waits are bounded by a [`Context`] (Go's `ctx`).
//!
//! Beyond Go 3.4: a lock waiter or campaigner whose session ends while it
//! waits fails with [`Error::SessionExpired`] instead of believing it holds
//! the lock (etcd #11408, found by Jepsen on etcd 3.4.3); dropping a
//! waiting future removes its key.

mod context;
mod election;
mod error;
mod key;
mod locker;
mod mutex;
pub mod recipes;
mod session;
mod stm;

#[cfg(test)]
pub(crate) mod fake;

pub use context::{Canceler, Context};
pub use election::Election;
pub use error::{Error, Result};
pub use locker::{LockGuard, Locker};
pub use mutex::{Mutex, session_key};
pub use session::{DEFAULT_SESSION_TTL, Session, SessionOptions};
pub use stm::{
    Isolation, Stm, StmOptions, new_stm, new_stm_read_committed, new_stm_repeatable,
    new_stm_serializable,
};

use super::kv::KV;
use super::lease::Lease;
use super::watch::Watcher;

/// What the concurrency package needs of a client: key-value calls,
/// leases and watches, cheap to clone (sessions, locks and observers hold
/// a clone; cleanup tasks take one). [`crate::v3::Client`] is one; any
/// type with the three traits is.
pub trait ConcurrencyClient: KV + Lease + Watcher + Clone + Send + Sync + 'static {}

impl<T: KV + Lease + Watcher + Clone + Send + Sync + 'static> ConcurrencyClient for T {}
