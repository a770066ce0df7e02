//! Request bodies to [`HecEvent`]s: JSON envelopes for `/services/collector/event`, lines for
//! `/services/collector/raw`.
//!
//! Rules ("Format events for HTTP Event Collector", "Event metadata"):
//! - A body is one or more JSON objects one after the other, with or without whitespace
//!   between them ("batched events are stacked one after the other").
//! - Envelope keys: `time` (epoch seconds, `<sec>.<ms>`; a number or a numeric string),
//!   `host`, `source`, `sourcetype`, `index` (strings), `event` (required: a string, a
//!   number or a JSON object), `fields` (a flat object of indexed fields; a value may be an
//!   array of values, a multi-value field; a nested object is code 15). Other keys are
//!   ignored [inferred].
//! - `event` missing (or `null`) is code 12, an empty string `event` is code 13, anything that
//!   is not an object or not JSON is code 6, and each error names the 0-based failing event
//!   (`invalid-event-number`).
//! - An index the token may not write to is code 7.
//! - `/raw` breaks the body into events on line ends and drops empty lines (Splunk's default
//!   `LINE_BREAKER = ([\r\n]+)`); the request's query parameters give the metadata.
//!
//! Key design decision: a request is all or nothing. splunkd indexes the events before the
//! failing one and rejects the rest [inferred from the meaning of `invalid-event-number`];
//! cimhunt rejects the whole request, so a client that resends a refused request never
//! creates duplicates.

use std::borrow::Cow;

use cimhunt_spl::time::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::reply::{HecReply, HecStatus};
use crate::config::{Limits, TokenConfig};
use crate::engine::{EventBody, HecEvent, JsonText};

/// Metadata from the request's query string.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct QueryMeta {
    /// `host`.
    pub host: Option<String>,
    /// `source`.
    pub source: Option<String>,
    /// `sourcetype`.
    pub sourcetype: Option<String>,
    /// `index`.
    pub index: Option<String>,
    /// `channel` (indexer acknowledgement).
    pub channel: Option<String>,
    /// `token` (query-string authentication).
    pub token: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    time: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    sourcetype: Option<String>,
    #[serde(default)]
    index: Option<String>,
    #[serde(borrow, default)]
    fields: Option<&'a RawValue>,
}

/// Parses a `/services/collector/event` body.
pub fn parse_events(
    body: &[u8],
    token: &TokenConfig,
    query: &QueryMeta,
    limits: &Limits,
) -> Result<Vec<HecEvent>, HecReply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(HecStatus::NoData.into());
    }
    let mut events = Vec::new();
    // Each envelope is read in one pass, straight from the body (its `event` borrowed). serde
    // would read a JSON array as a struct too, so each item is first checked to be an object.
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Envelope<'_>>();
    for n in 0.. {
        let at = |status| HecReply::at_event(status, n);
        let rest = body.get(stream.byte_offset()..).unwrap_or_default();
        match rest
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            None => break,
            Some(b'{') => {}
            Some(_) => return Err(at(HecStatus::InvalidDataFormat)),
        }
        let env = match stream.next() {
            Some(Ok(env)) => env,
            _ => return Err(at(HecStatus::InvalidDataFormat)),
        };
        let body = match env.event.map(RawValue::get) {
            None | Some("null") => return Err(at(HecStatus::EventFieldRequired)),
            Some(text) if text.starts_with('"') => {
                let s: String =
                    serde_json::from_str(text).map_err(|_| at(HecStatus::InvalidDataFormat))?;
                if s.is_empty() {
                    return Err(at(HecStatus::EventFieldBlank));
                }
                EventBody::Text(s)
            }
            Some(text) => {
                let v: Value =
                    serde_json::from_str(text).map_err(|_| at(HecStatus::InvalidDataFormat))?;
                if depth(&v) > limits.max_json_depth {
                    return Err(at(HecStatus::InvalidDataFormat));
                }
                let json = JsonText::new(text).map_err(|_| at(HecStatus::InvalidDataFormat))?;
                EventBody::Json(json)
            }
        };
        let time = match env.time {
            None => None,
            Some(raw) => Some(parse_time(raw.get()).ok_or(at(HecStatus::InvalidDataFormat))?),
        };
        let fields = match env.fields {
            None => Vec::new(),
            Some(raw) => parse_fields(raw.get()).map_err(at)?,
        };
        let index = token
            .index_for(env.index.as_deref().or(query.index.as_deref()))
            .to_owned();
        if !token.allows_index(&index) {
            return Err(at(HecStatus::IncorrectIndex));
        }
        events.push(HecEvent {
            body,
            time,
            host: env
                .host
                .or_else(|| query.host.clone())
                .or_else(|| token.host.clone()),
            source: env
                .source
                .or_else(|| query.source.clone())
                .or_else(|| token.source.clone()),
            sourcetype: env
                .sourcetype
                .or_else(|| query.sourcetype.clone())
                .or_else(|| token.sourcetype.clone()),
            index,
            fields,
            received: None,
        });
    }
    if events.is_empty() {
        return Err(HecStatus::NoData.into());
    }
    Ok(events)
}

