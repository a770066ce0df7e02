//! End-to-end tests of the `cimhunt` binary: the commands as a user runs them.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn cimhunt() -> Command {
    let mut cmd = Command::cargo_bin("cimhunt").expect("binary builds");
    cmd.env_remove("CIMHUNT_CONTENT").env("NO_COLOR", "1");
    cmd
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample")
        .join(name)
}

fn json_rows(stdout: &[u8]) -> Vec<Value> {
    let v: Value = serde_json::from_slice(stdout).expect("stdout is JSON");
    v.as_array().expect("an array of rows").clone()
}

fn dests(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["dest"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn hunt_with_no_arguments_runs_the_default_over_the_embedded_sample() {
    let out = cimhunt()
        .args(["hunt", "--format", "json"])
        .assert()
        .success();
    let rows = json_rows(&out.get_output().stdout);
    assert_eq!(
        dests(&rows),
        [
            "LT-SALES-11",
            "srv-app-02.corp.example",
            "ws-fin-07.corp.example",
            "ws-hr-03.corp.example"
        ]
    );
    for r in &rows {
        assert_eq!(r["detection"], "Windows MSIExec Remote Download");
        assert_eq!(r["count"], 1, "count is a number");
    }
    // The renamed binary is caught by original_file_name; the 4688 command line is rebuilt.
    assert_eq!(rows[1]["process_name"], "update.exe");
    assert_eq!(
        rows[3]["process"],
        r"C:\Windows\System32\msiexec.exe /i https://cdn.example.org/pkg/setup.msi /qn"
    );
    assert_eq!(rows[3]["process_id"], "0x1a4c");
    assert_eq!(rows[3]["original_file_name"], "unknown");
}

#[test]
fn hunt_table_output_and_summary() {
    cimhunt()
        .arg("hunt")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Windows MSIExec Remote Download — 4 rows",
        ))
        .stdout(predicate::str::contains("update.example.net"))
        .stderr(predicate::str::contains(
            "1 detection run, 4 matches, 4 rows",
        ))
        .stderr(predicate::str::contains("detections finished in").not());
}

#[test]
fn risk_events_for_every_risk_object_of_every_row() {
    let dir = tempdir();
    let risk = dir.path().join("risk.jsonl");
    let notable = dir.path().join("notable.jsonl");
    cimhunt()
        .args(["hunt", "--format", "jsonl", "--risk"])
        .arg(&risk)
        .arg("--notable")
        .arg(&notable)
        .assert()
        .success()
        .stderr(predicate::str::contains("8 risk events"));
    let text = fs::read_to_string(&risk).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 8);
    for e in &events {
        assert_eq!(e["risk_score"], 35);
        assert!(!e["risk_message"].as_str().unwrap().contains('$'));
        assert_eq!(e["annotations"]["mitre_attack"][0], "T1218.007");
        assert_eq!(e["annotations"]["kill_chain_phases"][0], "Exploitation");
        assert_eq!(
            e["threat_object_type"],
            serde_json::json!(["process", "process"])
        );
    }
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["risk_object_type"].as_str().unwrap())
        .collect();
    assert_eq!(types.iter().filter(|t| **t == "user").count(), 4);
    assert_eq!(types.iter().filter(|t| **t == "system").count(), 4);
    assert_eq!(fs::read_to_string(&notable).unwrap().lines().count(), 4);
}

#[test]
fn a_filter_macro_override_removes_exactly_those_rows() {
    let dir = tempdir();
    let yaml = dir.path().join("filter.yml");
    fs::write(
        &yaml,
        "name: windows_msiexec_remote_download_filter\ndefinition: search NOT dest IN (\"ws-*\")\n",
    )
    .unwrap();
    let out = cimhunt()
        .args(["hunt", "-f", "json", "--macros"])
        .arg(&yaml)
        .assert()
        .success();
    assert_eq!(
        dests(&json_rows(&out.get_output().stdout)),
        ["LT-SALES-11", "srv-app-02.corp.example"]
    );

    let conf = dir.path().join("macros.conf");
    fs::write(
        &conf,
        "[windows_msiexec_remote_download_filter]\ndefinition = search parent_process_name!=cmd.exe\n",
    )
    .unwrap();
    let out = cimhunt()
        .args(["hunt", "-f", "json", "--macros"])
        .arg(&conf)
        .assert()
        .success();
    assert_eq!(
        dests(&json_rows(&out.get_output().stdout)),
        ["LT-SALES-11", "srv-app-02.corp.example"]
    );
}

