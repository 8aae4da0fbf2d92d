//! Shared helpers of the integration tests that run the SDK against real etcd
//! (`/usr/bin/etcd` 3.4.23): the cluster harness, a raw HTTP probe and SDK helpers,
//! and the harness as a [`backend::Backend`] for the shared case bodies.
//!
//! Each `tests/real_*.rs` file includes this with `mod support;` and uses part of it.
#![allow(dead_code)]

#[path = "../cases/backend.rs"]
pub mod backend;
pub mod etcd;
pub mod etcd_backend;
pub mod etcd_bin;
pub mod ports;
pub mod raw_http;
pub mod sdk;

pub use etcd::EtcdCluster;
