//! `decode_json` on arbitrary bytes: never panics; values it keeps borrowed (`System` names,
//! attributes and text, `Data` names and values, flat fields) are slices of the input (values may
//! be owned: JSON escapes, numbers and GUIDs are rewritten); a Windows event has no `raw`; and
//! `render_xml` writes an event that `decode_xml` reads back to the same parts.
#![no_main]

use std::borrow::Cow;

use cimhunt_decode::{Decoded, render_xml};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = cimhunt_decode::decode_json(data) else {
        return;
    };
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let check = |what: &str, value: &Cow<'_, str>| {
        if let Cow::Borrowed(s) = value {
            let at = s.as_ptr() as usize;
            assert!(
                s.is_empty() || (at >= start && at + s.len() <= end),
                "borrowed {what} {s:?} is not a slice of the input"
            );
        }
    };
    let pairs = match &decoded {
        Decoded::Windows(event) => {
            assert!(event.raw.is_none(), "JSON events have no raw text");
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
            let mut text = String::new();
            render_xml(event, &mut text);
            // Names come from JSON keys and may hold anything: only check what is well formed.
            if let Ok(again) = cimhunt_decode::decode_xml(text.as_bytes()) {
                assert_eq!(again.data.len(), event.data.len(), "rendered: {text}");
            }
            &event.data
        }
        Decoded::Flat(event) => &event.fields,
        _ => return,
    };
    for (name, value) in pairs {
        check("name", name);
        check("value", value);
    }
});
