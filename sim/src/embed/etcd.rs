//! [`start`] and [`Etcd`]: an embedded server (etcd's `embed.StartEtcd`), running on
//! the current tokio runtime.

use super::config::{ClusterState, Config};
use super::disk::open_disk;
use super::error::EmbedError;
use super::urls::{url_host, url_port};
use crate::api::v2::user_handlers::UserRoutes;
use crate::member::config::etcd_request_timeout;
use crate::member::{ClientHooks, Member, MemberConfig};
use crate::metrics::MetricsLevel;
use crate::server::v3_backend::V3Limits;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// A running embedded server. Stop it with [`Etcd::close`].
#[derive(Debug)]
pub struct Etcd {
    config: Config,
    member: Member,
    client_urls: Vec<String>,
    advertise_client_urls: Vec<String>,
    peer_url: String,
    advertise_peer_url: String,
    errors: broadcast::Sender<EmbedError>,
    last_error: Arc<Mutex<Option<EmbedError>>>,
    watcher: JoinHandle<()>,
}

/// The fatal errors of an [`Etcd`] (etcd's `Err()` channel): the server stopping
/// on its own. Ends (`None`) once the server is closed.
#[derive(Debug)]
pub struct ErrorStream {
    rx: broadcast::Receiver<EmbedError>,
    pending: Option<EmbedError>,
}

