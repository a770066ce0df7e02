//! `EvtxChunkDecoder` on bad input: errors, never panics. (Real chunks: see `corpus.rs`.)

use cimhunt_decode::{DecodeErrorKind, EVTX_CHUNK_SIZE, EvtxChunkDecoder};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for b in bytes {
            *b = self.next() as u8;
        }
    }
}

/// What one `decode_chunk` call gave.
#[derive(Debug, Default, PartialEq, Eq)]
struct Run {
    /// The chunk's error, if it failed as a whole.
    chunk_error: Option<String>,
    /// The header numbers of the records that decoded, in order.
    decoded: Vec<Option<u64>>,
    /// The records that did not: header number and message.
    record_errors: Vec<(Option<u64>, String)>,
}

impl Run {
    /// Callbacks made, decoded or not.
    fn callbacks(&self) -> usize {
        self.decoded.len() + self.record_errors.len()
    }
}

fn run(decoder: &mut EvtxChunkDecoder, chunk: &[u8]) -> Run {
    let mut out = Run::default();
    let result = decoder.decode_chunk(chunk, |header, r| match r {
        Ok(_) => out.decoded.push(header.number),
        Err(e) => out.record_errors.push((header.number, e.to_string())),
    });
    out.chunk_error = result.err().map(|e| e.to_string());
    out
}

/// A chunk error and, as documented, no record passed on.
fn assert_chunk_error(run: &Run, context: &str) {
    let message = run.chunk_error.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("bad EVTX chunk") && run.callbacks() == 0,
        "{context}: {run:?}"
    );
}

#[test]
fn chunk_without_header_magic_is_a_chunk_error() {
    let mut decoder = EvtxChunkDecoder::new();
    let zeros = vec![0u8; EVTX_CHUNK_SIZE];
    let mut records = 0;
    let err = decoder
        .decode_chunk(&zeros, |_, _| records += 1)
        .expect_err("zeroed chunk");
    assert_eq!(err.kind(), DecodeErrorKind::EvtxChunkHeader, "{err}");
    assert_eq!(records, 0, "no record is passed on for a bad chunk");
}

#[test]
fn empty_and_short_chunks_are_chunk_errors() {
    let mut decoder = EvtxChunkDecoder::new();
    for len in [0, 7, 8, 100, 511] {
        let mut chunk = b"ElfChnk\0".to_vec();
        chunk.resize(len.max(8), 0);
        chunk.truncate(len);
        assert_chunk_error(&run(&mut decoder, &chunk), &format!("{len}-byte chunk"));
    }
}

#[test]
fn random_bytes_after_a_valid_magic_never_panic() {
    let mut decoder = EvtxChunkDecoder::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut chunk = vec![0u8; EVTX_CHUNK_SIZE];
    for round in 0..200 {
        rng.fill(&mut chunk);
        chunk[..8].copy_from_slice(b"ElfChnk\0");
        // Plausible header fields half the time, so that record parsing is reached: random
        // string and template offsets would fail the chunk's string cache.
        let plausible = round % 2 == 0;
        if plausible {
            chunk[40..44].copy_from_slice(&128u32.to_le_bytes()); // header size
            let free = 512 + (rng.next() % 65_000) as u32;
            chunk[48..52].copy_from_slice(&free.to_le_bytes());
            chunk[128..512].fill(0); // string and template offsets: none
            chunk[512..516].copy_from_slice(b"\x2a\x2a\x00\x00");
        }
        let reused = run(&mut decoder, &chunk);
        if plausible {
            // The first record starts with a record magic, so it is passed on, good or bad.
            assert!(
                reused.chunk_error.is_none() && reused.callbacks() >= 1,
                "round {round}: {reused:?}"
            );
        }
        // A decoder used before gives what a new one gives.
        assert_eq!(
            reused,
            run(&mut EvtxChunkDecoder::new(), &chunk),
            "round {round}"
        );
    }
}

#[test]
fn decoder_is_reusable_after_a_chunk_error() {
    let mut decoder = EvtxChunkDecoder::new();
    let good = synthetic_chunk(2);
    for bad in [&[][..], &vec![0u8; EVTX_CHUNK_SIZE], &good[..300]] {
        assert_chunk_error(&run(&mut decoder, bad), "bad chunk");
        let after = run(&mut decoder, &good);
        assert_eq!(
            after,
            Run {
                decoded: vec![Some(1), Some(2)],
                ..Run::default()
            }
        );
    }
}

mod common;

use common::chunk::{ChunkBuilder, sysmon_like_event};

fn synthetic_chunk(records: u64) -> Vec<u8> {
    let mut builder = ChunkBuilder::default();
    for id in 1..=records {
        builder.record(
            id,
            133_540_000_000_000_000 + id,
            &sysmon_like_event(1000 + id),
        );
    }
    builder.finish()
}

