//! Raw searches as Splunk runs them (ISSUE item 2): the ESCU channel macros expand and select
//! the events of their channel — through `source=`, `sourcetype=`, the add-ons' event types and
//! `Channel=` — and real detections' filters select, over the shared corpus, exactly the events
//! an independent reading of the same conditions selects.

mod model_support;

use std::sync::Arc;

use cimhunt_content::{ContentOptions, ContentSet};
use cimhunt_decode::{WinEvent, decode_xml};
use cimhunt_engine::Meta;
use cimhunt_model::{Decoded, Model, Want};
use cimhunt_spl::search::Expr;
use cimhunt_spl::{MacroSet, Source, analyze};
use model_support::*;

fn escu_macros() -> MacroSet {
    let content = shared().join("content/security_content");
    ContentSet::load(&ContentOptions {
        content_dir: Some(content),
        ..ContentOptions::default()
    })
    .expect("ESCU macros load")
    .macros
}

/// The filter a raw search starts with.
fn filter(model: &Model, macros: &MacroSet, search: &str) -> Expr {
    match analyze(search, macros, model).expect("expands").source {
        Ok(Source::Search(e)) => e,
        other => panic!("{search}: not a raw search: {other:?}"),
    }
}

fn event_xml(channel: &str, provider: &str, id: &str) -> String {
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='{provider}'/><EventID>{id}</EventID><Level>4</Level><TimeCreated SystemTime='2024-01-01T00:00:00.000Z'/><EventRecordID>1</EventRecordID><Channel>{channel}</Channel><Computer>h</Computer><Security/></System><EventData><Data Name='x'>y</Data></EventData></Event>"
    )
}

const CHANNELS: &[&str] = &[
    "Microsoft-Windows-Sysmon/Operational",
    "Security",
    "System",
    "Application",
    "Microsoft-Windows-PowerShell/Operational",
    "Microsoft-Windows-AppLocker/EXE and DLL",
    "Microsoft-Windows-CAPI2/Operational",
    "Microsoft-Windows-NTLM/Operational",
    "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    "Microsoft-Windows-Windows Defender/Operational",
    "Microsoft-Windows-PrintService/Operational",
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
    "Microsoft-Windows-WMI-Activity/Operational",
];

/// The channels whose events a macro selects, with the metadata cimhunt gives Windows events
/// by default (source `XmlWinEventLog:<channel>`, sourcetype `xmlwineventlog`).
fn selected(
    model: &Model,
    macros: &MacroSet,
    name: &str,
    meta: impl Fn(&str) -> Meta,
) -> Vec<&'static str> {
    let f = filter(model, macros, &format!("`{name}`"));
    let mut want = Want::default();
    want.all();
    CHANNELS
        .iter()
        .copied()
        .filter(|channel| {
            let xml = event_xml(channel, "p", "1");
            let win = decode_xml(xml.as_bytes()).unwrap();
            let m = meta(channel);
            let ev = model.event(Decoded::Windows(&win), &m, &want, Some(&xml));
            f.matches(&ev)
        })
        .collect()
}

