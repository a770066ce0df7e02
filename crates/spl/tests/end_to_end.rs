//! Detections shaped like ESCU's, end to end through the engine (`cimhunt_engine::run` and
//! `finish_all`) over small Windows XML fixtures: a raw search with `eval`, `where`, `rex` and a
//! mergeable `stats`; a `join` whose subsearch is another dataset's `tstats`; a `search` with a
//! subsearch term; a `lookup`; results that do not depend on the number of threads.

use std::sync::{Arc, OnceLock};

use cimhunt_engine::{Job, Meta, Options, Quiet, finish_all, run};
use cimhunt_model::Model;
use cimhunt_read::Input;
use cimhunt_spl::lookup::{ColumnMatch, LookupTable};
use cimhunt_spl::{Lookups, MacroSet, Row, WithLookups, compile};

fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| Arc::new(Model::escu().expect("the default profile"))))
}

fn job(searches: &[&str], lookups: &Lookups) -> Job {
    let m = model();
    let catalog = WithLookups::new(m.as_ref(), lookups);
    let mut b = Job::builder(Arc::clone(&m));
    for (i, s) in searches.iter().enumerate() {
        let c =
            compile(s, &MacroSet::with_builtins(), &catalog).unwrap_or_else(|e| panic!("{s}: {e}"));
        b = b.detection(format!("d{i}"), c.plan, &c.expanded);
    }
    b.build().expect("job")
}

/// A Sysmon event of `id` with `data` pairs.
fn sysmon(id: u32, record: u32, computer: &str, utc: &str, data: &[(&str, &str)]) -> String {
    let mut e = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Sysmon' Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/>\
         <EventID>{id}</EventID><Version>5</Version><Level>4</Level><Task>{id}</Task><Opcode>0</Opcode>\
         <Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2026-01-05T09:00:00.000000000Z'/>\
         <EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID='2' ThreadID='3'/>\
         <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>{computer}</Computer>\
         <Security UserID='S-1-5-18'/></System><EventData><Data Name='UtcTime'>{utc}</Data>"
    );
    for (k, v) in data {
        e.push_str(&format!("<Data Name='{k}'>{v}</Data>"));
    }
    e.push_str("</EventData></Event>\n");
    e
}

fn process(record: u32, computer: &str, utc: &str, guid: &str, image: &str, cmd: &str) -> String {
    sysmon(
        1,
        record,
        computer,
        utc,
        &[
            ("ProcessGuid", guid),
            ("ProcessId", "4242"),
            ("Image", image),
            ("CommandLine", cmd),
            ("User", r"CORP\alice"),
            ("ParentImage", r"C:\Windows\explorer.exe"),
            (
                "ParentProcessGuid",
                "{00000000-0000-0000-0000-000000000001}",
            ),
            ("ParentProcessId", "100"),
            ("OriginalFileName", "x.exe"),
        ],
    )
}

fn file_create(record: u32, computer: &str, utc: &str, guid: &str, target: &str) -> String {
    sysmon(
        11,
        record,
        computer,
        utc,
        &[
            ("ProcessGuid", guid),
            ("ProcessId", "4242"),
            ("Image", r"C:\Windows\System32\cmd.exe"),
            ("TargetFilename", target),
            ("CreationUtcTime", utc),
            ("User", r"CORP\alice"),
        ],
    )
}

fn fixture() -> String {
    process(
        1,
        "ws-1",
        "2026-01-05 10:00:00.000",
        "{AAAAAAAA-0000-0000-0000-000000000001}",
        r"C:\Windows\System32\cmd.exe",
        "cmd.exe /c echo hi > C:\\Windows\\System32\\evil.bat",
    ) + &process(
        2,
        "ws-2",
        "2026-01-05 10:01:00.000",
        "{AAAAAAAA-0000-0000-0000-000000000002}",
        r"C:\Tools\AnyDesk.exe",
        "AnyDesk.exe --service",
    ) + &file_create(
        3,
        "ws-1",
        "2026-01-05 10:00:01.000",
        "{AAAAAAAA-0000-0000-0000-000000000001}",
        r"C:\Windows\System32\evil.bat",
    )
}

