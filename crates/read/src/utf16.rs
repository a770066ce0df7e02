//! UTF-16 text transcoded to UTF-8 as it is read, so that every text input reaches the cutters
//! as UTF-8.
//!
//! Windows PowerShell 5.1 writes UTF-16LE with a byte order mark by default (`Out-File`, `>`),
//! so `wevtutil qe Security /f:xml > events.xml` run from it gives such a file; tools that strip
//! the mark leave UTF-16 without one. Splunk reads such files too: its `CHARSET` setting
//! (props.conf, *Configure character set encoding*) lists UTF-16LE among the character sets it
//! converts to UTF-8.
//!
//! A code unit that is not UTF-16 (a lone surrogate, an odd byte at the end) is not replaced by
//! U+FFFD: each of its bytes is written `\xNN`, Splunk's documented treatment of characters not
//! valid in a source's character set, and it is counted for a notice.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::TextEncoding;
use crate::sniff::Stream;

/// How much UTF-16 is read at a time.
const CHUNK: usize = 64 << 10;

/// A reader of UTF-8 over a UTF-16 stream (its byte order mark already removed).
pub(crate) struct Utf16Reader {
    inner: Stream,
    big_endian: bool,
    /// UTF-16 bytes read and not yet transcoded (at most a code unit pair and a byte).
    pending: Vec<u8>,
    input: Vec<u8>,
    /// UTF-8 transcoded and not yet handed out: `output[out_start..]`.
    output: Vec<u8>,
    out_start: usize,
    eof: bool,
    /// Code units that were not UTF-16, shared with whoever reports them.
    invalid: Arc<AtomicU64>,
}

impl Utf16Reader {
    /// Reads `inner` as UTF-16 in `encoding` (big-endian for [`TextEncoding::Utf16Be`],
    /// little-endian otherwise); `invalid` counts the code units that are not UTF-16.
    pub(crate) fn new(inner: Stream, encoding: TextEncoding, invalid: Arc<AtomicU64>) -> Self {
        Utf16Reader {
            inner,
            big_endian: encoding == TextEncoding::Utf16Be,
            pending: Vec::with_capacity(4),
            input: vec![0; CHUNK],
            output: Vec::with_capacity(CHUNK * 3 / 2 + 16),
            out_start: 0,
            eof: false,
            invalid,
        }
    }

    /// Transcodes more input into `output`; false when there is no more.
    fn refill(&mut self) -> io::Result<bool> {
        self.output.clear();
        self.out_start = 0;
        while self.output.is_empty() {
            if self.eof {
                return Ok(false);
            }
            let n = loop {
                match self.inner.read(&mut self.input) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            self.eof = n == 0;
            let mut bytes = std::mem::take(&mut self.pending);
            bytes.extend_from_slice(self.input.get(..n).unwrap_or_default());
            let used = self.transcode(&bytes);
            self.pending
                .extend_from_slice(bytes.get(used..).unwrap_or_default());
        }
        Ok(true)
    }

    /// Transcodes whole characters of `bytes` into `output` (everything at the end of the
    /// input); returns how many bytes were used.
    fn transcode(&mut self, bytes: &[u8]) -> usize {
        let big_endian = self.big_endian;
        let unit = |at: usize| -> Option<u16> {
            let pair: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
            Some(if big_endian {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            })
        };
        let mut at = 0;
        let mut utf8 = [0u8; 4];
        while let Some(u) = unit(at) {
            let c = match u {
                0xD800..=0xDBFF => match unit(at + 2) {
                    Some(low @ 0xDC00..=0xDFFF) => {
                        let code =
                            0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        at += 2;
                        char::from_u32(code)
                    }
                    None if !self.eof => return at,
                    _ => None,
                },
                0xDC00..=0xDFFF => None,
                _ => char::from_u32(u32::from(u)),
            };
            match c {
                Some(c) => self
                    .output
                    .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
                None => self.escape(bytes.get(at..at + 2).unwrap_or_default()),
            }
            at += 2;
        }
        if self.eof && at < bytes.len() {
            self.escape(bytes.get(at..).unwrap_or_default());
            at = bytes.len();
        }
        at
    }

    /// Writes `\xNN` for each byte of a code unit that is not UTF-16, and counts it.
    fn escape(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for &b in bytes {
            self.output.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xF)],
            ]);
        }
        self.invalid.fetch_add(1, Ordering::Relaxed);
    }
}

impl Read for Utf16Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out_start >= self.output.len() && !self.refill()? {
            return Ok(0);
        }
        let waiting = self.output.get(self.out_start..).unwrap_or_default();
        let n = waiting.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), waiting.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcode(bytes: &[u8], encoding: TextEncoding, read_size: usize) -> (String, u64) {
        struct Trickle(Vec<u8>, usize, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.2.min(buf.len()).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let invalid = Arc::new(AtomicU64::new(0));
        let inner = Box::new(Trickle(bytes.to_vec(), 0, read_size));
        let mut reader = Utf16Reader::new(inner, encoding, Arc::clone(&invalid));
        let mut out = String::new();
        reader.read_to_string(&mut out).expect("valid UTF-8 out");
        (out, invalid.load(Ordering::Relaxed))
    }

    fn le(units: &[u16]) -> Vec<u8> {
        units.iter().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn utf16_text_surrogate_pairs_and_invalid_units_whatever_the_read_size() {
        let mut units: Vec<u16> = "<É 日".encode_utf16().collect();
        units.extend("😀".encode_utf16());
        units.extend([0xD800, u16::from(b'x'), 0xDC00]);
        let bytes = le(&units);
        for size in [1, 2, 3, 5, 64 << 10] {
            let (text, invalid) = transcode(&bytes, TextEncoding::Utf16Le, size);
            assert_eq!(text, "<É 日😀\\x00\\xD8x\\x00\\xDC", "read size {size}");
            assert_eq!(invalid, 2);
        }
        let be: Vec<u8> = "ab".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(
            transcode(&be, TextEncoding::Utf16Be, 7),
            ("ab".to_owned(), 0)
        );
        // A lone high surrogate and an odd byte at the very end.
        let mut tail = le(&[u16::from(b'a'), 0xD801]);
        tail.push(0x41);
        assert_eq!(
            transcode(&tail, TextEncoding::Utf16Le, 1),
            ("a\\x01\\xD8\\x41".to_owned(), 2)
        );
    }
}
