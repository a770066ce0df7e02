//! What the `Endpoint` data model does to an event before `tstats` sees it (spec 3.1 and 5.2).

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use crate::UNKNOWN;
use crate::event::CimEvent;
use crate::field::Field;

/// The CIM add-on version whose `Endpoint.json` calculations apply. They differ in the
/// `process_name` fallback and in two calculated fields that only 6.x has (spec 5.1, 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CimVersion {
    /// CIM 5.x: a missing `process_name` is the first token of `process`, quotes and path kept.
    V5,
    /// CIM 6.x: a missing `process_name` is the last path component of `process`; `parent_user`
    /// and `loaded_file` are filled with `unknown` too.
    #[default]
    V6,
}

/// The data model's per-event processing for the `Processes` dataset.
#[derive(Debug, Clone, Copy, Default)]
pub struct DataModel {
    /// Which CIM version's calculations to apply.
    pub version: CimVersion,
}

impl DataModel {
    /// A data model applying `version`'s calculations.
    pub fn new(version: CimVersion) -> Self {
        DataModel { version }
    }

    /// Applies the base search (`process_integrity_level` lowercased) and the calculated fields,
    /// in `Endpoint.json` order.
    pub fn apply(&self, event: &mut CimEvent<'_>) {
        lowercase_integrity_level(event);
        fill_unknown(event, Field::Dest);
        if self.version == CimVersion::V6 {
            fill_unknown(event, Field::LoadedFile);
        }
        fill_unknown(event, Field::OriginalFileName);
        fill_unknown(event, Field::ParentProcess);
        self.fill_name(event, Field::ParentProcessName, Field::ParentProcess);
        if self.version == CimVersion::V6 {
            fill_unknown(event, Field::ParentUser);
        }
        fill_unknown(event, Field::Process);
        self.fill_name(event, Field::ProcessName, Field::Process);
        fill_unknown(event, Field::User);
        fill_vendor_product(event);
    }

    /// `process_name` (or `parent_process_name`) from the command line when the add-on gave none.
    fn fill_name(&self, event: &mut CimEvent<'_>, name: Field, command: Field) {
        if !event.is_null_or_empty(name) {
            return;
        }
        let derived = event
            .get(command)
            .filter(|c| !c.is_empty())
            .map(|c| match self.version {
                CimVersion::V5 => first_token(c),
                CimVersion::V6 => last_path_component(c),
            });
        let value = derived.flatten().unwrap_or(UNKNOWN).to_owned();
        event.set(name, value);
    }
}

fn lowercase_integrity_level(event: &mut CimEvent<'_>) {
    let field = Field::ProcessIntegrityLevel;
    if !event
        .values(field)
        .any(|v| v.chars().any(char::is_uppercase))
    {
        return;
    }
    if !event.is_multivalued(field) {
        if let Some(v) = event.get(field) {
            let lowered = lowercase_level(v);
            event.set(field, lowered);
        }
        return;
    }
    let lowered: Vec<Cow<'static, str>> = event.values(field).map(lowercase_level).collect();
    event.clear(field);
    for v in lowered {
        event.push(field, v);
    }
}

/// An integrity level lowercased; the levels Windows writes need no allocation.
fn lowercase_level(v: &str) -> Cow<'static, str> {
    const LEVELS: [&str; 6] = ["untrusted", "low", "medium", "high", "system", "protected"];
    match LEVELS.iter().find(|l| l.eq_ignore_ascii_case(v)) {
        Some(level) => Cow::Borrowed(*level),
        None => Cow::Owned(v.to_lowercase()),
    }
}

fn fill_unknown(event: &mut CimEvent<'_>, field: Field) {
    if event.is_null_or_empty(field) {
        event.set(field, UNKNOWN);
    }
}

fn fill_vendor_product(event: &mut CimEvent<'_>) {
    if event.is_null_or_empty(Field::VendorProduct) {
        let value: Cow<'_, str> = match event.get(Field::Sourcetype) {
            Some(st) if !st.is_empty() => Cow::Owned(st.to_owned()),
            _ => Cow::Borrowed(UNKNOWN),
        };
        event.set(Field::VendorProduct, value);
    }
}

/// CIM 5.x: the first whitespace-delimited token after leading whitespace, quotes included.
fn first_token(command: &str) -> Option<&str> {
    command.split_whitespace().next()
}