#[test]
fn escu_channel_macros_select_their_channels() {
    let model = model();
    let macros = escu_macros();
    let default = |_: &str| Meta::default();
    for (name, expected) in [
        ("sysmon", &["Microsoft-Windows-Sysmon/Operational"][..]),
        // eventtype=wineventlog_security (the Windows add-on's event type), Channel=security
        // (values compare case-insensitively) or the source.
        ("wineventlog_security", &["Security"]),
        // Only the event type: source=XmlWinEventLog:System among its alternatives.
        ("wineventlog_system", &["System"]),
        ("wineventlog_application", &["Application"]),
        ("powershell", &["Microsoft-Windows-PowerShell/Operational"]),
        ("applocker", &["Microsoft-Windows-AppLocker/EXE and DLL"]),
        (
            "capi2_operational",
            &["Microsoft-Windows-CAPI2/Operational"],
        ),
        ("ntlm_audit", &["Microsoft-Windows-NTLM/Operational"]),
        (
            "certificateservices_lifecycle",
            &["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"],
        ),
        // ESCU's task-scheduler detections read Security 4698 and friends.
        ("wineventlog_task_scheduler", &["Security"]),
        // These name the classic (non-XML) `WinEventLog:` source or sourcetype, which an
        // XmlWinEventLog event does not have: in Splunk as here, they select nothing.
        ("ms_defender", &[]),
        ("printservice", &[]),
        ("remoteconnectionmanager", &[]),
        ("wmi", &[]),
    ] {
        assert_eq!(
            selected(&model, &macros, name, default),
            expected,
            "`{name}`"
        );
    }
    // Replayed with ESCU's own metadata (data_sources/windows_event_log_defender_*.yml), the
    // Defender macro selects its channel.
    let replayed = |channel: &str| Meta {
        source: Some(format!("WinEventLog:{channel}").into()),
        sourcetype: Some("xmlwineventlog".into()),
        ..Meta::default()
    };
    assert_eq!(
        selected(&model, &macros, "ms_defender", replayed),
        ["Microsoft-Windows-Windows Defender/Operational"]
    );
    assert_eq!(
        selected(&model, &macros, "remoteconnectionmanager", replayed),
        ["Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational"]
    );
}