fn run_all(searches: &[&str], lookups: &Lookups, threads: usize) -> Vec<Vec<Row>> {
    let job = job(searches, lookups);
    let options = Options {
        threads,
        ..Options::default()
    };
    let inputs = vec![(
        Input::reader(
            "fixture.xml",
            Box::new(std::io::Cursor::new(fixture().into_bytes())),
        ),
        Meta::default(),
    )];
    let result = run(&job, &options, inputs, &mut Quiet);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let ctx = options.exec_ctx();
    let finished = finish_all(&job, result.states, &ctx, threads);
    assert_eq!(
        finished.len(),
        searches.len(),
        "one result per detection added"
    );
    finished
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn show(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r.cells()
                .iter()
                .map(|(n, v)| {
                    let vals: Vec<String> = v.texts().map(|t| t.into_owned()).collect();
                    format!("{n}={}", vals.join("|"))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn lookups() -> Lookups {
    let mut l = Lookups::new();
    l.insert(
        "remote_access_software",
        Some("remote_access_software.csv"),
        LookupTable::new(
            "remote_access_software",
            vec!["remote_utility".into(), "isutility".into()],
            vec![vec!["anydesk*.exe".into(), "TRUE".into()]],
        )
        .with_match("remote_utility", ColumnMatch::Wildcard)
        .with_case_sensitive(false)
        .with_matches(1, 1, Some("false".into())),
    );
    l
}

const RAW: &str = "source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1 \
    | eval exe=lower(Image) | where match(exe, \"cmd|anydesk\") \
    | rex field=exe \"(?<name>[^\\\\\\\\]+)$\" \
    | stats count min(_time) as firstTime values(name) as names by Computer";

const JOIN: &str = "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe \
    by _time span=1h Processes.process_guid Processes.dest | `drop_dm_object_name(Processes)` \
    | join process_guid, _time [| tstats count min(_time) as firstTime from datamodel=Endpoint.Filesystem \
    where Filesystem.file_name=\"*.bat\" by _time span=1h Filesystem.process_guid Filesystem.file_name \
    | `drop_dm_object_name(Filesystem)`] | table dest process_guid file_name";

const SUBSEARCH: &str = "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
    | `drop_dm_object_name(Processes)` | search [| tstats count from datamodel=Endpoint.Filesystem \
    by Filesystem.dest | `drop_dm_object_name(Filesystem)` | table dest] | table dest";

const LOOKUP: &str = "| tstats count from datamodel=Endpoint.Processes by Processes.dest Processes.process_name \
    | `drop_dm_object_name(Processes)` | lookup remote_access_software remote_utility AS process_name \
    OUTPUT isutility | where isutility=\"TRUE\" | table dest process_name";

#[test]
fn escu_shaped_detections_run_end_to_end() {
    let out = run_all(&[RAW, JOIN, SUBSEARCH, LOOKUP], &lookups(), 2);
    assert_eq!(
        show(&out[0]),
        [
            "Computer=ws-1 count=1 firstTime=1767607200.000 names=cmd.exe",
            "Computer=ws-2 count=1 firstTime=1767607260.000 names=anydesk.exe",
        ]
    );
    assert_eq!(
        show(&out[1]),
        ["dest=ws-1 process_guid={AAAAAAAA-0000-0000-0000-000000000001} file_name=evil.bat"]
    );
    assert_eq!(show(&out[2]), ["dest=ws-1"]);
    assert_eq!(show(&out[3]), ["dest=ws-2 process_name=AnyDesk.exe"]);
}

#[test]
fn rows_do_not_depend_on_the_thread_count() {
    let one = run_all(&[RAW, JOIN, SUBSEARCH, LOOKUP], &lookups(), 1);
    let four = run_all(&[RAW, JOIN, SUBSEARCH, LOOKUP], &lookups(), 4);
    assert_eq!(one, four);
}
