//! The decoders on the real corpus in `../shared` (run with `--ignored`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cimhunt_decode::{Decoded, EvtxChunkDecoder, WinEvent, decode_json};
use common::{assert_same_event, evtx_chunks, files_with_suffix, owned, shared_dir};

#[derive(Debug, Default)]
struct Counts {
    records: usize,
    record_errors: usize,
    chunk_errors: usize,
}

/// Decodes every chunk of an EVTX file, calling `each` for each decoded event.
fn decode_file(path: &Path, mut each: impl FnMut(u64, &WinEvent<'_>)) -> Counts {
    let file = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = EvtxChunkDecoder::new();
    let mut counts = Counts::default();
    for chunk in evtx_chunks(&file) {
        let result = decoder.decode_chunk(chunk, |header, event| match event {
            Ok(event) => {
                counts.records += 1;
                each(
                    header.number.expect("a record that decodes has a number"),
                    &event,
                );
            }
            Err(e) => {
                counts.record_errors += 1;
                eprintln!("{}: record {:?}: {e}", path.display(), header.number);
            }
        });
        if let Err(e) = result {
            counts.chunk_errors += 1;
            eprintln!("{}: chunk: {e}", path.display());
        }
    }
    counts
}

/// The evtx_dump twin: pretty-printed objects one after another.
fn decode_twin(path: &Path) -> Vec<WinEvent<'static>> {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::Deserializer::from_slice(&text)
        .into_iter::<serde_json::Value>()
        .map(|value| {
            let value = value.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let bytes = serde_json::to_vec(&value).expect("re-serialize");
            match decode_json(&bytes) {
                Ok(Decoded::Windows(event)) => owned(&event),
                other => panic!("{}: not a Windows event: {other:?}", path.display()),
            }
        })
        .collect()
}

/// Whether `value` (in XML rendering) occurs in `file` as UTF-16LE text.
fn in_file(file: &[u8], value: &str) -> bool {
    let plain = value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let utf16: Vec<u8> = plain.encode_utf16().flat_map(u16::to_le_bytes).collect();
    !utf16.is_empty() && file.windows(utf16.len()).any(|w| w == utf16.as_slice())
}

