//! Why a record could not be decoded: a [`DecodeErrorKind`] a caller can count and match on,
//! the detail a person reads, and where in the record it was noticed.

use std::fmt;

/// Why a record (or an EVTX chunk) could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}{}", at_byte(*.offset))]
pub struct DecodeError {
    kind: DecodeErrorKind,
    detail: String,
    offset: Option<usize>,
}

/// What kind of input failed to decode. Stable, for counting and matching; the detail is in
/// [`DecodeError::detail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// Markup that is not a well-formed `<Event>` element.
    Xml,
    /// Text that is not one JSON object.
    Json,
    /// An EVTX chunk whose 512-byte header does not read (magic, size).
    EvtxChunkHeader,
    /// An EVTX chunk whose header reads but whose string or template tables do not.
    EvtxChunk,
    /// An EVTX record that does not parse or render.
    EvtxRecord,
    /// The evtx crate panicked while reading a chunk: the chunk's records from there on are
    /// lost (those before were passed on).
    EvtxPanic,
}

impl DecodeErrorKind {
    /// A short description, e.g. `invalid XML`, for messages and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeErrorKind::Xml => "invalid XML",
            DecodeErrorKind::Json => "invalid JSON",
            DecodeErrorKind::EvtxChunkHeader => "bad EVTX chunk header",
            DecodeErrorKind::EvtxChunk => "bad EVTX chunk",
            DecodeErrorKind::EvtxRecord => "bad EVTX record",
            DecodeErrorKind::EvtxPanic => "the EVTX parser failed on this chunk",
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn at_byte(offset: Option<usize>) -> String {
    offset.map_or_else(String::new, |o| format!(" (at byte {o} of the record)"))
}

impl DecodeError {
    /// An error of `kind`, noticed at byte `offset` of the record when known.
    pub(crate) fn new(
        kind: DecodeErrorKind,
        detail: impl Into<String>,
        offset: Option<usize>,
    ) -> Self {
        DecodeError {
            kind,
            detail: detail.into(),
            offset,
        }
    }

    /// Malformed XML noticed at byte `offset` of the record.
    pub(crate) fn at(detail: impl Into<String>, offset: usize) -> Self {
        DecodeError::new(DecodeErrorKind::Xml, detail, Some(offset))
    }

    /// The kind of failure.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// What was wrong, e.g. ``expected `</Data>`, found `</Event>` ``.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Byte offset in the record (for EVTX, in the chunk) where it was noticed, when known.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }

    /// The same error, of another kind and with a prefix to its detail (an XML error in a
    /// record the evtx crate rendered is an EVTX record error).
    pub(crate) fn within(self, kind: DecodeErrorKind, prefix: &str) -> Self {
        DecodeError {
            kind,
            detail: format!("{prefix}{}", self.detail),
            offset: self.offset,
        }
    }
}
