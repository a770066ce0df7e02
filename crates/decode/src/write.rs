//! Writing a [`WinEvent`] back as the text a Splunk Universal Forwarder indexes as `_raw` for
//! `XmlWinEventLog` (`renderXml=true`).
//!
//! The form is the one in every Windows-rendered sample this project has (ESCU `data_sources`
//! example events, spec `SPLUNK_SEMANTICS.md` §6.2): one line, no whitespace between elements,
//! single-quoted attributes, `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>`,
//! `System` children in their order with empty ones self-closed (`<Correlation/>`), `EventData`
//! as `<Data Name='…'>…</Data>` runs with empty values written `<Data Name='…'></Data>` (the
//! samples have no self-closed `Data`), then `Binary`; or `UserData` with its markup as kept.
//! Values are written as they are held, which is already Windows' rendering (but for a literal
//! `'` in an attribute value of XML Windows did not write, which becomes `&apos;`).

use std::borrow::Cow;

use crate::{SystemElement, WinEvent};

/// The namespace of every Windows event.
const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

/// Writes the event as Windows' XmlWinEventLog rendering would show it (what a Splunk Universal
/// Forwarder with `renderXml=true` indexes as `_raw`):
/// `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='…' Guid='{…}'/>…</System><EventData><Data Name='…'>…</Data>…</EventData></Event>`,
/// single-quoted attributes, no whitespace between elements, values in Windows' XML rendering
/// (entities escaped).
///
/// An event with `UserData` gets a `UserData` block instead of `EventData` (and both when it
/// also has `Data` pairs or `Binary`); an event with neither gets an empty
/// `<EventData></EventData>`, as Windows writes events whose template has no data.
pub fn render_xml(event: &WinEvent<'_>, out: &mut String) {
    out.reserve(256 + event.data.len() * 48);
    out.push_str("<Event xmlns='");
    out.push_str(EVENT_NS);
    out.push_str("'><System>");
    for element in &event.system {
        system_element(element, out);
    }
    out.push_str("</System>");
    let event_data = !event.data.is_empty()
        || !event.event_data_attrs.is_empty()
        || event.binary.is_some()
        || event.user_data_xml.is_none();
    if event_data {
        out.push_str("<EventData");
        attributes(&event.event_data_attrs, out);
        out.push('>');
        for (name, value) in &event.data {
            if name.is_empty() {
                out.push_str("<Data>");
            } else {
                out.push_str("<Data Name='");
                attribute_value(name, out);
                out.push_str("'>");
            }
            out.push_str(value);
            out.push_str("</Data>");
        }
        if let Some(binary) = &event.binary {
            out.push_str("<Binary>");
            out.push_str(binary);
            out.push_str("</Binary>");
        }
        out.push_str("</EventData>");
    }
    if let Some(user_data) = &event.user_data_xml {
        out.push_str("<UserData>");
        out.push_str(user_data);
        out.push_str("</UserData>");
    }
    out.push_str("</Event>");
}

fn system_element(element: &SystemElement<'_>, out: &mut String) {
    out.push('<');
    out.push_str(&element.name);
    attributes(&element.attrs, out);
    match &element.text {
        None => out.push_str("/>"),
        Some(text) => {
            out.push('>');
            out.push_str(text);
            out.push_str("</");
            out.push_str(&element.name);
            out.push('>');
        }
    }
}

/// ` name='value'` for each attribute.
fn attributes(attrs: &[(Cow<'_, str>, Cow<'_, str>)], out: &mut String) {
    for (name, value) in attrs {
        out.push(' ');
        out.push_str(name);
        out.push_str("='");
        attribute_value(value, out);
        out.push('\'');
    }
}

/// An attribute value inside single quotes. Windows never writes a literal `'` there; one can
/// only come from a double-quoted attribute of XML not rendered by Windows, and is written
/// `&apos;` as Windows (and the evtx crate) would.
fn attribute_value(value: &str, out: &mut String) {
    if value.contains('\'') {
        out.push_str(&value.replace('\'', "&apos;"));
    } else {
        out.push_str(value);
    }
}
