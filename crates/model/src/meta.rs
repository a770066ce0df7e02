//! An event's metadata: the default fields Splunk sets when it indexes an event (`source`,
//! `sourcetype`, `host`, `index`), carried from the input — a file, an HTTP Event Collector
//! request, a message — to the searches.
//!
//! Where the input says nothing, cimhunt sets them as a Splunk Universal Forwarder reading the
//! Windows event log with `renderXml = true` would, and as ESCU's test data is replayed
//! (ADDON_FIELDS 1.1):
//! - Windows events: `source` = `XmlWinEventLog:<Channel>`; `sourcetype` = `xmlwineventlog`
//!   (the sourcetype every `XmlWinEventLog:<channel>` sourcetype is renamed to by the 8.x
//!   Windows add-on and the Sysmon add-on, `rename = xmlwineventlog`); `host` = the event's
//!   `Computer` (a forwarder reports its own host name, which is the computer that logged the
//!   event) — a documented choice, overridable per input;
//! - CrowdStrike FDR events: `source` = the input's name, `sourcetype` =
//!   `crowdstrike:events:sensor` (spec 5.6), `host` = the input's name;
//! - other JSON: `sourcetype` = `_json`;
//! - `index` = `main` unless the input or the command line names another.
//!
//! An input may also state an event's `_time` and indexed fields (an HTTP Event Collector
//! envelope's `time` and `fields`; `docs/serve.md` gives Splunk's rules): `time` wins over the
//! event's own timestamp, `fallback_time` is used only when the event has neither (HEC: the
//! time it was received), and `fields` are fields of the event as its extracted fields are —
//! before them, so that a name the event also has becomes a multi-value field, as an indexed
//! field and a search-time extraction of the same name do in Splunk [inferred].

use std::sync::Arc;

use cimhunt_spl::Timestamp;

/// The metadata an input gives its events; unset fields are derived per event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `source`.
    pub source: Option<Arc<str>>,
    /// `sourcetype`.
    pub sourcetype: Option<Arc<str>>,
    /// `host`.
    pub host: Option<Arc<str>>,
    /// `index`.
    pub index: Option<Arc<str>>,
    /// `_time`, when the input states it: it wins over the event's own timestamp.
    pub time: Option<Timestamp>,
    /// `_time` for an event whose input states none and that has no readable timestamp.
    pub fallback_time: Option<Timestamp>,
    /// Indexed fields (name, value), in order; a name given several times is multi-valued.
    pub fields: Vec<(Arc<str>, Arc<str>)>,
}

/// The index events go to when nothing names one.
pub const DEFAULT_INDEX: &str = "main";

/// The sourcetype of Windows event-log XML after the add-ons' `rename`.
pub const XML_SOURCETYPE: &str = "xmlwineventlog";

/// The `source` of a Windows event is this followed by its channel.
pub(crate) const WINDOWS_SOURCE: &str = "XmlWinEventLog:";

/// The sourcetype of CrowdStrike FDR sensor events.
pub const CROWDSTRIKE_SOURCETYPE: &str = "crowdstrike:events:sensor";

/// The sourcetype of other JSON events.
pub const JSON_SOURCETYPE: &str = "_json";

/// An event's resolved metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// `source`.
    pub source: std::borrow::Cow<'a, str>,
    /// `sourcetype`.
    pub sourcetype: std::borrow::Cow<'a, str>,
    /// `host`, when known.
    pub host: Option<std::borrow::Cow<'a, str>>,
    /// `index`.
    pub index: std::borrow::Cow<'a, str>,
}
