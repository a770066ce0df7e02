//! Visitors for the inside of an evtx_dump `Event` object.
//!
//! evtx_dump writes an element's attributes under `#attributes` and its text under `#text` when
//! it has both; an element with only text is the bare value; an element with neither is `null`;
//! repeated elements become arrays (or, in evtx 0.15, `Name_1`, `Name_2`, … keys).
//!
//! `System` children become [`SystemElement`]s with their attributes in order (`null` ones left
//! out, as Windows leaves out attributes with no value), every GUID-shaped attribute value as
//! `{UPPER-CASE}` (older evtx_dump writes GUID-typed values without braces) and `SystemTime`
//! with nine fractional digits. `UserData` is written back as markup by
//! [`crate::json_user_data`].

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::json::{Key, Scalar, ScalarSeed, scalar_visits};
use crate::json_user_data::UserDataSeed;
use crate::render::{windows_guid, windows_guid_value, windows_system_time, xml_attr};
use crate::{SystemElement, WinEvent};

type Pairs<'de> = Vec<(Cow<'de, str>, Cow<'de, str>)>;

/// The `Event` object: `Some` when it has a `System` member.
pub(crate) struct EventSeed;

impl<'de> Visitor<'de> for EventSeed {
    type Value = Option<WinEvent<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an evtx_dump `Event` object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event = WinEvent::default();
        event.data.reserve(32);
        let mut has_system = false;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "System" => {
                    has_system = true;
                    map.next_value_seed(SystemSeed(&mut event.system))?;
                }
                "EventData" => map.next_value_seed(EventDataSeed(&mut event))?,
                "UserData" if event.user_data_xml.is_none() => {
                    let mut markup = String::new();
                    map.next_value_seed(UserDataSeed(&mut markup))?;
                    event.user_data_xml = Some(Cow::Owned(markup));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(has_system.then_some(event))
    }
}

/// Implements `DeserializeSeed` by `deserialize_any` with the seed as its own visitor: either a
/// seed that returns `$value`, or (`writes Name`) a seed `Name<'_, 'de>` that writes into the
/// event it borrows and returns `()`.
macro_rules! seed_by_any {
    (writes $name:ident) => {
        seed_by_any!($name<'_, 'de>, ());
    };
    ($ty:ty, $value:ty) => {
        impl<'de> DeserializeSeed<'de> for $ty {
            type Value = $value;
            fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<$value, D::Error> {
                d.deserialize_any(self)
            }
        }
    };
}

/// `System`: each member is one child element (several when its value is an array).
struct SystemSeed<'e, 'de>(&'e mut Vec<SystemElement<'de>>);

seed_by_any!(writes SystemSeed);

impl<'de> Visitor<'de> for SystemSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `System` object")
    }
    scalar_visits!(|_, _| ());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ScalarSeed.visit_seq(seq).map(drop)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(key)) = map.next_key()? {
            if key == "#attributes" {
                map.next_value::<IgnoredAny>()?;
            } else {
                map.next_value_seed(SystemChildSeed {
                    name: key,
                    out: &mut *self.0,
                })?;
            }
        }
        Ok(())
    }
}

/// One `System` child: a bare value is its text, `null` an element with neither text nor
/// attributes, an object its `#attributes` and `#text` (an element with child elements has no
/// text), an array one element per item.
struct SystemChildSeed<'e, 'de> {
    name: Cow<'de, str>,
    out: &'e mut Vec<SystemElement<'de>>,
}

seed_by_any!(writes SystemChildSeed);

impl<'de> Visitor<'de> for SystemChildSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `System` element")
    }
    scalar_visits!(|seed: Self, s: Scalar<'de>| seed.out.push(SystemElement {
        name: seed.name,
        attrs: Vec::new(),
        text: s.windows(),
    }));
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (name, out) = (self.name, self.out);
        while seq
            .next_element_seed(SystemChildSeed {
                name: name.clone(),
                out: &mut *out,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut element = SystemElement {
            name: self.name,
            attrs: Vec::new(),
            text: None,
        };
        let mut has_child = false;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "#attributes" if element.attrs.is_empty() => {
                    map.next_value_seed(SystemAttrsSeed(&mut element.attrs))?;
                }
                "#text" if element.text.is_none() => {
                    element.text = map.next_value_seed(ScalarSeed)?.windows();
                }
                _ => {
                    has_child |= !key.starts_with('#');
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if has_child {
            element.text = None;
        }
        self.out.push(element);
        Ok(())
    }
}

/// A `System` child's `#attributes`, in Windows' rendering.
struct SystemAttrsSeed<'e, 'de>(&'e mut Vec<(Cow<'de, str>, Cow<'de, str>)>);

seed_by_any!(writes SystemAttrsSeed);

impl<'de> Visitor<'de> for SystemAttrsSeed<'_, 'de> {
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
            let fixed = if name == "SystemTime" {
                windows_system_time(&value)
            } else {
                windows_guid(&value)
            };
            self.0.push((name, fixed.map_or(value, Cow::Owned)));
        }
        Ok(())
    }
}

