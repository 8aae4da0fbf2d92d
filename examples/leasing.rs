//! The leasing KV (`etcd_sdk::v3::leasing`, Go's `clientv3/leasing`) against
//! an embedded single-member etcd-sim server: a reader caches a key after
//! its first get (later gets make no request), a second leasing client's
//! put makes the reader give the key up (the `REVOKE` handshake on the
//! lease key), and close releases the lease keys. Needs nothing but cargo:
//!
//! ```text
//! cargo run --example leasing
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
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
    let endpoint = etcd.client_urls()[0].clone();
    println!("started etcd-sim on {endpoint}");

    let plain = Client::connect([endpoint.clone()]).await?;
    let session = SessionOptions::new().with_ttl(10);
    let (reader, close_reader) = leasing::new_kv(
        Client::connect([endpoint.clone()]).await?,
        "lease/",
        session.clone(),
    )
    .await?;
    let (writer, close_writer) =
        leasing::new_kv(Client::connect([endpoint]).await?, "lease/", session).await?;

    plain.put("config", "v1", PutOptions::default()).await?;
    let first = reader.get("config", GetOptions::default()).await?;
    let lease_key = plain.get("lease/config", GetOptions::default()).await?;
    println!(
        "reader got config = {:?} and owns it: lease key {:?} on lease {:x}",
        String::from_utf8_lossy(&first.kvs[0].value),
        String::from_utf8_lossy(&lease_key.kvs[0].key),
        lease_key.kvs[0].lease,
    );
    let cached = reader.get("config", GetOptions::default()).await?;
    println!(
        "second get served from the cache: {:?} (cached: {})",
        String::from_utf8_lossy(&cached.kvs[0].value),
        reader.is_cached("config")
    );

    // The writer does not own the key: it asks the reader to give it up.
    writer.put("config", "v2", PutOptions::default()).await?;
    let after = reader.get("config", GetOptions::default()).await?;
    println!(
        "after the writer's put the reader sees {:?} (cached: {})",
        String::from_utf8_lossy(&after.kvs[0].value),
        reader.is_cached("config")
    );

    close_reader.close().await?;
    close_writer.close().await?;
    let left = plain.get("lease/", GetOptions::prefix()).await?;
    println!("closed: {} lease keys left", left.kvs.len());
    etcd.close().await;
    Ok(())
}
