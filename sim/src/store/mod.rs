//! The server's stores. [`v2`] is etcd's v2 key tree (the `/v2/keys` API, cluster
//! membership records and v2 auth data).

pub mod v2;
