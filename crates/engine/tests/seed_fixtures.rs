//! The seed detection end to end (read → decode → normalize → match → aggregate → stages) over
//! the project's own fixtures in `tests/fixtures/seed`, compared field by field with the rows the
//! spec predicts. The same rows must come out whatever the thread count and with or without the
//! prefilter.

use std::path::{Path, PathBuf};

use std::sync::{Arc, OnceLock};

use cimhunt_content::embedded_default;
use cimhunt_engine::{Job, Meta, Options, Quiet, finish, run};
use cimhunt_model::Model;
use cimhunt_read::Input;
use cimhunt_spl::{Row, Sym, Value, compile};

fn model() -> Arc<Model> {
    static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| Arc::new(Model::escu().expect("the default profile compiles"))))
}

/// The seed's job, with or without the prefilter.
fn seed_job(prefilter: bool) -> Job {
    let (detection, macros) = embedded_default();
    let m = model();
    let compiled = compile(&detection.search, &macros, m.as_ref()).expect("seed compiles");
    Job::builder(m)
        .detection(detection.name.clone(), compiled.plan, &compiled.expanded)
        .prefilter(prefilter)
        .build()
        .expect("seed job")
}

/// The rows of the job's one detection over the inputs, and the run's counters.
fn rows_of(job: &Job, options: &Options, inputs: Vec<Input>) -> (Vec<Row>, cimhunt_engine::Stats) {
    let inputs = inputs.into_iter().map(|i| (i, Meta::default())).collect();
    let result = run(job, options, inputs, &mut Quiet);
    let state = result
        .states
        .into_states(job)
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let rows = finish(&job.detections()[0], state, &options.exec_ctx()).unwrap();
    (rows, result.stats)
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed");
    ["sysmon.log", "security.log", "crowdstrike.jsonl"]
        .iter()
        .map(|f| dir.join(f))
        .collect()
}

fn seed_rows(threads: usize, prefilter: bool, block_size: Option<usize>) -> (Vec<Row>, u64) {
    let job = seed_job(prefilter);
    let mut options = Options {
        threads,
        ..Options::default()
    };
    if let Some(size) = block_size {
        options.reader.block_size = size;
    }
    let inputs = fixtures().into_iter().map(Input::path).collect();
    let (rows, stats) = rows_of(&job, &options, inputs);
    assert_eq!(stats.skipped_records, 0);
    (rows, stats.events)
}

/// One expected row, columns in the seed's output order.
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
    count: u64,
    first: &str,
    last: &str,
) -> Row {
    let text = |s: &str| Value::from_field(s.to_owned());
    [
        ("dest", text(dest)),
        ("user", text(user)),
        ("parent_process_name", text(parent)),
        ("process_name", text(name)),
        ("original_file_name", text(original)),
        ("process", text(process)),
        ("process_id", text(pid)),
        ("parent_process_id", text(ppid)),
        ("count", Value::num(count as f64)),
        ("firstTime", Value::str(first.to_owned())),
        ("lastTime", Value::str(last.to_owned())),
    ]
    .into_iter()
    .map(|(n, v)| (Sym::new(n), v))
    .collect()
}

