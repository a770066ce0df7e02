//! evtx_dump's `UserData` object written back as the markup Windows renders (Splunk's
//! `UserData_Xml`).
//!
//! Each member is an element: a bare value is its text, `null` an element with no content
//! (`<X></X>`, the form Windows and the evtx crate give an empty substitution), an object its
//! `#attributes` (single-quoted, `null` ones left out), `#text` and child elements in order (an
//! object with only attributes is self-closed, `<X a='1'/>`), an array one element per item.
//! evtx 0.15's `Name_1` keys for repeated elements are written as `Name`. Text and attribute
//! values get Windows' escaping and GUID form, as `Data` values do.
//!
//! What the JSON cannot tell is written the common way: repeated elements that older evtx_dump
//! grouped into an array come out together, even where they were interleaved with others.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::{Key, Scalar, ScalarSeed, scalar_visits};
use crate::json_event::{SeenNames, unsuffixed};
use crate::render::{windows_guid_value, xml_attr, xml_text};

/// `UserData`: its members written as elements into the markup.
pub(crate) struct UserDataSeed<'e>(pub(crate) &'e mut String);

impl<'de> DeserializeSeed<'de> for UserDataSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UserDataSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `UserData` object")
    }
    scalar_visits!(|seed: Self, s: Scalar<'de>| text(seed.0, "", s));
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ScalarSeed.visit_seq(seq).map(drop)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        children(map, self.0, None)
    }
}

/// Writes the members of an object as child elements (after `open`, the start tag still to be
/// finished, when there is one); returns whether anything followed the start tag.
fn children<'de, A: MapAccess<'de>>(
    mut map: A,
    out: &mut String,
    mut open: Option<&str>,
) -> Result<(), A::Error> {
    let mut names: Vec<Cow<'de, str>> = Vec::new();
    let mut seen = SeenNames::default();
    let mut content = false;
    while let Some(Key(key)) = map.next_key()? {
        match key.as_ref() {
            "#attributes" if open.is_some() && !content => {
                map.next_value_seed(AttrsSeed(out))?;
            }
            "#attributes" => {
                map.next_value::<IgnoredAny>()?;
            }
            "#text" => {
                finish_start_tag(out, &mut content, open.is_some());
                let value = map.next_value_seed(ScalarSeed)?;
                text(out, open.unwrap_or(""), value);
            }
            _ => {
                finish_start_tag(out, &mut content, open.is_some());
                let name = unsuffixed(key, |base| seen.contains(&names, |n| n, base));
                names.push(name.clone());
                map.next_value_seed(ElementSeed {
                    name,
                    out: &mut *out,
                })?;
            }
        }
    }
    if let Some(name) = open.take() {
        if content {
            end_tag(out, name);
        } else {
            out.push_str("/>");
        }
    }
    Ok(())
}

/// Ends a start tag before the first content of its element.
fn finish_start_tag(out: &mut String, content: &mut bool, open: bool) {
    if open && !*content {
        out.push('>');
    }
    *content = true;
}

fn end_tag(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Element text in Windows' rendering (nothing for `null` and nested values).
fn text(out: &mut String, name: &str, value: Scalar<'_>) {
    if let Some(value) = value.windows_with(xml_text) {
        out.push_str(&windows_guid_value(name, value));
    }
}

/// One element named `name`.
struct ElementSeed<'e, 'de> {
    name: Cow<'de, str>,
    out: &'e mut String,
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `UserData` element")
    }
    scalar_visits!(|seed: Self, s: Scalar<'de>| {
        seed.out.push('<');
        seed.out.push_str(&seed.name);
        seed.out.push('>');
        text(seed.out, &seed.name, s);
        end_tag(seed.out, &seed.name);
    });
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (name, out) = (self.name, self.out);
        while seq
            .next_element_seed(ElementSeed {
                name: name.clone(),
                out: &mut *out,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.out.push('<');
        self.out.push_str(&self.name);
        children(map, self.out, Some(&self.name))
    }
}

/// An element's `#attributes`, written ` name='value'` each.
struct AttrsSeed<'e>(&'e mut String);

impl<'de> DeserializeSeed<'de> for AttrsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttrsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an `#attributes` object")
    }
    scalar_visits!(|_, _| ());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ScalarSeed.visit_seq(seq).map(drop)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(name)) = map.next_key()? {
            let Some(value) = map.next_value_seed(ScalarSeed)?.windows_with(xml_attr) else {
                continue;
            };
            let value = windows_guid_value(&name, value);
            self.0.push(' ');
            self.0.push_str(&name);
            self.0.push_str("='");
            self.0.push_str(&value);
            self.0.push('\'');
        }
        Ok(())
    }
}
