//! Which ESCU detections are "Windows endpoint detections": the library cimhunt aims to run
//! whole (the issue on the rest of ESCU's SPL counts its coverage over them).
//!
//! A detection is one when
//! 1. its file is under `detections/endpoint/` of the content checkout and its `status` is not
//!    `deprecated`; and
//! 2. it reads Windows telemetry: one of its `data_source` names is a Windows source (it starts
//!    with `Windows`, `Sysmon EventID`, `Powershell`/`PowerShell` or `NTLM`, or is `CrowdStrike
//!    ProcessRollup2`), or its search starts with one of the Windows event macros
//!    ([`WINDOWS_MACROS`]: `sysmon`, `wineventlog_security`, `powershell`, …); and
//! 3. it does not read Linux or macOS telemetry only: a detection whose data sources are all
//!    Linux or macOS ones (`Sysmon for Linux …`, `Linux …`, `osquery`, `MacOS …`) is not one,
//!    even over `Endpoint.*`.
//!
//! A `tstats` over `Endpoint.*` with no data source at all counts when nothing in it says Linux
//! or macOS (its name does not mention them).

use std::path::Path;

use crate::detection::Detection;

/// The macros that open searches over Windows event logs in ESCU (each expands to a source or
/// sourcetype constraint on a Windows channel).
pub const WINDOWS_MACROS: &[&str] = &[
    "sysmon",
    "wineventlog_security",
    "wineventlog_system",
    "wineventlog_application",
    "wineventlog_task_scheduler",
    "powershell",
    "ms_defender",
    "ntlm_audit",
    "applocker",
    "printservice",
    "admon",
    "capi2_operational",
    "wmi",
    "exchange",
    "msexchange_management",
    "bootloader_inventory",
    "driverinventory",
    "certificateservices_lifecycle",
    "iis_get_webglobalmodule",
    "iis_operational_logs",
    "remoteconnectionmanager",
    "subjectinterfacepackage",
];

/// The first back-tick macro a search starts with (after `(` and white space), if any.
pub fn leading_macro(search: &str) -> Option<&str> {
    let s = search
        .trim_start()
        .trim_start_matches(['(', ' ', '\t', '\n']);
    let rest = s.strip_prefix('`')?;
    let end = rest.find(['`', '('])?;
    Some(&rest[..end])
}

fn windows_source(name: &str) -> bool {
    [
        "Windows",
        "Sysmon EventID",
        "Powershell",
        "PowerShell",
        "NTLM",
    ]
    .iter()
    .any(|p| name.starts_with(p))
        || name == "CrowdStrike ProcessRollup2"
}

fn other_os_source(name: &str) -> bool {
    ["Sysmon for Linux", "Linux", "osquery", "MacOS", "macOS"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Whether `d` (loaded from under `content`) is a Windows endpoint detection (see the module
/// documentation).
pub fn is_windows_endpoint(d: &Detection, content: &Path) -> bool {
    let Some(path) = &d.path else { return false };
    let under = path
        .strip_prefix(content)
        .map(|p| p.starts_with("detections/endpoint"))
        .unwrap_or(false);
    if !under || d.status.eq_ignore_ascii_case("deprecated") {
        return false;
    }
    let sources = &d.data_source;
    if !sources.is_empty() && sources.iter().all(|s| other_os_source(s)) {
        return false;
    }
    if sources.iter().any(|s| windows_source(s)) {
        return true;
    }
    if leading_macro(&d.search).is_some_and(|m| WINDOWS_MACROS.contains(&m)) {
        return true;
    }
    let name = d.name.to_ascii_lowercase();
    sources.is_empty()
        && d.search.contains("datamodel=Endpoint.")
        && !["linux", "macos", "osx"].iter().any(|w| name.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(path: &str, sources: &[&str], search: &str) -> Detection {
        Detection {
            name: "x".into(),
            search: search.into(),
            data_source: sources.iter().map(|s| s.to_string()).collect(),
            path: Some(Path::new("/c").join(path)),
            ..Detection::default()
        }
    }

    #[test]
    fn windows_sources_or_macros_under_endpoint_count() {
        let c = Path::new("/c");
        assert!(is_windows_endpoint(
            &det(
                "detections/endpoint/a.yml",
                &["Sysmon EventID 1"],
                "| tstats count"
            ),
            c
        ));
        assert!(is_windows_endpoint(
            &det(
                "detections/endpoint/a.yml",
                &[],
                "`wineventlog_security` EventCode=1"
            ),
            c
        ));
        assert!(!is_windows_endpoint(
            &det(
                "detections/endpoint/a.yml",
                &["Sysmon for Linux EventID 1"],
                "| tstats"
            ),
            c
        ));
        assert!(!is_windows_endpoint(
            &det(
                "detections/network/a.yml",
                &["Sysmon EventID 1"],
                "| tstats"
            ),
            c
        ));
        assert_eq!(leading_macro(" (`sysmon` EventCode=1)"), Some("sysmon"));
        assert_eq!(
            leading_macro("`drop_dm_object_name(x)`"),
            Some("drop_dm_object_name")
        );
        assert_eq!(leading_macro("| tstats"), None);
    }
}
