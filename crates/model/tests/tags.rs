//! The `tag` and `eventtype` fields: every event type's tags and every `[field=value]` tag,
//! each name once, sorted.

mod support;

use std::path::{Path, PathBuf};

use cimhunt_model::Model;
use cimhunt_model::tables::Profile;
use support::*;

/// The default profile's layers with one more on top, holding `tags_conf`.
fn model_with_tags(tags_conf: &str) -> Model {
    let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("tables");
    let extra = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tags-layer");
    std::fs::create_dir_all(&extra).expect("a layer directory");
    std::fs::write(extra.join("tags.conf"), tags_conf).expect("tags.conf written");
    let mut layers: Vec<PathBuf> = ["windows-8.8.0", "sysmon-4.0.0", "crowdstrike", "cim-5.2.0"]
        .iter()
        .map(|l| tables.join(l))
        .collect();
    layers.push(extra);
    let profile = Profile::from_layers("escu-plus-tags", &layers).expect("profile loads");
    Model::new(&profile).expect("compiles")
}

/// Regression for the change that made tags borrowed and collected in a sorted `Vec`: a tag
/// given by two event types, or by an event type and a field value, is listed once, and the
/// list stays in name order.
#[test]
fn a_tag_given_twice_is_listed_once_and_tags_stay_sorted() {
    let model = model_with_tags(
        "[eventtype=wineventlog_windows]\nreport = enabled\n\n\
         [EventCode=4688]\nos = enabled\nzeta = enabled\naudit = enabled\n",
    );
    let xml = xml_event(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        "4688",
        &[("NewProcessName", r"C:\Windows\System32\cmd.exe")],
    );
    let meta = meta("XmlWinEventLog:Security", "xmlwineventlog");
    assert_eq!(
        field(&model, &xml, &meta, "tag"),
        ["audit", "os", "process", "report", "windows", "zeta"]
    );
    assert_eq!(
        field(&model, &xml, &meta, "eventtype"),
        [
            "windows_endpoint_processes",
            "wineventlog_security",
            "wineventlog_windows"
        ]
    );
    // Without the extra layer the same event has only its event types' tags.
    assert_eq!(
        field(escu(), &xml, &meta, "tag"),
        ["os", "process", "report", "windows"]
    );
}