impl ErrorStream {
    /// The next fatal error, or `None` once the server is closed.
    pub async fn recv(&mut self) -> Option<EmbedError> {
        if let Some(e) = self.pending.take() {
            return Some(e);
        }
        loop {
            match self.rx.recv().await {
                Ok(e) => return Some(e),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Starts a server with `config` (etcd's `embed.StartEtcd`): validates it, binds
/// the client and peer URLs (a port of 0 gets a free port, and an advertised URL
/// with port 0 gets the port bound for it), opens the data directory and starts
/// the member. The member may not have joined yet: wait on [`Etcd::ready`].
///
/// # Errors
///
/// The validation errors ([`Config::validate`]), [`EmbedError::Listen`],
/// [`EmbedError::DataDir`], [`EmbedError::Member`].
pub async fn start(config: Config) -> Result<Etcd, EmbedError> {
    config.validate()?;
    config.initial_cluster_map()?;
    log_config(&config);

    let client_tls = super::client_tls::server_tls(&config)?;
    let mut listeners = Vec::new();
    let mut client_urls = Vec::new();
    for url in &config.listen_client_urls {
        let addr = bind_addr(url)?;
        let listener = crate::member::listen::bind(addr)
            .await
            .map_err(|e| listen_error(addr, &e))?;
        let bound = listener.local_addr().map_err(|e| listen_error(addr, &e))?;
        client_urls.push(with_port(url, bound.port()));
        listeners.push(super::client_tls::client_listener(
            listener,
            url,
            client_tls.as_ref(),
        ));
    }
    let advertise_client_urls: Vec<String> = config
        .advertise_client_urls
        .iter()
        .map(|u| resolve_zero_port(u, &config.listen_client_urls, &client_urls))
        .collect();

    let listen_peer = &config.listen_peer_urls[0];
    let mut peer_addr = bind_addr(listen_peer)?;
    if peer_addr.port() == 0 {
        peer_addr
            .set_port(free_peer_port(peer_addr.ip()).map_err(|e| listen_error(peer_addr, &e))?);
    }
    let peer_url = with_port(listen_peer, peer_addr.port());
    let advertise_peer_url = resolve_zero_port(
        &config.initial_advertise_peer_urls[0],
        &config.listen_peer_urls,
        std::slice::from_ref(&peer_url),
    );
    let disk = open_disk(&config)?;
    let initialized = !crate::raft::Disk::read(&disk, |s| s.is_empty());
    let (config, map) = super::bootstrap::resolve(config, &advertise_peer_url, initialized).await?;
    let initial_cluster: Vec<(String, String)> = map
        .iter()
        .map(|(name, urls)| {
            let url = if *name == config.name {
                resolve_zero_port(
                    &urls[0],
                    &config.initial_advertise_peer_urls,
                    std::slice::from_ref(&advertise_peer_url),
                )
            } else {
                urls[0].clone()
            };
            (name.clone(), url)
        })
        .collect();

    let tick = config.tick();
    let election_ticks = config.election_ticks();
    let v3_restore = super::restore::load(&config.data_dir())
        .map_err(|e| EmbedError::DataDir {
            path: config.data_dir().display().to_string(),
            error: e.to_string(),
        })?
        .map(Arc::new);
    let member_cfg = MemberConfig {
        name: config.name.clone(),
        client_url: advertise_client_urls[0].clone(),
        extra_client_urls: advertise_client_urls[1..].to_vec(),
        peer_url: advertise_peer_url.clone(),
        listen_peer: Some(peer_addr),
        initial_cluster,
        cluster_token: config.initial_cluster_token.clone(),
        existing: config.initial_cluster_state == ClusterState::Existing,
        tick,
        election_ticks,
        snapshot_count: config.effective_snapshot_count(),
        request_timeout: etcd_request_timeout(tick, election_ticks),
        member_id: None,
        pre_vote: config.pre_vote,
        strict_reconfig_check: config.strict_reconfig_check,
        initial_election_tick_advance: config.initial_election_tick_advance,
        unsafe_mode: None,
        enable_v2: config.enable_v2,
        auto_compaction: config.auto_compaction()?,
        v3_limits: V3Limits {
            max_txn_ops: config.max_txn_ops as usize,
            max_request_bytes: config.max_request_bytes as usize,
            watch_progress_notify_interval: config.watch_progress_notify_interval,
            bcrypt_cost: config.bcrypt_cost,
            auth_token_ttl: std::time::Duration::from_secs(config.auth_token_ttl),
            quota_backend_bytes: crate::server::v3_quota::quota_of(config.quota_backend_bytes),
        },
        v3_restore,
        auth_token: config.token_kind()?,
        force_new_cluster: config.force_new_cluster,
        peer_transport: config.peer_transport,
        initial_corrupt_check: config.experimental_initial_corrupt_check,
        corrupt_check_time: Some(config.experimental_corrupt_check_time).filter(|t| !t.is_zero()),
    };
    let mut metrics_listeners = Vec::new();
    for url in &config.listen_metrics_urls {
        let addr = bind_addr(url)?;
        let listener = crate::member::listen::bind(addr)
            .await
            .map_err(|e| listen_error(addr, &e))?;
        metrics_listeners.push(listener);
    }
    let hooks = ClientHooks {
        user_handlers: Some(UserRoutes::new(config.user_handlers.clone())),
        service_register: config.service_register.clone(),
    };
    let member = Member::start_with_hooks(member_cfg, disk, listeners, hooks).await?;
    if MetricsLevel::parse(&config.metrics) == MetricsLevel::Extensive {
        member.metrics().grpc.enable_handling_time();
    }
    for listener in metrics_listeners {
        tracing::info!(addr = ?listener.local_addr().ok(), "embed: serving metrics");
        member.serve_metrics(listener);
    }
    tracing::info!(%peer_addr, "embed: listening for peers on {peer_addr}");

    let (errors, _) = broadcast::channel(4);
    let last_error = Arc::new(Mutex::new(None));
    let watcher = tokio::spawn({
        let (member, errors, last_error) = (member.clone(), errors.clone(), last_error.clone());
        async move {
            if let Err(e) = member.wait_stopped().await {
                let err = EmbedError::Stopped(e.to_string());
                tracing::error!(error = %err, "embed: server stopped");
                *lock(&last_error) = Some(err.clone());
                let _ = errors.send(err);
                // Its consensus is gone (a fatal disk error, a panic of its Raft
                // task): stop serving at once rather than keep taking requests that
                // can only fail. `close` still ends the rest.
                member.stop().await;
            }
        }
    });
    Ok(Etcd {
        config,
        member,
        client_urls,
        advertise_client_urls,
        peer_url,
        advertise_peer_url,
        errors,
        last_error,
        watcher,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Etcd {
    /// Resolves once the member has joined the cluster and published itself, so it
    /// can serve (etcd's `Server.ReadyNotify()`).
    ///
    /// # Errors
    ///
    /// [`EmbedError::Stopped`] if the server stopped first.
    pub async fn ready(&self) -> Result<(), EmbedError> {
        if self.member.wait_ready().await {
            return Ok(());
        }
        Err(EmbedError::Stopped(
            self.member
                .status()
                .stopped
                .unwrap_or_else(|| "closed".into()),
        ))
    }

    /// The fatal errors (etcd's `Err()`): yields an error if the server stops on
    /// its own, and ends once it is closed.
    pub fn err(&self) -> ErrorStream {
        ErrorStream {
            rx: self.errors.subscribe(),
            pending: lock(&self.last_error).clone(),
        }
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The client URLs listened on, with the ports actually bound.
    pub fn client_urls(&self) -> &[String] {
        &self.client_urls
    }

    /// The client URLs advertised to clients (ports of 0 resolved).
    pub fn advertise_client_urls(&self) -> &[String] {
        &self.advertise_client_urls
    }

    /// The peer URL listened on, with the port actually used.
    pub fn peer_url(&self) -> &str {
        &self.peer_url
    }

    /// The peer URL advertised to the cluster (its port of 0 resolved).
    pub fn advertise_peer_url(&self) -> &str {
        &self.advertise_peer_url
    }

    /// The member (id, status, store index).
    pub fn member(&self) -> &Member {
        &self.member
    }

    /// The grace period [`Etcd::close`] gives requests in flight: etcd's request
    /// timeout (5 s plus two election timeouts).
    pub fn close_grace(&self) -> Duration {
        etcd_request_timeout(self.config.tick(), self.config.election_ticks())
    }

    /// Shuts down gracefully (etcd's `Close`): stops accepting clients, lets
    /// requests in flight finish within [`Etcd::close_grace`] (idle connections close
    /// at once; what still runs after is cut off), then stops Raft and the disk.
    pub async fn close(self) {
        let grace = self.close_grace();
        self.close_within(grace).await;
    }

    /// As [`Etcd::close`], with the grace period given.
    pub async fn close_within(self, grace: Duration) {
        self.watcher.abort();
        self.member.stop_gracefully(grace).await;
        tracing::info!(name = %self.config.name, "embed: closed");
    }
}

fn listen_error(addr: SocketAddr, e: &std::io::Error) -> EmbedError {
    EmbedError::Listen {
        addr: addr.to_string(),
        error: e.to_string(),
    }
}

/// The socket address a listen URL binds (`localhost` is the IPv4 loopback).
fn bind_addr(url: &str) -> Result<SocketAddr, EmbedError> {
    let host = url_host(url);
    let ip: IpAddr = if host == "localhost" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse()
            .map_err(|_| EmbedError::Invalid(format!("expected IP in URL for binding ({url})")))?
    };
    let port = url_port(url).ok_or_else(|| {
        EmbedError::Invalid(format!(
            "URL address does not have the form \"host:port\": {url}"
        ))
    })?;
    Ok(SocketAddr::new(ip, port))
}

/// `url` with its port replaced.
fn with_port(url: &str, port: u16) -> String {
    let host = url_host(url);
    let scheme = url.split_once("://").map_or("http", |(s, _)| s);
    if host.contains(':') {
        format!("{scheme}://[{host}]:{port}")
    } else {
        format!("{scheme}://{host}:{port}")
    }
}

/// An advertised URL with port 0 takes the port bound for the listen URL with the
/// same host (else for the first one); other URLs are returned as they are.
fn resolve_zero_port(url: &str, listen: &[String], bound: &[String]) -> String {
    if url_port(url) != Some(0) {
        return url.to_string();
    }
    let same_host = listen.iter().position(|l| url_host(l) == url_host(url));
    match bound.get(same_host.unwrap_or(0)).and_then(|b| url_port(b)) {
        Some(port) => with_port(url, port),
        None => url.to_string(),
    }
}

/// A port free for both UDP and TCP on `ip` (the datagram peer transport needs both
/// on one port, the stream one TCP). Another process may take it before the
/// transport binds it.
fn free_peer_port(ip: IpAddr) -> std::io::Result<u16> {
    let mut last = None;
    for _ in 0..32 {
        let udp = std::net::UdpSocket::bind((ip, 0))?;
        let port = udp.local_addr()?.port();
        match std::net::TcpListener::bind((ip, port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port")))
}

/// Logs the settings in effect, as etcd does at start.
fn log_config(c: &Config) {
    tracing::info!("embed: name = {}", c.name);
    tracing::info!("embed: data dir = {}", c.data_dir().display());
    tracing::info!("embed: heartbeat = {}ms", c.heartbeat_ms);
    tracing::info!("embed: election = {}ms", c.election_ms);
    tracing::info!("embed: snapshot count = {}", c.effective_snapshot_count());
    tracing::info!(
        "embed: advertise client URLs = {}",
        c.advertise_client_urls.join(",")
    );
    tracing::info!("embed: strict reconfig check = {}", c.strict_reconfig_check);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_zero_resolve_to_bound_ports() {
        let listen = vec![
            "http://127.0.0.1:0".to_string(),
            "http://127.0.0.2:0".to_string(),
        ];
        let bound = vec![
            "http://127.0.0.1:4001".to_string(),
            "http://127.0.0.2:4002".to_string(),
        ];
        assert_eq!(
            resolve_zero_port("http://127.0.0.2:0", &listen, &bound),
            "http://127.0.0.2:4002"
        );
        assert_eq!(
            resolve_zero_port("http://10.0.0.1:0", &listen, &bound),
            "http://10.0.0.1:4001"
        );
        assert_eq!(
            resolve_zero_port("http://10.0.0.1:9", &listen, &bound),
            "http://10.0.0.1:9"
        );
        assert_eq!(with_port("http://[::1]:0", 5), "http://[::1]:5");
        assert_eq!(
            bind_addr("http://localhost:2379").unwrap(),
            "127.0.0.1:2379".parse().unwrap()
        );
        assert!(bind_addr("http://example.com:1").is_err());
    }
}
