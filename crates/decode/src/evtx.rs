//! The EVTX chunk decoder: the evtx crate renders each record to XML, the XML decoder reads it,
//! and the values the evtx crate renders differently from Windows are fixed.
//!
//! What evtx 0.15.1 renders differently, checked against spec 6.2/6.4, the ESCU example events
//! and the sigma regression corpus:
//! - GUID-typed values are lower case in braces (`{0197231e-…}`), where Windows writes upper
//!   case (`Provider/@Guid`, `Correlation/@ActivityID`, `ProcessGuid`, …). Every braced GUID
//!   with lower-case hex is upper-cased, in `System`, `EventData` and `UserData` alike. Known
//!   exception: a GUID stored as a string (a classic provider's `Guid`, such as Service Control
//!   Manager's `{555908d1-…}`) is shown in lower case by Windows too, and upper-cased here; SPL
//!   compares values without regard to case, so no search result changes.
//! - `SystemTime` has 7 fractional digits (100 ns ticks); Windows writes 9
//!   (`2020-10-08T11:03:46.617920300Z`, spec 6.2): two zeros are appended.
//! - Attributes are double-quoted; Windows single-quotes them. `System` attributes are kept
//!   without quotes anyway; the `UserData` markup is re-quoted (the evtx crate escapes both
//!   quote characters inside attribute values, so this is safe).
//!
//! Text escaping (`&amp;`, `&lt;`, `&gt;`; literal quotes in element text), attribute order,
//! HexInt (`0x` plus lower-case hex), SIDs, decimal numbers, `Binary` (upper-case hex) and the
//! `<X></X>` form of empty substitutions are already as Windows writes them.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use evtx::err::{ChunkError, EvtxError};
use evtx::{EvtxChunk, EvtxChunkHeader, ParserSettings};

use crate::render::to_windows_rendering;
use crate::{DecodeError, DecodeErrorKind, WinEvent};

/// The bytes of an EVTX chunk (64 KiB).
pub const CHUNK_SIZE: usize = 0x10000;

/// Where a record sits in its chunk, from the record's own header: what is known even when the
/// record's event cannot be decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvtxRecordHeader {
    /// The record number in the record's header (`None` when even that is unreadable). It is
    /// normally the event's `System/EventRecordID` too, but tools that re-save files can
    /// renumber record headers: [`WinEvent::record_id`] is the number Event Viewer shows.
    pub number: Option<u64>,
    /// Byte offset of the record in its chunk, when known.
    pub offset: Option<u64>,
}

/// Decodes the records of EVTX chunks.
///
/// It uses the evtx crate (single-threaded, checksums not checked here: the reader checks them
/// and marks a chunk whose CRC32 fails, whose records are decoded all the same) to render each
/// record to XML,
/// decodes that with [`decode_xml`](crate::decode_xml), and brings the values the evtx crate
/// renders differently to Windows' rendering. The chunk is parsed where it lies, never copied.
///
/// A panic inside the evtx crate is caught (`catch_unwind`) and ends that chunk with a
/// [`DecodeErrorKind::EvtxPanic`] error: the records before it were passed on, the decoder stays
/// usable and the run goes on. (The panic message is still printed by the process's panic
/// hook.) A panic in the caller's `each` is not caught.
pub struct EvtxChunkDecoder {
    settings: Arc<ParserSettings>,
    /// Tests only: panic inside the guarded region before this record (0-based).
    #[cfg(test)]
    panic_before: Option<usize>,
}

impl std::fmt::Debug for EvtxChunkDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvtxChunkDecoder").finish_non_exhaustive()
    }
}

impl Default for EvtxChunkDecoder {
    fn default() -> Self {
        // No `num_threads`: the crate is built without its thread pool (records are decoded on
        // the engine's own workers), and setting it only logs a warning.
        let settings = ParserSettings::new()
            .indent(false)
            .validate_checksums(false);
        EvtxChunkDecoder {
            settings: Arc::new(settings),
            #[cfg(test)]
            panic_before: None,
        }
    }
}

