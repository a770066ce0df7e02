//! Cutting an EVTX file into its 64 KiB chunks, checking what can be checked without parsing
//! records, and recovering the chunks of a damaged file.
//!
//! The layout (the `evtx` crate's reading of the format, libevtx's documentation of it): a
//! 4 KiB file header (`ElfFile\0`, header size 128, major version 3, block size 4096, a CRC32 of
//! its first 120 bytes at offset 124), then 64 KiB chunks, each starting with `ElfChnk\0`, with a
//! CRC32 of its header (bytes 0–120 and 128–512) at offset 124 and a CRC32 of its records
//! (bytes 512 to the free-space offset held at 48) at offset 52, unless its flags (offset 120)
//! say `NO_CRC32` (4).
//!
//! - The file header's chunk count is not trusted (files are often copied while being written):
//!   every 64 KiB after the header is a chunk, until the input ends.
//! - A damaged file header (no magic, bad checksum or fields) is reported as a
//!   [`NoticeKind::DamagedFileHeader`] notice and the chunks are found by scanning for
//!   `ElfChnk\0` from the start, so that they are kept (issue 11: a header-damaged file was
//!   passed over whole).
//! - A chunk whose CRC32s do not match is reported ([`NoticeKind::ChunkChecksum`]) and handed
//!   on all the same, marked ([`Span::checksum_mismatch`]): forensics wants its records, and a
//!   run can count them and refuse them with `--strict`.
//! - Zeroed 64 KiB (unused, preallocated chunks) are passed over silently; other bytes where a
//!   chunk should start are skipped up to the next `ElfChnk\0` and reported once
//!   ([`Malformed::NotAChunk`]); a chunk cut short by the end of the file is handed on as far as
//!   it goes (the decoder reads what fits) with a [`NoticeKind::TruncatedChunk`] notice, or is an
//!   error when not even its 512-byte header is there.
//!
//! The decoder parses chunk contents.

use memchr::memmem;

use crate::cut::{Item, sub};
use crate::{HeaderDamage, Location, Malformed, NoticeKind, ReadErrorKind, Span};

/// Size of the file header.
pub(crate) const HEADER_LEN: usize = 4096;
/// Size of a chunk.
pub(crate) const CHUNK_LEN: usize = 65536;
/// Size of a chunk's header.
const CHUNK_HEADER_LEN: usize = 512;
/// Magic at the start of a file.
pub(crate) const FILE_MAGIC: &[u8] = b"ElfFile\0";
/// Magic at the start of a chunk.
pub(crate) const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";
/// A chunk's `NO_CRC32` flag.
const NO_CRC32: u32 = 4;

/// What the cutter expects next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The 4 KiB file header.
    Header,
    /// A chunk (or unused space) at the current position.
    Chunk,
    /// Looking for the next `ElfChnk\0`; `junk` bytes were passed over so far, reported when
    /// the search ends unless `quiet` (the bytes of a damaged file header).
    Scan { junk: usize, quiet: bool },
}

/// Cuts EVTX.
#[derive(Debug)]
pub(crate) struct EvtxCutter {
    stage: Stage,
    /// 0-based number of the next chunk.
    chunk: u64,
    ordinal: u64,
    /// Bytes carried over at the last cut (part of a chunk, or of the header).
    carried: usize,
    /// A damaged-header notice waiting to be issued (recovery).
    pending_notice: Option<HeaderDamage>,
}

impl EvtxCutter {
    /// A cutter at the start of a file that begins with `ElfFile\0`.
    pub(crate) fn new() -> EvtxCutter {
        EvtxCutter {
            stage: Stage::Header,
            chunk: 0,
            ordinal: 0,
            carried: 0,
            pending_notice: None,
        }
    }

    /// A cutter for a file whose header has no `ElfFile\0` magic but which holds chunks: they
    /// are found by scanning.
    pub(crate) fn recovering() -> EvtxCutter {
        EvtxCutter {
            stage: Stage::Scan {
                junk: 0,
                quiet: true,
            },
            pending_notice: Some(HeaderDamage::Magic),
            ..EvtxCutter::new()
        }
    }

