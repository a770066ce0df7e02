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
//! plain inputs share one code path, and a block can be handed to any worker thread.

// STUB: the public interface below is fixed; bodies are to be implemented.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What an input is called in messages: a path, `-` for standard input, or a given name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InputName {
    /// A file.
    Path(PathBuf),
    /// Standard input, shown as `-`.
    Stdin,
    /// Bytes from elsewhere (an embedded sample, a network request), shown as the name.
    Named(String),
}

impl fmt::Display for InputName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputName::Path(p) => write!(f, "{}", p.display()),
            InputName::Stdin => f.write_str("-"),
            InputName::Named(n) => f.write_str(n),
        }
    }
}

/// One input to read: a name and a way to open a byte stream.
pub struct Input {
    /// How messages name this input.
    pub name: Arc<InputName>,
    /// False for files found by walking a directory: a caller may treat their unknown format as
    /// "not event data" rather than as an error.
    pub explicit: bool,
    source: InputSource,
}

enum InputSource {
    Path(PathBuf),
    Stdin,
    Reader(Box<dyn Read + Send>),
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// A file.
    pub fn path(path: impl Into<PathBuf>) -> Input {
        let path = path.into();
        Input {
            name: Arc::new(InputName::Path(path.clone())),
            explicit: true,
            source: InputSource::Path(path),
        }
    }

    /// Standard input.
    pub fn stdin() -> Input {
        Input {
            name: Arc::new(InputName::Stdin),
            explicit: true,
            source: InputSource::Stdin,
        }
    }

    /// Any byte stream, e.g. bytes embedded in the binary or a request body.
    pub fn reader(name: impl Into<String>, reader: Box<dyn Read + Send>) -> Input {
        Input {
            name: Arc::new(InputName::Named(name.into())),
            explicit: true,
            source: InputSource::Reader(reader),
        }
    }
}

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

/// A block of input bytes, shared by the records cut from it. Dropping the last reference
/// returns its buffer for reuse.
pub struct Block {
    data: Vec<u8>,
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("len", &self.data.len())
            .finish()
    }
}

impl std::ops::Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.data
    }
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
    /// The 1-based number of the record among the input's records of the same kind.
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
    /// The bytes of one record.
    pub fn bytes(&self, span: &Span) -> &[u8] {
        &self.block[span.start..span.end]
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

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.input)?;
        match self.at {
            Some(Location::Line(n)) => write!(f, ":{n}")?,
            Some(Location::Chunk(n)) => write!(f, ": chunk {n}")?,
            None => {}
        }
        match &self.kind {
            ReadErrorKind::Io(e) => write!(f, ": cannot read: {e}"),
            ReadErrorKind::UnknownFormat => {
                write!(f, ": not EVTX, Windows event XML or JSON; skipped")
            }
            ReadErrorKind::Decompress(e) => write!(f, ": corrupt compressed data: {e}"),
            ReadErrorKind::Malformed(e) => write!(f, ": {e}; skipped"),
            ReadErrorKind::TooLarge(n) => write!(f, ": record of over {n} bytes; skipped"),
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
    /// malformed record or chunk), 0 for a whole input that could not be read.
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
    /// Size of the blocks text inputs are read in (default 4 MiB).
    pub block_size: usize,
    /// Largest record accepted (default 64 MiB).
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

/// Reads inputs into batches of records.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    options: ReaderOptions,
}

impl Reader {
    /// A reader with the given options.
    pub fn new(options: ReaderOptions) -> Reader {
        Reader { options }
    }

    /// Reads one input to its end, yielding what it finds in order. Never panics on any input.
    pub fn read(&self, input: Input) -> impl Iterator<Item = ReadEvent> + Send {
        let _ = (&self.options, input);
        std::iter::empty()
    }
}

/// Expands command-line paths into inputs: files as given, directories walked recursively in
/// sorted order (following no symlinked directories), `-` as standard input. Paths that do not
/// exist or cannot be listed become errors; walking goes on.
pub fn expand_paths(paths: &[impl AsRef<Path>]) -> (Vec<Input>, Vec<ReadError>) {
    let _ = paths;
    (Vec::new(), Vec::new())
}
