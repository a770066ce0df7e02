//! `kill -9` with the real engine: events stream into `cimhunt serve` while windows run under
//! the events clock; the server is killed with SIGKILL at random moments and restarted on the
//! same state directory; the client resends what was not acknowledged. At the end (SIGTERM,
//! which drains), every acknowledged event's risk event is in the output exactly once.

mod serve_support;

use std::collections::BTreeMap;
use std::time::SystemTime;

use serve_support::*;

const EVENTS: usize = 480;
const BATCH: usize = 6;
const KILLS: usize = 3;
const T0: i64 = 1_767_603_600; // 2026-01-05T09:00:00Z

fn host(i: usize) -> String {
    format!("h{i:04}")
}

fn batch_body(b: usize) -> String {
    (b * BATCH..(b + 1) * BATCH)
        .map(|i| {
            let t = T0 + i as i64 * 60;
            xml_envelope(&host(i), t, &sysmon_msiexec(&host(i), t))
        })
        .collect()
}

/// Sends batches from `next` on, up to `limit`; the first batch not acknowledged.
fn send_from(addr: &str, next: usize, limit: usize) -> usize {
    let mut b = next;
    while b < limit {
        match post(addr, "/services/collector/event", &batch_body(b)) {
            Some(200) => b += 1,
            Some(503) => std::thread::sleep(std::time::Duration::from_millis(20)),
            _ => break,
        }
    }
    b
}

#[test]
fn every_acknowledged_event_raises_its_risk_event_once_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let risk = dir.path().join("risk.jsonl");
    let risk_arg = risk.to_str().unwrap().to_owned();
    let args = ["--clock", "events", "--risk", risk_arg.as_str()];
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill points seed: {seed}");
    let mut rng = seed | 1;
    let mut next_rand = |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let batches = EVENTS / BATCH;
    let mut next = 0;
    for _ in 0..KILLS {
        let server = spawn(&state, &args);
        // Kill after a random number of further batches, while the server may be anywhere:
        // journaling, feeding the engine, running a window, writing the risk file.
        let stop_at = (next + 1 + next_rand(batches / KILLS)).min(batches);
        next = send_from(&server.addr, next, stop_at);
        server.kill9();
    }
    let server = spawn(&state, &args);
    next = send_from(&server.addr, next, batches);
    assert_eq!(next, batches, "every batch acknowledged in the end");
    let (status, _) = server.terminate();
    assert!(status.success(), "SIGTERM drains and exits 0: {status:?}");

    let mut per_host: BTreeMap<String, usize> = BTreeMap::new();
    for r in json_lines(&risk) {
        if r["risk_object_field"] == "dest" {
            *per_host
                .entry(r["risk_object"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    let missing: Vec<String> = (0..EVENTS)
        .map(host)
        .filter(|h| !per_host.contains_key(h))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let twice: Vec<_> = per_host.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "duplicated: {twice:?}");
    assert_eq!(per_host.len(), EVENTS);
}
