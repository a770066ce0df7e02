//! One reader run: open an input, sniff it, then fill blocks and cut them into batches.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::ahead::{End, Filler, Raw, fill};
use crate::block::{Block, Pool};
use crate::cut::{Item, from, sub};
use crate::evtx::EvtxCutter;
use crate::json::JsonCutter;
use crate::sniff::{self, Counted, Sniffed, Stream, Tracked};
use crate::xml::XmlCutter;
use crate::{
    Batch, Compression, Format, Input, InputName, LineBase, Location, NoticeKind, ReadError,
    ReadErrorKind, ReadEvent, ReadNotice, ReaderOptions, Span,
};

/// A format's cutter.
#[derive(Debug)]
enum Cutter {
    Xml(Box<XmlCutter>),
    Json(JsonCutter),
    Evtx(EvtxCutter),
}

impl Cutter {
    fn new(sniffed: &Sniffed, format: Format, max_record: usize) -> Cutter {
        let line = sniffed.line;
        match format {
            Format::XmlEvents => Cutter::Xml(Box::new(XmlCutter::new(line, max_record))),
            Format::Json => Cutter::Json(JsonCutter::new(line, max_record)),
            Format::Evtx if sniffed.evtx_without_header => Cutter::Evtx(EvtxCutter::recovering()),
            Format::Evtx => Cutter::Evtx(EvtxCutter::new()),
        }
    }

    /// Cuts `buf`; how many leading bytes are done with, and for text the line at its start,
    /// from which its records' lines are counted when asked for.
    fn cut(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> (usize, Option<u64>) {
        match self {
            Cutter::Xml(c) => {
                let line = c.first_line(buf);
                (c.cut(buf, eof, out), Some(line))
            }
            Cutter::Json(c) => {
                let line = c.first_line(buf);
                (c.cut(buf, eof, out), Some(line))
            }
            Cutter::Evtx(c) => (c.cut(buf, eof, out), None),
        }
    }

    fn in_record(&self) -> bool {
        match self {
            Cutter::Xml(c) => c.in_record(),
            Cutter::Json(c) => c.in_record(),
            Cutter::Evtx(c) => c.in_record(),
        }
    }

    /// Size of the next buffer when `carry` bytes are carried over. Text grows the buffer
    /// geometrically under a long record, so carrying it costs linear time overall.
    fn target(&self, carry: usize, block_size: usize) -> usize {
        match self {
            Cutter::Evtx(c) => c.target(carry, block_size),
            _ => carry + block_size.max(carry).max(1),
        }
    }
}

/// Reading an input's records.
struct Streaming {
    feed: Feed,
    /// Set when the underlying source (not the decompressor) failed.
    source_failed: Arc<AtomicBool>,
    compression: Compression,
    format: Format,
    cutter: Cutter,
    /// For UTF-16 input, how many code units were not UTF-16 (reported at the end).
    invalid_utf16: Option<Arc<AtomicU64>>,
    /// Bytes read from the input after decompression (reported at the end).
    read: Arc<AtomicU64>,
    items: Vec<Item>,
}

/// Where an input's bytes come from and what of them the cutter is not done with.
enum Feed {
    /// EVTX: each block is filled behind the bytes carried over from the last one, so that it
    /// holds whole chunks.
    Carried {
        source: Stream,
        /// The last block and where its carried-over tail starts.
        prev: Option<(Arc<Block>, usize)>,
    },
    /// Text: blocks are filled whole, ahead of the cutting (`ahead`).
    Ahead(Box<Ahead>),
    /// Taken out for the length of a step.
    Moved,
}

/// Text read ahead in whole blocks.
struct Ahead {
    filler: Filler,
    /// The block being cut, and how far.
    raw: Raw,
    at: usize,
    /// Bytes the cutter is not done with, when they are not `raw.block[at..]`: the end of a
    /// block, or of a joined buffer, that a record runs past.
    carry: Option<(Arc<Block>, usize)>,
}

/// Fewest bytes of the next block joined to a record cut by a block's end: enough for the
/// rest of most records, so that cutting goes back to the block itself after one join.
const MIN_JOIN: usize = 16 << 10;

enum Stage {
    Start(Input),
    Streaming(Box<Streaming>),
    Done,
}

/// The iterator [`crate::Reader::read`] returns.
pub(crate) struct Run {
    name: Arc<InputName>,
    options: ReaderOptions,
    stage: Stage,
    queue: VecDeque<ReadEvent>,
    pool: Arc<Pool>,
}

impl Run {
    pub(crate) fn new(options: ReaderOptions, input: Input, pool: Arc<Pool>) -> Run {
        let block_size = options.block_size.max(1);
        Run {
            name: Arc::clone(&input.name),
            pool,
            options: ReaderOptions {
                block_size,
                ..options
            },
            stage: Stage::Start(input),
            queue: VecDeque::new(),
        }
    }

