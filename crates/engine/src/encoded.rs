//! Parts taken out of the spill file still encoded ([`crate::spill::SpillFile::take_encoded`]):
//! a service's window takes a detection's parts under the file's lock and decodes them one at
//! a time after it. Read into memory, one window's parts were the largest allocation at the
//! service's peak over the bench's 1 GiB replay (20 MiB). Past [`IN_FILE_AT`] bytes they are
//! copied to an unlinked file of their own instead, and each is read back when it is decoded.
//!
//! Key design decision: a copy, not a reference into the spill file. That file is emptied and
//! rewritten as parts are taken (so its offsets move), and workers write to it while windows
//! decode; a window's own file needs no shared lock and is gone when the window drops it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use crate::state::StateError;

/// The bytes of taken parts past which they wait in a file of their own.
pub(crate) const IN_FILE_AT: u64 = 4 << 20;

/// One encoded part, in memory or in its window's file.
#[derive(Debug)]
pub(crate) enum Encoded {
    Held(Vec<u8>),
    InFile {
        file: Arc<Mutex<File>>,
        start: u64,
        len: u64,
    },
}

impl Encoded {
    /// The part's bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Encoded::Held(bytes) => bytes.len() as u64,
            Encoded::InFile { len, .. } => *len,
        }
    }

    /// The part's bytes, read back when they wait in a file.
    pub(crate) fn into_bytes(self) -> Result<Vec<u8>, StateError> {
        match self {
            Encoded::Held(bytes) => Ok(bytes),
            Encoded::InFile { file, start, len } => read_at(
                &mut file.lock().unwrap_or_else(|e| e.into_inner()),
                start,
                len,
            ),
        }
    }
}

/// `len` bytes of `file` from `start`: a part of a state on disk (the spill file's, or a
/// window's own).
pub(crate) fn read_at(file: &mut File, start: u64, len: u64) -> Result<Vec<u8>, StateError> {
    let mut buf = vec![0; len as usize];
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(|e| {
            StateError::Decode(format!("reading aggregation state back from disk: {e}"))
        })?;
    Ok(buf)
}
