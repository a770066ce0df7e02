//! Decoders: turn one raw record into named fields.
//!
//! Three record kinds come from the readers: a Windows event as XML text (`<Event>…</Event>`), a
//! JSON object (evtx_dump's `{"Event":{…}}` shape, or a flat EDR event such as CrowdStrike's), and
//! an EVTX chunk, which holds many events. Windows events, whatever their form, decode to one
//! [`WinEvent`]; flat JSON objects decode to a [`FlatEvent`].
//!
//! Key design decision: a [`WinEvent`]'s values are always in Windows' own XML rendering, the text
//! Splunk's add-ons extract from: XML entities stay escaped (`&amp;`, `&lt;`, `&gt;`), GUIDs are
//! upper-case in braces, numbers are decimal text, hex ids are `0x…` text. XML input is already in
//! that form, so its values are borrowed slices of the record, never unescaped or copied; EVTX and
//! evtx_dump JSON are brought to that form here, so that one event yields the same fields whichever
//! form it arrives in.
//!
//! Modules: `xml` ([`decode_xml`]) is a hand-written `memchr` scanner (no XML library: nothing
//! may be unescaped, and it must be fast); `json` ([`decode_json`]) runs serde_json with
//! borrowing visitors; `evtx` ([`EvtxChunkDecoder`]) renders records with the evtx crate and
//! reads that XML with the same scanner; `render` holds the helpers that bring values to
//! Windows' rendering.

use std::borrow::Cow;
use std::fmt;

mod evtx;
mod json;
mod json_event;
mod render;
mod xml;

pub use evtx::{CHUNK_SIZE as EVTX_CHUNK_SIZE, EvtxChunkDecoder};

/// A decoded Windows event: the `System` values the normalizers need and the `EventData` (or
/// `UserData`) name/value pairs, all as Windows' XML rendering shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinEvent<'a> {
    /// `System/Provider/@Name`, e.g. `Microsoft-Windows-Sysmon`.
    pub provider: Option<Cow<'a, str>>,
    /// `System/EventID` as text, e.g. `1` or `4688` (without `Qualifiers`).
    pub event_id: Option<Cow<'a, str>>,
    /// `System/Version`.
    pub version: Option<Cow<'a, str>>,
    /// `System/Keywords`, e.g. `0x8020000000000000`.
    pub keywords: Option<Cow<'a, str>>,
    /// `System/TimeCreated/@SystemTime` as written, e.g. `2020-10-08T11:03:46.617920300Z`.
    pub system_time: Option<Cow<'a, str>>,
    /// `System/EventRecordID`.
    pub record_id: Option<Cow<'a, str>>,
    /// `System/Channel`, e.g. `Security`.
    pub channel: Option<Cow<'a, str>>,
    /// `System/Computer`.
    pub computer: Option<Cow<'a, str>>,
    /// `System/Security/@UserID`, when present and not empty.
    pub user_id: Option<Cow<'a, str>>,
    /// `EventData/Data` (`Name` attribute → text) or, for `UserData` events, each leaf element
    /// (element name → text), in document order. An empty element gives an empty value.
    pub data: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> WinEvent<'a> {
    /// The first value of the named `Data` element, if present (empty values included).
    pub fn data(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The event id as a number, when it is one.
    pub fn event_id_number(&self) -> Option<u32> {
        self.event_id.as_deref().and_then(|t| t.trim().parse().ok())
    }
}

/// A flat JSON object, e.g. a CrowdStrike FDR event: top-level keys and their values as text
/// (strings unescaped from JSON, numbers and booleans as written; nulls, nested objects and
/// arrays are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatEvent<'a> {
    /// Key → value, in object order.
    pub fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> FlatEvent<'a> {
    /// The value of the first field of that name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }
}

/// What a record decoded to.
// Unboxed on purpose: a box would cost an allocation per event for no gain, since a `Decoded`
// is moved once or twice and then taken apart.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A Windows event.
    Windows(WinEvent<'a>),
    /// A flat JSON event.
    Flat(FlatEvent<'a>),
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was wrong, e.g. ``expected `</Data>`, found `</Event>` ``.
    pub message: String,
    /// Byte offset in the record where it was noticed, when known.
    pub offset: Option<usize>,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} (at byte {o} of the record)", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// An error noticed at byte `offset` of the record.
    pub fn at(message: impl Into<String>, offset: usize) -> Self {
        DecodeError {
            message: message.into(),
            offset: Some(offset),
        }
    }
}

/// Decodes one `<Event>…</Event>` element (leading `<?xml …?>`, BOM and whitespace allowed).
/// Invalid UTF-8, malformed or unbalanced markup, and a root element other than `Event` are
/// errors. Values are borrowed from `record`.
///
/// Each value is the raw text between an element's tags (or an attribute's quotes), borrowed
/// from `record` and never unescaped: `&amp;` stays `&amp;`, CR and LF stay, a CDATA section or
/// comment inside a value stays as written — the text Splunk's regular expressions would see.
pub fn decode_xml(record: &[u8]) -> Result<WinEvent<'_>, DecodeError> {
    xml::decode(record)
}

/// Decodes one JSON object: evtx_dump's `{"Event":{…}}` shape to [`Decoded::Windows`], with
/// values brought to Windows' XML rendering; any other object to [`Decoded::Flat`].
///
/// An object is an evtx_dump event when its `Event` member is an object with a `System` member.
/// Its values are XML-escaped (`&`, `<`, `>` only), numbers and booleans become their text,
/// `null` becomes an empty value, GUIDs (with or without braces) in fields whose name ends in
/// `Guid` (any case) become `{UPPER-CASE}`, and so does any value that is exactly a braced
/// lower-case GUID (evtx 0.15's form for GUID-typed values, as in [`EvtxChunkDecoder`]).
/// `EventData`'s `Binary` member is skipped (the XML decoder reads only `Data` elements) and its
/// `Data` member (unnamed `Data` elements) gives values named `""`. evtx 0.15's `Name_1`,
/// `Name_2`, … keys for repeated elements give pairs named `Name` again. Integers that fit in
/// 64 bits keep their text; other numbers are written in their shortest round-trip `f64` form
/// (so an integer beyond 64 bits loses digits), and a number beyond `f64` fails the record.
pub fn decode_json(record: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    json::decode(record)
}
