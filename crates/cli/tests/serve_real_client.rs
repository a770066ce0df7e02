//! A real HEC client with the real engine: Splunk's own Node.js library `splunk-logging` (from
//! the npm registry, installed by the test under the target directory) sends Sysmon events as
//! XmlWinEventLog to `cimhunt serve`, and the seed detection's risk events come out, one per
//! host. When node/npm is missing or the install fails the test says so and skips.

mod serve_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serve_support::*;

const T0: i64 = 1_767_607_200; // 2026-01-05T10:00:00Z

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../serve/tests/clients")
}

/// Installs splunk-logging next to the sender script; `None` (with a message) when it cannot.
fn node_client() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hec-clients-xml");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["package.json", "send_xmlwineventlog.js"] {
        std::fs::copy(clients_dir().join(f), dir.join(f)).unwrap();
    }
    if dir.join("node_modules/splunk-logging").exists() {
        return Some(dir);
    }
    let ok = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent"])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("SKIPPED: npm could not install splunk-logging (is node/npm installed?)");
        return None;
    }
    Some(dir)
}

#[test]
fn splunk_logging_sends_xmlwineventlog_and_risk_events_come_out() {
    let Some(client) = node_client() else { return };
    let dir = tempfile::tempdir().unwrap();
    let hosts: Vec<String> = (0..5).map(|i| format!("node-ws{i}")).collect();
    let events: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| sysmon_msiexec(h, T0 + i as i64 * 300))
        .collect();
    let file = dir.path().join("events.xml");
    std::fs::write(&file, events.join("\n") + "\n").unwrap();
    let risk = dir.path().join("risk.jsonl");
    let server = spawn(
        &dir.path().join("state"),
        &["--clock", "events", "--risk", risk.to_str().unwrap()],
    );
    let sent = Command::new("node")
        .arg(client.join("send_xmlwineventlog.js"))
        .arg(format!("http://{}", server.addr))
        .arg(TOKEN)
        .arg(&file)
        .status()
        .unwrap();
    assert!(sent.success(), "splunk-logging delivered every event");
    let (status, _) = server.terminate();
    assert!(status.success());
    let risk = json_lines(&risk);
    let mut dests: Vec<&str> = risk
        .iter()
        .filter(|r| r["risk_object_field"] == "dest")
        .map(|r| r["risk_object"].as_str().unwrap())
        .collect();
    dests.sort();
    assert_eq!(dests, hosts.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        risk.iter().all(
            |r| r["search_name"] == "ESCU - Windows MSIExec Remote Download - Rule"
                && r["_time"] == 1_767_610_800
        ),
        "the 11:00 run over 09:50-10:50 raised them"
    );
}