#[test]
#[ignore = "needs ../shared"]
fn sigma_regression_evtx_records_equal_their_json_twins() {
    let dir = shared_dir().join("corpus/sigma_regression");
    let files = files_with_suffix(&dir, ".evtx");
    assert!(!files.is_empty(), "no .evtx under {}", dir.display());
    let (mut compared, mut trimmed, mut mismatches) = (0usize, 0usize, Vec::new());
    let mut twin_differs_from_file = Vec::new();
    for evtx in &files {
        let twin = evtx.with_extension("json");
        assert!(twin.is_file(), "{} has no JSON twin", evtx.display());
        let mut from_evtx: BTreeMap<u64, WinEvent<'static>> = BTreeMap::new();
        // Keyed by `System/EventRecordID`: in exported files the record header's id can differ.
        let counts = decode_file(evtx, |id, event| {
            let key = event.record_id().and_then(|r| r.parse().ok()).unwrap_or(id);
            from_evtx.insert(key, owned(event));
        });
        assert_eq!(
            counts.record_errors + counts.chunk_errors,
            0,
            "{}: {counts:?}",
            evtx.display()
        );
        let file_bytes = std::fs::read(evtx).expect("read EVTX file");
        let from_json = decode_twin(&twin);
        assert_eq!(
            from_json.len(),
            from_evtx.len(),
            "{}: record counts differ",
            twin.display()
        );
        for json_event in &from_json {
            let id: u64 = json_event
                .record_id()
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("{}: a record without EventRecordID", twin.display()));
            let Some(evtx_event) = from_evtx.get(&id) else {
                panic!("{}: record {id} not in the EVTX file", twin.display());
            };
            // The twins were written by an older evtx_dump, which cut trailing whitespace from
            // values (`"cmd.exe" ` became `"cmd.exe"`). Windows keeps it (spec 6.3), and so does
            // the EVTX path: such values are compared without it, and counted.
            let mut expected = evtx_event.clone();
            for ((_, value), (_, twin_value)) in expected.data.iter_mut().zip(&json_event.data) {
                if value != twin_value && value.trim_end() == twin_value.as_ref() {
                    *value = twin_value.clone();
                    trimmed += 1;
                } else if value != twin_value
                    && in_file(&file_bytes, value)
                    && !in_file(&file_bytes, twin_value)
                {
                    // The EVTX file's own bytes hold our value and not the twin's: the twin
                    // was edited after it was dumped. Reported, not a decoding difference.
                    twin_differs_from_file
                        .push(format!("{}: {value:?} vs {twin_value:?}", twin.display()));
                    *value = twin_value.clone();
                }
            }
            let context = format!("{} record {id}", evtx.display());
            let outcome = std::panic::catch_unwind(|| {
                assert_same_event(&context, &expected, json_event);
            });
            compared += 1;
            if let Err(panic) = outcome {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_else(|| "mismatch".to_owned());
                mismatches.push(message);
            }
        }
    }
    println!(
        "sigma_regression: {} files, {compared} records compared, {trimmed} values whose trailing \
         whitespace the JSON twin had cut",
        files.len()
    );
    println!(
        "values the JSON twin has but the EVTX file's bytes do not: {twin_differs_from_file:#?}"
    );
    assert!(compared > 0);
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
#[ignore = "needs ../shared"]
fn every_corpus_evtx_file_decodes_without_panicking() {
    let dir = shared_dir().join("corpus/evtx");
    let files = files_with_suffix(&dir, ".evtx");
    assert!(!files.is_empty(), "no .evtx under {}", dir.display());
    let mut total = Counts::default();
    let mut without_event_id = 0usize;
    for path in &files {
        let counts = decode_file(path, |_, event| {
            without_event_id += usize::from(event.event_id().is_none());
        });
        total.records += counts.records;
        total.record_errors += counts.record_errors;
        total.chunk_errors += counts.chunk_errors;
    }
    println!(
        "corpus/evtx: {} files, {} records decoded, {} record errors, {} chunk errors",
        files.len(),
        total.records,
        total.record_errors,
        total.chunk_errors
    );
    assert!(total.records > 0);
    assert_eq!(without_event_id, 0, "decoded events without an EventID");
}

/// The evtx crate also renders records as JSON (evtx_dump's shape, in its 0.15 form: lower-case
/// braced GUIDs, `Name_1` for repeated elements). Decoding that with `decode_json` must give
/// what the EVTX decoder gives, record by record, over the whole corpus.
#[test]
#[ignore = "needs ../shared"]
fn corpus_evtx_records_decode_alike_from_evtx_and_from_evtx_json() {
    let dir = shared_dir().join("corpus/evtx");
    let files = files_with_suffix(&dir, ".evtx");
    assert!(!files.is_empty(), "no .evtx under {}", dir.display());
    let settings = std::sync::Arc::new(evtx::ParserSettings::new().indent(false));
    let mut decoder = EvtxChunkDecoder::new();
    let mut compared = 0usize;
    for path in &files {
        let file = std::fs::read(path).expect("read EVTX file");
        for chunk in evtx_chunks(&file) {
            let mut from_evtx = Vec::new();
            let _ = decoder.decode_chunk(chunk, |header, event| {
                if let Ok(event) = event {
                    from_evtx.push((header.number.unwrap_or_default(), owned(&event)));
                }
            });
            let Ok(mut data) = evtx::EvtxChunkData::new(chunk.to_vec(), false) else {
                continue;
            };
            let mut parsed = data.parse(settings.clone()).expect("chunk parses");
            let json_records = parsed.iter().filter_map(Result::ok).filter_map(|r| {
                let id = r.event_record_id;
                r.into_json().ok().map(|j| (id, j.data))
            });
            let mut evtx_records = from_evtx.iter();
            for (id, json) in json_records {
                let Some((evtx_id, evtx_event)) = evtx_records.next() else {
                    panic!("{}: record {id} rendered to JSON only", path.display());
                };
                assert_eq!(*evtx_id, id, "{}: records out of step", path.display());
                let Ok(Decoded::Windows(json_event)) = decode_json(json.as_bytes()) else {
                    panic!(
                        "{}: record {id}: JSON not decoded as a Windows event",
                        path.display()
                    );
                };
                let context = format!("{} record {id}", path.display());
                assert_same_event(&context, evtx_event, &json_event);
                assert_eq!(
                    evtx_event.system_time(),
                    json_event.system_time(),
                    "{context}"
                );
                compared += 1;
            }
        }
    }
    println!("corpus/evtx: {compared} records compared between the EVTX and JSON renderings");
    assert!(compared > 0);
}

