//! Real etcd clusters for the integration tests.
//!
//! [`EtcdCluster::start`] runs 1 or more `/usr/bin/etcd` processes (v2 API on) on
//! free loopback ports with their data and logs in a temporary directory, and
//! waits until every member is healthy, published, and the cluster version is
//! decided (so a fresh 1-member cluster's first write gets index 4, a 3-member
//! cluster's index 8). Members can be paused (SIGSTOP), resumed, killed and
//! restarted. Dropping the cluster kills every process; if the test is failing,
//! the tail of each member's log is printed first.

use crate::ports::free_ports;
use crate::raw_http;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use crate::etcd_bin::ETCD_BIN;
use crate::etcd_bin::{check_binary, require_binary};

/// How long a cluster (or a restarted member) may take to become ready. Generous:
/// the test machine is small and shared.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Start-up attempts when a port turns out to be taken.
const START_ATTEMPTS: usize = 5;

/// Lines of each member's log shown when something fails.
const LOG_TAIL_LINES: usize = 40;

/// The timeout of each probe the harness sends to a member.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

static CLUSTER_SEQ: AtomicU64 = AtomicU64::new(0);

/// A running etcd cluster; killed on drop.
pub struct EtcdCluster {
    bin: PathBuf,
    members: Vec<EtcdMember>,
    /// When the cluster was found ready.
    ready_at: Instant,
    // Dropped after the members' processes are killed (see `Drop`).
    dir: tempfile::TempDir,
}

/// One member of an [`EtcdCluster`].
pub struct EtcdMember {
    bin: PathBuf,
    index: usize,
    name: String,
    client_url: String,
    peer_url: String,
    log_path: PathBuf,
    args: Vec<String>,
    proc: Mutex<Proc>,
}

#[derive(Default)]
struct Proc {
    child: Option<Child>,
    paused: bool,
}

impl EtcdCluster {
    /// Starts an `n`-member cluster and waits until it is ready; panics (with the
    /// members' log tails) if it does not come up within [`STARTUP_TIMEOUT`].
    /// Without [`ETCD_BIN`] the test process ends at once with one line naming
    /// `scripts/install-deps.sh`.
    pub async fn start(n: usize) -> EtcdCluster {
        require_binary(Path::new(ETCD_BIN));
        match Self::try_start(n).await {
            Ok(c) => c,
            Err(e) => panic!("etcd cluster of {n} did not start: {e}"),
        }
    }

    /// Like [`EtcdCluster::start`], returning the failure (with log tails) instead.
    pub async fn try_start(n: usize) -> Result<EtcdCluster, String> {
        Self::try_start_with(Path::new(ETCD_BIN), n).await
    }

    /// [`EtcdCluster::start_with_flags`] for any binary that takes etcd's flags
    /// (the `etcd-sim` binary, say).
    pub async fn start_bin_with_flags(bin: &Path, n: usize, flags: &[&str]) -> EtcdCluster {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        match Self::try_start_full(bin, n, &std::env::temp_dir(), &flags).await {
            Ok(c) => c,
            Err(e) => panic!(
                "{} cluster of {n} with {flags:?} did not start: {e}",
                bin.display()
            ),
        }
    }

    /// Like [`EtcdCluster::start`], with extra flags given to every member (e.g.
    /// `--experimental-watch-progress-notify-interval=1s`).
    pub async fn start_with_flags(n: usize, flags: &[&str]) -> EtcdCluster {
        require_binary(Path::new(ETCD_BIN));
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        match Self::try_start_full(Path::new(ETCD_BIN), n, &std::env::temp_dir(), &flags).await {
            Ok(c) => c,
            Err(e) => panic!("etcd cluster of {n} with {flags:?} did not start: {e}"),
        }
    }

    /// Like [`EtcdCluster::start`], with another server binary that takes etcd's
    /// flags (our `etcd-sim`).
    pub async fn start_with(bin: &Path, n: usize) -> EtcdCluster {
        match Self::try_start_with(bin, n).await {
            Ok(c) => c,
            Err(e) => panic!("{} cluster of {n} did not start: {e}", bin.display()),
        }
    }

    /// Like [`EtcdCluster::try_start`], with another server binary.
    pub async fn try_start_with(bin: &Path, n: usize) -> Result<EtcdCluster, String> {
        Self::try_start_in(bin, n, &std::env::temp_dir()).await
    }

