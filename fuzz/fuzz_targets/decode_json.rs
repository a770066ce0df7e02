//! `decode_json` on arbitrary bytes: never panics, and values it keeps borrowed (`System`
//! values, `Data` names and values, flat fields) are slices of the input. Values may be owned:
//! JSON escapes, numbers and GUIDs are rewritten.
#![no_main]

use std::borrow::Cow;

use cimhunt_decode::Decoded;
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
            let system = [
                ("provider", &event.provider),
                ("event_id", &event.event_id),
                ("version", &event.version),
                ("keywords", &event.keywords),
                ("system_time", &event.system_time),
                ("record_id", &event.record_id),
                ("channel", &event.channel),
                ("computer", &event.computer),
                ("user_id", &event.user_id),
            ];
            for (what, value) in system {
                if let Some(value) = value {
                    check(what, value);
                }
            }
            &event.data
        }
        Decoded::Flat(event) => &event.fields,
    };
    for (name, value) in pairs {
        check("name", name);
        check("value", value);
    }
});
