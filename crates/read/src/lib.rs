//! Readers: turn inputs (files, directories, standard input, any byte stream) into raw records.
//!
//! A reader decodes nothing. It finds out what an input holds from its first bytes (gzip and
//! zstd are unwrapped first, then EVTX magic `ElfFile\0`, an XML `<Event`, a JSON `{` or `[`),
//! and cuts the bytes into records: one `<Event …>…</Event>` element, one top-level JSON object,
//! or one 64 KiB EVTX chunk. Records travel onward as byte spans inside shared [`Block`]s, with
//! the place they came from, so that later stages can skip a record without decoding it.
//!
//! Nothing is lost silently. What costs records is a [`ReadEvent::Error`] naming the input and
//! the line or chunk; damage the reader works around without losing records is a
//! [`ReadEvent::Notice`]: an EVTX file header that is damaged (its chunks are found by
//! scanning), an EVTX chunk whose CRC32 fails (kept, and marked on its [`Span`]), a last chunk
//! cut short (read as far as it goes), UTF-16 that is not UTF-16.
//!
//! Key design decision: every input is read as a stream into large, reused blocks (no memory
//! maps, no whole-file reads), so memory stays bounded whatever the input size, compressed and
//! plain inputs share one code path, and a block can be handed to any worker thread. A text
//! input larger than a block is read ahead by a thread of its own, so that copying bytes out of
//! the source runs beside the cutting; a record that straddles a block boundary is joined with
//! the head of the next block in a small buffer (an EVTX block is filled behind the chunk bytes
//! carried over). The cutters keep their scanning state across the boundary, so the records,
//! lines and errors found never depend on the block size (a property test pins this).
//!
//! Modules: `sniff` (compression and format), `run` (the block loop), `ahead` (reading ahead),
//! `block` (blocks and their buffer pool), `cut` (what the cutters share), `xml`, `json`,
//! `evtx` (one cutter each) and `input` (inputs and [`expand_paths`]).

#![forbid(unsafe_code)]

mod ahead;
mod block;
mod cut;
mod evtx;
mod input;
mod json;
mod run;
mod sniff;
mod utf16;
mod xml;

use std::fmt;
use std::io;
use std::sync::Arc;

pub use block::Block;
pub use input::{Input, InputName, expand_paths};

/// The content an input holds, found from its first bytes after decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Binary Windows event log; records are 64 KiB chunks.
    Evtx,
    /// Windows event XML text (Splunk `XmlWinEventLog`, `wevtutil` exports, evtx_dump `-o xml`);
    /// records are `<Event>` elements.
    XmlEvents,
    /// JSON values (JSON lines, concatenated or pretty-printed objects, arrays of objects,
    /// evtx_dump `-o json`); records are top-level objects.
    Json,
}

/// The compression wrapped around an input, found from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip, possibly several members.
    Gzip,
    /// zstd, possibly several frames.
    Zstd,
}

/// The character encoding of a text input, found from its first bytes. Records are always
/// handed on as UTF-8: UTF-16 text is transcoded as it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextEncoding {
    /// UTF-8 (or ASCII), with or without a byte order mark; also EVTX, which is binary.
    Utf8,
    /// UTF-16 little-endian (PowerShell 5.1's `Out-File` and `>`), with or without a BOM.
    Utf16Le,
    /// UTF-16 big-endian, with or without a BOM.
    Utf16Be,
}

/// Where a record sits: its bytes inside a block and where it starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start of the record in the block.
    pub start: usize,
    /// End (exclusive) of the record in the block.
    pub end: usize,
    /// Where the record starts in the input: a line for text, a chunk for EVTX.
    pub location: Location,
    /// The 1-based number of the record among the records the reader yields for the input
    /// (records skipped with an error take no number).
    pub ordinal: u64,
    /// For an EVTX chunk: its header or records CRC32 does not match what the chunk header
    /// says. The chunk is read all the same (forensics wants its records) and was reported
    /// with a [`NoticeKind::ChunkChecksum`] notice; the events decoded from it should be counted
    /// as coming from a damaged chunk. Always false for text.
    pub checksum_mismatch: bool,
}

