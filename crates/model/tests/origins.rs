//! The prefilter's origin contract as the model declares it: which fields are raw record text
//! (and which constants they may take), per event and per dataset. The soundness of these
//! declarations over the whole detection library and corpus is proved by the engine's
//! `model_prefilter` test.

mod support;

use cimhunt_spl::Sym;
use cimhunt_spl::search::{FieldOrigin, Origins, RecordLiterals, parse_expr};
use support::*;

fn raw(constants: &[&str]) -> FieldOrigin {
    FieldOrigin::raw(constants)
}

fn event(field: &str) -> FieldOrigin {
    escu().event_origins().origin(Sym::new(field))
}

fn dataset(ds: &str, field: &str) -> FieldOrigin {
    let m = escu();
    m.dataset_origins(m.dataset(ds).unwrap())
        .origin(Sym::new(field))
}

#[test]
fn generic_fields_values_are_raw_text_but_quoted_attributes_and_blocks_are_not() {
    for f in [
        "Image",
        "CommandLine",
        "ScriptBlockText",
        "EventCode",
        "TargetObject",
        "Computer",
        "SubjectUserName",
        "QueryName",
    ] {
        assert_eq!(event(f), raw(&[]), "{f}");
    }
    for f in [
        "UserID",
        "user_id",
        "SystemTime",
        "Guid",
        "System_Props_Xml",
        "EventData_Xml",
        "_raw",
        "_time",
        "source",
        "host",
        "eventtype",
        "tag",
    ] {
        assert!(!event(f).raw_text, "{f}");
    }
}

#[test]
fn captures_inside_a_text_node_are_raw_and_others_are_not() {
    // `<Data Name='IpAddress'>(?<src_ip>[^<]+)`, `<EventRecordID>(\d+)`.
    assert_eq!(event("src_ip"), raw(&[]));
    assert_eq!(event("RecordID"), raw(&[]));
    assert_eq!(event("object_file_path"), raw(&[]));
    // `<Channel>(.*?)<\/Channel>` over the UserData block may span markup.
    assert!(!event("user_data_channel").raw_text);
    // `(.+)` over the SubjectUserName value is that text.
    assert_eq!(event("Caller_User_Name"), raw(&[]));
    // `<Data Name='Details'>\w+\s\((.+)\)</Data>` too.
    assert!(!event("RegistryValueData").raw_text);
}

#[test]
fn evals_of_raw_text_stay_raw_and_lookups_are_derived() {
    // Basenames by an anchored replace, a case over data values, the 4688 rebuilt command line.
    for f in [
        "process_name",
        "process",
        "process_path",
        "parent_process_name",
        "original_file_name",
        "registry_value_name",
        "registry_path",
    ] {
        assert_eq!(event(f), raw(&[]), "{f}");
    }
    // Written by lookups (Security `action`; CrowdStrike's aid inventory writes `dest`).
    assert!(!event("action").raw_text);
    assert!(!event("dest").raw_text);
    // The ADS strip `replace(TargetFilename,"(:[\w\. ]+)","")` can join two pieces.
    assert!(!event("file_path").raw_text);
    assert!(!event("file_name").raw_text);
}

#[test]
fn dataset_fills_become_constants() {
    for (ds, f) in [
        ("Endpoint.Processes", "process_name"),
        ("Endpoint.Processes", "process"),
        ("Endpoint.Processes", "original_file_name"),
        ("Endpoint.Processes", "parent_process_name"),
        ("Endpoint.Registry", "registry_path"),
        ("Endpoint.Registry", "registry_value_name"),
        ("Endpoint.Registry", "registry_key_name"),
        ("Network_Resolution.DNS", "query"),
    ] {
        assert_eq!(dataset(ds, f), raw(&["unknown"]), "{ds} {f}");
    }
    assert_eq!(
        dataset("Network_Traffic.All_Traffic", "dest_port"),
        raw(&["0"])
    );
    assert!(!dataset("Endpoint.Processes", "dest").raw_text);
    assert!(!dataset("Endpoint.Filesystem", "file_name").raw_text);
}

#[test]
fn the_seed_gets_a_prefilter() {
    let m = escu();
    let ds = m.dataset("Endpoint.Processes").unwrap();
    let filter = parse_expr(
        r#"(process_name=msiexec.exe OR original_file_name=msiexec.exe) process IN ("*http://*", "*https://*")"#,
    )
    .unwrap();
    let lits = RecordLiterals::of(&filter, &m.dataset_origins(ds));
    assert_eq!(
        lits.texts(),
        [vec!["msiexec.exe"], vec!["http://", "https://"]]
    );
}

/// Origins are remembered and shared between datasets (a job computes them once); what was
/// computed for another dataset, or asked in another order, never changes an answer.
#[test]
fn shared_origins_answer_as_fresh_ones() {
    let m = escu();
    let shared = m.event_origins();
    let mut checked = 0;
    for ds in m.dataset_ids() {
        let through_shared = shared.dataset(ds);
        let fresh = m.dataset_origins(ds);
        let fields = m.dataset_fields(ds);
        let shared_answers: Vec<FieldOrigin> = fields
            .iter()
            .rev()
            .map(|f| through_shared.origin(*f))
            .collect();
        for (f, answer) in fields.iter().zip(shared_answers.iter().rev()) {
            assert_eq!(*answer, fresh.origin(*f), "{f:?}");
            assert_eq!(through_shared.origin(*f), *answer, "{f:?} asked again");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}