    fn error(&mut self, at: Option<Location>, kind: ReadErrorKind, skipped: u64) {
        self.queue.push_back(ReadEvent::Error {
            error: ReadError {
                input: Arc::clone(&self.name),
                at,
                kind,
            },
            skipped_records: skipped,
        });
    }

    fn notice(&mut self, at: Option<Location>, kind: NoticeKind) {
        self.queue.push_back(ReadEvent::Notice(ReadNotice {
            input: Arc::clone(&self.name),
            at,
            kind,
        }));
    }

    /// Opens and sniffs the input; the next stage.
    fn open(&mut self, input: Input) -> Stage {
        let (_, source) = input.open();
        let source = match source {
            Ok(s) => s,
            Err(e) => {
                self.error(None, ReadErrorKind::io(e), 0);
                return Stage::Done;
            }
        };
        let (tracked, source_failed) = Tracked::new(source);
        let (compression, plain) = match sniff::decompress(Box::new(tracked)) {
            Ok(x) => x,
            Err(e) => {
                // Failing here is either the source or the decompressor's set-up.
                self.error(None, failure(e, true, &source_failed), 0);
                return Stage::Done;
            }
        };
        let (counted, read) = Counted::new(plain);
        let sniffed = match sniff::sniff(Box::new(counted)) {
            Ok(s) => s,
            Err(e) => {
                let kind = failure(e, compression != Compression::None, &source_failed);
                self.error(None, kind, 0);
                return Stage::Done;
            }
        };
        let Some(format) = sniffed.format else {
            self.error(None, ReadErrorKind::UnknownFormat, 0);
            return Stage::Done;
        };
        self.queue.push_back(ReadEvent::Opened {
            format,
            compression,
            encoding: sniffed.encoding,
        });
        let cutter = Cutter::new(&sniffed, format, self.options.max_record);
        let invalid_utf16 = sniffed.invalid_utf16.clone();
        let feed = match format {
            Format::Evtx => Feed::Carried {
                source: sniffed.stream,
                prev: None,
            },
            Format::XmlEvents | Format::Json => Feed::Ahead(Box::new(Ahead {
                filler: Filler::Inline(sniffed.stream),
                // An exhausted block that says more follow: the first step fetches the first.
                raw: Raw {
                    block: Arc::new(Block::new(Vec::new())),
                    end: End::Full,
                },
                at: 0,
                carry: None,
            })),
        };
        Stage::Streaming(Box::new(Streaming {
            invalid_utf16,
            read,
            feed,
            source_failed,
            compression,
            format,
            cutter,
            items: Vec::new(),
        }))
    }

    /// Reads and cuts one block; false when the input is finished.
    fn step(&mut self, s: &mut Streaming) -> bool {
        let mut feed = std::mem::replace(&mut s.feed, Feed::Moved);
        let more = match &mut feed {
            Feed::Carried { source, prev } => self.carried_step(s, source, prev),
            Feed::Ahead(ahead) => self.text_step(s, ahead),
            Feed::Moved => false,
        };
        s.feed = feed;
        more
    }

