//! What a record decodes to: a Windows event kept whole ([`WinEvent`]), or a flat JSON object
//! ([`FlatEvent`]).
//!
//! A [`WinEvent`] keeps every `System` child with all its attributes, every `EventData/Data`
//! pair and the `UserData` markup, because Splunk's Windows add-on extracts search-time fields
//! from all of them generically (`ADDON_FIELDS.md` §1.3: `system_props_xml_kv`,
//! `system_props_xml_attributes`, `eventdata_xml_data`, and the `System_Props_Xml`,
//! `EventData_Xml`, `UserData_Xml` blocks). The accessors name the values the normalizers use
//! most; everything else is reached through [`WinEvent::system`] and [`WinEvent::data`].

use std::borrow::Cow;

/// A decoded Windows event, every value in Windows' own XML rendering (entities escaped, GUIDs
/// upper case in braces, numbers as decimal text, `SystemTime` with nine fractional digits when
/// the decoder rendered it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinEvent<'a> {
    /// Children of `<System>`, in document order.
    pub system: Vec<SystemElement<'a>>,
    /// `EventData/Data` pairs: `Name` attribute → text, in document order; a `Data` without a
    /// `Name` gives the name `""`; an empty element gives `""` (consumers drop empties as Splunk
    /// does, `KEEP_EMPTY_VALS=false`).
    pub data: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The attributes of `<EventData>` itself (`Name='EVENT_HIVE_LEAK'` on some classic
    /// providers' events), in order. Splunk extracts nothing from them (`EventData_Xml` is the
    /// element's content), but they are part of `_raw`, which [`render_xml`](crate::render_xml)
    /// writes.
    pub event_data_attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The text of `EventData/Binary` (hex digits, as Windows writes them), when the event has
    /// one. It is not a `Data` pair (Splunk extracts no field from it) but it is part of
    /// `EventData_Xml`, so [`render_xml`](crate::render_xml) writes it back.
    pub binary: Option<Cow<'a, str>>,
    /// The inner markup of `<UserData>` in Windows' rendering (what Splunk's `UserData_Xml`
    /// holds), when the event has one. UserData leaves are not in `data`.
    pub user_data_xml: Option<Cow<'a, str>>,
    /// The `<Event …>…</Event>` text itself when the event was decoded from XML text (BOM,
    /// `<?xml?>` prolog and surrounding whitespace excluded): Splunk's `_raw`. `None` for EVTX
    /// and JSON, whose `_raw` is produced by [`render_xml`](crate::render_xml), for a record
    /// that needed repairs (its text is not the record's), and after [`WinEvent::into_owned`].
    pub raw: Option<&'a str>,
    /// How many repairs decoding made (bytes that are not UTF-8 escaped as `\xNN`, lone
    /// surrogate escapes, numbers beyond `f64`); 0 for a clean record.
    pub repairs: u32,
}

/// One child element of `<System>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemElement<'a> {
    /// The element name, e.g. `Provider`, `EventID`.
    pub name: Cow<'a, str>,
    /// Attributes in document order, values without quotes, in Windows' rendering (entities
    /// kept).
    pub attrs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The element's text when it has text content and no child elements (`None` for
    /// `<Correlation/>`; `Some("")` for `<Keywords></Keywords>`).
    pub text: Option<Cow<'a, str>>,
}

impl<'a> SystemElement<'a> {
    /// The value of the first attribute of that name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The element with every value owned.
    pub fn into_owned(self) -> SystemElement<'static> {
        SystemElement {
            name: owned(self.name),
            attrs: owned_pairs(self.attrs),
            text: self.text.map(owned),
        }
    }
}

