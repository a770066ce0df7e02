//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// A fresh, empty scratch directory for one test under cargo's per-target temp dir.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cimhunt-content")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Writes `text` to `dir/name` (creating parent directories) and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// The reference directory: `$CIMHUNT_SHARED`, else `<workspace root>/../shared`. Panics with
/// a clear message when it is missing, so ignored tests never pass vacuously.
pub fn shared_dir() -> PathBuf {
    let dir = match std::env::var_os("CIMHUNT_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    assert!(
        dir.is_dir(),
        "reference directory {} not found: these tests need ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// `../shared/content/security_content`, which must exist.
pub fn security_content() -> PathBuf {
    let dir = shared_dir().join("content/security_content");
    assert!(dir.is_dir(), "{} not found", dir.display());
    dir
}
