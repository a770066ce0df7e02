//! What the format cutters share: their output items, line counting and gap skipping.
//!
//! A cutter sees one buffer at a time: the bytes carried over from the previous buffer, then
//! new bytes. It appends what it finds to a list of [`Item`]s and answers how many leading bytes
//! it is done with; the rest is carried into the next buffer. Its state (positions, line
//! numbers) is rebased onto the carried bytes, so scanning resumes where it stopped and no byte
//! is scanned twice except a few at the boundary.

use crate::{Location, Malformed, NoticeKind, ReadErrorKind, Span};

/// What a cutter found, in input order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// A record, its span relative to the buffer being cut.
    Record(Span),
    /// A problem.
    Error {
        at: Option<Location>,
        kind: ReadErrorKind,
        skipped: u64,
    },
    /// Damage worked around.
    Notice {
        at: Option<Location>,
        kind: NoticeKind,
    },
}

impl Item {
    /// An error at a line that cost one record (or one stretch of junk).
    pub(crate) fn malformed_line(line: u64, what: Malformed) -> Item {
        Item::Error {
            at: Some(Location::Line(line)),
            kind: ReadErrorKind::Malformed(what),
            skipped: 1,
        }
    }

    /// A record that was too large, at a line.
    pub(crate) fn too_large_line(line: u64, max: usize) -> Item {
        Item::Error {
            at: Some(Location::Line(line)),
            kind: ReadErrorKind::TooLarge(max),
            skipped: 1,
        }
    }
}

/// A text record that has begun and not ended: what the text cutters track of every record,
/// besides where their scanning resumes. Its line is counted only when an error names it
/// (`line`); a record cut whole leaves its line to its batch ([`Location::Uncounted`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenRecord {
    /// Where the record starts (meaningful while `keep`).
    pub(crate) start: usize,
    /// False once the record is known to be too large: its bytes are no longer kept.
    pub(crate) keep: bool,
}

impl OpenRecord {
    /// A record that starts at `start`.
    pub(crate) fn new(start: usize) -> OpenRecord {
        OpenRecord { start, keep: true }
    }

    /// The buffer's bytes before `keep_from` are dropped.
    pub(crate) fn rebase(&mut self, keep_from: usize) {
        self.start = self.start.saturating_sub(keep_from);
    }

    /// The record ends properly at `end`: it is numbered with the next ordinal when it is at
    /// most `max` bytes, otherwise it is too large (on the line `line` counts). Nothing when
    /// it was already given up on.
    pub(crate) fn finish(
        &self,
        end: usize,
        max: usize,
        ordinal: &mut u64,
        out: &mut Vec<Item>,
        line: impl FnOnce(usize) -> u64,
    ) {
        if !self.keep {
            return;
        }
        if end.saturating_sub(self.start) > max {
            out.push(Item::too_large_line(line(self.start), max));
            return;
        }
        *ordinal += 1;
        out.push(Item::Record(Span {
            start: self.start,
            end,
            location: Location::Uncounted,
            ordinal: *ordinal,
            checksum_mismatch: false,
        }));
    }

    /// The record ends at `end` without its proper end: malformed (`what`), or too large when
    /// it is over `max` bytes. Nothing when it was already given up on.
    pub(crate) fn broken(
        &self,
        end: usize,
        max: usize,
        what: Malformed,
        out: &mut Vec<Item>,
        line: impl FnOnce(usize) -> u64,
    ) {
        if !self.keep {
            return;
        }
        let line = line(self.start);
        if end.saturating_sub(self.start) > max {
            out.push(Item::too_large_line(line, max));
        } else {
            out.push(Item::malformed_line(line, what));
        }
    }

    /// The record goes on past the buffer and is known to reach at least `end`: once that is
    /// over `max` bytes it is too large, reported now, and its bytes are no longer kept.
    pub(crate) fn grow(
        &mut self,
        end: usize,
        max: usize,
        out: &mut Vec<Item>,
        line: impl FnOnce(usize) -> u64,
    ) {
        if self.keep && end.saturating_sub(self.start) > max {
            out.push(Item::too_large_line(line(self.start), max));
            self.keep = false;
        }
    }
}

