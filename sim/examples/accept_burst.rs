//! How long a burst of client connections takes to be served: 2,000 clients connect
//! at once, each sends `GET /version` and waits for the answer. Runs a one-member
//! cluster on loopback twice, with the client listener bound as `TcpListener::bind`
//! binds it (backlog 128) and as the member binds it (`member::listen`, 4,096), and
//! optionally against another server (real etcd) given as `host:port`.
//!
//! ```text
//! cargo run --release -p etcd-sim --example accept_burst [-- 127.0.0.1:12379]
//! ```

#[cfg(madsim)]
fn main() {}

#[cfg(not(madsim))]
#[tokio::main]
async fn main() {
    real::main().await
}

#[cfg(not(madsim))]
mod real {
    use etcd_sim::member::{Member, MemberConfig, listen};
    use etcd_sim::raft::MemDisk;
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const CLIENTS: usize = 2_000;

    /// Connects, asks for `/version`, reads the response head; the time it took.
    async fn one(addr: SocketAddr) -> std::io::Result<Duration> {
        let start = Instant::now();
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"GET /version HTTP/1.1\r\nHost: burst\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 512];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok(start.elapsed())
    }

    async fn burst(label: &str, addr: SocketAddr) {
        let start = Instant::now();
        let tasks: Vec<_> = (0..CLIENTS).map(|_| tokio::spawn(one(addr))).collect();
        let mut times = Vec::with_capacity(CLIENTS);
        let mut failed = 0;
        for t in tasks {
            match t.await {
                Ok(Ok(d)) => times.push(d),
                _ => failed += 1,
            }
        }
        let total = start.elapsed();
        times.sort();
        let at = |q: f64| {
            times
                .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        println!(
            "{label:<28} {CLIENTS} clients: all served in {:>7.3} s  (p50 {:>7.3} s, p99 {:>7.3} s, max {:>7.3} s, failed {failed})",
            total.as_secs_f64(),
            at(0.5).as_secs_f64(),
            at(0.99).as_secs_f64(),
            at(1.0).as_secs_f64(),
        );
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    async fn member_with(label: &str, listener: TcpListener) {
        let addr = listener.local_addr().expect("bound");
        let cfg = MemberConfig {
            name: "burst".into(),
            client_url: format!("http://{addr}"),
            peer_url: format!("http://127.0.0.1:{}", free_port()),
            tick: Duration::from_millis(10),
            ..MemberConfig::default()
        };
        let member = Member::start_with_listeners(cfg, MemDisk::new(), vec![listener])
            .await
            .expect("member starts");
        assert!(member.wait_ready().await, "member ready");
        burst(label, addr).await;
        member.stop().await;
    }

    pub async fn main() {
        let old = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        member_with("etcd-sim, backlog 128", old).await;
        let new = listen::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        member_with("etcd-sim, backlog 4096", new).await;
        if let Some(other) = std::env::args().nth(1) {
            let addr: SocketAddr = other.parse().expect("host:port");
            burst(&other, addr).await;
        }
    }
}
