//! The initial cluster of a new member bootstrapped by discovery (etcd's
//! `PeerURLsMapAndToken` and the discovery step of its `NewServer`): `--discovery`
//! asks a v2 discovery service ([`crate::discovery::v2`]), `--discovery-srv` the
//! DNS ([`crate::discovery::srv`]). A member whose data
//! directory already holds a log ignores discovery, as etcd does.

use super::config::{ClusterState, Config};
use super::error::EmbedError;
use super::urls::UrlsMap;
use crate::discovery::DiscoveryError;
use crate::member::ids::member_id_of;

/// etcd's `--discovery-fallback` value that asks for a proxy on a full cluster.
const FALLBACK_PROXY: &str = "proxy";

/// The configuration to start with once discovery is done: unchanged without
/// discovery; else with the discovered initial cluster (when `initialized` is
/// false) and the discovery URL as cluster token (etcd computes member ids with
/// it). `own_peer_url` is this member's advertised peer URL with its bound port.
///
/// # Errors
///
/// [`EmbedError::Bootstrap`] for etcd's bootstrap texts,
/// [`EmbedError::Discovery`] when the discovery service refuses or fails,
/// [`EmbedError::Unsupported`] for a full cluster with `--discovery-fallback=proxy`
/// (etcd-sim has no proxy mode).
pub async fn resolve(
    config: Config,
    own_peer_url: &str,
    initialized: bool,
) -> Result<(Config, UrlsMap), EmbedError> {
    if !config.discovery_srv.is_empty() && config.initial_cluster.is_none() && !initialized {
        return from_dns(config, own_peer_url).await;
    }
    if config.discovery.is_empty() {
        let map = config.initial_cluster_map()?;
        return Ok((config, map));
    }
    if config.initial_cluster_state == ClusterState::Existing {
        return Err(EmbedError::Bootstrap(
            "discovery URL should not be set when joining existing initial cluster".into(),
        ));
    }
    let mut resolved = config.clone();
    resolved.initial_cluster_token = config.discovery.clone();
    if initialized {
        tracing::warn!(
            "discovery token ignored since a cluster has already been initialized. Valid log found at {:?}",
            config.data_dir().join("member").join("wal")
        );
        let map = resolved.initial_cluster_map()?;
        return Ok((resolved, map));
    }
    let own_entry = format!("{}={own_peer_url}", config.name);
    let id = member_id_of(&[own_peer_url.to_string()], &config.discovery, None);
    tracing::info!("discovery URL= {}", config.discovery);
    if !config.discovery_proxy.is_empty() {
        tracing::info!("discovery proxy = {}", config.discovery_proxy);
    }
    let cluster = match crate::discovery::join_cluster(
        &config.discovery,
        &config.discovery_proxy,
        id,
        &own_entry,
    )
    .await
    {
        Ok(c) => c,
        Err(e) if e.is_full_cluster() && config.discovery_fallback == FALLBACK_PROXY => {
            return Err(EmbedError::Unsupported {
                setting: "discovery-fallback".into(),
                reason: format!(
                    "failed to join discovery cluster ({e}): etcd falls back to a v2 proxy \
                     here (--discovery-fallback=proxy), and etcd-sim has no proxy mode"
                ),
            });
        }
        Err(e) => return Err(EmbedError::Discovery(failure_report(&config, &e))),
    };
    resolved.initial_cluster = Some(cluster);
    resolved.discovery.clear();
    let map = resolved.initial_cluster_map().map_err(|e| match e {
        EmbedError::Bootstrap(m) if m.ends_with("has duplicate url") => {
            EmbedError::Bootstrap(m.replacen("initial cluster", "discovery cluster", 1))
        }
        other => other,
    })?;
    resolved.discovery = config.discovery.clone();
    resolved.initial_cluster = None;
    Ok((resolved, map))
}

/// What etcd prints when discovery fails (`etcdmain`), as one text.
fn failure_report(config: &Config, e: &DiscoveryError) -> String {
    let token = &config.discovery;
    match e {
        DiscoveryError::DuplicateId => format!(
            "member {:?} has previously registered with discovery service token ({token}). \
             But etcd could not find valid cluster configuration in the given data dir ({}). \
             Please check the given data dir path if the previous bootstrap succeeded \
             or use a new discovery token if the previous bootstrap failed.",
            config.name,
            config.data_dir().display()
        ),
        DiscoveryError::DuplicateName => format!(
            "member with duplicated name has registered with discovery service token({token}). \
             please check (cURL) the discovery token for more information. \
             please do not reuse the discovery token and generate a new one to bootstrap the cluster."
        ),
        other => format!(
            "failed to join discovery cluster ({other}). \
             discovery token {token} was used, but failed to bootstrap the cluster. \
             please generate a new discovery token and try to bootstrap again."
        ),
    }
}

/// The initial cluster from `--discovery-srv`'s SRV records.
async fn from_dns(config: Config, own_peer_url: &str) -> Result<(Config, UrlsMap), EmbedError> {
    let setup = |e: String| EmbedError::Bootstrap(format!("error setting up initial cluster: {e}"));
    let resolver = crate::discovery::srv::SystemResolver::new().map_err(setup)?;
    let cluster = crate::discovery::srv::dns_cluster(
        &resolver,
        &config.name,
        &config.discovery_srv,
        &config.discovery_srv_name,
        &[own_peer_url.to_string()],
    )
    .await
    .map_err(|e| {
        tracing::error!("couldn't resolve during SRV discovery ({e})");
        setup(e)
    })?;
    let mut resolved = config.clone();
    resolved.initial_cluster = Some(cluster);
    resolved.discovery_srv.clear();
    let map = resolved.initial_cluster_map()?;
    resolved.discovery_srv = config.discovery_srv.clone();
    Ok((resolved, map))
}
