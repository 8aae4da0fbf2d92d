//! SRV discovery of client endpoints (Go's `client.NewSRVDiscover`).
//!
//! `discover(domain, service)` looks up `_etcd-client-ssl[-<service>]._tcp.<domain>`
//! (https URLs) and `_etcd-client[-<service>]._tcp.<domain>` (http URLs); it fails
//! only when both lookups fail. Targets keep DNS's trailing dot, as Go's do.

use crate::error::{Error, Result};
use async_trait::async_trait;

/// One SRV answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvRecord {
    /// The target host (with its trailing dot, as DNS gives it).
    pub target: String,
    /// The port.
    pub port: u16,
}

/// Resolves SRV names; [`SrvDiscoverer`] uses the system resolver by default.
#[async_trait]
pub trait SrvResolver: Send + Sync {
    /// Looks up the SRV records of a full name such as `_etcd-client._tcp.example.com`.
    async fn lookup_srv(&self, name: &str) -> std::result::Result<Vec<SrvRecord>, String>;
}

/// Finds a cluster's client endpoints for a domain.
#[async_trait]
pub trait Discoverer: Send + Sync {
    /// The client URLs advertised for `domain` (and the optional `service_name`).
    async fn discover(&self, domain: &str, service_name: &str) -> Result<Vec<String>>;
}

/// A [`Discoverer`] over DNS SRV records.
pub struct SrvDiscoverer<R: SrvResolver = SystemResolver> {
    resolver: R,
}

impl SrvDiscoverer<SystemResolver> {
    /// A discoverer using the system's DNS configuration (`/etc/resolv.conf`).
    pub fn new() -> Result<Self> {
        Ok(SrvDiscoverer {
            resolver: SystemResolver::new()?,
        })
    }
}

impl<R: SrvResolver> SrvDiscoverer<R> {
    /// A discoverer over a resolver of the caller's choice.
    pub fn with_resolver(resolver: R) -> Self {
        SrvDiscoverer { resolver }
    }
}

fn srv_service(service_name: &str, https: bool) -> String {
    let base = if https {
        "etcd-client-ssl"
    } else {
        "etcd-client"
    };
    if service_name.is_empty() {
        base.to_string()
    } else {
        format!("{base}-{service_name}")
    }
}

#[async_trait]
impl<R: SrvResolver> Discoverer for SrvDiscoverer<R> {
    async fn discover(&self, domain: &str, service_name: &str) -> Result<Vec<String>> {
        let mut urls = Vec::new();
        let mut errors = Vec::new();
        for (https, scheme) in [(true, "https"), (false, "http")] {
            let name = format!("_{}._tcp.{domain}", srv_service(service_name, https));
            match self.resolver.lookup_srv(&name).await {
                Ok(records) => {
                    for r in records {
                        let host = if r.target.contains(':') {
                            format!("[{}]", r.target)
                        } else {
                            r.target
                        };
                        urls.push(format!("{scheme}://{host}:{}", r.port));
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.len() == 2 {
            return Err(Error::Discovery(format!(
                "dns lookup errors: {} and {}",
                errors[0], errors[1]
            )));
        }
        Ok(urls)
    }
}

/// The system DNS resolver (hickory, configured from `/etc/resolv.conf`).
pub struct SystemResolver {
    resolver: hickory_resolver::TokioResolver,
}

impl SystemResolver {
    /// Reads the system configuration.
    pub fn new() -> Result<Self> {
        let builder = hickory_resolver::TokioResolver::builder_tokio()
            .map_err(|e| Error::Discovery(format!("reading the system DNS configuration: {e}")))?;
        Ok(SystemResolver {
            resolver: builder.build(),
        })
    }
}

#[async_trait]
impl SrvResolver for SystemResolver {
    async fn lookup_srv(&self, name: &str) -> std::result::Result<Vec<SrvRecord>, String> {
        let lookup = self
            .resolver
            .srv_lookup(name)
            .await
            .map_err(|e| format!("lookup {name}: {e}"))?;
        Ok(lookup
            .iter()
            .map(|srv| SrvRecord {
                target: srv.target().to_utf8(),
                port: srv.port(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct FakeResolver(BTreeMap<String, Vec<SrvRecord>>);

    #[async_trait]
    impl SrvResolver for FakeResolver {
        async fn lookup_srv(&self, name: &str) -> std::result::Result<Vec<SrvRecord>, String> {
            self.0
                .get(name)
                .cloned()
                .ok_or_else(|| format!("lookup {name}: no such host"))
        }
    }

    fn rec(t: &str, p: u16) -> SrvRecord {
        SrvRecord {
            target: t.into(),
            port: p,
        }
    }

    #[tokio::test]
    async fn https_first_then_http_with_trailing_dots() {
        let mut m = BTreeMap::new();
        m.insert(
            "_etcd-client-ssl._tcp.example.com".to_string(),
            vec![rec("a.example.com.", 2379)],
        );
        m.insert(
            "_etcd-client._tcp.example.com".to_string(),
            vec![rec("b.example.com.", 2380), rec("c.example.com.", 2381)],
        );
        let d = SrvDiscoverer::with_resolver(FakeResolver(m));
        assert_eq!(
            d.discover("example.com", "").await.unwrap(),
            vec![
                "https://a.example.com.:2379",
                "http://b.example.com.:2380",
                "http://c.example.com.:2381"
            ]
        );
    }

    #[tokio::test]
    async fn service_name_suffix_and_one_failure_is_fine() {
        let mut m = BTreeMap::new();
        m.insert(
            "_etcd-client-prod._tcp.example.com".to_string(),
            vec![rec("b.example.com.", 2379)],
        );
        let d = SrvDiscoverer::with_resolver(FakeResolver(m));
        assert_eq!(
            d.discover("example.com", "prod").await.unwrap(),
            vec!["http://b.example.com.:2379"]
        );
    }

    #[tokio::test]
    async fn both_failing_is_an_error() {
        let d = SrvDiscoverer::with_resolver(FakeResolver(BTreeMap::new()));
        let err = d.discover("example.com", "").await.unwrap_err();
        assert!(
            err.to_string()
                .contains("dns lookup errors: lookup _etcd-client-ssl._tcp.example.com"),
            "{err}"
        );
    }
}
