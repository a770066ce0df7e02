//! Rows held in few bytes while a command needs them all (`eventstats` computes its aggregates
//! over every row before it can give any row its values).
//!
//! A [`Row`] is a vector of 48-byte cells, each text its own allocation: 125,870 rows of four
//! texts and three numbers took ~560 bytes each, of which ~150 were text. Held here, a row is
//! its cells written one after the other into large blocks (a field's number, a tag, the value's
//! bytes), about the size of its texts, and it is made a [`Row`] again when it is given on.
//! Blocks are freed as their rows are read back, so the rows being given on and the rows still
//! held are never both whole.
//!
//! Key design decision: a private, lossless encoding rather than a general serializer: a row
//! read back equals the row held, cell by cell (a number keeps the text it was read from, a
//! computed number has none), and field names are written as their [`Sym`] numbers, which are
//! valid for the life of the process (the held rows never leave it).

use std::borrow::Cow;

use crate::row::Row;
use crate::sym::Sym;
use crate::value::{Number, Value};

/// A block is closed when it holds this many bytes (a row larger than a block gets its own).
const BLOCK_BYTES: usize = 256 << 10;

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
}

/// A held row could not be read back: the bytes are not what [`HeldRows::push`] wrote. Only a
/// bug can cause it; whoever reads the rows reports it rather than lose the row silently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a held row could not be read back (byte {at} of its block)")]
pub struct Unreadable {
    at: usize,
}

impl HeldRows {
    /// No rows.
    pub fn new() -> HeldRows {
        HeldRows::default()
    }

    /// Holds `row` after the others.
    pub fn push(&mut self, row: &Row) {
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
            self.blocks
                .push(Vec::with_capacity(BLOCK_BYTES.max(self.scratch.len())));
        }
        if let Some(block) = self.blocks.last_mut() {
            block.extend_from_slice(&self.scratch);
        }
    }

    /// The bytes the held rows take (their blocks' room).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.blocks.iter().map(Vec::capacity).sum()
    }

    /// The rows in the order held, each made when it is taken; a block is freed once its last
    /// row is taken.
    pub fn into_rows(self) -> impl Iterator<Item = Result<Row, Unreadable>> {
        self.blocks.into_iter().flat_map(|block| {
            let mut at = 0;
            std::iter::from_fn(move || {
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
        Unreadable { at: self.at }
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
            held.bytes() < text + rows.len() * 3 * 4 + BLOCK_BYTES,
            "{} bytes held for {text} bytes of text",
            held.bytes()
        );
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
                scratch: Vec::new(),
            };
            let out: Vec<_> = held.into_rows().collect();
            assert_eq!(out.len(), 1, "{bytes:?}");
            assert!(out[0].is_err(), "{bytes:?} read as {:?}", out[0]);
        }
    }
}
