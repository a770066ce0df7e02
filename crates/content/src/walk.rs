//! Walking directories of content, with the project's one walking policy.
//!
//! The policy is the one `cimhunt-read` applies to directories of telemetry, so that a folder
//! means the same thing whatever it holds: entries in file-name order, depth first; symbolic
//! links to files are taken, symbolic links to directories are not followed (so no cycle can
//! form); only regular files are taken; hidden entries are not skipped (nothing is left out
//! without a word). What a caller does with a file of the wrong kind found this way is its own
//! business: content passes over YAML that is not a detection and counts it.

use std::path::{Path, PathBuf};

use crate::error::ContentError;

/// The regular files below `root` (itself, when it is a file) for which `keep` holds, in walk
/// order. An unreadable directory below `root` is an error naming it.
pub(crate) fn files_under(
    root: &Path,
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, ContentError> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            let io = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("cannot walk the directory"));
            ContentError::io(path, io)
        })?;
        let kind = entry.file_type();
        let is_file = kind.is_file() || (kind.is_symlink() && entry.path().is_file());
        if is_file && keep(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_in_name_order_hidden_included_symlinked_dirs_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/inner")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        for f in [
            "b/inner/z.yml",
            "b/a.yml",
            "c.yml",
            ".hidden/h.yml",
            "notes.txt",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("b"), root.join("link")).unwrap();
        let files = files_under(root, |p| p.extension().is_some_and(|e| e == "yml")).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [".hidden/h.yml", "b/a.yml", "b/inner/z.yml", "c.yml"]
        );
    }
}