#[test]
fn fail_on_match_exits_1_only_when_rows_are_produced() {
    cimhunt().args(["hunt", "--fail-on-match"]).assert().code(1);
    let dir = tempdir();
    let quiet = dir.path().join("quiet.log");
    let log = fs::read_to_string(sample("sysmon.log")).unwrap();
    let benign: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("http://update") && !l.contains("https://"))
        .collect();
    fs::write(&quiet, benign.join("\n")).unwrap();
    cimhunt()
        .args(["hunt", "--fail-on-match"])
        .arg(&quiet)
        .assert()
        .code(0);
}

#[test]
fn missing_path_is_an_error_naming_it_and_the_rest_still_runs() {
    cimhunt()
        .args(["hunt", "-f", "jsonl", "no/such/file.log"])
        .arg(sample("sysmon.log"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/file.log"))
        .stdout(predicate::str::contains("ws-fin-07.corp.example"));
}

#[test]
fn a_bad_detection_file_is_reported_and_the_others_still_run() {
    let dir = tempdir();
    let not_detection = dir.path().join("notes.yml");
    fs::write(&not_detection, "title: just some yaml\n").unwrap();
    let broken = dir.path().join("broken.yml");
    fs::write(
        &broken,
        "name: Broken\nsearch: '| tstats count from datamodel=Endpoint.Processes where (Processes.process_name=x by Processes.dest'\n",
    )
    .unwrap();
    let good = dir.path().join("good.yml");
    fs::write(
        &good,
        "name: Any msiexec\nsearch: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=msiexec.exe by Processes.dest | `drop_dm_object_name(Processes)`'\n",
    )
    .unwrap();
    cimhunt()
        .args(["hunt", "-f", "jsonl", "-d"])
        .arg(&not_detection)
        .arg("-d")
        .arg(&broken)
        .arg("-d")
        .arg(&good)
        .arg(sample("sysmon.log"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("notes.yml"))
        .stderr(predicate::str::contains("broken.yml"))
        .stderr(predicate::str::contains("unbalanced parenthesis at 1:56"))
        .stdout(predicate::str::contains("\"detection\":\"Any msiexec\""));
}

#[test]
fn events_show_the_data_model_view_with_origins() {
    let out = cimhunt()
        .args(["events", "-f", "jsonl"])
        .arg(sample("security.log"))
        .assert()
        .success();
    let lines: Vec<Value> = std::str::from_utf8(&out.get_output().stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    assert_eq!(first["_time"], "2026-11-25T10:05:31.250118600Z");
    assert_eq!(first["user"], "asmith");
    assert_eq!(first["parent_process"], r"C:\Windows\System32\cmd.exe");
    assert_eq!(first["original_file_name"], "unknown");
    assert_eq!(first["_line"], 1);
    assert_eq!(first["_record"], 1);
    assert!(first["_input"].as_str().unwrap().ends_with("security.log"));
}

#[test]
fn stdin_and_gzip_inputs() {
    let log = fs::read(sample("sysmon.log")).unwrap();
    cimhunt()
        .args(["hunt", "-f", "jsonl", "-"])
        .write_stdin(log.clone())
        .assert()
        .success()
        .stdout(predicate::str::contains("ws-fin-07.corp.example"));
    let dir = tempdir();
    let gz = dir.path().join("sysmon.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &log).unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    cimhunt()
        .args(["hunt", "-f", "jsonl"])
        .arg(&gz)
        .assert()
        .success()
        .stdout(predicate::str::contains("srv-app-02.corp.example"));
}

/// A truncated gzip file is an input that could not be read to its end: an error and exit 2,
/// wherever the cut falls. It used to count as a skipped record (exit 0) when the cut fell
/// inside a record, and the other inputs must still be read.
#[test]
fn truncated_gzip_fails_the_run_wherever_it_is_cut() {
    let log = fs::read(sample("sysmon.log")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, &log).unwrap();
    let gz = enc.finish().unwrap();
    let dir = tempdir();
    for cut in [gz.len() / 3, gz.len() / 2, gz.len() - 9] {
        let path = dir.path().join(format!("cut{cut}.log.gz"));
        fs::write(&path, &gz[..cut]).unwrap();
        cimhunt()
            .args(["hunt", "-f", "jsonl"])
            .arg(&path)
            .arg(sample("sysmon.log"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "error: {}",
                path.display()
            )))
            .stderr(predicate::str::contains("1 input could not be read"))
            .stdout(predicate::str::contains("srv-app-02.corp.example"));
    }
}

#[test]
fn strict_turns_skipped_records_into_exit_2() {
    let dir = tempdir();
    let bad = dir.path().join("bad.log");
    let mut text = fs::read_to_string(sample("sysmon.log")).unwrap();
    text.push_str(
        "<Event xmlns='x'><System><EventID>1</EventID></Sys><Data>msiexec.exe</Data></Event>\n",
    );
    fs::write(&bad, text).unwrap();
    cimhunt()
        .args(["hunt", "-f", "jsonl"])
        .arg(&bad)
        .assert()
        .success()
        .stderr(predicate::str::contains("bad.log:7"))
        .stderr(predicate::str::contains("1 skipped records"));
    cimhunt()
        .args(["hunt", "--strict", "-f", "jsonl"])
        .arg(&bad)
        .assert()
        .code(2);
}

/// A damaged record that no detection could match may be skipped undecoded by the prefilter,
/// so without `--strict` its damage can go unseen; `--strict` must decode it and fail.
#[test]
fn strict_sees_damage_in_records_the_prefilter_would_skip() {
    let dir = tempdir();
    let bad = dir.path().join("bad.log");
    let mut text = fs::read_to_string(sample("sysmon.log")).unwrap();
    text.push_str(
        "<Event xmlns='x'><System><EventID>1</EventID></Sys><Data>notepad</Data></Event>\n",
    );
    fs::write(&bad, text).unwrap();
    cimhunt()
        .args(["hunt", "-f", "jsonl"])
        .arg(&bad)
        .assert()
        .success();
    cimhunt()
        .args(["hunt", "--strict", "-f", "jsonl"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.log:7"))
        .stderr(predicate::str::contains("1 skipped records"));
}

#[test]
fn explain_prints_the_expanded_search_and_the_literals() {
    cimhunt()
        .arg("explain")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Processes.process_name=msiexec.exe",
        ))
        .stdout(predicate::str::contains("prefilter: "));
}

/// A splunk/attack_data checkout with the seed's dataset at its URL's path.
fn attack_data(contents: &[u8]) -> tempfile::TempDir {
    let dir = tempdir();
    let path = dir
        .path()
        .join("datasets/attack_techniques/T1218.007/atomic_red_team/windows-sysmon.log");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, contents).unwrap();
    dir
}

#[test]
fn test_command_passes_fails_and_reports_unavailable_datasets() {
    let tp = attack_data(&fs::read(sample("sysmon.log")).unwrap());
    let junit = tp.path().join("junit.xml");
    cimhunt()
        .args(["test", "--attack-data"])
        .arg(tp.path())
        .arg("--junit")
        .arg(&junit)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "PASS  Windows MSIExec Remote Download › True Positive Test",
        ));
    assert!(
        fs::read_to_string(&junit)
            .unwrap()
            .contains("failures=\"0\"")
    );

    let log = fs::read_to_string(sample("sysmon.log")).unwrap();
    let none: Vec<&str> = log
        .lines()
        .filter(|l| !l.contains("://update") && !l.contains("https://"))
        .collect();
    let fp = attack_data(none.join("\n").as_bytes());
    cimhunt()
        .args(["test", "--attack-data"])
        .arg(fp.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "FAIL  Windows MSIExec Remote Download",
        ));

    let lfs =
        attack_data(b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 2700000\n");
    // Nothing ran: not a success (it used to exit 0).
    cimhunt()
        .args(["test", "--attack-data"])
        .arg(lfs.path())
        .assert()
        .code(2)
        .stdout(predicate::str::contains("dataset unavailable"))
        .stdout(predicate::str::contains(
            "0 passed, 0 failed, 0 errors, 1 dataset unavailable",
        ))
        .stderr(predicate::str::contains("no test ran"));
}

#[test]
fn check_reports_coverage_as_json() {
    let dir = tempdir();
    let det = dir.path().join("detections/endpoint");
    fs::create_dir_all(&det).unwrap();
    fs::create_dir_all(dir.path().join("macros")).unwrap();
    fs::write(det.join("a.yml"), "name: A\nsearch: '| tstats count from datamodel=Endpoint.Processes by Processes.dest | `drop_dm_object_name(Processes)` | `a_filter`'\n").unwrap();
    fs::write(det.join("b.yml"), "name: B\nsearch: '| tstats count from datamodel=Endpoint.Processes by Processes.dest | streamstats count'\n").unwrap();
    fs::write(
        det.join("c.yml"),
        "name: C\nsearch: 'sourcetype=foo | stats count'\n",
    )
    .unwrap();
    let out = cimhunt()
        .args(["check", "-f", "json", "--content"])
        .arg(dir.path())
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["all"]["total"], 3);
    assert_eq!(v["all"]["runs"], 2);
    let processes = &v["datamodels"]["Endpoint.Processes"];
    assert_eq!(processes["total"], 2);
    assert_eq!(processes["tstats_compiled"], 2);
    assert_eq!(
        processes["blockers"][0]["construct"],
        "command `streamstats`"
    );
    assert_eq!(v["not_running"][0]["name"], "B");
}