impl Span {
    /// The 1-based line on which a text record starts, when it was counted as it was cut
    /// (records the reader cuts from text are counted by their batch: [`Batch::line`]).
    pub fn line(&self) -> Option<u64> {
        self.location.line()
    }

    /// The 0-based number of an EVTX chunk in its file.
    pub fn chunk(&self) -> Option<u64> {
        self.location.chunk()
    }
}

/// Records cut from one block of one input.
#[derive(Debug)]
pub struct Batch {
    /// The input the records came from.
    pub input: Arc<InputName>,
    /// Their format.
    pub format: Format,
    /// The bytes the spans point into.
    pub block: Arc<Block>,
    /// The records, in input order.
    pub records: Vec<Span>,
    /// Where the lines of records whose location is [`Location::Uncounted`] are counted from:
    /// `None` when the batch has no such records.
    pub line_base: Option<LineBase>,
}

/// A known line in a batch's block: the lines of the records after it are counted from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineBase {
    /// A position in the block, at or before every uncounted record of the batch.
    pub at: usize,
    /// The 1-based line on which the byte at `at` sits.
    pub line: u64,
}

/// Counts the lines of a batch's records, forward from the last one asked about, so that
/// asking for records in order counts each byte once ([`Batch::lines`]).
#[derive(Debug, Clone)]
pub struct LineCursor<'a> {
    batch: &'a Batch,
    /// The last position counted to, and its line.
    at: usize,
    line: u64,
}

impl LineCursor<'_> {
    /// The 1-based line on which `span` starts: its own when it was counted, else counted from
    /// the batch's [`LineBase`]. `None` for an EVTX chunk, or a span the base does not cover.
    pub fn line(&mut self, span: &Span) -> Option<u64> {
        if span.location != Location::Uncounted {
            return span.line();
        }
        let base = self.batch.line_base?;
        if span.start < base.at {
            return None;
        }
        if span.start < self.at {
            (self.at, self.line) = (base.at, base.line);
        }
        let between = self.batch.block.get(self.at..span.start)?;
        self.line += cut::count_newlines(between);
        self.at = span.start;
        Some(self.line)
    }
}

impl Batch {
    /// The bytes of one record (empty if the span does not lie inside the block, which cannot
    /// happen for spans the reader made).
    pub fn bytes(&self, span: &Span) -> &[u8] {
        self.block.get(span.start..span.end).unwrap_or_default()
    }

    /// The 1-based line on which `span` starts (see [`LineCursor::line`]). For every record
    /// of a batch in turn, one [`Batch::lines`] cursor counts each byte once.
    pub fn line(&self, span: &Span) -> Option<u64> {
        self.lines().line(span)
    }

    /// A cursor that counts the lines of this batch's records, asked for in order.
    pub fn lines(&self) -> LineCursor<'_> {
        let base = self.line_base.unwrap_or(LineBase { at: 0, line: 0 });
        LineCursor {
            batch: self,
            at: base.at,
            line: base.line,
        }
    }

    /// The records with their bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Span, &[u8])> {
        self.records.iter().map(|span| (span, self.bytes(span)))
    }
}

/// Something that went wrong reading an input: the whole input (cannot be opened, unknown
/// format) or a stretch of it (a truncated EVTX chunk, text between events that is not an event,
/// an unterminated JSON object). Reading goes on after it when it can.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError {
    /// The input.
    pub input: Arc<InputName>,
    /// Where in the input, when known: a line for text, a chunk number for EVTX.
    pub at: Option<Location>,
    /// What happened.
    pub kind: ReadErrorKind,
}

/// A place in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Location {
    /// 1-based line of a text input.
    Line(u64),
    /// 0-based chunk number of an EVTX file.
    Chunk(u64),
    /// A text record whose line is counted only when it is asked for, with [`Batch::line`] or
    /// a [`Batch::lines`] cursor. The reader cuts text records this way: counting every
    /// record's line as it is cut was a tenth of reading, and most records are never named.
    /// Errors and notices always carry a counted line.
    Uncounted,
}

