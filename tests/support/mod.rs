//! Shared helpers of the integration tests that run the SDK against real etcd
//! (`/usr/bin/etcd` 3.4.23): the cluster harness, a raw HTTP probe and SDK helpers.
//!
//! Each `tests/real_*.rs` file includes this with `mod support;` and uses part of it.
#![allow(dead_code)]

pub mod etcd;
pub mod ports;
pub mod raw_http;
pub mod sdk;

pub use etcd::EtcdCluster;
