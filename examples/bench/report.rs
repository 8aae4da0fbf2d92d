//! Tables on stdout and raw results in `target/bench/<section>.{json,txt}`.

use crate::paths::results_dir;
use serde::Serialize;
use std::fmt::Write as _;

/// A printed table: a title, a header row and rows of cells.
#[derive(Clone, Debug, Default)]
pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Appends a row (missing cells print empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Appends a line printed under the table.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The table as aligned text: first column left-aligned, the others right.
    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(cell.len());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if i == 0 {
                    let _ = write!(s, "{cell:<w$}");
                } else {
                    let _ = write!(s, "  {cell:>w$}");
                }
            }
            s.trim_end().to_string()
        };
        let mut out = format!("== {} ==\n{}\n", self.title, line(&self.header));
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        for note in &self.notes {
            let _ = writeln!(out, "  {note}");
        }
        out
    }
}

/// Prints `tables` and writes `target/bench/<section>.txt` (the tables) and
/// `<section>.json` (`{"section", "options", "rows"}`).
pub fn publish<O: Serialize, R: Serialize>(
    section: &str,
    options: &O,
    tables: &[Table],
    rows: &[R],
) -> Result<(), String> {
    let text: String = tables.iter().map(|t| t.render() + "\n").collect();
    println!("{text}");
    let dir = results_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let json = serde_json::json!({
        "section": section,
        "options": options,
        "rows": rows,
    });
    let json = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    for (name, body) in [
        (format!("{section}.json"), json),
        (format!("{section}.txt"), text),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    eprintln!(
        "[{section}] results in {}/{section}.{{json,txt}}",
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_aligned_columns() {
        let mut t = Table::new("t", &["client", "ops/s"]);
        t.row(vec!["sdk".into(), "12345".into()]);
        t.row(vec!["raw-hyper".into(), "7".into()]);
        t.note("n");
        assert_eq!(
            t.render(),
            "== t ==\nclient     ops/s\nsdk        12345\nraw-hyper      7\n  n\n"
        );
    }
}
