//! Real HEC clients from the package registries: Splunk's `splunk-logging` (npm, run with
//! node) and the `splunk-handler` Python logging handler (PyPI, in a venv). The test installs
//! them under the target directory from `tests/clients/`; when node/npm or python/pip is
//! missing or the install fails, the test says so and skips (CI installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use cimhunt_serve::EventBody;
use common::*;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("clients")
}

fn work_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hec-clients");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command) -> bool {
    match cmd.output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!(
                "{:?} failed: {}\n{}",
                cmd,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            false
        }
        Err(e) => {
            eprintln!("{cmd:?}: {e}");
            false
        }
    }
}

/// Installs splunk-logging; `None` (with a message) when it cannot.
fn node_client() -> Option<PathBuf> {
    let dir = work_dir().join("node");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["package.json", "send_splunk_logging.js"] {
        std::fs::copy(clients_dir().join(f), dir.join(f)).unwrap();
    }
    if !dir.join("node_modules").join("splunk-logging").exists()
        && !run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir))
    {
        println!("SKIPPED: npm could not install splunk-logging (is node/npm installed?)");
        return None;
    }
    Some(dir)
}

/// Installs splunk-handler into a venv; `None` (with a message) when it cannot.
fn python_client() -> Option<PathBuf> {
    let venv = work_dir().join("venv");
    let python = venv.join("bin").join("python");
    if !python.exists() && !run(Command::new("python3").arg("-m").arg("venv").arg(&venv)) {
        println!("SKIPPED: python3 -m venv failed");
        return None;
    }
    let check = Command::new(&python)
        .args(["-c", "import splunk_handler"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !check
        && !run(Command::new(&python).args(["-m", "pip", "install", "-q", "splunk-handler==3.0.0"]))
    {
        println!("SKIPPED: pip could not install splunk-handler");
        return None;
    }
    Some(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splunk_logging_from_npm_delivers_every_event() {
    let Some(dir) = tokio::task::spawn_blocking(node_client).await.unwrap() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sink = FakeSink::new(vec![]);
    let mut h = start(config(tmp.path()), sink.clone()).await;
    let url = format!("http://{}", h.local_addr());
    let ok = tokio::task::spawn_blocking(move || {
        run(Command::new("node")
            .arg("send_splunk_logging.js")
            .arg(url)
            .arg(TOKEN)
            .arg("20")
            .current_dir(dir))
    })
    .await
    .unwrap();
    assert!(ok, "splunk-logging reported a failure");
    wait_until("20 events", || sink.events().len() == 20).await;
    let events = sink.events();
    let mut ids: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Json(v) => v["message"]["id"].as_str().map(str::to_owned),
            _ => None,
        })
        .collect();
    ids.sort();
    assert_eq!(ids.len(), 20);
    ids.dedup();
    assert_eq!(ids.len(), 20, "each event once");
    let e = &events[0];
    assert_eq!(e.sourcetype.as_deref(), Some("cimhunt:test"));
    assert_eq!(e.host.as_deref(), Some("node-host"));
    assert!(e.time.is_some(), "splunk-logging sends `time`");
    match &e.body {
        EventBody::Json(v) => assert!(v["message"]["CommandLine"].is_string(), "{v}"),
        other => panic!("expected a JSON event, got {other:?}"),
    }
    h.stop();
    h.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splunk_handler_from_pypi_delivers_every_record() {
    let Some(python) = tokio::task::spawn_blocking(python_client).await.unwrap() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sink = FakeSink::new(vec![]);
    let mut h = start(config(tmp.path()), sink.clone()).await;
    let port = h.local_addr().port().to_string();
    let script = clients_dir().join("send_splunk_handler.py");
    let ok = tokio::task::spawn_blocking(move || {
        run(Command::new(python)
            .arg(script)
            .arg("127.0.0.1")
            .arg(port)
            .arg(TOKEN)
            .arg("15"))
    })
    .await
    .unwrap();
    assert!(ok, "the Python client failed");
    wait_until("15 records", || sink.events().len() == 15).await;
    let events = sink.events();
    assert!(
        events
            .iter()
            .all(|e| e.sourcetype.as_deref() == Some("cimhunt:python"))
    );
    assert!(events.iter().all(|e| e.host.as_deref() == Some("py-host")));
    let all: String = events.iter().map(|e| format!("{:?}", e.body)).collect();
    for i in 0..15 {
        assert!(
            all.contains(&format!("py-{i} msiexec")),
            "record {i} missing: {all}"
        );
    }
    h.stop();
    h.wait().await.unwrap();
}
