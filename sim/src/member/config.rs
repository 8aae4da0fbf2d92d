//! [`MemberConfig`]: what etcd's command-line flags say about one member, with
//! etcd's defaults.

use super::ids::member_id;
use super::unsafe_mode::UnsafeMode;
use std::net::SocketAddr;
use std::time::Duration;

/// The configuration of one member (etcd's `--name`, `--advertise-client-urls`,
/// `--initial-advertise-peer-urls`, `--initial-cluster`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberConfig {
    /// The member's name (`--name`, default `default`).
    pub name: String,
    /// Where the member serves clients, e.g. `http://10.0.0.1:2379`: advertised, and
    /// listened on by [`crate::member::Member::start`] (the host must then be an IP
    /// literal or `localhost`).
    pub client_url: String,
    /// Where the member takes Raft traffic, e.g. `http://10.0.0.1:2380`. The host
    /// must be an IP literal or `localhost`.
    pub peer_url: String,
    /// etcd's `--initial-cluster`: (name, peer URL) of every initial member, this
    /// one included. Empty means this member alone. A member joining with
    /// [`MemberConfig::existing`] lists the members it can reach and itself.
    pub initial_cluster: Vec<(String, String)>,
    /// `--initial-cluster-token` (default `etcd-cluster`): part of every member id.
    pub cluster_token: String,
    /// `--initial-cluster-state existing`: join a running cluster (after a
    /// `member add`) instead of bootstrapping a new one.
    pub existing: bool,
    /// Raft's tick, etcd's `--heartbeat-interval` (default 100 ms).
    pub tick: Duration,
    /// Ticks without a leader before an election (default 10: etcd's
    /// `--election-timeout` of 1000 ms over the 100 ms heartbeat).
    pub election_ticks: usize,
    /// Applied entries between snapshots, etcd's `--snapshot-count` (default 10 000).
    pub snapshot_count: u64,
    /// How long a request waits for its proposal before failing with
    /// `etcdserver: request timed out` (default 7 s: etcd's 5 s plus two election
    /// timeouts).
    pub request_timeout: Duration,
    /// The member id, when the cluster assigned it (a member added with
    /// `POST /v2/members` whose peer URL had been used before gets a time-salted id,
    /// as etcd gives every added member). `None`: [`member_id`]`(peer_url,
    /// cluster_token)`, which is also what `POST /v2/members` assigns when it can.
    pub member_id: Option<u64>,
    /// A deliberately unsafe behaviour, **for testing the chaos checker only**
    /// ([`UnsafeMode`]). `None` (the default): behave as etcd does.
    pub unsafe_mode: Option<UnsafeMode>,
    /// Client URLs published after `client_url` (the rest of etcd's
    /// `--advertise-client-urls`).
    pub extra_client_urls: Vec<String>,
    /// Where the Raft transport listens (etcd's `--listen-peer-urls`, e.g.
    /// `0.0.0.0:2380`) when not at `peer_url`'s address.
    pub listen_peer: Option<SocketAddr>,
    /// Raft pre-vote (etcd 3.4's `--pre-vote`, off there by default; on here by
    /// default, as in etcd 3.5).
    pub pre_vote: bool,
    /// etcd's `--strict-reconfig-check` (default true): refuse a membership change
    /// that could break the active quorum (500 Internal Server Error on the v2
    /// members API, as etcd answers).
    pub strict_reconfig_check: bool,
    /// etcd's `--initial-election-tick-advance`: at boot, once its peers are
    /// connected, fast-forward the election clock so the first election comes
    /// sooner than a whole election timeout. A one-member cluster always
    /// fast-forwards, as etcd's does. Default false here, keeping the simulator's
    /// multi-member boots as they were; `embed::Config` has etcd's default, true.
    pub initial_election_tick_advance: bool,
    /// etcd's `--enable-v2`: serve the v2 API (`/v2/...`) beside v3. Without it
    /// the v2 paths answer 404, as etcd 3.4's do. `embed::Config` has etcd's
    /// default, false; here it is true, for the simulator's v2 tests.
    pub enable_v2: bool,
    /// etcd's `--auto-compaction-mode` / `--auto-compaction-retention` (none:
    /// off, etcd's default).
    pub auto_compaction: Option<crate::server::v3_compactor::AutoCompaction>,
    /// The limits on v3 requests (`--max-txn-ops`, `--max-request-bytes`, the
    /// watch progress interval).
    pub v3_limits: crate::server::v3_backend::V3Limits,
    /// `--auth-token`: the v3 token provider (simple by default, or JWT).
    pub auth_token: crate::auth::v3::TokenKind,
    /// The v3 state to start from (a restored data dir's, see
    /// `embed::restore`): loaded before the log is applied. None: empty.
    pub v3_restore: Option<std::sync::Arc<Vec<u8>>>,
    /// etcd's `--force-new-cluster`: restarting from a disk that holds state,
    /// commit what it holds and come up as a one-member cluster of this member,
    /// every other member removed (see [`crate::raft::standalone`]).
    pub force_new_cluster: bool,
    /// The peer transport (not an etcd setting; see
    /// [`crate::raft::PeerTransportKind`]).
    pub peer_transport: crate::raft::PeerTransportKind,
    /// etcd's `--experimental-initial-corrupt-check`: before serving, compare
    /// this member's HashKV with its peers' at its revision and refuse to start
    /// on a mismatch (the member's `corrupt_check` module).
    pub initial_corrupt_check: bool,
    /// etcd's `--experimental-corrupt-check-time` (`None`: off, etcd's 0):
    /// while leading, compare HashKV with the followers this often and raise
    /// the CORRUPT alarm on a mismatch.
    pub corrupt_check_time: Option<Duration>,
}

