//! Quickstart: starts an embedded single-member etcd-sim server in a temporary
//! directory on free loopback ports, uses the SDK's KeysAPI against it (set, get,
//! watch, a TTL that expires), and shuts the server down cleanly. Needs nothing but
//! cargo:
//!
//! ```text
//! cargo run --example quickstart
//! ```

#[cfg(madsim)]
fn main() {
    eprintln!("the quickstart runs in real builds: cargo run --example quickstart");
}

#[cfg(not(madsim))]
use {
    etcd_sdk::keys::{GetOptions, KeysAPI, SetOptions, Watcher, WatcherOptions, new_keys_api},
    etcd_sdk::{Config, HttpClient},
    etcd_sim::embed,
    futures_util::StreamExt,
    std::time::Duration,
};

#[cfg(not(madsim))]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    // Port 0: the server binds free ports and reports them.
    let any_port = vec!["http://127.0.0.1:0".to_string()];
    let cfg = embed::Config {
        name: "quickstart".into(),
        data_dir: Some(dir.path().join("quickstart.etcd")),
        enable_v2: true,
        listen_client_urls: any_port.clone(),
        advertise_client_urls: any_port.clone(),
        listen_peer_urls: any_port.clone(),
        initial_advertise_peer_urls: any_port,
        // A fast tick so the single member elects itself in a fraction of a second.
        heartbeat_ms: 10,
        election_ms: 100,
        ..embed::Config::default()
    };
    let etcd = embed::start(cfg).await?;
    etcd.ready().await?;
    let endpoint = etcd.client_urls()[0].clone();
    println!(
        "started etcd-sim member {:x} on {endpoint} (data dir {})",
        etcd.member().id(),
        dir.path().display()
    );

    let client = HttpClient::new(Config::new([endpoint]))?;
    let version = client.get_version().await?;
    println!(
        "version: server {} cluster {}",
        version.server, version.cluster
    );
    let kapi = new_keys_api(client);

    let set = kapi
        .set("/quickstart/greeting", "hello", SetOptions::default())
        .await?;
    println!("set   /quickstart/greeting = hello (index {})", set.index);
    let got = kapi
        .get("/quickstart/greeting", GetOptions::default())
        .await?;
    let value = got.node.as_ref().map_or("", |n| n.value_str()).to_string();
    println!("get   /quickstart/greeting = {value:?}");
    if value != "hello" {
        return Err(format!("read back {value:?}").into());
    }

    // Watch the directory from just after the write, then change a key in it.
    // The watch handle gives each wait at most 5 s (Error::Timeout after that).
    let watching = kapi.with_timeout(Duration::from_secs(5));
    let mut events = watching
        .watcher(
            "/quickstart",
            WatcherOptions {
                after_index: set.index,
                recursive: true,
            },
        )
        .into_stream();
    kapi.set("/quickstart/greeting", "hello again", SetOptions::default())
        .await?;
    let event = events.next().await.ok_or("the watch ended")??;
    println!(
        "watch saw {} on {} = {:?}",
        event.action,
        event.node.as_ref().map_or("", |n| n.key.as_str()),
        event.node.as_ref().map_or("", |n| n.value_str())
    );

    // A key with a one-second TTL: watch it expire.
    let ttl = SetOptions {
        ttl: Some(Duration::from_secs(1)),
        ..Default::default()
    };
    let session = kapi.set("/quickstart/session", "alive", ttl).await?;
    println!(
        "set   /quickstart/session with ttl {} s",
        session.node.as_ref().map_or(0, |n| n.ttl)
    );
    let mut expiry = watching.watcher(
        "/quickstart/session",
        WatcherOptions {
            after_index: session.index,
            recursive: false,
        },
    );
    let expired = expiry.next().await?;
    println!("watch saw {} on /quickstart/session", expired.action);
    match kapi.get("/quickstart/session", GetOptions::default()).await {
        Err(e) => println!("get   /quickstart/session: {e}"),
        Ok(_) => return Err("the TTL key did not expire".into()),
    }

    etcd.close().await;
    println!("closed the server");
    Ok(())
}
