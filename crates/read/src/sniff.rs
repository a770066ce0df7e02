//! Finding out what an input holds: its compression from the first bytes, then its format from
//! the first bytes after decompression. The bytes read to decide are put back in front of the
//! stream, so nothing is lost and nothing is read twice from the source.

use std::io::{self, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flate2::read::MultiGzDecoder;

use crate::cut::BOM;
use crate::evtx::{CHUNK_LEN, CHUNK_MAGIC, FILE_MAGIC, HEADER_LEN};

/// How far into an unrecognised input a chunk's magic is looked for: where the first chunk of an
/// EVTX file would end.
const CHUNK_SCAN: usize = HEADER_LEN + CHUNK_LEN;
use crate::{Compression, Format};

/// A byte stream.
pub(crate) type Stream = Box<dyn Read + Send>;

/// A source that remembers whether it failed, so that an error surfacing through a
/// decompressor can be told apart from corrupt compressed data.
pub(crate) struct Tracked {
    inner: Stream,
    failed: Arc<AtomicBool>,
}

impl Tracked {
    /// Wraps a source; the flag turns true when one of its reads fails.
    pub(crate) fn new(inner: Stream) -> (Tracked, Arc<AtomicBool>) {
        let failed = Arc::new(AtomicBool::new(false));
        let tracked = Tracked {
            inner,
            failed: Arc::clone(&failed),
        };
        (tracked, failed)
    }
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        if let Err(e) = &r
            && e.kind() != io::ErrorKind::Interrupted
        {
            self.failed.store(true, Ordering::Relaxed);
        }
        r
    }
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(buf.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n = (n + k).min(buf.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Finds the compression from the magic bytes and unwraps it.
pub(crate) fn decompress(mut raw: Stream) -> io::Result<(Compression, Stream)> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut raw, &mut head)?;
    let head = head.get(..n).unwrap_or_default();
    let compression = if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    };
    let stream = Cursor::new(head.to_vec()).chain(raw);
    let out: Stream = match compression {
        Compression::None => Box::new(stream),
        Compression::Gzip => Box::new(MultiGzDecoder::new(stream)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(stream)?),
    };
    Ok((compression, out))
}

/// What [`sniff`] found.
pub(crate) struct Sniffed {
    /// The format, if recognised.
    pub(crate) format: Option<Format>,
    /// An EVTX file without its `ElfFile\0` magic, recognised by a chunk (`ElfChnk\0`) within
    /// the first 4 KiB + 64 KiB: its chunks are to be found by scanning.
    pub(crate) evtx_without_header: bool,
    /// The 1-based line on which the content starts (after skipped blank lines).
    pub(crate) line: u64,
    /// The stream from the first content byte on.
    pub(crate) stream: Stream,
}

/// Skips a byte order mark and whitespace, and tells the format from what follows.
pub(crate) fn sniff(mut stream: Stream) -> io::Result<Sniffed> {
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut line = 1;
    let mut eof = false;
    let mut bom_checked = false;
    /// One read (only as much as the source has ready, so a slow pipe is not waited on).
    fn more(buf: &mut Vec<u8>, stream: &mut Stream, eof: &mut bool) -> io::Result<()> {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk) {
                Ok(n) => {
                    *eof = n == 0;
                    buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    let format = loop {
        let rest = buf.get(start..).unwrap_or_default();
        if !bom_checked {
            if rest.len() < BOM.len() && BOM.starts_with(rest) && !eof {
                more(&mut buf, &mut stream, &mut eof)?;
                continue;
            }
            if rest.starts_with(BOM) {
                start += BOM.len();
            }
            bom_checked = true;
            continue;
        }
        let blank = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        line += memchr::memchr_iter(b'\n', rest.get(..blank).unwrap_or_default()).count() as u64;
        start += blank;
        if start >= buf.len() {
            buf.clear();
            start = 0;
            if eof {
                break None;
            }
            more(&mut buf, &mut stream, &mut eof)?;
            continue;
        }
        let rest = buf.get(start..).unwrap_or_default();
        if rest.len() < FILE_MAGIC.len() && !eof {
            more(&mut buf, &mut stream, &mut eof)?;
            continue;
        }
        break match rest.first() {
            _ if rest.starts_with(FILE_MAGIC) => Some(Format::Evtx),
            Some(b'<') => Some(Format::XmlEvents),
            Some(b'{' | b'[') => Some(Format::Json),
            _ => None,
        };
    };
    // Not a known start: an EVTX file whose header is damaged still has its chunks.
    let mut evtx_without_header = false;
    if format.is_none() {
        while !eof && buf.len() - start < CHUNK_SCAN {
            more(&mut buf, &mut stream, &mut eof)?;
        }
        let head = buf.get(start..).unwrap_or_default();
        let head = head.get(..CHUNK_SCAN).unwrap_or(head);
        evtx_without_header = memchr::memmem::find(head, CHUNK_MAGIC).is_some();
    }
    buf.drain(..start.min(buf.len()));
    Ok(Sniffed {
        format: if evtx_without_header {
            Some(Format::Evtx)
        } else {
            format
        },
        evtx_without_header,
        line,
        stream: Box::new(Cursor::new(buf).chain(stream)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff_bytes(bytes: &[u8]) -> (Option<Format>, u64, Vec<u8>) {
        let s = sniff(Box::new(Cursor::new(bytes.to_vec()))).expect("in-memory read");
        let mut rest = Vec::new();
        let mut stream = s.stream;
        stream.read_to_end(&mut rest).expect("in-memory read");
        (s.format, s.line, rest)
    }

    #[test]
    fn sniff_skips_bom_and_blank_lines_and_keeps_the_rest() {
        let (f, line, rest) = sniff_bytes(b"\xEF\xBB\xBF\r\n\n  <Event>");
        assert_eq!(f, Some(Format::XmlEvents));
        assert_eq!(line, 3);
        assert_eq!(rest, b"<Event>");
    }

    #[test]
    fn sniff_recognises_each_format() {
        assert_eq!(sniff_bytes(b"ElfFile\0xyz").0, Some(Format::Evtx));
        assert_eq!(sniff_bytes(b"ElfFile").0, None, "7 bytes are not the magic");
        assert_eq!(sniff_bytes(b"[{}]").0, Some(Format::Json));
        assert_eq!(sniff_bytes(b" {").0, Some(Format::Json));
        assert_eq!(sniff_bytes(b"hello").0, None);
        assert_eq!(sniff_bytes(b"").0, None);
        assert_eq!(sniff_bytes(b" \n\t ").0, None);
        assert_eq!(sniff_bytes(b"\xEF\xBB").0, None);
    }

    #[test]
    fn sniff_reads_past_long_leading_whitespace() {
        let mut bytes = vec![b'\n'; 100_000];
        bytes.extend_from_slice(b"{}");
        let (f, line, rest) = sniff_bytes(&bytes);
        assert_eq!(f, Some(Format::Json));
        assert_eq!(line, 100_001);
        assert_eq!(rest, b"{}");
    }
}
