//! Readers: turn inputs (files, directories, standard input, any byte stream) into raw records.
//!
//! A reader decodes nothing. It finds out what an input holds from its first bytes (gzip and
//! zstd are unwrapped first, then EVTX magic `ElfFile\0`, an XML `<Event`, a JSON `{` or `[`),
//! and cuts the bytes into records: one `<Event …>…</Event>` element, one top-level JSON object,
//! or one 64 KiB EVTX chunk. Records travel onward as byte spans inside shared [`Block`]s, with
//! the place they came from, so that later stages can skip a record without decoding it.
//!
//! Key design decision: every input is read as a stream into large, reused blocks (no memory
//! maps, no whole-file reads), so memory stays bounded whatever the input size, compressed and
//! plain inputs share one code path, and a block can be handed to any worker thread. A record
//! that straddles a block boundary is copied to the front of the next block; the cutters keep
//! their scanning state across the boundary, so the records, lines and errors found never
//! depend on the block size (a property test pins this).
//!
//! Modules: `sniff` (compression and format), `run` (the block loop), `block` (blocks and their
//! buffer pool), `cut` (what the cutters share), `xml`, `json`, `evtx` (one cutter each) and
//! `input` (inputs and [`expand_paths`]).

#![forbid(unsafe_code)]

mod block;
mod cut;
mod evtx;
mod input;
mod json;
mod run;
mod sniff;
mod xml;

use std::fmt;
use std::sync::Arc;

pub use block::Block;
pub use input::{Input, InputName, expand_paths};

/// The content an input holds, found from its first bytes after decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Binary Windows event log; records are 64 KiB chunks.
    Evtx,
    /// Windows event XML text (Splunk `XmlWinEventLog`, `wevtutil` exports); records are
    /// `<Event>` elements.
    XmlEvents,
    /// JSON values (JSON lines, concatenated or pretty-printed objects, or arrays of objects);
    /// records are top-level objects.
    Json,
}

/// The compression wrapped around an input, found from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip, possibly several members.
    Gzip,
    /// zstd, possibly several frames.
    Zstd,
}

/// Where a record sits: its bytes inside a block and where it starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start of the record in the block.
    pub start: usize,
    /// End (exclusive) of the record in the block.
    pub end: usize,
    /// For text formats, the 1-based line of the input on which the record starts; for EVTX, the
    /// 0-based number of the chunk in the file.
    pub line: u64,
    /// The 1-based number of the record among the records the reader yields for the input
    /// (records skipped with an error take no number).
    pub ordinal: u64,
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
}

impl Batch {
    /// The bytes of one record (empty if the span does not lie inside the block, which cannot
    /// happen for spans the reader made).
    pub fn bytes(&self, span: &Span) -> &[u8] {
        self.block.get(span.start..span.end).unwrap_or_default()
    }

    /// The records with their bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Span, &[u8])> {
        self.records.iter().map(|span| (span, self.bytes(span)))
    }
}

/// Something that went wrong reading an input: the whole input (cannot be opened, unknown
/// format) or a stretch of it (a truncated EVTX chunk, text between events that is not an event,
/// an unterminated JSON object). Reading goes on after it when it can.
#[derive(Debug, Clone)]
pub struct ReadError {
    /// The input.
    pub input: Arc<InputName>,
    /// Where in the input, when known: a line for text, a chunk number for EVTX.
    pub at: Option<Location>,
    /// What happened.
    pub kind: ReadErrorKind,
}

/// A place in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of a text input.
    Line(u64),
    /// 0-based chunk number of an EVTX file.
    Chunk(u64),
}

/// The kinds of [`ReadError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// The input could not be opened or read (the I/O error's text).
    Io(String),
    /// The input is not one of the supported formats.
    UnknownFormat,
    /// The compressed stream is corrupt or truncated (the decompressor's text).
    Decompress(String),
    /// Bytes that do not form a record were skipped (what was wrong).
    Malformed(String),
    /// A record larger than the reader's limit was skipped.
    TooLarge(usize),
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
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.input)?;
        match self.at {
            Some(Location::Line(n)) => write!(f, ":{n}")?,
            Some(Location::Chunk(n)) => write!(f, ": chunk {n}")?,
            None => {}
        }
        write!(f, ": {}", self.kind)
    }
}

/// What happened, without where: `corrupt compressed data: …; rest of input skipped`.
impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadErrorKind::Io(e) => write!(f, "cannot read: {e}"),
            ReadErrorKind::UnknownFormat => {
                write!(f, "not EVTX, Windows event XML or JSON; skipped")
            }
            ReadErrorKind::Decompress(e) => {
                write!(f, "corrupt compressed data: {e}; rest of input skipped")
            }
            ReadErrorKind::Malformed(e) => write!(f, "{e}; skipped"),
            ReadErrorKind::TooLarge(n) => write!(f, "record of over {n} bytes; skipped"),
        }
    }
}

impl std::error::Error for ReadError {}

/// One item a reader yields: records, or an error after which reading goes on.
#[derive(Debug)]
pub enum ReadEvent {
    /// The input's format and compression, once known (always the first item of an input that
    /// could be opened and recognised).
    Opened {
        /// The content.
        format: Format,
        /// The compression around it.
        compression: Compression,
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
}

/// Reader settings.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Size of the blocks inputs are read in (default 4 MiB). A block also holds the part of
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
            block_size: 4 << 20,
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
    /// Nothing is read until the iterator is first advanced, and at most one block is read
    /// ahead of what the iterator has yielded. The iterator does not borrow the reader, so it
    /// can be moved to another thread.
    pub fn read(&self, input: Input) -> impl Iterator<Item = ReadEvent> + Send + use<> {
        run::Run::new(self.options.clone(), input, Arc::clone(&self.pool))
    }
}
