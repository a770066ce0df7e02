//! `decode_xml` on arbitrary bytes: never panics; every value it returns is a slice of the
//! input (zero-copy: nothing unescaped, nothing copied), except the GUIDs, `SystemTime` and
//! `UserData` quotes of XML in the evtx crate's rendering (`<Event xmlns="…">`), which are
//! brought to Windows' rendering; and `render_xml` writes an event that decodes to the same
//! `System` elements, `Data` pairs, `Binary` and `UserData` markup.
#![no_main]

use std::borrow::Cow;

use cimhunt_decode::{WinEvent, render_xml};
use libfuzzer_sys::fuzz_target;

/// Every part of the event but `raw` and `repairs`.
fn parts(e: &WinEvent<'_>) -> impl PartialEq + std::fmt::Debug {
    (
        e.system.clone().into_iter().map(|s| s.into_owned()).collect::<Vec<_>>(),
        e.data.clone(),
        e.event_data_attrs.clone(),
        e.binary.clone(),
        e.user_data_xml.clone(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = cimhunt_decode::decode_xml(data) else {
        return;
    };
    if event.repairs > 0 {
        // Decoded from a repaired copy of the input: nothing is borrowed.
        return;
    }
    let raw = event.raw.expect("an event decoded from XML keeps its text");
    let evtx_form = raw.starts_with("<Event xmlns=\"");
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let inside = |what: &str, s: &str| {
        let at = s.as_ptr() as usize;
        assert!(
            s.is_empty() || (at >= start && at + s.len() <= end),
            "{what} {s:?} is not a slice of the input"
        );
    };
    let check = |what: &str, value: &Cow<'_, str>| match value {
        Cow::Borrowed(s) => inside(what, s),
        Cow::Owned(_) if evtx_form => {}
        Cow::Owned(_) => panic!("{what} {value:?} is not borrowed from the input"),
    };
    for element in &event.system {
        check("System element name", &element.name);
        if let Some(text) = &element.text {
            check("System element text", text);
        }
        for (name, value) in &element.attrs {
            check("System attribute name", name);
            check("System attribute value", value);
        }
    }
    for (name, value) in event.data.iter().chain(&event.event_data_attrs) {
        check("data name", name);
        check("data value", value);
    }
    for value in [&event.binary, &event.user_data_xml].into_iter().flatten() {
        check("Binary or UserData", value);
    }
    inside("raw", raw);
    // Attribute values holding a literal `'` are written `&apos;`: not the same value again.
    let quote = event
        .system
        .iter()
        .flat_map(|s| s.attrs.iter())
        .chain(&event.event_data_attrs)
        .any(|(_, v)| v.contains('\''))
        || event.data.iter().any(|(n, _)| n.contains('\''));
    if !quote {
        let mut text = String::new();
        render_xml(&event, &mut text);
        let again = cimhunt_decode::decode_xml(text.as_bytes())
            .unwrap_or_else(|e| panic!("rendered event does not decode: {e}\n{text}"));
        assert_eq!(parts(&again), parts(&event), "rendered: {text}");
    }
});
