//! A window's rows, risk events or notables: JSON texts in order, at most a budget of them in
//! memory and the rest in an unlinked temporary file.
//!
//! A window of PowerShell script blocks can make hundreds of MiB of output (each block in a row,
//! a notable and two risk events), and the spool record that commits it is written only once
//! the window is done. Held whole, that output alone took the service over 1 GiB of events to a
//! 546 MiB peak. Given the engine's [`RowSpill`] ([`Texts::spilling`]), a list keeps about a
//! quarter of its budget in memory and appends the rest to a file in its folder.
//!
//! Key design decision: the texts are read back in order, from the start, as often as the
//! output needs them (the spool measures a record, then writes it; then each output file takes
//! its list), rather than once: a window's output is never whole in memory, and the spool's one
//! record per window (the unit of exactly-once, docs/serve.md) stays as it is. A failed write
//! (a full disk) stops writing for the run ([`RowSpill::fail`]); the texts stay in memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cimhunt_spl::RowSpill;
use serde::ser::{Error as _, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::engine::JsonText;

/// JSON texts in order, some of them perhaps on disk.
#[derive(Default)]
pub struct Texts {
    /// The texts written to disk, before those in memory.
    disk: Option<Disk>,
    memory: Vec<JsonText>,
    /// What `memory` takes, about.
    memory_bytes: usize,
    spill: Option<Arc<RowSpill>>,
}

/// Texts in a temporary file, each its length (4 bytes, little-endian) and its bytes.
struct Disk {
    file: File,
    count: usize,
    /// Where the texts end (a failed write may have left bytes after it).
    len: u64,
    /// Set while a reader has the file (readers share its position).
    reading: AtomicBool,
}

impl Texts {
    /// No texts, all kept in memory.
    pub fn new() -> Texts {
        Texts::default()
    }

    /// No texts; those beyond a quarter of `spill`'s budget go to its folder.
    pub fn spilling(spill: Option<Arc<RowSpill>>) -> Texts {
        Texts {
            spill,
            ..Texts::default()
        }
    }

    /// Adds `text` after the others.
    pub fn push(&mut self, text: JsonText) {
        self.memory_bytes += held_bytes(&text);
        self.memory.push(text);
        let over = self
            .spill
            .as_ref()
            .is_some_and(|s| s.active() && self.memory_bytes > (s.budget() / 4).max(1));
        if over {
            self.relieve();
        }
    }

    /// Appends the texts in memory to the file. When writing fails they stay, and writing
    /// stops for the run.
    fn relieve(&mut self) {
        let Some(spill) = &self.spill else { return };
        if self.disk.is_none() {
            let Some(file) = spill.file() else { return };
            self.disk = Some(Disk {
                file,
                count: 0,
                len: 0,
                reading: AtomicBool::new(false),
            });
        }
        let Some(disk) = &mut self.disk else { return };
        match append(&mut disk.file, disk.len, &self.memory) {
            Ok(written) => {
                disk.len += written;
                disk.count += self.memory.len();
                spill.wrote(written);
                self.memory.clear();
                self.memory_bytes = 0;
            }
            Err(e) => spill.fail(format!("a window's output: {e}")),
        }
    }

    /// How many texts there are.
    pub fn len(&self) -> usize {
        self.on_disk() + self.memory.len()
    }

    /// How many of them are on disk.
    pub fn on_disk(&self) -> usize {
        self.disk.as_ref().map_or(0, |d| d.count)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The texts in order; those on disk are read as they are reached. One reader at a time:
    /// a second one made while the first lives gives an error.
    pub fn iter(&self) -> Iter<'_> {
        let from_disk = self.disk.as_ref().filter(|d| d.count > 0).map(|d| {
            if d.reading.swap(true, Ordering::AcqRel) {
                return Err(io::Error::other("the texts are being read already"));
            }
            let reader = d.file.try_clone().and_then(|mut f| {
                f.seek(SeekFrom::Start(0))?;
                Ok(BufReader::with_capacity(64 << 10, f))
            });
            Ok(DiskReader {
                reader,
                left: d.count,
                reading: &d.reading,
            })
        });
        Iter {
            disk: from_disk,
            memory: self.memory.iter(),
        }
    }

    /// The texts, all in memory.
    pub fn to_vec(&self) -> io::Result<Vec<JsonText>> {
        self.iter().collect()
    }
}

/// What a text held in memory takes, about.
fn held_bytes(text: &JsonText) -> usize {
    text.get().len() + std::mem::size_of::<JsonText>()
}

/// Writes `texts` at `at`; the bytes written.
fn append(file: &mut File, at: u64, texts: &[JsonText]) -> io::Result<u64> {
    file.seek(SeekFrom::Start(at))?;
    let mut w = BufWriter::with_capacity(64 << 10, &mut *file);
    let mut written = 0u64;
    for t in texts {
        let bytes = t.get().as_bytes();
        let len =
            u32::try_from(bytes.len()).map_err(|_| io::Error::other("a text of 4 GiB or more"))?;
        w.write_all(&len.to_le_bytes())?;
        w.write_all(bytes)?;
        written += 4 + u64::from(len);
    }
    w.flush()?;
    Ok(written)
}

impl From<Vec<JsonText>> for Texts {
    fn from(memory: Vec<JsonText>) -> Texts {
        Texts {
            memory_bytes: memory.iter().map(held_bytes).sum(),
            memory,
            ..Texts::default()
        }
    }
}

/// A reader of [`Texts`]: the texts, or why the file could not be read.
pub struct Iter<'a> {
    disk: Option<io::Result<DiskReader<'a>>>,
    memory: std::slice::Iter<'a, JsonText>,
}

