//! Cutting Windows event XML text into `<Event>…</Event>` records.
//!
//! The hot path is one search per record, for `Event` (memchr's vector routine, [`WordFinder`]),
//! which finds in one pass both the record's `</Event>` and any `<Event` start before it (which
//! would mean the record is truncated); lines are counted once per buffer, and a record's line
//! only when it is asked for. Bytes between records are usually one line break. Nothing
//! is parsed: whether a record is well-formed XML is the decoder's business. Between records,
//! XML declarations, comments, an `<Events>` wrapper and evtx_dump's `Record N` lines are
//! passed over silently.

use memchr::memmem::Finder;

use crate::Malformed;
use crate::cut::{Banner, Gap, Item, Lines, OpenRecord, from, record_banner, skip_filler, sub};

const OPEN: &[u8] = b"<Event";
const CLOSE: &[u8] = b"</Event>";
/// What both tags hold.
const WORD: &[u8] = b"Event";

/// Finds `Event`, the hot path's one search. On x86-64 with AVX2 it calls memchr's vector
/// routine directly: through `memmem`'s iterator, each of a record's eight or so hits also paid
/// for the searcher's dispatch and the iterator's bookkeeping. A haystack shorter than the
/// routine takes, or a CPU without AVX2, goes through `memmem`.
#[derive(Debug)]
struct WordFinder {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::packedpair::Finder>,
    any: Finder<'static>,
}

impl WordFinder {
    fn new() -> WordFinder {
        WordFinder {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::packedpair::Finder::new(WORD),
            any: Finder::new(WORD),
        }
    }

    /// Where the first `Event` in `hay` starts.
    #[inline]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(f) = &self.avx2
            && hay.len() >= f.min_haystack_len()
        {
            return f.find(hay, WORD);
        }
        self.any.find(hay)
    }
}

/// Cuts XML event text.
#[derive(Debug)]
pub(crate) struct XmlCutter {
    state: State,
    /// Where scanning resumes (in the gap, junk and skip states).
    pos: usize,
    lines: Lines,
    ordinal: u64,
    max_record: usize,
    open: Finder<'static>,
    #[cfg(test)]
    close: Finder<'static>,
    /// `Event`, which both `<Event` and `</Event>` hold.
    word: WordFinder,
    /// Cut records with the two searches this cutter used before ([`XmlCutter::record`]).
    #[cfg(test)]
    two_pass: bool,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Between records.
    Gap,
    /// Inside a construct skipped silently; it ends at the first `end` after `pos`.
    Skip { end: &'static [u8], line: u64 },
    /// Inside a stretch of bytes that are not events, begun on `line`.
    Junk { line: u64 },
    /// Inside a record.
    Record(Rec),
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    /// Its start and first line; once it is too large only its end is looked for.
    rec: OpenRecord,
    /// Where the search for `</Event>` resumes.
    close_from: usize,
    /// Where the search for a new `<Event` start resumes.
    open_from: usize,
}

/// What a `<` between records opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Event,
    Comment,
    Declaration,
    Wrapper,
    Other,
}

/// Whether the byte after `<Event` makes it an event start tag.
fn ends_name(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'>' || b == b'/'
}

/// What the bytes at a `<` open; `None` when the buffer ends too soon to tell.
fn classify(rest: &[u8], eof: bool) -> Option<Tag> {
    const TAGS: [(&[u8], Tag, bool); 5] = [
        (b"<!--", Tag::Comment, false),
        (b"<?", Tag::Declaration, false),
        (b"<Events", Tag::Wrapper, true),
        (b"</Events", Tag::Wrapper, true),
        (OPEN, Tag::Event, true),
    ];
    for (name, tag, needs_end) in TAGS {
        if rest.len() < name.len() {
            if name.starts_with(rest) && !eof {
                return None;
            }
            continue;
        }
        if !rest.starts_with(name) {
            continue;
        }
        if !needs_end {
            return Some(tag);
        }
        match rest.get(name.len()) {
            Some(&b) if ends_name(b) => return Some(tag),
            Some(_) => {}
            None if eof => {}
            None => return None,
        }
    }
    Some(Tag::Other)
}

/// Result of looking for an event start tag.
enum Open {
    /// One starts here.
    At(usize),
    /// `<Event` is here but the buffer ends before the byte that tells.
    Undecided(usize),
    /// None in the range.
    None,
}

