//! The engine's core promises, end to end: a second dataset through `tstats`, partial states
//! that travel as bytes and merge only with their own plan, and an engine fed over time whose
//! windows are taken while input continues.

use std::sync::{Arc, OnceLock};

use cimhunt_engine::{Engine, Job, Meta, Options, Partial, Quiet, State, StateError, finish, run};
use cimhunt_model::Model;
use cimhunt_read::Input;
use cimhunt_spl::{MacroSet, Row, Sym, Value, compile};

fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| Arc::new(Model::escu().expect("the default profile"))))
}

fn job(searches: &[&str]) -> Job {
    job_sharing(searches, false)
}

/// A job of `searches` named `d0`, `d1` …, with states shared or not.
fn job_sharing(searches: &[&str], share: bool) -> Job {
    job_built(searches, |b| b.share_states(share))
}

/// A job of `searches` named `d0`, `d1` …, its builder set by `configure`.
fn job_built(
    searches: &[&str],
    configure: impl FnOnce(cimhunt_engine::JobBuilder) -> cimhunt_engine::JobBuilder,
) -> Job {
    let m = model();
    let mut b = configure(Job::builder(Arc::clone(&m)));
    for (i, s) in searches.iter().enumerate() {
        let c = compile(s, &MacroSet::with_builtins(), m.as_ref()).expect("compiles");
        b = b.detection(format!("d{i}"), c.plan, &c.expanded);
    }
    b.build().expect("job")
}

/// The final states of `job` run over [`many_registry_writes`] with the default options.
fn over_registry_writes(job: &Job) -> cimhunt_engine::Finals {
    run(
        job,
        &Options::default(),
        vec![input("reg.log", many_registry_writes())],
        &mut Quiet,
    )
    .states
}

/// A Sysmon event of `id` with `data` pairs, at `utc` (`2026-01-05 10:00:00.000`).
fn sysmon(id: u32, computer: &str, utc: &str, data: &[(&str, &str)]) -> String {
    let mut e = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Sysmon' Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/>\
         <EventID>{id}</EventID><Version>2</Version><Level>4</Level><Task>{id}</Task><Opcode>0</Opcode>\
         <Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2026-01-05T09:00:00.000000000Z'/>\
         <EventRecordID>7</EventRecordID><Correlation/><Execution ProcessID='2' ThreadID='3'/>\
         <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>{computer}</Computer>\
         <Security UserID='S-1-5-18'/></System><EventData><Data Name='UtcTime'>{utc}</Data>"
    );
    for (k, v) in data {
        e.push_str(&format!("<Data Name='{k}'>{v}</Data>"));
    }
    e.push_str("</EventData></Event>\n");
    e
}

