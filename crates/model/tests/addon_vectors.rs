//! The conformance vectors of ADDON_FIELDS.md §6 (TV-R1 … TV-T1) and the worked examples of
//! §2.5, on the ESCU `data_sources/*.yml` example events (read from `../shared`) and small
//! events written here. Each test names the vector or section it checks.

mod support;

use support::*;

fn example(file: &str) -> (String, cimhunt_model::Meta) {
    let ds = data_source(file);
    let xml = complete(ds.example_log.as_deref().expect("an example event").trim())
        .expect("the example completes");
    (xml, meta(&ds.source, &ds.sourcetype))
}

/// A view's field, as text values.
fn get<'f>(f: &'f Fields, name: &str) -> Vec<&'f str> {
    f.get(name)
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

fn one<'f>(f: &'f Fields, name: &str) -> &'f str {
    match get(f, name).as_slice() {
        [v] => v,
        other => panic!("{name}: expected one value, found {other:?}"),
    }
}

fn registry(xml: &str) -> Fields {
    view_fields(escu(), xml, &sysmon_meta(), "Endpoint.Registry").expect("in Endpoint.Registry")
}

#[test]
fn tv_r1_and_2_5_sysmon_13_example_registry_row() {
    let (xml, meta) = example("sysmon_eventid_13");
    let r = view_fields(escu(), &xml, &meta, "Endpoint.Registry").expect("in Registry");
    let target = r"HKLM\System\CurrentControlSet\Services\W32Time\SecureTimeLimits\SecureTimeHigh";
    assert_eq!(one(&r, "action"), "modified");
    assert_eq!(one(&r, "dest"), "win-host-623.attackrange.local");
    assert_eq!(one(&r, "registry_path"), target);
    assert_eq!(
        one(&r, "registry_key_name"),
        r"HKLM\System\CurrentControlSet\Services\W32Time\SecureTimeLimits"
    );
    assert_eq!(one(&r, "registry_value_name"), "SecureTimeHigh");
    assert_eq!(one(&r, "registry_value_data"), "0x01d776fd-0xd724b8c5");
    assert_eq!(one(&r, "registry_value_type"), "REG_QWORD");
    assert_eq!(one(&r, "user"), "unknown");
    assert_eq!(one(&r, "process_id"), "628");
    assert_eq!(
        one(&r, "process_guid"),
        "{0C1E0330-048F-60E8-0B00-00000000D001}"
    );
    assert_eq!(one(&r, "status"), "success");
    assert_eq!(one(&r, "vendor_product"), "Microsoft Sysmon");
    // [I]: the literal "HKEY_LOCAL_MACHINE\\\\System" is 20 characters, two backslashes.
    assert_eq!(one(&r, "registry_hive"), r"HKEY_LOCAL_MACHINE\\System");
}

#[test]
fn tv_r2_a_value_name_with_a_non_word_character_keeps_the_whole_path() {
    let target = r"HKU\S-1-5-21-1\Software\Microsoft\Windows\CurrentVersion\Run\evil-app";
    let xml = sysmon(
        "13",
        &[
            ("EventType", "SetValue"),
            ("UtcTime", "2024-01-01 00:00:00.000"),
            ("Image", r"C:\x\e.exe"),
            ("TargetObject", target),
            ("Details", r"C:\x\e.exe"),
        ],
    );
    let r = registry(&xml);
    assert_eq!(one(&r, "registry_value_name"), target);
    assert_eq!(one(&r, "registry_key_name"), target);
    assert_eq!(one(&r, "registry_value_data"), r"C:\x\e.exe");
    assert_eq!(one(&r, "registry_value_type"), "unknown");
    assert_eq!(one(&r, "registry_hive"), "HKEY_CURRENT_USER");
}

