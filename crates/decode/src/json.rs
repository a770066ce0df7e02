//! The JSON decoder: evtx_dump's `{"Event":{…}}` objects to [`WinEvent`]s in Windows' rendering,
//! any other object to a [`FlatEvent`].
//!
//! It runs serde_json's streaming parser with hand-written visitors, so no `Value` tree is built
//! and strings without JSON escapes stay borrowed from the record. The visitors are in
//! [`crate::json_event`].

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json_event::EventSeed;
use crate::repair::repair_json;
use crate::{DecodeError, DecodeErrorKind, Decoded, FlatEvent, WinEvent};

/// Decodes one JSON object; see [`crate::decode_json`].
///
/// A record that fails is repaired (`crate::repair`: bytes that are not UTF-8, lone surrogate
/// escapes, numbers beyond `f64`) and decoded again from the repaired copy, with owned values
/// and its repairs counted; when there is nothing to repair, or the copy fails too, the error
/// stands.
pub(crate) fn decode(record: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let error = match parse(record) {
        Ok(decoded) => return Ok(decoded),
        Err(error) => error,
    };
    let Some((text, repairs)) = repair_json(record) else {
        return Err(error);
    };
    let prefix =
        format!("after {repairs} repairs (bytes not UTF-8, lone surrogates, numbers beyond f64): ");
    let decoded = parse(text.as_bytes()).map_err(|e| e.within(DecodeErrorKind::Json, &prefix))?;
    Ok(match decoded.into_owned() {
        Decoded::Windows(mut event) => {
            event.repairs = repairs;
            Decoded::Windows(event)
        }
        Decoded::Flat(mut event) => {
            event.repairs = repairs;
            Decoded::Flat(event)
        }
    })
}

/// One JSON object as it is.
fn parse(record: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(record);
    let decoded = de
        .deserialize_map(TopVisitor)
        .map_err(|e| json_error(record, &e))?;
    de.end().map_err(|e| json_error(record, &e))?;
    Ok(decoded)
}

/// serde_json's message (which names the line and column), with the byte offset they point at.
fn json_error(record: &[u8], error: &serde_json::Error) -> DecodeError {
    let offset = (error.line() > 0).then(|| {
        let line_start = if error.line() == 1 {
            0
        } else {
            memchr::memchr_iter(b'\n', record)
                .nth(error.line() - 2)
                .map_or(record.len(), |i| i + 1)
        };
        (line_start + error.column().saturating_sub(1)).min(record.len())
    });
    DecodeError::new(DecodeErrorKind::Json, error.to_string(), offset)
}

/// A JSON value as the decoders see it: text (strings still JSON-unescaped, not yet brought to
/// any rendering), a number or boolean as text, `null`, or something nested.
#[derive(Debug)]
pub(crate) enum Scalar<'de> {
    /// A string.
    Str(Cow<'de, str>),
    /// A number or boolean, as text.
    Literal(String),
    /// `null`.
    Null,
    /// An object or array (consumed, not kept).
    Nested,
}

impl<'de> Scalar<'de> {
    /// The value as Windows renders it in XML; `None` for null and nested values.
    pub(crate) fn windows(self) -> Option<Cow<'de, str>> {
        self.windows_with(crate::render::xml_text)
    }

    /// The value with strings escaped by `escape` (element text or attribute rendering); `None`
    /// for null and nested values.
    pub(crate) fn windows_with(
        self,
        escape: fn(Cow<'de, str>) -> Cow<'de, str>,
    ) -> Option<Cow<'de, str>> {
        match self {
            Scalar::Str(s) => Some(escape(s)),
            Scalar::Literal(s) => Some(Cow::Owned(s)),
            Scalar::Null | Scalar::Nested => None,
        }
    }
}

/// Implements the scalar `visit_*` methods of a visitor through a function from [`Scalar`].
macro_rules! scalar_visits {
    ($map:expr) => {
        fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Str(Cow::Borrowed(v))))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Str(Cow::Owned(v.to_owned()))))
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Str(Cow::Owned(v))))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Literal(v.to_string())))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Literal(v.to_string())))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Literal(format!("{v:?}"))))
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Literal(v.to_string())))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(($map)(self, Scalar::Null))
        }
    };
}
pub(crate) use scalar_visits;

/// Reads any value as a [`Scalar`], skipping over nested ones.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_visits!(|_, s| s);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Nested)
    }
}

/// An object key, borrowed when it has no escapes.
#[derive(Debug)]
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The top-level object.
struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Decoded<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        let mut windows: Option<WinEvent<'de>> = None;
        while let Some(Key(key)) = map.next_key()? {
            if key == "Event" && windows.is_none() {
                match map.next_value_seed(EventOrScalar)? {
                    EventOrScalarValue::Event(Some(event)) => windows = Some(event),
                    EventOrScalarValue::Event(None) => {}
                    EventOrScalarValue::Scalar(value) => push_flat(&mut fields, key, value),
                }
            } else {
                let value = map.next_value_seed(ScalarSeed)?;
                push_flat(&mut fields, key, value);
            }
        }
        Ok(match windows {
            Some(event) => Decoded::Windows(event),
            None => Decoded::Flat(FlatEvent { fields, repairs: 0 }),
        })
    }
}

fn push_flat<'de>(
    fields: &mut Vec<(Cow<'de, str>, Cow<'de, str>)>,
    key: Cow<'de, str>,
    value: Scalar<'de>,
) {
    match value {
        Scalar::Str(s) => fields.push((key, s)),
        Scalar::Literal(s) => fields.push((key, Cow::Owned(s))),
        Scalar::Null | Scalar::Nested => {}
    }
}

/// The value of a top-level `Event` key: an evtx_dump event when it is an object with a
/// `System` member (`Event(None)` for other objects), else a plain value. Short-lived, so not
/// boxed.
#[allow(clippy::large_enum_variant)]
enum EventOrScalarValue<'de> {
    Event(Option<WinEvent<'de>>),
    Scalar(Scalar<'de>),
}

struct EventOrScalar;

impl<'de> DeserializeSeed<'de> for EventOrScalar {
    type Value = EventOrScalarValue<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventOrScalar {
    type Value = EventOrScalarValue<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an evtx_dump `Event` object")
    }
    scalar_visits!(|_, s| EventOrScalarValue::Scalar(s));
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarSeed.visit_seq(seq).map(EventOrScalarValue::Scalar)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        EventSeed.visit_map(map).map(EventOrScalarValue::Event)
    }
}
