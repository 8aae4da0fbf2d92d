//! `--discovery-srv <domain>` (+ `--discovery-srv-name`): the initial cluster from
//! DNS SRV records, with the rules of etcd's `srv.GetCluster` and
//! `embed.Config.GetDNSClusterNames`.
//!
//! `_etcd-server-ssl[-<name>]._tcp.<domain>` records give `https` members and
//! `_etcd-server[-<name>]._tcp.<domain>` records `http` members. Each record's
//! target and port are resolved; the one that resolves to the address of one of
//! this member's advertised peer URLs is this member (named `--name`; a scheme
//! that differs from its record kind is an error), the others get the names `0`,
//! `1`, … in record order. Records whose target does not resolve are skipped.
//!
//! Where etcd-sim differs: etcd 3.4.23 drops the `_etcd-server` (http) records
//! through a slip in `GetDNSClusterNames` (it appends them only when their lookup
//! *failed*), so only `https` members can be found there; etcd-sim uses both
//! kinds, as the code means to (and later etcd releases do), failing only when
//! neither lookup found a member (with the `https` lookup's error, as etcd). And
//! since etcd-sim's peers dial IP addresses, other members' peer URLs carry the
//! address their target resolved to instead of the target name (this member
//! keeps its advertised URL). SRV discovery needs a DNS resolver and is not
//! available in the simulator (sim builds refuse it).

use async_trait::async_trait;
use std::net::{IpAddr, SocketAddr};

/// An SRV record: target host (as in DNS, maybe with a trailing dot) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvRecord {
    /// The target's host name.
    pub target: String,
    /// The port.
    pub port: u16,
}

/// The DNS lookups SRV discovery needs.
#[async_trait]
pub trait Resolver: Send + Sync {
    /// The SRV records of `name` (`_service._tcp.domain.`), in the order to use.
    async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, String>;
    /// The addresses of `host` (a name; IP literals never get here).
    async fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, String>;
}

/// etcd's `GetSRVService`: `etcd-server[-ssl][-<name>]`.
pub fn service_name(service: &str, srv_name: &str, scheme: &str) -> String {
    let mut s = service.to_string();
    if scheme == "https" {
        s.push_str("-ssl");
    }
    if !srv_name.is_empty() {
        s.push('-');
        s.push_str(srv_name);
    }
    s
}

/// Resolves `host:port` (IP literal, `localhost`, or a name through `resolver`)
/// to one address, IPv4 first as Go's `ResolveTCPAddr` prefers.
async fn resolve_tcp(resolver: &dyn Resolver, host: &str, port: u16) -> Result<SocketAddr, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let trimmed = host.trim_end_matches('.');
    if trimmed.eq_ignore_ascii_case("localhost") {
        return Ok(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port));
    }
    let ips = resolver.lookup_ip(host).await?;
    ips.iter()
        .find(|ip| ip.is_ipv4())
        .or_else(|| ips.first())
        .map(|ip| SocketAddr::new(*ip, port))
        .ok_or_else(|| format!("lookup {trimmed}: no such host"))
}

/// Splits `scheme://host:port` into its parts.
fn split_url(url: &str) -> Option<(&str, &str, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':')?;
    Some((scheme, host, port.parse().ok()?))
}