#[test]
fn bad_time_zone_is_rejected() {
    cimhunt()
        .args(["hunt", "--tz", "Mars/Olympus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Mars/Olympus"));
}

/// `check` on a directory without detections used to report one "file does not load" and
/// exit 0, as if it had checked something.
#[test]
fn check_without_detections_is_an_error() {
    let dir = tempdir();
    fs::create_dir(dir.path().join("macros")).unwrap();
    cimhunt()
        .arg("check")
        .arg("--content")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no detection loads from it"));
}

// ---------------------------------------------------------------------------------------------
// Issue 11, item 3: output that scales and reads well.

/// A Sysmon log of `copies` times the sample (six events each), for runs that must outlast a
/// pipe's buffer.
fn big_sysmon_log(dir: &Path, copies: usize) -> PathBuf {
    let one = fs::read_to_string(sample("sysmon.log")).unwrap();
    let one = if one.ends_with('\n') { one } else { one + "\n" };
    let path = dir.join("big.log");
    fs::write(&path, one.repeat(copies)).unwrap();
    path
}

/// `cimhunt events big.log | head -1` used to decode the whole input before exiting. Now the
/// first write that meets the closed pipe ends the process at once, quietly, with status 0: the
/// run's summary (printed only at the end of a run) never appears, and nothing is reported.
#[test]
fn events_piped_to_head_stops_early_and_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempdir();
    let log = big_sysmon_log(dir.path(), 3_000);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .args(["events", "--raw", "--no-progress"])
        .arg(&log)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe is closed, as `head -1` closes it.
    assert!(first.starts_with("{\"_time\""), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("cimhunt: 1 input"),
        "stopped before the end of the run: {stderr}"
    );
}

