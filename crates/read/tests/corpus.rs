//! The reader over the real files in `../shared/corpus` (run with `--ignored`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use cimhunt_read::{Compression, Format, Input, Location, Reader, expand_paths};
use common::*;

/// `../shared` beside the workspace, or `CIMHUNT_SHARED`; panics when it is missing.
fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.join("corpus").is_dir(),
        "shared reference directory not found at {} (set CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

/// Files under `dir` whose name ends with `ext` (any case), via the reader's own walker.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let (inputs, errors) = expand_paths(&[dir]);
    assert!(errors.is_empty(), "walking {}: {errors:?}", dir.display());
    inputs
        .into_iter()
        .filter_map(|i| match &*i.name {
            cimhunt_read::InputName::Path(p) => Some(p.clone()),
            _ => None,
        })
        .filter(|p| p.to_string_lossy().to_ascii_lowercase().ends_with(ext))
        .collect()
}

#[test]
#[ignore = "needs ../shared"]
fn every_corpus_evtx_file_is_cut_into_all_its_chunks() {
    let paths = files(&shared().join("corpus/evtx"), ".evtx");
    assert!(
        paths.len() > 500,
        "expected the EVTX corpus, found {} files",
        paths.len()
    );
    let (mut spans, mut bad, mut zero) = (0u64, 0u64, 0u64);
    let (mut notices, mut header_notices) = (0u64, 0u64);
    for path in &paths {
        let outs = flatten(Reader::default().read(Input::path(path)));
        assert_eq!(
            outs.first(),
            Some(&Out::Opened(Format::Evtx, Compression::None)),
            "{}",
            path.display()
        );
        let bytes = fs::read(path).expect("corpus file readable");
        // All-zero chunks are skipped silently; count them independently.
        let zeros = bytes
            .get(4096..)
            .unwrap_or_default()
            .chunks(65536)
            .filter(|c| c.len() == 65536 && c.iter().all(|&b| b == 0))
            .count() as u64;
        let recs = outs.iter().filter(|o| matches!(o, Out::Rec { .. })).count() as u64;
        let errs = outs
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Out::Err {
                        at: Some(Location::Chunk(_)),
                        skipped: 1,
                        ..
                    }
                )
            })
            .count() as u64;
        assert_eq!(
            recs + errs + zeros,
            (bytes.len() as u64 - 4096).div_ceil(65536),
            "{}: {recs} chunks, {errs} bad, {zeros} empty",
            path.display()
        );
        let file_notices: Vec<_> = outs
            .iter()
            .filter(|o| matches!(o, Out::Notice { at: None, .. }))
            .collect();
        let chunk_notices = outs
            .iter()
            .filter(|o| matches!(o, Out::Notice { at: Some(_), .. }))
            .count() as u64;
        for notice in &file_notices {
            eprintln!("{}: {notice:?}", path.display());
        }
        header_notices += file_notices.len() as u64;
        notices += chunk_notices;
        assert_eq!(
            outs.len() as u64,
            1 + recs + errs + chunk_notices + file_notices.len() as u64,
            "{}: only chunk records, chunk errors and notices",
            path.display()
        );
        assert_ordinals(&outs);
        spans += recs;
        bad += errs;
        zero += zeros;
    }
    eprintln!(
        "{} EVTX files: {spans} chunks, {bad} bad or truncated, {zero} all-zero, \
         {notices} chunk notices, {header_notices} damaged file headers",
        paths.len()
    );
    assert!(spans > 0);
}

#[test]
#[ignore = "needs ../shared"]
fn every_sigma_regression_json_yields_records_and_no_errors() {
    let paths = files(&shared().join("corpus/sigma_regression"), ".json");
    assert!(!paths.is_empty(), "expected evtx_dump-style JSON files");
    let mut total = 0;
    for path in &paths {
        let outs = flatten(Reader::default().read(Input::path(path)));
        assert_eq!(
            outs.first(),
            Some(&Out::Opened(Format::Json, Compression::None)),
            "{}",
            path.display()
        );
        assert!(
            errors(&outs).is_empty(),
            "{}: {:?}",
            path.display(),
            errors(&outs)
        );
        let n = records(&outs).len();
        assert!(n >= 1, "{}: no records", path.display());
        total += n;
    }
    eprintln!("{} JSON files: {total} objects", paths.len());
}

/// Issue 11's damaged-header file, on real files: with the file header zeroed, every corpus
/// file still yields exactly its chunks, after one damaged-header notice.
#[test]
#[ignore = "needs ../shared"]
fn corpus_evtx_files_with_a_zeroed_header_yield_the_same_chunks() {
    let paths = files(&shared().join("corpus/evtx"), ".evtx");
    let chunks = |outs: &[Out]| -> Vec<Vec<u8>> {
        outs.iter()
            .filter_map(|o| match o {
                Out::Rec { bytes, .. } => Some(bytes.clone()),
                _ => None,
            })
            .collect()
    };
    let mut recovered = 0;
    for path in paths.iter().take(100) {
        let bytes = fs::read(path).expect("corpus file readable");
        let intact = chunks(&read(&bytes));
        let mut damaged = bytes.clone();
        damaged[..4096].fill(0);
        let outs = read(&damaged);
        assert_eq!(
            outs.get(1),
            Some(&Out::Notice {
                at: None,
                kind: cimhunt_read::NoticeKind::DamagedFileHeader(
                    cimhunt_read::HeaderDamage::Magic
                )
            }),
            "{}",
            path.display()
        );
        assert_eq!(chunks(&outs), intact, "{}", path.display());
        recovered += intact.len();
    }
    eprintln!("{recovered} chunks recovered from zeroed headers");
    assert!(recovered > 0);
}
