//! The Windows add-on's generic XML extraction (ADDON_FIELDS.md §1.3) and the metadata every
//! Windows event gets, whatever its channel: what `events --raw` shows before any channel's
//! stanza adds to it.

mod support;

use support::*;

const SECURITY: &str = "XmlWinEventLog:Security";

fn security_meta() -> cimhunt_model::Meta {
    meta(SECURITY, "xmlwineventlog")
}

fn get<'f>(f: &'f Fields, name: &str) -> Vec<&'f str> {
    f.get(name)
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn s1_3_system_attributes_keep_their_quotes_and_children_give_their_text() {
    let xml = sysmon("1", &[("ProcessId", "2296"), ("Image", r"C:\a.exe")]);
    let f = raw_fields(escu(), &xml, &sysmon_meta());
    assert_eq!(get(&f, "UserID"), ["'S-1-5-18'"]);
    assert_eq!(get(&f, "user_id"), ["'S-1-5-18'"]);
    assert_eq!(get(&f, "SystemTime"), ["'2020-10-08T11:03:46.617920300Z'"]);
    assert_eq!(get(&f, "Name"), ["'Microsoft-Windows-Sysmon'"]);
    assert_eq!(
        get(&f, "Guid"),
        ["'{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'"]
    );
    // Field names are case-sensitive: the writer's ProcessID and the event's ProcessId.
    assert_eq!(get(&f, "ProcessID"), ["'2912'"]);
    assert_eq!(get(&f, "ProcessId"), ["2296"]);
    assert_eq!(get(&f, "ThreadID"), ["'3424'"]);
    for (name, value) in [
        ("EventID", "1"),
        ("Version", "2"),
        ("Level", "4"),
        ("Task", "1"),
        ("Opcode", "0"),
        ("Keywords", "0x8000000000000000"),
        ("EventRecordID", "4522"),
        ("Channel", "Microsoft-Windows-Sysmon/Operational"),
        ("Computer", "win-host.example.local"),
        ("EventCode", "1"),
        ("RecordNumber", "4522"),
        ("event_id", "4522"),
        ("id", "4522"),
        ("dvc", "win-host.example.local"),
        ("signature_id", "1"),
    ] {
        assert_eq!(get(&f, name), [value], "{name}");
    }
    // Correlation has neither attributes nor text here: no field.
    assert!(!f.contains_key("Correlation"));
    assert!(!f.contains_key("ActivityID"));
}

#[test]
fn s1_3_an_event_id_with_qualifiers_gives_event_code_but_no_event_id() {
    let xml = xml_event(
        "Service Control Manager",
        "System",
        "7045",
        &[("ServiceName", "x")],
    )
    .replace(
        "<EventID>7045</EventID>",
        "<EventID Qualifiers='16384'>7045</EventID>",
    );
    let f = raw_fields(
        escu(),
        &xml,
        &meta("XmlWinEventLog:System", "xmlwineventlog"),
    );
    assert!(!f.contains_key("EventID"), "{:?}", f.get("EventID"));
    assert_eq!(get(&f, "EventCode"), ["7045"]);
    assert_eq!(get(&f, "Qualifiers"), ["'16384'"]);
}

#[test]
fn s1_3_empty_unnamed_and_binary_data_give_no_field() {
    let xml = xml_event(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        "4663",
        &[("Empty", ""), ("SubjectUserName", "bob")],
    )
    .replace(
        "</EventData>",
        "<Data Name='AlsoEmpty'></Data><Data>unnamed</Data><Binary>00FF</Binary></EventData>",
    );
    let f = raw_fields(escu(), &xml, &security_meta());
    assert!(!f.contains_key("Empty"));
    assert!(!f.contains_key("AlsoEmpty"));
    assert!(!f.contains_key("Binary"));
    assert!(!f.values().any(|v| v.iter().any(|s| s == "unnamed")));
    assert_eq!(get(&f, "SubjectUserName"), ["bob"]);
}

#[test]
fn s1_3_repeated_names_are_multivalued_values_keep_newlines_and_entities() {
    let xml = xml_event(
        "Microsoft-Windows-PowerShell",
        "Microsoft-Windows-PowerShell/Operational",
        "4104",
        &[
            ("X", "1"),
            ("X", "2"),
            ("ScriptBlockText", "a &amp;&amp; b\r\nline 2 &lt;x&gt;"),
        ],
    );
    let f = raw_fields(
        escu(),
        &xml,
        &meta(
            "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational",
            "xmlwineventlog",
        ),
    );
    assert_eq!(get(&f, "X"), ["1", "2"]);
    assert_eq!(
        get(&f, "ScriptBlockText"),
        ["a &amp;&amp; b\r\nline 2 &lt;x&gt;"]
    );
}

#[test]
fn s1_3_names_are_cleaned() {
    let xml = xml_event(
        "Microsoft-Windows-Windows Defender",
        "Microsoft-Windows-Windows Defender/Operational",
        "1121",
        &[
            ("Product Name", "Microsoft Defender"),
            ("Process Name", r"C:\w.exe"),
        ],
    );
    let f = raw_fields(
        escu(),
        &xml,
        &meta(
            "XmlWinEventLog:Microsoft-Windows-Windows Defender/Operational",
            "xmlwineventlog",
        ),
    );
    assert_eq!(get(&f, "Product_Name"), ["Microsoft Defender"]);
    assert_eq!(get(&f, "Process_Name"), [r"C:\w.exe"]);
}

