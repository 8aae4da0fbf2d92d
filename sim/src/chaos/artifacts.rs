//! What a failing seed leaves behind: its history as JSON lines
//! (`seed-<n>.jsonl`, readable with [`History::read_jsonl`]) and an HTML timeline
//! with the violations highlighted (`seed-<n>.html`).

use super::check::CheckReport;
use super::history::History;
use super::timeline::write_html;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The files written for one seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    /// The history, JSON lines.
    pub jsonl: PathBuf,
    /// The timeline, one self-contained HTML page.
    pub html: PathBuf,
}

/// Writes `history` and its timeline under `dir` (created if missing), named
/// after the history's seed.
///
/// # Errors
///
/// Any I/O error creating the directory or writing the files.
pub fn write_artifacts(
    dir: &Path,
    history: &History,
    report: &CheckReport,
) -> io::Result<Artifacts> {
    fs::create_dir_all(dir)?;
    let seed = history.info.seed;
    let jsonl = dir.join(format!("seed-{seed}.jsonl"));
    let html = dir.join(format!("seed-{seed}.html"));
    let mut out = BufWriter::new(File::create(&jsonl)?);
    history.write_jsonl(&mut out)?;
    out.flush()?;
    let mut out = BufWriter::new(File::create(&html)?);
    write_html(history, report, &mut out)?;
    out.flush()?;
    Ok(Artifacts { jsonl, html })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::check::{CheckOptions, check};

    #[test]
    fn writes_a_history_that_reads_back_and_a_page() {
        let dir = std::env::temp_dir().join(format!("chaos-artifacts-{}", std::process::id()));
        let mut history = History::default();
        history.info.seed = 77;
        let report = check(&history, &CheckOptions::default());
        let a = write_artifacts(&dir, &history, &report).unwrap();
        assert!(a.jsonl.ends_with("seed-77.jsonl"));
        let back = History::read_jsonl(io::BufReader::new(File::open(&a.jsonl).unwrap())).unwrap();
        assert_eq!(back, history);
        let page = fs::read_to_string(&a.html).unwrap();
        assert!(
            page.contains("<html") || page.contains("<!DOCTYPE"),
            "{page}"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