impl Location {
    /// The line, for a place in text.
    pub fn line(self) -> Option<u64> {
        match self {
            Location::Line(n) => Some(n),
            Location::Chunk(_) | Location::Uncounted => None,
        }
    }

    /// The chunk number, for a place in an EVTX file.
    pub fn chunk(self) -> Option<u64> {
        match self {
            Location::Chunk(n) => Some(n),
            Location::Line(_) | Location::Uncounted => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Chunk(n) => write!(f, "chunk {n}"),
            Location::Uncounted => write!(f, "a line not counted"),
        }
    }
}

/// The kinds of [`ReadError`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// The input could not be opened or read.
    #[error("cannot read: {0}")]
    Io(#[source] Arc<io::Error>),
    /// The input is not one of the supported formats.
    #[error("not EVTX, Windows event XML or JSON; skipped")]
    UnknownFormat,
    /// The compressed stream is corrupt or truncated.
    #[error("corrupt compressed data: {0}; rest of input skipped")]
    Decompress(#[source] Arc<io::Error>),
    /// Bytes that do not form a record were skipped.
    #[error("{0}; skipped")]
    Malformed(Malformed),
    /// A record larger than the reader's limit was skipped.
    #[error("record of over {0} bytes; skipped")]
    TooLarge(usize),
}

/// I/O errors compare by kind and message (`io::Error` has no equality of its own).
impl PartialEq for ReadErrorKind {
    fn eq(&self, other: &Self) -> bool {
        let same_io =
            |a: &io::Error, b: &io::Error| a.kind() == b.kind() && a.to_string() == b.to_string();
        match (self, other) {
            (ReadErrorKind::Io(a), ReadErrorKind::Io(b))
            | (ReadErrorKind::Decompress(a), ReadErrorKind::Decompress(b)) => same_io(a, b),
            (ReadErrorKind::UnknownFormat, ReadErrorKind::UnknownFormat) => true,
            (ReadErrorKind::Malformed(a), ReadErrorKind::Malformed(b)) => a == b,
            (ReadErrorKind::TooLarge(a), ReadErrorKind::TooLarge(b)) => a == b,
            _ => false,
        }
    }
}

impl ReadErrorKind {
    /// Whether the input stops here: it could not be opened, recognised or read to its end.
    /// The other kinds cost records and the input goes on.
    pub fn ends_input(&self) -> bool {
        matches!(
            self,
            ReadErrorKind::Io(_) | ReadErrorKind::UnknownFormat | ReadErrorKind::Decompress(_)
        )
    }

    pub(crate) fn io(error: io::Error) -> ReadErrorKind {
        ReadErrorKind::Io(Arc::new(error))
    }
}

/// What was wrong with bytes that did not form a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// Text between XML events that is not an `<Event>` element.
    #[error("text between events that is not an <Event> element")]
    NotAnEvent,
    /// A comment, declaration or wrapper tag between events not closed before the end.
    #[error("no `{0}` before end of input")]
    Unclosed(&'static str),
    /// An `<Event>` element cut short: a new one starts before its `</Event>`.
    #[error("unterminated <Event> element (a new <Event> starts before its </Event>)")]
    EventCutByNextEvent,
    /// An `<Event>` element cut short by the end of the input.
    #[error("unterminated <Event> element (no </Event> before end of input)")]
    EventCutByEnd,
    /// A line of text between JSON objects that is not one.
    #[error("text that is not a JSON object")]
    NotJsonObject,
    /// A JSON object with a raw line break inside a string (cut short by a line-oriented
    /// producer), at this line.
    #[error("JSON object with a line break inside a string (line {0})")]
    LineBreakInString(u64),
    /// A JSON object cut short: a new object starts on this line.
    #[error("truncated JSON object (a new object starts on line {0})")]
    ObjectCutByNextObject(u64),
    /// A JSON object cut short by the end of the input.
    #[error("unterminated JSON object (end of input)")]
    ObjectCutByEnd,
    /// An EVTX file shorter than its 4 KiB header, with no chunk.
    #[error("truncated file header: {0} of 4096 bytes")]
    TruncatedFileHeader(usize),
    /// Bytes of an EVTX file where a chunk should start that are neither a chunk nor unused
    /// (zeroed) space: this many bytes up to the next chunk, or the end.
    #[error("{0} bytes that are not an EVTX chunk")]
    NotAChunk(usize),
    /// An EVTX chunk cut short by the end of the file before the end of its 512-byte header:
    /// this many bytes of it (a longer remnant is handed on, see
    /// [`NoticeKind::TruncatedChunk`]).
    #[error("truncated chunk: {0} of 65536 bytes")]
    TruncatedChunk(usize),
}

/// Something the reader worked around without losing a record, which a run should still
/// report and count (and `--strict` may refuse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadNotice {
    /// The input.
    pub input: Arc<InputName>,
    /// Where in the input, when it is one place.
    pub at: Option<Location>,
    /// What happened.
    pub kind: NoticeKind,
}

