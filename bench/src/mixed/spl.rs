//! Just enough of Splunk's matching to decide whether an event satisfies a planted detection:
//! case-insensitive `*` wildcards (spec: `SPLUNK_SEMANTICS.md` §2.1, field values compare
//! case-insensitively, `*` matches any run of characters, newlines included), and the
//! search-time fields the planted detections read, derived from raw fields as the Windows
//! and Sysmon add-ons and CIM 5.2 derive them (`ADDON_FIELDS.md` §2.4).

use super::draft::Fields;
use super::kind::Kind;

/// Whether `value` matches the wildcard `pattern`, ignoring ASCII case.
pub fn like(value: &str, pattern: &str) -> bool {
    let v = value.as_bytes();
    let p = pattern.as_bytes();
    let (mut vi, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&v[vi]) {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether `value` matches any of `patterns` (`field IN (…)`).
pub fn like_any(value: &str, patterns: &[&str]) -> bool {
    patterns.iter().any(|p| like(value, p))
}

/// A field's value, or `None` when the event does not have it.
pub fn field<'e>(e: &'e dyn Fields, name: &str) -> Option<&'e str> {
    e.get(name)
}

/// `field=pattern`: false when the field is missing.
pub fn is(e: &dyn Fields, name: &str, pattern: &str) -> bool {
    e.get(name).is_some_and(|v| like(v, pattern))
}

/// `field IN (…)`: false when the field is missing.
pub fn is_any(e: &dyn Fields, name: &str, patterns: &[&str]) -> bool {
    e.get(name).is_some_and(|v| like_any(v, patterns))
}

/// `field!=pattern`: false when the field is missing (unlike `NOT field=pattern`).
pub fn is_not(e: &dyn Fields, name: &str, pattern: &str) -> bool {
    e.get(name).is_some_and(|v| !like(v, pattern))
}

fn basename(path: &str) -> &str {
    path.rsplit('\\').next().unwrap_or(path)
}

/// `process_name`: the file name of Sysmon's `Image` or of 4688's `NewProcessName`.
pub fn process_name(e: &dyn Fields) -> Option<&str> {
    let image = match e.kind() {
        Kind::Security4688 => e.get("NewProcessName"),
        _ => e.get("Image"),
    }?;
    Some(basename(image))
}

/// `Processes.process`: the command line.
pub fn process(e: &dyn Fields) -> Option<&str> {
    e.get("CommandLine")
}

/// `(Processes.process_name=name OR Processes.original_file_name=original)`, as ESCU's
/// `process_*` macros write it.
pub fn process_is(e: &dyn Fields, name: &str, original: &str) -> bool {
    process_name(e).is_some_and(|p| like(p, name)) || is(e, "OriginalFileName", original)
}

/// `Registry.registry_path`: `TargetObject`.
pub fn registry_path(e: &dyn Fields) -> Option<&str> {
    e.get("TargetObject")
}

/// `Registry.registry_value_name` with the Sysmon add-on 4.0.x: the last path component when
/// it is `\w+` or `(Default)`, else the whole `TargetObject`; `unknown` for key events.
pub fn registry_value_name(e: &dyn Fields) -> &str {
    let Some(target) = e.get("TargetObject") else {
        return "unknown";
    };
    if e.kind() != Kind::Sysmon13 {
        return "unknown";
    }
    let last = basename(target);
    let word = !last.is_empty() && last.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if word || last == "(Default)" {
        last
    } else {
        target
    }
}

/// `Registry.registry_value_data`: the text in parentheses of `DWORD (0x00000001)`-style
/// `Details`, else `Details`; `unknown` when there is none.
pub fn registry_value_data(e: &dyn Fields) -> &str {
    let Some(details) = e.get("Details") else {
        return "unknown";
    };
    // `\w+\s\((.+)\)`, anchored by the `Data` element's tags.
    let word_end = details
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(details.len());
    let rest = &details[word_end..];
    if word_end > 0
        && rest.len() > 3
        && rest.as_bytes()[0].is_ascii_whitespace()
        && rest[1..].starts_with('(')
        && rest.ends_with(')')
    {
        &rest[2..rest.len() - 1]
    } else if details.is_empty() {
        "unknown"
    } else {
        details
    }
}

/// Whether the event feeds the Registry dataset (Sysmon 12, 13).
pub fn is_registry(e: &dyn Fields) -> bool {
    matches!(e.kind(), Kind::Sysmon12 | Kind::Sysmon13)
}

/// `Filesystem.file_name`: the file name of `TargetFilename` without an `:stream` suffix.
pub fn file_name(e: &dyn Fields) -> Option<&str> {
    let name = basename(e.get("TargetFilename")?);
    Some(name.split(':').next().unwrap_or(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_splunk_does() {
        assert!(like("C:\\Windows\\System32\\MSIEXEC.exe", "*\\msiexec.exe"));
        assert!(like("abc", "abc"));
        assert!(!like("abcd", "abc"));
        assert!(like("abcd", "a*d"));
        assert!(like("a\r\nb", "a*b"));
        assert!(like("x.torproject.org", "*.torproject.org"));
        assert!(!like("torproject.org", "*.torproject.org"));
        assert!(like("aaa", "*a*a*a*"));
        assert!(!like("aa", "*a*a*a*"));
        assert!(like("", "*"));
        assert!(!like("", "a"));
    }

    struct E(Kind, Vec<(&'static str, &'static str)>);
    impl Fields for E {
        fn kind(&self) -> Kind {
            self.0
        }
        fn get(&self, name: &str) -> Option<&str> {
            self.1.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        }
    }

    #[test]
    fn registry_fields_follow_the_sysmon_add_on() {
        let e = E(
            Kind::Sysmon13,
            vec![
                (
                    "TargetObject",
                    r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\PUAProtection",
                ),
                ("Details", "DWORD (0x00000000)"),
            ],
        );
        assert_eq!(registry_value_data(&e), "0x00000000");
        assert_eq!(registry_value_name(&e), "PUAProtection");
        let e = E(
            Kind::Sysmon13,
            vec![
                ("TargetObject", r"HKLM\x\\Device\HarddiskVolume3\a b.exe"),
                ("Details", "Binary Data"),
            ],
        );
        assert_eq!(registry_value_data(&e), "Binary Data");
        assert_eq!(
            registry_value_name(&e),
            r"HKLM\x\\Device\HarddiskVolume3\a b.exe"
        );
    }

    #[test]
    fn not_equal_is_false_on_a_missing_field() {
        let e = E(Kind::Security4663, vec![("ObjectName", "x")]);
        assert!(!is_not(&e, "ProcessName", "*\\dllhost.exe"));
        assert!(is_not(&e, "ObjectName", "y"));
    }
}
