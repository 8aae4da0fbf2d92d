//! Tests of [`FileDisk`] across reopen: round trips, rollover, torn tails, corruption.

use super::*;
use raft::eraftpb::{Entry, HardState, Snapshot};
use std::fs;

fn entry(index: u64, term: u64) -> Entry {
    Entry {
        index,
        term,
        data: vec![(index % 251) as u8; 20].into(),
        ..Default::default()
    }
}

fn entries(range: std::ops::RangeInclusive<u64>, term: u64) -> Vec<Entry> {
    range.map(|i| entry(i, term)).collect()
}

fn hs(term: u64, vote: u64, commit: u64) -> HardState {
    HardState {
        term,
        vote,
        commit,
        ..Default::default()
    }
}

fn snapshot(index: u64, term: u64) -> Snapshot {
    let mut s = Snapshot::default();
    s.mut_metadata().index = index;
    s.mut_metadata().term = term;
    s.mut_metadata().mut_conf_state().voters = vec![1, 2, 3];
    s.data = format!("state at {index}").into_bytes().into();
    s
}

fn opts(dir: &Path) -> FileDiskOptions {
    FileDiskOptions::new(dir.join("data"))
}

fn state(d: &FileDisk) -> LogState {
    d.read(Clone::clone)
}

/// Every kind of op, valid in this order on an empty disk.
fn all_kinds() -> Vec<DiskOp> {
    let mut boot = Snapshot::default();
    boot.mut_metadata().mut_conf_state().voters = vec![1];
    vec![
        DiskOp::SaveSnapshot(boot),
        DiskOp::Append(entries(1..=10, 1)),
        DiskOp::HardState(hs(1, 1, 8)),
        DiskOp::Append(entries(8..=12, 2)),
        DiskOp::SaveSnapshot(snapshot(9, 2)),
        DiskOp::CompactTo(6),
        DiskOp::HardState(hs(2, 3, 12)),
        DiskOp::InstallSnapshot(snapshot(30, 3)),
        DiskOp::Append(entries(31..=33, 3)),
        DiskOp::HardState(hs(3, 3, 31)),
    ]
}

fn expected(ops: &[DiskOp]) -> LogState {
    let mut s = LogState::default();
    for op in ops {
        s.apply(op).unwrap();
    }
    s
}

#[test]
fn every_op_kind_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let ops = all_kinds();
    {
        let mut d = FileDisk::open(opts(tmp.path())).unwrap();
        assert!(state(&d).is_empty());
        for op in &ops {
            d.write(op.clone()).unwrap();
        }
        d.sync().unwrap();
        assert_eq!(state(&d), expected(&ops));
    }
    let d = FileDisk::open(opts(tmp.path())).unwrap();
    assert_eq!(state(&d), expected(&ops));
    assert_eq!(&d.read(|s| s.snapshot().data.clone())[..], b"state at 30");
    // The layout is etcd's.
    let wal = tmp.path().join("data/member/wal");
    assert!(wal.join("0000000000000000-0000000000000000.wal").is_file());
    let snap = tmp.path().join("data/member/snap");
    assert!(
        snap.join("0000000000000003-000000000000001e.snap")
            .is_file()
    );
}

#[test]
fn rejected_writes_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = FileDisk::open(opts(tmp.path())).unwrap();
    d.write(DiskOp::Append(entries(1..=3, 1))).unwrap();
    assert_eq!(
        d.write(DiskOp::Append(entries(5..=5, 1))),
        Err(DiskError::Gap { first: 5, last: 3 })
    );
    d.sync().unwrap();
    drop(d);
    let d = FileDisk::open(opts(tmp.path())).unwrap();
    assert_eq!(d.read(|s| s.last_index()), 3);
}

#[test]
fn a_separate_wal_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let o = FileDiskOptions {
        wal_dir: Some(tmp.path().join("wal-elsewhere")),
        ..opts(tmp.path())
    };
    let mut d = FileDisk::open(o.clone()).unwrap();
    d.write(DiskOp::Append(entries(1..=2, 1))).unwrap();
    d.sync().unwrap();
    drop(d);
    assert_eq!(
        fs_util::list_names(&tmp.path().join("wal-elsewhere"))
            .unwrap()
            .iter()
            .filter(|n| n.ends_with(".wal"))
            .count(),
        1
    );
    assert!(!tmp.path().join("data/member/wal").exists());
    let d = FileDisk::open(o).unwrap();
    assert_eq!(d.read(|s| s.last_index()), 2);
}

