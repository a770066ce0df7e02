//! ESCU's library against the compiler: every Windows endpoint detection
//! (`cimhunt_content::is_windows_endpoint`) compiles against the ESCU data model and ESCU's
//! lookups, except a pinned list (so a regression, or a newly supported construct, shows);
//! every `Endpoint.Processes` detection compiles its `tstats`. Needs the shared reference
//! material (run with `--ignored`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cimhunt_content::{ContentOptions, ContentSet, is_windows_endpoint};
use cimhunt_model::Model;
use cimhunt_spl::{Analysis, Source, SplError, WithLookups, analyze};

/// `$CIMHUNT_SHARED`, else `<workspace root>/../shared`; panics when it is missing.
fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.join("content/security_content").is_dir(),
        "the shared reference material is missing: {} has no content/security_content \
         (set CIMHUNT_SHARED or place it at ../shared next to the workspace)",
        dir.display()
    );
    dir
}

struct Library {
    content: PathBuf,
    set: ContentSet,
    model: Arc<Model>,
}

fn library() -> Library {
    let content = shared_dir().join("content/security_content");
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(content.clone()),
        detections: vec![content.join("detections")],
        ..ContentOptions::default()
    })
    .expect("the content loads");
    assert!(set.skipped.is_empty(), "{:?}", set.skipped);
    assert!(set.lookup_problems.is_empty(), "{:?}", set.lookup_problems);
    Library {
        content,
        set,
        model: Arc::new(Model::escu().expect("the ESCU profile")),
    }
}

fn reason(outcome: &Result<Analysis, SplError>) -> Option<String> {
    let e = match outcome {
        Ok(a) => a.errors().next()?.clone(),
        Err(e) => e.clone(),
    };
    Some(match e.unsupported_label() {
        Some(l) => l.to_owned(),
        None => e.message().to_owned(),
    })
}

/// The Windows endpoint detections that do not compile, and why. Every other one compiles end
/// to end. (`Change` is not among the data models the specification defines, so the tables
/// written from it have no such dataset.)
const NOT_RUNNING: &[&str] = &[
    "Detect Critical Alerts from Security Tools: datamodel `Alerts`",
    "Detect Remote Access Software Usage File: needs app `Splunk Enterprise Security`: lookup `asset_lookup_by_str`",
    "Detect Remote Access Software Usage FileInfo: needs app `Splunk Enterprise Security`: lookup `asset_lookup_by_str`",
    "Detect Remote Access Software Usage Process: needs app `Splunk Enterprise Security`: lookup `asset_lookup_by_str`",
    "Detect suspicious processnames using pretrained model in DSDL: needs app `Splunk Machine Learning Toolkit`: command `apply`",
    "First Time Seen Child Process of Zoom: expected `)` closing the function call (in the expansion of `previously_seen_zoom_child_processes_window`)",
    "Potentially malicious code on commandline: needs app `Splunk Machine Learning Toolkit`: command `apply`",
    "Randomly Generated Scheduled Task Name: needs app `URL Toolbox`: lookup `ut_shannon_lookup`",
    "Randomly Generated Windows Service Name: needs app `URL Toolbox`: lookup `ut_shannon_lookup`",
    "Short Lived Windows Accounts: datamodel `Change`",
    "Unusually Long Command Line - MLTK: needs app `Splunk Machine Learning Toolkit`: command `apply`",
    "Windows AD DSRM Password Reset: datamodel `Change`",
    "Windows AD Privileged Account SID History Addition: needs app `Splunk Enterprise Security`: lookup `identity_lookup_expanded`",
];

#[test]
#[ignore = "needs ../shared"]
fn every_windows_endpoint_detection_compiles_but_the_pinned_ones() {
    let lib = library();
    let catalog = WithLookups::new(lib.model.as_ref(), &lib.set.lookups);
    let mut total = 0;
    let mut not_running = Vec::new();
    for d in &lib.set.detections {
        if !is_windows_endpoint(d, &lib.content) {
            continue;
        }
        total += 1;
        if let Some(why) = reason(&analyze(&d.search, &lib.set.macros, &catalog)) {
            not_running.push(format!("{}: {why}", d.name));
        }
    }
    not_running.sort();
    assert_eq!(
        not_running, NOT_RUNNING,
        "{} Windows endpoint detections",
        total
    );
    // The count the coverage report gives (see `cimhunt_content::is_windows_endpoint`).
    assert_eq!(total, 996);
}

#[test]
#[ignore = "needs ../shared"]
fn every_endpoint_processes_detection_compiles_its_tstats() {
    let lib = library();
    let catalog = WithLookups::new(lib.model.as_ref(), &lib.set.lookups);
    let mut total = 0;
    for d in &lib.set.detections {
        if !(d.search.contains("tstats") && d.search.contains("datamodel=Endpoint.Processes")) {
            continue;
        }
        let a = analyze(&d.search, &lib.set.macros, &catalog)
            .unwrap_or_else(|e| panic!("{}: {e}", d.name));
        if d.search.trim_start().starts_with('|') {
            total += 1;
            assert!(
                matches!(&a.source, Ok(Source::Tstats(t)) if t.dataset.starts_with("Endpoint.")),
                "{}: {:?}",
                d.name,
                a.source.as_ref().err()
            );
        }
    }
    assert!(total > 500, "{total}");
}

#[test]
#[ignore = "needs ../shared"]
fn escu_lookups_load_with_their_settings() {
    let lib = library();
    let l = &lib.set.lookups;
    let t = l.get("remote_access_software").expect("a WILDCARD table");
    // `remote_utility` is WILDCARD and case-insensitive, at most one match, default `false`.
    let col = t.column("remote_utility").unwrap();
    let out = t.column("isutility").unwrap();
    assert_eq!(
        t.find(&[(col, "ANYDESK.EXE")], &[out]),
        Some(vec![vec!["TRUE".to_owned()]])
    );
    assert_eq!(
        t.find(&[(col, "notepad.exe")], &[out]),
        Some(vec![vec!["false".to_owned()]])
    );
    // A KV store collection is an empty table with its fields.
    let kv = l.get("previously_seen_running_windows_services").unwrap();
    assert!(kv.is_empty());
    assert!(kv.column("firstTimeSeen").is_some());
    // A table is also found by its file name.
    assert!(l.get("linux_tool_discovery_process.csv").is_some());
}
