//! The server's stores. [`v2`] is etcd's v2 key tree (the `/v2/keys` API, cluster
//! membership records and v2 auth data). [`v3`] is etcd's v3 state (MVCC, leases,
//! watchable store).

pub mod v2;
pub mod v3;
