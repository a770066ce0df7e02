//! Loading detections: the permissive model, 5.x `rba:` blocks, the 4.x translation, and the
//! errors for files that are not detections or not YAML.

mod common;

use std::path::Path;

use cimhunt_content::{
    ContentError, Detection, RiskObjectKind, Severity, find_detection_files, load_detection,
    load_detections, parse_detection, v4_risk_score,
};
use common::{scratch, write};

/// A 5.x detection written for this test: risk comes from the `rba:` block, and its scores
/// differ from what `tags` would give.
const V5_DETECTION: &str = r#"
name: Suspicious Certutil Download
id: 00000000-0000-4000-8000-000000000001
version: 7
date: '2025-01-15'
type: Anomaly
status: production
description: Synthetic test detection.
data_source: Sysmon EventID 1
search: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=certutil.exe by Processes.dest Processes.user Processes.process_name | `suspicious_certutil_download_filter`'
rba:
  message: certutil on $dest$ run by $user$
  risk_objects:
    - field: dest
      type: system
      score: 64
    - field: user
      type: user
      score: 48
    - field: src_ip
      type: network_artifacts
      score: 10
  threat_objects:
    - field: process_name
      type: process_name
tags:
  analytic_story: [Ingress Tool Transfer]
  asset_type: Endpoint
  mitre_attack_id: [T1105]
  product: [Splunk Enterprise]
  security_domain: endpoint
  some_future_key: {nested: true}
tests:
  - name: True Positive Test
    attack_data:
      - data: https://example.invalid/certutil.log
        source: XmlWinEventLog:Microsoft-Windows-Sysmon/Operational
        sourcetype: XmlWinEventLog
        custom_index: attack
        host: WIN-TEST
        update_timestamp: true
"#;

#[test]
fn v5_rba_block_is_used_as_written() {
    let d = parse_detection(V5_DETECTION, Path::new("v5.yml")).unwrap();
    assert_eq!(d.data_source, ["Sysmon EventID 1"]);
    let rba = d.rba();
    assert_eq!(rba.message, "certutil on $dest$ run by $user$");
    let risk: Vec<_> = rba
        .risk_objects
        .iter()
        .map(|o| (o.field.as_str(), o.kind, o.score))
        .collect();
    assert_eq!(
        risk,
        [
            ("dest", RiskObjectKind::System, 64),
            ("user", RiskObjectKind::User, 48),
            ("src_ip", RiskObjectKind::Other, 10),
        ]
    );
    assert_eq!(rba.threat_objects.len(), 1);
    assert_eq!(rba.threat_objects[0].kind, "process_name");
    // 5.x: the notable's score is the highest object score.
    assert_eq!(d.risk_score(), 64);
    assert_eq!(d.severity(), Severity::High);
    let a = d.annotations();
    assert_eq!(a.mitre_tactics, ["Command and Control"]);
    assert_eq!(a.kill_chain_phases, ["Command and Control"]);
    assert_eq!(a.nist, ["DE.AE"]);
    assert_eq!((a.confidence, a.impact), (None, None));
    let data = &d.tests[0].attack_data[0];
    assert_eq!(data.custom_index.as_deref(), Some("attack"));
    assert_eq!(data.host.as_deref(), Some("WIN-TEST"));
}

#[test]
fn v4_observables_translate_like_contentctl() {
    let yaml = r#"
name: Observable Mix
search: '| tstats count from datamodel=Endpoint.Processes'
tags:
  confidence: 80
  impact: 90
  risk_score: 99
  observable:
    - {name: src_user, type: Email Address, role: [Victim]}
    - {name: dest_ip, type: IP Address, role: [Victim]}
    - {name: device, type: Device, role: [victim]}
    - {name: account, type: User Name, role: [Victim]}
    - {name: file_path, type: File Name, role: [Attacker]}
    - {name: file_hash, type: File Hash, role: [Attacker]}
    - {name: url, type: URL String, role: [Attacker]}
    - {name: src_ip, type: IP Address, role: [Attacker]}
    - {name: registry_path, type: Registry Key, role: [Attacker]}
    - {name: both, type: Hostname, role: [Victim, Attacker]}
    - {name: nobody, type: Other, role: []}
"#;
    let d = parse_detection(yaml, Path::new("mix.yml")).unwrap();
    // round(80 × 90 / 100) = 72; the declared 99 is not what contentctl uses.
    assert_eq!(d.risk_score(), 72);
    let rba = d.rba();
    let risk: Vec<_> = rba
        .risk_objects
        .iter()
        .map(|o| (o.field.as_str(), o.kind.as_str(), o.score))
        .collect();
    assert_eq!(
        risk,
        [
            ("src_user", "user", 72),
            ("dest_ip", "system", 72),
            ("device", "system", 72),
            ("account", "other", 72),
            ("both", "system", 72),
            ("nobody", "other", 72),
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
            ("file_path", "file_name"),
            ("file_hash", "file_name"),
            ("url", "url"),
            ("src_ip", "ip_address"),
            ("registry_path", "registry key"),
        ]
    );
}

