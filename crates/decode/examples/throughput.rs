//! Measures decoder throughput (run in release mode):
//!
//! ```text
//! cargo run --release -p cimhunt-decode --example throughput [-- EVENTS]
//! ```
//!
//! 1. `decode_xml` over generated XmlWinEventLog Sysmon EID 1 lines (default 200,000 events).
//! 2. `EvtxChunkDecoder` over every `.evtx` file under `$CIMHUNT_SHARED/corpus/evtx` (default
//!    `../shared`), when that directory exists, next to the evtx crate's XML rendering alone.
//!
//! Each figure is the best of three rounds, on one core.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cimhunt_decode::{EVTX_CHUNK_SIZE, EvtxChunkDecoder, decode_xml};

const TEMPLATE: &str = include_str!("../tests/fixtures/sysmon1.xml");

fn best_of_three(mut round: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = (Duration::MAX, 0);
    for _ in 0..3 {
        let start = Instant::now();
        let n = round();
        best = best.min((start.elapsed(), n));
    }
    best
}

/// `count` Sysmon lines that differ in their record id, process ids and command line; `short`
/// lines (~1.2 KB) leave out the version-resource, hash and a few other fields.
fn generate(count: usize, short: bool) -> Vec<u8> {
    let mut template = TEMPLATE.trim_end().to_owned();
    if short {
        for field in [
            "FileVersion",
            "Description",
            "Product",
            "Company",
            "Hashes",
            "RuleName",
            "UtcTime",
            "LogonGuid",
            "TerminalSessionId",
        ] {
            let start = template
                .find(&format!("<Data Name='{field}'>"))
                .expect("field");
            let end = start + template[start..].find("</Data>").expect("end") + "</Data>".len();
            template.replace_range(start..end, "");
        }
    }
    let mut out = Vec::with_capacity(count * (template.len() + 16));
    for i in 0..count {
        let line = template
            .replace("48213", &(100_000 + i).to_string())
            .replace(">6120<", &format!(">{}<", 1000 + i % 50_000))
            .replace("echo a", &format!("echo {}", i % 977));
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn xml(count: usize, short: bool) {
    let input = generate(count, short);
    let lines: Vec<&[u8]> = input
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let (time, n) = best_of_three(|| {
        let mut pairs = 0;
        for line in &lines {
            match decode_xml(line) {
                Ok(event) => pairs += event.data.len(),
                Err(e) => panic!("generated line fails: {e}"),
            }
        }
        std::hint::black_box(pairs);
        lines.len()
    });
    let secs = time.as_secs_f64();
    println!(
        "decode_xml: {n} events ({:.1} MB, {} bytes/event) in {:.3} s: {:.0} events/s, {:.0} MB/s",
        input.len() as f64 / 1e6,
        input.len() / n.max(1),
        secs,
        n as f64 / secs,
        input.len() as f64 / 1e6 / secs
    );
}

fn evtx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                out.push(path);
            }
        }
    }
    out
}

fn evtx() {
    let shared = std::env::var_os("CIMHUNT_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("corpus/evtx");
    if !dir.is_dir() {
        println!("EVTX: {} not found, skipped", dir.display());
        return;
    }
    let files: Vec<Vec<u8>> = evtx_files(&dir)
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    let chunks: Vec<&[u8]> = files
        .iter()
        .flat_map(|f| {
            f.get(4096..)
                .unwrap_or_default()
                .chunks_exact(EVTX_CHUNK_SIZE)
        })
        .filter(|c| c.starts_with(b"ElfChnk\0"))
        .collect();
    let mut decoder = EvtxChunkDecoder::new();
    let (time, n) = best_of_three(|| {
        let mut records = 0;
        for chunk in &chunks {
            let _ = decoder.decode_chunk(chunk, |_, event| records += usize::from(event.is_ok()));
        }
        records
    });
    let secs = time.as_secs_f64();
    println!(
        "EvtxChunkDecoder: {} files, {} chunks, {n} records in {:.3} s: {:.0} records/s",
        files.len(),
        chunks.len(),
        secs,
        n as f64 / secs
    );
    let settings = Arc::new(evtx::ParserSettings::new().indent(false));
    let (time, n) = best_of_three(|| {
        let mut records = 0;
        for chunk in &chunks {
            let Ok(mut data) = evtx::EvtxChunkData::new(chunk.to_vec(), false) else {
                continue;
            };
            let Ok(mut parsed) = data.parse(Arc::clone(&settings)) else {
                continue;
            };
            for record in parsed.iter().flatten() {
                records += usize::from(record.into_xml_bytes().is_ok());
            }
        }
        records
    });
    let secs = time.as_secs_f64();
    println!(
        "  evtx crate XML rendering alone: {n} records in {secs:.3} s: {:.0} records/s",
        n as f64 / secs
    );
}

fn main() {
    let count = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    xml(count, false);
    xml(count, true);
    evtx();
}
