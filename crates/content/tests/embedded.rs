//! The built-in default detection: it parses, and what contentctl would derive from it matches
//! the spec's expectations (CV-32, sections 0 and 7).

use cimhunt_content::{
    ContentSet, EMBEDDED_ORIGIN, GENERATED_FILTER_ORIGIN, RiskObjectKind, Severity,
    embedded_default, embedded_macros,
};

#[test]
fn embedded_default_parses() {
    let (d, macros) = embedded_default();
    assert_eq!(d.name, "Windows MSIExec Remote Download");
    assert_eq!(d.id, "6aa49ff2-3c92-4586-83e0-d83eb693dfda");
    assert_eq!(d.version, Some(4));
    assert_eq!(d.kind, "TTP");
    assert!(
        d.search
            .starts_with("| tstats `security_content_summariesonly` count")
    );
    assert!(d.path.is_none());
    // Six ESCU macros, the generated filter macro and the CIM built-in drop_dm_object_name.
    assert_eq!(macros.len(), 8);
    assert!(macros.get("drop_dm_object_name", 1).is_some());
}

#[test]
fn embedded_macros_parse() {
    let macros = embedded_macros();
    assert_eq!(macros.len(), 6);
    assert!(macros.iter().all(|m| m.origin == EMBEDDED_ORIGIN));
}

#[test]
fn embedded_macro_definitions_match_spec_section_0() {
    let (_, macros) = embedded_default();
    let def = |name: &str, arity: usize| {
        macros
            .get(name, arity)
            .unwrap_or_else(|| panic!("macro {name}({arity}) missing"))
            .definition
            .clone()
    };
    assert_eq!(
        def("process_msiexec", 0),
        "(Processes.process_name=msiexec.exe OR Processes.original_file_name=msiexec.exe)"
    );
    assert_eq!(
        def("security_content_summariesonly", 0),
        "summariesonly=`summariesonly_config` allow_old_summaries=`oldsummaries_config` \
         fillnull_value=`fillnull_config`"
    );
    assert_eq!(def("summariesonly_config", 0), "false");
    assert_eq!(def("oldsummaries_config", 0), "true");
    assert_eq!(def("fillnull_config", 0), "null");
    assert_eq!(
        def("security_content_ctime", 1),
        r#"convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)"#
    );
    assert_eq!(
        macros
            .get("security_content_ctime", 1)
            .map(|m| m.args.clone()),
        Some(vec!["field".to_owned()])
    );
    let filter = macros
        .get("windows_msiexec_remote_download_filter", 0)
        .expect("generated filter macro");
    assert_eq!(filter.definition, "search *");
    assert_eq!(filter.origin, GENERATED_FILTER_ORIGIN);
}

#[test]
fn embedded_default_risk_configuration_matches_cv32() {
    let (d, _) = embedded_default();
    assert_eq!(d.risk_score(), 35);
    let rba = d.rba();
    assert_eq!(
        rba.message,
        "An instance of $parent_process_name$ spawning $process_name$ was identified on endpoint \
         $dest$ by user $user$ attempting to download a remote file."
    );
    let risk: Vec<_> = rba
        .risk_objects
        .iter()
        .map(|o| (o.field.as_str(), o.kind, o.score))
        .collect();
    assert_eq!(
        risk,
        [
            ("user", RiskObjectKind::User, 35),
            ("dest", RiskObjectKind::System, 35)
        ]
    );
    let threat: Vec<_> = rba
        .threat_objects
        .iter()
        .map(|o| (o.field.as_str(), o.kind.as_str()))
        .collect();
    assert_eq!(
        threat,
        [
            ("parent_process_name", "process"),
            ("process_name", "process")
        ]
    );
}

#[test]
fn embedded_default_annotations_match_cv32() {
    let (d, _) = embedded_default();
    let a = d.annotations();
    assert_eq!(a.mitre_attack, ["T1218.007"]);
    assert_eq!(a.mitre_tactics, ["Defense Evasion"]);
    assert_eq!(a.kill_chain_phases, ["Exploitation"]);
    assert_eq!(a.cis20, ["CIS 10"]);
    assert_eq!(a.nist, ["DE.CM"]);
    assert_eq!(
        a.analytic_story,
        ["Windows System Binary Proxy Execution MSIExec"]
    );
    assert_eq!((a.confidence, a.impact), (Some(50), Some(70)));
    assert_eq!(a.kind, "TTP");
}

#[test]
fn embedded_default_search_name_and_severity_match_cv32() {
    let (d, _) = embedded_default();
    assert_eq!(
        d.search_name(),
        "ESCU - Windows MSIExec Remote Download - Rule"
    );
    assert_eq!(d.severity(), Severity::Low);
    assert_eq!(d.severity().as_str(), "low");
    assert_eq!(
        d.filter_macro_name(),
        "windows_msiexec_remote_download_filter"
    );
}

#[test]
fn embedded_default_keeps_its_test_attack_data() {
    let (d, _) = embedded_default();
    assert_eq!(d.tests.len(), 1);
    let data = &d.tests[0].attack_data;
    assert_eq!(data.len(), 1);
    assert!(
        data[0]
            .data
            .ends_with("/T1218.007/atomic_red_team/windows-sysmon.log")
    );
    assert_eq!(
        data[0].source,
        "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
    );
    assert_eq!(data[0].sourcetype, "xmlwineventlog");
}

#[test]
fn embedded_content_set_has_the_default_and_its_macros() {
    let set = ContentSet::embedded();
    assert_eq!(set.detections.len(), 1);
    assert!(set.skipped.is_empty());
    for (name, arity) in [
        ("process_msiexec", 0),
        ("security_content_summariesonly", 0),
        ("security_content_ctime", 1),
        ("windows_msiexec_remote_download_filter", 0),
    ] {
        assert!(set.macros.get(name, arity).is_some(), "{name}({arity})");
    }
}