/// CIM 6.x: the expression's two regular expressions, applied in turn (spec 5.2).
fn last_path_component(command: &str) -> Option<&str> {
    static QUOTED: OnceLock<Regex> = OnceLock::new();
    static BARE: OnceLock<Regex> = OnceLock::new();
    let quoted = QUOTED.get_or_init(|| Regex::new(r#"^\s*".*\\([^"]+)""#).expect("valid regex"));
    let bare = BARE.get_or_init(|| Regex::new(r#"^(?:.*\\)?([^\s"]+)(?:\s|$)"#).expect("valid"));
    quoted
        .captures(command)
        .or_else(|| bare.captures(command))
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(pairs: &[(Field, &'static str)]) -> CimEvent<'static> {
        let mut e = CimEvent::new();
        for &(f, v) in pairs {
            e.push(f, v);
        }
        e
    }

    #[test]
    fn null_and_empty_become_unknown() {
        let mut e = event(&[(Field::User, ""), (Field::ProcessId, "")]);
        DataModel::default().apply(&mut e);
        for f in [
            Field::Dest,
            Field::User,
            Field::Process,
            Field::ProcessName,
            Field::ParentProcess,
            Field::ParentProcessName,
            Field::OriginalFileName,
            Field::ParentUser,
            Field::LoadedFile,
        ] {
            assert_eq!(e.get(f), Some("unknown"), "{f}");
        }
        // Ids have no calculation: they stay as they were.
        assert_eq!(e.get(Field::ProcessId), Some(""));
        assert_eq!(e.get(Field::ParentProcessId), None);
        assert_eq!(e.get(Field::VendorProduct), Some("unknown"));
    }

    #[test]
    fn cim5_has_no_parent_user_calculation() {
        let mut e = CimEvent::new();
        DataModel::new(CimVersion::V5).apply(&mut e);
        assert_eq!(e.get(Field::ParentUser), None);
        assert_eq!(e.get(Field::LoadedFile), None);
    }

    #[test]
    fn integrity_level_is_lowercased_cv31() {
        let mut e = event(&[(Field::ProcessIntegrityLevel, "High")]);
        DataModel::default().apply(&mut e);
        assert_eq!(e.get(Field::ProcessIntegrityLevel), Some("high"));
    }

    #[test]
    fn unusual_and_multiple_integrity_levels_are_lowercased_too() {
        let mut e = event(&[(Field::ProcessIntegrityLevel, "ÉLEVÉ")]);
        DataModel::default().apply(&mut e);
        assert_eq!(e.get(Field::ProcessIntegrityLevel), Some("élevé"));
        let mut e = event(&[(Field::ProcessIntegrityLevel, "System")]);
        e.push(Field::ProcessIntegrityLevel, "Mandatory Label\\X");
        DataModel::default().apply(&mut e);
        let values: Vec<&str> = e.values(Field::ProcessIntegrityLevel).collect();
        assert_eq!(values, ["system", "mandatory label\\x"]);
    }

    #[test]
    fn process_name_fallback_differs_between_versions_cv30() {
        let cmd = r#""C:\Windows\System32\msiexec.exe" /i http://x.example/a.msi"#;
        let mut v5 = event(&[(Field::Process, cmd)]);
        DataModel::new(CimVersion::V5).apply(&mut v5);
        assert_eq!(
            v5.get(Field::ProcessName),
            Some(r#""C:\Windows\System32\msiexec.exe""#)
        );
        let mut v6 = event(&[(Field::Process, cmd)]);
        DataModel::new(CimVersion::V6).apply(&mut v6);
        assert_eq!(v6.get(Field::ProcessName), Some("msiexec.exe"));
        assert_eq!(v6.get(Field::OriginalFileName), Some("unknown"));
    }

    #[test]
    fn cim6_fallback_quirks() {
        assert_eq!(
            last_path_component(r#""C:\a\b.exe" /i "C:\x\y.msi""#),
            Some("y.msi")
        );
        assert_eq!(
            last_path_component("msiexec.exe /i http://x"),
            Some("msiexec.exe")
        );
        assert_eq!(
            last_path_component("msiexec /i C:\\temp\\a.msi"),
            Some("a.msi")
        );
        assert_eq!(last_path_component("   msiexec /i"), None);
        assert_eq!(first_token("  cmd.exe /c x"), Some("cmd.exe"));
    }

    #[test]
    fn present_values_are_kept() {
        let mut e = event(&[(Field::ProcessName, "MsiExec.exe"), (Field::Process, "a b")]);
        DataModel::default().apply(&mut e);
        assert_eq!(e.get(Field::ProcessName), Some("MsiExec.exe"));
        assert_eq!(e.get(Field::Process), Some("a b"));
    }
}
