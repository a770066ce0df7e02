//! Checks against the real ESCU content in ../shared (ignored by default; CI runs them with
//! `--ignored`). They pin the embedded default to the real detection and macros and check
//! that the whole ESCU set loads.

mod common;

use std::collections::BTreeSet;

use cimhunt_content::{
    ContentOptions, ContentSet, Detection, embedded_default, embedded_macros, load_detection,
    load_detections, load_macro_yaml, load_macros_dir, tactics_for,
};

fn real_seed() -> Detection {
    let path =
        common::security_content().join("detections/endpoint/windows_msiexec_remote_download.yml");
    load_detection(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
#[ignore = "needs ../shared"]
fn embedded_default_equals_the_escu_detection() {
    let real = real_seed();
    let (ours, _) = embedded_default();
    assert_eq!(ours.name, real.name);
    assert_eq!(ours.id, real.id);
    assert_eq!(ours.version, real.version);
    assert_eq!(ours.date, real.date);
    assert_eq!(ours.kind, real.kind);
    assert_eq!(ours.status, real.status);
    assert_eq!(ours.data_source, real.data_source);
    assert_eq!(ours.search, real.search, "the search is the contract");
    let (t, r) = (&ours.tags, &real.tags);
    assert_eq!(t.message, r.message);
    assert_eq!(t.confidence, r.confidence);
    assert_eq!(t.impact, r.impact);
    assert_eq!(t.risk_score, r.risk_score);
    assert_eq!(t.mitre_attack_id, r.mitre_attack_id);
    assert_eq!(t.observable, r.observable);
    assert_eq!(t.analytic_story, r.analytic_story);
    assert_eq!(t.asset_type, r.asset_type);
    assert_eq!(t.security_domain, r.security_domain);
    assert_eq!(t.product, r.product);
    assert_eq!(ours.tests, real.tests);
    // And so everything derived from them.
    assert_eq!(ours.rba(), real.rba());
    assert_eq!(ours.annotations(), real.annotations());
    assert_eq!(ours.filter_macro_name(), real.filter_macro_name());
}

#[test]
#[ignore = "needs ../shared"]
fn embedded_macros_equal_the_escu_macros() {
    let dir = common::security_content().join("macros");
    for ours in embedded_macros() {
        let path = dir.join(format!("{}.yml", ours.name));
        let real = load_macro_yaml(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(real.len(), 1, "{}", path.display());
        assert_eq!(ours.name, real[0].name);
        assert_eq!(ours.args, real[0].args, "{}", ours.name);
        assert_eq!(ours.definition, real[0].definition, "{}", ours.name);
    }
}

#[test]
#[ignore = "needs ../shared"]
fn all_escu_detections_load() {
    let dir = common::security_content().join("detections");
    let (detections, failures) = load_detections(&dir).unwrap_or_else(|e| panic!("{e}"));
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(
        failures.is_empty(),
        "{} of {} detection files failed:\n{}",
        failures.len(),
        detections.len() + failures.len(),
        report.join("\n")
    );
    assert_eq!(detections.len(), 1711, "ESCU detection count changed");
    for d in &detections {
        assert!(!d.id.is_empty(), "{:?} has no id", d.path);
        assert!(d.path.is_some());
    }
    // Informational: where the declared tags.risk_score differs from what contentctl computes.
    let differing: Vec<String> = detections
        .iter()
        .filter(|d| {
            d.tags
                .risk_score
                .is_some_and(|s| s != f64::from(d.risk_score()))
        })
        .map(|d| {
            format!(
                "{} (declared {:?}, computed {})",
                d.name,
                d.tags.risk_score,
                d.risk_score()
            )
        })
        .collect();
    eprintln!(
        "{} detections declare a risk_score contentctl does not use: {differing:#?}",
        differing.len()
    );
}

#[test]
#[ignore = "needs ../shared"]
fn all_escu_macros_load() {
    let dir = common::security_content().join("macros");
    let macros = load_macros_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let files = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "yml"))
        .count();
    assert_eq!(macros.len(), files, "one macro per ESCU macro file");
    assert!(macros.iter().all(|m| !m.name.is_empty()));
    let ctime = macros
        .iter()
        .find(|m| m.name == "security_content_ctime")
        .expect("security_content_ctime");
    assert_eq!(ctime.args, ["field"]);
}

#[test]
#[ignore = "needs ../shared"]
fn attack_table_covers_every_referenced_technique() {
    let dir = common::security_content().join("detections");
    let (detections, _) = load_detections(&dir).unwrap_or_else(|e| panic!("{e}"));
    let referenced: BTreeSet<&str> = detections
        .iter()
        .flat_map(|d| d.tags.mitre_attack_id.iter().map(String::as_str))
        .collect();
    assert!(referenced.len() > 100, "suspiciously few technique ids");
    let missing: Vec<&str> = referenced
        .iter()
        .copied()
        .filter(|id| tactics_for(id).is_none())
        .collect();
    assert!(missing.is_empty(), "no tactics for: {missing:?}");
}

#[test]
#[ignore = "needs ../shared"]
fn content_checkout_loads_as_a_content_set() {
    let content = common::security_content();
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(content.clone()),
        detections: vec![content.join("detections")],
        ..ContentOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.detections.len(), 1711);
    assert!(set.skipped.is_empty());
    let seed = set
        .detections
        .iter()
        .find(|d| d.id == "6aa49ff2-3c92-4586-83e0-d83eb693dfda")
        .expect("seed detection");
    assert_eq!(
        seed.filter_macro_name(),
        "windows_msiexec_remote_download_filter"
    );
    let base64 = set.macros.get("base64decode", 1).expect("base64decode(1)");
    assert!(
        base64.origin.ends_with("base64decode.yml"),
        "{}",
        base64.origin
    );
}
