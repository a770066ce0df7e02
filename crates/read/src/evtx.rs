//! Cutting an EVTX file into its 64 KiB chunks.
//!
//! The 4 KiB file header is skipped (its chunk count is not trusted: files are often copied
//! while being written); then every 64 KiB is one chunk, checked for its `ElfChnk\0` magic and
//! nothing more. The decoder parses chunk contents.

use crate::cut::{Item, sub};
use crate::{Location, ReadErrorKind, Span};

/// Size of the file header.
pub(crate) const HEADER_LEN: usize = 4096;
/// Size of a chunk.
pub(crate) const CHUNK_LEN: usize = 65536;
/// Magic at the start of a file.
pub(crate) const FILE_MAGIC: &[u8] = b"ElfFile\0";
/// Magic at the start of a chunk.
pub(crate) const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";

/// Cuts EVTX.
#[derive(Debug, Default)]
pub(crate) struct EvtxCutter {
    header_done: bool,
    /// 0-based number of the next chunk.
    chunk: u64,
    ordinal: u64,
    /// Bytes carried over at the last cut (part of a chunk, or of the header).
    carried: usize,
}

impl EvtxCutter {
    /// A cutter at the start of a file.
    pub(crate) fn new() -> EvtxCutter {
        EvtxCutter::default()
    }

    /// Whether part of a chunk (or of the header) waits for more bytes.
    pub(crate) fn in_record(&self) -> bool {
        self.carried > 0
    }

    /// How many bytes the next buffer should hold, `carry` of them carried over: whole chunks,
    /// about `block_size` bytes of them.
    pub(crate) fn target(&self, carry: usize, block_size: usize) -> usize {
        let chunks = (block_size / CHUNK_LEN).max(1) * CHUNK_LEN;
        let header = if self.header_done { 0 } else { HEADER_LEN };
        (header + chunks).max(carry + 1)
    }

    /// Cuts `buf`; returns how many leading bytes are done with.
    pub(crate) fn cut(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> usize {
        let len = buf.len();
        let mut pos = 0;
        if !self.header_done {
            if len < HEADER_LEN {
                if eof {
                    out.push(Item::Error {
                        at: None,
                        kind: ReadErrorKind::Malformed(format!(
                            "truncated file header: {len} of {HEADER_LEN} bytes"
                        )),
                        skipped: 0,
                    });
                    self.carried = 0;
                    return len;
                }
                self.carried = len;
                return 0;
            }
            self.header_done = true;
            pos = HEADER_LEN;
        }
        while len - pos >= CHUNK_LEN {
            let chunk = sub(buf, pos, pos + CHUNK_LEN);
            if chunk.starts_with(CHUNK_MAGIC) {
                self.ordinal += 1;
                out.push(Item::Record(Span {
                    start: pos,
                    end: pos + CHUNK_LEN,
                    line: self.chunk,
                    ordinal: self.ordinal,
                }));
            } else if !chunk.iter().all(|&b| b == 0) {
                out.push(self.bad_chunk("bad chunk magic".to_owned()));
            }
            self.chunk += 1;
            pos += CHUNK_LEN;
        }
        if eof && pos < len {
            let n = len - pos;
            out.push(self.bad_chunk(format!("truncated chunk: {n} of {CHUNK_LEN} bytes")));
            self.chunk += 1;
            pos = len;
        }
        self.carried = len - pos;
        pos
    }

    fn bad_chunk(&self, what: String) -> Item {
        Item::Error {
            at: Some(Location::Chunk(self.chunk)),
            kind: ReadErrorKind::Malformed(what),
            skipped: 1,
        }
    }
}