/// Parses a `/services/collector/raw` body.
pub fn parse_raw(
    body: &[u8],
    token: &TokenConfig,
    query: &QueryMeta,
    limits: &Limits,
) -> Result<Vec<HecEvent>, HecReply> {
    let index = token.index_for(query.index.as_deref()).to_owned();
    if !token.allows_index(&index) {
        return Err(HecReply::at_event(HecStatus::IncorrectIndex, 0));
    }
    let mut events = Vec::new();
    for line in body.split(|&b| b == b'\n' || b == b'\r') {
        if line.is_empty() {
            continue;
        }
        let n = events.len();
        if line.len() > limits.max_line_length {
            return Err(HecReply::at_event(HecStatus::InvalidDataFormat, n));
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| HecReply::at_event(HecStatus::InvalidDataFormat, n))?;
        events.push(HecEvent {
            body: EventBody::Text(text.to_owned()),
            time: None,
            host: query.host.clone().or_else(|| token.host.clone()),
            source: query.source.clone().or_else(|| token.source.clone()),
            sourcetype: query
                .sourcetype
                .clone()
                .or_else(|| token.sourcetype.clone()),
            index: index.clone(),
            fields: Vec::new(),
            received: None,
        });
    }
    if events.is_empty() {
        return Err(HecStatus::NoData.into());
    }
    Ok(events)
}

/// `time` as epoch seconds: a JSON number or a string holding one.
fn parse_time(raw: &str) -> Option<Timestamp> {
    let text: Cow<'_, str> = if raw.starts_with('"') {
        Cow::Owned(serde_json::from_str::<String>(raw).ok()?)
    } else {
        Cow::Borrowed(raw)
    };
    let text = text.trim();
    if let Ok(t) = Timestamp::parse_epoch_secs(text) {
        return Some(t);
    }
    // Exponent notation (`1.7e9`): keep millisecond precision.
    let secs: f64 = text.parse().ok()?;
    if !secs.is_finite() || secs.abs() > 9.0e9 {
        return None;
    }
    Some(Timestamp::from_millis((secs * 1000.0).round() as i64))
}

fn parse_fields(raw: &str) -> Result<Vec<(String, String)>, HecStatus> {
    let map: serde_json::Map<String, Value> =
        serde_json::from_str(raw).map_err(|_| HecStatus::IndexedFieldsError)?;
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        match value {
            Value::Array(items) => {
                for item in items {
                    out.push((name.clone(), scalar(item)?));
                }
            }
            Value::Null => {}
            other => out.push((name, scalar(other)?)),
        }
    }
    Ok(out)
}

fn scalar(v: Value) -> Result<String, HecStatus> {
    match v {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(HecStatus::IndexedFieldsError),
    }
}

