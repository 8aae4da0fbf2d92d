//! Runs a request `total` times over the pool's workers (each worker one
//! request at a time, as etcd's goroutines), optionally at a fixed rate,
//! timing each one.

use super::progress::Progress;
use super::stats::Samples;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio::time::{Interval, MissedTickBehavior};

/// How much load: `total` requests by `workers` concurrent workers, at most
/// `rate` a second (`None`: as fast as they answer; etcd's `--rate 0`).
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Requests in all.
    pub total: u64,
    /// Concurrent workers.
    pub workers: usize,
    /// Requests per second across the workers.
    pub rate: Option<f64>,
}

/// A shared pacer for `--rate`.
#[derive(Clone)]
pub struct Limiter(Option<Arc<Mutex<Interval>>>);

impl Limiter {
    /// At most `rate` a second (none when `None` or not positive).
    pub fn new(rate: Option<f64>) -> Limiter {
        Limiter(rate.filter(|r| *r > 0.0).map(|r| {
            let mut i = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
            i.set_missed_tick_behavior(MissedTickBehavior::Burst);
            Arc::new(Mutex::new(i))
        }))
    }

    /// Waits for the next slot.
    pub async fn wait(&self) {
        if let Some(i) = &self.0 {
            i.lock().await.tick().await;
        }
    }
}

/// Runs `op(worker, i)` for every `i` in `0..load.total`, `load.workers` at
/// a time; a request's latency is the time its future takes. `label` names
/// the progress line.
pub async fn run<F, Fut>(label: &str, load: Load, op: F) -> Samples
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    let limiter = Limiter::new(load.rate);
    let progress = Progress::start(label, load.total);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(load.workers);
    for worker in 0..load.workers.max(1) {
        let (op, next, limiter, progress) =
            (op.clone(), next.clone(), limiter.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= load.total {
                    break;
                }
                limiter.wait().await;
                let st = Instant::now();
                let outcome = op(worker, i).await;
                samples.record(outcome.map(|()| st.elapsed()));
                progress.add(1);
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for t in tasks {
        match t.await {
            Ok(s) => all.merge(s),
            Err(e) => all.record(Err(format!("worker failed: {e}"))),
        }
    }
    all.elapsed = start.elapsed();
    progress.finish().await;
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_every_index_once_over_the_workers() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let samples = run(
            "t",
            Load {
                total: 50,
                workers: 4,
                rate: None,
            },
            move |w, i| {
                let seen = s2.clone();
                async move {
                    assert!(w < 4);
                    if let Ok(mut v) = seen.lock() {
                        v.push(i);
                    }
                    if i % 10 == 0 {
                        Err("tenth".to_string())
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        let mut v = seen.lock().map(|v| v.clone()).unwrap_or_default();
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
        assert_eq!(samples.latencies.len(), 45);
        assert_eq!(samples.errors.get("tenth"), Some(&5));
    }

    #[tokio::test]
    async fn rate_paces_the_requests() {
        let samples = run(
            "t",
            Load {
                total: 11,
                workers: 3,
                rate: Some(100.0),
            },
            |_, _| async { Ok(()) },
        )
        .await;
        // The first tick is immediate, then one every 10 ms.
        assert!(
            samples.elapsed >= Duration::from_millis(100),
            "{:?}",
            samples.elapsed
        );
        assert_eq!(samples.latencies.len(), 11);
    }
}
