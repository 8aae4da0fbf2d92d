//! etcd's v3 gRPC API: generated message types, clients and servers (see `pb`).
//! The high-level v3 client comes later.

pub mod pb;