impl EvtxChunkDecoder {
    /// A decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of records a chunk's header declares (from its first and last record
    /// numbers), when the header reads (magic, 512 bytes) and the number is plausible: a record
    /// takes at least 24 bytes of a 64 KiB chunk.
    pub fn record_count(chunk: &[u8]) -> Option<u64> {
        let header = EvtxChunkHeader::from_bytes(chunk).ok()?;
        let n = header
            .last_event_record_number
            .checked_sub(header.first_event_record_number)?
            .checked_add(1)?;
        (n <= (CHUNK_SIZE / 24) as u64).then_some(n)
    }

    /// Decodes every record of one 64 KiB chunk, in order, calling `each` with the record's
    /// header ([`EvtxRecordHeader`]) and the event or the reason it could not be decoded.
    ///
    /// An error for the chunk as a whole is returned: a header or tables that do not read (no
    /// record was passed on), or a panic of the evtx crate (the records before it were). A chunk
    /// shorter than 64 KiB is read as far as it goes.
    pub fn decode_chunk(
        &mut self,
        chunk: &[u8],
        mut each: impl FnMut(EvtxRecordHeader, Result<WinEvent<'_>, DecodeError>),
    ) -> Result<(), DecodeError> {
        self.decode_records(chunk, &mut each)
    }

    /// [`Self::decode_chunk`], not generic over `each`, so that it is compiled once.
    fn decode_records(
        &self,
        chunk: &[u8],
        each: &mut dyn FnMut(EvtxRecordHeader, Result<WinEvent<'_>, DecodeError>),
    ) -> Result<(), DecodeError> {
        // `EvtxChunkData::new(_, false)` would do the same (header magic checked, checksums not)
        // on a copy of the chunk; its error is the same `ChunkError` too.
        let header = guarded(0, || EvtxChunkHeader::from_bytes(chunk))?.map_err(|e| {
            let detail = error_chain(&ChunkError::from(e));
            DecodeError::new(DecodeErrorKind::EvtxChunkHeader, detail, Some(0))
        })?;
        let settings = Arc::clone(&self.settings);
        let mut parsed = guarded(0, || EvtxChunk::new(chunk, &header, settings))?
            .map_err(|e| DecodeError::new(DecodeErrorKind::EvtxChunk, error_chain(&e), Some(0)))?;
        let mut records = parsed.iter();
        let mut passed = 0usize;
        loop {
            let next = guarded(passed, || {
                #[cfg(test)]
                if self.panic_before == Some(passed) {
                    panic!("injected panic before record {passed}");
                }
                records.next().map(|record| {
                    record.map(|record| {
                        let header = EvtxRecordHeader {
                            number: Some(record.event_record_id),
                            offset: record.binxml_offset.checked_sub(RECORD_HEADER_SIZE),
                        };
                        (header, record.into_xml_bytes())
                    })
                })
            })?;
            let Some(next) = next else { break };
            passed += 1;
            match next {
                Err(e) => {
                    let (header, error) = record_error(&e);
                    each(header, Err(error));
                }
                Ok((header, Err(e))) => each(header, Err(record_error(&e).1)),
                Ok((header, Ok(rendered))) => each(header, decode_rendered(&rendered.data)),
            }
        }
        Ok(())
    }

    /// Tests only: makes the next chunks panic inside the guarded region before record `n`.
    #[cfg(test)]
    fn panic_before(&mut self, n: usize) {
        self.panic_before = Some(n);
    }
}

/// Size of an EVTX record header (magic, size, number, time).
const RECORD_HEADER_SIZE: u64 = 24;

/// Runs one call into the evtx crate, turning a panic into an [`DecodeErrorKind::EvtxPanic`]
/// error that says how many records of the chunk were passed on before it.
fn guarded<T>(passed: usize, f: impl FnOnce() -> T) -> Result<T, DecodeError> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let detail = format!(
            "{message}; the chunk's records from number {} on are lost ({passed} passed on)",
            passed + 1
        );
        DecodeError::new(DecodeErrorKind::EvtxPanic, detail, None)
    })
}

