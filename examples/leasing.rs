//! The leasing KV (`etcd_sdk::v3::leasing`, Go's `clientv3/leasing`): a
//! reader caches a key after its first get (later gets make no request), a
//! second leasing client's put makes the reader give the key up (the
//! `REVOKE` handshake on the lease key), and close releases the lease keys.
//!
//! Without arguments it runs against an embedded single-member etcd-sim
//! server (needs nothing but cargo); with `--endpoints URLS` (comma
//! separated) or `ETCD_ENDPOINTS` it runs against that cluster (etcd 3.4 or
//! etcd-sim), under the prefix `etcd-sdk-example/leasing/`:
//!
//! ```text
//! cargo run --example leasing
//! cargo run --example leasing -- --endpoints http://127.0.0.1:2379
//! ETCD_ENDPOINTS=http://127.0.0.1:2379 cargo run --example leasing
//! ```

#[cfg(madsim)]
fn main() {
    eprintln!("the leasing example runs in real builds: cargo run --example leasing");
}

#[cfg(not(madsim))]
use {
    etcd_sdk::v3::concurrency::SessionOptions,
    etcd_sdk::v3::{Client, GetOptions, KV, PutOptions, leasing},
    etcd_sim::embed,
};

#[cfg(not(madsim))]
type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
            return Err(
                format!("unknown argument {a:?}; usage: leasing [--endpoints URLS]").into(),
            );
        }
    }
    let given = given.or_else(|| std::env::var("ETCD_ENDPOINTS").ok());
    Ok(given.map(|v| v.split(',').map(str::to_string).collect()))
}

#[cfg(not(madsim))]
#[tokio::main]
async fn main() -> Result<(), BoxError> {
    if let Some(endpoints) = endpoints_arg()? {
        println!("against {}", endpoints.join(","));
        return run(endpoints, "etcd-sdk-example/leasing/").await;
    }
    let dir = tempfile::tempdir()?;
    let any_port = vec!["http://127.0.0.1:0".to_string()];
    let etcd = embed::start(embed::Config {
        name: "leasing".into(),
        data_dir: Some(dir.path().join("leasing.etcd")),
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
    println!("started etcd-sim on {}", etcd.client_urls()[0]);
    let result = run(etcd.client_urls().to_vec(), "").await;
    etcd.close().await;
    result
}

/// The walk-through, over `endpoints`, with every key under `base`.
#[cfg(not(madsim))]
async fn run(endpoints: Vec<String>, base: &str) -> Result<(), BoxError> {
    let config = format!("{base}config");
    let prefix = format!("{base}lease/");
    let plain = Client::connect(endpoints.clone()).await?;
    let session = SessionOptions::new().with_ttl(10);
    let (reader, close_reader) = leasing::new_kv(
        Client::connect(endpoints.clone()).await?,
        prefix.clone(),
        session.clone(),
    )
    .await?;
    let (writer, close_writer) =
        leasing::new_kv(Client::connect(endpoints).await?, prefix.clone(), session).await?;

    plain
        .put(config.clone(), "v1", PutOptions::default())
        .await?;
    let first = reader.get(config.clone(), GetOptions::default()).await?;
    let lease_key = plain
        .get(format!("{prefix}{config}"), GetOptions::default())
        .await?;
    println!(
        "reader got config = {:?} and owns it: lease key {:?} on lease {:x}",
        String::from_utf8_lossy(&first.kvs[0].value),
        String::from_utf8_lossy(&lease_key.kvs[0].key),
        lease_key.kvs[0].lease,
    );
    let cached = reader.get(config.clone(), GetOptions::default()).await?;
    println!(
        "second get served from the cache: {:?} (cached: {})",
        String::from_utf8_lossy(&cached.kvs[0].value),
        reader.is_cached(&config)
    );

    // The writer does not own the key: it asks the reader to give it up.
    writer
        .put(config.clone(), "v2", PutOptions::default())
        .await?;
    let after = reader.get(config.clone(), GetOptions::default()).await?;
    println!(
        "after the writer's put the reader sees {:?} (cached: {})",
        String::from_utf8_lossy(&after.kvs[0].value),
        reader.is_cached(&config)
    );
    if after.kvs[0].value != b"v2" {
        return Err("the reader did not see the writer's put".into());
    }

    close_reader.close().await?;
    close_writer.close().await?;
    let left = plain.get(prefix, GetOptions::prefix()).await?;
    println!("closed: {} lease keys left", left.kvs.len());
    plain.close();
    Ok(())
}
