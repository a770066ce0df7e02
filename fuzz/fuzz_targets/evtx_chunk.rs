//! `EvtxChunkDecoder::decode_chunk` on arbitrary bytes: never panics; a chunk without a readable
//! header (the `ElfChnk\0` magic and 512 bytes) is a chunk error, and one whose header reads has
//! its record count; a decoder gives the same results when it decodes the same chunk again.
#![no_main]

use cimhunt_decode::EvtxChunkDecoder;
use libfuzzer_sys::fuzz_target;

/// Each record's id and its event (or error) as text, then the chunk's error, if any.
fn decode(decoder: &mut EvtxChunkDecoder, data: &[u8]) -> (Vec<(u64, String)>, Option<String>) {
    let mut records = Vec::new();
    let result = decoder.decode_chunk(data, |id, event| {
        records.push((id, format!("{event:?}")));
    });
    (records, result.err().map(|e| e.message))
}

fuzz_target!(|data: &[u8]| {
    let mut decoder = EvtxChunkDecoder::new();
    let first = decode(&mut decoder, data);
    let header_error = first
        .1
        .as_deref()
        .is_some_and(|m| m.starts_with("bad EVTX chunk header"));
    if data.len() < 512 || !data.starts_with(b"ElfChnk\0") {
        assert!(header_error, "unreadable header accepted: {:?}", first.1);
    } else {
        assert!(!header_error, "readable header refused: {:?}", first.1);
    }
    // A header that reads declares a record count unless the count is implausible.
    assert!(EvtxChunkDecoder::record_count(data).is_none() || !header_error);
    assert_eq!(first, decode(&mut decoder, data), "second pass differs");
});