#[test]
fn v4_risk_score_rounds_half_to_even_like_python() {
    assert_eq!(v4_risk_score(50, 70), 35);
    assert_eq!(v4_risk_score(50, 5), 2); // 2.5 → 2
    assert_eq!(v4_risk_score(50, 7), 4); // 3.5 → 4
    assert_eq!(v4_risk_score(64, 80), 51); // 51.2
    assert_eq!(v4_risk_score(100, 100), 100);
}

#[test]
fn declared_risk_score_is_the_fallback_without_confidence_or_impact() {
    let d = parse_detection(
        "name: n\nsearch: s\ntags:\n  risk_score: 25.0\n",
        Path::new("x.yml"),
    )
    .unwrap();
    assert_eq!(d.risk_score(), 25);
    let d = parse_detection("name: n\nsearch: s\n", Path::new("x.yml")).unwrap();
    assert_eq!(d.risk_score(), 0);
    assert_eq!(d.severity(), Severity::Informational);
}

#[test]
fn severity_boundaries() {
    let cases = [
        (0, Severity::Informational),
        (20, Severity::Informational),
        (21, Severity::Low),
        (40, Severity::Low),
        (41, Severity::Medium),
        (60, Severity::Medium),
        (61, Severity::High),
        (80, Severity::High),
        (81, Severity::Critical),
        (100, Severity::Critical),
    ];
    for (score, expected) in cases {
        assert_eq!(Severity::from_score(score), expected, "score {score}");
    }
}

#[test]
fn permissive_model_accepts_nulls_scalars_for_lists_and_unknown_keys() {
    let yaml = "
name: Loose
search: '| tstats count from datamodel=Endpoint.Processes'
description:
version: '3'
references: https://example.invalid/one
data_source:
drilldown_searches:
how_to_implement: ~
unexpected_top_level: [1, 2, 3]
tags:
  analytic_story: Single Story
  confidence: 40.0
  impact: '50'
  mitre_attack_id: T1059.001
  observable:
tests:
";
    let d = parse_detection(yaml, Path::new("loose.yml")).unwrap();
    assert_eq!(d.description, "");
    assert_eq!(d.version, Some(3));
    assert_eq!(d.references, ["https://example.invalid/one"]);
    assert!(d.data_source.is_empty());
    assert!(d.drilldown_searches.is_empty());
    assert_eq!(d.tags.analytic_story, ["Single Story"]);
    assert_eq!(d.tags.mitre_attack_id, ["T1059.001"]);
    assert_eq!(d.risk_score(), 20);
    assert!(d.tests.is_empty());
}

#[test]
fn repeated_key_keeps_the_last_value() {
    let d = parse_detection(
        "name: first\nname: second\nsearch: s\n",
        Path::new("dup.yml"),
    )
    .unwrap();
    assert_eq!(d.name, "second");
    // A file without repeated keys is read without buffering, one with them is read again
    // keeping the last value: a key repeated inside a mapping must take the second path too.
    let d = parse_detection(
        "name: n\nsearch: s\ntags:\n  analytic_story: [first]\n  analytic_story: [second]\n",
        Path::new("dup.yml"),
    )
    .unwrap();
    assert_eq!(d.tags.analytic_story, ["second"]);
}

#[test]
fn renamed_detection_file_keeps_the_filter_macro_of_its_name() {
    // contentctl derives the filter macro from `name`, so a copy under another file name
    // still finds the macro its search calls.
    let dir = scratch("renamed_detection_file_keeps_the_filter_macro_of_its_name");
    let path = write(
        &dir,
        "my_copy_of_the_rule.yml",
        "name: Something Else Entirely\nsearch: '| tstats count'\n",
    );
    let d = load_detection(&path).unwrap();
    assert_eq!(d.path.as_deref(), Some(path.as_path()));
    assert_eq!(d.filter_macro_name(), "something_else_entirely_filter");
    let without_path = Detection { path: None, ..d };
    assert_eq!(
        without_path.filter_macro_name(),
        "something_else_entirely_filter"
    );
}