impl Default for MemberConfig {
    fn default() -> Self {
        let tick = Duration::from_millis(100);
        let election_ticks = 10;
        Self {
            name: "default".into(),
            client_url: "http://127.0.0.1:2379".into(),
            peer_url: "http://127.0.0.1:2380".into(),
            initial_cluster: Vec::new(),
            cluster_token: "etcd-cluster".into(),
            existing: false,
            tick,
            election_ticks,
            snapshot_count: 10_000,
            request_timeout: etcd_request_timeout(tick, election_ticks),
            member_id: None,
            unsafe_mode: None,
            extra_client_urls: Vec::new(),
            listen_peer: None,
            enable_v2: true,
            auto_compaction: None,
            v3_limits: crate::server::v3_backend::V3Limits::default(),
            auth_token: crate::auth::v3::TokenKind::Simple,
            v3_restore: None,
            pre_vote: true,
            strict_reconfig_check: true,
            initial_election_tick_advance: false,
            force_new_cluster: false,
            peer_transport: crate::raft::PeerTransportKind::default(),
            initial_corrupt_check: false,
            corrupt_check_time: None,
        }
    }
}

/// etcd's request timeout: 5 s plus two election timeouts.
pub fn etcd_request_timeout(tick: Duration, election_ticks: usize) -> Duration {
    let election = tick.saturating_mul(u32::try_from(election_ticks).unwrap_or(u32::MAX));
    Duration::from_secs(5).saturating_add(election.saturating_mul(2))
}

/// An initial member: id, name, peer URL and the address its peer URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialMember {
    /// Member id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Peer URL as configured.
    pub peer_url: String,
    /// Its host and port.
    pub addr: SocketAddr,
}

impl MemberConfig {
    /// A configuration for member `name` on `ip`, with etcd's ports (2379 for
    /// clients, 2380 for peers) and the other fields at their defaults.
    pub fn on_ip(name: &str, ip: &str) -> Self {
        Self {
            name: name.into(),
            client_url: format!("http://{ip}:2379"),
            peer_url: format!("http://{ip}:2380"),
            ..Self::default()
        }
    }

    /// The client URLs the member publishes: `client_url`, then `extra_client_urls`.
    pub fn client_urls(&self) -> Vec<String> {
        let mut urls = vec![self.client_url.clone()];
        urls.extend(self.extra_client_urls.iter().cloned());
        urls
    }

