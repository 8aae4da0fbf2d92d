//! Service discovery with `etcd_sdk::v3::naming` and a tower balancer.
//! Without arguments it runs against an embedded single-member etcd-sim
//! (nothing else to run); with `--endpoints URLS` (comma separated) or
//! `ETCD_ENDPOINTS` against that cluster (etcd 3.4 or etcd-sim), the
//! services registered under `demo/echo-<pid>` so that runs do not meet:
//!
//! ```text
//! cargo run --example service_discovery
//! cargo run --example service_discovery -- --endpoints http://127.0.0.1:2379
//! ETCD_ENDPOINTS=http://127.0.0.1:2379 cargo run --example service_discovery
//! ```
//!
//! 1. Three "echo" services (TCP listeners that answer their name) each
//!    register `demo/echo/<addr>` with a lease of their own, kept alive
//!    while they run (the keys are Go's: a Go client using `GRPCResolver`
//!    would find them too).
//! 2. A client turns `Resolver::discover` into a
//!    `tower::balance::p2c::Balance` and sends requests: all three answer.
//! 3. One service dies: its listener stops and its lease is revoked (what
//!    its lease's expiry would do a TTL later, had it crashed). Discovery
//!    removes it from the balancer, and every request after that is
//!    answered by the two left.

#[cfg(madsim)]
fn main() {
    eprintln!("service_discovery runs in real builds: cargo run --example service_discovery");
}

#[cfg(not(madsim))]
use {
    etcd_sdk::v3::naming::{Change, Resolver, Update},
    etcd_sdk::v3::{Client, Config, Lease, LeaseId},
    etcd_sim::embed,
    futures_util::StreamExt,
    serde_json::json,
    std::collections::BTreeMap,
    std::sync::Arc,
    std::sync::atomic::{AtomicBool, Ordering},
    std::time::Duration,
    tokio::io::{AsyncReadExt, AsyncWriteExt},
    tokio::net::{TcpListener, TcpStream},
    tower::balance::p2c::Balance,
    tower::load::Constant,
    tower::{Service, ServiceExt},
};

#[cfg(not(madsim))]
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The target the services register under (embedded server).
#[cfg(not(madsim))]
const TARGET: &str = "demo/echo";

/// The endpoints given with `--endpoints URLS` / `--endpoints=URLS` or
/// `ETCD_ENDPOINTS` (comma separated), if any.
#[cfg(not(madsim))]
fn endpoints_arg() -> Result<Option<Vec<String>>, BoxError> {
    let mut args = std::env::args().skip(1);
    let mut given = None;
    while let Some(a) = args.next() {
        if a == "--endpoints" {
            given = Some(args.next().ok_or("--endpoints needs a value")?);
        } else if let Some(v) = a.strip_prefix("--endpoints=") {
            given = Some(v.to_string());
        } else {
            return Err(format!(
                "unknown argument {a:?}; usage: service_discovery [--endpoints URLS]"
            )
            .into());
        }
    }
    let given = given.or_else(|| std::env::var("ETCD_ENDPOINTS").ok());
    Ok(given.map(|v| v.split(',').map(str::to_string).collect()))
}

/// A running service: its listener, its keepalive, its lease.
#[cfg(not(madsim))]
struct Echo {
    name: &'static str,
    addr: String,
    lease: LeaseId,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts a service answering `name` on a free port and registers it with
/// a 5 s lease that a task keeps alive.
#[cfg(not(madsim))]
async fn start_echo(client: &Client, target: &str, name: &'static str) -> Result<Echo, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let server = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = conn.write_all(format!("{name}\n").as_bytes()).await;
            });
        }
    });
    let lease = client.grant(5).await?.id;
    let mut keep_alive = client.keep_alive(lease).await?;
    let keeper = tokio::spawn(async move {
        // Read the renewals so none wait; the stream ends with the lease.
        while let Some(Ok(_)) = keep_alive.next().await {}
    });
    Resolver::new(client.clone())
        .add_endpoint(target, &addr, json!({ "name": name }), lease)
        .await?;
    println!("{name}: serving on {addr}, registered as {target}/{addr} (lease {lease:x})");
    Ok(Echo {
        name,
        addr,
        lease,
        tasks: vec![server, keeper],
    })
}

/// The client side of one endpoint: connect, read the answer.
#[cfg(not(madsim))]
fn echo_client(
    addr: String,
) -> impl Service<(), Response = String, Error = std::io::Error, Future: Send> + Clone + Unpin {
    tower::service_fn(move |()| {
        let addr = addr.clone();
        async move {
            let mut conn = TcpStream::connect(&addr).await?;
            let mut answer = String::new();
            conn.read_to_string(&mut answer).await?;
            Ok(answer.trim().to_string())
        }
    })
}

