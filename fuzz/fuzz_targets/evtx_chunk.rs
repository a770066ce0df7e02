//! `EvtxChunkDecoder::decode_chunk` on arbitrary bytes: never panics; a failed chunk passes no
//! record on.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = cimhunt_decode::EvtxChunkDecoder::new();
    let mut records = 0usize;
    let result = decoder.decode_chunk(data, |_, event| {
        records += 1;
        if let Ok(event) = event {
            std::hint::black_box(event.data.len());
        }
    });
    assert!(
        result.is_ok() || records == 0,
        "a failed chunk passed {records} records on"
    );
});
