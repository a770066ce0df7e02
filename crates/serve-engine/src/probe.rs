//! What the engine will make of one HEC event, found before it is fed: which record format it
//! is, the metadata it is presented with, and its `_time`.
//!
//! The engine keeps detection state per time bucket of `_time`, and the sink needs the same
//! time before feeding — to tell late events, to drive `--clock events`, and to know which
//! journal batches a window still needs. `_time` is, in order (`docs/serve.md`, "`_time`"):
//! the envelope's `time`; else the event's own timestamp as the add-on model reads it (its
//! sourcetype's `TIME_PREFIX`/`TIME_FORMAT`, the Windows `SystemTime`, CrowdStrike's
//! `timestamp`); else the time the request was received. The first and last need no decoding;
//! for the middle one the event is decoded here with the decoder and the model call the
//! engine's workers use, which makes the two times agree by construction. All three reach the
//! engine in the event's [`Meta`] (`time`, and `fallback_time` = the receipt time), so the
//! engine's `_time` is this one.
//!
//! Metadata: the envelope's `sourcetype`, `source`, `host` and `index` (already resolved by the
//! HEC layer: envelope, query string, token default) and its `fields` become the event's
//! [`Meta`], so they reach the add-on stanzas and data models exactly as a file's events do.
//! Sourcetypes a Universal Forwarder sends for rendered Windows XML (`XmlWinEventLog`,
//! `XmlWinEventLog:Security`, …) are renamed to `xmlwineventlog`, as the Windows and Sysmon
//! add-ons' `rename` does and as `cimhunt test` does for ESCU's attack data. A missing
//! sourcetype, source or host is derived from the event as for a file [deliberate: splunkd
//! would write `httpevent` and `http:<token name>`, with which no add-on stanza and so no
//! detection applies].

use std::sync::Arc;

use cimhunt_decode::{Decoded as DecodedRecord, decode_json, decode_xml};
use cimhunt_model::{Decoded, Meta, Model, Want, XML_SOURCETYPE};
use cimhunt_serve::{EventBody, HecEvent};
use cimhunt_spl::Timestamp;

/// The record format of an event's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// One `<Event>…</Event>` element.
    Xml,
    /// One JSON object (evtx_dump JSON, CrowdStrike FDR, other JSON).
    Json,
}

/// An event ready to feed.
#[derive(Debug)]
pub(crate) struct Probed<'e> {
    pub kind: Kind,
    /// The text to feed (`_raw`), trimmed of surrounding whitespace.
    pub text: &'e str,
    pub meta: Meta,
    pub time: Timestamp,
}

/// Why an event cannot be fed. Each is counted and logged; none is an HTTP error, because the
/// event was valid HEC and has been acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Skip {
    /// Neither Windows event XML nor a JSON object.
    #[error("not an event format cimhunt reads (Windows event XML or a JSON object)")]
    Format,
    /// More than one `<Event>` element in one HEC event.
    #[error("more than one <Event> element in one event")]
    Several,
    /// The decoder refused it.
    #[error("does not decode: {0}")]
    Decode(String),
    /// Decoded, but of a kind the model does not present.
    #[error("a record of a kind cimhunt does not present")]
    Unpresentable,
    /// No `_time`: no envelope `time`, no readable timestamp, no receipt time.
    #[error(
        "no _time could be read from the event (no envelope time, and its sourcetype's timestamp field is missing or unreadable)"
    )]
    NoTime,
}

/// The metadata of an envelope as the engine presents it: `host`, `source`, `index`, the
/// envelope's `time` (falling back to the receipt time) and indexed `fields`; Windows XML
/// sourcetypes a Universal Forwarder sends (`XmlWinEventLog`, `XmlWinEventLog:Security`, …)
/// renamed `xmlwineventlog`, as the add-ons' `rename` does. `cimhunt serve --nats` publishes
/// the same metadata (crates/cluster).
pub fn meta_of(event: &HecEvent) -> Meta {
    let sourcetype = event.sourcetype.as_deref().map(|st| {
        if st.to_ascii_lowercase().starts_with("xmlwineventlog") {
            Arc::<str>::from(XML_SOURCETYPE)
        } else {
            Arc::<str>::from(st)
        }
    });
    Meta {
        source: event.source.as_deref().map(Arc::from),
        sourcetype,
        host: event.host.as_deref().map(Arc::from),
        index: Some(Arc::from(event.index.as_str())),
        time: event.time,
        fallback_time: event.received,
        fields: event
            .fields
            .iter()
            .map(|(k, v)| (Arc::from(k.as_str()), Arc::from(v.as_str())))
            .collect(),
    }
}

/// The record format of `event` and the text to read (trimmed of a byte-order mark and
/// surrounding whitespace), or why it is not an event cimhunt reads ([`Skip::Format`],
/// [`Skip::Several`]). `cimhunt serve --nats` classifies what it publishes with it (crates/cluster).
pub fn classify(event: &HecEvent) -> Result<(Kind, &str), Skip> {
    let text = match &event.body {
        EventBody::Text(t) => t.trim_start_matches('\u{feff}').trim(),
        EventBody::Json(j) => j.get().trim(),
        _ => return Err(Skip::Format),
    };
    let kind = if text.starts_with('<') {
        Kind::Xml
    } else if text.starts_with('{') {
        Kind::Json
    } else {
        return Err(Skip::Format);
    };
    if kind == Kind::Xml && text.matches("</Event>").count() > 1 {
        return Err(Skip::Several);
    }
    Ok((kind, text))
}

