//! The server's stores. [`v2`] is etcd's v2 key tree (the `/v2/keys` API, cluster
//! membership records and v2 auth data); [`v3`] is etcd's v3 state (the MVCC key-value
//! store, and later the lessor and the watchable store).

pub mod v2;
pub mod v3;