    /// This member's id.
    pub fn id(&self) -> u64 {
        self.member_id
            .unwrap_or_else(|| member_id(&self.peer_url, &self.cluster_token))
    }

    /// The initial cluster with ids and addresses (this member alone when
    /// `initial_cluster` is empty), in the given order.
    ///
    /// # Errors
    ///
    /// A description of the first peer URL that does not name an IP and port.
    pub fn initial_members(&self) -> Result<Vec<InitialMember>, String> {
        let own = [(self.name.clone(), self.peer_url.clone())];
        let list = if self.initial_cluster.is_empty() {
            &own[..]
        } else {
            &self.initial_cluster[..]
        };
        list.iter()
            .map(|(name, url)| {
                let id = if *url == self.peer_url {
                    self.id()
                } else {
                    member_id(url, &self.cluster_token)
                };
                Ok(InitialMember {
                    id,
                    name: name.clone(),
                    peer_url: url.clone(),
                    addr: url_socket_addr(url)?,
                })
            })
            .collect()
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// A description of the first problem: a peer URL without an IP and port, a tick or
    /// election timeout of zero, a bootstrapping member missing from its own
    /// initial cluster.
    pub fn validate(&self) -> Result<(), String> {
        url_socket_addr(&self.peer_url)?;
        if self.tick.is_zero() || self.election_ticks == 0 {
            return Err("tick and election ticks must be positive".into());
        }
        let members = self.initial_members()?;
        if !self.existing && !members.iter().any(|m| m.peer_url == self.peer_url) {
            return Err(format!(
                "peer URL {} is not in the initial cluster",
                self.peer_url
            ));
        }
        Ok(())
    }
}

/// The `host:port` of `http://host:port` (any scheme) as a socket address.
///
/// # Errors
///
/// A description when the URL has no `scheme://` or its host is not an IP literal
/// with a port.
pub fn url_socket_addr(url: &str) -> Result<SocketAddr, String> {
    let (_, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("URL without a scheme: {url}"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // etcd binds `localhost` as the loopback address (the one host name it accepts).
    if let Some(port) = authority.strip_prefix("localhost:") {
        return format!("127.0.0.1:{port}")
            .parse()
            .map_err(|e| format!("URL {url}: bad port: {e}"));
    }
    authority
        .parse()
        .map_err(|e| format!("URL {url}: host must be an IP literal with a port: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_etcds() {
        let c = MemberConfig::default();
        assert_eq!(c.request_timeout, Duration::from_secs(7));
        assert_eq!(c.name, "default");
        assert_eq!(c.cluster_token, "etcd-cluster");
        c.validate().unwrap();
        assert_eq!(c.initial_members().unwrap().len(), 1);
        assert_eq!(c.id(), member_id("http://127.0.0.1:2380", "etcd-cluster"));
    }

    #[test]
    fn urls_and_initial_cluster() {
        assert_eq!(
            url_socket_addr("http://10.0.1.2:2380").unwrap(),
            "10.0.1.2:2380".parse().unwrap()
        );
        assert_eq!(
            url_socket_addr("https://[::1]:2380/").unwrap(),
            "[::1]:2380".parse().unwrap()
        );
        assert!(url_socket_addr("10.0.0.1:2380").is_err());
        assert_eq!(
            url_socket_addr("http://localhost:2380").unwrap(),
            "127.0.0.1:2380".parse().unwrap()
        );
        assert!(url_socket_addr("http://example.com:2380").is_err());
        let mut c = MemberConfig::on_ip("a", "10.0.1.1");
        c.initial_cluster = vec![("b".into(), "http://10.0.1.2:2380".into())];
        assert!(
            c.validate().is_err(),
            "a bootstrapping member must be listed"
        );
        c.existing = true;
        c.validate().unwrap();
        c.member_id = Some(7);
        c.initial_cluster.push(("a".into(), c.peer_url.clone()));
        let m = c.initial_members().unwrap();
        assert_eq!(m[1].id, 7);
        assert_eq!(m[0].id, member_id("http://10.0.1.2:2380", "etcd-cluster"));
    }
}
