//! Cutting JSON text into top-level objects (evtx_dump's `Record N` lines between them are
//! passed over silently).
//!
//! A brace matcher that knows strings and escapes, stepping between the bytes that matter with
//! a byte-class table. It does not validate: a complete `{…}` is a record, whatever is inside. It does
//! resynchronise on damage a line-oriented producer leaves: a raw line break inside a string
//! (impossible in valid JSON) ends the object, and so does a `{` at the start of a line where
//! valid JSON cannot have one (anywhere a value is not expected): that object was cut short.
//! Nested objects that start a line, as `json.dumps(obj, indent=0)` writes them, stay inside.

use crate::Malformed;
use crate::cut::{Banner, Gap, Item, Lines, OpenRecord, from, record_banner, skip_filler, sub};

/// Cuts JSON text.
#[derive(Debug)]
pub(crate) struct JsonCutter {
    state: State,
    /// Where scanning resumes between objects.
    pos: usize,
    lines: Lines,
    ordinal: u64,
    max_record: usize,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Between objects, at depth 0.
    Top,
    /// In a line of bytes that are not an object, begun on `line`.
    Junk { line: u64 },
    /// Inside an object.
    Object(Obj),
}

#[derive(Debug, Clone, Copy)]
struct Obj {
    /// Its start; once it is too large its bytes are no longer kept.
    rec: OpenRecord,
    /// Brace depth, ≥ 1.
    depth: u64,
    /// Open objects and arrays, the record's own object included: ≥ 1.
    nest: u64,
    /// Bit `k` is set when nesting level `k` (0 is the record's own object) is an array. Levels
    /// past [`TRACKED`] are not recorded.
    arrays: u64,
    /// Inside a string.
    in_string: bool,
    /// After a backslash inside a string.
    escaped: bool,
    /// Where scanning resumes.
    scan: usize,
}

/// How many nesting levels [`Obj::arrays`] records.
const TRACKED: u64 = u64::BITS as u64;

impl Obj {
    fn new(start: usize) -> Obj {
        Obj {
            rec: OpenRecord::new(start),
            depth: 1,
            nest: 1,
            arrays: 0,
            in_string: false,
            escaped: false,
            scan: start + 1,
        }
    }

    /// An object or array opens.
    fn push(&mut self, array: bool) {
        if self.nest < TRACKED {
            let bit = 1 << self.nest;
            if array {
                self.arrays |= bit;
            } else {
                self.arrays &= !bit;
            }
        }
        self.nest += 1;
    }

    /// An object or array closes (never the record's own object: its end is the brace depth's).
    fn pop(&mut self) {
        if self.nest > 1 {
            self.nest -= 1;
        }
    }

    /// Whether the innermost open level is an array; `None` past the tracked depth.
    fn in_array(&self) -> Option<bool> {
        let top = self.nest - 1;
        (top < TRACKED).then(|| self.arrays >> top & 1 == 1)
    }
}

/// Bytes skipped between objects besides whitespace.
fn separator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']')
}

/// How an object ended.
enum End {
    /// At its closing brace; the position after it.
    Closed(usize),
    /// A raw line break in a string at this position.
    BrokenString(usize),
    /// A `{` opening a line at this position.
    NewObject(usize),
    /// Out of bytes.
    Pending,
}

impl JsonCutter {
    /// A cutter whose first line is `line`.
    pub(crate) fn new(line: u64, max_record: usize) -> JsonCutter {
        JsonCutter {
            state: State::Top,
            pos: 0,
            lines: Lines::new(line),
            ordinal: 0,
            max_record,
        }
    }

    /// The line at the start of the next buffer, `buf` (its first bytes are those the last
    /// call was not done with).
    pub(crate) fn first_line(&mut self, buf: &[u8]) -> u64 {
        self.lines.first(buf)
    }

    /// Whether an object has begun and not ended.
    pub(crate) fn in_record(&self) -> bool {
        matches!(self.state, State::Object(_))
    }

