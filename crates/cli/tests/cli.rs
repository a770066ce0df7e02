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
        ));
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
        .code(2)
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

/// A damaged record that no detection could match is skipped undecoded by the prefilter, so
/// without `--strict` its damage goes unseen; `--strict` must decode it and fail.
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
        .success()
        .stderr(predicate::str::contains("0 skipped records"));
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
        .stdout(predicate::str::contains(
            "prefilter: records are decoded only if they contain one of [\"msiexec.exe\"]",
        ));
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
    cimhunt()
        .args(["test", "--attack-data"])
        .arg(lfs.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("dataset unavailable"))
        .stdout(predicate::str::contains(
            "0 passed, 0 failed, 0 errors, 1 dataset unavailable",
        ));
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
