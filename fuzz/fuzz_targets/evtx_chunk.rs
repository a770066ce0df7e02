//! `EvtxChunkDecoder::decode_chunk` on arbitrary bytes: never panics (a panic inside the evtx
//! crate is caught and is a chunk error); a chunk without a readable header (the `ElfChnk\0`
//! magic and 512 bytes) is a chunk-header error, and one whose header reads has its record count;
//! a decoder gives the same results when it decodes the same chunk again.
#![no_main]

use cimhunt_decode::{DecodeErrorKind, EvtxChunkDecoder};
use libfuzzer_sys::fuzz_target;

/// Each record's header number and its event (or error) as text, then the chunk's error.
fn decode(
    decoder: &mut EvtxChunkDecoder,
    data: &[u8],
) -> (Vec<(Option<u64>, String)>, Option<(DecodeErrorKind, String)>) {
    let mut records = Vec::new();
    let result = decoder.decode_chunk(data, |header, event| {
        records.push((header.number, format!("{event:?}")));
    });
    (records, result.err().map(|e| (e.kind(), e.to_string())))
}

fuzz_target!(|data: &[u8]| {
    let mut decoder = EvtxChunkDecoder::new();
    let first = decode(&mut decoder, data);
    let header_error = first
        .1
        .as_ref()
        .is_some_and(|(kind, _)| *kind == DecodeErrorKind::EvtxChunkHeader);
    if data.len() < 512 || !data.starts_with(b"ElfChnk\0") {
        assert!(header_error, "unreadable header accepted: {:?}", first.1);
    } else {
        assert!(!header_error, "readable header refused: {:?}", first.1);
    }
    // A header that reads declares a record count unless the count is implausible.
    assert!(EvtxChunkDecoder::record_count(data).is_none() || !header_error);
    assert_eq!(first, decode(&mut decoder, data), "second pass differs");
});
