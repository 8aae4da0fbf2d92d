//! etcd's v2 discovery protocol (`--discovery <url>`), as etcd 3.4's
//! `v2discovery` package runs it.
//!
//! The discovery URL names a directory of a v2 keyspace, its *token*: for a
//! self-hosted service `http://host:2379/v2/keys/discovery/<token>`, for the
//! public one `https://discovery.etcd.io/<token>`. The path of the URL is used
//! as the key as it is, under the URL's origin (no `/v2/keys` is added). Someone
//! first writes the expected cluster size to `<token>/_config/size`. Then each
//! new member, with its id computed from its advertised peer URLs and the
//! discovery URL as cluster token:
//!
//! 1. reads the size and the registrations (the children of `<token>` but
//!    `_config`, in creation order) and fails with
//!    [`DiscoveryError::FullCluster`] when `size` others registered first;
//! 2. creates `<token>/<id in hex>` with its `name=peer-url,...` entry (the key
//!    must not exist: [`DiscoveryError::DuplicateId`]) and waits for its own
//!    creation event;
//! 3. reads again, then watches the directory (from the index of that read) until
//!    `size` members registered;
//! 4. joins the first `size` registrations' values into the initial cluster, which
//!    must hold `size` distinct names.
//!
//! A discovery service that cannot be reached (every endpoint failed) is retried
//! with a backoff of 2^n seconds (n = retries so far, at most 8), as many times as
//! the [`RetryPolicy`] allows (etcd: 2^32 − 1).

use super::error::DiscoveryError;
use super::path;
use super::proxy::discovery_transport;
use etcd_sdk::keys::{GetOptions, HttpKeysAPI, KeysAPI, WatcherOptions, new_keys_api_with_prefix};
use etcd_sdk::wire::{ErrorCode, Node};
use etcd_sdk::{Config as ClientConfig, Error as ClientError, HttpClient};
use std::time::Duration;

/// etcd's `client.DefaultRequestTimeout`: the bound of each read and the create.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How often and how long an unreachable discovery service is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries before [`DiscoveryError::TooManyRetries`] (etcd: `u32::MAX`).
    pub max_retries: u32,
    /// The backoff of retry n is 2^min(n, `max_exponent`) seconds (etcd: 8, so
    /// at most 256 s).
    pub max_exponent: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: u32::MAX,
            max_exponent: 8,
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `n` (counted from 1).
    pub fn backoff(&self, n: u32) -> Duration {
        Duration::from_secs(1u64 << n.min(self.max_exponent).min(63))
    }
}