#[test]
fn filter_macro_name_replaces_what_contentctl_replaces() {
    // Spaces, `-`, `.` and `/` become `_`; everything else is kept, lower-cased.
    let d = Detection {
        name: "Windows AD-Replication: O365/x.y".into(),
        ..Detection::default()
    };
    assert_eq!(
        d.filter_macro_name(),
        "windows_ad_replication:_o365_x_y_filter"
    );
}

#[test]
fn yaml_sequence_is_not_a_detection_and_names_the_file() {
    let dir = scratch("yaml_sequence_is_not_a_detection");
    let path = write(&dir, "list.yml", "- name: a\n  search: b\n");
    let err = load_detection(&path).unwrap_err();
    match &err {
        ContentError::NotADetection { path: p, reason } => {
            assert_eq!(p, &path);
            assert_eq!(*reason, cimhunt_content::NotADetection::NotAMapping);
        }
        other => panic!("expected NotADetection, got {other:?}"),
    }
    assert!(err.to_string().contains("list.yml"), "{err}");
}

#[test]
fn mapping_without_search_is_not_a_detection() {
    let dir = scratch("mapping_without_search_is_not_a_detection");
    // An ESCU macro file is a mapping with `name` but no `search`.
    let path = write(&dir, "macro.yml", "name: m\ndefinition: index=main\n");
    let err = load_detection(&path).unwrap_err();
    assert!(
        matches!(
            &err,
            ContentError::NotADetection {
                reason: cimhunt_content::NotADetection::Missing(
                    cimhunt_content::RequiredKey::Search
                ),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("macro.yml"), "{err}");
}

#[test]
fn empty_file_and_scalar_document_are_not_detections() {
    for (text, file) in [("", "empty.yml"), ("just words\n", "scalar.yml")] {
        let err = parse_detection(text, Path::new(file)).unwrap_err();
        assert!(
            matches!(err, ContentError::NotADetection { .. }),
            "{file}: {err:?}"
        );
    }
}

#[test]
fn yaml_syntax_error_names_file_line_and_column() {
    let dir = scratch("yaml_syntax_error_names_file_line_and_column");
    let path = write(
        &dir,
        "broken.yml",
        "name: Broken\nsearch: '| tstats count'\ntags:\n  confidence: 5\n    impact: 3\n",
    );
    let err = load_detection(&path).unwrap_err();
    match &err {
        ContentError::Yaml {
            path: p,
            line,
            column,
            ..
        } => {
            assert_eq!(p, &path);
            assert_eq!(*line, Some(5));
            assert!(column.is_some());
        }
        other => panic!("expected a YAML error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("broken.yml"), "{text}");
    assert!(text.contains("line 5"), "{text}");
    assert!(text.contains("column"), "{text}");
}

#[test]
fn detection_with_wrongly_shaped_value_is_a_yaml_error_not_not_a_detection() {
    let err = parse_detection(
        "name: n\nsearch: s\ntags:\n  observable: 12\n",
        Path::new("shape.yml"),
    )
    .unwrap_err();
    match err {
        ContentError::Yaml { line, .. } => assert_eq!(line, Some(4)),
        other => panic!("expected a YAML error, got {other:?}"),
    }
}

#[test]
fn find_detection_files_walks_with_the_shared_policy() {
    // The policy of the read crate's walker: name order, hidden entries included (nothing is
    // left out without a word), other extensions left out.
    let dir = scratch("find_detection_files_recurses");
    let b = write(&dir, "endpoint/b.yml", "name: b\nsearch: s\n");
    let a = write(&dir, "endpoint/a.YAML", "name: a\nsearch: s\n");
    let c = write(&dir, "cloud/c.yml", "name: c\nsearch: s\n");
    let h = write(&dir, ".hidden/h.yml", "name: h\nsearch: s\n");
    write(&dir, "endpoint/readme.md", "not yaml");
    let files = find_detection_files(&dir).unwrap();
    assert_eq!(files, [h, c, a.clone(), b]);
    assert_eq!(find_detection_files(&a).unwrap(), [a]);
}

#[test]
fn load_detections_collects_failures_beside_the_detections() {
    let dir = scratch("load_detections_collects_failures");
    write(&dir, "good.yml", "name: good\nsearch: s\n");
    write(&dir, "notes.yml", "- just\n- a list\n");
    write(&dir, "bad.yml", "name: [\n");
    let (found, failed) = load_detections(&dir).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "good");
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .any(|e| matches!(e, ContentError::Yaml { .. }))
    );
    assert!(
        failed
            .iter()
            .any(|e| matches!(e, ContentError::NotADetection { .. }))
    );
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = load_detection(Path::new("no/such/detection.yml")).unwrap_err();
    assert!(matches!(err, ContentError::Io { .. }));
    assert!(err.to_string().contains("no/such/detection.yml"), "{err}");
}
