//! fsync'd appends per second on a `FileDisk`: 1 KiB entries, one sync per entry
//! (unbatched) or per batch of entries (as a Raft `Ready` batches them), on each
//! directory given (default: `target` and `/dev/shm`, i.e. this disk and tmpfs).
//!
//! ```text
//! cargo run -p etcd-sim --example file_disk_bench -- [seconds per run, default 2] [dir ...]
//! ```
//!
//! Prints one row per (directory, batch size).

#[cfg(not(madsim))]
fn main() {
    use etcd_sim::raft::{Disk, DiskOp, FileDisk, FileDiskOptions, LogState};
    use raft::eraftpb::Entry;
    use std::time::{Duration, Instant};

    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2.0);
    let mut dirs: Vec<String> = args.collect();
    if dirs.is_empty() {
        dirs = vec!["target".into(), "/dev/shm".into()];
    }
    println!(
        "{:<12} {:>6} {:>10} {:>12} {:>10}",
        "dir", "batch", "syncs/s", "entries/s", "MiB/s"
    );
    for dir in &dirs {
        for batch in [1u64, 16, 128] {
            let tmp = tempfile::Builder::new()
                .prefix("file-disk-bench")
                .tempdir_in(dir)
                .expect("a temporary directory");
            let mut disk = FileDisk::open(FileDiskOptions::new(tmp.path())).expect("open");
            let run = Duration::from_secs_f64(secs);
            let started = Instant::now();
            let (mut syncs, mut entries) = (0u64, 0u64);
            while started.elapsed() < run {
                let last = disk.read(LogState::last_index);
                let batch: Vec<Entry> = (last + 1..=last + batch)
                    .map(|index| Entry {
                        index,
                        term: 1,
                        data: vec![(index % 251) as u8; 1024].into(),
                        ..Default::default()
                    })
                    .collect();
                entries += batch.len() as u64;
                disk.write(DiskOp::Append(batch)).expect("append");
                disk.sync().expect("sync");
                syncs += 1;
            }
            let elapsed = started.elapsed().as_secs_f64();
            println!(
                "{:<12} {:>6} {:>10.0} {:>12.0} {:>10.1}",
                dir,
                batch,
                syncs as f64 / elapsed,
                entries as f64 / elapsed,
                entries as f64 * 1024.0 / elapsed / (1024.0 * 1024.0)
            );
        }
    }
}

#[cfg(madsim)]
fn main() {
    eprintln!("file_disk_bench measures real files: build it without --cfg madsim");
}