    /// Whether part of a chunk (or of the header) waits for more bytes.
    pub(crate) fn in_record(&self) -> bool {
        self.carried > 0 && matches!(self.stage, Stage::Header | Stage::Chunk)
    }

    /// How many bytes the next buffer should hold, `carry` of them carried over: whole chunks,
    /// about `block_size` bytes of them.
    pub(crate) fn target(&self, carry: usize, block_size: usize) -> usize {
        let chunks = (block_size / CHUNK_LEN).max(1) * CHUNK_LEN;
        let header = if self.stage == Stage::Header {
            HEADER_LEN
        } else {
            0
        };
        (header + chunks).max(carry + 1)
    }

    /// Cuts `buf`; returns how many leading bytes are done with.
    pub(crate) fn cut(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> usize {
        if let Some(damage) = self.pending_notice.take() {
            out.push(Item::Notice {
                at: None,
                kind: NoticeKind::DamagedFileHeader(damage),
            });
        }
        let mut pos = 0;
        loop {
            let step = match self.stage {
                Stage::Header => self.header(buf, eof, out),
                Stage::Chunk => self.chunk_at(buf, pos, eof, out),
                Stage::Scan { junk, quiet } => self.scan(buf, pos, eof, junk, quiet, out),
            };
            match step {
                Step::Advance(next) => pos = next,
                Step::Wait(keep) => {
                    self.carried = buf.len() - keep;
                    return keep;
                }
            }
        }
    }

    /// The file header: checked, then chunks follow it (or, damaged, are scanned for).
    fn header(&mut self, buf: &[u8], eof: bool, out: &mut Vec<Item>) -> Step {
        let len = buf.len();
        if len < HEADER_LEN {
            if !eof {
                return Step::Wait(0);
            }
            if len > 0 {
                out.push(Item::Error {
                    at: None,
                    kind: ReadErrorKind::Malformed(Malformed::TruncatedFileHeader(len)),
                    skipped: 0,
                });
            }
            self.stage = Stage::Chunk;
            return Step::Wait(len);
        }
        match header_damage(sub(buf, 0, HEADER_LEN)) {
            None => {
                self.stage = Stage::Chunk;
                Step::Advance(HEADER_LEN)
            }
            Some(damage) => {
                out.push(Item::Notice {
                    at: None,
                    kind: NoticeKind::DamagedFileHeader(damage),
                });
                self.stage = Stage::Scan {
                    junk: 0,
                    quiet: true,
                };
                Step::Advance(FILE_MAGIC.len())
            }
        }
    }

    /// Whatever starts at `pos` where a chunk should.
    fn chunk_at(&mut self, buf: &[u8], pos: usize, eof: bool, out: &mut Vec<Item>) -> Step {
        let rest = buf.get(pos..).unwrap_or_default();
        if rest.len() < CHUNK_LEN && !eof {
            return Step::Wait(pos);
        }
        if rest.is_empty() {
            return Step::Wait(pos);
        }
        // At the end of the input the last slot may be shorter than a chunk (never empty here).
        let slot = rest.get(..CHUNK_LEN).unwrap_or(rest);
        if slot.starts_with(CHUNK_MAGIC) {
            self.chunk_found(slot, pos, out);
            return Step::Advance(pos + slot.len());
        }
        if slot.iter().all(|&b| b == 0) {
            self.chunk += 1;
            return Step::Advance(pos + slot.len());
        }
        self.stage = Stage::Scan {
            junk: 0,
            quiet: false,
        };
        Step::Advance(pos)
    }

    /// A chunk (whole, or cut short by the end of the input) at `pos`.
    fn chunk_found(&mut self, slot: &[u8], pos: usize, out: &mut Vec<Item>) {
        let at = Some(Location::Chunk(self.chunk));
        self.chunk += 1;
        if slot.len() < CHUNK_HEADER_LEN {
            out.push(Item::Error {
                at,
                kind: ReadErrorKind::Malformed(Malformed::TruncatedChunk(slot.len())),
                skipped: 1,
            });
            return;
        }
        let (header, records) = checksums(slot);
        if slot.len() < CHUNK_LEN {
            out.push(Item::Notice {
                at,
                kind: NoticeKind::TruncatedChunk(slot.len()),
            });
        } else if !header || !records {
            out.push(Item::Notice {
                at,
                kind: NoticeKind::ChunkChecksum {
                    header: !header,
                    records: !records,
                },
            });
        }
        self.ordinal += 1;
        out.push(Item::Record(Span {
            start: pos,
            end: pos + slot.len(),
            location: Location::Chunk(self.chunk - 1),
            ordinal: self.ordinal,
            checksum_mismatch: !header || !records,
        }));
    }

    /// Looks for the next `ElfChnk\0` from `pos`.
    fn scan(
        &mut self,
        buf: &[u8],
        pos: usize,
        eof: bool,
        junk: usize,
        quiet: bool,
        out: &mut Vec<Item>,
    ) -> Step {
        let rest = buf.get(pos..).unwrap_or_default();
        match memmem::find(rest, CHUNK_MAGIC) {
            Some(i) => {
                self.skipped(junk + i, quiet, out);
                self.stage = Stage::Chunk;
                Step::Advance(pos + i)
            }
            None if eof => {
                self.skipped(junk + rest.len(), quiet, out);
                self.stage = Stage::Chunk;
                Step::Wait(buf.len())
            }
            None => {
                // Keep what may be the start of a magic cut by the buffer's end.
                let keep = rest.len().min(CHUNK_MAGIC.len() - 1);
                let passed = rest.len() - keep;
                self.stage = Stage::Scan {
                    junk: junk + passed,
                    quiet,
                };
                Step::Wait(pos + passed)
            }
        }
    }

    /// `len` bytes were passed over while looking for a chunk.
    fn skipped(&mut self, len: usize, quiet: bool, out: &mut Vec<Item>) {
        if len == 0 || quiet {
            return;
        }
        out.push(Item::Error {
            at: Some(Location::Chunk(self.chunk)),
            kind: ReadErrorKind::Malformed(Malformed::NotAChunk(len)),
            skipped: 1,
        });
        self.chunk += 1;
    }
}

/// What one step of cutting did.
enum Step {
    /// Go on from this position.
    Advance(usize),
    /// Out of bytes: the ones from this position on wait for more.
    Wait(usize),
}

/// How a file header (its first 4 KiB, starting with `ElfFile\0`) is damaged, if it is.
fn header_damage(header: &[u8]) -> Option<HeaderDamage> {
    if !header.starts_with(FILE_MAGIC) {
        return Some(HeaderDamage::Magic);
    }
    let u16_at = |at: usize| {
        sub(header, at, at + 2)
            .try_into()
            .map(u16::from_le_bytes)
            .ok()
    };
    let u32_at = |at: usize| {
        sub(header, at, at + 4)
            .try_into()
            .map(u32::from_le_bytes)
            .ok()
    };
    let fields_ok =
        u32_at(32) == Some(128) && u16_at(38) == Some(3) && u16_at(40) == Some(HEADER_LEN as u16);
    if !fields_ok {
        return Some(HeaderDamage::Fields);
    }
    (u32_at(124) != Some(crc32fast::hash(sub(header, 0, 120)))).then_some(HeaderDamage::Checksum)
}

/// Whether a chunk's header CRC32 and records CRC32 match the ones it holds (both true when its
/// flags say it has none). A free-space offset outside the chunk fails the records check.
fn checksums(chunk: &[u8]) -> (bool, bool) {
    let u32_at = |at: usize| {
        sub(chunk, at, at + 4)
            .try_into()
            .map(u32::from_le_bytes)
            .ok()
    };
    if u32_at(120).is_some_and(|flags| flags & NO_CRC32 != 0) {
        return (true, true);
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(sub(chunk, 0, 120));
    hasher.update(sub(chunk, 128, CHUNK_HEADER_LEN));
    let header = u32_at(124) == Some(hasher.finalize());
    let free = u32_at(48).and_then(|f| usize::try_from(f).ok());
    let records = free
        .filter(|&f| (CHUNK_HEADER_LEN..=chunk.len()).contains(&f))
        .is_some_and(|f| u32_at(52) == Some(crc32fast::hash(sub(chunk, CHUNK_HEADER_LEN, f))));
    (header, records)
}
