//! Golden chaos histories with known verdicts, kept as porcupine keeps Jepsen's etcd
//! logs: small hand-made JSON-lines files under `tests/golden/`, in the format
//! `History::write_jsonl` writes. Each is read back, written again byte for byte (the
//! format is stable), and judged by the checkers, which must give its known verdict:
//! no violation for the linearizable one, and for each broken one exactly the kinds
//! of violation it shows, naming the operations or watchers that show it.

use etcd_sim::chaos::check::{CheckOptions, CheckReport, check};
use etcd_sim::chaos::history::History;
use etcd_sim::chaos::violation::ViolationKind;
use std::path::PathBuf;

fn golden(name: &str) -> (String, History) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let history = History::read_jsonl(text.as_bytes())
        .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    (text, history)
}

/// Checks `name`, after asserting it round-trips through the writer unchanged.
fn judge(name: &str) -> (History, CheckReport) {
    let (text, history) = golden(name);
    let mut again = Vec::new();
    history.write_jsonl(&mut again).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        text,
        "{name} is not what write_jsonl writes for it"
    );
    let report = check(&history, &CheckOptions::default());
    assert!(report.is_conclusive(), "{name}: undecided keys\n{report}");
    (history, report)
}

fn kinds(report: &CheckReport) -> Vec<ViolationKind> {
    let mut k: Vec<ViolationKind> = report.violations.iter().map(|v| v.kind).collect();
    k.sort_unstable();
    k.dedup();
    k
}

#[test]
fn linearizable_history_passes_every_check() {
    let (history, report) = judge("linearizable.jsonl");
    assert_eq!(history.ops.len(), 11);
    assert_eq!(history.watches.len(), 1);
    assert_eq!(history.faults.len(), 2);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.keys, 1);
    assert_eq!(report.watch_events, 4);
}

#[test]
fn stale_quorum_read_is_not_linearizable() {
    let (_, report) = judge("stale_read.jsonl");
    assert_eq!(
        kinds(&report),
        vec![ViolationKind::NotLinearizable, ViolationKind::StaleIndex],
        "{report}"
    );
    let lin = report
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::NotLinearizable)
        .unwrap();
    assert_eq!(lin.key.as_deref(), Some("/k"));
    assert!(
        lin.ops.contains(&2),
        "the stale read is in the witness: {lin:?}"
    );
    assert!(lin.ops.contains(&1), "so is the write it missed: {lin:?}");
    let stale = report
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::StaleIndex)
        .unwrap();
    assert!(stale.ops.contains(&2), "{stale:?}");
}

#[test]
fn watch_gap_is_a_missing_event() {
    let (_, report) = judge("watch_gap.jsonl");
    assert_eq!(
        kinds(&report),
        vec![ViolationKind::WatchMissing],
        "{report}"
    );
    let v = &report.violations[0];
    assert_eq!(v.watches, vec![0]);
    assert!(
        v.message.contains('6'),
        "names the missing index: {}",
        v.message
    );
}

#[test]
fn phantom_local_read_is_reported() {
    let (_, report) = judge("phantom_read.jsonl");
    assert_eq!(kinds(&report), vec![ViolationKind::PhantomRead], "{report}");
    assert_eq!(report.violations[0].ops, vec![1]);
}

#[test]
fn duplicate_index_is_reported() {
    let (_, report) = judge("duplicate_index.jsonl");
    assert_eq!(
        kinds(&report),
        vec![ViolationKind::DuplicateIndex],
        "{report}"
    );
}