#[test]
fn rollover_and_purge_keep_the_state() {
    let tmp = tempfile::tempdir().unwrap();
    let o = FileDiskOptions {
        segment_bytes: 2000,
        max_wal_files: 2,
        max_snapshot_files: 2,
        ..opts(tmp.path())
    };
    let mut d = FileDisk::open(o.clone()).unwrap();
    let mut ops = Vec::new();
    for i in 1..=200u64 {
        ops.push(DiskOp::Append(vec![entry(i, 1)]));
        ops.push(DiskOp::HardState(hs(1, 1, i)));
        if i % 40 == 0 {
            ops.push(DiskOp::SaveSnapshot(snapshot(i, 1)));
            ops.push(DiskOp::CompactTo(i - 10));
        }
    }
    for (n, op) in ops.iter().enumerate() {
        d.write(op.clone()).unwrap();
        if n % 7 == 0 {
            d.sync().unwrap();
        }
    }
    d.sync().unwrap();
    let want = expected(&ops);
    assert_eq!(state(&d), want);
    let segs = segment::list(d.wal_dir()).unwrap();
    assert_eq!(segs.len(), 2, "{segs:?}");
    assert!(segs[1].seq > 5, "rolled over several times: {segs:?}");
    assert_eq!(segs[1].index, d.segments[1].index);
    let snaps = fs_util::list_names(d.snap_dir()).unwrap();
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    drop(d);
    let d = FileDisk::open(o.clone()).unwrap();
    assert_eq!(state(&d), want);
    // Unlimited retention keeps every segment, and still recovers the same state.
    let keep_all = FileDiskOptions {
        max_wal_files: 0,
        ..o
    };
    drop(d);
    let mut d = FileDisk::open(keep_all.clone()).unwrap();
    for i in 201..=260u64 {
        d.write(DiskOp::Append(vec![entry(i, 1)])).unwrap();
    }
    d.sync().unwrap();
    let want = state(&d);
    let n = segment::list(d.wal_dir()).unwrap().len();
    assert!(n > 2, "{n} segments");
    drop(d);
    assert_eq!(state(&FileDisk::open(keep_all).unwrap()), want);
}

/// A WAL written one synced op at a time.
struct SyncedLog {
    /// The segment file.
    path: PathBuf,
    /// Its length before the first op and after each.
    lens: Vec<usize>,
    /// The snapshot files (path, contents).
    snaps: Vec<(PathBuf, Vec<u8>)>,
}

/// Writes `ops` into one segment, syncing after each.
fn synced_log(dir: &Path, ops: &[DiskOp]) -> SyncedLog {
    let mut d = FileDisk::open(opts(dir)).unwrap();
    let path = d.writer.path().to_path_buf();
    let mut lens = vec![fs::metadata(&path).unwrap().len() as usize];
    for op in ops {
        d.write(op.clone()).unwrap();
        d.sync().unwrap();
        lens.push(fs::metadata(&path).unwrap().len() as usize);
    }
    let snaps = fs_util::list_names(d.snap_dir())
        .unwrap()
        .into_iter()
        .map(|n| {
            let p = d.snap_dir().join(n);
            let b = fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    SyncedLog { path, lens, snaps }
}

fn restore(path: &Path, bytes: &[u8], snaps: &[(PathBuf, Vec<u8>)]) {
    fs::write(path, bytes).unwrap();
    for (p, b) in snaps {
        fs::write(p, b).unwrap();
    }
}

#[test]
fn every_cut_of_the_tail_recovers_a_prefix_of_the_synced_ops() {
    let tmp = tempfile::tempdir().unwrap();
    let ops = all_kinds();
    let SyncedLog { path, lens, snaps } = synced_log(tmp.path(), &ops);
    let full = fs::read(&path).unwrap();
    assert_eq!(*lens.last().unwrap(), full.len());
    // Cut anywhere in the last five records (two of them snapshot references).
    let from = lens[ops.len() - 5];
    for cut in from..=full.len() {
        restore(&path, &full[..cut], &snaps);
        let d = FileDisk::open(opts(tmp.path())).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        let kept = lens.iter().rposition(|&l| l <= cut).unwrap();
        assert_eq!(state(&d), expected(&ops[..kept]), "cut at {cut}");
        drop(d);
        // The torn bytes were cut off the file.
        assert_eq!(fs::metadata(&path).unwrap().len() as usize, lens[kept]);
    }
}

#[test]
fn a_zero_filled_tail_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let ops = all_kinds();
    let SyncedLog { path, lens, snaps } = synced_log(tmp.path(), &ops);
    let mut bytes = fs::read(&path).unwrap();
    // A last record whose blocks never reached the disk (zeros), and zeros past it.
    let last = lens[ops.len() - 1];
    for b in &mut bytes[last + 5..] {
        *b = 0;
    }
    bytes.extend_from_slice(&[0u8; 4096]);
    restore(&path, &bytes, &snaps);
    let d = FileDisk::open(opts(tmp.path())).unwrap();
    assert_eq!(state(&d), expected(&ops[..ops.len() - 1]));
}

#[test]
fn a_damaged_middle_record_is_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let ops = all_kinds();
    let SyncedLog { path, lens, snaps } = synced_log(tmp.path(), &ops);
    let full = fs::read(&path).unwrap();
    // Every byte of the third op's record (a middle one).
    for at in lens[2]..lens[3] {
        let mut bytes = full.clone();
        bytes[at] ^= 0x10;
        restore(&path, &bytes, &snaps);
        match FileDisk::open(opts(tmp.path())) {
            Err(DiskError::Corrupt { offset, .. }) => {
                assert_eq!(offset as usize, lens[2], "flip at {at}");
            }
            other => panic!("flip at {at}: {other:?}"),
        }
    }
    // Garbage after the last record (not zeros) is corrupt too.
    let mut bytes = full.clone();
    bytes.extend_from_slice(b"garbage that is no record");
    restore(&path, &bytes, &snaps);
    assert!(matches!(
        FileDisk::open(opts(tmp.path())),
        Err(DiskError::Corrupt { .. })
    ));
}

