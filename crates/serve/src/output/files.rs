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

    fn pick(self, r: &SpoolRecord) -> &[serde_json::Value] {
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
        let mut buf = Vec::new();
        for v in self.kind.pick(record) {
            serde_json::to_writer(&mut buf, v).expect("JSON values serialize");
            buf.push(b'\n');
        }
        match &mut self.target {
            Target::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(&buf)
                    .and_then(|_| out.flush())
                    .map_err(|source| OutputError {
                        path: "-".into(),
                        source,
                    })?;
            }
            Target::File { file, path, len } => {
                if !buf.is_empty() {
                    file.write_all(&buf)
                        .and_then(|_| file.sync_data())
                        .map_err(|source| OutputError {
                            path: path.clone(),
                            source,
                        })?;
                    *len += buf.len() as u64;
                }
            }
        }
        self.next = seq + 1;
        if !buf.is_empty() {
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
