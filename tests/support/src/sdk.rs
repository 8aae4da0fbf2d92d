//! Building SDK clients for a test cluster.

use etcd_sdk::{Config, HttpClient};
use std::time::Duration;

/// A client over `endpoints` with this per-request header timeout.
pub fn client(endpoints: &[String], header_timeout: Option<Duration>) -> HttpClient {
    HttpClient::new(Config {
        endpoints: endpoints.to_vec(),
        header_timeout_per_request: header_timeout,
        ..Default::default()
    })
    .expect("valid endpoints")
}

/// A client with root credentials (for auth tests).
pub fn client_as(endpoints: &[String], user: &str, password: &str) -> HttpClient {
    HttpClient::new(Config {
        endpoints: endpoints.to_vec(),
        header_timeout_per_request: Some(Duration::from_secs(5)),
        username: Some(user.to_string()),
        password: Some(password.to_string()),
        ..Default::default()
    })
    .expect("valid endpoints")
}

/// Re-sets `endpoints` (which the client shuffles) until `target` is pinned.
pub fn pin_to(client: &HttpClient, endpoints: &[String], target: &str) {
    assert!(
        endpoints.iter().any(|e| e == target),
        "{target} is not among {endpoints:?}"
    );
    for _ in 0..1000 {
        client.set_endpoints(endpoints).expect("valid endpoints");
        if client.pinned_endpoint().as_deref() == Some(target) {
            return;
        }
    }
    panic!("could not pin {target}: the client never put it first");
}