#[test]
fn damage_in_an_older_segment_is_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let o = FileDiskOptions {
        segment_bytes: 300,
        max_wal_files: 0,
        ..opts(tmp.path())
    };
    let mut d = FileDisk::open(o.clone()).unwrap();
    for i in 1..=40 {
        d.write(DiskOp::Append(vec![entry(i, 1)])).unwrap();
    }
    d.sync().unwrap();
    let first = d.wal_dir().join(d.segments[0].file_name());
    let second = d.wal_dir().join(d.segments[1].file_name());
    drop(d);
    // Cutting the end off an older segment is not a torn tail.
    let bytes = fs::read(&first).unwrap();
    fs::write(&first, &bytes[..bytes.len() - 3]).unwrap();
    let err = FileDisk::open(o.clone()).unwrap_err();
    assert!(
        matches!(&err, DiskError::Corrupt { path, .. } if *path == first),
        "{err}"
    );
    fs::write(&first, &bytes).unwrap();
    FileDisk::open(o.clone()).unwrap();
    // A missing segment in the middle is named.
    fs::remove_file(&second).unwrap();
    let err = FileDisk::open(o).unwrap_err();
    assert!(err.to_string().contains("is missing"), "{err}");
}

#[test]
fn a_missing_or_damaged_snapshot_is_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    let ops = all_kinds();
    let snaps = synced_log(tmp.path(), &ops).snaps;
    let (current, bytes) = snaps
        .iter()
        .find(|(p, _)| p.ends_with("0000000000000003-000000000000001e.snap"))
        .unwrap()
        .clone();
    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    fs::write(&current, &damaged).unwrap();
    let err = FileDisk::open(opts(tmp.path())).unwrap_err();
    assert!(
        matches!(&err, DiskError::Corrupt { path, .. } if *path == current),
        "{err}"
    );
    fs::remove_file(&current).unwrap();
    let err = FileDisk::open(opts(tmp.path())).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    fs::write(&current, &bytes).unwrap();
    FileDisk::open(opts(tmp.path())).unwrap();
}

#[test]
fn foreign_files_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = tmp.path().join("data/member/wal");
    fs::create_dir_all(&wal).unwrap();
    // What etcd's WAL starts with: a protobuf record, not our magic.
    let name = wal.join("0000000000000000-0000000000000000.wal");
    fs::write(&name, [0x08u8, 0, 0, 0, 0, 0, 0, 0x84, 0x08, 0x04, 0x10, 0]).unwrap();
    let err = FileDisk::open(opts(tmp.path())).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not an etcd-sim WAL (etcd's own data directories are not readable)",
            name.display()
        )
    );
}

#[test]
fn snapshot_files_are_purged_past_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let o = FileDiskOptions {
        max_snapshot_files: 3,
        ..opts(tmp.path())
    };
    let mut d = FileDisk::open(o.clone()).unwrap();
    d.write(DiskOp::Append(entries(1..=100, 1))).unwrap();
    for i in 1..=8 {
        d.write(DiskOp::SaveSnapshot(snapshot(i * 10, 1))).unwrap();
        // Until a sync, the older snapshots are still what a crash would recover.
        assert_eq!(fs_util::list_names(d.snap_dir()).unwrap().len(), i as usize);
    }
    d.sync().unwrap();
    let names = fs_util::list_names(d.snap_dir()).unwrap();
    assert_eq!(
        names,
        vec![
            "0000000000000001-000000000000003c.snap".to_string(),
            "0000000000000001-0000000000000046.snap".to_string(),
            "0000000000000001-0000000000000050.snap".to_string(),
        ]
    );
    drop(d);
    let d = FileDisk::open(o).unwrap();
    assert_eq!(&d.read(|s| s.snapshot().data.clone())[..], b"state at 80");
}

#[test]
fn unsynced_snapshot_files_are_orphans_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = FileDisk::open(opts(tmp.path())).unwrap();
    d.write(DiskOp::Append(entries(1..=20, 1))).unwrap();
    d.write(DiskOp::SaveSnapshot(snapshot(10, 1))).unwrap();
    d.sync().unwrap();
    let synced = d.writer.path().to_path_buf();
    let synced_bytes = fs::read(&synced).unwrap();
    d.write(DiskOp::SaveSnapshot(snapshot(20, 1))).unwrap();
    d.sync().unwrap();
    drop(d);
    // The crash lost the record naming the second snapshot, not its file.
    fs::write(&synced, &synced_bytes).unwrap();
    let d = FileDisk::open(opts(tmp.path())).unwrap();
    assert_eq!(d.read(|s| s.snapshot().get_metadata().index), 10);
    assert_eq!(fs_util::list_names(d.snap_dir()).unwrap().len(), 1);
}
