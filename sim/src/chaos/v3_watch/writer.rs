//! A small v3 writer for watch runs (sim builds): puts, deletes and txns on a
//! few keys (and now and then a key outside the watched prefix, a put with a
//! short lease left to expire, a compaction), through `etcd_sdk::v3`. Each
//! acknowledged write becomes [`KnownWrites`] at its revision; a write whose
//! answer was lost is left out (the watchers then say what it did).

use super::writes::{KnownWrites, WriteEvent};
use crate::chaos::stop_signal::StopSignal;
use crate::cluster::SimCluster;
use etcd_sdk::v3::{
    Client, CompactOptions, Compare, CompareOp, Config, DeleteOptions, KV, KeyValue, Lease, Op,
    OpResponse, PutOptions,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Duration;

/// What the writer does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// The seed of its choices.
    pub seed: u64,
    /// Writes to attempt.
    pub ops: usize,
    /// The watched keys.
    pub keys: Vec<String>,
    /// A key outside the watched prefix.
    pub outside: String,
    /// Compact once, halfway, a few revisions behind.
    pub compact: bool,
}

/// What the writer leaves: the known writes, and the highest revision it
/// compacted at (0: none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterResult {
    /// Acknowledged writes by revision.
    pub known: KnownWrites,
    /// The compaction revision, if it compacted.
    pub compact_revision: i64,
    /// Writes attempted and acknowledged.
    pub attempted: usize,
    /// Writes acknowledged.
    pub acked: usize,
}

fn rev(h: &Option<etcd_sdk::v3::ResponseHeader>) -> i64 {
    h.as_ref().map_or(0, |h| h.revision)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The put of `value` on `key` at `revision`, given the key's previous value.
fn put_event(
    key: &str,
    value: &str,
    lease: i64,
    revision: i64,
    prev: Option<&KeyValue>,
) -> WriteEvent {
    let (create, version) = match prev {
        Some(p) => (p.create_revision, p.version + 1),
        None => (revision, 1),
    };
    WriteEvent::put(key, value, Some(create), Some(version), lease)
}

/// Runs the writer on a client node of its own until it has made `cfg.ops`
/// attempts or `stop` is set.
pub async fn run_writer(
    cluster: &SimCluster,
    cfg: WriterConfig,
    stop: Arc<StopSignal>,
) -> WriterResult {
    let urls = cluster.client_urls();
    cluster
        .run_on_client_node(move || async move { write_loop(urls, cfg, stop).await })
        .await
}

async fn write_loop(urls: Vec<String>, cfg: WriterConfig, stop: Arc<StopSignal>) -> WriterResult {
    let mut out = WriterResult::default();
    let config = Config {
        dial_timeout: Some(Duration::from_secs(1)),
        request_timeout: Some(Duration::from_secs(3)),
        ..Config::new(urls)
    };
    let client = loop {
        match Client::new(config.clone()).await {
            Ok(c) => break c,
            Err(_) if stop.is_set() => return out,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x7772_6974_6572);
    for i in 0..cfg.ops {
        if stop.is_set() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(10..120))).await;
        let key = cfg.keys[rng.random_range(0..cfg.keys.len())].clone();
        let value = format!("v{i}");
        out.attempted += 1;
        let written = match rng.random_range(0..100) {
            0..45 => put(&client, &key, &value, 0).await,
            45..60 => delete(&client, &key).await,
            60..85 => {
                let other = cfg.keys[rng.random_range(0..cfg.keys.len())].clone();
                txn(&client, &key, &other, &value, rng.random_bool(0.5)).await
            }
            85..93 => match client.grant(2).await {
                Ok(g) => put(&client, &key, &value, g.id).await,
                Err(e) => Err(e),
            },
            _ => put(&client, &cfg.outside, &value, 0).await,
        };
        match written {
            Ok(Some((r, events))) => {
                out.acked += 1;
                out.known.insert(r, events);
            }
            Ok(None) => out.acked += 1,
            Err(e) => tracing::debug!(error = %e, "v3 watch writer: write not acknowledged"),
        }
        if cfg.compact && i == cfg.ops / 2 {
            let at = out.known.keys().next_back().copied().unwrap_or(0) - 5;
            if at > 1 && client.compact(at, CompactOptions::default()).await.is_ok() {
                out.compact_revision = at;
            }
        }
    }
    client.close();
    out
}

type Written = etcd_sdk::v3::Result<Option<(i64, Vec<WriteEvent>)>>;

async fn put(client: &Client, key: &str, value: &str, lease: i64) -> Written {
    let opts = PutOptions {
        lease,
        prev_kv: true,
        ..Default::default()
    };
    let r = client.put(key, value, opts).await?;
    let at = rev(&r.header);
    Ok(Some((
        at,
        vec![put_event(key, value, lease, at, r.prev_kv.as_ref())],
    )))
}

async fn delete(client: &Client, key: &str) -> Written {
    let opts = DeleteOptions {
        prev_kv: true,
        ..Default::default()
    };
    let r = client.delete(key, opts).await?;
    Ok((r.deleted > 0).then(|| (rev(&r.header), vec![WriteEvent::delete(key)])))
}

/// If `key` exists: put `value` on it and on `other` (when different);
/// otherwise delete `other`. `flip` swaps the branches' condition.
async fn txn(client: &Client, key: &str, other: &str, value: &str, flip: bool) -> Written {
    let prev = PutOptions {
        prev_kv: true,
        ..Default::default()
    };
    let mut puts = vec![Op::put(key, value, prev.clone())];
    if other != key {
        puts.push(Op::put(other, format!("{value}t"), prev));
    }
    let del = vec![Op::delete(
        other,
        DeleteOptions {
            prev_kv: true,
            ..Default::default()
        },
    )];
    let (then, els) = if flip { (del, puts) } else { (puts, del) };
    let r = client
        .txn()
        .when([Compare::version(key, CompareOp::Greater, 0)])
        .and_then(then)
        .or_else(els)
        .commit()
        .await?;
    let at = rev(&r.header);
    let mut events = Vec::new();
    for op in &r.responses {
        match op {
            OpResponse::Put(_) => {}
            OpResponse::Delete(d) => events.extend(
                d.prev_kvs
                    .iter()
                    .map(|kv| WriteEvent::delete(text(&kv.key))),
            ),
            _ => {}
        }
    }
    // Puts in op order: the chosen branch is known from `succeeded`.
    let chose_puts = r.succeeded != flip;
    if chose_puts {
        let mut put_events = Vec::new();
        for (op, (k, v)) in r.responses.iter().zip([
            (key.to_string(), value.to_string()),
            (other.to_string(), format!("{value}t")),
        ]) {
            if let OpResponse::Put(p) = op {
                put_events.push(put_event(&k, &v, 0, at, p.prev_kv.as_ref()));
            }
        }
        events = put_events;
    }
    Ok((!events.is_empty()).then_some((at, events)))
}