fn expected() -> Vec<Row> {
    vec![
        // Upper/mixed-case binary and scheme: matched case-insensitively, shown as written.
        row(
            "a-mixedcase",
            "ana",
            "cmd.exe",
            "MsiExec.EXE",
            "msiexec.exe",
            "MsiExec.EXE /I HTTPS://Mixed.Example/Pkg.MSI /qn",
            "100",
            "10",
            1,
            "2026-01-05T10:00:00",
            "2026-01-05T10:00:00",
        ),
        // A renamed binary, caught only by original_file_name.
        row(
            "b-renamed",
            "ben",
            "services.exe",
            "inst.exe",
            "msiexec.exe",
            "inst.exe /i http://r.example/x.msi",
            "200",
            "20",
            1,
            "2026-01-05T10:01:00",
            "2026-01-05T10:01:00",
        ),
        // (c-unc: a UNC path, d-malformed: `http:/`, e-parent-only: the URL is only in the
        // parent's command line — no rows.)
        // Two events in one group.
        row(
            "f-group",
            "fay",
            "cmd.exe",
            "msiexec.exe",
            "msiexec.exe",
            "msiexec /i http://g.example/a.msi",
            "600",
            "60",
            2,
            "2026-01-05T10:05:00",
            "2026-01-05T10:09:30",
        ),
        // Entities stay escaped, as in XmlWinEventLog.
        row(
            "g-entities",
            "gil",
            "cmd.exe",
            "msiexec.exe",
            "msiexec.exe",
            r#"msiexec /i "http://e.example/a.msi?x=1&amp;y=2" &amp;&amp; echo &lt;done&gt;"#,
            "800",
            "80",
            1,
            "2026-01-05T10:10:00",
            "2026-01-05T10:10:00",
        ),
        // Non-ASCII text.
        row(
            "h-unicode",
            "Zoë",
            "explorer.exe",
            "msiexec.exe",
            "msiexec.exe",
            "msiexec /i https://ü.example/файл.msi",
            "900",
            "90",
            1,
            "2026-01-05T10:11:00",
            "2026-01-05T10:11:00",
        ),
        // Security 4688: command line rebuilt on NewProcessName, hex ids, no original_file_name.
        row(
            "i-security",
            "bob",
            "explorer.exe",
            "msiexec.exe",
            "unknown",
            r"C:\Windows\System32\msiexec.exe /i https://w.example/a.msi",
            "0x1f4",
            "0x2a",
            1,
            "2026-01-05T11:00:00",
            "2026-01-05T11:00:00",
        ),
        // CrowdStrike ProcessRollup2.
        row(
            "j-crowdstrike",
            "kim",
            "winword.exe",
            "msiexec.exe",
            "unknown",
            "msiexec.exe /package http://c.example/a.msi",
            "1212",
            "987654321",
            1,
            "2026-01-05T12:00:00",
            "2026-01-05T12:00:00",
        ),
    ]
}

#[test]
fn seed_detection_returns_exactly_the_predicted_rows() {
    let (rows, process_events) = seed_rows(1, true, None);
    assert_eq!(rows, expected());
    // Process events decoded: the prefilter let only msiexec records through (all but the
    // fixture whose process is notepad.exe, which mentions msiexec in its parent).
    assert_eq!(process_events, 11);
}

#[test]
fn rows_are_identical_across_threads_block_sizes_and_prefilter() {
    let reference = expected();
    for threads in [1, 2, 4] {
        for prefilter in [true, false] {
            for block in [None, Some(4096), Some(97)] {
                let (rows, _) = seed_rows(threads, prefilter, block);
                assert_eq!(
                    rows, reference,
                    "threads {threads}, prefilter {prefilter}, block {block:?}"
                );
            }
        }
    }
}

/// The text prefilter turns itself off for batches where nearly every record passes it, and
/// stays on where they do not. Rows must not change: 12,000 msiexec events with URLs
/// (everything passes), then 12,000 without msiexec (nothing passes), then 12,000 of which 95%
/// pass, on 1 and 2 threads.
#[test]
fn adaptive_prefilter_gives_the_same_rows() {
    let template = std::fs::read_to_string(fixtures()[0].clone()).unwrap();
    let line = template
        .lines()
        .find(|l| l.contains("f-group"))
        .unwrap()
        .to_owned();
    let mut text = String::new();
    for i in 0..36_000u32 {
        let url = i < 12_000 || (i >= 24_000 && i % 20 != 0);
        let mut l = line.replace(">600<", &format!(">{}<", 10_000 + i));
        l = l.replace("f-group", &format!("host-{}", i % 7));
        if !url {
            l = l.replace("msiexec", "notepad");
        }
        text.push_str(&l);
        text.push('\n');
    }
    let rows = |threads: usize, prefilter: bool| {
        let job = seed_job(prefilter);
        let mut options = Options {
            threads,
            ..Options::default()
        };
        options.reader.block_size = 64 << 10;
        let input = Input::reader(
            "synthetic",
            Box::new(std::io::Cursor::new(text.clone().into_bytes())),
        );
        let (rows, stats) = rows_of(&job, &options, vec![input]);
        (rows, stats.prefiltered)
    };
    let (reference, none) = rows(1, false);
    assert_eq!(none, 0);
    assert_eq!(reference.len(), 23_400);
    let mut counts = Vec::new();
    for threads in [1, 2] {
        let (got, skipped) = rows(threads, true);
        // All 12,000 of the middle third are skipped; of the last third's 600 non-matching
        // records only those in each batch's probe are, the rest are decoded and not matched.
        assert!(
            skipped >= 12_000,
            "the prefilter stayed off: {skipped} skipped"
        );
        assert!(
            skipped < 12_600,
            "the prefilter stayed on while 95% passed: {skipped}"
        );
        assert_eq!(got, reference, "threads {threads}");
        counts.push(skipped);
    }
    assert_eq!(
        counts[0], counts[1],
        "which records are checked depends on threads"
    );
}
