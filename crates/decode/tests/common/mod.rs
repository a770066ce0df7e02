//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod chunk;

use std::path::{Path, PathBuf};

use cimhunt_decode::{EVTX_CHUNK_SIZE, WinEvent};

/// The Sysmon EID 1 event written for these tests, as an XmlWinEventLog line.
pub const SYSMON1_XML: &[u8] = include_bytes!("../fixtures/sysmon1.xml");
/// The same event as evtx_dump would print it (GUIDs without braces, numbers as numbers).
pub const SYSMON1_JSON: &[u8] = include_bytes!("../fixtures/sysmon1.json");

/// Size of an EVTX file header, before the first chunk.
pub const EVTX_FILE_HEADER_SIZE: usize = 4096;

/// `../shared` (or `$CIMHUNT_SHARED`); panics with a clear message when it is missing, so that
/// tests needing it fail rather than pass silently.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("CIMHUNT_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    assert!(
        dir.is_dir(),
        "this test needs the shared reference directory; {} is missing (set CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// Every file under `dir` whose name ends in `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The chunks of an EVTX file that carry a chunk header (`ElfChnk\0`); unused (zeroed) chunks
/// are left out.
pub fn evtx_chunks(file: &[u8]) -> impl Iterator<Item = &[u8]> {
    file.get(EVTX_FILE_HEADER_SIZE..)
        .unwrap_or_default()
        .chunks_exact(EVTX_CHUNK_SIZE)
        .filter(|c| c.starts_with(b"ElfChnk\0"))
}

/// A `WinEvent` with every value owned, to keep beyond its record's lifetime.
pub fn owned(event: &WinEvent<'_>) -> WinEvent<'static> {
    let own = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map(|s| s.to_owned().into());
    WinEvent {
        provider: own(&event.provider),
        event_id: own(&event.event_id),
        version: own(&event.version),
        keywords: own(&event.keywords),
        system_time: own(&event.system_time),
        record_id: own(&event.record_id),
        channel: own(&event.channel),
        computer: own(&event.computer),
        user_id: own(&event.user_id),
        data: event
            .data
            .iter()
            .map(|(n, v)| (n.to_string().into(), v.to_string().into()))
            .collect(),
    }
}

/// Asserts two events are equal field by field (naming the field that differs), except
/// `system_time`, which must agree up to microseconds (evtx renders 7 fractional digits,
/// evtx_dump JSON from older versions 6, Windows 9).
pub fn assert_same_event(context: &str, left: &WinEvent<'_>, right: &WinEvent<'_>) {
    let fields = [
        ("provider", &left.provider, &right.provider),
        ("event_id", &left.event_id, &right.event_id),
        ("version", &left.version, &right.version),
        ("keywords", &left.keywords, &right.keywords),
        ("record_id", &left.record_id, &right.record_id),
        ("channel", &left.channel, &right.channel),
        ("computer", &left.computer, &right.computer),
        ("user_id", &left.user_id, &right.user_id),
    ];
    for (name, l, r) in fields {
        assert_eq!(l, r, "{context}: field `{name}` differs");
    }
    let micros = |t: &Option<std::borrow::Cow<'_, str>>| t.as_deref().map(to_microseconds);
    assert_eq!(
        micros(&left.system_time),
        micros(&right.system_time),
        "{context}: system_time differs beyond microseconds ({:?} vs {:?})",
        left.system_time,
        right.system_time
    );
    for (i, (l, r)) in left.data.iter().zip(&right.data).enumerate() {
        assert_eq!(l, r, "{context}: data pair {i} differs");
    }
    assert_eq!(
        left.data.len(),
        right.data.len(),
        "{context}: number of data pairs differs: {:?} vs {:?}",
        left.data,
        right.data
    );
}

/// `2024-03-05T14:22:07.1234567Z` → `2024-03-05T14:22:07.123456` (fraction cut or padded to 6
/// digits, zone kept apart).
pub fn to_microseconds(time: &str) -> String {
    let (main, zone) = time.split_at(time.len() - usize::from(time.ends_with('Z')));
    match main.split_once('.') {
        Some((secs, frac)) => {
            let mut frac: String = frac.chars().take(6).collect();
            while frac.len() < 6 {
                frac.push('0');
            }
            format!("{secs}.{frac}{zone}")
        }
        None => format!("{main}.000000{zone}"),
    }
}
