//! JSON-lines output files (`--rows`, `--risk`, `--notable`), written exactly once per spool
//! record.
//!
//! Each file has a cursor in the state directory (`<kind>.cursor`): the file's path, the next
//! spool record to write and the file's length after the last one written. On open, a longer
//! file is cut back to that length (a crash between writing and saving the cursor), and the
//! spool records from the cursor on are written again. Standard output (`-`) has no cursor:
//! what was printed before a crash cannot be taken back, so it is at-least-once.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};

use crate::engine::Texts;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spool::SpoolRecord;

/// Which part of a window's output a file receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputKind {
    /// Result rows.
    Rows,
    /// Risk events.
    Risk,
    /// Notables.
    Notable,
}

impl OutputKind {
    fn name(self) -> &'static str {
        match self {
            OutputKind::Rows => "rows",
            OutputKind::Risk => "risk",
            OutputKind::Notable => "notable",
        }
    }

    fn pick(self, r: &SpoolRecord) -> &Texts {
        match self {
            OutputKind::Rows => &r.rows,
            OutputKind::Risk => &r.risk_events,
            OutputKind::Notable => &r.notables,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    path: PathBuf,
    next: u64,
    len: u64,
}

#[derive(Debug)]
enum Target {
    Stdout,
    File { file: File, path: PathBuf, len: u64 },
}

/// One output file.
#[derive(Debug)]
pub struct FileOutput {
    kind: OutputKind,
    target: Target,
    cursor_path: PathBuf,
    next: u64,
}

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct OutputError {
    /// The file.
    pub path: PathBuf,
    /// The error.
    pub source: io::Error,
}

impl FileOutput {
    /// Opens the output `path` (`-`: standard output) for `kind`, with its cursor in
    /// `state_dir`; `spool_next` is where a new output starts.
    pub fn open(
        kind: OutputKind,
        path: &Path,
        state_dir: &Path,
        spool_next: u64,
    ) -> Result<FileOutput, OutputError> {
        let cursor_path = state_dir.join(format!("{}.cursor", kind.name()));
        if path == Path::new("-") {
            return Ok(FileOutput {
                kind,
                target: Target::Stdout,
                cursor_path,
                next: spool_next,
            });
        }
        let err = |source| OutputError {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        let on_disk = file.metadata().map_err(err)?.len();
        let cursor: Option<Cursor> = std::fs::read(&cursor_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .filter(|c: &Cursor| c.path == path);
        let (next, len) = match cursor {
            Some(c) if c.len <= on_disk => {
                if on_disk > c.len {
                    file.set_len(c.len).map_err(err)?;
                }
                (c.next, c.len)
            }
            _ => (spool_next, on_disk),
        };
        let mut out = FileOutput {
            kind,
            target: Target::File {
                file,
                path: path.to_owned(),
                len,
            },
            cursor_path,
            next,
        };
        out.save_cursor()?;
        Ok(out)
    }

    /// The next spool record this output needs.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Writes record `seq` (records below the cursor are skipped).
    pub fn write(&mut self, seq: u64, record: &SpoolRecord) -> Result<(), OutputError> {
        if seq < self.next {
            return Ok(());
        }
        let values = self.kind.pick(record);
        match &mut self.target {
            Target::Stdout => {
                write_lines(io::stdout().lock(), values).map_err(|source| OutputError {
                    path: "-".into(),
                    source,
                })?;
            }
            Target::File { file, path, len } => {
                if !values.is_empty() {
                    let wrote = write_lines(&mut *file, values).and_then(|n| {
                        file.sync_data()?;
                        Ok(n)
                    });
                    match wrote {
                        Ok(n) => *len += n,
                        Err(source) => {
                            // Leave no partial record behind for the next write to follow.
                            let _ = file.set_len(*len);
                            return Err(OutputError {
                                path: path.clone(),
                                source,
                            });
                        }
                    }
                }
            }
        }
        self.next = seq + 1;
        if !values.is_empty() {
            self.save_cursor()?;
        }
        Ok(())
    }

    /// Persists the cursor (files only).
    pub fn save_cursor(&mut self) -> Result<(), OutputError> {
        if let Target::File { path, len, .. } = &self.target {
            let c = Cursor {
                path: path.clone(),
                next: self.next,
                len: *len,
            };
            let bytes = serde_json::to_vec(&c).expect("cursor serializes");
            crate::fsutil::write_atomic(&self.cursor_path, &bytes).map_err(|source| {
                OutputError {
                    path: self.cursor_path.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }
}

/// Writes each value's text as one line through a buffer of 64 KiB, so that a window's output
/// is not held a second time, whole, as the file's bytes; returns the bytes written.
fn write_lines(out: impl Write, values: &Texts) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(64 << 10, out);
    let mut n = 0u64;
    for v in values.iter() {
        let v = v?;
        out.write_all(v.get().as_bytes())?;
        out.write_all(b"\n")?;
        n += v.get().len() as u64 + 1;
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::JsonText;

    fn record(risk: usize) -> SpoolRecord {
        SpoolRecord {
            detection: "D".into(),
            scheduled: 0,
            earliest: 0,
            latest: 0,
            rows: vec![JsonText::new(r#"{"row":1}"#).unwrap()].into(),
            risk_events: (0..risk)
                .map(|i| JsonText::new(&format!(r#"{{"i":{i}}}"#)).unwrap())
                .collect::<Vec<_>>()
                .into(),
            notables: Texts::new(),
        }
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_record_larger_than_the_write_buffer_is_written_whole_once_and_its_length_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("risk.jsonl");
        let mut out = FileOutput::open(OutputKind::Risk, &path, dir.path(), 0).unwrap();
        out.write(0, &record(2)).unwrap();
        out.write(1, &record(0)).unwrap();
        // About 120 KiB of lines: more than the 64 KiB buffer.
        out.write(2, &record(12_000)).unwrap();
        out.write(2, &record(5)).unwrap();
        let expected: Vec<String> = (0..2)
            .chain(0..12_000)
            .map(|i| format!(r#"{{"i":{i}}}"#))
            .collect();
        assert_eq!(lines(&path), expected);
        assert_eq!(out.next(), 3);
        drop(out);
        // What the cursor says the file holds is all of it: nothing is cut on reopening.
        let out = FileOutput::open(OutputKind::Risk, &path, dir.path(), 0).unwrap();
        assert_eq!(out.next(), 3);
        assert_eq!(lines(&path), expected);
    }
}