/// Nesting depth of a JSON value (a scalar is 0), without recursion.
fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenConfig {
        TokenConfig {
            sourcetype: Some("default:st".into()),
            ..TokenConfig::new("t")
        }
    }

    fn events(body: &str) -> Result<Vec<HecEvent>, HecReply> {
        parse_events(
            body.as_bytes(),
            &token(),
            &QueryMeta::default(),
            &Limits::default(),
        )
    }

    #[test]
    fn concatenated_envelopes_with_and_without_whitespace() {
        let ev = events(
            r#"{"event":"a","time":1700000000.5}{"event":{"k":1},"time":"1700000001"}
               {"event":"c","sourcetype":"XmlWinEventLog","fields":{"f":["x","y"],"n":3}}"#,
        )
        .unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[0].body, EventBody::Text("a".into()));
        assert_eq!(ev[0].time.unwrap().as_nanos(), 1_700_000_000_500_000_000);
        assert_eq!(ev[1].time.unwrap().as_secs(), 1_700_000_001);
        assert!(matches!(ev[1].body, EventBody::Json(_)));
        assert_eq!(ev[0].sourcetype.as_deref(), Some("default:st"));
        assert_eq!(ev[2].sourcetype.as_deref(), Some("XmlWinEventLog"));
        assert_eq!(
            ev[2].fields,
            vec![
                ("f".into(), "x".into()),
                ("f".into(), "y".into()),
                ("n".into(), "3".into())
            ]
        );
        assert_eq!(ev[2].index, "main");
    }

    #[test]
    fn each_error_names_the_failing_event() {
        let err = |b: &str| events(b).unwrap_err().body();
        assert_eq!(err(""), r#"{"text":"No data","code":5}"#);
        assert_eq!(
            err(r#"{"event":"a"}{"event":"b"#),
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#
        );
        assert_eq!(
            err(r#"{"event":"a"}{"host":"h"}"#),
            r#"{"text":"Event field is required","code":12,"invalid-event-number":1}"#
        );
        assert_eq!(
            err(r#"{"event":""}"#),
            r#"{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}"#
        );
        assert_eq!(
            err(r#"{"event":"a","fields":{"x":{"y":1}}}"#),
            r#"{"text":"Error in handling indexed fields","code":15,"invalid-event-number":0}"#
        );
        assert_eq!(
            err(r#"["event"]"#),
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#
        );
        assert_eq!(
            err(r#"{"event":"a","time":"soon"}"#),
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#
        );
        // Not objects, after a good envelope: an array that serde could read as the envelope's
        // fields in order (`time`, `event`), a number, a stray brace.
        for bad in [r#"[null,"b"]"#, "5", "}", "\u{c}"] {
            assert_eq!(
                err(&format!(r#"{{"event":"a"}} {bad}"#)),
                r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn whitespace_after_the_last_envelope_ends_the_body() {
        let ev = events("{\"event\":\"a\"}\r\n\t {\"event\":\"b\"} \n").unwrap();
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[1].body, EventBody::Text("b".into()));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{{\"event\":{}1{}}}", "[".repeat(70), "]".repeat(70));
        assert_eq!(
            events(&deep).unwrap_err().status(),
            HecStatus::InvalidDataFormat
        );
        let very_deep = format!("{{\"event\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(
            events(&very_deep).unwrap_err().status(),
            HecStatus::InvalidDataFormat
        );
    }

    #[test]
    fn index_restrictions_apply_to_every_event() {
        let t = TokenConfig {
            indexes: vec!["win".into()],
            default_index: Some("win".into()),
            ..TokenConfig::new("t")
        };
        let q = QueryMeta::default();
        let l = Limits::default();
        let ok = parse_events(br#"{"event":"a"}"#, &t, &q, &l).unwrap();
        assert_eq!(ok[0].index, "win");
        let err =
            parse_events(br#"{"event":"a"}{"event":"b","index":"main"}"#, &t, &q, &l).unwrap_err();
        assert_eq!(
            err.body(),
            r#"{"text":"Incorrect index","code":7,"invalid-event-number":1}"#
        );
    }

    #[test]
    fn raw_lines_take_query_metadata() {
        let q = QueryMeta {
            sourcetype: Some("XmlWinEventLog".into()),
            host: Some("h1".into()),
            ..QueryMeta::default()
        };
        let ev = parse_raw(b"one\r\n\r\ntwo\nthree", &token(), &q, &Limits::default()).unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[2].body, EventBody::Text("three".into()));
        assert_eq!(ev[0].sourcetype.as_deref(), Some("XmlWinEventLog"));
        assert_eq!(ev[0].host.as_deref(), Some("h1"));
        let limits = Limits {
            max_line_length: 3,
            ..Limits::default()
        };
        let err = parse_raw(b"one\nfour", &token(), &q, &limits).unwrap_err();
        assert_eq!(
            err.body(),
            r#"{"text":"Invalid data format","code":6,"invalid-event-number":1}"#
        );
    }
}