    /// Cuts text read ahead: the rest of the current block, or bytes a record carried over
    /// joined with enough of the next block(s) to go on. False when the input is finished.
    fn text_step(&mut self, s: &mut Streaming, a: &mut Ahead) -> bool {
        let block_size = self.options.block_size;
        if a.at >= a.raw.block.len() {
            if !a.raw.more() {
                return false;
            }
            a.raw = a.filler.next(&self.pool, block_size);
            a.at = 0;
        }
        let Some((carried, from_at)) = a.carry.take() else {
            // Straight from the block.
            let buf = from(&a.raw.block, a.at);
            let eof = matches!(a.raw.end, End::Eof);
            s.items.clear();
            let (keep_from, line) = s.cutter.cut(buf, eof, &mut s.items);
            shift(&mut s.items, a.at);
            let block = Arc::clone(&a.raw.block);
            let base = line.map(|line| LineBase { at: a.at, line });
            self.emit(s, &block, base);
            if keep_from < buf.len() {
                a.carry = Some((block, a.at + keep_from));
            }
            a.at = a.raw.block.len();
            return self.text_end(s, a);
        };
        // Join what was carried with the next bytes: at least as many as were carried, so that
        // a long record costs copies of linear, not quadratic, total size (and no fewer than
        // MIN_JOIN or a block, whichever is less).
        let carry = from(&carried, from_at);
        let carried_len = carry.len();
        let want = carried_len.max(MIN_JOIN.min(block_size));
        let mut joined = Vec::with_capacity(carried_len + want);
        joined.extend_from_slice(carry);
        drop(carried);
        // How many of the joined bytes come from the current block (they end the buffer).
        let mut from_current = 0;
        loop {
            let taken = joined.len() - carried_len;
            if taken >= want {
                break;
            }
            let len = a.raw.block.len();
            let piece = sub(
                &a.raw.block,
                a.at,
                a.at.saturating_add(want - taken).min(len),
            );
            joined.extend_from_slice(piece);
            a.at += piece.len();
            from_current += piece.len();
            if a.at < len || !a.raw.more() {
                break;
            }
            a.raw = a.filler.next(&self.pool, block_size);
            a.at = 0;
            from_current = 0;
        }
        let ended = a.at >= a.raw.block.len() && !a.raw.more();
        let eof = ended && matches!(a.raw.end, End::Eof);
        s.items.clear();
        let (keep_from, line) = s.cutter.cut(&joined, eof, &mut s.items);
        let keep_from = keep_from.min(joined.len());
        let rest = joined.len() - keep_from;
        let block = Arc::new(Block::new(joined));
        self.emit(s, &block, line.map(|line| LineBase { at: 0, line }));
        if rest > 0 && !ended {
            if rest <= from_current {
                // What is left lies in the current block: cut it there.
                a.at -= rest;
            } else {
                a.carry = Some((block, keep_from));
            }
        }
        self.text_end(s, a)
    }

    /// After a text step: true while there is more to cut; at the input's end, its notices or
    /// its failure.
    fn text_end(&mut self, s: &mut Streaming, a: &mut Ahead) -> bool {
        if a.at < a.raw.block.len() || a.raw.more() {
            return true;
        }
        match std::mem::replace(&mut a.raw.end, End::Eof) {
            End::Full | End::Eof => self.invalid_utf16_notice(s),
            End::Failed(e) => self.input_failed(s, e),
        }
        false
    }

    /// The input's source failed with `e`: its notices so far, then the error (costing the
    /// record the cutter was in, if any).
    fn input_failed(&mut self, s: &Streaming, e: io::Error) {
        let compressed = s.compression != Compression::None;
        let kind = failure(e, compressed, &s.source_failed);
        let skipped = u64::from(s.cutter.in_record());
        self.invalid_utf16_notice(s);
        self.error(None, kind, skipped);
    }

