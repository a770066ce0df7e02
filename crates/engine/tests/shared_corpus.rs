//! The whole read → decode → present chain over the real corpora in `../shared`
//! (run with `cargo test -- --ignored`; they fail loudly when `../shared` is missing).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cimhunt_engine::{EventsView, Job, Meta, Observer, Options, Origin, RecordError, run};
use cimhunt_model::Model;
use cimhunt_read::{Input, expand_paths};
use cimhunt_spl::{Sym, Value};

fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| Arc::new(Model::escu().expect("the default profile"))))
}

fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.is_dir(),
        "{} not found: these tests need ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Collects the events of `Endpoint.Processes` (as text maps) and errors.
#[derive(Default)]
struct Collect {
    events: Vec<BTreeMap<String, String>>,
    errors: Vec<String>,
}

impl Observer for Collect {
    fn error(&mut self, error: &RecordError) {
        self.errors.push(error.to_string());
    }
    fn event(&mut self, _origin: &Origin, fields: &[(Sym, Value<'static>)]) {
        let mut map = BTreeMap::new();
        for (name, value) in fields {
            let values: Vec<String> = value.texts().map(|t| t.into_owned()).collect();
            if name.as_str() == "_time" {
                // evtx_dump's JSON twins carry 6 fractional digits, EVTX 7: compare
                // microseconds.
                let t = cimhunt_spl::Timestamp::parse_epoch_secs(&values.join("")).ok();
                let micros = t.map(|t| t.as_nanos().div_euclid(1000)).unwrap_or(i64::MIN);
                map.insert("_time_us".to_owned(), micros.to_string());
            } else if !values.is_empty() {
                map.insert(name.as_str().to_owned(), values.join("\u{1}"));
            }
        }
        self.events.push(map);
    }
}

/// Runs no detection over the inputs and collects every event as `view` shows it.
fn collect_view(
    inputs: Vec<Input>,
    threads: usize,
    view: EventsView,
) -> (Collect, cimhunt_engine::Stats) {
    let m = model();
    let mut b = Job::builder(Arc::clone(&m))
        .prefilter(false)
        .all_fields(view == EventsView::Raw);
    if let EventsView::Dataset(ds) = view {
        b = b.show_dataset(ds);
    }
    let job = b.build().unwrap();
    let options = Options {
        threads,
        events: view,
        ..Options::default()
    };
    let mut c = Collect::default();
    let inputs = inputs.into_iter().map(|i| (i, Meta::default())).collect();
    let result = run(&job, &options, inputs, &mut c);
    (c, result.stats)
}

/// The `Endpoint.Processes` events of the inputs.
fn collect(inputs: Vec<Input>, threads: usize) -> (Collect, cimhunt_engine::Stats) {
    let ds = model().dataset("Endpoint.Processes").expect("Processes");
    collect_view(inputs, threads, EventsView::Dataset(ds))
}

/// Counts Sysmon EID 1 and Security 4688 records with the `evtx` crate directly, independently of
/// the code under test.
fn independent_count(path: &Path) -> u64 {
    let settings = evtx::ParserSettings::default().num_threads(1);
    let Ok(parser) = evtx::EvtxParser::from_path(path) else {
        return 0;
    };
    let mut parser = parser.with_configuration(settings);
    let mut n = 0;
    for record in parser.records_json_value().flatten() {
        let system = &record.data["Event"]["System"];
        let provider = system["Provider"]["#attributes"]["Name"]
            .as_str()
            .unwrap_or("");
        let id = match &system["EventID"] {
            serde_json::Value::Number(n) => n.as_u64(),
            other => other["#text"].as_u64(),
        };
        if (provider == "Microsoft-Windows-Sysmon" && id == Some(1))
            || (provider == "Microsoft-Windows-Security-Auditing" && id == Some(4688))
        {
            n += 1;
        }
    }
    n
}

#[test]
#[ignore = "needs ../shared"]
fn every_evtx_file_reads_and_yields_each_process_creation_record() {
    let dir = shared().join("corpus/evtx");
    let evtx = files(&dir, "evtx");
    assert!(
        evtx.len() > 500,
        "expected the 593 corpus files, found {}",
        evtx.len()
    );
    let expected: u64 = evtx.iter().map(|p| independent_count(p)).sum();
    let (inputs, errors) = expand_paths(&[&dir]);
    assert!(errors.is_empty(), "{errors:?}");
    let (collected, stats) = collect_view(inputs, 2, EventsView::Raw);
    let creations = collected
        .events
        .iter()
        .filter(|e| {
            let source = e.get("source").map(String::as_str).unwrap_or("");
            let code = e.get("EventCode").map(String::as_str).unwrap_or("");
            (source == "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" && code == "1")
                || (source == "XmlWinEventLog:Security" && code == "4688")
        })
        .count() as u64;
    println!(
        "{} files, {} records, {} events, {creations} process creations (independent count \
         {expected}), {} skipped",
        stats.inputs, stats.records, stats.events, stats.skipped_records
    );
    for e in collected.errors.iter().take(20) {
        println!("skipped: {e}");
    }
    assert_eq!(creations, expected);
    assert_eq!(collected.events.len() as u64, stats.events);
    assert_eq!(stats.records, stats.events + stats.skipped_records);
    assert_eq!(stats.inputs, evtx.len() as u64);
    assert_eq!(
        expected, 2887,
        "the corpus README counts 1,521 + 1,366 process-creation records"
    );
}

#[test]
#[ignore = "needs ../shared"]
fn sigma_regression_evtx_and_json_twins_normalize_to_identical_events() {
    let dir = shared().join("corpus/sigma_regression");
    let mut compared = 0;
    let mut pairs = 0;
    let mut trimmed = 0;
    for evtx in files(&dir, "evtx") {
        let json = evtx.with_extension("json");
        if !json.exists() {
            continue;
        }
        pairs += 1;
        let (from_evtx, s1) = collect(vec![Input::path(&evtx)], 1);
        let (from_json, s2) = collect(vec![Input::path(&json)], 1);
        assert!(
            from_evtx.errors.is_empty() && from_json.errors.is_empty(),
            "{}",
            evtx.display()
        );
        assert_eq!(
            from_evtx.events.len(),
            from_json.events.len(),
            "{}",
            evtx.display()
        );
        assert_eq!(s1.events, s2.events, "{}", evtx.display());
        let (mut a, mut b) = (from_evtx.events, from_json.events);
        a.sort_by_key(key);
        b.sort_by_key(key);
        for (x, y) in a.iter().zip(&b) {
            trimmed += same_event(x, y, &evtx);
        }
        assert_eq!(a.len(), b.len());
        compared += a.len();
    }
    println!(
        "{pairs} EVTX/JSON pairs, {compared} process events compared field by field; \
         {trimmed} values differ only by whitespace the twin trimmed or a listed twin defect"
    );
    assert!(
        pairs > 150 && compared > 50,
        "{pairs} pairs, {compared} events"
    );
}

/// Values where a JSON twin does not match its EVTX file for a reason other than trimming (the
/// twin was evidently edited): (file stem, field, EVTX value, JSON value).
const TWIN_DEFECTS: &[(&str, &str, &str, &str)] = &[(
    "ad691d92-15f2-4181-9aa4-723c74f9ddc3",
    "parent_process",
    r"C:\Windows\Explorer.EXE",
    r"C:\Windows\Explorer.exe",
)];

/// Orders events by time and process GUID, which both forms carry identically.
fn key(e: &BTreeMap<String, String>) -> (String, String) {
    let get = |k: &str| e.get(k).cloned().unwrap_or_default();
    (get("_time_us"), get("process_guid"))
}

/// Asserts two events have the same fields and values. The JSON twins were dumped by a tool
/// that trimmed leading and trailing whitespace from text values (the EVTX files keep it, as
/// Windows renders it, e.g. `"...\\powershell.exe" ` as a ParentCommandLine); a value that
/// differs only that way is accepted and counted. Returns how many such values there were.
fn same_event(
    evtx: &BTreeMap<String, String>,
    json: &BTreeMap<String, String>,
    file: &Path,
) -> usize {
    assert_eq!(
        evtx.keys().collect::<Vec<_>>(),
        json.keys().collect::<Vec<_>>(),
        "{}",
        file.display()
    );
    let mut trimmed = 0;
    for (k, v) in evtx {
        let w = &json[k];
        if v == w {
            continue;
        }
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let known = TWIN_DEFECTS.contains(&(stem, k.as_str(), v.as_str(), w.as_str()));
        assert!(
            v.trim() == w || known,
            "{}: field {k}: EVTX {v:?}, JSON twin {w:?}",
            file.display()
        );
        trimmed += 1;
    }
    trimmed
}

/// Every ESCU detection that compiles, with the prefilter, gating, key filters, shared states,
/// subsearches finished only when read, spilling (a small state budget) and dead fields left out
/// of the plans on, and with them off (every command and aggregate kept), over the EVTX corpus
/// and the seed fixtures: the rows must be identical.
#[test]
#[ignore = "needs ../shared"]
fn all_runnable_detections_give_the_same_rows_with_and_without_prefilter_gating_key_filters_and_spilling()
 {
    use cimhunt_content::{ContentOptions, ContentSet};
    use cimhunt_engine::finish_all;

    let m = model();
    let content = shared().join("content/security_content");
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(content.clone()),
        detections: vec![content.join("detections")],
        macro_files: Vec::new(),
    })
    .expect("content loads");
    let compiled: Vec<_> = set
        .detections
        .iter()
        .filter_map(|d| {
            let pruned = cimhunt_spl::compile(&d.search, &set.macros, m.as_ref()).ok()?;
            let whole = cimhunt_spl::analyze(&d.search, &set.macros, m.as_ref())
                .and_then(|a| a.into_compiled_unpruned())
                .expect("compiles as it did pruned");
            Some((d.name.clone(), pruned, whole))
        })
        .collect();
    assert!(
        compiled.len() >= 440,
        "{} detections compiled",
        compiled.len()
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    let inputs = || {
        let (mut inputs, errors) = expand_paths(&[shared().join("corpus/evtx"), fixtures.clone()]);
        assert!(errors.is_empty());
        inputs.sort_by_key(|i| i.name.to_string());
        inputs
            .into_iter()
            .map(|i| (i, Meta::default()))
            .collect::<Vec<_>>()
    };
    type Both = (String, cimhunt_spl::Compiled, cimhunt_spl::Compiled);
    let rows = |subset: &[&Both], fast: bool| {
        let mut b = Job::builder(Arc::clone(&m))
            .prefilter(fast)
            .gate(fast)
            .key_filter(fast)
            .share_states(fast)
            .lazy_subsearches(fast);
        for (name, pruned, whole) in subset {
            let c = if fast { pruned } else { whole };
            b = b.detection(name.clone(), c.plan.clone(), &c.expanded);
        }
        let job = b.build().unwrap();
        let keyed = job
            .detections()
            .iter()
            .filter(|d| d.key_filter().is_some())
            .count();
        let at_finish = job
            .detections()
            .iter()
            .filter(|d| d.finish_filter().is_some())
            .count();
        if fast && subset.len() == compiled.len() {
            println!(
                "{keyed} detections decide groups by their keys, {at_finish} more after merging"
            );
            assert!(keyed >= 80, "only {keyed} detections have a key filter");
            assert!(
                at_finish >= 10,
                "only {at_finish} detections filter at finish"
            );
        } else if !fast {
            assert_eq!((keyed, at_finish), (0, 0));
        }
        let shared = (0..job.detections().len())
            .filter(|&d| job.alias_of(d).is_some())
            .count();
        if fast && subset.len() == compiled.len() {
            println!("{shared} detections share another's state");
            assert!(shared >= 10, "only {shared} detections share a state");
        }
        let spill_dir = tempfile::tempdir().unwrap();
        let options = Options {
            spill: fast.then(|| cimhunt_engine::SpillOptions {
                dir: spill_dir.path().to_path_buf(),
                budget_bytes: 256 << 10,
            }),
            ..Options::default()
        };
        let result = run(&job, &options, inputs(), &mut cimhunt_engine::Quiet);
        let spilled = result.states.spill_report().clone();
        assert_eq!(spilled.error, None);
        if fast && subset.len() == compiled.len() {
            println!(
                "{} partial states ({} bytes) spilled beyond a 256 KiB budget",
                spilled.parts, spilled.bytes
            );
            assert!(spilled.parts > 0, "nothing spilled");
        }
        let rows = finish_all(&job, result.states, &options.exec_ctx(), 2);
        let rows: Vec<_> = rows.into_iter().map(|r| r.expect("rows")).collect();
        (rows, result.stats.prefiltered, job.prefilter().is_active())
    };
    let all: Vec<_> = compiled.iter().collect();
    let (fast, _, _) = rows(&all, true);
    let (slow, _, _) = rows(&all, false);
    let total: usize = slow.iter().map(Vec::len).sum();
    let left_out = compiled
        .iter()
        .filter(|c| !c.1.plan.left_out.is_empty())
        .count();
    println!(
        "{} detections, {total} rows; {left_out} leave out fields nothing reads",
        all.len()
    );
    // Nine: `Windows Known Abused DLL Loaded Suspiciously` was a tenth until its
    // `stats values(*) as *` was read as the wildcard it is, which reads what it left out.
    assert!(
        left_out >= 9,
        "only {left_out} detections leave something out"
    );
    assert!(total > 0, "the corpus gives some rows");
    assert_eq!(fast, slow);
    // The fewer detections, the more the prefilter skips: try several subsets.
    let mut most_skipped = 0;
    for step in [1, 7, 29] {
        let subset: Vec<_> = all.iter().copied().step_by(step).collect();
        let (fast, skipped, active) = rows(&subset, true);
        let (slow, _, _) = rows(&subset, false);
        println!(
            "{} detections: prefilter active {active}, {skipped} records skipped undecoded",
            subset.len()
        );
        assert_eq!(fast, slow, "every {step}th detection");
        most_skipped = most_skipped.max(skipped);
    }
    println!("most records skipped by the prefilter: {most_skipped}");
}
