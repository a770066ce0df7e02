//! `eventtypes.conf`: named searches. An event has event type `X` when it matches `X`'s
//! search; searches may refer to other event types (`eventtype=wineventlog_security (...)`).
//! Matching is the interpreter's work; this module keeps the search text as written.

use std::collections::HashMap;

use crate::conf::{Conf, Origin, Setting};

use super::error::TableError;
use super::text::{At, index_by};

/// One event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType {
    /// The stanza name.
    pub name: String,
    /// The `search` text, as written.
    pub search: String,
    /// `disabled = 1` (default false).
    pub disabled: bool,
    /// Where the stanza header was written.
    pub origin: Origin,
    /// Other settings (`priority`, `description`, `color`, …).
    pub other: Vec<Setting>,
}

impl EventType {
    /// The event types the search names with `eventtype=<name>` or `eventtype="<name>"`.
    ///
    /// A textual scan, not a search parser: it is meant for checking that references resolve
    /// and for ordering, and finds every `eventtype=` term whether or not it is negated. Field
    /// names are case-sensitive, so Sysmon's `EventType=CreateKey` is not a reference.
    pub fn referenced_event_types(&self) -> Vec<String> {
        let search = self.search.as_str();
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(pos) = search[from..].find("eventtype") {
            let start = from + pos;
            from = start + "eventtype".len();
            let before_ok = search[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            let rest = search[from..].trim_start();
            let Some(rest) = rest.strip_prefix('=') else {
                continue;
            };
            if !before_ok {
                continue;
            }
            let rest = rest.trim_start();
            let name = match rest.strip_prefix('"') {
                Some(quoted) => quoted.split('"').next().unwrap_or(""),
                None => rest
                    .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                    .next()
                    .unwrap_or(""),
            };
            if !name.is_empty() {
                out.push(name.to_owned());
            }
        }
        out
    }
}

/// All event types of a profile, in the order their stanzas first appeared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTypes {
    list: Vec<EventType>,
    index: HashMap<String, usize>,
}

impl EventTypes {
    /// Types every stanza of a (layered) eventtypes configuration.
    pub fn from_conf(conf: &Conf) -> Result<EventTypes, TableError> {
        let mut list = Vec::new();
        for stanza in conf.stanzas() {
            let at = At(stanza);
            list.push(EventType {
                name: stanza.name().to_owned(),
                search: at.required("search")?.to_owned(),
                disabled: at.boolean("disabled")?.unwrap_or(false),
                origin: stanza.origin().clone(),
                other: stanza
                    .settings()
                    .iter()
                    .filter(|s| !matches!(s.key(), "search" | "disabled"))
                    .cloned()
                    .collect(),
            });
        }
        let index = index_by(&list, |e| &e.name);
        Ok(EventTypes { list, index })
    }

    /// Every event type.
    pub fn all(&self) -> &[EventType] {
        &self.list
    }

    /// The event type with this name.
    pub fn get(&self, name: &str) -> Option<&EventType> {
        self.index.get(name).map(|&i| &self.list[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(text: &str) -> EventTypes {
        EventTypes::from_conf(&Conf::parse("eventtypes.conf", text).unwrap()).unwrap()
    }

    #[test]
    fn references_to_other_event_types_are_found() {
        let t = types(
            "[w]\nsearch = eventtype=wineventlog_application OR eventtype=wineventlog-ds OR \
             (eventtype=\"quoted name\") NOT myeventtype=x OR EventType=y OR eventtype = spaced\n",
        );
        assert_eq!(
            t.get("w").unwrap().referenced_event_types(),
            [
                "wineventlog_application",
                "wineventlog-ds",
                "quoted name",
                "spaced"
            ]
        );
    }

    #[test]
    fn a_stanza_without_search_is_an_error() {
        let conf = Conf::parse("eventtypes.conf", "[a]\ndisabled = 1\n").unwrap();
        let e = EventTypes::from_conf(&conf).unwrap_err();
        assert_eq!(e.to_string(), "eventtypes.conf:1: [a]: missing `search`");
        let t = types("[a]\nsearch = x\ndisabled = 1\npriority = 5\n");
        assert!(t.all()[0].disabled);
        assert_eq!(t.all()[0].other[0].key(), "priority");
    }
}