/// Counts lines lazily: the line number at a position is found by counting newlines from the
/// last position asked about.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    /// The 1-based line at `pos`.
    line: u64,
    /// A position in the current buffer.
    pos: usize,
}

impl Lines {
    /// Counting starts on `line` at the start of the first buffer.
    pub(crate) fn new(line: u64) -> Lines {
        Lines { line, pos: 0 }
    }

    /// The 1-based line on which the byte at `q` sits.
    pub(crate) fn at(&mut self, buf: &[u8], q: usize) -> u64 {
        let q = q.min(buf.len());
        if q >= self.pos {
            self.line += count_newlines(sub(buf, self.pos, q));
        } else {
            self.line = self
                .line
                .saturating_sub(count_newlines(sub(buf, q, self.pos)));
        }
        self.pos = q;
        self.line
    }

    /// The line at the start of the buffer.
    pub(crate) fn first(&mut self, buf: &[u8]) -> u64 {
        self.at(buf, 0)
    }

    /// The buffer's bytes before `keep_from` are dropped: position 0 is now `keep_from`.
    pub(crate) fn rebase(&mut self, buf: &[u8], keep_from: usize) {
        self.at(buf, keep_from);
        self.pos = 0;
    }
}

/// The line breaks in `bytes`. `bytecount` (ripgrep's line counter) sums its byte
/// comparisons in vector registers, about twice as fast as `memchr`'s count over a block
/// already in the cache.
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    bytecount::count(bytes, b'\n') as u64
}

/// `buf[a..b]`, or empty when that is not a range inside `buf`.
pub(crate) fn sub(buf: &[u8], a: usize, b: usize) -> &[u8] {
    buf.get(a..b).unwrap_or_default()
}

/// `buf[a..]`, or empty.
pub(crate) fn from(buf: &[u8], a: usize) -> &[u8] {
    buf.get(a..).unwrap_or_default()
}

/// What [`record_banner`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Banner {
    /// A banner line of this many bytes (its line break included).
    Line(usize),
    /// Maybe one: the buffer ends too soon to tell.
    NeedMore,
    /// Not one.
    No,
}

/// The longest banner line: `Record `, 20 digits, ` (recovered)`, CR LF.
const BANNER_MAX: usize = 7 + 20 + 12 + 2;

/// Whether `rest` starts with the `Record N` line evtx_dump writes before each record in its
/// default `-o json` and `-o xml` outputs (`Record N (recovered)` for a record carved from
/// unallocated space; evtx's `evtx_parser.rs`), ending in a line break or the end of the input.
pub(crate) fn record_banner(rest: &[u8], eof: bool) -> Banner {
    const WORD: &[u8] = b"Record ";
    if rest.len() < WORD.len() {
        return if WORD.starts_with(rest) && !eof {
            Banner::NeedMore
        } else {
            Banner::No
        };
    }
    if !rest.starts_with(WORD) {
        return Banner::No;
    }
    // Only the first BANNER_MAX bytes are looked at, so that the answer for a long line does
    // not depend on how much of it the buffer holds.
    let line_end = memchr::memchr(b'\n', sub(rest, 0, rest.len().min(BANNER_MAX)));
    let line = match line_end {
        Some(nl) => sub(rest, 0, nl),
        None if rest.len() >= BANNER_MAX => return Banner::No,
        None if !eof => return Banner::NeedMore,
        None => rest,
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let body = sub(line, WORD.len(), line.len());
    let body = body.strip_suffix(b" (recovered)").unwrap_or(body);
    if body.is_empty() || !body.iter().all(u8::is_ascii_digit) {
        return Banner::No;
    }
    Banner::Line(line_end.map_or(rest.len(), |nl| nl + 1))
}

/// The UTF-8 byte order mark.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where skipping filler bytes stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// At a byte that is not filler.
    At(usize),
    /// Out of bytes, or at the start of what may be a byte order mark cut by the buffer's end:
    /// more input is needed to go on from here.
    End(usize),
}

