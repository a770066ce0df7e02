//! `decode_xml` on arbitrary bytes: never panics, and every value it returns is a slice of the
//! input (zero-copy: nothing unescaped, nothing copied).
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = cimhunt_decode::decode_xml(data) else {
        return;
    };
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let check = |what: &str, value: &Cow<'_, str>| {
        let Cow::Borrowed(s) = value else {
            panic!("{what} {value:?} is not borrowed from the input");
        };
        let at = s.as_ptr() as usize;
        assert!(
            s.is_empty() || (at >= start && at + s.len() <= end),
            "{what} {s:?} is not a slice of the input"
        );
    };
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
    for (name, value) in &event.data {
        check("data name", name);
        check("data value", value);
    }
});
