//! A fresh server to run etcdctl against: etcd 3.4.23 (the root package's harness,
//! [`crate::etcd`]) or etcd-sim members started in-process.

use crate::EtcdCluster;
use crate::ports::free_ports;
use crate::raw_http;
use etcd_sim::member::{Member, MemberConfig};
use etcd_sim::raft::MemDisk;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// How long an etcd-sim cluster may take to elect, publish and decide its version.
const SIM_STARTUP: Duration = Duration::from_secs(20);

/// How long moving leadership to `m0` may take.
const LEADER_MOVE_TIMEOUT: Duration = Duration::from_secs(15);

/// The timeout of the harness's own HTTP probes.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which server a transcript was taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `/usr/bin/etcd` 3.4.23 with `--enable-v2`.
    Etcd,
    /// Our members, in this process.
    Sim,
}

/// Server flags a scenario sets, given to both servers alike (etcd's command-line
/// flags; etcd-sim's [`MemberConfig`] fields of the same meaning).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--max-txn-ops` (default 128).
    pub max_txn_ops: Option<usize>,
    /// `--quota-backend-bytes` (default 0: etcd's 2 GiB).
    pub quota_backend_bytes: Option<u64>,
}

impl Flags {
    /// The flags as etcd's command line spells them.
    fn etcd_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(n) = self.max_txn_ops {
            args.push(format!("--max-txn-ops={n}"));
        }
        if let Some(n) = self.quota_backend_bytes {
            args.push(format!("--quota-backend-bytes={n}"));
        }
        args
    }

    /// `cfg` with the flags applied.
    fn apply_to(&self, cfg: &mut MemberConfig) {
        if let Some(n) = self.max_txn_ops {
            cfg.v3_limits.max_txn_ops = n;
        }
        if let Some(n) = self.quota_backend_bytes {
            cfg.v3_limits.quota_backend_bytes = Some(n);
        }
    }
}

/// One member as the cluster lists it.
#[derive(Clone, Debug)]
pub struct MemberInfo {
    /// The id as `/v2/members` and etcdctl print it (lowercase hex).
    pub id: String,
    /// `m<i>`, the same on both servers.
    pub name: String,
    /// The client URL.
    pub client_url: String,
    /// The peer URL.
    pub peer_url: String,
}

enum Running {
    Etcd(EtcdCluster),
    Sim((Vec<Member>, String)),
}

/// A running cluster of either flavor; stopped on drop.
pub struct Server {
    flavor: Flavor,
    members: Vec<MemberInfo>,
    cluster_id: String,
    ready_at: Instant,
    running: Option<Running>,
    // Declared last: dropped after the members it runs.
    rt: Runtime,
}

impl Server {
    /// Starts an `n`-member cluster of `flavor` and waits until it is ready: every
    /// member published and the cluster version decided (a fresh one-member
    /// cluster's first write then gets index 4 on both).
    pub fn start(flavor: Flavor, n: usize) -> Server {
        Server::start_with(flavor, n, &Flags::default())
    }