/// etcd's `srv.GetCluster` for one service: `name=url` entries.
///
/// # Errors
///
/// `error querying DNS SRV records for _<service> <cause>` when the lookup fails
/// or no record gave a member.
pub async fn get_cluster(
    resolver: &dyn Resolver,
    scheme: &str,
    service: &str,
    name: &str,
    domain: &str,
    advertised: &[String],
) -> Result<Vec<String>, String> {
    let wrap = |e: String| format!("error querying DNS SRV records for _{service} {e}");
    let mut own: Vec<(SocketAddr, &String)> = Vec::new();
    for url in advertised {
        let (_, host, port) = split_url(url).ok_or_else(|| format!("bad URL {url}"))?;
        own.push((resolve_tcp(resolver, host, port).await?, url));
    }
    let fqdn = format!("_{service}._tcp.{}.", domain.trim_end_matches('.'));
    let records = resolver.lookup_srv(&fqdn).await.map_err(wrap)?;
    let mut parts = Vec::new();
    let mut last_err = None;
    let mut temp_name = 0usize;
    for r in records {
        let addr = match resolve_tcp(resolver, &r.target, r.port).await {
            Ok(a) => a,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        let short = r.target.trim_end_matches('.');
        let host = if short.contains(':') {
            format!("[{short}]:{}", r.port)
        } else {
            format!("{short}:{}", r.port)
        };
        match own.iter().find(|(a, _)| *a == addr) {
            Some((_, url)) if !url.starts_with(&format!("{scheme}://")) => {
                last_err = Some(format!(
                    "bootstrap at {scheme}://{host} from DNS for {service} has scheme mismatch with expected peer {url}"
                ));
            }
            Some((_, url)) => parts.push(format!("{name}={url}")),
            None => {
                parts.push(format!("{temp_name}={scheme}://{addr}"));
                temp_name += 1;
            }
        }
    }
    if parts.is_empty() {
        return Err(wrap(last_err.unwrap_or_else(|| "no usable records".into())));
    }
    Ok(parts)
}

/// The initial cluster of `--discovery-srv` (etcd's `GetDNSClusterNames` and the
/// SRV branch of `PeerURLsMapAndToken`): the `https` members, then the `http`
/// ones, joined with commas.
///
/// # Errors
///
/// The `https` lookup's error when neither found a member; `cannot find local
/// etcd member "<name>" in SRV records` when this member is not among them.
pub async fn dns_cluster(
    resolver: &dyn Resolver,
    name: &str,
    domain: &str,
    srv_name: &str,
    advertised: &[String],
) -> Result<String, String> {
    let https = get_cluster(
        resolver,
        "https",
        &service_name("etcd-server", srv_name, "https"),
        name,
        domain,
        advertised,
    )
    .await;
    let http = get_cluster(
        resolver,
        "http",
        &service_name("etcd-server", srv_name, "http"),
        name,
        domain,
        advertised,
    )
    .await;
    for (kind, r) in [("etcd-server-ssl", &https), ("etcd-server", &http)] {
        match r {
            Ok(found) => tracing::info!("got bootstrap from DNS for {kind}: {}", found.join(",")),
            Err(e) => tracing::info!("get cluster for {kind} SRV: {e}"),
        }
    }
    let entries: Vec<String> = match (https, http) {
        (Err(e), Err(_)) => return Err(e),
        (a, b) => a
            .unwrap_or_default()
            .into_iter()
            .chain(b.unwrap_or_default())
            .collect(),
    };
    let prefix = format!("{name}=");
    if !entries.iter().any(|e| e.starts_with(&prefix)) {
        return Err(format!(
            "cannot find local etcd member {name:?} in SRV records"
        ));
    }
    Ok(entries.join(","))
}

#[cfg(not(madsim))]
pub use system::SystemResolver;

#[cfg(not(madsim))]
mod system {
    use super::{IpAddr, Resolver, SrvRecord};
    use async_trait::async_trait;
    use hickory_resolver::TokioResolver;
    use hickory_resolver::config::{NameServerConfigGroup, ResolverConfig, ResolverOpts};
    use hickory_resolver::name_server::TokioConnectionProvider;
    use std::net::SocketAddr;

    /// The environment variable (tests only) that points the resolver at one DNS
    /// server, `ip:port`, instead of `/etc/resolv.conf`'s.
    pub const TEST_DNS_SERVER_ENV: &str = "ETCDSIM_TEST_DNS_SERVER";

    /// hickory's resolver: the system's configuration, or the server named by
    /// [`TEST_DNS_SERVER_ENV`].
    pub struct SystemResolver {
        resolver: TokioResolver,
    }

    impl SystemResolver {
        /// Reads the DNS configuration.
        ///
        /// # Errors
        ///
        /// The system configuration cannot be read, or the test variable is not
        /// an `ip:port`.
        pub fn new() -> Result<Self, String> {
            if let Ok(server) = std::env::var(TEST_DNS_SERVER_ENV) {
                let addr: SocketAddr = server
                    .parse()
                    .map_err(|e| format!("{TEST_DNS_SERVER_ENV}={server:?}: {e}"))?;
                let group = NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true);
                let config = ResolverConfig::from_parts(None, vec![], group);
                let mut opts = ResolverOpts::default();
                opts.cache_size = 0;
                let resolver =
                    TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
                        .with_options(opts)
                        .build();
                return Ok(SystemResolver { resolver });
            }
            let builder = TokioResolver::builder_tokio()
                .map_err(|e| format!("reading the system DNS configuration: {e}"))?;
            Ok(SystemResolver {
                resolver: builder.build(),
            })
        }
    }

    #[async_trait]
    impl Resolver for SystemResolver {
        async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, String> {
            let lookup = self
                .resolver
                .srv_lookup(name)
                .await
                .map_err(|e| format!("lookup {}: {e}", name.trim_end_matches('.')))?;
            let mut records: Vec<(u16, std::cmp::Reverse<u16>, SrvRecord)> = lookup
                .iter()
                .map(|r| {
                    (
                        r.priority(),
                        std::cmp::Reverse(r.weight()),
                        SrvRecord {
                            target: r.target().to_utf8(),
                            port: r.port(),
                        },
                    )
                })
                .collect();
            records.sort_by(|a, b| {
                (a.0, a.1, &a.2.target, a.2.port).cmp(&(b.0, b.1, &b.2.target, b.2.port))
            });
            Ok(records.into_iter().map(|(_, _, r)| r).collect())
        }

        async fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, String> {
            let fqdn = if host.ends_with('.') {
                host.to_string()
            } else {
                format!("{host}.")
            };
            let lookup = self
                .resolver
                .lookup_ip(fqdn.as_str())
                .await
                .map_err(|e| format!("lookup {}: {e}", host.trim_end_matches('.')))?;
            Ok(lookup.iter().collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Fake {
        srv: BTreeMap<String, Vec<SrvRecord>>,
        a: BTreeMap<String, IpAddr>,
    }

    #[async_trait]
    impl Resolver for Fake {
        async fn lookup_srv(&self, name: &str) -> Result<Vec<SrvRecord>, String> {
            self.srv
                .get(name)
                .cloned()
                .ok_or_else(|| format!("lookup {name}: no such host"))
        }
        async fn lookup_ip(&self, host: &str) -> Result<Vec<IpAddr>, String> {
            self.a
                .get(host)
                .map(|ip| vec![*ip])
                .ok_or_else(|| format!("lookup {host}: no such host"))
        }
    }

    fn rec(t: &str, p: u16) -> SrvRecord {
        SrvRecord {
            target: t.into(),
            port: p,
        }
    }

    fn fake() -> Fake {
        let mut srv = BTreeMap::new();
        srv.insert(
            "_etcd-server._tcp.example.com.".to_string(),
            vec![
                rec("a.example.com.", 2380),
                rec("b.example.com.", 2381),
                rec("gone.example.com.", 1),
            ],
        );
        srv.insert(
            "_etcd-server-ssl-x._tcp.example.com.".to_string(),
            vec![rec("a.example.com.", 2380)],
        );
        let mut a = BTreeMap::new();
        a.insert("a.example.com.".to_string(), IpAddr::from([10, 0, 0, 1]));
        a.insert("b.example.com.".to_string(), IpAddr::from([10, 0, 0, 2]));
        Fake { srv, a }
    }

    #[test]
    fn service_names_as_etcd() {
        assert_eq!(service_name("etcd-server", "", "https"), "etcd-server-ssl");
        assert_eq!(service_name("etcd-server", "x", "http"), "etcd-server-x");
        assert_eq!(
            service_name("etcd-server", "x", "https"),
            "etcd-server-ssl-x"
        );
    }

    #[tokio::test]
    async fn self_by_address_others_numbered() {
        let own = vec!["http://10.0.0.1:2380".to_string()];
        let got = dns_cluster(&fake(), "m1", "example.com", "", &own)
            .await
            .unwrap();
        assert_eq!(got, "m1=http://10.0.0.1:2380,0=http://10.0.0.2:2381");
        let err = dns_cluster(
            &fake(),
            "m9",
            "example.com",
            "",
            &["http://10.0.0.9:1".into()],
        )
        .await
        .unwrap_err();
        assert_eq!(err, "cannot find local etcd member \"m9\" in SRV records");
    }

    #[tokio::test]
    async fn scheme_mismatch_and_missing_records() {
        let own = vec!["http://10.0.0.1:2380".to_string()];
        let err = get_cluster(
            &fake(),
            "https",
            "etcd-server-ssl-x",
            "m1",
            "example.com",
            &own,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            "error querying DNS SRV records for _etcd-server-ssl-x bootstrap at https://a.example.com:2380 from DNS for etcd-server-ssl-x has scheme mismatch with expected peer http://10.0.0.1:2380"
        );
        let err = dns_cluster(&fake(), "m1", "nowhere.org", "", &own)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            "error querying DNS SRV records for _etcd-server-ssl lookup _etcd-server-ssl._tcp.nowhere.org.: no such host"
        );
    }
}