impl<'a> WinEvent<'a> {
    /// The first `System` child of that name.
    pub fn system_element(&self, name: &str) -> Option<&SystemElement<'a>> {
        self.system.iter().find(|e| e.name == name)
    }

    /// The text of the first `System` child of that name.
    fn system_text(&self, name: &str) -> Option<&str> {
        self.system_element(name).and_then(|e| e.text.as_deref())
    }

    /// `System/Provider/@Name`, e.g. `Microsoft-Windows-Sysmon`.
    pub fn provider(&self) -> Option<&str> {
        self.system_element("Provider").and_then(|e| e.attr("Name"))
    }

    /// `System/EventID` text, e.g. `1` or `4688` (without its `Qualifiers` attribute).
    pub fn event_id(&self) -> Option<&str> {
        self.system_text("EventID")
    }

    /// The event id as a number, when it is one.
    pub fn event_id_number(&self) -> Option<u32> {
        self.event_id().and_then(|t| t.trim().parse().ok())
    }

    /// `System/Version`.
    pub fn version(&self) -> Option<&str> {
        self.system_text("Version")
    }

    /// `System/Keywords`, e.g. `0x8020000000000000`.
    pub fn keywords(&self) -> Option<&str> {
        self.system_text("Keywords")
    }

    /// `System/TimeCreated/@SystemTime` as Windows writes it, e.g.
    /// `2020-10-08T11:03:46.617920300Z`.
    pub fn system_time(&self) -> Option<&str> {
        self.system_element("TimeCreated")
            .and_then(|e| e.attr("SystemTime"))
    }

    /// `System/EventRecordID`: the record number Event Viewer shows.
    pub fn record_id(&self) -> Option<&str> {
        self.system_text("EventRecordID")
    }

    /// `System/Channel`, e.g. `Security`.
    pub fn channel(&self) -> Option<&str> {
        self.system_text("Channel")
    }

    /// `System/Computer`.
    pub fn computer(&self) -> Option<&str> {
        self.system_text("Computer")
    }

    /// `System/Security/@UserID`, when present and not empty.
    pub fn user_id(&self) -> Option<&str> {
        self.system_element("Security")
            .and_then(|e| e.attr("UserID"))
            .filter(|v| !v.is_empty())
    }

    /// The first `EventData` value of that name, if present (empty values included).
    pub fn data(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The event with every value owned, to keep beyond its record's lifetime. `raw` borrows
    /// the record and cannot be owned: it becomes `None` (use [`render_xml`](crate::render_xml),
    /// which reproduces a Windows-rendered `_raw`, or keep the record).
    pub fn into_owned(self) -> WinEvent<'static> {
        WinEvent {
            system: self
                .system
                .into_iter()
                .map(SystemElement::into_owned)
                .collect(),
            data: owned_pairs(self.data),
            event_data_attrs: owned_pairs(self.event_data_attrs),
            binary: self.binary.map(owned),
            user_data_xml: self.user_data_xml.map(owned),
            raw: None,
            repairs: self.repairs,
        }
    }
}

/// A flat JSON object, e.g. a CrowdStrike FDR event: top-level keys and their values as text
/// (strings unescaped from JSON, numbers and booleans as written; nulls, nested objects and
/// arrays are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlatEvent<'a> {
    /// Key → value, in object order.
    pub fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// How many repairs decoding made (see [`WinEvent::repairs`]); 0 for a clean record.
    pub repairs: u32,
}

impl<'a> FlatEvent<'a> {
    /// The value of the first field of that name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The event with every value owned.
    pub fn into_owned(self) -> FlatEvent<'static> {
        FlatEvent {
            fields: owned_pairs(self.fields),
            repairs: self.repairs,
        }
    }
}

/// What a record decoded to.
// Unboxed on purpose: a box would cost an allocation per event for no gain, since a `Decoded`
// is moved once or twice and then taken apart.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoded<'a> {
    /// A Windows event.
    Windows(WinEvent<'a>),
    /// A flat JSON event.
    Flat(FlatEvent<'a>),
}

impl Decoded<'_> {
    /// How many repairs decoding made (0 for a clean record): the count a run sums for its
    /// summary.
    pub fn repairs(&self) -> u32 {
        match self {
            Decoded::Windows(e) => e.repairs,
            Decoded::Flat(e) => e.repairs,
        }
    }

    /// The decoded record with every value owned (see [`WinEvent::into_owned`]).
    pub fn into_owned(self) -> Decoded<'static> {
        match self {
            Decoded::Windows(e) => Decoded::Windows(e.into_owned()),
            Decoded::Flat(e) => Decoded::Flat(e.into_owned()),
        }
    }
}

fn owned(value: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(value.into_owned())
}

fn owned_pairs(
    pairs: Vec<(Cow<'_, str>, Cow<'_, str>)>,
) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    pairs
        .into_iter()
        .map(|(n, v)| (owned(n), owned(v)))
        .collect()
}