/// Finds how the engine will read `event`, and its `_time`.
pub(crate) fn probe<'e>(model: &Model, event: &'e HecEvent) -> Result<Probed<'e>, Skip> {
    let (kind, text) = classify(event)?;
    let meta = meta_of(event);
    let time = match meta.time {
        // The envelope's time wins; an event that does not decode is then reported by the
        // engine's workers, like a file's.
        Some(t) => t,
        None => own_time(model, kind, text, &meta)?,
    };
    Ok(Probed {
        kind,
        text,
        meta,
        time,
    })
}

/// `_time` as the engine's model gives it to an event without envelope time: its own timestamp,
/// else the receipt time (`meta.fallback_time`).
fn own_time(model: &Model, kind: Kind, text: &str, meta: &Meta) -> Result<Timestamp, Skip> {
    let decoded = match kind {
        Kind::Xml => decode_xml(text.as_bytes()).map(DecodedRecord::Windows),
        Kind::Json => decode_json(text.as_bytes()),
    }
    .map_err(|e| Skip::Decode(e.to_string()))?;
    let view = match &decoded {
        DecodedRecord::Windows(w) => Decoded::Windows(w),
        DecodedRecord::Flat(f) => Decoded::Flat(f),
        _ => return Err(Skip::Unpresentable),
    };
    let want = Want::default();
    model
        .event(view, meta, &want, Some(text))
        .time()
        .ok_or(Skip::NoTime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimhunt_serve::JsonText;

    const XML: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID><TimeCreated SystemTime='2026-01-05T11:00:00.000000000Z'/><Channel>Security</Channel><Computer>pc1</Computer></System><EventData><Data Name='CommandLine'>x</Data></EventData></Event>";

    fn event(body: EventBody, sourcetype: Option<&str>) -> HecEvent {
        HecEvent {
            body,
            time: None,
            host: None,
            source: None,
            sourcetype: sourcetype.map(str::to_owned),
            index: "main".into(),
            fields: Vec::new(),
            received: None,
        }
    }

    #[test]
    fn forwarder_sourcetypes_are_renamed_and_missing_metadata_is_left_to_the_event() {
        for st in [
            "XmlWinEventLog",
            "XmlWinEventLog:Security",
            "xmlwineventlog",
        ] {
            let meta = meta_of(&event(EventBody::Text(XML.into()), Some(st)));
            assert_eq!(meta.sourcetype.as_deref(), Some("xmlwineventlog"));
            assert_eq!((meta.source, meta.host), (None, None));
            assert_eq!(meta.index.as_deref(), Some("main"));
        }
        let meta = meta_of(&event(
            EventBody::Text(XML.into()),
            Some("crowdstrike:events:sensor"),
        ));
        assert_eq!(
            meta.sourcetype.as_deref(),
            Some("crowdstrike:events:sensor")
        );
    }

    #[test]
    fn xml_text_and_json_objects_get_their_own_time() {
        let model = Model::escu().unwrap();
        let e = event(
            EventBody::Text(format!("\u{feff}  {XML}\n")),
            Some("XmlWinEventLog"),
        );
        let p = probe(&model, &e).unwrap();
        assert_eq!((p.kind, p.text), (Kind::Xml, XML));
        assert_eq!(p.time.as_nanos(), 1_767_610_800_000_000_000);
        let cs = r#"{"event_simpleName":"ProcessRollup2","timestamp":"1767614400500","aid":"a1","ComputerName":"pc2"}"#;
        let e = event(EventBody::Json(JsonText::new(cs).unwrap()), None);
        let p = probe(&model, &e).unwrap();
        assert_eq!((p.kind, p.text), (Kind::Json, cs));
        assert_eq!(p.time.as_nanos(), 1_767_614_400_500_000_000);
    }

    #[test]
    fn envelope_time_wins_over_the_events_own_timestamp() {
        let model = Model::escu().unwrap();
        let mut e = event(EventBody::Text(XML.into()), Some("XmlWinEventLog"));
        let envelope = Timestamp::from_nanos(1_767_000_000_250_000_000, 3);
        e.time = Some(envelope);
        e.received = Some(Timestamp::from_nanos(1_767_999_999_000_000_000, 0));
        let p = probe(&model, &e).unwrap();
        assert_eq!(p.time, envelope);
        assert_eq!(p.meta.time, Some(envelope));
    }

    #[test]
    fn receipt_time_dates_an_event_without_a_timestamp_of_its_own() {
        let model = Model::escu().unwrap();
        let received = Timestamp::from_nanos(1_767_610_000_000_000_000, 0);
        let mut e = event(
            EventBody::Json(JsonText::new(r#"{"message":"no time here"}"#).unwrap()),
            None,
        );
        e.received = Some(received);
        assert_eq!(probe(&model, &e).unwrap().time, received);
        // An event with a timestamp of its own keeps it.
        let mut e = event(EventBody::Text(XML.into()), Some("XmlWinEventLog"));
        e.received = Some(received);
        assert_eq!(
            probe(&model, &e).unwrap().time.as_nanos(),
            1_767_610_800_000_000_000
        );
    }

    #[test]
    fn events_the_engine_cannot_use_are_skipped_with_the_reason() {
        let model = Model::escu().unwrap();
        let skip = |body: EventBody| probe(&model, &event(body, None)).unwrap_err();
        assert_eq!(
            skip(EventBody::Text("GET /index.html 200".into())),
            Skip::Format
        );
        assert_eq!(skip(EventBody::Text(format!("{XML}{XML}"))), Skip::Several);
        assert!(matches!(
            skip(EventBody::Text("<Event><System>".into())),
            Skip::Decode(_)
        ));
        assert_eq!(
            skip(EventBody::Json(
                JsonText::new(r#"{"message":"no time here"}"#).unwrap()
            )),
            Skip::NoTime
        );
        assert_eq!(
            skip(EventBody::Json(JsonText::new("[1,2]").unwrap())),
            Skip::Format
        );
    }
}