    /// Like [`EtcdCluster::try_start_with`], with the data dirs and logs in a new
    /// directory under `parent` (a tmpfs or a disk, for benchmarks).
    pub async fn try_start_in(bin: &Path, n: usize, parent: &Path) -> Result<EtcdCluster, String> {
        Self::try_start_full(bin, n, parent, &[]).await
    }

    async fn try_start_full(
        bin: &Path,
        n: usize,
        parent: &Path,
        flags: &[String],
    ) -> Result<EtcdCluster, String> {
        assert!(n >= 1, "a cluster needs a member");
        check_binary(bin)?;
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            let mut cluster = Self::spawn(bin, n, parent, flags)?;
            match cluster
                .wait_ready(n, Instant::now() + STARTUP_TIMEOUT)
                .await
            {
                Ok(()) => {
                    cluster.ready_at = Instant::now();
                    return Ok(cluster);
                }
                Err(e) => {
                    last = format!("{e}\n{}", cluster.log_tails());
                    if cluster.port_clash() && attempt < START_ATTEMPTS {
                        eprintln!(
                            "etcd harness: port clash on attempt {attempt}, retrying with new ports"
                        );
                        continue;
                    }
                    return Err(last);
                }
            }
        }
        Err(last)
    }

    fn spawn(bin: &Path, n: usize, parent: &Path, flags: &[String]) -> Result<EtcdCluster, String> {
        let dir = tempfile::Builder::new()
            .prefix("etcd-sdk-test-")
            .tempdir_in(parent)
            .map_err(|e| format!("tempdir: {e}"))?;
        let ports = free_ports(2 * n);
        let seq = CLUSTER_SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let token = format!("etcd-sdk-test-{}-{seq}-{nanos}", std::process::id());
        let peer_url = |i: usize| format!("http://127.0.0.1:{}", ports[2 * i + 1]);
        let initial_cluster = (0..n)
            .map(|i| format!("m{i}={}", peer_url(i)))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::new();
        for i in 0..n {
            let name = format!("m{i}");
            let client_url = format!("http://127.0.0.1:{}", ports[2 * i]);
            let data_dir = dir.path().join(format!("{name}.etcd"));
            let mut args = vec![
                format!("--name={name}"),
                format!("--data-dir={}", data_dir.display()),
                format!("--listen-client-urls={client_url}"),
                format!("--advertise-client-urls={client_url}"),
                format!("--listen-peer-urls={}", peer_url(i)),
                format!("--initial-advertise-peer-urls={}", peer_url(i)),
                format!("--initial-cluster={initial_cluster}"),
                format!("--initial-cluster-token={token}"),
                "--initial-cluster-state=new".to_string(),
                "--enable-v2=true".to_string(),
                "--logger=zap".to_string(),
                "--log-outputs=stderr".to_string(),
            ];
            args.extend(flags.iter().cloned());
            members.push(EtcdMember {
                bin: bin.to_path_buf(),
                index: i,
                log_path: dir.path().join(format!("{name}.log")),
                name,
                client_url,
                peer_url: peer_url(i),
                args,
                proc: Mutex::new(Proc::default()),
            });
        }
        let cluster = EtcdCluster {
            bin: bin.to_path_buf(),
            members,
            ready_at: Instant::now(),
            dir,
        };
        for m in &cluster.members {
            m.spawn_process()?;
        }
        Ok(cluster)
    }

    /// Waits until every member is healthy, the cluster version is decided and
    /// every member has published its name and client URLs.
    async fn wait_ready(&self, n: usize, deadline: Instant) -> Result<(), String> {
        for m in &self.members {
            m.wait_healthy_until(deadline).await?;
        }
        for m in &self.members {
            m.wait_until(
                deadline,
                "the cluster version to be decided",
                |url| async move {
                    let r = raw_http::get(&url, "/version", PROBE_TIMEOUT).await.ok()?;
                    let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
                    let cluster = v.get("etcdcluster")?.as_str()?;
                    (r.status == 200 && cluster != "not_decided").then_some(())
                },
            )
            .await?;
            m.wait_until(deadline, "every member to be published", |url| async move {
                let r = raw_http::get(&url, "/v2/members", PROBE_TIMEOUT)
                    .await
                    .ok()?;
                let v: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
                let list = v.get("members")?.as_array()?;
                let published = list.iter().all(|m| {
                    m.get("name")
                        .and_then(|x| x.as_str())
                        .is_some_and(|s| !s.is_empty())
                        && m.get("clientURLs")
                            .and_then(|x| x.as_array())
                            .is_some_and(|a| !a.is_empty())
                });
                (list.len() == n && published).then_some(())
            })
            .await?;
        }
        Ok(())
    }

    fn port_clash(&self) -> bool {
        self.members
            .iter()
            .any(|m| m.log().contains("address already in use"))
    }

    /// Waits until the cluster has been ready for `d`. etcd refuses membership
    /// changes ("local member has not been connected to all peers, reconfigure
    /// breaks active quorum") until its peers have been connected for 5 s.
    pub async fn settle_for(&self, d: Duration) {
        tokio::time::sleep_until((self.ready_at + d).into()).await;
    }

    /// The server binary the members run.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Number of members.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// Every member's client URL (`http://127.0.0.1:<port>`), in member order.
    pub fn client_urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    /// Member `i`.
    pub fn member(&self, i: usize) -> &EtcdMember {
        &self.members[i]
    }

    /// The index of the member whose client URL is `url`.
    pub fn index_of(&self, url: &str) -> Option<usize> {
        self.members.iter().position(|m| m.client_url == url)
    }

    /// A member that joins this cluster (`--initial-cluster-state=existing`,
    /// the others' flags and token, its own name, fresh URLs and data dir) once
    /// `member add` has added its peer URL. Not started: see
    /// [`EtcdMember::start`]; killed on drop.
    pub fn joining_member(&self, name: &str) -> EtcdMember {
        let ports = free_ports(2);
        let client_url = format!("http://127.0.0.1:{}", ports[0]);
        let peer_url = format!("http://127.0.0.1:{}", ports[1]);
        let initial_cluster = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .chain([format!("{name}={peer_url}")])
            .collect::<Vec<_>>()
            .join(",");
        let data_dir = self.dir.path().join(format!("{name}.etcd"));
        let replaced = |a: &String| {
            let flag = a.split('=').next().unwrap_or("");
            let value = match flag {
                "--name" => name.to_string(),
                "--data-dir" => data_dir.display().to_string(),
                "--listen-client-urls" | "--advertise-client-urls" => client_url.clone(),
                "--listen-peer-urls" | "--initial-advertise-peer-urls" => peer_url.clone(),
                "--initial-cluster" => initial_cluster.clone(),
                "--initial-cluster-state" => "existing".to_string(),
                _ => return a.clone(),
            };
            format!("{flag}={value}")
        };
        EtcdMember {
            bin: self.bin.clone(),
            index: self.members.len(),
            name: name.to_string(),
            log_path: self.dir.path().join(format!("{name}.log")),
            args: self.members[0].args.iter().map(replaced).collect(),
            client_url,
            peer_url,
            proc: Mutex::new(Proc::default()),
        }
    }

    /// The temporary directory that holds the data dirs and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The member that reports itself leader (`/v2/stats/self` `state ==
    /// "StateLeader"`), asking only running, unpaused members. `None` when none does.
    pub async fn leader_index(&self) -> Option<usize> {
        for m in &self.members {
            if !m.is_running() || m.is_paused() {
                continue;
            }
            let Ok(r) = raw_http::get(&m.client_url, "/v2/stats/self", PROBE_TIMEOUT).await else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&r.body) else {
                continue;
            };
            if v.get("state").and_then(|s| s.as_str()) == Some("StateLeader") {
                return Some(m.index);
            }
        }
        None
    }

    /// Polls [`EtcdCluster::leader_index`] until a leader other than `not` is
    /// reported; panics with the log tails after `timeout`.
    pub async fn wait_for_leader(&self, not: Option<usize>, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.leader_index().await.filter(|i| Some(*i) != not) {
                return i;
            }
            if Instant::now() > deadline {
                panic!(
                    "no leader (other than {not:?}) within {timeout:?}\n{}",
                    self.log_tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of every member's log.
    pub fn log_tails(&self) -> String {
        self.members
            .iter()
            .map(|m| m.log_tail())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "etcd harness: the test failed; member logs in {}:\n{}",
                self.dir.path().display(),
                self.log_tails()
            );
        }
        for m in &self.members {
            m.stop_quietly();
        }
    }
}