/// A pipe whose reading end is already closed: every write fails with `EPIPE`.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

/// `explain`, `test` and `hunt` used to panic (exit 101) when standard output was a closed
/// pipe. A closed pipe is not an error: they stop writing and exit with the status they would
/// have had.
#[test]
fn closed_pipe_is_not_an_error_for_any_command() {
    let tp = attack_data(&fs::read(sample("sysmon.log")).unwrap());
    let runs: [(&[&str], i32); 4] = [
        (&["explain"], 0),
        (&["hunt"], 0),
        (&["hunt", "--fail-on-match"], 1),
        (&["events", "-f", "table"], 0),
    ];
    for (args, code) in runs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cimhunt"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .args(["test", "--attack-data"])
        .arg(tp.path())
        .stdout(closed_pipe())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Writing to a full disk (`/dev/full`: every write fails with `ENOSPC`) used to panic in
/// `explain` and `test`; every command now reports it and exits 2.
#[cfg(target_os = "linux")]
#[test]
fn full_disk_is_reported_and_fails_every_command() {
    let tp = attack_data(&fs::read(sample("sysmon.log")).unwrap());
    let tp_dir = tp.path().to_str().unwrap().to_owned();
    let runs: [&[&str]; 5] = [
        &["explain"],
        &["hunt"],
        &["hunt", "-f", "csv"],
        &["events", "-f", "table"],
        &["test", "--attack-data", &tp_dir],
    ];
    for args in runs {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cimhunt"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(full)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output: No space left on device"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Writes detections for a library-like run: `unsupported` detections using `apply` (Splunk's ML toolkit, which cimhunt does not run), one that
/// fires on the sample and one that does not.
fn small_library(dir: &Path, unsupported: usize) -> PathBuf {
    let det = dir.join("detections");
    fs::create_dir_all(&det).unwrap();
    for i in 0..unsupported {
        fs::write(
            det.join(format!("apply_{i}.yml")),
            format!("name: Apply {i}\nsearch: '| tstats count from datamodel=Endpoint.Processes by Processes.dest | apply some_model'\n"),
        )
        .unwrap();
    }
    fs::write(
        det.join("fires.yml"),
        "name: Fires\nsearch: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=msiexec.exe by Processes.dest | `drop_dm_object_name(Processes)`'\n",
    )
    .unwrap();
    fs::write(
        det.join("silent.yml"),
        "name: Silent\nsearch: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=nothing-runs-this.exe by Processes.dest'\n",
    )
    .unwrap();
    det
}

/// A run over the library used to print one warning per unsupported detection and a "0 rows"
/// heading for every detection that did not fire.
#[test]
fn library_run_summarises_skipped_detections_and_lists_only_those_that_fired() {
    let dir = tempdir();
    let det = small_library(dir.path(), 5);
    let out = cimhunt()
        .args(["hunt", "-d"])
        .arg(&det)
        .arg(sample("sysmon.log"))
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stdout.contains("Fires — "), "{stdout}");
    assert!(!stdout.contains("Silent"), "{stdout}");
    assert!(
        stderr.contains("5 of 7 detections skipped"),
        "one summary: {stderr}"
    );
    assert_eq!(
        stderr.matches("command `apply`").count(),
        1,
        "one line per reason: {stderr}"
    );
    assert!(
        !stderr.contains("Apply 3"),
        "not listed without --verbose: {stderr}"
    );
    assert!(stderr.contains("2 detections run, 1 fired"), "{stderr}");
    assert!(
        stderr.contains(" rows, detections finished in "),
        "a library's finishing is timed: {stderr}"
    );

    let out = cimhunt()
        .args(["hunt", "--verbose", "-d"])
        .arg(&det)
        .arg(sample("sysmon.log"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    for i in 0..5 {
        assert!(stderr.contains(&format!("Apply {i} (")), "{stderr}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 11, item 4: exit codes a CI job can trust.

/// The same empty file gave 0 inside a walked directory and 2 when named.
#[test]
fn empty_file_gives_the_same_status_named_or_walked() {
    let dir = tempdir();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let empty = logs.join("empty.log");
    fs::write(&empty, b"").unwrap();
    let blank = logs.join("blank.log");
    fs::write(&blank, b"\xEF\xBB\xBF\r\n  \n").unwrap();
    for path in [&logs, &empty, &blank] {
        cimhunt()
            .args(["hunt", "-f", "jsonl"])
            .arg(path)
            .assert()
            .code(0)
            .stderr(predicate::str::contains("without event data passed over"));
    }
}

/// A detection calling an undefined macro, beside one that runs.
fn library_with_an_undefined_macro(dir: &Path) -> PathBuf {
    let det = small_library(dir, 0);
    fs::write(
        det.join("undefined.yml"),
        "name: Undefined\nsearch: '| tstats count from datamodel=Endpoint.Processes where `no_such_macro` by Processes.dest'\n",
    )
    .unwrap();
    det
}

/// A run over ESCU's library exited 2 because two upstream detections use undefined macros, so
/// `--fail-on-match` could not tell a content defect from a real error. Content errors now have
/// their own status (3), and `--content-errors warn` makes them warnings.
#[test]
fn content_errors_exit_3_and_can_be_warnings() {
    let dir = tempdir();
    let det = library_with_an_undefined_macro(dir.path());
    cimhunt()
        .args(["hunt", "-f", "jsonl", "-d"])
        .arg(&det)
        .arg(sample("sysmon.log"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("error: "))
        .stderr(predicate::str::contains("no_such_macro"))
        .stdout(predicate::str::contains("\"detection\":\"Fires\""));
    cimhunt()
        .args(["hunt", "-f", "jsonl", "--content-errors", "warn", "-d"])
        .arg(&det)
        .arg(sample("sysmon.log"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("warning: "))
        .stderr(predicate::str::contains("no_such_macro"));
    cimhunt()
        .args([
            "hunt",
            "-f",
            "jsonl",
            "--content-errors",
            "warn",
            "--fail-on-match",
            "-d",
        ])
        .arg(&det)
        .arg(sample("sysmon.log"))
        .assert()
        .code(1);
}

/// Errors in the inputs outrank errors in the content: unread evidence matters most.
#[test]
fn input_errors_outrank_content_errors() {
    let dir = tempdir();
    let det = library_with_an_undefined_macro(dir.path());
    cimhunt()
        .args(["hunt", "-f", "jsonl", "-d"])
        .arg(&det)
        .arg("no/such/file.log")
        .arg(sample("sysmon.log"))
        .assert()
        .code(2);
}

/// `test` exited 0 when `--attack-data` held none of the data and no test ran.
#[test]
fn test_with_no_test_run_is_an_error() {
    let empty = tempdir();
    cimhunt()
        .args(["test", "--attack-data"])
        .arg(empty.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no test ran"));
    cimhunt()
        .args(["test", "--attack-data", "no/such/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a directory"));
}

#[test]
fn help_documents_the_exit_status_policy() {
    for args in [&["--help"][..], &["hunt", "--help"], &["test", "--help"]] {
        cimhunt()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Exit status:"))
            .stdout(predicate::str::contains("3  an error in content"));
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 11, item 5: tuning.

/// A filter macro for a detection that is not loaded (a typo) used to be ignored in silence.
#[test]
fn filter_macro_matching_no_detection_warns_naming_the_closest() {
    let dir = tempdir();
    let yaml = dir.path().join("filters.yml");
    fs::write(
        &yaml,
        "name: windows_msiexec_remote_downlod_filter\ndefinition: search NOT dest IN (\"ws-*\")\n",
    )
    .unwrap();
    let out = cimhunt()
        .args(["hunt", "-f", "json", "--macros"])
        .arg(&yaml)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "filter macro `windows_msiexec_remote_downlod_filter` matches no loaded detection",
        ))
        .stderr(predicate::str::contains(
            "the closest is `Windows MSIExec Remote Download`, whose filter macro is `windows_msiexec_remote_download_filter`",
        ));
    assert_eq!(json_rows(&out.get_output().stdout).len(), 4, "not applied");
}

/// `--macros` takes a directory: its YAML and `.conf` files, in name order.
#[test]
fn macros_takes_a_directory() {
    let dir = tempdir();
    let macros = dir.path().join("tuning");
    fs::create_dir(&macros).unwrap();
    fs::write(
        macros.join("a_first.yml"),
        "name: windows_msiexec_remote_download_filter\ndefinition: search dest=nothing\n",
    )
    .unwrap();
    fs::write(
        macros.join("b_later.conf"),
        "[windows_msiexec_remote_download_filter]\ndefinition = search NOT dest IN (\"ws-*\")\n",
    )
    .unwrap();
    fs::write(macros.join("README.md"), "not a macro file").unwrap();
    let out = cimhunt()
        .args(["hunt", "-f", "json", "--macros"])
        .arg(&macros)
        .assert()
        .success();
    assert_eq!(
        dests(&json_rows(&out.get_output().stdout)),
        ["LT-SALES-11", "srv-app-02.corp.example"],
        "the later file wins"
    );
}

/// A detection copied to a new file name failed with an undefined `<new stem>_filter`: the
/// generated filter macro followed the file name, not the detection's name as contentctl does.
#[test]
fn detection_copied_to_a_new_file_name_keeps_working() {
    let dir = tempdir();
    let copy = dir.path().join("my_copy_of_msiexec.yml");
    fs::write(&copy, cimhunt_content::DEFAULT_DETECTION_YAML).unwrap();
    let out = cimhunt()
        .args(["hunt", "-f", "json", "-d"])
        .arg(&copy)
        .assert()
        .success();
    assert_eq!(json_rows(&out.get_output().stdout).len(), 4);
}

/// A detection renamed without its search calls a filter macro that no longer exists: the
/// error says which macro contentctl expects and how to fix it.
#[test]
fn renamed_detection_says_how_to_fix_its_filter_macro() {
    let dir = tempdir();
    let renamed = dir.path().join("renamed.yml");
    let yaml = cimhunt_content::DEFAULT_DETECTION_YAML.replacen(
        "name: Windows MSIExec Remote Download",
        "name: My MSIExec Rule",
        1,
    );
    assert_ne!(yaml, cimhunt_content::DEFAULT_DETECTION_YAML);
    fs::write(&renamed, yaml).unwrap();
    cimhunt()
        .args(["hunt", "-f", "json", "-d"])
        .arg(&renamed)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "the search calls `windows_msiexec_remote_download_filter`",
        ))
        .stderr(predicate::str::contains(
            "call `my_msiexec_rule_filter` in the search",
        ));
}

// ---------------------------------------------------------------------------------------------
// The reference library in ../shared (run by `.ci/run` with `--ignored`).

fn shared_content() -> PathBuf {
    std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("content/security_content")
}

/// Every ESCU detection calls the filter macro contentctl derives from its name.
#[test]
#[ignore = "reads ../shared"]
fn escu_detections_call_the_filter_macro_derived_from_their_name() {
    let dir = shared_content().join("detections");
    let (detections, _) = cimhunt_content::load_detections(&dir).unwrap();
    assert!(detections.len() > 1000);
    let odd: Vec<String> = detections
        .iter()
        .filter(|d| d.filter_macro_called() != Some(d.filter_macro_name().as_str()))
        .map(|d| format!("{}: {:?}", d.name, d.filter_macro_called()))
        .collect();
    assert!(odd.is_empty(), "{odd:#?}");
}

/// A run over ESCU's whole `detections/` folder exited 2 because two upstream detections use
/// undefined macros; with `--content-errors warn` it exits 0.
#[test]
#[ignore = "reads ../shared"]
fn escu_library_run_with_content_errors_as_warnings_exits_0() {
    let content = shared_content();
    cimhunt()
        .args([
            "hunt",
            "-f",
            "jsonl",
            "--content-errors",
            "warn",
            "--content",
        ])
        .arg(&content)
        .arg("-d")
        .arg(content.join("detections"))
        .arg(sample("sysmon.log"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("detections skipped"));
}

/// When no detection can run, nothing was checked: a content error even with
/// `--content-errors warn`.
#[test]
fn no_detection_that_can_run_is_an_error_even_as_warnings() {
    let dir = tempdir();
    let det = dir.path().join("only.yml");
    fs::write(
        &det,
        "name: Only\nsearch: '| tstats count from datamodel=Endpoint.Processes where `no_such_macro` by Processes.dest'\n",
    )
    .unwrap();
    for policy in ["fail", "warn"] {
        cimhunt()
            .args(["hunt", "--content-errors", policy, "-d"])
            .arg(&det)
            .arg(sample("sysmon.log"))
            .assert()
            .code(3)
            .stderr(predicate::str::contains("no detection can run"));
    }
}

#[test]
fn a_spill_dir_that_is_not_a_folder_is_an_error_naming_it() {
    cimhunt()
        .args(["hunt", "--spill-dir", "no-such-folder-for-spills"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--spill-dir no-such-folder-for-spills: not a folder",
        ));
    // With spilling off, the folder is not needed.
    cimhunt()
        .args([
            "hunt",
            "--state-memory",
            "0",
            "--spill-dir",
            "no-such-folder-for-spills",
        ])
        .assert()
        .success();
}

#[test]
fn an_unknown_time_zone_is_refused_alike_by_every_command_that_takes_one() {
    // Regression: `worker` said less than the others (no example of a zone it knows).
    let commands: [&[&str]; 4] = [
        &["hunt"],
        &["hunt", "--nats", "nats://127.0.0.1:9"],
        &["worker", "--nats", "nats://127.0.0.1:9"],
        &["serve", "--listen", "127.0.0.1:0", "--token", "t"],
    ];
    for args in commands {
        cimhunt()
            .args(args)
            .args(["--tz", "Mars/Olympus_Mons"])
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "--tz Mars/Olympus_Mons: not a known time zone (try UTC or America/New_York)",
            ));
    }
}

#[test]
fn per_detection_lists_the_detections_that_matched_most_first_with_their_rows() {
    let dir = tempdir();
    let det = dir.path().join("detections/endpoint");
    fs::create_dir_all(&det).unwrap();
    fs::create_dir_all(dir.path().join("macros")).unwrap();
    // Every process event (7 in the samples, on 3 hosts); those with a URL on the command line
    // (5, one row per process id); none.
    fs::write(det.join("all.yml"), "name: All Processes\nsearch: '| tstats count from datamodel=Endpoint.Processes by Processes.dest'\n").unwrap();
    fs::write(det.join("msi.yml"), "name: Urls\nsearch: '| tstats count from datamodel=Endpoint.Processes where Processes.process=\"*http*\" by Processes.process_id'\n").unwrap();
    // The same aggregation with a filter after it: its events are aggregated once, for both.
    fs::write(det.join("few.yml"), "name: Few\nsearch: '| tstats count from datamodel=Endpoint.Processes by Processes.dest | where count > 100'\n").unwrap();
    fs::write(det.join("none.yml"), "name: Nothing\nsearch: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=nothing.exe by Processes.dest'\n").unwrap();
    let run = |extra: &[&str]| {
        let out = cimhunt()
            .args(["hunt", "-f", "jsonl", "--no-progress", "--content"])
            .arg(dir.path())
            .arg("-d")
            .arg(&det)
            .args(extra)
            .arg(sample("sysmon.log"))
            .arg(sample("security.log"))
            .assert()
            .success();
        String::from_utf8(out.get_output().stderr.clone()).unwrap()
    };
    let stderr = run(&["--per-detection"]);
    let listed: Vec<Vec<&str>> = stderr
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("matches"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        listed,
        [
            vec!["7", "3", "All", "Processes"],
            vec![
                "7",
                "0",
                "Few",
                "(shares",
                "the",
                "aggregation",
                "of",
                "All",
                "Processes)"
            ],
            vec!["5", "5", "Urls"]
        ],
        "{stderr}"
    );
    assert!(!run(&[]).contains("matches  "), "listed only when asked");
}

/// Regression: the summary's input size summed the records' bytes, so a file whose only record
/// is cut short was "1 input (0 B)".
#[test]
fn the_summary_gives_each_input_its_whole_size() {
    let dir = tempdir();
    let cut = dir.path().join("cut.log");
    let text = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
                <EventID>1</EventID>";
    fs::write(&cut, text).unwrap();
    let out = cimhunt().args(["hunt", "--no-progress"]).arg(&cut).assert();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("cimhunt: 1 input ({} B)", text.len())),
        "{stderr}"
    );
}