    /// As [`Server::start`], with `flags` given to every member.
    pub fn start_with(flavor: Flavor, n: usize, flags: &Flags) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let running = match flavor {
            Flavor::Etcd => {
                let args = flags.etcd_args();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                Running::Etcd(rt.block_on(EtcdCluster::start_with_flags(n, &args)))
            }
            Flavor::Sim => Running::Sim(rt.block_on(start_sim(n, flags))),
        };
        let first = match &running {
            Running::Etcd(c) => c.client_urls()[0].clone(),
            Running::Sim((_, url)) => url.clone(),
        };
        let mut server = Server {
            flavor,
            members: Vec::new(),
            cluster_id: String::new(),
            ready_at: Instant::now(),
            running: Some(running),
            rt,
        };
        (server.members, server.cluster_id) = server.list_members(&first);
        server.members.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(server.members.len(), n, "{flavor:?}: members listed");
        if n > 1 {
            server.put_m0_in_the_lead();
        }
        server
    }

    /// Moves leadership to `m0` (elections are random; transcripts show who leads)
    /// and waits until every member names it leader.
    fn put_m0_in_the_lead(&self) {
        let m0 = self.members[0].id.clone();
        let deadline = Instant::now() + LEADER_MOVE_TIMEOUT;
        loop {
            let leaders: Vec<String> = self
                .members
                .iter()
                .map(|m| self.leader_seen_by(&m.client_url))
                .collect();
            if leaders.iter().all(|l| *l == m0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?}: leadership did not move to m0 ({leaders:?})",
                self.flavor
            );
            match &self.running {
                Some(Running::Etcd(_)) => {
                    let endpoints: Vec<&str> =
                        self.members.iter().map(|m| m.client_url.as_str()).collect();
                    // etcdctl v3 finds the leader among the endpoints and asks it.
                    let out = std::process::Command::new(super::transcript::ETCDCTL_BIN)
                        .env("ETCDCTL_API", "3")
                        .arg("--endpoints")
                        .arg(endpoints.join(","))
                        .args(["move-leader", &m0])
                        .output()
                        .expect("run etcdctl move-leader");
                    if !out.status.success() {
                        eprintln!(
                            "move-leader: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        );
                    }
                }
                Some(Running::Sim((members, _))) => {
                    let to = u64::from_str_radix(&m0, 16).expect("a hex member id");
                    for m in members.iter().filter(|m| m.status().is_leader()) {
                        m.transfer_leader(to).expect("transfer leadership");
                    }
                }
                None => {}
            }
            self.sleep(Duration::from_millis(200));
        }
    }

    /// The id of the leader `GET /v2/members/leader` names at `url` ("" if none).
    fn leader_seen_by(&self, url: &str) -> String {
        let r = self
            .rt
            .block_on(raw_http::get(url, "/v2/members/leader", PROBE_TIMEOUT));
        r.ok()
            .filter(|r| r.status == 200)
            .and_then(|r| r.json()["id"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The flavor.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The members, by name (`m0`, `m1`, ...).
    pub fn members(&self) -> &[MemberInfo] {
        &self.members
    }

    /// The cluster id as etcd's v2 API prints it (lowercase hex).
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Member `m0`'s client URL: where etcdctl is pointed.
    pub fn endpoint(&self) -> &str {
        &self.members[0].client_url
    }

    /// The store's current index (`X-Etcd-Index` of `GET /v2/keys/`).
    pub fn index(&self) -> u64 {
        let url = self.endpoint().to_string();
        let r = self
            .rt
            .block_on(raw_http::get(&url, "/v2/keys/", PROBE_TIMEOUT))
            .unwrap_or_else(|e| panic!("{:?}: GET /v2/keys/: {e}", self.flavor));
        r.header("x-etcd-index")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{:?}: no X-Etcd-Index in {r:?}", self.flavor))
    }

    /// The v3 store's current revision (the header of a `POST /v3/kv/range` through
    /// the JSON gateway; not recorded).
    pub fn revision(&self) -> i64 {
        let url = self.endpoint().to_string();
        let body = br#"{"key":"AA==","limit":1}"#;
        let r = self
            .rt
            .block_on(raw_http::request(
                &url,
                "POST",
                "/v3/kv/range",
                Some(("application/json", body.as_slice())),
                PROBE_TIMEOUT,
            ))
            .unwrap_or_else(|e| panic!("{:?}: POST /v3/kv/range: {e}", self.flavor));
        let v = r.json();
        v["header"]["revision"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{:?}: no revision in {v}", self.flavor))
    }

    /// Puts `key` = `value` with a raw `POST /v3/kv/put` through the JSON gateway
    /// (not through etcdctl, not recorded): for filling the v3 history quickly.
    pub fn put_v3_raw(&self, key: &str, value: &str) {
        let url = self.endpoint().to_string();
        let body = format!(
            r#"{{"key":"{}","value":"{}"}}"#,
            base64(key.as_bytes()),
            base64(value.as_bytes())
        );
        let r = self
            .rt
            .block_on(raw_http::request(
                &url,
                "POST",
                "/v3/kv/put",
                Some(("application/json", body.as_bytes())),
                PROBE_TIMEOUT,
            ))
            .unwrap_or_else(|e| panic!("{:?}: POST /v3/kv/put: {e}", self.flavor));
        assert_eq!(r.status, 200, "{:?}: POST /v3/kv/put: {r:?}", self.flavor);
    }

    /// Sends `body` (JSON) to the gateway's `path` (`/v3/...`) on the first
    /// member (not through etcdctl, not recorded) and returns the HTTP status.
    pub fn post_v3_raw(&self, path: &str, body: &str) -> u16 {
        let url = self.endpoint().to_string();
        let r = self
            .rt
            .block_on(raw_http::request(
                &url,
                "POST",
                path,
                Some(("application/json", body.as_bytes())),
                PROBE_TIMEOUT,
            ))
            .unwrap_or_else(|e| panic!("{:?}: POST {path}: {e}", self.flavor));
        r.status
    }

    /// Sets `key` to `value` with a raw `PUT /v2/keys<key>` (not through etcdctl,
    /// not recorded): for filling the event history quickly.
    pub fn put_raw(&self, key: &str, value: &str) {
        let url = self.endpoint().to_string();
        let body = format!("value={value}");
        let path = format!("/v2/keys{key}");
        let r = self
            .rt
            .block_on(raw_http::request(
                &url,
                "PUT",
                &path,
                Some(("application/x-www-form-urlencoded", body.as_bytes())),
                PROBE_TIMEOUT,
            ))
            .unwrap_or_else(|e| panic!("{:?}: PUT {path}: {e}", self.flavor));
        assert!(r.status < 300, "{:?}: PUT {path}: {r:?}", self.flavor);
    }

    /// Stops member `i` (etcd: SIGKILL; etcd-sim: [`Member::stop`]).
    pub fn stop_member(&self, i: usize) {
        match &self.running {
            Some(Running::Etcd(c)) => c.member(i).kill(),
            Some(Running::Sim((members, _))) => self.rt.block_on(members[i].stop()),
            None => {}
        }
    }

    /// Waits until the cluster has been ready for `d` (etcd refuses membership
    /// changes until its peers have been connected for 5 s).
    pub fn settle_for(&self, d: Duration) {
        self.sleep((self.ready_at + d).saturating_duration_since(Instant::now()));
    }

    /// Lets `d` pass (TTLs expire meanwhile).
    pub fn wait(&self, d: Duration) {
        self.sleep(d);
    }

    /// Sleeps on the server's runtime (whose timers need it to be entered).
    fn sleep(&self, d: Duration) {
        self.rt.block_on(async move { tokio::time::sleep(d).await });
    }

    /// The members `GET /v2/members` lists at `url`, and the cluster id its
    /// `X-Etcd-Cluster-ID` header names.
    fn list_members(&self, url: &str) -> (Vec<MemberInfo>, String) {
        let r = self
            .rt
            .block_on(raw_http::get(url, "/v2/members", PROBE_TIMEOUT))
            .unwrap_or_else(|e| panic!("{:?}: GET /v2/members: {e}", self.flavor));
        let cluster_id = r
            .header("x-etcd-cluster-id")
            .unwrap_or_default()
            .to_string();
        let v = r.json();
        let list = v["members"].as_array().cloned().unwrap_or_default();
        let members = list
            .iter()
            .map(|m| MemberInfo {
                id: m["id"].as_str().unwrap_or_default().to_string(),
                name: m["name"].as_str().unwrap_or_default().to_string(),
                client_url: m["clientURLs"][0].as_str().unwrap_or_default().to_string(),
                peer_url: m["peerURLs"][0].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        (members, cluster_id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(Running::Sim((members, _))) = self.running.take() {
            self.rt.block_on(async {
                for m in &members {
                    m.stop().await;
                }
            });
        }
    }
}

/// Starts `n` etcd-sim members (`m0`..) bootstrapping one cluster on free loopback
/// ports, with etcd's default timing and `flags`, and waits until all are ready and
/// versioned. Returns them and `m0`'s client URL.
async fn start_sim(n: usize, flags: &Flags) -> (Vec<Member>, String) {
    // A port found free can be taken by a test running in parallel before the
    // member binds it: start again on new ports then.
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        match try_start_sim(n, flags).await {
            Ok(started) => return started,
            Err(e) if attempt < ATTEMPTS && e.contains("Address already in use") => {
                eprintln!("etcd-sim harness: port clash on attempt {attempt}, retrying: {e}");
            }
            Err(e) => panic!("{e}"),
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// One attempt of [`start_sim`]: a member that cannot start is an error
/// (the members started so far are stopped).
async fn try_start_sim(n: usize, flags: &Flags) -> Result<(Vec<Member>, String), String> {
    let ports = free_ports(2 * n);
    let client = |i: usize| format!("http://127.0.0.1:{}", ports[2 * i]);
    let peer = |i: usize| format!("http://127.0.0.1:{}", ports[2 * i + 1]);
    let initial: Vec<(String, String)> = (0..n).map(|i| (format!("m{i}"), peer(i))).collect();
    let mut members = Vec::new();
    for i in 0..n {
        let mut cfg = MemberConfig {
            name: format!("m{i}"),
            client_url: client(i),
            peer_url: peer(i),
            initial_cluster: initial.clone(),
            ..MemberConfig::default()
        };
        flags.apply_to(&mut cfg);
        match Member::start(cfg, MemDisk::new()).await {
            Ok(m) => members.push(m),
            Err(e) => {
                for m in &members {
                    m.stop().await;
                }
                return Err(format!("etcd-sim member m{i} did not start: {e}"));
            }
        }
    }
    let deadline = tokio::time::Instant::now() + SIM_STARTUP;
    while !members
        .iter()
        .all(|m| m.is_ready() && m.cluster_version().is_some())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "etcd-sim cluster of {n} not ready within {SIM_STARTUP:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((members, client(0)))
}

/// `bytes` in standard base64 with padding (the gateway's JSON `bytes` fields).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn encodes_base64_with_padding() {
        for (plain, coded) in [
            ("", ""),
            ("k", "aw=="),
            ("v", "dg=="),
            ("foo", "Zm9v"),
            ("user1", "dXNlcjE="),
            ("w/a", "dy9h"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded, "{plain}");
        }
    }
}