/// Skips ASCII whitespace, byte order marks and bytes for which `filler` is true, from `pos`.
pub(crate) fn skip_filler(buf: &[u8], mut pos: usize, eof: bool, filler: fn(u8) -> bool) -> Gap {
    while let Some(&b) = buf.get(pos) {
        if b.is_ascii_whitespace() || filler(b) {
            pos += 1;
        } else if b == BOM[0] {
            let rest = from(buf, pos);
            if rest.starts_with(BOM) {
                pos += BOM.len();
            } else if !eof && rest.len() < BOM.len() && BOM.starts_with(rest) {
                return Gap::End(pos);
            } else {
                return Gap::At(pos);
            }
        } else {
            return Gap::At(pos);
        }
    }
    Gap::End(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_forward_backward_and_across_rebase() {
        let buf = b"a\nb\nc\nd";
        let mut l = Lines::new(1);
        assert_eq!(l.at(buf, 0), 1);
        assert_eq!(l.at(buf, 4), 3);
        assert_eq!(l.at(buf, 2), 2);
        l.rebase(buf, 4);
        assert_eq!(l.at(b"c\nd", 2), 4);
    }

    #[test]
    fn record_banners_of_evtx_dump_are_recognised() {
        assert_eq!(record_banner(b"Record 12\n{", false), Banner::Line(10));
        assert_eq!(record_banner(b"Record 12\r\n<", false), Banner::Line(11));
        assert_eq!(
            record_banner(b"Record 7 (recovered)\n{", false),
            Banner::Line(21)
        );
        assert_eq!(record_banner(b"Record 7", true), Banner::Line(8));
        assert_eq!(record_banner(b"Record 7", false), Banner::NeedMore);
        assert_eq!(record_banner(b"Reco", false), Banner::NeedMore);
        assert_eq!(record_banner(b"Reco", true), Banner::No);
        assert_eq!(record_banner(b"Record x\n", false), Banner::No);
        // The longest evtx_dump writes (20 digits, recovered, CR LF) is one.
        let longest = b"Record 18446744073709551615 (recovered)\r\n{";
        assert_eq!(record_banner(longest, false), Banner::Line(41));
        assert_eq!(record_banner(b"Record \n", false), Banner::No);
        assert_eq!(record_banner(b"Records 1\n", false), Banner::No);
        assert_eq!(record_banner(b"Recorder", false), Banner::No);
    }

    #[test]
    fn skip_filler_handles_bom_whitespace_and_cut_bom() {
        let none = |_| false;
        assert_eq!(
            skip_filler(b" \r\n\xEF\xBB\xBFx", 0, false, none),
            Gap::At(6)
        );
        assert_eq!(skip_filler(b"  \xEF\xBB", 0, false, none), Gap::End(2));
        assert_eq!(skip_filler(b"  \xEF\xBB", 0, true, none), Gap::At(2));
        assert_eq!(
            skip_filler(b",[ ]", 0, true, |b| b",[]".contains(&b)),
            Gap::End(4)
        );
    }

    /// Regression (fuzz, read_input): a `Record` line of 95 digits was a banner when the
    /// buffer held all of it and was cut at the buffer's end otherwise, so the block size
    /// changed which records were read.
    #[test]
    fn a_record_line_longer_than_any_banner_is_not_one_whatever_the_buffer_holds() {
        let line = format!("Record 2{}\n", "7".repeat(94));
        let bytes = line.as_bytes();
        assert_eq!(record_banner(bytes, true), Banner::No);
        assert_eq!(record_banner(&bytes[..60], false), Banner::No);
        assert_eq!(record_banner(&bytes[..BANNER_MAX], false), Banner::No);
        assert_eq!(
            record_banner(&bytes[..BANNER_MAX - 1], false),
            Banner::NeedMore
        );
    }
}