impl std::fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("in_memory_left", &self.memory.len())
            .finish_non_exhaustive()
    }
}

struct DiskReader<'a> {
    reader: io::Result<BufReader<File>>,
    left: usize,
    reading: &'a AtomicBool,
}

impl Drop for DiskReader<'_> {
    fn drop(&mut self) {
        self.reading.store(false, Ordering::Release);
    }
}

impl Iterator for Iter<'_> {
    type Item = io::Result<JsonText>;

    fn next(&mut self) -> Option<io::Result<JsonText>> {
        match self.disk.take() {
            None => self.memory.next().map(|t| Ok(t.clone())),
            Some(Err(e)) => {
                // Nothing after a failure: the texts that follow cannot be found.
                self.memory = [].iter();
                Some(Err(e))
            }
            Some(Ok(mut d)) => {
                if d.left == 0 {
                    drop(d);
                    return self.next();
                }
                let read = match &mut d.reader {
                    Ok(r) => read_text(r),
                    Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                };
                d.left -= 1;
                if read.is_ok() {
                    self.disk = Some(Ok(d));
                } else {
                    self.memory = [].iter();
                }
                Some(read)
            }
        }
    }
}

fn read_text(r: &mut impl Read) -> io::Result<JsonText> {
    let mut len = [0; 4];
    r.read_exact(&mut len)?;
    let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut bytes)?;
    let text = String::from_utf8(bytes).map_err(io::Error::other)?;
    JsonText::from_string(text).map_err(io::Error::other)
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts")
            .field("len", &self.len())
            .field("on_disk", &self.on_disk())
            .finish()
    }
}

impl PartialEq for Texts {
    /// Equal texts in the same order (texts that cannot be read are equal to nothing).
    fn eq(&self, other: &Texts) -> bool {
        self.len() == other.len()
            && matches!((self.to_vec(), other.to_vec()), (Ok(a), Ok(b)) if a == b)
    }
}

impl Serialize for Texts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for text in self.iter() {
            let text = text.map_err(|e| S::Error::custom(format!("a spilled output: {e}")))?;
            seq.serialize_element(&text)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Texts, D::Error> {
        Vec::<JsonText>::deserialize(deserializer).map(Texts::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(i: usize) -> JsonText {
        JsonText::new(&format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(i % 50))).unwrap()
    }

    fn spill(dir: &std::path::Path, budget: usize) -> Option<Arc<RowSpill>> {
        Some(Arc::new(RowSpill::new(dir.to_owned(), budget)))
    }

    #[test]
    fn texts_beyond_the_budget_are_read_back_in_order_as_often_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let spill = spill(dir.path(), 4 << 10);
        let mut texts = Texts::spilling(spill.clone());
        for i in 0..1_000 {
            texts.push(text(i));
        }
        assert!(spill.as_ref().unwrap().written_bytes() > 0);
        assert!(texts.memory_bytes <= 1 << 10);
        let want: Vec<JsonText> = (0..1_000).map(text).collect();
        assert_eq!(texts.len(), 1_000);
        for _ in 0..3 {
            assert_eq!(texts.to_vec().unwrap(), want);
        }
        // More after reading go after the rest.
        texts.push(text(1_000));
        assert_eq!(texts.to_vec().unwrap().last(), Some(&text(1_000)));
        assert_eq!(texts.len(), 1_001);
        let json = serde_json::to_string(&texts).unwrap();
        let back: Texts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, texts);
    }

    #[test]
    fn a_second_reader_at_once_is_an_error_not_a_shuffle() {
        let dir = tempfile::tempdir().unwrap();
        let mut texts = Texts::spilling(spill(dir.path(), 64));
        for i in 0..10 {
            texts.push(text(i));
        }
        let mut first = texts.iter();
        assert_eq!(first.next().unwrap().unwrap(), text(0));
        assert!(texts.iter().next().unwrap().is_err());
        assert_eq!(first.next().unwrap().unwrap(), text(1));
        drop(first);
        assert_eq!(texts.to_vec().unwrap().len(), 10);
    }

    #[test]
    fn without_a_folder_to_write_to_the_texts_stay_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let spill = spill(&gone, 64);
        let mut texts = Texts::spilling(spill.clone());
        for i in 0..100 {
            texts.push(text(i));
        }
        assert!(spill.as_ref().unwrap().failure().is_some());
        assert_eq!(
            texts.to_vec().unwrap(),
            (0..100).map(text).collect::<Vec<_>>()
        );
    }
}
