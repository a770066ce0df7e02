//! The planted-rows check: cimhunt's JSON-lines output counted per detection and compared with
//! what the mixed corpus's manifest says each planted detection must return.
//!
//! Key design decision: the expected count of a detection is the manifest's `matching` (the
//! events of the corpus that satisfy its search, by the generator's own reading of the SPL), not
//! its `planted`: a detection whose search also matches another detection's plants (PowerShell
//! Domain Enumeration and Get-DomainUser, the two service-path searches) must return those too.
//! Every planted event is distinct in the fields the detections group by (host, user, command
//! line, path, …), so one matching event is one row — except for the detections a by-field of
//! which the specification's tables leave unset (`planted::UNSET_BY`): they must return none.
//! A detection that returns a different number of rows fails the run: a wrong answer is not a
//! figure.

use std::collections::BTreeMap;
use std::path::Path;

use crate::mixed::manifest::DetectionCounts;

/// Rows per detection name in `-f jsonl` output (each line an object whose `detection` names
/// the detection it belongs to). Lines that are not such objects are counted under `""`.
pub fn per_detection(stdout: &[u8]) -> BTreeMap<String, u64> {
    let mut rows = BTreeMap::new();
    for line in stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let name = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("detection")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        *rows.entry(name).or_insert(0) += 1;
    }
    rows
}

/// One planted detection's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub name: String,
    pub planted: u64,
    /// Rows the manifest says it must return.
    pub expected: u64,
    /// Rows cimhunt returned.
    pub rows: u64,
    /// Why `expected` is 0 although events match: a by-field the specification's tables leave
    /// unset (`planted::UNSET_BY`).
    pub unset_by: Option<&'static str>,
}

impl Verdict {
    /// Whether cimhunt returned exactly the expected rows.
    pub fn ok(&self) -> bool {
        self.rows == self.expected
    }
}

/// The verdict of every planted detection whose file is in `library` (searched recursively,
/// as `cimhunt hunt -d` does), in manifest order.
pub fn verdicts(
    detections: &[DetectionCounts],
    library: &Path,
    rows: &BTreeMap<String, u64>,
) -> Vec<Verdict> {
    let files = yaml_names(library);
    detections
        .iter()
        .filter(|d| files.contains(&d.file))
        .map(|d| {
            let unset_by = crate::mixed::planted::unset_by(&d.name);
            Verdict {
                name: d.name.clone(),
                planted: d.planted,
                expected: if unset_by.is_some() { 0 } else { d.matching },
                rows: rows.get(&d.name).copied().unwrap_or(0),
                unset_by,
            }
        })
        .collect()
}

/// File names of the YAML files under `dir`, recursively (or `dir` itself when it is a file).
fn yaml_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_by_detection() {
        let out = b"{\"detection\":\"A\",\"dest\":\"h1\"}\n{\"detection\":\"B\"}\n\
                    {\"detection\":\"A\",\"dest\":\"h2\"}\nnot json\n";
        let rows = per_detection(out);
        assert_eq!(rows.get("A"), Some(&2));
        assert_eq!(rows.get("B"), Some(&1));
        assert_eq!(rows.get(""), Some(&1));
    }

    #[test]
    fn a_missing_or_short_detection_fails_and_files_outside_the_library_are_left_out() {
        let dir = std::env::temp_dir().join(format!("cimhunt-bench-rows-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.yml"), "").unwrap();
        std::fs::write(dir.join("b.yml"), "").unwrap();
        let counts = |name: &str, file: &str, matching| DetectionCounts {
            name: name.to_owned(),
            file: file.to_owned(),
            planted: matching,
            matching,
            ..DetectionCounts::default()
        };
        let detections = [
            counts("A", "a.yml", 2),
            counts("B", "b.yml", 3),
            counts("C", "c.yml", 1),
        ];
        let rows =
            per_detection(b"{\"detection\":\"A\"}\n{\"detection\":\"A\"}\n{\"detection\":\"B\"}\n");
        let v = verdicts(&detections, &dir, &rows);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v[0].ok());
        assert!(!v[1].ok());
        assert_eq!((v[1].expected, v[1].rows), (3, 1));
    }

    #[test]
    fn a_detection_with_a_by_field_the_tables_leave_unset_must_return_no_rows() {
        let dir = std::env::temp_dir().join(format!("cimhunt-bench-unset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (name, _) = crate::mixed::planted::UNSET_BY[0];
        let file = "unset.yml";
        std::fs::write(dir.join(file), "").unwrap();
        let detections = [DetectionCounts {
            name: name.to_owned(),
            file: file.to_owned(),
            planted: 4,
            matching: 4,
            ..DetectionCounts::default()
        }];
        let none = verdicts(&detections, &dir, &BTreeMap::new());
        let rows = per_detection(format!("{{\"detection\":\"{name}\"}}\n").as_bytes());
        let one = verdicts(&detections, &dir, &rows);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(none[0].expected, 0);
        assert!(none[0].ok() && none[0].unset_by.is_some());
        assert!(!one[0].ok());
    }
}
