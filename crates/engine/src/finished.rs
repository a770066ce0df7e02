//! A finished detection's result rows as [`crate::finish_each`] hands them on: held compactly,
//! in order, and beyond the run's state budget on disk.
//!
//! Most detections return a handful of rows, but some return a row per script block or per
//! command line: `PowerShell Start or Stop Service` returns 7,100 whole script blocks (93 MB of
//! JSON) from 2 GiB of a fleet's events, and a detection's rows wait whole until they are
//! printed (a table needs every row for its widths, rows wait their turn behind the detection
//! printed before them). Here they wait as [`HeldRows`]: their cells' bytes one after the
//! other, about the size of their texts, and with a [`cimhunt_spl::RowSpill`] in the context,
//! in a temporary file once they take more than its budget. Each row is made again when it is
//! taken, so a consumer that writes rows as it takes them (JSON, JSON lines, the alert files)
//! never holds them all.
//!
//! Key design decision: only the rows of a detection handed to a caller are held this way;
//! rows that feed another stage (a subsearch's, the rows between commands) stay vectors.

use cimhunt_spl::held::HeldRows;
use cimhunt_spl::{ExecCtx, ExecError, Row, Sym};

/// A detection's result rows, in order; see the module documentation.
#[derive(Debug, Default)]
pub struct FinishedRows {
    held: HeldRows,
    /// The rows' field names, in first-seen order.
    columns: Vec<Sym>,
}

impl FinishedRows {
    /// No rows yet; rows beyond `ctx`'s row spill budget will go to disk.
    pub(crate) fn new(ctx: &ExecCtx) -> Self {
        FinishedRows {
            held: HeldRows::spilling(ctx.row_spill().cloned()),
            columns: Vec::new(),
        }
    }

    /// Holds a chunk of rows after the others (the chunk is left empty).
    pub(crate) fn append(&mut self, chunk: &mut Vec<Row>) {
        for row in chunk.drain(..) {
            for name in row.names() {
                if !self.columns.contains(&name) {
                    self.columns.push(name);
                }
            }
            self.held.push(&row);
        }
    }

    /// The rows' field names in first-seen order (a table's header), known before the rows are
    /// taken.
    pub fn columns(&self) -> &[Sym] {
        &self.columns
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The bytes the rows take in memory (not those on disk).
    pub fn memory_bytes(&self) -> usize {
        self.held.memory_bytes()
    }

    /// The rows in order, each made when it is taken. A row that cannot be read back (its
    /// temporary file failed) is an error, after which nothing more is given.
    pub fn into_rows(self) -> impl Iterator<Item = Result<Row, ExecError>> {
        let mut failed = false;
        self.held.into_rows().map_while(move |r| {
            if failed {
                return None;
            }
            failed = r.is_err();
            Some(r.map_err(|e| ExecError::Failed {
                command: "finish",
                message: e.to_string(),
            }))
        })
    }

    /// The rows in one vector.
    pub fn into_vec(self) -> Result<Vec<Row>, ExecError> {
        self.into_rows().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cimhunt_spl::RowSpill;

    use super::*;

    fn script_blocks(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| {
                Row::from_texts(&[
                    ("Computer", &format!("ws-{}", i % 7)),
                    (
                        "ScriptBlockText",
                        &format!("Start-Service x{i} {}", "#".repeat(900)),
                    ),
                ])
            })
            .collect()
    }

    /// Regression: `PowerShell Start or Stop Service` on 2 GiB held its 7,100 result rows of
    /// whole script blocks (93 MB) until they were printed.
    #[test]
    fn rows_beyond_the_budget_wait_on_disk_and_come_back_in_order() {
        let rows = script_blocks(2_000);
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(RowSpill::new(dir.path().to_path_buf(), 64 << 10));
        let ctx = ExecCtx::default().with_row_spill(spill.clone());
        let mut finished = FinishedRows::new(&ctx);
        for chunk in rows.chunks(300) {
            finished.append(&mut chunk.to_vec());
        }
        assert_eq!(finished.len(), rows.len());
        // About the budget and the block being filled, of about 2 MB of rows.
        assert!(
            finished.memory_bytes() <= 2 * (64 << 10),
            "{}",
            finished.memory_bytes()
        );
        assert!(
            spill.written_bytes() > 1_500_000,
            "{}",
            spill.written_bytes()
        );
        assert_eq!(finished.into_vec().unwrap(), rows);

        // Without a budget, the same rows, all in memory, in blocks about their size.
        let mut kept = FinishedRows::new(&ExecCtx::default());
        kept.append(&mut rows.clone());
        assert!(
            kept.memory_bytes() < 2 * 2_000 * 960,
            "{}",
            kept.memory_bytes()
        );
        assert_eq!(kept.into_vec().unwrap(), rows);

        // One small row takes one small block.
        let mut one = FinishedRows::new(&ExecCtx::default());
        one.append(&mut script_blocks(1));
        assert!(one.memory_bytes() <= 4 << 10, "{}", one.memory_bytes());
    }

    /// A table's header is known before its rows are taken: the names of every row, in the
    /// order they are first seen (a later row may add one).
    #[test]
    fn columns_are_every_rows_names_in_first_seen_order() {
        let mut rows = script_blocks(3);
        rows[2].set(Sym::new("note"), cimhunt_spl::Value::str("late"));
        let mut finished = FinishedRows::new(&ExecCtx::default());
        finished.append(&mut rows[..1].to_vec());
        finished.append(&mut rows[1..].to_vec());
        let names: Vec<&str> = finished.columns().iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["Computer", "ScriptBlockText", "note"]);
        assert_eq!(finished.into_vec().unwrap(), rows);
    }
}