#[test]
fn s1_3_an_empty_security_element_gives_no_user_id() {
    let xml = xml_event(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        "4688",
        &[("NewProcessName", r"C:\a.exe")],
    )
    .replace("<Security UserID='S-1-5-18'/>", "<Security/>");
    let f = raw_fields(escu(), &xml, &security_meta());
    assert!(!f.contains_key("UserID"));
    assert!(!f.contains_key("user_id"));
}

#[test]
fn a_security_event_the_add_on_does_not_know_still_gets_the_generic_fields() {
    let xml = xml_event(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        "9999",
        &[("Something", "value"), ("Other", "x y")],
    );
    let f = raw_fields(escu(), &xml, &security_meta());
    for (name, value) in [
        ("EventCode", "9999"),
        ("Something", "value"),
        ("Other", "x y"),
        ("Computer", "win-host.example.local"),
        ("dvc", "win-host.example.local"),
        ("signature_id", "9999"),
        ("vendor", "Microsoft"),
        ("product", "Windows"),
        ("vendor_product", "Microsoft Windows"),
        ("dest", "win-host.example.local"),
        ("source", SECURITY),
        ("sourcetype", "xmlwineventlog"),
        ("_time", "1602155026.617920300"),
    ] {
        assert_eq!(get(&f, name), [value], "{name}");
    }
    assert!(get(&f, "eventtype").contains(&"wineventlog_security"));
    assert!(f.contains_key("System_Props_Xml"));
    assert!(f.contains_key("EventData_Xml"));
}

#[test]
fn every_spelling_of_the_xml_sourcetype_gets_the_generic_extraction() {
    let xml = xml_event(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        "4624",
        &[("TargetUserName", "bob")],
    );
    for (sourcetype, shown) in [
        ("xmlwineventlog", "xmlwineventlog"),
        ("XmlWinEventLog", "XmlWinEventLog"),
        // props.conf `rename`: shown, and configured, as the renamed sourcetype.
        ("XmlWinEventLog:Security", "xmlwineventlog"),
    ] {
        let f = raw_fields(escu(), &xml, &meta(SECURITY, sourcetype));
        assert_eq!(get(&f, "sourcetype"), [shown], "{sourcetype}");
        assert_eq!(get(&f, "EventCode"), ["4624"], "{sourcetype}");
        assert_eq!(get(&f, "TargetUserName"), ["bob"], "{sourcetype}");
        assert_eq!(get(&f, "user"), ["bob"], "{sourcetype}");
    }
}

#[test]
fn metadata_defaults_follow_the_channel() {
    let xml = sysmon("1", &[("Image", "x")]);
    let f = raw_fields(escu(), &xml, &cimhunt_model::Meta::default());
    assert_eq!(
        get(&f, "source"),
        ["XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"]
    );
    assert_eq!(get(&f, "sourcetype"), ["xmlwineventlog"]);
    assert_eq!(get(&f, "host"), ["win-host.example.local"]);
    assert_eq!(get(&f, "dvc_nt_host"), ["win-host.example.local"]);
    assert_eq!(get(&f, "index"), ["main"]);
    assert!(f.contains_key("_raw"));
}

#[test]
fn regression_the_ip_address_extraction_reads_pcre_escapes_as_characters() {
    let xml = xml_event(
        "Microsoft-Windows-Security-Auditing",
        "Security",
        "4624",
        &[("IpAddress", "10.0.1.16"), ("IpPort", "49980")],
    );
    let f = raw_fields(escu(), &xml, &security_meta());
    assert_eq!(get(&f, "src_ip"), ["10.0.1.16"]);
    let local = xml.replace("10.0.1.16", "127.0.0.1");
    let f = raw_fields(escu(), &local, &security_meta());
    assert!(!f.contains_key("src_ip"), "loopback is excluded");
}

#[test]
fn a_repeated_name_among_many_fields_keeps_its_values_in_the_order_written() {
    // More fields than are found by reading every name: the values of a name are found
    // through the names in order, and must come back in the order they were written.
    let mut data: Vec<(String, String)> = (0..30)
        .map(|i| (format!("F{i:02}"), format!("v{i}")))
        .collect();
    for (at, v) in [(3, "3"), (11, "1"), (29, "2"), (0, "0")] {
        data.insert(at, ("X".to_owned(), v.to_owned()));
    }
    let pairs: Vec<(&str, &str)> = data.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let xml = xml_event(
        "Microsoft-Windows-PowerShell",
        "Microsoft-Windows-PowerShell/Operational",
        "4104",
        &pairs,
    );
    let m = meta(
        "XmlWinEventLog:Microsoft-Windows-PowerShell/Operational",
        "xmlwineventlog",
    );
    assert_eq!(field(escu(), &xml, &m, "X"), ["0", "3", "1", "2"]);
    assert_eq!(field(escu(), &xml, &m, "F07"), ["v7"]);
    assert!(field(escu(), &xml, &m, "F99").is_empty());
    let f = raw_fields(escu(), &xml, &m);
    assert_eq!(get(&f, "X"), ["0", "3", "1", "2"]);
    assert_eq!(get(&f, "F29"), ["v29"]);
}