#[test]
fn tv_r3_dword_details_are_unwrapped() {
    let xml = sysmon(
        "13",
        &[
            ("EventType", "SetValue"),
            (
                "TargetObject",
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\EnableLUA",
            ),
            ("Details", "DWORD (0x00000001)"),
        ],
    );
    let r = registry(&xml);
    assert_eq!(one(&r, "registry_value_data"), "0x00000001");
    assert_eq!(one(&r, "registry_value_type"), "REG_DWORD");
    assert_eq!(one(&r, "registry_value_name"), "EnableLUA");
    assert_eq!(one(&r, "registry_hive"), r"HKEY_LOCAL_MACHINE\\Software");
}

#[test]
fn tv_r4_sysmon_12_of_another_event_type_has_unknown_action() {
    let xml = sysmon(
        "12",
        &[
            ("EventType", "CreateValue"),
            ("TargetObject", r"HKLM\System\x"),
        ],
    );
    let r = registry(&xml);
    assert_eq!(one(&r, "action"), "unknown");
    assert_eq!(one(&r, "status"), "success");
}

#[test]
fn s2_5_sysmon_12_example_registry_row() {
    let (xml, meta) = example("sysmon_eventid_12");
    let r = view_fields(escu(), &xml, &meta, "Endpoint.Registry").expect("in Registry");
    let target =
        r"HKU\S-1-5-21-2333072374-3391925831-3197092227-1112_Classes\exefile\shell\runas\command";
    assert_eq!(one(&r, "action"), "deleted");
    assert_eq!(one(&r, "registry_path"), target);
    assert_eq!(one(&r, "registry_key_name"), target);
    for f in [
        "registry_value_name",
        "registry_value_data",
        "registry_value_type",
    ] {
        assert_eq!(one(&r, f), "unknown", "{f}");
    }
    assert_eq!(one(&r, "registry_hive"), "HKEY_CURRENT_USER");
    assert_eq!(one(&r, "process_id"), "10188");
    assert_eq!(one(&r, "dest"), "win-dc-890.attackrange.local");
}

#[test]
fn tv_f1_alternate_data_streams_are_stripped_and_a_later_creation_time_is_modified() {
    let xml = sysmon(
        "11",
        &[
            ("UtcTime", "2024-01-01 00:00:01.000"),
            ("ProcessGuid", "{1}"),
            ("ProcessId", "42"),
            ("Image", r"C:\x\a.exe"),
            (
                "TargetFilename",
                r"C:\Users\a\Downloads\x.exe:Zone.Identifier",
            ),
            ("CreationUtcTime", "2023-01-01 00:00:00.000"),
        ],
    );
    let f =
        view_fields(escu(), &xml, &sysmon_meta(), "Endpoint.Filesystem").expect("in Filesystem");
    assert_eq!(one(&f, "file_path"), r"C:\Users\a\Downloads\x.exe");
    assert_eq!(one(&f, "file_name"), "x.exe");
    assert_eq!(one(&f, "action"), "modified");
}

#[test]
fn s2_5_sysmon_11_example_filesystem_row() {
    let (xml, meta) = example("sysmon_eventid_11");
    let f = view_fields(escu(), &xml, &meta, "Endpoint.Filesystem").expect("in Filesystem");
    let target = r"C:\Users\Administrator\Downloads\mimikatz_trunk\x64\CURRENT_USER_My_4_atomic@art2.local.pfx";
    assert_eq!(one(&f, "action"), "created");
    assert_eq!(one(&f, "file_path"), target);
    assert_eq!(
        one(&f, "file_name"),
        "CURRENT_USER_My_4_atomic@art2.local.pfx"
    );
    assert_eq!(one(&f, "file_create_time"), "2023-02-08 13:01:11.053");
    assert_eq!(one(&f, "file_hash"), "unknown");
    assert_eq!(one(&f, "user"), "unknown");
    assert_eq!(one(&f, "file_acl"), "unknown");
    assert!(get(&f, "file_size").is_empty());
    assert!(get(&f, "file_modify_time").is_empty());
    assert_eq!(
        one(&f, "dest"),
        "win-dc-mhaag-attack-range-84.attackrange.local"
    );
    assert_eq!(one(&f, "process_id"), "9332");
    assert_eq!(one(&f, "vendor_product"), "Microsoft Sysmon");
}

