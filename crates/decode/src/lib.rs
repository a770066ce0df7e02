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
//! Nothing of a Windows event is dropped: every `System` child with its attributes, every
//! `EventData/Data` pair, `Binary` and the `UserData` markup are kept, because the model layer
//! computes Splunk's generic search-time fields from them (`ADDON_FIELDS.md` §1.3), and
//! [`render_xml`] writes the event back as the `_raw` a Splunk forwarder would index.
//!
//! Modules: `event` (the types); `xml` ([`decode_xml`]) is a hand-written `memchr` scanner (no
//! XML library: nothing may be unescaped, and it must be fast); `json` ([`decode_json`]) runs
//! serde_json with borrowing visitors (`json_event`, `json_user_data`); `evtx`
//! ([`EvtxChunkDecoder`]) renders records with the evtx crate and reads that XML with the same
//! scanner; `render` holds the helpers that bring values to Windows' rendering and `write`
//! writes an event back as Windows' XML.

// Lets unit tests share the integration tests' EVTX chunk builder, which names this crate.
#[cfg(test)]
extern crate self as cimhunt_decode;

mod error;
mod event;
mod evtx;
mod json;
mod json_event;
mod json_user_data;
mod render;
mod repair;
mod write;
mod xml;

pub use error::{DecodeError, DecodeErrorKind};
pub use event::{Decoded, FlatEvent, SystemElement, WinEvent};
pub use evtx::{CHUNK_SIZE as EVTX_CHUNK_SIZE, EvtxChunkDecoder, EvtxRecordHeader};
pub use write::render_xml;

/// Decodes one `<Event>…</Event>` element (leading `<?xml …?>`, BOM and whitespace allowed).
/// Malformed or unbalanced markup and a root element other than `Event` are errors. Values are
/// borrowed from `record`, and so is [`WinEvent::raw`], the `<Event>` element's text.
///
/// XML the evtx crate rendered (evtx_dump `-o xml`, recognised by its double-quoted
/// `<Event xmlns="…">`) gets the same treatment as EVTX: GUIDs upper-cased, `SystemTime` with
/// nine fractional digits, so that one event gives the same values from every tool; its `raw`
/// is its text as it is. Windows' own rendering (single quotes) is taken as it is.
///
/// Bytes that are not UTF-8 do not lose the event: each is written `\xNN`, as Splunk does
/// (module `repair`); such an event is decoded from a repaired copy, so its values are owned,
/// it has no `raw`, and [`WinEvent::repairs`] counts the bytes.
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
/// Its values are XML-escaped (`&`, `<`, `>` only; attribute values also `"` and `'`), numbers
/// and booleans become their text, `null` becomes an empty value, GUIDs (with or without
/// braces) in fields whose name ends in `Guid` (any case) become `{UPPER-CASE}`, and so does any
/// value that is exactly a braced lower-case GUID (evtx 0.15's form for GUID-typed values, as in
/// [`EvtxChunkDecoder`]). `System` attributes that are GUIDs, braced or not, become
/// `{UPPER-CASE}` too, and `SystemTime` gets nine fractional digits (zeros appended).
/// `EventData`'s `Binary` member becomes [`WinEvent::binary`] and its `Data` member (unnamed
/// `Data` elements) gives values named `""`; `UserData` is written back as markup
/// ([`WinEvent::user_data_xml`]). evtx 0.15's `Name_1`,
/// `Name_2`, … keys for repeated elements give pairs named `Name` again. Integers that fit in
/// 64 bits keep their text; other numbers are written in their shortest round-trip `f64` form
/// (so an integer beyond 64 bits loses digits).
///
/// A record that does not parse is repaired when it can be (module `repair`): bytes that are
/// not UTF-8 become `\xNN`, a lone surrogate escape U+FFFD, a number beyond `f64` (`1e400`)
/// the text it is written with. The event is then decoded from the repaired copy (owned
/// values) and [`Decoded::repairs`] counts the repairs.
pub fn decode_json(record: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    json::decode(record)
}
