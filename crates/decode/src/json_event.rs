//! Visitors for the inside of an evtx_dump `Event` object.
//!
//! evtx_dump writes an element's attributes under `#attributes` and its text under `#text` when
//! it has both; an element with only text is the bare value; repeated elements become arrays.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::WinEvent;
use crate::json::{Key, Scalar, ScalarSeed, scalar_visits};
use crate::render::{is_guid_name, upper_braced_guid, windows_guid};

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
                    map.next_value_seed(SystemSeed(&mut event))?;
                }
                "EventData" => map.next_value_seed(EventDataSeed(&mut event.data))?,
                "UserData" => map.next_value_seed(UserDataSeed(&mut event.data))?,
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

fn set_once<'de>(slot: &mut Option<Cow<'de, str>>, value: Scalar<'de>) {
    if slot.is_none() {
        *slot = value.windows();
    }
}

/// `System`: fills the event's header fields.
struct SystemSeed<'e, 'de>(&'e mut WinEvent<'de>);

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
        let event = self.0;
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "Provider" => set_once(&mut event.provider, map.next_value_seed(AttrSeed("Name"))?),
                "TimeCreated" => set_once(
                    &mut event.system_time,
                    map.next_value_seed(AttrSeed("SystemTime"))?,
                ),
                "Security" => {
                    set_once(&mut event.user_id, map.next_value_seed(AttrSeed("UserID"))?);
                    if event.user_id.as_deref() == Some("") {
                        event.user_id = None;
                    }
                }
                "EventID" => set_once(&mut event.event_id, map.next_value_seed(TextSeed)?),
                "Version" => set_once(&mut event.version, map.next_value_seed(TextSeed)?),
                "Keywords" => set_once(&mut event.keywords, map.next_value_seed(TextSeed)?),
                "EventRecordID" => set_once(&mut event.record_id, map.next_value_seed(TextSeed)?),
                "Channel" => set_once(&mut event.channel, map.next_value_seed(TextSeed)?),
                "Computer" => set_once(&mut event.computer, map.next_value_seed(TextSeed)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// An element's attribute: `{"#attributes":{"<name>": value}}`; anything else gives `Nested`.
struct AttrSeed(&'static str);
seed_by_any!(AttrSeed, Scalar<'de>);

impl<'de> Visitor<'de> for AttrSeed {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with `#attributes`")
    }
    scalar_visits!(|_, _| Scalar::Nested);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarSeed.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Scalar::Nested;
        while let Some(Key(key)) = map.next_key()? {
            if key == "#attributes" && matches!(found, Scalar::Nested) {
                found = map.next_value_seed(NamedSeed(self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The member called `.0` of an object.
struct NamedSeed(&'static str);
seed_by_any!(NamedSeed, Scalar<'de>);

impl<'de> Visitor<'de> for NamedSeed {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an `#attributes` object")
    }
    scalar_visits!(|_, _| Scalar::Nested);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarSeed.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = Scalar::Nested;
        while let Some(Key(key)) = map.next_key()? {
            if key == self.0 && matches!(found, Scalar::Nested) {
                found = map.next_value_seed(ScalarSeed)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// An element's text: a bare value, or the `#text` member of an object that also has
/// `#attributes` (`"EventID":{"#attributes":{"Qualifiers":16384},"#text":4688}`).
struct TextSeed;
seed_by_any!(TextSeed, Scalar<'de>);

impl<'de> Visitor<'de> for TextSeed {
    type Value = Scalar<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element's text")
    }
    scalar_visits!(|_, s| s);
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        ScalarSeed.visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        NamedSeed("#text").visit_map(map)
    }
}

/// Adds one name/value pair in Windows' rendering. GUIDs in `…Guid` fields get braces and upper
/// case; so does any value that is exactly a braced GUID in lower case, the form evtx 0.15
/// writes GUID-typed values in whatever their name (`RuleId`, `ProviderKey`, …), as the EVTX
/// decoder does.
fn push_pair<'de>(out: &mut Pairs<'de>, name: Cow<'de, str>, value: Scalar<'de>) {
    let mut value = value.windows().unwrap_or(Cow::Borrowed(""));
    let guid = if is_guid_name(&name) {
        windows_guid(&value)
    } else {
        upper_braced_guid(&value)
    };
    if let Some(guid) = guid {
        value = Cow::Owned(guid);
    }
    out.push((name, value));
}

/// evtx 0.15 writes the second and later of several same-named elements as `Name_1`, `Name_2`,
/// …: such a key names `Name` again when `Name` already gave a pair since `from`.
fn unsuffixed<'de>(key: Cow<'de, str>, out: &Pairs<'de>, from: usize) -> Cow<'de, str> {
    let Some((base, number)) = key.rsplit_once('_') else {
        return key;
    };
    let numbered = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    let seen = || {
        out.get(from..)
            .unwrap_or_default()
            .iter()
            .any(|(n, _)| n == base)
    };
    if !numbered || !seen() {
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

/// `EventData`: each member is a `Data` element's name and value(s). `#attributes` (of
/// `EventData` itself) and `Binary` (not a `Data` element) are skipped, as the XML decoder skips
/// them; a `Data` member (unnamed `Data` elements) gives pairs named `""`.
struct EventDataSeed<'e, 'de>(&'e mut Pairs<'de>);

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
        let from = self.0.len();
        while let Some(Key(key)) = map.next_key()? {
            let key = unsuffixed(key, self.0, from);
            match key.as_ref() {
                "#attributes" | "Binary" => {
                    map.next_value::<IgnoredAny>()?;
                }
                "Data" => map.next_value_seed(DataSeed {
                    name: Cow::Borrowed(""),
                    out: self.0,
                })?,
                _ => map.next_value_seed(DataSeed {
                    name: key,
                    out: self.0,
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

/// `UserData`: its one child element, whose leaf elements are collected.
struct UserDataSeed<'e, 'de>(&'e mut Pairs<'de>);

seed_by_any!(writes UserDataSeed);

impl<'de> Visitor<'de> for UserDataSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the `UserData` object")
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
                map.next_value_seed(LeafSeed {
                    name: key,
                    out: &mut *self.0,
                    collect: false,
                })?;
            }
        }
        Ok(())
    }
}

/// An element below `UserData`: a leaf gives a pair (element name → text); an element with
/// child elements gives its leaves. `collect` is false for `UserData`'s own child, which is
/// never collected itself.
struct LeafSeed<'e, 'de> {
    name: Cow<'de, str>,
    out: &'e mut Pairs<'de>,
    collect: bool,
}

seed_by_any!(writes LeafSeed);

impl<'de> Visitor<'de> for LeafSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a `UserData` element")
    }
    scalar_visits!(|seed: Self, s| if seed.collect {
        push_pair(seed.out, seed.name, s)
    });
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (name, out, collect) = (self.name, self.out, self.collect);
        while seq
            .next_element_seed(LeafSeed {
                name: name.clone(),
                out: &mut *out,
                collect,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (name, out) = (self.name, self.out);
        let from = out.len();
        let mut has_content = false;
        while let Some(Key(key)) = map.next_key()? {
            let key = unsuffixed(key, out, from);
            match key.as_ref() {
                "#attributes" => {
                    map.next_value::<IgnoredAny>()?;
                }
                "#text" => {
                    has_content = true;
                    if self.collect {
                        map.next_value_seed(DataSeed {
                            name: name.clone(),
                            out: &mut *out,
                        })?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                _ => {
                    has_content = true;
                    map.next_value_seed(LeafSeed {
                        name: key,
                        out: &mut *out,
                        collect: true,
                    })?;
                }
            }
        }
        if self.collect && !has_content {
            out.push((name, Cow::Borrowed("")));
        }
        Ok(())
    }
}
