//! The EVTX chunk decoder: the evtx crate renders each record to XML, the XML decoder reads it,
//! and the values the evtx crate renders differently from Windows are fixed.
//!
//! What evtx 0.15.1 renders differently, checked against spec 6.4 and the sigma regression
//! corpus: GUID-typed values are lower case in braces (`{0197231e-…}`), where Windows writes upper
//! case. Text escaping (`&amp;`, `&lt;`, `&gt;`; literal quotes in element text), HexInt (`0x`
//! plus lower-case hex), SIDs and decimal numbers are already as Windows writes them.
//! `SystemTime` keeps the evtx crate's 7 fractional digits.

use std::borrow::Cow;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, ParserSettings};

use crate::render::upper_braced_guid;
use crate::{DecodeError, WinEvent};

/// The bytes of an EVTX chunk (64 KiB).
pub const CHUNK_SIZE: usize = 0x10000;

/// Decodes the records of EVTX chunks; see [`crate::EvtxChunkDecoder`].
pub(crate) struct ChunkDecoder {
    settings: Arc<ParserSettings>,
    /// The chunk's bytes, owned as the evtx crate wants them; reused from chunk to chunk.
    chunk: Vec<u8>,
}

impl std::fmt::Debug for ChunkDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkDecoder").finish_non_exhaustive()
    }
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        let settings = ParserSettings::new()
            .indent(false)
            .num_threads(1)
            .validate_checksums(false);
        ChunkDecoder {
            settings: Arc::new(settings),
            chunk: Vec::with_capacity(CHUNK_SIZE),
        }
    }
}

impl ChunkDecoder {
    pub(crate) fn decode_chunk(
        &mut self,
        chunk: &[u8],
        each: &mut dyn FnMut(u64, Result<WinEvent<'_>, DecodeError>),
    ) -> Result<(), DecodeError> {
        let mut buffer = std::mem::take(&mut self.chunk);
        buffer.clear();
        buffer.extend_from_slice(chunk);
        let mut data = EvtxChunkData::new(buffer, false).map_err(|e| DecodeError {
            message: format!("bad EVTX chunk header: {}", error_chain(&e)),
            offset: Some(0),
        })?;
        let result = self.decode_records(&mut data, each);
        self.chunk = std::mem::take(&mut data.data);
        result
    }

    fn decode_records(
        &self,
        data: &mut EvtxChunkData,
        each: &mut dyn FnMut(u64, Result<WinEvent<'_>, DecodeError>),
    ) -> Result<(), DecodeError> {
        let mut chunk = data
            .parse(Arc::clone(&self.settings))
            .map_err(|e| DecodeError {
                message: format!("bad EVTX chunk: {}", error_chain(&e)),
                offset: Some(0),
            })?;
        for record in chunk.iter() {
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
    for (_, value) in &mut event.data {
        if let Some(guid) = upper_braced_guid(value) {
            *value = Cow::Owned(guid);
        }
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