/// The kinds of [`ReadNotice`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoticeKind {
    /// The EVTX file header is damaged (or missing); the chunks were found by scanning for
    /// their `ElfChnk\0` magic and read all the same.
    #[error("damaged EVTX file header ({0}); chunks recovered by scanning")]
    DamagedFileHeader(HeaderDamage),
    /// An EVTX chunk's CRC32 checks fail: its records are kept but may hold altered values;
    /// the chunk's [`Span::checksum_mismatch`] is set.
    #[error("EVTX chunk checksum mismatch ({}); its records are kept", checksum_parts(*header, *records))]
    ChunkChecksum {
        /// The CRC32 of the chunk header (bytes 0–120 and 128–512) does not match.
        header: bool,
        /// The CRC32 of the records (bytes 512 to the free-space offset) does not match.
        records: bool,
    },
    /// The last EVTX chunk is cut short by the end of the file (a file copied while being
    /// written): this many of its 65536 bytes are there. It is handed on; the records that fit
    /// are decoded, the rest are lost.
    #[error("EVTX chunk cut short: {0} of 65536 bytes; the records that fit are read")]
    TruncatedChunk(usize),
    /// UTF-16 text held code units that are not UTF-16 (lone surrogates): each of their bytes
    /// was written `\xNN`, as Splunk does for characters invalid in a source's charset.
    #[error("{0} invalid UTF-16 code units escaped as \\xNN")]
    InvalidUtf16(u64),
}

fn checksum_parts(header: bool, records: bool) -> &'static str {
    match (header, records) {
        (true, true) => "header and records",
        (true, false) => "header",
        _ => "records",
    }
}

/// How an EVTX file header is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderDamage {
    /// It does not start with `ElfFile\0`.
    #[error("no ElfFile magic")]
    Magic,
    /// Its CRC32 (of its first 120 bytes) does not match the one it holds.
    #[error("checksum mismatch")]
    Checksum,
    /// Its header size, version or block size is not EVTX's.
    #[error("implausible header fields")]
    Fields,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.input)?;
        match self.at {
            Some(Location::Line(n)) => write!(f, ":{n}")?,
            Some(Location::Chunk(n)) => write!(f, ": chunk {n}")?,
            Some(Location::Uncounted) | None => {}
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

impl fmt::Display for ReadNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.input)?;
        match self.at {
            Some(Location::Line(n)) => write!(f, ":{n}")?,
            Some(Location::Chunk(n)) => write!(f, ": chunk {n}")?,
            Some(Location::Uncounted) | None => {}
        }
        write!(f, ": {}", self.kind)
    }
}