#[test]
fn s2_5_sysmon_23_example_filesystem_row() {
    let (xml, meta) = example("sysmon_eventid_23");
    let f = view_fields(escu(), &xml, &meta, "Endpoint.Filesystem").expect("in Filesystem");
    assert_eq!(one(&f, "action"), "deleted");
    assert_eq!(one(&f, "file_name"), "vcruntime140_1.dll");
    assert_eq!(one(&f, "file_path"), r"C:\Python311\vcruntime140_1.dll");
    assert!(one(&f, "file_hash").starts_with("MD5=75E7"), "{f:?}");
    assert!(one(&f, "file_hash").contains(",SHA256=1758"), "{f:?}");
    assert!(one(&f, "file_hash").contains(",IMPHASH=BF38"), "{f:?}");
    assert_eq!(one(&f, "user"), "Administrator");
}

#[test]
fn tv_f2_security_4663_is_not_in_filesystem_and_keeps_its_raw_fields() {
    let (xml, meta) = example("windows_event_log_security_4663");
    // The YAML cuts the example after AccessList; the process fields 4663 carries are added.
    let xml = xml.replace(
        "</EventData>",
        r"<Data Name='AccessMask'>0x10000</Data><Data Name='ProcessId'>0x1a4c</Data><Data Name='ProcessName'>C:\Windows\explorer.exe</Data><Data Name='ResourceAttributes'></Data></EventData>",
    );
    assert!(view_fields(escu(), &xml, &meta, "Endpoint.Filesystem").is_none());
    let f = raw_fields(escu(), &xml, &meta);
    let object = r"C:\Program Files (x86)\ScreenConnect\App_Extensions\evilapp - Copy (2).aspx";
    assert_eq!(get(&f, "ObjectName"), [object]);
    assert_eq!(get(&f, "object_file_path"), [object]);
    assert_eq!(get(&f, "object_file_name"), ["evilapp - Copy (2).aspx"]);
    assert_eq!(get(&f, "file_path"), [object]);
    assert_eq!(get(&f, "file_name"), ["evilapp - Copy (2).aspx"]);
    let process = get(&f, "ProcessName");
    assert_eq!(process, [r"C:\Windows\explorer.exe"]);
    assert_eq!(get(&f, "process_name"), process, "full path");
    assert_eq!(get(&f, "process_path"), process);
    assert_eq!(get(&f, "process"), process);
    assert_eq!(get(&f, "dest"), get(&f, "Computer"));
    assert_eq!(get(&f, "src_user"), get(&f, "SubjectUserName"));
    assert!(
        get(&f, "user").is_empty(),
        "no user for 4663: {:?}",
        get(&f, "user")
    );
    assert_eq!(get(&f, "action"), ["success"]);
    assert_eq!(get(&f, "status"), ["success"]);
    assert_eq!(get(&f, "process_id"), ["0x1a4c"]);
}

fn traffic(xml: &str) -> Fields {
    view_fields(escu(), xml, &sysmon_meta(), "Network_Traffic.All_Traffic").expect("in All_Traffic")
}

#[test]
fn s2_5_sysmon_3_example_traffic_row() {
    let (xml, meta) = example("sysmon_eventid_3");
    let t =
        view_fields(escu(), &xml, &meta, "Network_Traffic.All_Traffic").expect("in All_Traffic");
    assert_eq!(one(&t, "action"), "allowed");
    assert_eq!(one(&t, "dest"), "youssef5.genious.net");
    assert_eq!(one(&t, "dest_ip"), "41.77.117.236");
    assert_eq!(one(&t, "dest_port"), "21");
    assert_eq!(
        one(&t, "src"),
        "win-dc-ctus-attack-range-403.attackrange.local"
    );
    assert_eq!(one(&t, "src_ip"), "10.0.1.14");
    assert_eq!(one(&t, "src_port"), "61722");
    assert_eq!(one(&t, "transport"), "tcp");
    assert_eq!(one(&t, "direction"), "outbound");
    assert_eq!(one(&t, "app"), r"C:\Temp\agent_tesla-deob.exe");
    assert_eq!(one(&t, "user"), "Administrator");
    assert_eq!(one(&t, "process_id"), "5728");
    assert_eq!(one(&t, "protocol"), "ip");
    assert_eq!(one(&t, "vendor_product"), "Microsoft Sysmon");
}