impl Drop for EtcdMember {
    fn drop(&mut self) {
        self.stop_quietly();
    }
}

impl EtcdMember {
    /// Starts the member's process (a member from
    /// [`EtcdCluster::joining_member`]), without waiting for it.
    ///
    /// # Errors
    ///
    /// The process could not be spawned.
    pub fn start(&self) -> Result<(), String> {
        self.spawn_process()
    }

    /// The member's position in the cluster.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The member's name (`m<i>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The member's client URL.
    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    /// The member's peer URL.
    pub fn peer_url(&self) -> &str {
        &self.peer_url
    }

    /// The command-line arguments the member runs with.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Proc> {
        self.proc.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the process is running (possibly paused).
    pub fn is_running(&self) -> bool {
        self.lock().child.is_some()
    }

    /// Whether the process is paused.
    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.lock().child.as_ref().map(Child::id)
    }

    /// Freezes the process (SIGSTOP): its sockets stay open, nothing answers.
    pub fn pause(&self) {
        let mut p = self.lock();
        let child = p
            .child
            .as_ref()
            .unwrap_or_else(|| panic!("pause: {} is not running", self.name));
        signal(child, libc::SIGSTOP);
        p.paused = true;
    }

    /// Unfreezes the process (SIGCONT).
    pub fn resume(&self) {
        let mut p = self.lock();
        let child = p
            .child
            .as_ref()
            .unwrap_or_else(|| panic!("resume: {} is not running", self.name));
        signal(child, libc::SIGCONT);
        p.paused = false;
    }

    /// Kills the process (SIGKILL) and reaps it. The data dir is kept for [`EtcdMember::restart`].
    pub fn kill(&self) {
        let mut p = self.lock();
        let mut child = p
            .child
            .take()
            .unwrap_or_else(|| panic!("kill: {} is not running", self.name));
        signal(&child, libc::SIGKILL);
        let _ = child.wait();
        p.paused = false;
    }

    /// Starts the killed member again with the same flags and data dir (etcd
    /// ignores the initial-cluster flags when the data dir exists) and waits until
    /// it is healthy.
    pub async fn restart(&self) {
        assert!(
            !self.is_running(),
            "restart: {} is still running",
            self.name
        );
        if let Err(e) = self.spawn_process() {
            panic!("restart of {} failed: {e}\n{}", self.name, self.log_tail());
        }
        if let Err(e) = self
            .wait_healthy_until(Instant::now() + STARTUP_TIMEOUT)
            .await
        {
            panic!("{e}\n{}", self.log_tail());
        }
    }

    /// Waits until `GET /health` answers 200 `{"health":"true"}`.
    pub async fn wait_healthy(&self, timeout: Duration) {
        if let Err(e) = self.wait_healthy_until(Instant::now() + timeout).await {
            panic!("{e}\n{}", self.log_tail());
        }
    }

    async fn wait_healthy_until(&self, deadline: Instant) -> Result<(), String> {
        self.wait_until(deadline, "GET /health to answer 200", |url| async move {
            let r = raw_http::get(&url, "/health", PROBE_TIMEOUT).await.ok()?;
            (r.status == 200 && r.text().contains("true")).then_some(())
        })
        .await
    }

    /// Polls `probe(client_url)` every 100 ms until it gives `Some`, failing early
    /// if the process exits and at `deadline`.
    async fn wait_until<F, Fut>(
        &self,
        deadline: Instant,
        what: &str,
        probe: F,
    ) -> Result<(), String>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Option<()>>,
    {
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) while waiting for {what}",
                    self.name
                ));
            }
            if probe(self.client_url.clone()).await.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} ({}): timed out waiting for {what}",
                    self.name, self.client_url
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The exit status, if the process has exited by itself.
    fn exited(&self) -> Option<String> {
        let mut p = self.lock();
        match p.child.as_mut().map(Child::try_wait) {
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(e)) => Some(format!("wait failed: {e}")),
            _ => None,
        }
    }

    fn spawn_process(&self) -> Result<(), String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("open {}: {e}", self.log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| format!("dup log file: {e}"))?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        // The user's ETCD_* settings must not change the test cluster.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(k);
            }
        }
        // If the test process dies without running Drop (killed by a timeout), the
        // kernel kills etcd too. The signal follows the thread that spawned the
        // process: clusters are started from test threads, which live as long as
        // their test.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.bin.display()))?;
        let mut p = self.lock();
        p.child = Some(child);
        p.paused = false;
        Ok(())
    }

    fn stop_quietly(&self) {
        let mut p = self.lock();
        if let Some(mut child) = p.child.take() {
            signal(&child, libc::SIGCONT);
            signal(&child, libc::SIGKILL);
            let _ = child.wait();
        }
        p.paused = false;
    }

    /// The whole log of the member (every incarnation).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The last lines of the member's log, with a header line.
    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        format!(
            "----- {} ({}) log tail -----\n{tail}",
            self.name, self.client_url
        )
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // Safety: kill(2) on the pid of a child we have not reaped yet.
    unsafe {
        libc::kill(pid, sig);
    }
}
