//! How fast the reader cuts records: generates about 200 MiB of synthetic single-line Windows
//! event XML (and the same number of JSON lines) in memory, cuts them with the reader through
//! `Input::reader`, and prints MB/s and records/s. For scale it also times counting the lines
//! of the same bytes with `memchr` (what `grep -c` must do at least).
//!
//! Run with `cargo run --release -p cimhunt-read --example split_speed [MiB]`, or pass a file
//! path instead of a size to time reading that file (through the page cache) instead.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cimhunt_read::{Input, ReadEvent, Reader};

/// A plausible 4688/Sysmon-1-sized event line; `n` varies the content and the length.
fn xml_event(n: u64) -> String {
    let pad = "A".repeat((n % 97) as usize);
    format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
         <Provider Name='Microsoft-Windows-Sysmon' Guid='{{5770385f-c22a-43e0-bf4c-06f5698ffbd9}}'/>\
         <EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode>\
         <Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='2024-01-01T00:00:00.{n:07}Z'/>\
         <EventRecordID>{n}</EventRecordID><Correlation/><Execution ProcessID='3000' ThreadID='4000'/>\
         <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>host-{m}.corp.local</Computer>\
         <Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'>-</Data>\
         <Data Name='UtcTime'>2024-01-01 00:00:00.000</Data><Data Name='ProcessGuid'>{{00000000-0000-0000-0000-{n:012}}}</Data>\
         <Data Name='ProcessId'>{n}</Data><Data Name='Image'>C:\\Windows\\System32\\cmd.exe</Data>\
         <Data Name='CommandLine'>cmd.exe /c echo {pad} &amp; whoami</Data><Data Name='CurrentDirectory'>C:\\Users\\u\\</Data>\
         <Data Name='User'>CORP\\u</Data><Data Name='IntegrityLevel'>High</Data>\
         <Data Name='Hashes'>SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF</Data>\
         <Data Name='ParentImage'>C:\\Windows\\explorer.exe</Data><Data Name='ParentCommandLine'>C:\\Windows\\Explorer.EXE</Data>\
         </EventData></Event>",
        m = n % 50
    )
}

fn json_event(n: u64) -> String {
    let pad = "A".repeat((n % 97) as usize);
    format!(
        "{{\"Event\":{{\"System\":{{\"EventID\":1,\"EventRecordID\":{n},\"Computer\":\"host-{m}\",\
         \"Channel\":\"Microsoft-Windows-Sysmon/Operational\"}},\"EventData\":{{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\
         \"CommandLine\":\"cmd.exe /c \\\"echo {pad}\\\" & whoami\",\"ParentImage\":\"C:\\\\Windows\\\\explorer.exe\",\
         \"Hashes\":\"SHA256=0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\"}}}}}}",
        m = n % 50
    )
}

fn generate(mib: usize, event: fn(u64) -> String) -> Arc<[u8]> {
    let target = mib << 20;
    let mut out = Vec::with_capacity(target + 4096);
    let mut n = 0;
    while out.len() < target {
        out.extend_from_slice(event(n).as_bytes());
        out.extend_from_slice(b"\r\n");
        n += 1;
    }
    out.into()
}

/// Cuts `data` once; returns (records, errors, elapsed).
fn cut(data: &Arc<[u8]>) -> (u64, u64, Duration) {
    let reader = Reader::default();
    let start = Instant::now();
    let input = Input::reader("synthetic", Box::new(Cursor::new(Arc::clone(data))));
    let (mut records, mut errors) = (0u64, 0u64);
    for event in reader.read(input) {
        match event {
            ReadEvent::Batch(b) => records += b.records.len() as u64,
            ReadEvent::Error { .. } | ReadEvent::Notice(_) => errors += 1,
            _ => {}
        }
    }
    (records, errors, start.elapsed())
}

fn report(name: &str, data: &Arc<[u8]>, rounds: usize) {
    let mut best = Duration::MAX;
    let mut found = (0, 0);
    for _ in 0..rounds {
        let (records, errors, t) = cut(data);
        best = best.min(t);
        found = (records, errors);
    }
    let secs = best.as_secs_f64();
    let mb = data.len() as f64 / 1e6;
    println!(
        "{name}: {:.0} MiB, {} records, {} errors: best of {rounds} {:.1} ms = {:.0} MB/s, {:.2} M records/s",
        data.len() as f64 / f64::from(1 << 20),
        found.0,
        found.1,
        secs * 1e3,
        mb / secs,
        found.0 as f64 / secs / 1e6
    );
}

/// Times reading a file by path.
fn read_file(path: &std::path::Path, rounds: usize) {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    for _ in 0..rounds {
        let start = Instant::now();
        let (mut records, mut errors) = (0u64, 0u64);
        for event in Reader::default().read(Input::path(path)) {
            match event {
                ReadEvent::Batch(b) => records += b.records.len() as u64,
                ReadEvent::Error { .. } | ReadEvent::Notice(_) => errors += 1,
                _ => {}
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{}: {records} records, {errors} errors in {:.1} ms = {:.0} MB/s",
            path.display(),
            secs * 1e3,
            len as f64 / 1e6 / secs
        );
    }
}

fn main() {
    let arg = std::env::args().nth(1);
    let rounds = 5;
    if let Some(path) = arg.as_deref().map(std::path::Path::new)
        && path.is_file()
    {
        read_file(path, rounds);
        return;
    }
    let mib = arg.and_then(|a| a.parse().ok()).unwrap_or(200);

    let xml = generate(mib, xml_event);
    let start = Instant::now();
    let lines = memchr::memchr_iter(b'\n', &xml).count();
    let t = start.elapsed().as_secs_f64();
    println!(
        "baseline: memchr line count over the XML: {lines} lines in {:.1} ms = {:.0} MB/s",
        t * 1e3,
        xml.len() as f64 / 1e6 / t
    );
    report("XmlEvents", &xml, rounds);
    drop(xml);

    let json = generate(mib, json_event);
    report("Json lines", &json, rounds);
}