    /// Cuts `buf`; returns how many leading bytes are done with.
    pub(crate) fn cut(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> usize {
        while self.step(buf, eof, out) {}
        let keep_from = match self.state {
            State::Object(o) if o.rec.keep => o.rec.start,
            // Keep what a `{` at the start of the next buffer looks back at.
            State::Object(o) => match look_back(buf, o.rec.start, o.scan) {
                Ok(p) | Err(p) => p,
            },
            State::Top | State::Junk { .. } => self.pos,
        }
        .min(buf.len());
        self.pos = self.pos.saturating_sub(keep_from);
        if let State::Object(o) = &mut self.state {
            o.rec.rebase(keep_from);
            o.scan = o.scan.saturating_sub(keep_from);
        }
        self.lines.rebase(buf, keep_from);
        keep_from
    }

    fn step(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> bool {
        match self.state {
            State::Top => self.top(buf, eof),
            State::Junk { line } => self.junk(buf, eof, line, out),
            State::Object(o) => self.object(buf, eof, o, out),
        }
    }

    fn top(&mut self, buf: &[u8], eof: bool) -> bool {
        match skip_filler(buf, self.pos, eof, separator) {
            Gap::End(p) => {
                self.pos = p;
                false
            }
            Gap::At(p) => {
                if buf.get(p) != Some(&b'{') {
                    // evtx_dump `-o json` writes a `Record N` line before each record.
                    match record_banner(from(buf, p), eof) {
                        Banner::Line(len) => {
                            self.pos = p + len;
                            return true;
                        }
                        Banner::NeedMore => {
                            self.pos = p;
                            return false;
                        }
                        Banner::No => {}
                    }
                }
                self.state = if buf.get(p) == Some(&b'{') {
                    State::Object(Obj::new(p))
                } else {
                    State::Junk {
                        line: self.lines.at(buf, p),
                    }
                };
                self.pos = p;
                true
            }
        }
    }

    fn junk(&mut self, buf: &[u8], eof: bool, line: u64, out: &mut Vec<Item>) -> bool {
        const WHAT: Malformed = Malformed::NotJsonObject;
        match memchr::memchr(b'\n', from(buf, self.pos)) {
            Some(i) => {
                out.push(Item::malformed_line(line, WHAT));
                self.state = State::Top;
                self.pos += i + 1;
                true
            }
            None => {
                if eof {
                    out.push(Item::malformed_line(line, WHAT));
                    self.state = State::Top;
                }
                self.pos = buf.len();
                false
            }
        }
    }

    fn object(&mut self, buf: &[u8], eof: bool, mut o: Obj, out: &mut Vec<Item>) -> bool {
        let max = self.max_record;
        match scan(buf, &mut o) {
            End::Closed(end) => {
                o.rec.finish(end, max, &mut self.ordinal, out, |at| {
                    self.lines.at(buf, at)
                });
                self.state = State::Top;
                self.pos = end;
                true
            }
            End::BrokenString(nl) => {
                let at = self.lines.at(buf, nl);
                o.rec
                    .broken(nl + 1, max, Malformed::LineBreakInString(at), out, |at| {
                        self.lines.at(buf, at)
                    });
                self.state = State::Top;
                self.pos = nl + 1;
                true
            }
            End::NewObject(q) => {
                let at = self.lines.at(buf, q);
                o.rec
                    .broken(q, max, Malformed::ObjectCutByNextObject(at), out, |at| {
                        self.lines.at(buf, at)
                    });
                self.state = State::Top;
                self.pos = q;
                true
            }
            End::Pending if eof => {
                o.rec
                    .broken(buf.len(), max, Malformed::ObjectCutByEnd, out, |at| {
                        self.lines.at(buf, at)
                    });
                self.state = State::Top;
                self.pos = buf.len();
                false
            }
            End::Pending => {
                o.rec.grow(buf.len(), max, out, |at| self.lines.at(buf, at));
                self.state = State::Object(o);
                false
            }
        }
    }
}

/// Byte classes for the brace matcher: which bytes matter outside and inside strings.
const OUTSIDE: u8 = 1;
const INSIDE: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'{' as usize] = OUTSIDE;
    t[b'}' as usize] = OUTSIDE;
    t[b'[' as usize] = OUTSIDE;
    t[b']' as usize] = OUTSIDE;
    t[b'"' as usize] = OUTSIDE | INSIDE;
    t[b'\\' as usize] = INSIDE;
    t[b'\n' as usize] = INSIDE;
    t
};

