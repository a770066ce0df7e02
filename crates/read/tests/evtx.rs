//! Cutting synthetic EVTX files into chunks.

mod common;

use cimhunt_read::{
    Compression, Format, HeaderDamage, Input, Location, Malformed, NoticeKind, ReadErrorKind,
    ReadEvent, Reader, Span,
};
use common::*;

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// A valid file header (fields and CRC32) whose chunk count lies: the reader must not trust it.
fn header() -> Vec<u8> {
    let mut h = vec![0u8; HEADER];
    h[..8].copy_from_slice(b"ElfFile\0");
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&4096u16.to_le_bytes());
    h[42..44].copy_from_slice(&1u16.to_le_bytes());
    seal_header(&mut h);
    h
}

/// Writes a file header's CRC32 (of its first 120 bytes).
fn seal_header(h: &mut [u8]) {
    let crc = crc32fast::hash(&h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
}

/// A chunk of `fill` bytes behind `magic`, with valid CRC32s over its header and over the
/// records area (bytes 512 to a free-space offset of 40,000).
fn chunk(magic: &[u8; 8], fill: u8) -> Vec<u8> {
    let mut c = vec![fill; CHUNK];
    c[..8].copy_from_slice(magic);
    c[120..124].fill(0); // flags: checksums present
    c[48..52].copy_from_slice(&40_000u32.to_le_bytes());
    seal_chunk(&mut c);
    c
}

/// Writes a chunk's CRC32s: records first (they are part of the header's).
fn seal_chunk(c: &mut [u8]) {
    let records = crc32fast::hash(&c[512..40_000]);
    c[52..56].copy_from_slice(&records.to_le_bytes());
    let mut h = crc32fast::Hasher::new();
    h.update(&c[..120]);
    h.update(&c[128..512]);
    let header = h.finalize();
    c[124..128].copy_from_slice(&header.to_le_bytes());
}

/// The spans the reader yields for `bytes`.
fn spans(bytes: &[u8]) -> Vec<Span> {
    let input = Input::reader("test", Box::new(std::io::Cursor::new(bytes.to_vec())));
    Reader::default()
        .read(input)
        .filter_map(|e| match e {
            ReadEvent::Batch(b) => Some(b.records),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Header; chunk 0 good; chunk 1 all zero; chunk 2 bad magic; chunk 3 good; 1000-byte tail
/// that is not a chunk.
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
                kind: ReadErrorKind::Malformed(Malformed::NotAChunk(65536)),
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
                kind: ReadErrorKind::Malformed(Malformed::NotAChunk(1000)),
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

/// Every block size gives the same items.
fn read_all_sizes(file: &[u8]) -> Vec<Out> {
    let outs = read(file);
    for block_size in [1, 4097, CHUNK, 3 * CHUNK + 5] {
        assert_eq!(
            read_with(file, block(block_size)),
            outs,
            "block size {block_size}"
        );
    }
    outs
}

fn chunk_records(outs: &[Out]) -> Vec<(u8, u64)> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Rec { bytes, line, .. } => Some((bytes[200], *line)),
            _ => None,
        })
        .collect()
}

/// Issue 11: an EVTX file whose header lost its magic was passed over whole ("not EVTX"), 511
/// process events lost, exit 0 even with `--strict`. Its chunks are found and kept, and the
/// damaged header is a notice.
#[test]
fn evtx_file_with_a_damaged_header_keeps_its_chunks() {
    let mut file = header();
    file[..8].copy_from_slice(b"\x00garbled");
    file.extend(chunk(b"ElfChnk\0", 0xA1));
    file.extend(vec![0u8; CHUNK]);
    file.extend(chunk(b"ElfChnk\0", 0xA2));
    let outs = read_all_sizes(&file);
    assert_eq!(outs[0], Out::Opened(Format::Evtx, Compression::None));
    assert_eq!(
        outs[1],
        Out::Notice {
            at: None,
            kind: NoticeKind::DamagedFileHeader(HeaderDamage::Magic)
        }
    );
    assert_eq!(chunk_records(&outs), [(0xA1, 0), (0xA2, 2)]);
    assert_eq!(outs.len(), 4, "{outs:?}");
    // A header that is all zeros, or missing altogether, too.
    for head in [vec![0u8; HEADER], Vec::new()] {
        let mut file = head;
        file.extend(chunk(b"ElfChnk\0", 0xB1));
        let outs = read_all_sizes(&file);
        assert_eq!(chunk_records(&outs), [(0xB1, 0)], "{outs:?}");
        assert!(outs.contains(&Out::Notice {
            at: None,
            kind: NoticeKind::DamagedFileHeader(HeaderDamage::Magic)
        }));
    }
}

#[test]
fn evtx_file_header_with_a_bad_checksum_or_fields_is_reported_and_its_chunks_kept() {
    for (damage, expected) in [
        (60usize, HeaderDamage::Checksum),
        (38, HeaderDamage::Fields),
    ] {
        let mut file = header();
        file[damage] ^= 0x40;
        file.extend(chunk(b"ElfChnk\0", 0xC1));
        file.extend(chunk(b"ElfChnk\0", 0xC2));
        let outs = read_all_sizes(&file);
        assert_eq!(
            outs[1],
            Out::Notice {
                at: None,
                kind: NoticeKind::DamagedFileHeader(expected)
            }
        );
        assert_eq!(chunk_records(&outs), [(0xC1, 0), (0xC2, 1)]);
        assert_eq!(outs.len(), 4, "{outs:?}");
    }
}

/// Issue 11: chunk checksums were not checked, so flipped bits changed field values without a
/// word. A chunk whose CRC32 fails is reported with its number and kept, marked.
#[test]
fn evtx_chunk_with_a_bad_checksum_is_reported_and_kept_marked() {
    let mut bad_records = chunk(b"ElfChnk\0", 0xD2);
    bad_records[30_000] ^= 0x01;
    let mut bad_header = chunk(b"ElfChnk\0", 0xD3);
    bad_header[16] ^= 0x01; // last record number
    let mut no_crc = chunk(b"ElfChnk\0", 0xD4);
    no_crc[30_000] ^= 0x01;
    no_crc[120] = 4; // NO_CRC32: nothing to check
    let mut file = header();
    for c in [chunk(b"ElfChnk\0", 0xD1), bad_records, bad_header, no_crc] {
        file.extend(c);
    }
    let outs = read_all_sizes(&file);
    let notices: Vec<&Out> = outs
        .iter()
        .filter(|o| matches!(o, Out::Notice { .. }))
        .collect();
    assert_eq!(
        notices,
        [
            &Out::Notice {
                at: Some(Location::Chunk(1)),
                kind: NoticeKind::ChunkChecksum {
                    header: false,
                    records: true
                }
            },
            &Out::Notice {
                at: Some(Location::Chunk(2)),
                kind: NoticeKind::ChunkChecksum {
                    header: true,
                    records: false
                }
            },
        ]
    );
    assert_eq!(
        chunk_records(&outs),
        [(0xD1, 0), (0xD2, 1), (0xD3, 2), (0xD4, 3)]
    );
    let marks: Vec<bool> = spans(&file).iter().map(|s| s.checksum_mismatch).collect();
    assert_eq!(marks, [false, true, true, false]);
}

#[test]
fn evtx_chunks_shifted_by_junk_are_found_by_scanning() {
    let mut file = header();
    file.extend(chunk(b"ElfChnk\0", 0xE1));
    file.extend(vec![0x55; 777]); // junk: the next chunks are no longer 64 KiB-aligned
    file.extend(chunk(b"ElfChnk\0", 0xE2));
    file.extend(chunk(b"ElfChnk\0", 0xE3));
    let outs = read_all_sizes(&file);
    assert_eq!(
        outs[2],
        Out::Err {
            at: Some(Location::Chunk(1)),
            kind: ReadErrorKind::Malformed(Malformed::NotAChunk(777)),
            skipped: 1
        }
    );
    assert_eq!(chunk_records(&outs), [(0xE1, 0), (0xE2, 2), (0xE3, 3)]);
}

#[test]
fn evtx_last_chunk_cut_short_is_handed_on_when_its_header_is_there() {
    let mut file = header();
    file.extend(chunk(b"ElfChnk\0", 0xF1));
    file.extend(&chunk(b"ElfChnk\0", 0xF2)[..20_000]);
    let outs = read_all_sizes(&file);
    assert_eq!(
        outs[2],
        Out::Notice {
            at: Some(Location::Chunk(1)),
            kind: NoticeKind::TruncatedChunk(20_000)
        }
    );
    assert_eq!(chunk_records(&outs), [(0xF1, 0), (0xF2, 1)]);
    let mut short = header();
    short.extend(&chunk(b"ElfChnk\0", 0xF3)[..300]);
    let outs = read_all_sizes(&short);
    assert_eq!(
        outs[1],
        Out::Err {
            at: Some(Location::Chunk(0)),
            kind: ReadErrorKind::Malformed(Malformed::TruncatedChunk(300)),
            skipped: 1
        }
    );
}
