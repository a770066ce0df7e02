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

use std::borrow::Cow;
use std::sync::Arc;

use evtx::err::{ChunkError, EvtxError};
use evtx::{EvtxChunk, EvtxChunkHeader, ParserSettings};

use crate::render::{upper_braced_guid, windows_markup, windows_system_time};
use crate::{DecodeError, WinEvent};

/// The bytes of an EVTX chunk (64 KiB).
pub const CHUNK_SIZE: usize = 0x10000;

/// Decodes the records of EVTX chunks.
///
/// It uses the evtx crate (single-threaded, checksums not checked: a damaged record fails on
/// its own) to render each record to XML, decodes that with [`decode_xml`](crate::decode_xml),
/// and upper-cases the GUIDs that the evtx crate writes in lower case, so that values match
/// Windows' rendering. The chunk is parsed where it lies, never copied.
pub struct EvtxChunkDecoder {
    settings: Arc<ParserSettings>,
}

impl std::fmt::Debug for EvtxChunkDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvtxChunkDecoder").finish_non_exhaustive()
    }
}

impl Default for EvtxChunkDecoder {
    fn default() -> Self {
        let settings = ParserSettings::new()
            .indent(false)
            .num_threads(1)
            .validate_checksums(false);
        EvtxChunkDecoder {
            settings: Arc::new(settings),
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
    /// `EventRecordID` (0 when even that is unreadable) and the event or the reason it could not
    /// be decoded. An error for the chunk as a whole (bad header) is returned, and no record is
    /// passed on.
    ///
    /// The id is the one in the record's header. It is normally the event's
    /// `System/EventRecordID` too, but files re-saved by tools can renumber their record
    /// headers: [`WinEvent::record_id`] keeps the event's own value. A chunk shorter than 64 KiB
    /// is read as far as it goes.
    pub fn decode_chunk(
        &mut self,
        chunk: &[u8],
        mut each: impl FnMut(u64, Result<WinEvent<'_>, DecodeError>),
    ) -> Result<(), DecodeError> {
        self.decode_records(chunk, &mut each)
    }

    /// [`Self::decode_chunk`], not generic over `each`, so that it is compiled once.
    fn decode_records(
        &self,
        chunk: &[u8],
        each: &mut dyn FnMut(u64, Result<WinEvent<'_>, DecodeError>),
    ) -> Result<(), DecodeError> {
        // `EvtxChunkData::new(_, false)` would do the same (header magic checked, checksums not)
        // on a copy of the chunk; its error is the same `ChunkError` too.
        let header = EvtxChunkHeader::from_bytes(chunk).map_err(|e| DecodeError {
            message: format!(
                "bad EVTX chunk header: {}",
                error_chain(&ChunkError::from(e))
            ),
            offset: Some(0),
        })?;
        let mut parsed =
            EvtxChunk::new(chunk, &header, Arc::clone(&self.settings)).map_err(|e| {
                DecodeError {
                    message: format!("bad EVTX chunk: {}", error_chain(&e)),
                    offset: Some(0),
                }
            })?;
        for record in parsed.iter() {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    let (id, error) = record_error(&e);
                    each(id, Err(error));
                    continue;
                }
            };
            let id = record.event_record_id;
            match record.into_xml_bytes() {
                Ok(rendered) => each(id, decode_rendered(&rendered.data)),
                Err(e) => each(id, Err(record_error(&e).1)),
            }
        }
        Ok(())
    }
}

/// Decodes one record as the evtx crate rendered it, then brings it to Windows' rendering.
fn decode_rendered(xml: &[u8]) -> Result<WinEvent<'_>, DecodeError> {
    let mut event = crate::xml::decode(xml).map_err(|e| DecodeError {
        message: format!("record rendered by the evtx crate: {}", e.message),
        offset: e.offset,
    })?;
    // The evtx crate's text is not what Windows would have written: no `raw`.
    event.raw = None;
    for element in &mut event.system {
        for (name, value) in &mut element.attrs {
            let fixed = if name == "SystemTime" {
                windows_system_time(value)
            } else {
                upper_braced_guid(value)
            };
            if let Some(fixed) = fixed {
                *value = Cow::Owned(fixed);
            }
        }
        if let Some(text) = &mut element.text
            && let Some(guid) = upper_braced_guid(text)
        {
            *text = Cow::Owned(guid);
        }
    }
    for (_, value) in &mut event.data {
        if let Some(guid) = upper_braced_guid(value) {
            *value = Cow::Owned(guid);
        }
    }
    if let Some(Cow::Borrowed(markup)) = event.user_data_xml {
        event.user_data_xml = Some(windows_markup(markup));
    }
    Ok(event)
}

/// The record id an evtx error names (0 when it names none) and the error as a [`DecodeError`]
/// (with the record's offset in its chunk, when known).
fn record_error(error: &EvtxError) -> (u64, DecodeError) {
    let (id, offset) = match error {
        EvtxError::FailedToParseRecord { record_id, .. } => (*record_id, None),
        EvtxError::FailedToReadRecordAt { offset, .. } => (0, usize::try_from(*offset).ok()),
        _ => (0, None),
    };
    let message = format!("bad EVTX record: {}", error_chain(error));
    (id, DecodeError { message, offset })
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
