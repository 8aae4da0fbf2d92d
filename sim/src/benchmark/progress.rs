//! The progress line on stderr while a phase runs (etcd draws a bar).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(500);

/// A running progress line: `label done/total pct% rate/s`.
#[derive(Clone, Debug)]
pub struct Progress {
    done: Arc<AtomicU64>,
    stop: Arc<(AtomicBool, Notify)>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Progress {
    /// Starts drawing (redrawn in place on a terminal, a line a second
    /// otherwise).
    pub fn start(label: &str, total: u64) -> Progress {
        let p = Progress {
            done: Arc::new(AtomicU64::new(0)),
            stop: Arc::new((AtomicBool::new(false), Notify::new())),
            task: Arc::new(Mutex::new(None)),
        };
        let (done, stop, label) = (p.done.clone(), p.stop.clone(), label.to_string());
        let tty = std::io::stderr().is_terminal();
        let task = tokio::spawn(async move {
            let start = std::time::Instant::now();
            let mut ticks = 0u64;
            loop {
                let stopped = stop.0.load(Ordering::Acquire);
                ticks += 1;
                let n = done.load(Ordering::Relaxed);
                if stopped || tty || ticks % 2 == 0 {
                    let pct = (n * 100).checked_div(total).unwrap_or(100);
                    let rate = n as f64 / start.elapsed().as_secs_f64().max(1e-9);
                    let line = format!("{label} {n}/{total} {pct}% {rate:.0}/s");
                    let mut err = std::io::stderr().lock();
                    let _ = if tty {
                        write!(err, "\r{line}\x1b[K{}", if stopped { "\n" } else { "" })
                    } else {
                        writeln!(err, "{line}")
                    };
                }
                if stopped {
                    break;
                }
                tokio::select! {
                    biased;
                    _ = stop.1.notified() => {}
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
        });
        if let Ok(mut t) = p.task.lock() {
            *t = Some(task);
        }
        p
    }

    /// Counts `n` more done.
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// How many are done.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Draws the last line and stops (waits for the line to be written).
    pub async fn finish(&self) {
        self.stop.0.store(true, Ordering::Release);
        self.stop.1.notify_one();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}