/// Adds one name/value pair in Windows' rendering. GUIDs in `…Guid` fields get braces and upper
/// case; so does any value that is exactly a braced GUID in lower case, the form evtx 0.15
/// writes GUID-typed values in whatever their name (`RuleId`, `ProviderKey`, …), as the EVTX
/// decoder does.
fn push_pair<'de>(out: &mut Pairs<'de>, name: Cow<'de, str>, value: Scalar<'de>) {
    let value = value.windows().unwrap_or(Cow::Borrowed(""));
    let value = windows_guid_value(&name, value);
    out.push((name, value));
}

/// evtx 0.15 writes the second and later of several same-named elements as `Name_1`, `Name_2`,
/// …: such a key names `Name` again when `seen(Name)` says `Name` already occurred at this
/// level.
pub(crate) fn unsuffixed<'de>(
    key: Cow<'de, str>,
    seen: impl FnOnce(&str) -> bool,
) -> Cow<'de, str> {
    let Some((base, number)) = key.rsplit_once('_') else {
        return key;
    };
    let numbered = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    if !numbered || !seen(base) {
        return key;
    }
    let base_len = base.len();
    match key {
        Cow::Borrowed(k) => Cow::Borrowed(k.get(..base_len).unwrap_or(k)),
        Cow::Owned(mut k) => {
            k.truncate(base_len);
            Cow::Owned(k)
        }
    }
}

/// The names met so far at one level of an object, asked "was `Name` met?" for every
/// `Name_N` key. A few names are scanned; past [`SeenNames::SCAN`] they go into a hash set,
/// filled as the level grows, so that an object with 100,000 `Name_N` keys costs linear time
/// rather than quadratic (review finding Q2). Nothing is allocated for a level without such
/// keys.
#[derive(Debug, Default)]
pub(crate) struct SeenNames {
    /// How many of the level's names are in `set`.
    indexed: usize,
    set: HashSet<String>,
}

impl SeenNames {
    /// Levels with at most this many names are scanned.
    const SCAN: usize = 16;

    /// Whether `base` is one of `names` (the level's names so far, in order; the caller only
    /// ever appends to them).
    pub(crate) fn contains<'n, T: 'n>(
        &mut self,
        names: &'n [T],
        name: impl Fn(&'n T) -> &'n str,
        base: &str,
    ) -> bool {
        if names.len() <= Self::SCAN {
            return names.iter().any(|n| name(n) == base);
        }
        for n in names.get(self.indexed..).unwrap_or_default() {
            self.set.insert(name(n).to_owned());
        }
        self.indexed = names.len();
        self.set.contains(base)
    }
}

/// `EventData`: each member is a `Data` element's name and value(s). `#attributes` (of
/// `EventData` itself) are the event's `event_data_attrs`, `Binary` (not a `Data` element) is the event's `binary`, and
/// a `Data` member (unnamed `Data` elements) gives pairs named `""`.
struct EventDataSeed<'e, 'de>(&'e mut WinEvent<'de>);

seed_by_any!(writes EventDataSeed);

impl<'de> Visitor<'de> for EventDataSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `EventData` object")
    }
    scalar_visits!(|_, _| ());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        ScalarSeed.visit_seq(seq).map(drop)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let event = self.0;
        let from = event.data.len();
        let mut seen = SeenNames::default();
        while let Some(Key(key)) = map.next_key()? {
            let key = unsuffixed(key, |base| {
                let pairs = event.data.get(from..).unwrap_or_default();
                seen.contains(pairs, |(n, _)| n, base)
            });
            match key.as_ref() {
                "#attributes" if event.event_data_attrs.is_empty() => {
                    map.next_value_seed(SystemAttrsSeed(&mut event.event_data_attrs))?;
                }
                "#attributes" => {
                    map.next_value::<IgnoredAny>()?;
                }
                "Binary" => {
                    let value = map.next_value_seed(ScalarSeed)?.windows();
                    if event.binary.is_none() {
                        event.binary = Some(value.unwrap_or(Cow::Borrowed("")));
                    }
                }
                "Data" => map.next_value_seed(DataSeed {
                    name: Cow::Borrowed(""),
                    out: &mut event.data,
                })?,
                _ => map.next_value_seed(DataSeed {
                    name: key,
                    out: &mut event.data,
                })?,
            }
        }
        Ok(())
    }
}

/// The value(s) of one data element: a value, an array of values (one pair each), or an object
/// whose `#text` is the value (an empty value when it has none).
struct DataSeed<'e, 'de> {
    name: Cow<'de, str>,
    out: &'e mut Pairs<'de>,
}

seed_by_any!(writes DataSeed);

impl<'de> Visitor<'de> for DataSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a data value")
    }
    scalar_visits!(|seed: Self, s| push_pair(seed.out, seed.name, s));
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (name, out) = (self.name, self.out);
        while seq
            .next_element_seed(DataSeed {
                name: name.clone(),
                out: &mut *out,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (name, out) = (self.name, self.out);
        let mut has_text = false;
        while let Some(Key(key)) = map.next_key()? {
            if key == "#text" {
                has_text = true;
                map.next_value_seed(DataSeed {
                    name: name.clone(),
                    out: &mut *out,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if !has_text {
            out.push((name, Cow::Borrowed("")));
        }
        Ok(())
    }
}
