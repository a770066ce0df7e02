//! Rows held in few bytes while a command needs them all (`eventstats` computes its aggregates
//! over every row before it can give any row its values).
//!
//! A [`Row`] is a vector of 48-byte cells, each text its own allocation: 125,870 rows of four
//! texts and three numbers took ~560 bytes each, of which ~150 were text. Held here, a row is
//! its cells written one after the other into large blocks (a field's number, a tag, the value's
//! bytes), about the size of its texts, and it is made a [`Row`] again when it is given on.
//! Blocks are freed as their rows are read back, so the rows being given on and the rows still
//! held are never both whole. Given a [`RowSpill`] ([`HeldRows::spilling`]), closed blocks
//! beyond its budget are appended to a temporary file and read back, one at a time, in order.
//!
//! Key design decision: a private, lossless encoding rather than a general serializer: a row
//! read back equals the row held, cell by cell (a number keeps the text it was read from, a
//! computed number has none), and field names are written as their [`Sym`] numbers, which are
//! valid for the life of the process (the held rows never leave it).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use crate::row::Row;
use crate::spill::RowSpill;
use crate::sym::Sym;
use crate::value::{Number, Value};

/// A block is closed when it holds this many bytes (a row larger than a block gets its own).
const BLOCK_BYTES: usize = 256 << 10;
/// The first block's size; each next one is twice the last, up to [`BLOCK_BYTES`].
const FIRST_BLOCK_BYTES: usize = 4 << 10;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const COMPUTED: u8 = 3;
const READ_NUMBER: u8 = 4;
const TEXT: u8 = 5;
const MULTI: u8 = 6;

/// Rows held in order, compactly.
#[derive(Debug, Default)]
pub struct HeldRows {
    blocks: Vec<Vec<u8>>,
    /// Where the row being written is encoded first, to see whether it fits its block.
    scratch: Vec<u8>,
    /// The bytes of `blocks`' room.
    held: usize,
    /// How many rows are held.
    rows: usize,
    /// The size of the last block opened.
    block_size: usize,
    /// Where closed blocks beyond the budget go, when they may.
    spill: Option<Arc<RowSpill>>,
    /// The blocks written to disk, before those in memory.
    disk: Option<OnDisk>,
}

/// Blocks in a temporary file, one after the other.
#[derive(Debug)]
struct OnDisk {
    file: File,
    /// Each block's length, in order.
    lens: Vec<usize>,
}

/// A held row could not be read back: the bytes are not what [`HeldRows::push`] wrote (only a
/// bug can cause it), or the blocks written to disk could not be read. Whoever reads the rows
/// reports it rather than lose the row silently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// Bytes that do not decode.
    #[error("a held row could not be read back (byte {0} of its block)")]
    Bytes(usize),
    /// The temporary file failed.
    #[error("held rows could not be read back from disk: {0}")]
    Disk(String),
}

impl HeldRows {
    /// No rows.
    #[cfg(test)]
    pub fn new() -> HeldRows {
        HeldRows::default()
    }

    /// No rows; closed blocks beyond `spill`'s budget go to disk.
    pub fn spilling(spill: Option<Arc<RowSpill>>) -> HeldRows {
        HeldRows {
            spill,
            ..HeldRows::default()
        }
    }

    /// Holds `row` after the others.
    pub fn push(&mut self, row: &Row) {
        self.rows += 1;
        self.scratch.clear();
        put_len(&mut self.scratch, row.len());
        for (name, value) in row.cells() {
            put_len(&mut self.scratch, name.index() as usize);
            put_value(&mut self.scratch, value);
        }
        let fits = self
            .blocks
            .last()
            .is_some_and(|b| b.len() + self.scratch.len() <= b.capacity());
        if !fits {
            self.relieve();
            // Blocks start small and double (a few rows are held in a few bytes), up to a
            // block's size or a smaller budget's.
            let most = self
                .spill
                .as_ref()
                .map_or(BLOCK_BYTES, |s| s.budget().min(BLOCK_BYTES));
            self.block_size = (self.block_size.saturating_mul(2))
                .clamp(FIRST_BLOCK_BYTES, BLOCK_BYTES)
                .min(most);
            let block = Vec::with_capacity(self.block_size.max(self.scratch.len()));
            self.held += block.capacity();
            self.blocks.push(block);
        }
        if let Some(block) = self.blocks.last_mut() {
            block.extend_from_slice(&self.scratch);
        }
    }

