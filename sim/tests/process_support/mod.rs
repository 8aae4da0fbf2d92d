//! The real-process cluster harness of the SDK's tests (`tests/support/`), shared
//! with the server's tests: it runs any binary that takes etcd's flags.
#![allow(dead_code)]

#[path = "../../../tests/support/etcd.rs"]
pub mod etcd;
#[path = "../../../tests/support/etcd_bin.rs"]
pub mod etcd_bin;
#[path = "../../../tests/support/ports.rs"]
pub mod ports;
#[path = "../../../tests/support/raw_http.rs"]
pub mod raw_http;

pub use etcd::EtcdCluster;
