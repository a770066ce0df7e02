//! Decompression by magic bytes: gzip (several members), zstd (several frames), damage.

mod common;

use std::io::Write;

use cimhunt_read::{Compression, Format, ReadErrorKind};
use common::*;
use flate2::write::GzEncoder;

fn xml(range: std::ops::Range<u32>) -> String {
    range.map(|n| event(n) + "\n").collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory write")
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("in-memory zstd")
}

/// The records and errors only (no `Opened`).
fn body(outs: &[Out]) -> Vec<Out> {
    outs.iter()
        .filter(|o| !matches!(o, Out::Opened(..)))
        .cloned()
        .collect()
}

#[test]
fn gzip_input_reads_like_the_plain_text() {
    let text = xml(0..20);
    let outs = read(&gzip(text.as_bytes()));
    assert_eq!(outs[0], Out::Opened(Format::XmlEvents, Compression::Gzip));
    assert_eq!(body(&outs), body(&read(text.as_bytes())));
    assert_eq!(records(&outs).len(), 20);
}

#[test]
fn gzip_with_two_members_is_read_whole() {
    let (a, b) = (xml(0..10), xml(10..25));
    let mut file = gzip(a.as_bytes());
    file.extend(gzip(b.as_bytes()));
    let outs = read(&file);
    assert_eq!(records(&outs).len(), 25);
    assert_eq!(body(&outs), body(&read((a + &b).as_bytes())));
}

#[test]
fn zstd_with_two_frames_is_read_whole() {
    let (a, b) = ("{\"a\":1}\n{\"b\":2}\n", "{\"c\":3}\n");
    let mut file = zstd(a.as_bytes());
    file.extend(zstd(b.as_bytes()));
    let outs = read(&file);
    assert_eq!(outs[0], Out::Opened(Format::Json, Compression::Zstd));
    assert_eq!(body(&outs), body(&read(format!("{a}{b}").as_bytes())));
    assert_eq!(records(&outs).len(), 3);
}

/// Checks the shape "records from the start of `full`, then one Decompress error, nothing after".
fn assert_records_then_one_decompress_error(outs: &[Out], full: &[Out]) {
    let (last, before) = outs.split_last().expect("some output");
    assert!(
        matches!(
            last,
            Out::Err {
                kind: ReadErrorKind::Decompress(_),
                at: None,
                ..
            }
        ),
        "last is {last:?}"
    );
    let before = body(before);
    assert!(!before.is_empty(), "records before the damage are kept");
    assert!(before.len() < body(full).len());
    assert_eq!(before[..], body(full)[..before.len()], "intact prefix");
}

#[test]
fn corrupt_gzip_yields_records_before_the_damage_then_one_error() {
    let text = xml(0..3000);
    let plain = read(text.as_bytes());
    let mut file = gzip(text.as_bytes());
    let mid = file.len() / 2;
    for b in &mut file[mid..mid + 64] {
        *b ^= 0x5A;
    }
    let outs = read_with(&file, block(64 << 10));
    assert_records_then_one_decompress_error(&outs, &plain);
}

#[test]
fn truncated_gzip_yields_records_then_one_error() {
    let text = xml(0..3000);
    let plain = read(text.as_bytes());
    let mut file = gzip(text.as_bytes());
    file.truncate(file.len() * 2 / 3);
    let outs = read(&file);
    assert_records_then_one_decompress_error(&outs, &plain);
}

#[test]
fn truncated_zstd_yields_records_then_one_error() {
    let text = xml(0..3000);
    let plain = read(text.as_bytes());
    let mut file = zstd(text.as_bytes());
    file.truncate(file.len() * 2 / 3);
    let outs = read(&file);
    assert_records_then_one_decompress_error(&outs, &plain);
}

#[test]
fn corrupt_gzip_header_is_one_decompress_error() {
    let outs = read(&[0x1f, 0x8b, 0xff, 0xff, 0xff, 0xff]);
    assert_eq!(outs.len(), 1, "{outs:?}");
    assert!(matches!(
        &outs[0],
        Out::Err {
            kind: ReadErrorKind::Decompress(_),
            skipped: 0,
            ..
        }
    ));
}

#[test]
fn gzip_of_unknown_content_is_unknown_format() {
    let outs = read(&gzip(b"hello world\n"));
    assert_eq!(
        outs,
        vec![Out::Err {
            at: None,
            kind: ReadErrorKind::UnknownFormat,
            skipped: 0
        }]
    );
}

#[test]
fn gzip_magic_wins_over_file_extension() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.json");
    std::fs::write(&path, gzip(xml(0..2).as_bytes())).expect("write temp file");
    let outs = flatten(cimhunt_read::Reader::default().read(cimhunt_read::Input::path(&path)));
    assert_eq!(outs[0], Out::Opened(Format::XmlEvents, Compression::Gzip));
    assert_eq!(records(&outs).len(), 2);
}

/// Regression: the summary's input size was the sum of the records' bytes, so a file whose
/// only record is cut short read as "0 B", and one with text between records as less than it
/// is. The reader now says how many bytes each input held, after decompression.
#[test]
fn the_size_read_is_the_whole_input_after_decompression_not_its_records() {
    let text = format!("<?xml version=\"1.0\"?>\n{}junk line\n", xml(0..30));
    let len = text.len() as u64;
    for block_size in [64, 4096, 1 << 20] {
        assert_eq!(size_read(text.as_bytes(), block(block_size)), Some(len));
        assert_eq!(
            size_read(&gzip(text.as_bytes()), block(block_size)),
            Some(len)
        );
        assert_eq!(
            size_read(&zstd(text.as_bytes()), block(block_size)),
            Some(len)
        );
    }
    let cut_short = &event(1)[..40];
    assert_eq!(
        size_read(cut_short.as_bytes(), block(4096)),
        Some(cut_short.len() as u64)
    );
    // Not recognised: no size (the input is not counted as one read).
    assert_eq!(size_read(b"not events at all\n", block(4096)), None);
}

#[test]
fn a_corrupt_compressed_input_reports_the_bytes_decompressed_before_the_damage() {
    let text = xml(0..200);
    let mut file = gzip(text.as_bytes());
    let cut = file.len() / 2;
    file.truncate(cut);
    let size = size_read(&file, block(4096)).expect("a size");
    assert!(size > 0 && size < text.len() as u64, "{size}");
}