impl XmlCutter {
    /// A cutter whose first line is `line`.
    pub(crate) fn new(line: u64, max_record: usize) -> XmlCutter {
        XmlCutter {
            state: State::Gap,
            pos: 0,
            lines: Lines::new(line),
            ordinal: 0,
            max_record,
            open: Finder::new(OPEN),
            #[cfg(test)]
            close: Finder::new(CLOSE),
            word: WordFinder::new(),
            #[cfg(test)]
            two_pass: false,
        }
    }

    /// The line at the start of the next buffer, `buf` (its first bytes are those the last
    /// call was not done with).
    pub(crate) fn first_line(&mut self, buf: &[u8]) -> u64 {
        self.lines.first(buf)
    }

    /// Whether a record has begun and not ended.
    pub(crate) fn in_record(&self) -> bool {
        matches!(self.state, State::Record(_))
    }

    /// The first event start tag in `buf[from..to]`.
    fn find_open(&self, buf: &[u8], from: usize, to: usize, eof: bool) -> Open {
        for i in self.open.find_iter(sub(buf, from, to)) {
            let q = from + i;
            match buf.get(q + OPEN.len()) {
                Some(&b) if ends_name(b) => return Open::At(q),
                Some(_) => {}
                None if eof => {}
                None => return Open::Undecided(q),
            }
        }
        Open::None
    }