/// One member's run of the protocol against one discovery URL.
pub struct Discovery {
    /// The discovery URL's origin (`http://host:port`), for the logs.
    origin: String,
    /// The token: the discovery URL's path.
    cluster: String,
    /// This member's id.
    id: u64,
    keys: HttpKeysAPI,
    retries: u32,
    policy: RetryPolicy,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("origin", &self.origin)
            .field("cluster", &self.cluster)
            .field("id", &format_args!("{:x}", self.id))
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// Runs the protocol for the member `id` whose own entry is `config`
/// (`name=peer-url,...`) and returns the initial cluster (etcd's
/// `v2discovery.JoinCluster`). `proxy` is `--discovery-proxy` (empty: none).
///
/// # Errors
///
/// See [`Discovery::join_cluster`] and [`Discovery::new`].
pub async fn join_cluster(
    durl: &str,
    proxy: &str,
    id: u64,
    config: &str,
) -> Result<String, DiscoveryError> {
    Discovery::new(durl, proxy, id)?.join_cluster(config).await
}

/// The parts of a discovery URL: its origin (the endpoint) and its path (the
/// token).
pub fn split_discovery_url(durl: &str) -> Result<(String, String), DiscoveryError> {
    let bad = |reason: String| DiscoveryError::BadUrl {
        url: durl.to_string(),
        reason,
    };
    let u = url::Url::parse(durl).map_err(|e| bad(e.to_string()))?;
    if !u.has_host() {
        return Err(bad("missing host".into()));
    }
    let origin = u.origin().ascii_serialization();
    Ok((origin, u.path().to_string()))
}

impl Discovery {
    /// A discovery run for member `id` at `durl`, its requests sent through the
    /// HTTP proxy `proxy` unless that is empty.
    ///
    /// # Errors
    ///
    /// [`DiscoveryError::BadUrl`], [`DiscoveryError::InvalidProxy`], or the SDK's
    /// error when the client cannot be built.
    pub fn new(durl: &str, proxy: &str, id: u64) -> Result<Self, DiscoveryError> {
        let (origin, cluster) = split_discovery_url(durl)?;
        let transport = discovery_transport(proxy)?;
        let client = HttpClient::new(ClientConfig {
            transport: Some(transport),
            ..ClientConfig::new([origin.clone()])
        })?;
        Ok(Discovery {
            origin,
            cluster,
            id,
            keys: new_keys_api_with_prefix(client, ""),
            retries: 0,
            policy: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy (etcd's is [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Registers this member (`config` is its `name=peer-url,...` entry), waits
    /// until the cluster is complete and returns the initial cluster string.
    ///
    /// # Errors
    ///
    /// [`DiscoveryError::FullCluster`], [`DiscoveryError::DuplicateId`],
    /// [`DiscoveryError::BadSizeKey`], [`DiscoveryError::DuplicateName`],
    /// [`DiscoveryError::InvalidUrl`], [`DiscoveryError::BadDiscoveryEndpoint`],
    /// [`DiscoveryError::TooManyRetries`], or the client's error for anything
    /// else (e.g. a token without a size).
    pub async fn join_cluster(mut self, config: &str) -> Result<String, DiscoveryError> {
        self.check_cluster().await?;
        self.create_self(config).await?;
        let (nodes, size, index) = self.check_cluster().await?;
        let all = self.wait_nodes(nodes, size, index).await?;
        nodes_to_cluster(&all, size)
    }

    fn self_key(&self) -> String {
        path::join(&["/", &self.cluster, &format!("{:x}", self.id)])
    }

    async fn create_self(&self, contents: &str) -> Result<(), DiscoveryError> {
        let resp = match self
            .keys
            .with_timeout(REQUEST_TIMEOUT)
            .create(&self.self_key(), contents)
            .await
        {
            Ok(r) => r,
            Err(e) if api_code(&e) == Some(ErrorCode::NODE_EXIST) => {
                return Err(DiscoveryError::DuplicateId);
            }
            Err(e) => return Err(e.into()),
        };
        let created = resp.node.as_ref().map_or(0, |n| n.created_index);
        let mut w = self.keys.watcher(
            &self.self_key(),
            WatcherOptions {
                after_index: created.saturating_sub(1),
                recursive: false,
            },
        );
        w.next().await?;
        Ok(())
    }

    /// Reads the size and the registrations: (the registrations in creation
    /// order, the size, the index of the read).
    async fn check_cluster(&mut self) -> Result<(Vec<Node>, u64, u64), DiscoveryError> {
        loop {
            match self.check_cluster_once().await {
                Err(Unreachable(e)) => {
                    tracing::error!("{}", cluster_detail(&e));
                    self.backoff("cluster status check").await?;
                }
                Ok(r) => return r,
            }
        }
    }

    async fn check_cluster_once(
        &self,
    ) -> Result<Result<(Vec<Node>, u64, u64), DiscoveryError>, Unreachable> {
        let config_key = path::join(&["/", &self.cluster, "_config"]);
        let keys = self.keys.with_timeout(REQUEST_TIMEOUT);
        let resp = match keys
            .get(&path::join(&[&config_key, "size"]), GetOptions::default())
            .await
        {
            Ok(r) => r,
            Err(e) if is_unreachable(&e) => return Err(Unreachable(e)),
            Err(ClientError::InvalidJson { .. }) => {
                return Ok(Err(DiscoveryError::BadDiscoveryEndpoint));
            }
            // etcd 3.4 means to report a missing size as "size key not found",
            // but its check never matches: the client's error is reported.
            Err(e) => return Ok(Err(e.into())),
        };
        let value = resp.node.and_then(|n| n.value).unwrap_or_default();
        let Some(size) = parse_go_uint(&value) else {
            return Ok(Err(DiscoveryError::BadSizeKey));
        };
        let resp = match keys.get(&self.cluster, GetOptions::default()).await {
            Ok(r) => r,
            Err(e) if is_unreachable(&e) => return Err(Unreachable(e)),
            Err(e) => return Ok(Err(e.into())),
        };
        let config_base = path::base(&config_key).to_string();
        let mut nodes: Vec<Node> = resp
            .node
            .map(|n| n.nodes)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| path::base(&n.key) != config_base)
            .collect();
        nodes.sort_by_key(|n| n.created_index);
        let self_key = self.self_key();
        let self_base = path::base(&self_key);
        for (i, n) in nodes.iter().enumerate() {
            if path::base(&n.key) == self_base {
                break;
            }
            if i as u64 >= size.saturating_sub(1) {
                return Ok(Err(DiscoveryError::FullCluster));
            }
        }
        Ok(Ok((nodes, size, resp.index)))
    }

    async fn backoff(&mut self, step: &str) -> Result<(), DiscoveryError> {
        if self.retries >= self.policy.max_retries {
            return Err(DiscoveryError::TooManyRetries);
        }
        self.retries += 1;
        let wait = self.policy.backoff(self.retries);
        tracing::info!(
            "{step}: error connecting to {}, retrying in {}s",
            self.origin,
            wait.as_secs()
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Watches the directory from `index` until `size` members registered.
    async fn wait_nodes(
        &mut self,
        mut nodes: Vec<Node>,
        mut size: u64,
        mut index: u64,
    ) -> Result<Vec<Node>, DiscoveryError> {
        loop {
            nodes.truncate(usize::try_from(size).unwrap_or(usize::MAX));
            let self_key = self.self_key();
            for n in &nodes {
                if path::base(&n.key) == path::base(&self_key) {
                    tracing::info!("found self {:x} in the cluster", self.id);
                } else {
                    tracing::info!("found peer {} in the cluster", path::base(&n.key));
                }
            }
            let mut w = self.keys.watcher(
                &self.cluster,
                WatcherOptions {
                    after_index: index,
                    recursive: true,
                },
            );
            let mut unreachable = None;
            while (nodes.len() as u64) < size {
                tracing::info!(
                    "found {} peer(s), waiting for {} more",
                    nodes.len(),
                    size - nodes.len() as u64
                );
                match w.next().await {
                    Ok(resp) => {
                        let Some(node) = resp.node else { continue };
                        tracing::info!("found peer {} in the cluster", path::base(&node.key));
                        nodes.push(node);
                    }
                    Err(e) if matches!(e, ClientError::Cluster(_)) => {
                        unreachable = Some(e);
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let Some(e) = unreachable else {
                tracing::info!("found {} needed peer(s)", nodes.len());
                return Ok(nodes);
            };
            tracing::error!("{}", cluster_detail(&e));
            self.backoff("waiting for other nodes").await?;
            (nodes, size, index) = self.check_cluster().await?;
        }
    }
}

/// A request that reached no member of the discovery service (Go's
/// `*client.ClusterError`): retried.
struct Unreachable(ClientError);

fn is_unreachable(e: &ClientError) -> bool {
    matches!(e, ClientError::Cluster(_))
}

fn cluster_detail(e: &ClientError) -> String {
    match e {
        ClientError::Cluster(c) => c.detail().trim_end().to_string(),
        other => other.to_string(),
    }
}

fn api_code(e: &ClientError) -> Option<ErrorCode> {
    e.api().map(|a| a.code)
}

/// Go's `strconv.ParseUint(s, 10, 0)`: decimal digits only (no sign, no spaces).
fn parse_go_uint(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// etcd's `nodesToCluster`: the values joined with commas, which must parse as
/// an initial cluster with `size` distinct names.
fn nodes_to_cluster(nodes: &[Node], size: u64) -> Result<String, DiscoveryError> {
    let joined = nodes
        .iter()
        .map(|n| n.value.as_deref().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(",");
    let names = distinct_names(&joined).ok_or(DiscoveryError::InvalidUrl)?;
    if names as u64 != size {
        return Err(DiscoveryError::DuplicateName);
    }
    Ok(joined)
}

/// The number of distinct names in an initial-cluster string (`name=url,...`),
/// or `None` when an entry is not `name=scheme://host:port` with one of etcd's
/// schemes (the checks of etcd's `types.NewURLsMap` that matter here; the full
/// ones run when the server reads the result).
fn distinct_names(cluster: &str) -> Option<usize> {
    let mut names = std::collections::BTreeSet::new();
    for entry in cluster.split(',') {
        let (name, url) = entry.split_once('=')?;
        let (scheme, rest) = url.split_once("://")?;
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "http" | "https" | "unix" | "unixs"
        ) {
            return None;
        }
        let (host, port) = rest.rsplit_once(':')?;
        if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        names.insert(name);
    }
    Some(names.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(key: &str, value: &str, created: u64) -> Node {
        Node {
            key: key.into(),
            value: Some(value.into()),
            created_index: created,
            modified_index: created,
            ..Node::default()
        }
    }

    #[test]
    fn backoff_doubles_up_to_256_seconds() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = [1, 2, 3, 8, 9, 100]
            .map(|n| p.backoff(n).as_secs())
            .to_vec();
        assert_eq!(secs, vec![2, 4, 8, 256, 256, 256]);
    }

    #[test]
    fn the_url_path_is_the_token() {
        assert_eq!(
            split_discovery_url("http://127.0.0.1:2379/v2/keys/discovery/abc").unwrap(),
            (
                "http://127.0.0.1:2379".into(),
                "/v2/keys/discovery/abc".into()
            )
        );
        assert_eq!(
            split_discovery_url(
                "https://discovery.etcd.io/3e86b59982e49066c5d813af1c2e2579cbf573de"
            )
            .unwrap(),
            (
                "https://discovery.etcd.io".into(),
                "/3e86b59982e49066c5d813af1c2e2579cbf573de".into()
            )
        );
        assert!(matches!(
            split_discovery_url("not a url"),
            Err(DiscoveryError::BadUrl { .. })
        ));
    }

    #[test]
    fn sizes_parse_as_go_uints() {
        assert_eq!(parse_go_uint("3"), Some(3));
        for bad in ["", "abc", "-1", "+3", " 3", "3.0", "99999999999999999999"] {
            assert_eq!(parse_go_uint(bad), None, "{bad}");
        }
    }

    #[test]
    fn registrations_become_the_initial_cluster() {
        let nodes = [
            node("/t/1", "a=http://127.0.0.1:1", 5),
            node("/t/2", "b=http://127.0.0.1:2", 6),
        ];
        assert_eq!(
            nodes_to_cluster(&nodes, 2).unwrap(),
            "a=http://127.0.0.1:1,b=http://127.0.0.1:2"
        );
        let dup = [
            node("/t/1", "a=http://127.0.0.1:1", 5),
            node("/t/2", "a=http://127.0.0.1:2", 6),
        ];
        assert!(matches!(
            nodes_to_cluster(&dup, 2),
            Err(DiscoveryError::DuplicateName)
        ));
        let bad = [node("/t/1", "garbage", 5)];
        assert!(matches!(
            nodes_to_cluster(&bad, 1),
            Err(DiscoveryError::InvalidUrl)
        ));
    }

    #[test]
    fn error_texts_are_etcds() {
        assert_eq!(
            DiscoveryError::FullCluster.to_string(),
            "discovery: cluster is full"
        );
        assert_eq!(
            DiscoveryError::DuplicateId.to_string(),
            "discovery: found duplicate id"
        );
        assert_eq!(
            DiscoveryError::BadSizeKey.to_string(),
            "discovery: size key is bad"
        );
        assert_eq!(
            DiscoveryError::TooManyRetries.to_string(),
            "discovery: too many retries"
        );
    }
}
