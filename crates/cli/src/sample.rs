//! The embedded sample: a few synthetic events written for cimhunt, in three formats, with
//! true positives and near misses for the default detection. `cimhunt hunt` with no PATH runs
//! over it, so a fresh install shows the whole pipeline at work.

use std::io::Cursor;

use cimhunt_read::Input;

/// The sample files: name and contents.
pub const FILES: &[(&str, &[u8])] = &[
    ("sysmon.log", include_bytes!("../sample/sysmon.log")),
    ("security.log", include_bytes!("../sample/security.log")),
    (
        "crowdstrike.jsonl",
        include_bytes!("../sample/crowdstrike.jsonl"),
    ),
];

/// The sample files as inputs.
pub fn inputs() -> Vec<Input> {
    FILES
        .iter()
        .map(|(name, bytes)| {
            Input::reader(format!("embedded:{name}"), Box::new(Cursor::new(*bytes)))
        })
        .collect()
}