#[test]
#[ignore = "needs ../shared"]
fn damaged_corpus_chunks_give_errors_not_panics() {
    let dir = shared_dir().join("corpus/sigma_regression");
    let files = files_with_suffix(&dir, ".evtx");
    assert!(!files.is_empty(), "no .evtx under {}", dir.display());
    let mut decoder = EvtxChunkDecoder::new();
    let mut seed = 0x0123_4567_89AB_CDEFu64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for path in files.iter().take(40) {
        let file = std::fs::read(path).expect("read");
        for chunk in evtx_chunks(&file) {
            for _ in 0..20 {
                let mut damaged = chunk.to_vec();
                for _ in 0..(1 + rand() % 16) {
                    let at = 512 + (rand() as usize) % (damaged.len() - 512);
                    damaged[at] = rand() as u8;
                }
                let _ = decoder.decode_chunk(&damaged, |_, _| {});
            }
            for len in [0, 100, 512, 600, 4096, 30_000] {
                let truncated = &chunk[..len.min(chunk.len())];
                let _ = decoder.decode_chunk(truncated, |_, _| {});
            }
        }
    }
}

/// evtx_dump's default outputs (`Record N` before each record; XML indented with a declaration
/// per record, JSON pretty-printed), made by the evtx crate's own rendering of every corpus
/// file, go through the reader and the text decoders to the events the EVTX decoder gives.
#[test]
#[ignore = "needs ../shared"]
fn evtx_dump_default_outputs_read_and_decode_like_the_evtx_files() {
    use cimhunt_read::{Input, ReadEvent, Reader};
    let dir = shared_dir().join("corpus/evtx");
    let files = files_with_suffix(&dir, ".evtx");
    let reader = Reader::default();
    let mut compared = 0usize;
    for path in files.iter().take(150) {
        let mut from_evtx = Vec::new();
        decode_file(path, |_, event| from_evtx.push(owned(event)));
        for json in [false, true] {
            let settings = evtx::ParserSettings::new().indent(true);
            let mut parser = evtx::EvtxParser::from_path(path)
                .expect("open")
                .with_configuration(settings);
            let mut dump = Vec::new();
            let chunks: Vec<evtx::RenderedChunk> = if json {
                parser.chunks_json_bytes(true).collect()
            } else {
                parser.chunks_xml_bytes(true).collect()
            };
            for chunk in chunks {
                dump.extend_from_slice(&chunk.data);
            }
            let input = Input::reader("dump", Box::new(std::io::Cursor::new(dump)));
            let mut from_dump = Vec::new();
            for event in reader.read(input) {
                match event {
                    ReadEvent::Batch(batch) => {
                        for (_, bytes) in batch.iter() {
                            let event = if json {
                                match decode_json(bytes) {
                                    Ok(Decoded::Windows(e)) => owned(&e),
                                    other => panic!("{}: {other:?}", path.display()),
                                }
                            } else {
                                owned(&cimhunt_decode::decode_xml(bytes).expect("decodes"))
                            };
                            from_dump.push(event);
                        }
                    }
                    ReadEvent::Error { error, .. } => panic!("{}: {error}", path.display()),
                    _ => {}
                }
            }
            assert_eq!(from_dump.len(), from_evtx.len(), "{}", path.display());
            for (dumped, direct) in from_dump.iter().zip(&from_evtx) {
                assert_eq!(dumped.system, direct.system, "{}", path.display());
                assert_eq!(dumped.data, direct.data, "{}", path.display());
                compared += 1;
            }
        }
    }
    println!("{compared} records compared through evtx_dump's XML and JSON outputs");
    assert!(compared > 1000);
}