    /// Writes the blocks in memory (all closed: a new one is about to open) to disk when they
    /// take more than the budget. When writing fails they stay, and writing stops for the run.
    fn relieve(&mut self) {
        let Some(spill) = self.spill.as_ref().filter(|s| s.active()) else {
            return;
        };
        if self.held <= spill.budget() {
            return;
        }
        if self.disk.is_none() {
            let Some(file) = spill.file() else {
                return;
            };
            self.disk = Some(OnDisk {
                file,
                lens: Vec::new(),
            });
        }
        let Some(disk) = &mut self.disk else {
            return;
        };
        let listed = disk.lens.len();
        for block in &self.blocks {
            if let Err(e) = disk.file.write_all(block) {
                spill.fail(e.to_string());
                // What was written of this batch is dropped from the file's list: those blocks
                // stay in memory, and the file is read only up to the blocks it lists.
                disk.lens.truncate(listed);
                return;
            }
            disk.lens.push(block.len());
        }
        let bytes: usize = self.blocks.iter().map(Vec::len).sum();
        spill.wrote(bytes as u64);
        self.blocks.clear();
        self.held = 0;
    }

    /// How many rows are held.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The bytes the rows held in memory take (their blocks' room; not those on disk).
    pub fn memory_bytes(&self) -> usize {
        self.held
    }

    /// The rows in the order held, each made when it is taken; a block is freed once its last
    /// row is taken, and a block on disk is read when its first row is.
    pub fn into_rows(self) -> impl Iterator<Item = Result<Row, Unreadable>> {
        let from_disk = self.disk.map(read_back).into_iter().flatten();
        from_disk
            .chain(self.blocks.into_iter().map(Ok))
            .flat_map(|block| {
                let (block, mut failed) = match block {
                    Ok(b) => (b, None),
                    Err(e) => (Vec::new(), Some(e)),
                };
                let mut at = 0;
                std::iter::from_fn(move || {
                    if let Some(e) = failed.take() {
                        return Some(Err(e));
                    }
                    if at >= block.len() {
                        return None;
                    }
                    let mut r = Reader { bytes: &block, at };
                    let row = r.row();
                    // After a failure the rest of the block cannot be found: stop there.
                    at = if row.is_ok() { r.at } else { block.len() };
                    Some(row)
                })
            })
    }
}

/// The blocks of a file, in order; after a failure, that failure and nothing more.
fn read_back(disk: OnDisk) -> impl Iterator<Item = Result<Vec<u8>, Unreadable>> {
    let OnDisk { mut file, lens } = disk;
    let start = file.seek(SeekFrom::Start(0));
    let mut reader = start.map(|_| BufReader::with_capacity(64 << 10, file));
    let mut lens = lens.into_iter();
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let fail = |e: &io::Error| Unreadable::Disk(e.to_string());
        let r = match &mut reader {
            Ok(r) => r,
            Err(e) => {
                done = true;
                return Some(Err(fail(e)));
            }
        };
        let len = lens.next()?;
        let mut block = vec![0; len];
        match r.read_exact(&mut block) {
            Ok(()) => Some(Ok(block)),
            Err(e) => {
                done = true;
                Some(Err(fail(&e)))
            }
        }
    })
}

