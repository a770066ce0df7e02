//! Cutting JSON text into top-level objects.
//!
//! A brace matcher that knows strings and escapes, stepping between the bytes that matter with
//! a byte-class table. It does not validate: a complete `{…}` is a record, whatever is inside. It does
//! resynchronise on damage a line-oriented producer leaves: a raw line break inside a string
//! (impossible in valid JSON) ends the object, and a `{` at the start of a line inside an
//! object means that object was cut short.

use crate::cut::{Gap, Item, Lines, from, skip_filler};

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
    /// Where the object starts (meaningful while `keep`).
    start: usize,
    /// Its first line.
    line: u64,
    /// Brace depth, ≥ 1.
    depth: u64,
    /// Inside a string.
    in_string: bool,
    /// After a backslash inside a string.
    escaped: bool,
    /// Where scanning resumes.
    scan: usize,
    /// False once the object is known to be too large: its bytes are no longer kept.
    keep: bool,
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

    /// Whether an object has begun and not ended.
    pub(crate) fn in_record(&self) -> bool {
        matches!(self.state, State::Object(_))
    }

    /// Cuts `buf`; returns how many leading bytes are done with.
    pub(crate) fn cut(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> usize {
        while self.step(buf, eof, out) {}
        let keep_from = match self.state {
            State::Object(o) if o.keep => o.start,
            // Keep one byte: a `{` at the start of the next buffer looks back at it.
            State::Object(o) => o.scan.saturating_sub(1),
            State::Top | State::Junk { .. } => self.pos,
        }
        .min(buf.len());
        self.pos = self.pos.saturating_sub(keep_from);
        if let State::Object(o) = &mut self.state {
            o.start = o.start.saturating_sub(keep_from);
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
                let line = self.lines.at(buf, p);
                self.state = if buf.get(p) == Some(&b'{') {
                    State::Object(Obj {
                        start: p,
                        line,
                        depth: 1,
                        in_string: false,
                        escaped: false,
                        scan: p + 1,
                        keep: true,
                    })
                } else {
                    State::Junk { line }
                };
                self.pos = p;
                true
            }
        }
    }

    fn junk(&mut self, buf: &[u8], eof: bool, line: u64, out: &mut Vec<Item>) -> bool {
        const WHAT: &str = "text that is not a JSON object";
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
        match scan(buf, &mut o) {
            End::Closed(end) => {
                if o.keep {
                    let max = self.max_record;
                    out.push(Item::text_record(
                        o.start,
                        end,
                        o.line,
                        max,
                        &mut self.ordinal,
                    ));
                }
                self.state = State::Top;
                self.pos = end;
                true
            }
            End::BrokenString(nl) => {
                let at = self.lines.at(buf, nl);
                let what = format!("JSON object with a line break inside a string (line {at})");
                self.bad(&o, nl + 1, what, out);
                self.state = State::Top;
                self.pos = nl + 1;
                true
            }
            End::NewObject(q) => {
                let at = self.lines.at(buf, q);
                let what = format!("truncated JSON object (a new object starts on line {at})");
                self.bad(&o, q, what, out);
                self.state = State::Top;
                self.pos = q;
                true
            }
            End::Pending if eof => {
                let what = "unterminated JSON object (end of input)";
                self.bad(&o, buf.len(), what, out);
                self.state = State::Top;
                self.pos = buf.len();
                false
            }
            End::Pending => {
                if o.keep && buf.len() - o.start > self.max_record {
                    out.push(Item::too_large_line(o.line, self.max_record));
                    o.keep = false;
                }
                self.state = State::Object(o);
                false
            }
        }
    }

    /// An object that ends at `end` without its closing brace.
    fn bad(&self, o: &Obj, end: usize, what: impl Into<String>, out: &mut Vec<Item>) {
        if !o.keep {
            return;
        }
        if end.saturating_sub(o.start) > self.max_record {
            out.push(Item::too_large_line(o.line, self.max_record));
        } else {
            out.push(Item::malformed_line(o.line, what));
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
                    if i.checked_sub(1).and_then(|j| buf.get(j)) == Some(&b'\n') {
                        return End::NewObject(i);
                    }
                    o.depth += 1;
                }
                _ => {
                    o.depth -= 1;
                    if o.depth == 0 {
                        return End::Closed(i + 1);
                    }
                }
            }
        }
    }
}