/// Decodes one record as the evtx crate rendered it, then brings it to Windows' rendering.
fn decode_rendered(xml: &[u8]) -> Result<WinEvent<'_>, DecodeError> {
    let mut event = crate::xml::decode_text(xml).map_err(|e| {
        e.within(
            DecodeErrorKind::EvtxRecord,
            "as rendered by the evtx crate: ",
        )
    })?;
    // The evtx crate's text is not what Windows would have written: no `raw`.
    event.raw = None;
    to_windows_rendering(&mut event);
    Ok(event)
}

/// The record header an evtx error names (as far as it does) and the error as a
/// [`DecodeError`] (with the record's offset in its chunk, when known).
fn record_error(error: &EvtxError) -> (EvtxRecordHeader, DecodeError) {
    let header = match error {
        EvtxError::FailedToParseRecord { record_id, .. } => EvtxRecordHeader {
            number: Some(*record_id),
            offset: None,
        },
        EvtxError::FailedToReadRecordAt { offset, .. } => EvtxRecordHeader {
            number: None,
            offset: Some(*offset),
        },
        _ => EvtxRecordHeader::default(),
    };
    let offset = header.offset.and_then(|o| usize::try_from(o).ok());
    let error = DecodeError::new(DecodeErrorKind::EvtxRecord, error_chain(error), offset);
    (header, error)
}

/// An error and its sources, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    message
}

/// The integration tests' chunk builder, for the unit tests.
#[cfg(test)]
#[path = "../tests/common/chunk.rs"]
#[allow(dead_code)]
mod chunk;

#[cfg(test)]
mod tests {
    use super::*;

    fn three_records() -> Vec<u8> {
        let mut builder = chunk::ChunkBuilder::default();
        for id in 1..=3 {
            builder.record(id, 133_540_000_000_000_000, &chunk::sysmon_like_event(id));
        }
        builder.finish()
    }

    /// Review finding Q4: a panic in the evtx crate took the whole run down.
    #[test]
    fn evtx_crate_panic_ends_its_chunk_with_an_error_not_the_run() {
        let chunk = three_records();
        let mut decoder = EvtxChunkDecoder::new();
        decoder.panic_before(1);
        let mut passed = Vec::new();
        let error = decoder
            .decode_chunk(&chunk, |header, event| {
                assert!(event.is_ok(), "{event:?}");
                passed.push(header.number);
            })
            .expect_err("the panic is a chunk error");
        assert_eq!(
            passed,
            [Some(1)],
            "the record before the panic was passed on"
        );
        assert_eq!(error.kind(), DecodeErrorKind::EvtxPanic);
        assert!(
            error.detail().contains("injected panic before record 1")
                && error
                    .detail()
                    .contains("from number 2 on are lost (1 passed on)"),
            "{error}"
        );
        // The decoder goes on with the next chunk.
        decoder.panic_before = None;
        let mut numbers = Vec::new();
        decoder
            .decode_chunk(&chunk, |header, event| {
                assert!(event.is_ok());
                numbers.push(header.number);
            })
            .expect("chunk decodes");
        assert_eq!(numbers, [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn record_headers_give_number_and_offset() {
        let chunk = three_records();
        let mut headers = Vec::new();
        EvtxChunkDecoder::new()
            .decode_chunk(&chunk, |header, _| headers.push(header))
            .expect("chunk decodes");
        assert_eq!(headers.len(), 3);
        assert_eq!(
            headers[0].offset,
            Some(512),
            "the first record follows the chunk header"
        );
        assert!(headers[1].offset > headers[0].offset);
    }
}
