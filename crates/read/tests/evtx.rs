//! Cutting synthetic EVTX files into chunks.

mod common;

use cimhunt_read::{Compression, Format, Location, ReadErrorKind};
use common::*;

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

fn header() -> Vec<u8> {
    let mut h = vec![0u8; HEADER];
    h[..8].copy_from_slice(b"ElfFile\0");
    // A chunk count that lies: the reader must not trust it.
    h[0x28] = 1;
    h
}

fn chunk(magic: &[u8; 8], fill: u8) -> Vec<u8> {
    let mut c = vec![fill; CHUNK];
    c[..8].copy_from_slice(magic);
    c
}

/// Header; chunk 0 good; chunk 1 all zero; chunk 2 bad magic; chunk 3 good; 1000-byte tail.
fn sample() -> Vec<u8> {
    let mut f = header();
    f.extend(chunk(b"ElfChnk\0", 0xA1));
    f.extend(vec![0u8; CHUNK]);
    f.extend(chunk(b"NotChnk\0", 0xB2));
    f.extend(chunk(b"ElfChnk\0", 0xC3));
    f.extend(vec![0xD4; 1000]);
    f
}

#[test]
fn evtx_chunks_zero_chunks_bad_magic_and_truncated_tail() {
    let file = sample();
    for block_size in [1, CHUNK, 3 * CHUNK + 5, 4 << 20] {
        let outs = read_with(&file, block(block_size));
        assert_eq!(outs.len(), 5, "block size {block_size}: {outs:?}");
        assert_eq!(outs[0], Out::Opened(Format::Evtx, Compression::None));
        assert_eq!(
            outs[1],
            Out::Rec {
                bytes: chunk(b"ElfChnk\0", 0xA1),
                line: 0,
                ordinal: 1
            }
        );
        assert_eq!(
            outs[2],
            Out::Err {
                at: Some(Location::Chunk(2)),
                kind: ReadErrorKind::Malformed("bad chunk magic".into()),
                skipped: 1
            }
        );
        assert_eq!(
            outs[3],
            Out::Rec {
                bytes: chunk(b"ElfChnk\0", 0xC3),
                line: 3,
                ordinal: 2
            }
        );
        assert_eq!(
            outs[4],
            Out::Err {
                at: Some(Location::Chunk(4)),
                kind: ReadErrorKind::Malformed("truncated chunk: 1000 of 65536 bytes".into()),
                skipped: 1
            }
        );
    }
}

#[test]
fn evtx_with_header_only_yields_nothing_but_opened() {
    let outs = read(&header());
    assert_eq!(outs, vec![Out::Opened(Format::Evtx, Compression::None)]);
}

#[test]
fn evtx_truncated_file_header_is_reported() {
    let mut f = header();
    f.truncate(100);
    let outs = read(&f);
    assert_eq!(outs.len(), 2);
    assert!(matches!(&outs[1], Out::Err { at: None, kind, skipped: 0 }
        if malformed(kind, "truncated file header: 100 of 4096 bytes")));
}

#[test]
fn evtx_many_chunks_span_several_blocks() {
    let mut f = header();
    for i in 0..70u8 {
        f.extend(chunk(b"ElfChnk\0", i));
    }
    let outs = read_with(&f, block(4 * CHUNK));
    let recs: Vec<_> = outs
        .iter()
        .filter_map(|o| match o {
            Out::Rec { bytes, line, .. } => Some((bytes[8], *line)),
            _ => None,
        })
        .collect();
    let expected: Vec<_> = (0..70u8).map(|i| (i, u64::from(i))).collect();
    assert_eq!(recs, expected);
    assert_ordinals(&outs);
}
