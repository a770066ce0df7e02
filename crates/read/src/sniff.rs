//! Finding out what an input holds: its compression from the first bytes, then its format from
//! the first bytes after decompression. The bytes read to decide are put back in front of the
//! stream, so nothing is lost and nothing is read twice from the source.

use std::io::{self, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use crate::cut::{BOM, Banner, record_banner};
use crate::evtx::{CHUNK_LEN, CHUNK_MAGIC, FILE_MAGIC, HEADER_LEN};
use crate::utf16::Utf16Reader;

/// How far into an unrecognised input a chunk's magic is looked for: where the first chunk of an
/// EVTX file would end.
const CHUNK_SCAN: usize = HEADER_LEN + CHUNK_LEN;
use crate::{Compression, Format, TextEncoding};

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

/// A stream that counts the bytes read from it.
pub(crate) struct Counted {
    inner: Stream,
    count: Arc<AtomicU64>,
}

impl Counted {
    /// Wraps a stream; the counter holds how many bytes were read from it so far.
    pub(crate) fn new(inner: Stream) -> (Counted, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner,
            count: Arc::clone(&count),
        };
        (counted, count)
    }
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
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
        Compression::Gzip => Box::new(Chunked::new(MultiGzDecoder::new(stream))),
        Compression::Zstd => Box::new(Chunked::new(zstd::stream::read::Decoder::new(stream)?)),
    };
    Ok((compression, out))
}

/// The size of the buffer a decompressor always writes into.
const DECOMPRESS_CHUNK: usize = 64 * 1024;

/// Reads a decompressor into a buffer of one fixed size, whatever size the caller reads with.
///
/// How much of a corrupt stream a decompressor yields before its error depends on the size of
/// the buffers it is handed (zstd decodes a block straight into a large enough buffer, and
/// finds the damage before yielding any of it, but yields part of it through a small one).
/// With this, the records read from a damaged compressed input, and the error after them, do
/// not depend on the reader's block size (the `read_input` fuzz target checks it).
struct Chunked<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R: Read> Chunked<R> {
    fn new(inner: R) -> Chunked<R> {
        Chunked {
            inner,
            buf: vec![0; DECOMPRESS_CHUNK].into_boxed_slice(),
            pos: 0,
            len: 0,
        }
    }
}

impl<R: Read> Read for Chunked<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            self.pos = 0;
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n.min(self.buf.len()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.len = 0;
                        return Err(e);
                    }
                }
            };
        }
        let avail = self.buf.get(self.pos..self.len).unwrap_or_default();
        let n = avail.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), avail.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// What [`sniff`] found.
pub(crate) struct Sniffed {
    /// The format, if recognised.
    pub(crate) format: Option<Format>,
    /// An EVTX file without its `ElfFile\0` magic, recognised by a chunk (`ElfChnk\0`) within
    /// the first 4 KiB + 64 KiB: its chunks are to be found by scanning.
    pub(crate) evtx_without_header: bool,
    /// The text encoding; UTF-16 has been wrapped in a transcoder.
    pub(crate) encoding: TextEncoding,
    /// For UTF-16, the count of code units that were not UTF-16 (filled as the input is read).
    pub(crate) invalid_utf16: Option<Arc<AtomicU64>>,
    /// The 1-based line on which the content starts (after skipped blank lines).
    pub(crate) line: u64,
    /// The stream from the first content byte on.
    pub(crate) stream: Stream,
}

/// Finds the text encoding (UTF-16 is wrapped in a transcoder, so that what follows is always
/// UTF-8), then the format.
pub(crate) fn sniff(stream: Stream) -> io::Result<Sniffed> {
    let (encoding, stream) = text_encoding(stream)?;
    if encoding == TextEncoding::Utf8 {
        return sniff_format(stream, true);
    }
    let invalid = Arc::new(AtomicU64::new(0));
    let utf8 = Box::new(Utf16Reader::new(stream, encoding, Arc::clone(&invalid)));
    let mut sniffed = sniff_format(utf8, false)?;
    sniffed.encoding = encoding;
    sniffed.invalid_utf16 = Some(invalid);
    Ok(sniffed)
}

/// UTF-16 by its byte order mark (removed), or without one by the zero bytes of ASCII text
/// (`<\0E\0` is `<E` in UTF-16LE); UTF-8 otherwise (binary EVTX included).
fn text_encoding(mut stream: Stream) -> io::Result<(TextEncoding, Stream)> {
    let mut head = [0u8; 4];
    let n = read_up_to(&mut stream, &mut head)?;
    let head = head.get(..n).unwrap_or_default();
    let ascii = |b: u8| b != 0 && b.is_ascii();
    let (encoding, skip) = match *head {
        [0xFF, 0xFE, ..] => (TextEncoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (TextEncoding::Utf16Be, 2),
        [a, 0, b, 0] if ascii(a) && ascii(b) => (TextEncoding::Utf16Le, 0),
        [0, a, 0, b] if ascii(a) && ascii(b) => (TextEncoding::Utf16Be, 0),
        _ => (TextEncoding::Utf8, 0),
    };
    let rest = head.get(skip..).unwrap_or_default().to_vec();
    Ok((encoding, Box::new(Cursor::new(rest).chain(stream))))
}

/// Skips a byte order mark, whitespace and evtx_dump's `Record N` lines, and tells the format
/// from what follows; `binary` when the stream may be EVTX (it is not transcoded text).
fn sniff_format(mut stream: Stream, binary: bool) -> io::Result<Sniffed> {
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
        match record_banner(rest, eof) {
            Banner::Line(len) => {
                start += len;
                line += 1;
                continue;
            }
            Banner::NeedMore => {
                more(&mut buf, &mut stream, &mut eof)?;
                continue;
            }
            Banner::No => {}
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
    if format.is_none() && binary {
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
        encoding: TextEncoding::Utf8,
        invalid_utf16: None,
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
