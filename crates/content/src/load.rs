//! Reading detection files from disk.

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::detection::Detection;
use crate::error::{ContentError, NotADetection, RequiredKey};

/// serde-saphyr options for hand-written content: a repeated key keeps the last value, as
/// PyYAML (and so contentctl) does.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    }
}

/// [`yaml_options`], except that a repeated key is an error.
fn unique_keys_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    }
}

/// The largest detection or macro file read, in bytes. ESCU's largest file is a few tens of
/// kilobytes; a bigger file is refused before it is read, so a stray log file given as content
/// cannot exhaust memory. (YAML alias bombs inside a small file are stopped by serde-saphyr's
/// default budget on parser events and aliases.)
pub const MAX_CONTENT_FILE: u64 = 16 << 20;

/// Reads a file as UTF-8 text (a leading byte-order mark is dropped); larger than
/// [`MAX_CONTENT_FILE`] is an error.
pub(crate) fn read_text(path: &Path) -> Result<String, ContentError> {
    let size = fs::metadata(path)
        .map_err(|e| ContentError::io(path, e))?
        .len();
    if size > MAX_CONTENT_FILE {
        return Err(ContentError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_CONTENT_FILE,
        });
    }
    let text = fs::read_to_string(path).map_err(|e| ContentError::io(path, e))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_owned(),
        None => text,
    })
}

/// Loads one detection YAML file; [`Detection::path`] is set to `path`.
pub fn load_detection(path: &Path) -> Result<Detection, ContentError> {
    let text = read_text(path)?;
    let mut detection = parse_detection(&text, path)?;
    detection.path = Some(path.to_path_buf());
    Ok(detection)
}

/// Parses detection YAML text; `origin` names the text in errors (it is not stored in the
/// detection). A well-formed YAML document that is not a mapping with a `name` and a `search`
/// is [`ContentError::NotADetection`]; anything else that fails is [`ContentError::Yaml`].
pub fn parse_detection(text: &str, origin: &Path) -> Result<Detection, ContentError> {
    // Most files have no repeated key, and then every policy reads the same value: a file is
    // read first with the policy that needs no buffering, and again with "last wins" only
    // when that fails (a repeated key, or any other error, which the second reading reports).
    let parsed = serde_saphyr::from_str_with_options::<Detection>(text, unique_keys_options())
        .or_else(|_| serde_saphyr::from_str_with_options::<Detection>(text, yaml_options()));
    let detection = match parsed {
        Ok(d) => d,
        Err(err) => return Err(classify_failure(text, origin, &err)),
    };
    let missing = |key: RequiredKey| ContentError::NotADetection {
        path: origin.to_path_buf(),
        reason: NotADetection::Missing(key),
    };
    if detection.name.trim().is_empty() {
        return Err(missing(RequiredKey::Name));
    }
    if detection.search.trim().is_empty() {
        return Err(missing(RequiredKey::Search));
    }
    Ok(detection)
}

/// Only the two keys that make a file a detection, to tell "not a detection" from "a
/// detection with a bad value" after the typed parse failed.
#[derive(Deserialize)]
struct Probe {
    name: Option<IgnoredAny>,
    search: Option<IgnoredAny>,
}

fn classify_failure(text: &str, origin: &Path, err: &serde_saphyr::Error) -> ContentError {
    let yaml_error = || ContentError::yaml(origin, err);
    // Malformed YAML: report the original error with its location.
    if serde_saphyr::from_str_with_options::<IgnoredAny>(text, yaml_options()).is_err() {
        return yaml_error();
    }
    match serde_saphyr::from_str_with_options::<Probe>(text, yaml_options()) {
        Err(_) => ContentError::NotADetection {
            path: origin.to_path_buf(),
            reason: NotADetection::NotAMapping,
        },
        Ok(Probe {
            name: Some(_),
            search: Some(_),
        }) => yaml_error(),
        Ok(probe) => ContentError::NotADetection {
            path: origin.to_path_buf(),
            reason: NotADetection::Missing(if probe.name.is_none() {
                RequiredKey::Name
            } else {
                RequiredKey::Search
            }),
        },
    }
}

/// The detection files at `path`: a file is itself; a directory is every `*.yml`/`*.yaml`
/// file below it, walked with the project's policy (`walk.rs`: name order, symlinked
/// directories not followed, hidden entries included).
pub fn find_detection_files(path: &Path) -> Result<Vec<PathBuf>, ContentError> {
    let meta = fs::metadata(path).map_err(|e| ContentError::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    crate::walk::files_under(path, has_yaml_extension)
}

/// Whether the file name ends in `.yml` or `.yaml` (any case).
pub(crate) fn has_yaml_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Loads every detection at `path` (see [`find_detection_files`]), in file order. Files that
/// fail to load are returned beside the detections instead of stopping the load; an unreadable
/// `path` itself is an error. Files are parsed on every core: YAML parsing dominates loading a
/// whole library (about a millisecond per detection).
pub fn load_detections(path: &Path) -> Result<(Vec<Detection>, Vec<ContentError>), ContentError> {
    let files = find_detection_files(path)?;
    let mut detections = Vec::new();
    let mut failures = Vec::new();
    for result in parse_all(&files) {
        match result {
            Ok(d) => detections.push(d),
            Err(e) => failures.push(e),
        }
    }
    Ok((detections, failures))
}

/// `load_detection` of every file, spread over the available cores; results in file order.
fn parse_all(files: &[PathBuf]) -> Vec<Result<Detection, ContentError>> {
    files.par_iter().map(|f| load_detection(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_alias_bomb_is_an_error_not_a_hang() {
        // Nine levels of nine aliases: 387 million strings if expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let list = [prev.as_str(); 9].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{list}]\n"));
        }
        // An unknown key is skipped by walking its value: the expansion would happen there.
        text.push_str("name: bomb\nsearch: '| tstats count'\nunknown_key: *a9\n");
        let err = parse_detection(&text, Path::new("bomb.yml")).unwrap_err();
        assert!(err.to_string().contains("bomb.yml"), "{err}");
    }

    #[test]
    fn an_oversized_content_file_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.yml");
        let file = fs::File::create(&path).unwrap();
        file.set_len(MAX_CONTENT_FILE + 1).unwrap();
        let err = load_detection(&path).unwrap_err();
        assert!(matches!(err, ContentError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("huge.yml"), "{err}");
    }
}