#[test]
fn tv_n1_and_n2_destination_ip_without_a_host_name_and_inbound_direction() {
    let xml = sysmon(
        "3",
        &[
            ("Image", r"C:\x\a.exe"),
            ("Protocol", "udp"),
            ("Initiated", "false"),
            ("SourceIp", "10.0.0.1"),
            ("SourceHostname", "-"),
            ("SourcePort", "53"),
            ("DestinationIsIpv6", "false"),
            ("DestinationIp", "10.0.0.2"),
            ("DestinationHostname", "-"),
            ("DestinationPort", "5353"),
        ],
    );
    let t = traffic(&xml);
    assert_eq!(one(&t, "dest"), "10.0.0.2");
    assert_eq!(one(&t, "direction"), "inbound");
    assert_eq!(one(&t, "src"), "10.0.0.1");
    assert_eq!(one(&t, "protocol_version"), "ipv4");
    assert_eq!(one(&t, "rule"), "unknown");
}

fn dns(xml: &str) -> Fields {
    view_fields(escu(), xml, &sysmon_meta(), "Network_Resolution.DNS").expect("in DNS")
}

#[test]
fn tv_d1_answers_and_record_type_from_query_results() {
    let xml = sysmon(
        "22",
        &[
            ("QueryName", "a.example"),
            ("QueryStatus", "0"),
            ("QueryResults", "type:  5 a.example;::ffff:1.2.3.4;"),
            ("Image", r"C:\x\a.exe"),
        ],
    );
    let d = dns(&xml);
    assert_eq!(get(&d, "answer"), ["a.example", "::ffff:1.2.3.4"]);
    assert_eq!(one(&d, "record_type"), "CNAME");
    assert_eq!(one(&d, "answer_count"), "2");
}

#[test]
fn tv_d2_reply_code_zero_is_no_error() {
    let xml = sysmon(
        "22",
        &[
            ("QueryName", "a.example"),
            ("QueryStatus", "0"),
            ("QueryResults", "-"),
        ],
    );
    let d = dns(&xml);
    assert_eq!(one(&d, "reply_code"), "No Error");
    assert_eq!(one(&d, "reply_code_id"), "0");
}

#[test]
fn s2_5_sysmon_22_example_dns_row() {
    let (xml, meta) = example("sysmon_eventid_22");
    let d = view_fields(escu(), &xml, &meta, "Network_Resolution.DNS").expect("in DNS");
    assert_eq!(get(&d, "query"), ["50.220.65.3.spam.dnsbl.sorbs.net"]);
    assert_eq!(one(&d, "answer"), "unknown");
    assert_eq!(one(&d, "reply_code_id"), "9003");
    assert_eq!(one(&d, "reply_code"), "unknown");
    assert_eq!(one(&d, "src"), "win-dc-299.attackrange.local");
    assert_eq!(one(&d, "dest"), "unknown");
    assert_eq!(one(&d, "message_type"), "unknown");
    assert_eq!(one(&d, "query_count"), "1");
    assert_eq!(one(&d, "answer_count"), "1");
    assert!(get(&d, "record_type").is_empty());
    let raw = raw_fields(escu(), &xml, &meta);
    assert!(
        get(&raw, "process_id").is_empty(),
        "22 is not in EVAL-process_id"
    );
    assert!(
        get(&raw, "process_path").is_empty(),
        "nor in EVAL-process_path"
    );
    assert!(!get(&raw, "process_name").is_empty());
    assert!(!get(&raw, "process_guid").is_empty());
}

