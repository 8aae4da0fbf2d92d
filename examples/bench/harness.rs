//! The integration tests' process harness (`tests/support/`), reused: free ports,
//! starting 1..n-member clusters of `/usr/bin/etcd` or our `etcd-sim` with etcd's
//! flags, SIGSTOP/SIGCONT, and a raw HTTP probe.
#![allow(dead_code)]

#[path = "../../tests/support/etcd.rs"]
pub mod etcd;
#[path = "../../tests/support/etcd_bin.rs"]
pub mod etcd_bin;
#[path = "../../tests/support/ports.rs"]
pub mod ports;
#[path = "../../tests/support/raw_http.rs"]
pub mod raw_http;