/// Sends `n` requests through the balancer; who answered how often, and
/// how many failed.
#[cfg(not(madsim))]
async fn send<S>(balancer: &mut S, n: usize) -> (BTreeMap<String, usize>, usize)
where
    S: Service<(), Response = String, Error = BoxError>,
{
    let mut answers = BTreeMap::new();
    let mut failed = 0;
    for _ in 0..n {
        let ready = match balancer.ready().await {
            Ok(svc) => svc,
            Err(e) => {
                println!("  balancer: {e}");
                failed += 1;
                continue;
            }
        };
        match ready.call(()).await {
            Ok(name) => *answers.entry(name).or_insert(0) += 1,
            Err(e) => {
                println!("  request failed: {e}");
                failed += 1;
            }
        }
    }
    (answers, failed)
}

#[cfg(not(madsim))]
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if let Some(endpoints) = endpoints_arg()? {
        println!("against {}", endpoints.join(","));
        let target = format!("{TARGET}-{}", std::process::id());
        return run(endpoints, &target).await;
    }
    let dir = tempfile::tempdir()?;
    let any_port = vec!["http://127.0.0.1:0".to_string()];
    let etcd = embed::start(embed::Config {
        name: "discovery".into(),
        data_dir: Some(dir.path().join("discovery.etcd")),
        listen_client_urls: any_port.clone(),
        advertise_client_urls: any_port.clone(),
        listen_peer_urls: any_port.clone(),
        initial_advertise_peer_urls: any_port,
        heartbeat_ms: 10,
        election_ms: 100,
        ..embed::Config::default()
    })
    .await?;
    etcd.ready().await?;
    println!("etcd-sim on {}", etcd.client_urls()[0]);
    let result = run(etcd.client_urls().to_vec(), TARGET).await;
    etcd.close().await;
    result
}

/// The walk-through over `endpoints`, the services registered under `target`.
#[cfg(not(madsim))]
async fn run(endpoints: Vec<String>, target: &str) -> Result<(), BoxError> {
    let client = Client::new(Config {
        request_timeout: Some(Duration::from_secs(5)),
        ..Config::new(endpoints)
    })
    .await?;

    let mut services = Vec::new();
    for name in ["alpha", "beta", "gamma"] {
        services.push(start_echo(&client, target, name).await?);
    }

    // The client: discovery feeds a power-of-two-choices balancer.
    let beta_addr = services[1].addr.clone();
    let beta_removed = Arc::new(AtomicBool::new(false));
    let discover = Resolver::new(client.clone())
        .discover(target, |u: &Update| {
            Constant::new(echo_client(u.addr.clone()), 1)
        })
        .await?
        .inspect({
            let beta_removed = beta_removed.clone();
            move |change| match change {
                Ok(Change::Insert(addr, _)) => println!("  discovery: + {addr}"),
                Ok(Change::Remove(addr)) => {
                    println!("  discovery: - {addr}");
                    if *addr == beta_addr {
                        beta_removed.store(true, Ordering::SeqCst);
                    }
                }
                Err(e) => println!("  discovery failed: {e}"),
            }
        });
    let mut balancer = Balance::new(discover);

    let (answers, failed) = send(&mut balancer, 30).await;
    println!("30 requests: {answers:?}, {failed} failed");
    if answers.len() != 3 || failed != 0 {
        return Err(format!("expected all three to answer: {answers:?}").into());
    }

    // beta dies: it stops serving and its lease goes.
    let beta = services.remove(1);
    for t in &beta.tasks {
        t.abort();
    }
    client.revoke(beta.lease).await?;
    println!("{} died (lease {:x} revoked)", beta.name, beta.lease);

    // Requests sent before the balancer hears of it may still pick beta and
    // fail; once discovery has removed it, none do.
    let mut before = 0;
    while !beta_removed.load(Ordering::SeqCst) {
        let (_, failed) = send(&mut balancer, 1).await;
        before += failed;
        if before > 50 {
            return Err("discovery never removed beta".into());
        }
    }
    let (answers, failed) = send(&mut balancer, 30).await;
    println!("30 requests after the removal: {answers:?}, {failed} failed");
    let names: Vec<&str> = answers.keys().map(String::as_str).collect();
    if names != ["alpha", "gamma"] || failed != 0 {
        return Err(format!("expected alpha and gamma only: {answers:?}, {failed} failed").into());
    }

    for s in services {
        for t in s.tasks {
            t.abort();
        }
        // Unregister now rather than a TTL later.
        client.revoke(s.lease).await?;
    }
    client.close();
    println!("done");
    Ok(())
}