fn registry_set(computer: &str, utc: &str, value: &str, details: &str) -> String {
    sysmon(
        13,
        computer,
        utc,
        &[
            ("EventType", "SetValue"),
            ("ProcessGuid", "{0C1E0330-048F-60E8-0B00-00000000D001}"),
            ("ProcessId", "628"),
            ("Image", r"C:\Windows\regedit.exe"),
            (
                "TargetObject",
                &format!(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\{value}"),
            ),
            ("Details", details),
        ],
    )
}

/// EnableLUA set twice on ws-1, another value once on ws-2.
fn three_registry_writes() -> String {
    registry_set(
        "ws-1",
        "2026-01-05 10:00:00.250",
        "EnableLUA",
        "DWORD (0x00000000)",
    ) + &registry_set(
        "ws-1",
        "2026-01-05 10:05:00.000",
        "EnableLUA",
        "DWORD (0x00000000)",
    ) + &registry_set(
        "ws-2",
        "2026-01-05 10:00:00.000",
        "Other",
        "DWORD (0x00000001)",
    )
}

/// The whole state of a run's first detection.
fn first_state(job: &Job, result: cimhunt_engine::RunResult) -> State {
    let mut states = result.states;
    states
        .take(job, 0)
        .expect("a first detection")
        .expect("its state")
}

fn input(name: &str, text: String) -> (Input, Meta) {
    (
        Input::reader(name, Box::new(std::io::Cursor::new(text.into_bytes()))),
        Meta::default(),
    )
}

fn get(row: &Row, name: &str) -> String {
    row.get(Sym::new(name))
        .map(Value::to_string)
        .unwrap_or_default()
}

const REGISTRY: &str = "| tstats count min(_time) as firstTime from datamodel=Endpoint.Registry \
    where Registry.registry_value_name=EnableLUA by Registry.dest Registry.registry_value_data \
    Registry.registry_value_type Registry.action";

#[test]
fn registry_events_reach_tstats_through_the_dataset() {
    let job = job(&[REGISTRY]);
    let text = three_registry_writes();
    let options = Options::default();
    let result = run(&job, &options, vec![input("reg.log", text)], &mut Quiet);
    let state = first_state(&job, result);
    let rows = finish(&job.detections()[0], state, &options.exec_ctx()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(get(r, "Registry.dest"), "ws-1");
    // ADDON_FIELDS 2.4.1 (Sysmon 13): the data inside `DWORD (…)`, the type with `REG_`.
    assert_eq!(get(r, "Registry.registry_value_data"), "0x00000000");
    assert_eq!(get(r, "Registry.registry_value_type"), "REG_DWORD");
    assert_eq!(get(r, "Registry.action"), "modified");
    assert_eq!(get(r, "count"), "2");
    // Sysmon `_time` is UtcTime (ADDON_FIELDS 1.10).
    assert_eq!(get(r, "firstTime"), "1767607200.250");
}

/// Regression: the summary's input size summed the records' bytes: a file whose only record
/// is cut short was "0 B", and declarations, blank lines and junk between records were left out.
#[test]
fn the_bytes_read_are_every_byte_of_each_input_not_only_its_records() {
    let job = job(&[REGISTRY]);
    let whole = format!(
        "<?xml version=\"1.0\"?>\n\n{}junk\n",
        three_registry_writes()
    );
    let cut_short = three_registry_writes()[..60].to_owned();
    let options = Options::default();
    let inputs = vec![
        input("whole.log", whole.clone()),
        input("cut.log", cut_short.clone()),
    ];
    let result = run(&job, &options, inputs, &mut Quiet);
    assert_eq!(result.stats.inputs, 2);
    assert_eq!(result.stats.bytes, (whole.len() + cut_short.len()) as u64);
    // The same through an engine fed over time.
    let engine = Engine::start(Arc::new(job), options, 4, Box::new(Quiet));
    let (i, m) = input("whole.log", whole.clone());
    engine.feed(i, m).unwrap();
    assert_eq!(engine.finish().stats.bytes, whole.len() as u64);
}

#[test]
fn a_partial_state_travels_as_bytes_and_merges_only_with_its_own_plan() {
    let job = job(&[
        REGISTRY,
        "| tstats count from datamodel=Endpoint.Registry by Registry.dest",
    ]);
    let options = Options::default();
    let one = registry_set(
        "ws-1",
        "2026-01-05 10:00:00.000",
        "EnableLUA",
        "DWORD (0x00000000)",
    );
    let two = registry_set(
        "ws-1",
        "2026-01-05 11:00:00.000",
        "EnableLUA",
        "DWORD (0x00000000)",
    );
    let whole = run(
        &job,
        &options,
        vec![input("a", one.clone() + &two)],
        &mut Quiet,
    );
    let a = run(&job, &options, vec![input("a", one)], &mut Quiet);
    let b = run(&job, &options, vec![input("b", two)], &mut Quiet);
    let det = &job.detections()[0];
    let a_state = first_state(&job, a);
    let b_state = first_state(&job, b);
    // B's state leaves as bytes and comes back checked against the plan's fingerprint.
    let bytes = Partial::encode(det.fingerprint(), 0, &b_state);
    let back = Partial::decode(&bytes, det.fingerprint()).expect("same plan");
    let mut merged = a_state;
    merged.merge(det.agg(), back.state).unwrap();
    let ctx = options.exec_ctx();
    let expected = finish(det, first_state(&job, whole), &ctx).unwrap();
    assert_eq!(finish(det, merged, &ctx).unwrap(), expected);
    assert_eq!(get(&expected[0], "count"), "2");
    // Another plan's fingerprint: refused.
    let other = &job.detections()[1];
    assert!(matches!(
        Partial::decode(&bytes, other.fingerprint()),
        Err(StateError::Fingerprint { .. })
    ));
    // Damaged bytes: an error, not a panic.
    assert!(matches!(
        Partial::decode(&bytes[..bytes.len() / 2], det.fingerprint()),
        Err(StateError::Decode(_))
    ));
    // A state of the wrong kind does not merge.
    let mut stats = State::new(true);
    assert!(stats.merge(None, State::new(false)).is_err());
}

#[test]
fn an_engine_fed_over_time_finishes_a_window_while_input_continues() {
    let job = Arc::new(job(&[REGISTRY]));
    let options = Options {
        bucket_secs: Some(60),
        threads: 2,
        ..Options::default()
    };
    let engine = Engine::start(Arc::clone(&job), options.clone(), 4, Box::new(Quiet));
    // The first hour's events arrive and are processed.
    let (i, m) = input(
        "first",
        registry_set(
            "ws-1",
            "2026-01-05 10:00:10.000",
            "EnableLUA",
            "DWORD (0x00000000)",
        ) + &registry_set(
            "ws-2",
            "2026-01-05 10:59:59.000",
            "EnableLUA",
            "DWORD (0x00000000)",
        ),
    );
    engine.feed(i, m).unwrap();
    engine.flush();
    // The window [10:00, 11:00) closes: its buckets are taken out.
    let from = 1_767_607_200; // 2026-01-05T10:00:00Z
    let taken = engine.take(0, from, from + 3600).unwrap();
    let det = &job.detections()[0];
    let mut window = State::new(true);
    for (_, s) in taken {
        window.merge(det.agg(), s).unwrap();
    }
    let rows = finish(det, window, &options.exec_ctx()).unwrap();
    let dests: Vec<String> = rows.iter().map(|r| get(r, "Registry.dest")).collect();
    assert_eq!(dests, ["ws-1", "ws-2"]);
    // Later input goes on; the next window holds only its own events.
    let (i, m) = input(
        "second",
        registry_set(
            "ws-3",
            "2026-01-05 11:30:00.000",
            "EnableLUA",
            "DWORD (0x00000000)",
        ),
    );
    engine.feed(i, m).unwrap();
    engine.flush();
    assert!(engine.take(0, from, from + 3600).unwrap().is_empty());
    let next = engine.take(0, from + 3600, from + 7200).unwrap();
    assert_eq!(next.len(), 1);
    let result = engine.finish();
    assert_eq!(result.stats.events, 3);
    assert_eq!(result.matched[0], 3);
}

#[test]
fn detections_with_the_same_aggregation_share_one_state_and_keep_their_own_post_commands() {
    let same = "| tstats count from datamodel=Endpoint.Registry by Registry.dest Registry.registry_value_name";
    let searches = [
        format!("{same} | where count > 1"),
        format!("{same} | where count < 2"),
        // A different filter: its own state.
        format!("{same} | where count > 1").replace(
            "by Registry.dest",
            "where Registry.dest=ws-1 by Registry.dest",
        ),
        // The same as the one before, with the same aggregation as all: it shares the state of
        // the second distinct one.
        format!("{same} | where count < 5").replace(
            "by Registry.dest",
            "where Registry.dest=ws-1 by Registry.dest",
        ),
    ];
    let text = three_registry_writes();
    let searches: Vec<&str> = searches.iter().map(String::as_str).collect();
    let rows_of = |share: bool| {
        let job = job_sharing(&searches, share);
        let aliases: Vec<Option<usize>> = (0..searches.len()).map(|d| job.alias_of(d)).collect();
        let options = Options::default();
        let result = run(
            &job,
            &options,
            vec![input("reg.log", text.clone())],
            &mut Quiet,
        );
        let rows: Vec<Vec<(String, String)>> = result
            .states
            .into_states(&job)
            .unwrap()
            .into_iter()
            .enumerate()
            .map(|(d, s)| {
                finish(&job.detections()[d], s, &options.exec_ctx())
                    .unwrap()
                    .iter()
                    .map(|r| (get(r, "Registry.dest"), get(r, "count")))
                    .collect()
            })
            .collect();
        (aliases, rows, result.matched)
    };
    let (aliases, shared, matched) = rows_of(true);
    assert_eq!(aliases, [None, Some(0), None, Some(2)]);
    let (no_aliases, alone, matched_alone) = rows_of(false);
    assert_eq!(no_aliases, [None, None, None, None]);
    assert_eq!(shared, alone);
    assert_eq!(matched, matched_alone);
    assert_eq!(shared[0], [("ws-1".to_string(), "2".to_string())]);
    assert_eq!(shared[1], [("ws-2".to_string(), "1".to_string())]);
}

/// Registry writes on twelve hosts, three values each, some twice: enough groups and batches
/// (with small blocks) for a state budget of one byte to spill after every batch.
fn many_registry_writes() -> String {
    let mut text = String::new();
    for i in 0..72 {
        let value = ["EnableLUA", "Other", "ConsentPromptBehaviorAdmin"][i % 3];
        text.push_str(&registry_set(
            &format!("ws-{}", i % 12),
            &format!("2026-01-05 10:{:02}:00.000", i % 60),
            value,
            &format!("DWORD (0x0000000{})", i % 2),
        ));
    }
    text
}

/// The searches the spill tests run: an aggregation, two that share its state, a join to a
/// subsearch (a hidden detection with its own state), and a search that collects events.
const SPILLED: [&str; 5] = [
    "| tstats count min(_time) as firstTime values(Registry.registry_value_data) as data \
     from datamodel=Endpoint.Registry by Registry.dest Registry.registry_value_name",
    "| tstats count from datamodel=Endpoint.Registry by Registry.dest | where count > 5",
    "| tstats count from datamodel=Endpoint.Registry by Registry.dest | where count <= 6",
    "| tstats count from datamodel=Endpoint.Registry by Registry.dest Registry.registry_value_name \
     | join Registry.dest [| tstats count as lua from datamodel=Endpoint.Registry \
     where Registry.registry_value_name=EnableLUA by Registry.dest]",
    "search EventCode=13 host=ws-3 | table _time host",
];

/// `job` run over [`many_registry_writes`] by two workers reading small blocks (so that the
/// work is split into many batches), spilling with `spill`; the options and the result.
fn split_over_registry_writes(
    job: &Job,
    spill: Option<cimhunt_engine::SpillOptions>,
) -> (Options, cimhunt_engine::RunResult) {
    let mut options = Options {
        threads: 2,
        spill,
        ..Options::default()
    };
    options.reader.block_size = 4096;
    let result = run(
        job,
        &options,
        vec![input("reg.log", many_registry_writes())],
        &mut Quiet,
    );
    (options, result)
}

/// Every detection's rows over the registry writes, on two workers reading small blocks, and
/// what spilling did.
fn spilled_rows(
    spill: Option<cimhunt_engine::SpillOptions>,
) -> (Vec<Vec<Row>>, cimhunt_engine::SpillReport) {
    let job = job_sharing(&SPILLED, true);
    let (options, result) = split_over_registry_writes(&job, spill);
    let report = result.states.spill_report().clone();
    // Beyond a budget of one byte, every detection that wrote to disk is finished alone.
    let large = (0..job.visible().len())
        .filter(|&d| result.states.is_large(&job, d))
        .count();
    assert_eq!(large > 0, report.parts > 0, "{large} large, {report:?}");
    let rows = cimhunt_engine::finish_all(&job, result.states, &options.exec_ctx(), 2)
        .into_iter()
        .map(|r| r.expect("rows"))
        .collect();
    (rows, report)
}

/// Asserts that `rows_of` gives the same non-empty rows with state spilled beyond a one-byte
/// budget as with none, that it did spill, and that the spill file left nothing behind.
fn spilling_changes_no_row(
    rows_of: impl Fn(
        Option<cimhunt_engine::SpillOptions>,
    ) -> (Vec<Vec<Row>>, cimhunt_engine::SpillReport),
) {
    let (kept, none) = rows_of(None);
    assert_eq!(none, cimhunt_engine::SpillReport::default());
    assert!(kept.iter().all(|rows| !rows.is_empty()), "{kept:?}");
    let dir = tempfile::tempdir().unwrap();
    let (spilled, report) = rows_of(Some(cimhunt_engine::SpillOptions {
        dir: dir.path().to_path_buf(),
        budget_bytes: 1,
    }));
    assert!(report.parts > 10 && report.bytes > 0, "{report:?}");
    assert_eq!(report.error, None);
    assert_eq!(spilled, kept);
    // The file was unlinked when created: nothing is left in the folder.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The detections of [`SPILLED`] finished through `finish_each` on `threads` threads, their
/// state spilled beyond a one-byte budget (so that some are large and finished alone): the
/// indices and rows in the order `each` was given them, stopping after `stop_after`.
fn finished_in_order(threads: usize, stop_after: usize) -> Vec<(usize, Vec<Row>)> {
    let job = job_sharing(&SPILLED, true);
    let dir = tempfile::tempdir().unwrap();
    let spill = cimhunt_engine::SpillOptions {
        dir: dir.path().to_path_buf(),
        budget_bytes: 1,
    };
    let (options, result) = split_over_registry_writes(&job, Some(spill));
    let mut got = Vec::new();
    cimhunt_engine::finish_each(
        &job,
        result.states,
        &options.exec_ctx(),
        threads,
        |d, rows| {
            got.push((
                d,
                rows.and_then(cimhunt_engine::FinishedRows::into_vec)
                    .expect("rows"),
            ));
            got.len() < stop_after
        },
    );
    got
}

#[test]
fn finishing_on_several_threads_hands_on_the_rows_of_one_in_order_and_stops_when_asked() {
    let one = finished_in_order(1, usize::MAX);
    assert_eq!(
        one.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
        (0..SPILLED.len()).collect::<Vec<_>>()
    );
    for threads in [2, 3, 8] {
        assert_eq!(
            finished_in_order(threads, usize::MAX),
            one,
            "{threads} threads"
        );
        // `each` saying stop is the last call it gets.
        assert_eq!(finished_in_order(threads, 2), one[..2], "{threads} threads");
    }
}

#[test]
fn state_spilled_to_disk_after_every_batch_gives_the_rows_of_a_run_in_memory() {
    spilling_changes_no_row(spilled_rows);
}

#[test]
fn a_spill_that_cannot_be_written_keeps_the_state_in_memory_and_says_why() {
    let (kept, _) = spilled_rows(None);
    let (rows, report) = spilled_rows(Some(cimhunt_engine::SpillOptions {
        dir: std::path::PathBuf::from("/nonexistent/cimhunt-spill"),
        budget_bytes: 1,
    }));
    assert_eq!(report.parts, 0);
    let error = report.error.expect("the failed write is reported");
    assert!(error.contains("/nonexistent/cimhunt-spill"), "{error}");
    assert_eq!(rows, kept);
}

/// The rows of an inner join on a by-field, its left side's state spilled in parts (or
/// not), finished with a group budget the left side's merged state exceeds but the groups
/// that can join do not.
fn joined_under_a_group_budget(lazy: bool, spill: bool) -> cimhunt_engine::Rows {
    // 60 groups (a host's minutes); the 4 hosts that wrote EnableLUA have 20 of them.
    let search = "| tstats count from datamodel=Endpoint.Registry \
                  by Registry.dest _time span=1m \
                  | join Registry.dest [| tstats count as lua from datamodel=Endpoint.Registry \
                  where Registry.registry_value_name=EnableLUA by Registry.dest]";
    let job = job_built(&[search], |b| b.lazy_subsearches(lazy));
    let dir = tempfile::tempdir().unwrap();
    let (options, result) = split_over_registry_writes(
        &job,
        spill.then(|| cimhunt_engine::SpillOptions {
            dir: dir.path().to_path_buf(),
            budget_bytes: 1,
        }),
    );
    assert_eq!(result.states.spill_report().parts > 1, spill);
    let ctx = options.exec_ctx().with_limits(cimhunt_spl::Limits {
        max_groups: 30,
        ..cimhunt_spl::Limits::default()
    });
    cimhunt_engine::finish_all(&job, result.states, &ctx, 1).remove(0)
}

/// Regression: the registry detections that join every process to a few registry writes
/// read back and merged every process group before the join's key filter dropped them
/// (about 100 MiB each on 1 GiB of events).
#[test]
fn an_inner_join_filters_each_part_of_its_left_state_before_merging() {
    for spill in [false, true] {
        let rows = joined_under_a_group_budget(true, spill).expect("20 groups can join");
        assert_eq!(rows.len(), 20, "{rows:?}");
        assert!(rows.iter().all(|r| get(r, "lua") == "6"), "{rows:?}");
        // Merging first, the 60 groups exceed the budget before the join can drop any.
        let err = joined_under_a_group_budget(false, spill).unwrap_err();
        assert!(err.to_string().contains("max_groups"), "{err}");
    }
}

/// A join whose left side is empty, and one whose left side is not, both to a subsearch
/// that needs more groups than the budget allows.
#[test]
fn a_join_reached_by_no_rows_never_finishes_its_subsearch() {
    let searches = [
        "| tstats count from datamodel=Endpoint.Registry \
         where Registry.registry_value_name=NoSuchValue by Registry.dest \
         | join Registry.dest [| tstats count from datamodel=Endpoint.Registry \
         by Registry.dest Registry.registry_value_name]",
        "| tstats count from datamodel=Endpoint.Registry \
         where Registry.registry_value_name=EnableLUA by Registry.dest \
         | join Registry.dest [| tstats count from datamodel=Endpoint.Registry \
         by Registry.dest Registry.registry_value_name]",
        // As ESCU's AD detections: `map` inside `appendpipe`, its superset all 72 events.
        "| tstats count from datamodel=Endpoint.Registry \
         where Registry.registry_value_name=NoSuchValue by Registry.dest \
         | rename Registry.dest as dest \
         | appendpipe [| map search=\"search EventCode=13 host=$dest$\" | fields - dest]",
    ];
    let job = job(&searches);
    let result = over_registry_writes(&job);
    // 36 subsearch groups (12 hosts, 3 values) and 72 events to collect; the left sides hold
    // 0, 4 and 0 groups.
    let ctx = cimhunt_spl::ExecCtx::default().with_limits(cimhunt_spl::Limits {
        max_groups: 5,
        max_rows: 5,
        ..cimhunt_spl::Limits::default()
    });
    let mut states: std::collections::HashMap<usize, State> = result
        .into_states(&job)
        .unwrap()
        .into_iter()
        .enumerate()
        .collect();
    let hidden = |d: usize| job.detections()[d].subsearches()[0];
    let empty = cimhunt_engine::finish_tree(&job, 0, &mut states, &ctx).expect("no rows, no error");
    assert!(empty.is_empty());
    // The subsearch was not finished: its state is still there, and its budget never checked.
    assert!(states.contains_key(&hidden(0)));
    let empty = cimhunt_engine::finish_tree(&job, 2, &mut states, &ctx).expect("no rows, no error");
    assert!(empty.is_empty());
    assert!(states.contains_key(&hidden(2)));
    let err = cimhunt_engine::finish_tree(&job, 1, &mut states, &ctx).unwrap_err();
    assert!(err.to_string().contains("subsearch 1"), "{err}");
    assert!(!states.contains_key(&hidden(1)));
    // With the shortcut off, every subsearch is finished first, as Splunk runs it: the first
    // join now meets its subsearch's budget.
    let eager = job_built(&searches[..1], |b| b.lazy_subsearches(false));
    let states = over_registry_writes(&eager);
    let err = cimhunt_engine::finish_all(&eager, states, &ctx, 1)
        .remove(0)
        .unwrap_err();
    assert!(err.to_string().contains("subsearch 1"), "{err}");
    // Without the budget, the second join has its rows.
    let states = over_registry_writes(&job);
    let rows = cimhunt_engine::finish_all(&job, states, &cimhunt_spl::ExecCtx::default(), 1);
    assert_eq!(rows[0].as_ref().unwrap().len(), 0);
    assert_eq!(rows[1].as_ref().unwrap().len(), 4);
    assert_eq!(rows[2].as_ref().unwrap().len(), 0);
}

/// States taken from a map, each take recorded: the detection, and whether it was taken
/// keeping only some groups (a `join`'s key filter).
struct Recorded {
    states: std::collections::HashMap<usize, State>,
    taken: Vec<(usize, bool)>,
}

impl cimhunt_engine::TreeStates for Recorded {
    fn may_hold(&mut self, d: usize) -> bool {
        self.states.get(&d).is_some_and(|s| !s.is_empty())
    }

    fn take(
        &mut self,
        d: usize,
        keep: Option<cimhunt_engine::Keep<'_>>,
    ) -> Result<Option<cimhunt_engine::TreeState>, cimhunt_spl::ExecError> {
        self.taken.push((d, keep.is_some()));
        Ok(self.states.remove(&d).map(|mut s| {
            if let Some(keep) = keep {
                s.retain_keys(keep);
            }
            (s, None)
        }))
    }

    fn state_bytes(&mut self, d: usize) -> Option<u64> {
        self.states.get(&d).map(|s| s.approx_bytes() as u64)
    }
}

/// Regression: `Process Creating LNK File in Suspicious Location` joins a few files to the
/// process that made each, in a subsearch that groups every process; finishing made the
/// subsearch first, to filter the few groups by its keys, and held its 50,000 rows for them.
/// Now the side with the smaller state is finished first: a few groups joined to many are
/// made first and keep of the subsearch only the rows they join; many joined to a few are
/// filtered by the few's keys as before. Either way, the rows of a run that finishes every
/// subsearch first.
#[test]
fn a_join_finishes_first_the_side_with_the_smaller_state() {
    let searches = [
        // 4 groups joined to 72.
        "| tstats count from datamodel=Endpoint.Registry \
         where Registry.registry_value_name=EnableLUA by Registry.dest \
         | join Registry.dest [| tstats count as n from datamodel=Endpoint.Registry \
         by Registry.dest Registry.registry_value_name _time span=1m]",
        // 60 groups joined to 4.
        "| tstats count from datamodel=Endpoint.Registry by Registry.dest _time span=1m \
         | join Registry.dest [| tstats count as lua from datamodel=Endpoint.Registry \
         where Registry.registry_value_name=EnableLUA by Registry.dest]",
    ];
    let job = job(&searches);
    let eager = job_built(&searches, |b| b.lazy_subsearches(false));
    let ctx = cimhunt_spl::ExecCtx::default();
    let want = cimhunt_engine::finish_all(&eager, over_registry_writes(&eager), &ctx, 1);
    for (d, want) in want.into_iter().enumerate() {
        let states = over_registry_writes(&job).into_states(&job).unwrap();
        let mut recorded = Recorded {
            states: states.into_iter().enumerate().collect(),
            taken: Vec::new(),
        };
        let mut rows = Vec::new();
        cimhunt_engine::finish_tree_into(&job, d, &mut recorded, &ctx, &mut |chunk| {
            rows.append(chunk);
            Ok(())
        })
        .unwrap();
        let h = job.detections()[d].subsearches()[0];
        let order = if d == 0 {
            [(d, false), (h, false)]
        } else {
            [(h, false), (d, true)]
        };
        assert_eq!(recorded.taken, order, "detection {d}");
        assert!(!rows.is_empty());
        assert_eq!(Ok(rows), want, "detection {d}");
    }
}

/// Every command that reads a subsearch (a `search` term, `map`, a `join` inside `appendpipe`)
/// gets its rows when rows reach it, now that subsearches are finished when first read.
#[test]
fn each_command_that_reads_a_subsearch_is_given_its_rows_when_rows_reach_it() {
    let lua_hosts = "[| tstats count from datamodel=Endpoint.Registry \
                     where Registry.registry_value_name=EnableLUA by Registry.dest \
                     | rename Registry.dest as dest | table dest]";
    let searches = [
        format!(
            "| tstats count from datamodel=Endpoint.Registry by Registry.dest \
             | rename Registry.dest as dest | search {lua_hosts}"
        ),
        "| tstats count from datamodel=Endpoint.Registry by Registry.dest \
         | rename Registry.dest as dest | where dest=\"ws-3\" \
         | map search=\"search EventCode=13 host=$dest$\""
            .to_owned(),
        format!(
            "| tstats count from datamodel=Endpoint.Registry by Registry.dest \
             | rename Registry.dest as dest | where dest=\"ws-0\" \
             | appendpipe [| join dest {lua_hosts} | eval joined=1]"
        ),
    ];
    let searches: Vec<&str> = searches.iter().map(String::as_str).collect();
    let job = job(&searches);
    let states = over_registry_writes(&job);
    let rows: Vec<Vec<Row>> = cimhunt_engine::finish_all(&job, states, &Default::default(), 1)
        .into_iter()
        .map(|r| r.expect("rows"))
        .collect();
    // EnableLUA is written by every third event, on hosts ws-0, ws-3, ws-6 and ws-9.
    let mut hosts: Vec<String> = rows[0].iter().map(|r| get(r, "dest")).collect();
    hosts.sort();
    assert_eq!(hosts, ["ws-0", "ws-3", "ws-6", "ws-9"]);
    // ws-3 wrote 6 of the 72 events.
    assert_eq!(rows[1].len(), 6);
    assert!(rows[1].iter().all(|r| get(r, "host") == "ws-3"));
    // The ws-0 row, then its copy joined to the subsearch.
    assert_eq!(rows[2].len(), 2);
    assert_eq!(get(&rows[2][1], "joined"), "1");
}

/// Each detection's rows per half-hour window of a service fed the registry writes, taken
/// while a second input is still to come, then what the engine still held at the end.
fn windowed_rows(
    spill: Option<cimhunt_engine::SpillOptions>,
) -> (Vec<Vec<Row>>, cimhunt_engine::SpillReport) {
    let job = Arc::new(job(&[SPILLED[0], SPILLED[3], SPILLED[4]]));
    let mut options = Options {
        bucket_secs: Some(60),
        threads: 2,
        spill,
        ..Options::default()
    };
    options.reader.block_size = 4096;
    let engine = Engine::start(Arc::clone(&job), options.clone(), 4, Box::new(Quiet));
    let (i, m) = input("reg.log", many_registry_writes());
    engine.feed(i, m).unwrap();
    engine.flush();
    let from = 1_767_607_200; // 2026-01-05T10:00:00Z
    let ctx = options.exec_ctx();
    let mut rows = Vec::new();
    for (a, b) in [(from, from + 1800), (from + 1800, from + 3600)] {
        let mut states: std::collections::HashMap<usize, State> = Default::default();
        for d in 0..job.detections().len() {
            let det = &job.detections()[d];
            let mut window = State::new(det.agg().is_some());
            for (_, s) in engine.take(d, a, b).unwrap() {
                window.merge(det.agg(), s).unwrap();
            }
            states.insert(d, window);
        }
        for d in 0..job.visible().len() {
            rows.push(cimhunt_engine::finish_tree(&job, d, &mut states, &ctx).unwrap());
        }
    }
    let report = engine.spill_report();
    // Every bucket was taken: nothing is left, in memory or on disk.
    let left = engine.finish();
    let empty = left
        .states
        .into_states(&job)
        .unwrap()
        .iter()
        .all(|s| s.is_empty());
    assert!(empty);
    (rows, report)
}

#[test]
fn a_service_that_spills_gives_each_window_the_rows_of_one_that_does_not() {
    spilling_changes_no_row(windowed_rows);
}

/// A search term over a subsearch of more rows than a term reads (10,000): with lazy
/// subsearches the subsearch's rows are made only one past that (`finish.rs`, `first_rows`),
/// without them whole; the rows, and the warning that rows were cut, are the same.
#[test]
fn a_subsearch_cut_where_its_reader_stops_gives_the_rows_of_a_whole_one() {
    // 11,200 hosts, one registry write each; the subsearch keeps the 10,080 not ending in 7,
    // of which the term reads the first 10,000: up to ws-11110.
    let mut text = String::new();
    for i in 0..11_200 {
        text.push_str(&registry_set(
            &format!("ws-{i:05}"),
            "2026-01-05 10:00:00.000",
            "EnableLUA",
            "DWORD (0x00000000)",
        ));
    }
    let search = "| tstats count from datamodel=Endpoint.Registry \
                  where Registry.dest IN (ws-00001, ws-11110, ws-11111, ws-11117) \
                  by Registry.dest | rename Registry.dest as dest \
                  | search [| tstats count from datamodel=Endpoint.Registry by Registry.dest \
                  | rename Registry.dest as dest | where NOT like(dest, \"%7\") | fields dest]";
    let finished = |lazy: bool| {
        let job = job_built(&[search], |b| b.lazy_subsearches(lazy));
        let states = run(
            &job,
            &Options::default(),
            vec![input("reg.log", text.clone())],
            &mut Quiet,
        )
        .states;
        let ctx = cimhunt_spl::ExecCtx::default().with_own_warnings();
        let rows = cimhunt_engine::finish_all(&job, states, &ctx, 1)
            .remove(0)
            .expect("rows");
        let dests: Vec<String> = rows.iter().map(|r| get(r, "dest")).collect();
        (dests, ctx.take_warnings())
    };
    let (cut, cut_warnings) = finished(true);
    let (whole, whole_warnings) = finished(false);
    assert_eq!(cut, ["ws-00001", "ws-11110"]);
    assert_eq!(cut, whole);
    assert_eq!(cut_warnings, whole_warnings);
    assert!(
        cut_warnings
            .iter()
            .any(|w| w.contains("returned more than 10000 rows")),
        "{cut_warnings:?}"
    );
}

/// `Engine::takes_much` counts the state the workers hold (by their estimate) as well as the
/// parts on disk, against a quarter of the state budget; without a budget, never.
#[test]
fn a_window_takes_much_by_the_state_held_in_memory_too() {
    let job = Arc::new(job(&[SPILLED[0]]));
    let engine_with = |budget: Option<usize>| {
        let dir = tempfile::tempdir().unwrap();
        let mut options = Options {
            bucket_secs: Some(60),
            threads: 2,
            spill: budget.map(|budget_bytes| cimhunt_engine::SpillOptions {
                dir: dir.path().to_path_buf(),
                budget_bytes,
            }),
            ..Options::default()
        };
        options.reader.block_size = 4096;
        let engine = Engine::start(Arc::clone(&job), options, 4, Box::new(Quiet));
        let (i, m) = input("reg.log", many_registry_writes());
        engine.feed(i, m).unwrap();
        engine.flush();
        (engine, dir)
    };
    // The state's size, merged.
    let (engine, _dir) = engine_with(None);
    assert!(!engine.takes_much(&[0], 0), "no budget");
    let held: usize = engine
        .take(0, i64::MIN, i64::MAX)
        .unwrap()
        .iter()
        .map(|(_, s)| s.approx_bytes())
        .sum();
    assert!(held > 0);
    // A budget of three times that: nothing goes to disk, and what the workers hold is more
    // than a quarter of it.
    let (engine, _dir) = engine_with(Some(3 * held));
    assert_eq!(engine.spill_report().parts, 0);
    assert!(engine.takes_much(&[0], 0));
    // Sixteen times: less than a quarter, even if each worker held all of it.
    let (engine, _dir) = engine_with(Some(16 * held));
    assert!(!engine.takes_much(&[0], 0));
    // Everything on disk (a budget of one byte): the parts count.
    let (engine, _dir) = engine_with(Some(1));
    assert!(engine.spill_report().parts > 0);
    assert!(engine.takes_much(&[0], 0));
    // Taken out (as a service takes a state that detections share, for the others' windows),
    // it counts where it is held: beside the engine.
    let on_disk = engine.spill_report().bytes;
    let taken = engine.take_parts(0, i64::MIN, i64::MAX).unwrap();
    // Its size counts the parts read back from disk.
    assert!(taken.bytes() >= on_disk, "{} < {on_disk}", taken.bytes());
    assert!(!engine.takes_much(&[0], 0));
    assert!(engine.takes_much(&[0], taken.bytes()));
}