/// The first byte at or after `from` whose class has `mask`. JSON tokens are short, so a
/// table-driven loop beats `memchr3` here (measured: 1.4 vs 0.9 GB/s on JSON lines).
fn next(buf: &[u8], from: usize, mask: u8) -> Option<usize> {
    let rest = buf.get(from..)?;
    rest.iter()
        .position(|&b| CLASS[usize::from(b)] & mask != 0)
        .map(|i| from + i)
}

/// Scans an object from `o.scan` to its end or the buffer's.
fn scan(buf: &[u8], o: &mut Obj) -> End {
    loop {
        if o.in_string {
            if o.escaped {
                match buf.get(o.scan) {
                    None => return End::Pending,
                    Some(b'\n') => return End::BrokenString(o.scan),
                    Some(_) => {
                        o.scan += 1;
                        o.escaped = false;
                    }
                }
            }
            let Some(i) = next(buf, o.scan, INSIDE) else {
                o.scan = buf.len();
                return End::Pending;
            };
            o.scan = i + 1;
            match buf.get(i) {
                Some(b'"') => o.in_string = false,
                Some(b'\\') => o.escaped = true,
                _ => return End::BrokenString(i),
            }
        } else {
            let Some(i) = next(buf, o.scan, OUTSIDE) else {
                o.scan = buf.len();
                return End::Pending;
            };
            o.scan = i + 1;
            match buf.get(i) {
                Some(b'"') => o.in_string = true,
                Some(b'{') => {
                    if i.checked_sub(1).and_then(|j| buf.get(j)) == Some(&b'\n')
                        && starts_record(buf, o, i)
                    {
                        return End::NewObject(i);
                    }
                    o.depth += 1;
                    o.push(false);
                }
                Some(b'[') => o.push(true),
                Some(b']') => o.pop(),
                _ => {
                    o.depth -= 1;
                    if o.depth == 0 {
                        return End::Closed(i + 1);
                    }
                    o.pop();
                }
            }
        }
    }
}

/// How many bytes a `{` at the start of a line looks back for the byte before it.
const LOOKBACK: usize = 256;

/// The last byte before `i` that is not whitespace, looking back at most [`LOOKBACK`] bytes
/// and not before `floor`: `Ok` with its position, or `Err` with where looking stopped.
fn look_back(buf: &[u8], floor: usize, i: usize) -> Result<usize, usize> {
    let lo = i.saturating_sub(LOOKBACK).max(floor);
    match sub(buf, lo, i)
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
    {
        Some(k) => Ok(lo + k),
        None => Err(lo),
    }
}

/// Whether a `{` at the start of a line, at `i`, begins a new record, which means the open
/// object was cut short. It does where valid JSON cannot have a `{`: where a key, a `:`, a `,`
/// or the end of an object or array is expected. Where a value is expected (after `:`, `[`, or
/// `,` in an array) it is a nested object. When that cannot be told (only whitespace within
/// reach, or nesting past the tracked depth) the object is kept whole.
fn starts_record(buf: &[u8], o: &Obj, i: usize) -> bool {
    let Ok(p) = look_back(buf, o.rec.start, i) else {
        return false;
    };
    match buf.get(p) {
        Some(b':' | b'[') | None => false,
        Some(b',') => o.in_array() == Some(false),
        Some(_) => true,
    }
}