    /// Reads one block behind the bytes carried over and cuts it; false when the input is
    /// finished.
    fn carried_step(
        &mut self,
        s: &mut Streaming,
        source: &mut Stream,
        prev: &mut Option<(Arc<Block>, usize)>,
    ) -> bool {
        let carry = match prev {
            Some((block, keep_from)) => from(block, *keep_from),
            None => &[],
        };
        let carry_len = carry.len();
        let target = s.cutter.target(carry_len, self.options.block_size);
        let mut data = self.pool.take(target);
        let (mut filled, end) = match data.get_mut(..target) {
            Some(buf) => {
                if let Some(head) = buf.get_mut(..carry_len) {
                    head.copy_from_slice(carry);
                }
                fill(source, buf, carry_len)
            }
            None => (0, End::Failed(io::Error::other("buffer too small"))),
        };
        *prev = None;
        filled = filled.min(data.len());
        let eof = matches!(end, End::Eof);
        s.items.clear();
        let buf = data.get(..filled).unwrap_or_default();
        let (keep_from, line) = s.cutter.cut(buf, eof, &mut s.items);
        let block = Arc::new(Block::pooled(data, filled, Arc::clone(&self.pool)));
        self.emit(s, &block, line.map(|line| LineBase { at: 0, line }));
        match end {
            End::Full => {
                *prev = Some((block, keep_from));
                true
            }
            End::Eof => {
                self.invalid_utf16_notice(s);
                false
            }
            End::Failed(e) => {
                self.input_failed(s, e);
                false
            }
        }
    }

    /// At the end of a UTF-16 input, the notice of its invalid code units, if any.
    fn invalid_utf16_notice(&mut self, s: &Streaming) {
        let count = s
            .invalid_utf16
            .as_ref()
            .map_or(0, |c| c.load(Ordering::Relaxed));
        if count > 0 {
            self.notice(None, NoticeKind::InvalidUtf16(count));
        }
    }

    /// Queues the items cut from `block`: runs of records as batches, errors between them.
    /// `base` is where the lines of the block's text records are counted from.
    fn emit(&mut self, s: &mut Streaming, block: &Arc<Block>, base: Option<LineBase>) {
        let mut records = Vec::new();
        for item in s.items.drain(..) {
            match item {
                Item::Record(span) => records.push(span),
                Item::Error { at, kind, skipped } => {
                    self.batch(s.format, block, std::mem::take(&mut records), base);
                    self.error(at, kind, skipped);
                }
                Item::Notice { at, kind } => {
                    self.batch(s.format, block, std::mem::take(&mut records), base);
                    self.notice(at, kind);
                }
            }
        }
        self.batch(s.format, block, records, base);
    }

    /// Queues `records` of `block` as one batch, unless there are none.
    fn batch(
        &mut self,
        format: Format,
        block: &Arc<Block>,
        records: Vec<Span>,
        base: Option<LineBase>,
    ) {
        if !records.is_empty() {
            self.queue.push_back(ReadEvent::Batch(Batch {
                input: Arc::clone(&self.name),
                format,
                block: Arc::clone(block),
                records,
                line_base: base,
            }));
        }
    }
}

impl Iterator for Run {
    type Item = ReadEvent;

    fn next(&mut self) -> Option<ReadEvent> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Done => return None,
                Stage::Start(input) => self.stage = self.open(input),
                Stage::Streaming(mut s) => {
                    if self.step(&mut s) {
                        self.stage = Stage::Streaming(s);
                    } else {
                        self.queue.push_back(ReadEvent::Finished {
                            bytes: s.read.load(Ordering::Relaxed),
                        });
                    }
                }
            }
        }
    }
}

/// Moves the records cut from `buf[at..]` to the buffer's own offsets.
fn shift(items: &mut [Item], at: usize) {
    if at == 0 {
        return;
    }
    for item in items {
        if let Item::Record(span) = item {
            span.start += at;
            span.end += at;
        }
    }
}

/// What a failed read means: the source's own failure is I/O; any other failure of a
/// decompressing stream is corrupt compressed data.
fn failure(e: io::Error, decompressing: bool, source_failed: &AtomicBool) -> ReadErrorKind {
    if decompressing && !source_failed.load(Ordering::Relaxed) {
        ReadErrorKind::Decompress(Arc::new(e))
    } else {
        ReadErrorKind::io(e)
    }
}