#[test]
fn synthetic_chunk_decodes_to_windows_rendering() {
    let chunk = synthetic_chunk(3);
    let mut decoder = EvtxChunkDecoder::new();
    let mut events = Vec::new();
    decoder
        .decode_chunk(&chunk, |header, event| {
            let event = event.unwrap_or_else(|e| panic!("record {header:?}: {e}"));
            events.push((header.number, common::owned(&event)));
        })
        .expect("chunk decodes");
    let ids: Vec<Option<u64>> = events.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3)]);
    let (_, e) = &events[1];
    assert_eq!(e.provider(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(e.event_id(), Some("1"));
    assert_eq!(e.keywords(), Some("0x8000000000000000"));
    assert_eq!(e.record_id(), Some("1002"));
    assert_eq!(e.computer(), Some("ws-07.corp.example"));
    assert_eq!(e.user_id(), Some("S-1-5-18"));
    // FILETIME 133540000000000000 is Unix 1709526400, 2024-03-04T04:26:40Z; the evtx crate
    // writes 7 fractional digits, Windows 9.
    assert_eq!(e.system_time(), Some("2024-03-04T04:26:40.000000000Z"));
    assert_eq!(e.raw, None, "EVTX events have no text of their own");
    let pairs: Vec<(&str, &str)> = e
        .data
        .iter()
        .map(|(n, v)| (n.as_ref(), v.as_ref()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("ProcessGuid", "{4A1B2C3D-5E6F-7081-92A3-B4C5D6E7F809}"),
            ("ProcessId", "6120"),
            (
                "CommandLine",
                "cmd /c \"a &amp;&amp; b\" &gt; o.txt 2&gt;&amp;1 &lt;'x'\r\n "
            ),
            ("Product", "Microsoft® Windows® Ютилита 记事本"),
            ("NewProcessId", "0xf84"),
            ("LogonId", "0x3e7"),
            ("Empty", ""),
        ]
    );
}

/// Where each record of a chunk starts and where its BinXML ends (before the trailing copy of
/// its size), following the record sizes from the end of the chunk header.
fn record_spans(chunk: &[u8], records: usize) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 512;
    for _ in 0..records {
        assert_eq!(&chunk[start..start + 4], b"\x2a\x2a\x00\x00");
        let size = u32::from_le_bytes(chunk[start + 4..start + 8].try_into().unwrap()) as usize;
        spans.push((start, start + size - 4));
        start += size;
    }
    spans
}

#[test]
fn every_prefix_and_damaged_copy_of_a_synthetic_chunk_is_handled_without_panic() {
    let chunk = synthetic_chunk(2);
    let used = chunk.iter().rposition(|b| *b != 0).unwrap_or(0) + 1;
    let spans = record_spans(&chunk, 2);
    let mut decoder = EvtxChunkDecoder::new();
    for len in 0..=used {
        let r = run(&mut decoder, &chunk[..len]);
        if len < 512 {
            assert_chunk_error(&r, &format!("{len}-byte prefix"));
            continue;
        }
        // The records that fit decode; at most the one cut short fails.
        let fit: Vec<Option<u64>> = (1..)
            .zip(&spans)
            .filter(|(_, (_, end))| *end <= len)
            .map(|(id, _)| Some(id))
            .collect();
        assert!(
            r.chunk_error.is_none() && r.decoded == fit && r.record_errors.len() <= 1,
            "{len}-byte prefix: {r:?}"
        );
    }
    assert_eq!(
        run(&mut decoder, &chunk[..used]),
        Run {
            decoded: vec![Some(1), Some(2)],
            ..Run::default()
        }
    );
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let mut damaged = chunk.clone();
        let at = 512 + (rng.next() as usize) % (used - 512);
        damaged[at] = rng.next() as u8;
        let r = run(&mut decoder, &damaged);
        // The header is intact, so the chunk is read, and something is passed on.
        assert!(
            r.chunk_error.is_none() && r.callbacks() >= 1,
            "byte {at}: {r:?}"
        );
        // Damage to the second record leaves the first alone.
        if at >= spans[1].0 {
            assert_eq!(r.decoded.first(), Some(&Some(1)), "byte {at}: {r:?}");
        }
    }
}

#[test]
fn fuzz_seed_for_evtx_chunk_is_the_synthetic_chunk() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds/evtx_chunk/synthetic_sysmon.chunk");
    // Cut after the last record: libFuzzer works better on small inputs, and the decoder reads
    // a chunk shorter than 64 KiB as long as its records fit.
    let full = synthetic_chunk(2);
    let chunk = &full[..full.iter().rposition(|b| *b != 0).unwrap_or(0) + 1];
    let cut = run(&mut EvtxChunkDecoder::new(), chunk);
    assert_eq!(
        cut,
        Run {
            decoded: vec![Some(1), Some(2)],
            ..Run::default()
        },
        "cut chunk"
    );
    if std::env::var_os("CIMHUNT_WRITE_SEEDS").is_some() {
        std::fs::write(&path, chunk).expect("write seed");
    }
    let seed = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (CIMHUNT_WRITE_SEEDS=1 writes it)", path.display()));
    assert!(
        seed == chunk,
        "{} is stale (CIMHUNT_WRITE_SEEDS=1 rewrites it)",
        path.display()
    );
}

/// Issue 11: `_record_id` in `events` was the EVTX record-header number, not the event's
/// `EventRecordID` an analyst looks up in Event Viewer. Files re-saved by tools renumber their
/// record headers (a corpus file has header numbers 1, 2, … for EventRecordIDs 471479, …):
/// both numbers are available, apart.
#[test]
fn record_header_number_and_event_record_id_are_both_kept_when_they_differ() {
    let mut builder = ChunkBuilder::default();
    builder.record(1, 133_540_000_000_000_000, &sysmon_like_event(471_479));
    builder.record(2, 133_540_000_000_000_000, &sysmon_like_event(471_480));
    let mut seen = Vec::new();
    EvtxChunkDecoder::new()
        .decode_chunk(&builder.finish(), |header, event| {
            let event = event.expect("decodes");
            seen.push((header.number, event.record_id().map(str::to_owned)));
        })
        .expect("chunk decodes");
    assert_eq!(
        seen,
        [
            (Some(1), Some("471479".to_owned())),
            (Some(2), Some("471480".to_owned()))
        ]
    );
}