/// An independent reading of a detection's conditions on the decoded event.
struct Independent {
    detection: &'static str,
    predicate: fn(&WinEvent<'_>) -> bool,
}

fn channel_is(w: &WinEvent<'_>, c: &str) -> bool {
    w.channel().is_some_and(|ch| ch.eq_ignore_ascii_case(c))
}

fn id_is(w: &WinEvent<'_>, ids: &[&str]) -> bool {
    w.event_id().is_some_and(|i| ids.contains(&i))
}

fn data(w: &WinEvent<'_>, name: &str) -> Option<String> {
    w.data(name).filter(|v| !v.is_empty()).map(str::to_owned)
}

const CHECKS: &[Independent] = &[
    Independent {
        detection: "Windows Event Log Cleared",
        predicate: |w| {
            (channel_is(w, "Security") && id_is(w, &["1102"]))
                || (channel_is(w, "System") && id_is(w, &["104"]))
        },
    },
    Independent {
        detection: "Detect Mimikatz With PowerShell Script Block Logging",
        predicate: |w| {
            channel_is(w, "Microsoft-Windows-PowerShell/Operational")
                && id_is(w, &["4104"])
                && data(w, "ScriptBlockText").is_some_and(|t| {
                    let t = t.to_lowercase();
                    [
                        "mimikatz",
                        "-dumpcr",
                        "sekurlsa::pth",
                        "kerberos::ptt",
                        "kerberos::golden",
                    ]
                    .iter()
                    .any(|k| t.contains(k))
                })
        },
    },
    Independent {
        detection: "Kerberos User Enumeration",
        predicate: |w| {
            channel_is(w, "Security")
                && id_is(w, &["4768"])
                && data(w, "Status").is_some_and(|s| s.eq_ignore_ascii_case("0x6"))
                && data(w, "TargetUserName").is_some_and(|u| !u.ends_with('$'))
        },
    },
    Independent {
        detection: "Excessive Usage Of SC Service Utility",
        predicate: |w| {
            channel_is(w, "Microsoft-Windows-Sysmon/Operational")
                && id_is(w, &["1"])
                && data(w, "Image").is_some_and(|i| {
                    i.rsplit('\\')
                        .next()
                        .is_some_and(|b| b.eq_ignore_ascii_case("sc.exe"))
                })
        },
    },
    Independent {
        detection: "Suspicious Computer Account Name Change",
        predicate: |w| {
            channel_is(w, "Security")
                && id_is(w, &["4781"])
                && data(w, "OldTargetUserName").is_some_and(|u| u.ends_with('$'))
                && data(w, "NewTargetUserName").is_some_and(|u| !u.ends_with('$'))
        },
    },
    Independent {
        detection: "Windows Event For Service Disabled",
        predicate: |w| {
            channel_is(w, "System")
                && id_is(w, &["7040"])
                && w.data
                    .iter()
                    .any(|(_, v)| v.to_lowercase().contains("disabled"))
        },
    },
    Independent {
        detection: "Detect New Local Admin account",
        // `EventCode=4720 OR (EventCode=4732 Group_Name=Administrators)`: the Windows add-on
        // sets Group_Name (TargetUserName for 4732), but the specification does not give that
        // setting, so the tables do not emulate it (crates/model/tables/README.md, "Not
        // emulated") and only 4720 is selected.
        predicate: |w| channel_is(w, "Security") && id_is(w, &["4720"]),
    },
    Independent {
        detection: "Windows Drivers Loaded by Signature",
        predicate: |w| channel_is(w, "Microsoft-Windows-Sysmon/Operational") && id_is(w, &["6"]),
    },
];

#[test]
#[ignore = "needs ../shared; reads the whole EVTX corpus"]
fn detection_filters_select_what_an_independent_reading_selects() {
    let model: Arc<Model> = model();
    let content = shared().join("content/security_content");
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(content.clone()),
        detections: vec![content.join("detections/endpoint")],
        macro_files: Vec::new(),
    })
    .expect("content loads");
    let filters: Vec<(&Independent, Expr)> = CHECKS
        .iter()
        .map(|c| {
            let d = set
                .detections
                .iter()
                .find(|d| d.name == c.detection)
                .unwrap_or_else(|| panic!("no detection {}", c.detection));
            (c, filter(&model, &set.macros, &d.search))
        })
        .collect();
    let mut counts = vec![(0u64, 0u64); filters.len()];
    let mut want = Want::default();
    want.all();
    let meta = Meta::default();
    let (inputs, errors) = cimhunt_read::expand_paths(&[shared().join("corpus/evtx")]);
    assert!(errors.is_empty());
    let reader = cimhunt_read::Reader::new(cimhunt_read::ReaderOptions::default());
    let mut evtx = cimhunt_decode::EvtxChunkDecoder::new();
    for input in inputs {
        for ev in reader.read(input) {
            let cimhunt_read::ReadEvent::Batch(batch) = ev else {
                continue;
            };
            for (_, bytes) in batch.iter() {
                let mut one = |w: &WinEvent<'_>, text: Option<&str>| {
                    let e = model.event(Decoded::Windows(w), &meta, &want, text);
                    for (i, (c, f)) in filters.iter().enumerate() {
                        counts[i].0 += u64::from(f.matches(&e));
                        counts[i].1 += u64::from((c.predicate)(w));
                    }
                };
                match batch.format {
                    cimhunt_read::Format::Evtx => {
                        let _ = evtx.decode_chunk(bytes, |_, d| {
                            if let Ok(w) = d {
                                one(&w, None);
                            }
                        });
                    }
                    cimhunt_read::Format::XmlEvents => {
                        if let Ok(w) = decode_xml(bytes) {
                            one(&w, std::str::from_utf8(bytes).ok());
                        }
                    }
                    // No JSON inputs in the EVTX corpus.
                    cimhunt_read::Format::Json => {}
                }
            }
        }
    }
    for (i, (c, _)) in filters.iter().enumerate() {
        println!(
            "{}: {} by the filter, {} independently",
            c.detection, counts[i].0, counts[i].1
        );
    }
    for (i, (c, _)) in filters.iter().enumerate() {
        assert_eq!(counts[i].0, counts[i].1, "{}", c.detection);
        assert!(
            counts[i].0 > 0,
            "{} selects nothing in the corpus",
            c.detection
        );
    }
}