    /// Cuts `buf`; returns how many leading bytes are done with.
    pub(crate) fn cut(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> usize {
        while self.step(buf, eof, out) {}
        let keep_from = match self.state {
            State::Record(r) if r.rec.keep => r.rec.start,
            State::Record(r) => r.open_from.min(r.close_from),
            State::Gap | State::Skip { .. } | State::Junk { .. } => self.pos,
        }
        .min(buf.len());
        self.pos = self.pos.saturating_sub(keep_from);
        if let State::Record(r) = &mut self.state {
            r.rec.rebase(keep_from);
            r.open_from = r.open_from.saturating_sub(keep_from);
            r.close_from = r.close_from.saturating_sub(keep_from);
        }
        self.lines.rebase(buf, keep_from);
        keep_from
    }

    /// One step of scanning; false when the buffer is used up.
    fn step(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> bool {
        match self.state {
            State::Gap => self.gap(buf, eof),
            State::Skip { end, line } => self.skip(buf, eof, end, line, out),
            State::Junk { line } => self.junk(buf, eof, line, out),
            State::Record(r) => self.record(buf, eof, r, out),
        }
    }

    fn gap(&mut self, buf: &[u8], eof: bool) -> bool {
        let p = match skip_filler(buf, self.pos, eof, |_| false) {
            Gap::End(p) => {
                self.pos = p;
                return false;
            }
            Gap::At(p) => p,
        };
        self.pos = p;
        let tag = if buf.get(p) == Some(&b'<') {
            match classify(from(buf, p), eof) {
                Some(tag) => tag,
                None => return false,
            }
        } else {
            // evtx_dump `-o xml` writes a `Record N` line before each record.
            match record_banner(from(buf, p), eof) {
                Banner::Line(len) => {
                    self.pos = p + len;
                    return true;
                }
                Banner::NeedMore => return false,
                Banner::No => Tag::Other,
            }
        };
        let mut line = || self.lines.at(buf, p);
        let (state, skip) = match tag {
            Tag::Event => {
                let body = p + OPEN.len();
                let rec = Rec {
                    rec: OpenRecord::new(p),
                    close_from: body,
                    open_from: body,
                };
                (State::Record(rec), 0)
            }
            Tag::Comment => (
                State::Skip {
                    end: b"-->",
                    line: line(),
                },
                4,
            ),
            Tag::Declaration => (
                State::Skip {
                    end: b"?>",
                    line: line(),
                },
                2,
            ),
            Tag::Wrapper => (
                State::Skip {
                    end: b">",
                    line: line(),
                },
                1,
            ),
            Tag::Other => (State::Junk { line: line() }, 1),
        };
        self.state = state;
        self.pos = p + skip;
        true
    }

    fn skip(
        &mut self,
        buf: &[u8],
        eof: bool,
        end: &'static [u8],
        line: u64,
        out: &mut Vec<Item>,
    ) -> bool {
        if let Some(i) = memchr::memmem::find(from(buf, self.pos), end) {
            self.pos += i + end.len();
            self.state = State::Gap;
            return true;
        }
        if eof {
            out.push(Item::malformed_line(
                line,
                Malformed::Unclosed(unclosed(end)),
            ));
            self.state = State::Gap;
            self.pos = buf.len();
        } else {
            self.pos = self.pos.max(buf.len().saturating_sub(end.len() - 1));
        }
        false
    }

    fn junk(&mut self, buf: &[u8], eof: bool, line: u64, out: &mut Vec<Item>) -> bool {
        const WHAT: Malformed = Malformed::NotAnEvent;
        match self.find_open(buf, self.pos, buf.len(), eof) {
            Open::At(q) => {
                out.push(Item::malformed_line(line, WHAT));
                self.state = State::Gap;
                self.pos = q;
                true
            }
            Open::Undecided(q) => {
                self.pos = q;
                false
            }
            Open::None if eof => {
                out.push(Item::malformed_line(line, WHAT));
                self.state = State::Gap;
                self.pos = buf.len();
                false
            }
            Open::None => {
                self.pos = self.pos.max(buf.len().saturating_sub(OPEN.len()));
                false
            }
        }
    }

    /// Inside a record: its end, or a new start before it (the record is cut short). Both
    /// tags hold `Event`, so one search for it finds either: `<Event` is the `Event` after a
    /// `<`, `</Event>` the one between `</` and `>`, and every other `Event` (`<EventData>`,
    /// `EventRecordID`) is passed over. The record's bytes are scanned once.
    fn record(&mut self, buf: &[u8], eof: bool, mut r: Rec, out: &mut Vec<Item>) -> bool {
        #[cfg(test)]
        if self.two_pass {
            return self.record_two_pass(buf, eof, r, out);
        }
        let len = buf.len();
        // `Event` at `e` is a start at `e - 1` (not before `open_from`) or an end at `e - 2`
        // (not before `close_from`).
        let start = (r.open_from + 1).min(r.close_from + 2);
        let mut at = start;
        while let Some(i) = self.word.find(from(buf, at)) {
            let e = at + i;
            at = e + WORD.len();
            if e > r.open_from && buf[e - 1] == b'<' {
                let q = e - 1;
                match buf.get(q + OPEN.len()) {
                    Some(&b) if ends_name(b) => {
                        r.rec.broken(
                            q,
                            self.max_record,
                            Malformed::EventCutByNextEvent,
                            out,
                            |at| self.lines.at(buf, at),
                        );
                        self.state = State::Gap;
                        self.pos = q;
                        return true;
                    }
                    Some(_) => {}
                    None if eof => {}
                    None => {
                        r.open_from = q;
                        r.close_from = r.close_from.max(len.saturating_sub(CLOSE.len() - 1));
                        self.pending(buf, r, out);
                        return false;
                    }
                }
            } else if e >= r.close_from + 2
                && buf[e - 2..e] == *b"</"
                && buf.get(e + WORD.len()) == Some(&b'>')
            {
                let end = e - 2 + CLOSE.len();
                r.rec
                    .finish(end, self.max_record, &mut self.ordinal, out, |at| {
                        self.lines.at(buf, at)
                    });
                self.state = State::Gap;
                self.pos = end;
                return true;
            }
        }
        if eof {
            r.rec
                .broken(len, self.max_record, Malformed::EventCutByEnd, out, |at| {
                    self.lines.at(buf, at)
                });
            self.state = State::Gap;
            self.pos = len;
            return false;
        }
        r.open_from = r.open_from.max(len.saturating_sub(OPEN.len()));
        r.close_from = r.close_from.max(len.saturating_sub(CLOSE.len() - 1));
        self.pending(buf, r, out);
        false
    }

    /// The two searches [`XmlCutter::record`] replaced, kept to check it against.
    #[cfg(test)]
    fn record_two_pass(&mut self, buf: &[u8], eof: bool, mut r: Rec, out: &mut Vec<Item>) -> bool {
        let len = buf.len();
        let close = self
            .close
            .find(from(buf, r.close_from))
            .map(|i| r.close_from + i);
        let open = self.find_open(buf, r.open_from, close.unwrap_or(len), eof);
        match (open, close) {
            (Open::At(q), _) => {
                r.rec.broken(
                    q,
                    self.max_record,
                    Malformed::EventCutByNextEvent,
                    out,
                    |at| self.lines.at(buf, at),
                );
                self.state = State::Gap;
                self.pos = q;
                true
            }
            (Open::Undecided(q), _) => {
                r.open_from = q;
                r.close_from = r.close_from.max(len.saturating_sub(CLOSE.len() - 1));
                self.pending(buf, r, out);
                false
            }
            (Open::None, Some(c)) => {
                let end = c + CLOSE.len();
                r.rec
                    .finish(end, self.max_record, &mut self.ordinal, out, |at| {
                        self.lines.at(buf, at)
                    });
                self.state = State::Gap;
                self.pos = end;
                true
            }
            (Open::None, None) if eof => {
                r.rec
                    .broken(len, self.max_record, Malformed::EventCutByEnd, out, |at| {
                        self.lines.at(buf, at)
                    });
                self.state = State::Gap;
                self.pos = len;
                false
            }
            (Open::None, None) => {
                r.open_from = r.open_from.max(len.saturating_sub(OPEN.len()));
                r.close_from = r.close_from.max(len.saturating_sub(CLOSE.len() - 1));
                self.pending(buf, r, out);
                false
            }
        }
    }

    /// A record continues past the buffer's end: keep it, or give up on it when too large.
    ///
    /// Its length is known to be at least up to `open_from`: a new `<Event` may still begin
    /// there (and end it), but nowhere before.
    fn pending(&mut self, buf: &[u8], mut r: Rec, out: &mut Vec<Item>) {
        r.rec.grow(r.open_from, self.max_record, out, |at| {
            self.lines.at(buf, at)
        });
        self.state = State::Record(r);
    }
}

/// The terminator a skipped construct waits for, as text.
fn unclosed(end: &[u8]) -> &'static str {
    match end {
        b"-->" => "-->",
        b"?>" => "?>",
        _ => ">",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_tells_event_from_its_lookalikes() {
        assert_eq!(classify(b"<Event xmlns='x'>", false), Some(Tag::Event));
        assert_eq!(classify(b"<Event>", false), Some(Tag::Event));
        assert_eq!(classify(b"<Event\r\n", false), Some(Tag::Event));
        assert_eq!(classify(b"<EventData>", false), Some(Tag::Other));
        assert_eq!(classify(b"<EventID>", false), Some(Tag::Other));
        assert_eq!(classify(b"<Events>", false), Some(Tag::Wrapper));
        assert_eq!(classify(b"</Events >", false), Some(Tag::Wrapper));
        assert_eq!(classify(b"<!-- x", false), Some(Tag::Comment));
        assert_eq!(classify(b"<?xml", false), Some(Tag::Declaration));
        assert_eq!(classify(b"<Even", false), None);
        assert_eq!(classify(b"<Event", false), None);
        assert_eq!(classify(b"<Event", true), Some(Tag::Other));
        assert_eq!(classify(b"<!-", true), Some(Tag::Other));
        assert_eq!(classify(b"<foo>", false), Some(Tag::Other));
    }

    /// Cuts `text` fed in pieces of `step` bytes (the reader's carrying emulated); returns what
    /// each call said and how many bytes it was done with.
    fn cut_in_steps(text: &[u8], step: usize, two_pass: bool) -> Vec<(usize, Vec<Item>)> {
        let mut cutter = XmlCutter::new(1, 64);
        cutter.two_pass = two_pass;
        let (mut done, mut upto) = (0, 0);
        let mut calls = Vec::new();
        loop {
            upto = (upto + step).min(text.len());
            let eof = upto == text.len();
            let mut out = Vec::new();
            let used = cutter.cut(&text[done..upto], eof, &mut out);
            calls.push((used, out));
            done += used;
            if eof {
                return calls;
            }
        }
    }

    const TOKENS: &[&str] = &[
        "<Event xmlns='x'>",
        "<Event>",
        "<Event",
        "<Even",
        "Event",
        "t>",
        " ",
        "</Event>",
        "</Event",
        "</",
        "<EventData>",
        "</EventData>",
        "<EventID>4688</EventID>",
        "<!--",
        "-->",
        "<",
        ">",
        "\n",
        "junk",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The direct vector search finds the first `Event` where `memmem` does, in haystacks
        /// shorter and longer than the vector routine takes, from every start.
        #[test]
        fn the_word_finder_finds_what_memmem_finds(
            picked in proptest::collection::vec(
                proptest::sample::select(&["Event", "Even", "vent", "E", "t", "<", "x", "EventE"][..]),
                0..40,
            ),
        ) {
            let hay = picked.concat();
            let hay = hay.as_bytes();
            let word = WordFinder::new();
            for from in 0..=hay.len() {
                proptest::prop_assert_eq!(
                    word.find(&hay[from..]),
                    memchr::memmem::find(&hay[from..], WORD),
                    "from {}", from
                );
            }
        }

        /// One search for `Event` cuts exactly as the two searches for the tags did.
        #[test]
        fn one_pass_cuts_as_the_two_searches_did(
            picked in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60),
            step in 1usize..40,
        ) {
            let text: String = picked.concat();
            let text = text.as_bytes();
            proptest::prop_assert_eq!(
                cut_in_steps(text, step, false),
                cut_in_steps(text, step, true)
            );
        }
    }
}
