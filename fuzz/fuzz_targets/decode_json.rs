//! `decode_json` on arbitrary bytes: never panics, and values it keeps borrowed are slices of
//! the input.
#![no_main]

use std::borrow::Cow;

use cimhunt_decode::Decoded;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = cimhunt_decode::decode_json(data) else {
        return;
    };
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let check = |value: &Cow<'_, str>| {
        if let Cow::Borrowed(s) = value {
            let at = s.as_ptr() as usize;
            assert!(
                s.is_empty() || (at >= start && at + s.len() <= end),
                "borrowed value {s:?} is not a slice of the input"
            );
        }
    };
    let pairs = match &decoded {
        Decoded::Windows(event) => &event.data,
        Decoded::Flat(event) => &event.fields,
    };
    for (name, value) in pairs {
        check(name);
        check(value);
    }
});