/// One item a reader yields: records, or an error after which reading goes on.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadEvent {
    /// The input's format, compression and text encoding, once known (always the first item
    /// of an input that could be opened and recognised).
    Opened {
        /// The content.
        format: Format,
        /// The compression around it.
        compression: Compression,
        /// The text encoding (UTF-16 is transcoded to UTF-8 before cutting).
        encoding: TextEncoding,
    },
    /// Records.
    Batch(Batch),
    /// A problem; `skipped_records` is how many records it cost when that is known (1 for a
    /// malformed record or chunk, a stretch of junk between records, or a record too large;
    /// 0 for a whole input that could not be opened or recognised). A read or decompression
    /// failure ends the input ([`ReadErrorKind::ends_input`]) and counts 1 when it cut a record
    /// short, else 0.
    Error {
        /// The problem.
        error: ReadError,
        /// Records lost to it, when countable.
        skipped_records: u64,
    },
    /// Damage the reader worked around without losing records (a damaged EVTX file header, a
    /// chunk whose checksum fails, invalid UTF-16): report and count it.
    Notice(ReadNotice),
    /// The input ended (the last item of an input that was opened and recognised).
    Finished {
        /// The bytes it held after decompression (UTF-16 before it was transcoded), or those
        /// read before reading it failed: its whole size, not only its records'.
        bytes: u64,
    },
}

/// Reader settings.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Size of the blocks inputs are read in (default 1 MiB). A block also holds the part of
    /// a record carried over from the previous one; EVTX blocks hold whole chunks (at least
    /// one).
    pub block_size: usize,
    /// Largest record accepted, in bytes (default 64 MiB); larger ones are skipped with
    /// [`ReadErrorKind::TooLarge`]. EVTX chunks are always 64 KiB and not subject to it.
    pub max_record: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            block_size: 1 << 20,
            max_record: 64 << 20,
        }
    }
}

/// Reads inputs into batches of records. Its buffers are shared by every input it reads, so
/// reading many small files does not allocate (and zero) a fresh block for each.
#[derive(Debug, Clone)]
pub struct Reader {
    options: ReaderOptions,
    pool: Arc<block::Pool>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new(ReaderOptions::default())
    }
}

impl Reader {
    /// A reader with the given options.
    pub fn new(options: ReaderOptions) -> Reader {
        let pool = Arc::new(block::Pool::new(options.block_size.max(1)));
        Reader { options, pool }
    }

    /// Reads one input to its end, yielding what it finds in order. Never panics on any input.
    ///
    /// Nothing is read until the iterator is first advanced. At most one block is read ahead
    /// of what the iterator has yielded, or seven for a text input larger than a block (six
    /// waiting and one being filled by its reading thread). The iterator does not borrow the
    /// reader, so it can be moved to another thread.
    pub fn read(&self, input: Input) -> impl Iterator<Item = ReadEvent> + Send + use<> {
        run::Run::new(self.options.clone(), input, Arc::clone(&self.pool))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, location: Location) -> Span {
        Span {
            start,
            end: start + 1,
            location,
            ordinal: 1,
            checksum_mismatch: false,
        }
    }

    /// A cursor counts forward from the last record asked about; asked about an earlier one it
    /// counts from the batch's base again. Counted and EVTX locations are answered as they are.
    #[test]
    fn a_line_cursor_asked_out_of_order_counts_from_the_base_again() {
        let batch = Batch {
            input: Arc::new(InputName::Stdin),
            format: Format::XmlEvents,
            block: Arc::new(Block::new(b"skip\nA\n\nB\nC".to_vec())),
            records: Vec::new(),
            line_base: Some(LineBase { at: 5, line: 10 }),
        };
        let (a, b, c) = (
            span(5, Location::Uncounted),
            span(8, Location::Uncounted),
            span(10, Location::Uncounted),
        );
        let mut lines = batch.lines();
        assert_eq!(lines.line(&c), Some(13));
        assert_eq!(lines.line(&b), Some(12));
        assert_eq!(lines.line(&a), Some(10));
        assert_eq!(lines.line(&c), Some(13));
        assert_eq!(batch.line(&b), Some(12));
        assert_eq!(lines.line(&span(2, Location::Uncounted)), None);
        assert_eq!(lines.line(&span(0, Location::Line(7))), Some(7));
        assert_eq!(lines.line(&span(0, Location::Chunk(3))), None);
        let unbased = Batch {
            line_base: None,
            ..batch
        };
        assert_eq!(unbased.line(&c), None);
    }
}