#[test]
fn tv_p1_powershell_4104_user_id_keeps_its_quotes_and_has_no_dest_or_user() {
    let (xml, meta) = example("powershell_script_block_logging_4104");
    let f = raw_fields(escu(), &xml, &meta);
    assert_eq!(
        get(&f, "UserID"),
        ["'S-1-5-21-2059343465-2300599999-2417073716-500'"]
    );
    assert_eq!(
        get(&f, "user_id"),
        ["'S-1-5-21-2059343465-2300599999-2417073716-500'"]
    );
    assert_eq!(
        get(&f, "Computer"),
        ["win-dc-mhaag-attack-range-270.attackrange.local"]
    );
    assert_eq!(get(&f, "dvc"), get(&f, "Computer"));
    assert_eq!(get(&f, "EventCode"), ["4104"]);
    assert_eq!(get(&f, "signature_id"), ["4104"]);
    assert_eq!(get(&f, "vendor_product"), ["Microsoft Windows"]);
    for absent in ["dest", "user", "signature"] {
        assert!(
            get(&f, absent).is_empty(),
            "{absent}: {:?}",
            get(&f, absent)
        );
    }
    assert!(one(&f, "ScriptBlockText").starts_with("function New-Mutex($MutexName) {"));
    for quoted in [
        "ProcessID",
        "ThreadID",
        "Name",
        "Guid",
        "SystemTime",
        "ActivityID",
    ] {
        for v in get(&f, quoted) {
            assert!(v.starts_with('\'') && v.ends_with('\''), "{quoted}={v}");
        }
    }
}

#[test]
fn tv_s1_system_7045_services_row() {
    let (xml, meta) = example("windows_event_log_system_7045");
    // The YAML cuts the example inside ImagePath; the vector's StartType is added.
    let xml = xml.replace(
        "</EventData>",
        "<Data Name='ServiceType'>user mode service</Data><Data Name='StartType'>demand start</Data><Data Name='AccountName'>LocalSystem</Data></EventData>",
    );
    let s = view_fields(escu(), &xml, &meta, "Endpoint.Services").expect("in Services");
    assert_eq!(one(&s, "service"), "KrbSCM");
    assert_eq!(one(&s, "service_name"), "KrbSCM");
    assert_eq!(one(&s, "start_mode"), "manual");
    assert_eq!(one(&s, "status"), "unknown");
    assert_eq!(one(&s, "user"), "unknown");
    assert_eq!(one(&s, "dest"), "ar-win-dc.attackrange.local");
    assert_eq!(one(&s, "service_id"), "unknown");
    assert_eq!(one(&s, "vendor_product"), "Microsoft Windows");
}

#[test]
fn tv_u1_sysmon_user_drops_the_domain() {
    let xml = sysmon(
        "1",
        &[("Image", r"C:\x\a.exe"), ("User", r"NT AUTHORITY\SYSTEM")],
    );
    assert_eq!(field(escu(), &xml, &sysmon_meta(), "user"), ["SYSTEM"]);
    let keep = with_overlays(&["sysmon-user-keeps-domain"]);
    assert_eq!(
        field(&keep, &xml, &sysmon_meta(), "user"),
        [r"NT AUTHORITY\SYSTEM"]
    );
}

#[test]
fn tv_t1_sysmon_time_is_utc_time() {
    let xml = sysmon("1", &[("UtcTime", "2020-10-08 11:03:46.615")]);
    assert_eq!(
        field(escu(), &xml, &sysmon_meta(), "_time"),
        ["1602155026.615"]
    );
    // Without UtcTime, SystemTime.
    let xml = sysmon("1", &[("Image", "x")]);
    assert_eq!(
        field(escu(), &xml, &sysmon_meta(), "_time"),
        ["1602155026.617920300"]
    );
}
