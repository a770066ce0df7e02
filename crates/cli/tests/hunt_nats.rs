//! `cimhunt hunt --nats` with the binaries: a batch over a real `nats-server -js` on loopback,
//! processed by one `cimhunt worker`, prints what `cimhunt hunt` prints over the same files, in
//! every format, and writes the same risk events and notables.

mod serve_support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serve_support::*;

/// A `cimhunt worker` until dropped.
struct Worker(Child);

impl Worker {
    /// `cimhunt worker --nats URL` with `args`, on one thread, quiet.
    fn start(url: &str, args: &[&str]) -> Worker {
        Worker(
            Command::new(env!("CARGO_BIN_EXE_cimhunt"))
                .env_remove("CIMHUNT_CONTENT")
                .args(["worker", "--nats", url, "-j", "1", "--quiet"])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample")
        .join(name)
}

/// Runs `cimhunt hunt` with the arguments, gives up after two minutes; standard output, risk
/// events and notables.
fn hunt(dir: &Path, tag: &str, args: &[&str]) -> (String, Vec<String>, Vec<String>) {
    let (risk, notable) = (
        dir.join(format!("{tag}-risk.jsonl")),
        dir.join(format!("{tag}-notable.jsonl")),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .env_remove("CIMHUNT_CONTENT")
        .env("NO_COLOR", "1")
        .args(["hunt", "--no-progress", "--now", "1767607200"])
        .args(["--tz", "America/New_York", "--risk"])
        .arg(&risk)
        .arg("--notable")
        .arg(&notable)
        .args(args)
        .arg(sample("sysmon.log"))
        .arg(sample("security.log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`hunt {args:?}` did not end");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "hunt {args:?}: {stderr}");
    (stdout, lines(&risk), lines(&notable))
}

/// Regressions: `hunt --nats` wrote its rows by a path of its own, which held every row of every
/// detection (and every merged state) in memory, and finished the detections in UTC whatever
/// `--tz` said (the seed's `firstTime` and `lastTime` are formatted when it is finished).
#[test]
fn hunt_nats_prints_and_alerts_what_hunt_does_in_every_format() {
    let Some(nats) = Nats::start() else {
        return;
    };
    let url = nats.url();
    let _worker = Worker::start(
        &url,
        &["--nats-prefix", "huntnats", "--nats-events-mib", "64"],
    );
    let dir = tempfile::tempdir().unwrap();
    for format in ["table", "jsonl", "csv"] {
        let local = hunt(dir.path(), &format!("local-{format}"), &["-f", format]);
        assert!(local.0.contains("ws-fin-07"), "{}", local.0);
        assert!(!local.1.is_empty() && !local.2.is_empty());
        let nats_args = [
            "-f",
            format,
            "--nats",
            &url,
            "--nats-prefix",
            "huntnats",
            "--nats-events-mib",
            "64",
        ];
        let cluster = hunt(dir.path(), &format!("nats-{format}"), &nats_args);
        assert_eq!(cluster, local, "{format}");
    }
}

/// Regression: the events stream asked for 1 GiB of the server's storage, and a server on a disk
/// with little free space refused it with JetStream's bare "insufficient storage resources"
/// (it failed CI). The limit is an option now, and the error says what to change.
#[test]
fn a_server_with_too_little_storage_for_the_events_stream_is_explained() {
    let Some(nats) = Nats::start_with_file_store(Some("32MB")) else {
        return;
    };
    let url = nats.url();
    let refused = Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .env_remove("CIMHUNT_CONTENT")
        .args(["hunt", "--no-progress", "--nats", &url])
        .arg(sample("sysmon.log"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("1024 MiB") && stderr.contains("--nats-events-mib"),
        "{stderr}"
    );
    let _worker = Worker::start(&url, &["--nats-events-mib", "16"]);
    let dir = tempfile::tempdir().unwrap();
    let local = hunt(dir.path(), "local", &["-f", "jsonl"]);
    let small = ["-f", "jsonl", "--nats", &url, "--nats-events-mib", "16"];
    assert_eq!(hunt(dir.path(), "small", &small), local);
}
