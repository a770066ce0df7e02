//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod chunk;

use std::path::{Path, PathBuf};

use cimhunt_decode::{EVTX_CHUNK_SIZE, SystemElement, WinEvent};

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
    event.clone().into_owned()
}

/// Asserts two events are equal part by part (naming the part that differs): `System`
/// elements (names, attributes, text), `Data` pairs, `Binary` and `UserData` markup; `raw` and
/// `repairs` are not compared. `SystemTime` must agree up to microseconds (evtx renders 7
/// fractional digits, older evtx_dump JSON 6; both are padded to Windows' 9 with zeros).
pub fn assert_same_event(context: &str, left: &WinEvent<'_>, right: &WinEvent<'_>) {
    let names =
        |e: &WinEvent<'_>| -> Vec<String> { e.system.iter().map(|s| s.name.to_string()).collect() };
    assert_eq!(
        names(left),
        names(right),
        "{context}: System elements differ"
    );
    for (l, r) in left.system.iter().zip(&right.system) {
        let time = |s: &SystemElement<'_>| -> Vec<(String, String)> {
            s.attrs
                .iter()
                .map(|(n, v)| {
                    let v = if n == "SystemTime" {
                        to_microseconds(v)
                    } else {
                        v.to_string()
                    };
                    (n.to_string(), v)
                })
                .collect()
        };
        assert_eq!(
            time(l),
            time(r),
            "{context}: attributes of `{}` differ",
            l.name
        );
        assert_eq!(l.text, r.text, "{context}: text of `{}` differs", l.name);
    }
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
    assert_eq!(left.binary, right.binary, "{context}: Binary differs");
    assert_eq!(
        left.user_data_xml, right.user_data_xml,
        "{context}: UserData markup differs"
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