/// Writes `n` in 7-bit groups, low first, the high bit marking that more follow.
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Num(n) => {
            out.push(if n.source_text().is_some() {
                READ_NUMBER
            } else {
                COMPUTED
            });
            out.extend_from_slice(&n.get().to_bits().to_le_bytes());
            if let Some(text) = n.source_text() {
                put_text(out, text);
            }
        }
        Value::Str(s) => {
            out.push(TEXT);
            put_text(out, s);
        }
        Value::Multi(vs) => {
            out.push(MULTI);
            put_len(out, vs.len());
            for v in vs {
                put_value(out, v);
            }
        }
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail(&self) -> Unreadable {
        Unreadable::Bytes(self.at)
    }

    fn byte(&mut self) -> Result<u8, Unreadable> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.fail())?;
        self.at += 1;
        Ok(b)
    }

    fn len(&mut self) -> Result<usize, Unreadable> {
        let mut n: usize = 0;
        for shift in (0..usize::BITS).step_by(7) {
            let b = self.byte()?;
            n |= usize::from(b & 0x7f)
                .checked_shl(shift)
                .ok_or_else(|| self.fail())?;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.fail())
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Unreadable> {
        let end = self.at.checked_add(n).ok_or_else(|| self.fail())?;
        let s = self.bytes.get(self.at..end).ok_or_else(|| self.fail())?;
        self.at = end;
        Ok(s)
    }

    fn text(&mut self) -> Result<String, Unreadable> {
        let n = self.len()?;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| self.fail())
    }

    fn row(&mut self) -> Result<Row, Unreadable> {
        let n = self.len()?;
        // Each cell takes at least two bytes: a corrupt count cannot reserve beyond the block.
        let mut row = Row::with_capacity(n.min(self.bytes.len() / 2));
        for _ in 0..n {
            let index = u32::try_from(self.len()?).map_err(|_| self.fail())?;
            let name = Sym::from_index(index).ok_or_else(|| self.fail())?;
            let value = self.value()?;
            row.push(name, value);
        }
        Ok(row)
    }

    fn value(&mut self) -> Result<Value<'static>, Unreadable> {
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            tag @ (COMPUTED | READ_NUMBER) => {
                let bits: [u8; 8] = self.take(8)?.try_into().map_err(|_| self.fail())?;
                let n = f64::from_bits(u64::from_le_bytes(bits));
                if tag == COMPUTED {
                    Value::Num(Number::new(n))
                } else {
                    Value::Num(Number::with_text(n, Cow::Owned(self.text()?)))
                }
            }
            TEXT => Value::Str(Cow::Owned(self.text()?)),
            MULTI => {
                let n = self.len()?;
                let mut vs = Vec::with_capacity(n.min(self.bytes.len()));
                for _ in 0..n {
                    vs.push(self.value()?);
                }
                Value::Multi(vs)
            }
            _ => return Err(self.fail()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varied() -> Vec<Row> {
        let mut rows = vec![
            Row::new(),
            Row::from_texts(&[("dest", "ws-1"), ("count", "012"), ("pi", "3.140")]),
        ];
        let mut r = Row::new();
        r.push(Sym::new("n"), Value::Num(Number::new(-0.5)));
        r.push(Sym::new("big"), Value::Num(Number::new(1e300)));
        r.push(Sym::new("none"), Value::Null);
        r.push(Sym::new("t"), Value::Bool(true));
        r.push(Sym::new("f"), Value::Bool(false));
        r.push(Sym::new("lit"), Value::Str(Cow::Borrowed("borrowed")));
        r.push(Sym::new("empty"), Value::Str(Cow::Owned(String::new())));
        r.push(
            Sym::new("mv"),
            Value::Multi(vec![
                Value::from_field("a\u{e9}\u{1F600}".to_owned()),
                Value::from_field("7".to_owned()),
                Value::Num(Number::new(2.0)),
            ]),
        );
        rows.push(r);
        // Longer than a block, and long enough for lengths of three 7-bit groups.
        rows.push(Row::from_texts(&[("long", &"x".repeat(BLOCK_BYTES + 17))]));
        rows.push(Row::from_texts(&[("after", "the long one")]));
        rows
    }

    #[test]
    fn rows_read_back_equal_to_those_held_in_order_and_in_kind() {
        let rows = varied();
        let mut held = HeldRows::new();
        for r in &rows {
            held.push(r);
        }
        let back: Vec<Row> = held.into_rows().map(Result::unwrap).collect();
        assert_eq!(back, rows);
        // Equality of values compares texts; the kind (read or computed) must survive too.
        for (b, r) in back.iter().zip(&rows) {
            for ((_, x), (_, y)) in b.cells().iter().zip(r.cells()) {
                if let (Value::Num(x), Value::Num(y)) = (x, y) {
                    assert_eq!(x.is_computed(), y.is_computed());
                    assert_eq!(x.get().to_bits(), y.get().to_bits());
                }
            }
        }
    }

    #[test]
    fn many_small_rows_fill_blocks_and_take_about_the_bytes_of_their_texts() {
        let mut held = HeldRows::new();
        let rows: Vec<Row> = (0..20_000)
            .map(|i| {
                Row::from_texts(&[
                    ("dest", &format!("ws-{}", i % 50)),
                    ("user", "CORP\\someone"),
                    ("process", &format!("cmd.exe /c echo {i}")),
                ])
            })
            .collect();
        let text: usize = rows
            .iter()
            .flat_map(|r| r.cells().iter().flat_map(|(_, v)| v.texts()))
            .map(|t| t.len())
            .sum();
        for r in &rows {
            held.push(r);
        }
        assert!(held.blocks.len() > 1, "{} blocks", held.blocks.len());
        // Texts plus a few bytes a cell (name, tag, length), and the last block's room.
        assert!(
            held.memory_bytes() < text + rows.len() * 3 * 4 + BLOCK_BYTES,
            "{} bytes held for {text} bytes of text",
            held.memory_bytes()
        );
        let back: Vec<Row> = held.into_rows().map(Result::unwrap).collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn rows_beyond_the_budget_go_to_disk_and_come_back_in_order() {
        let rows: Vec<Row> = (0..3)
            .flat_map(|_| varied())
            .chain((0..2_000).map(|i| Row::from_texts(&[("n", &i.to_string())])))
            .collect();
        let spill = Arc::new(RowSpill::new(std::env::temp_dir(), 4 << 10));
        let mut held = HeldRows::spilling(Some(spill.clone()));
        for r in &rows {
            held.push(r);
        }
        let on_disk = held.disk.as_ref().map_or(0, |d| d.lens.len());
        assert!(on_disk > 3, "{on_disk} blocks on disk");
        // What stays in memory is the blocks since the last write: the budget and the block
        // being filled.
        assert!(
            held.memory_bytes() <= 2 * (4 << 10),
            "{} bytes held",
            held.memory_bytes()
        );
        assert!(spill.written_bytes() > 3 * BLOCK_BYTES as u64);
        let back: Vec<Row> = held.into_rows().map(Result::unwrap).collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn bytes_that_are_not_a_held_row_are_reported_not_read() {
        // Field number 1 names a field.
        Sym::new("x");
        for bytes in [
            &[1u8, 1, 9][..],               // one cell of an unknown tag
            &[1, 1, TEXT, 5, b'a'][..],     // a text shorter than its length
            &[1, 1, TEXT, 1, 0xff][..],     // not UTF-8
            &[1, 0, NULL][..],              // field number 0 names no field
            &[0xff, 0xff, 0xff, 0xff][..],  // a length that never ends
            &[1, 1, COMPUTED, 0, 0, 0][..], // a number cut short
        ] {
            let held = HeldRows {
                blocks: vec![bytes.to_vec()],
                ..HeldRows::default()
            };
            let out: Vec<_> = held.into_rows().collect();
            assert_eq!(out.len(), 1, "{bytes:?}");
            assert!(out[0].is_err(), "{bytes:?} read as {:?}", out[0]);
        }
    }
}
