//! The prefilter's soundness, proved on real data: for every detection of the ESCU library
//! whose generating command compiles, and every record of the shared corpora, a record that the
//! detection's own prefilter rejects yields no event (or dataset view) that the detection's
//! filter matches. This is the differential "with and without the prefilter" run, done per
//! detection in one pass: every record is decoded and presented whatever the prefilters say,
//! and each rejection is checked against the filter.
//!
//! Run with `cargo test -p cimhunt-engine --release --test model_prefilter -- --ignored`.

mod model_support;

use std::collections::BTreeMap;

use cimhunt_content::{ContentOptions, ContentSet};
use cimhunt_decode::{Decoded as Record, EvtxChunkDecoder, decode_json, decode_xml};
use cimhunt_engine::{Meta, Prefilter};
use cimhunt_model::{DatasetId, Decoded, Event, Model, Want};
use cimhunt_read::{Format, ReadEvent, Reader, ReaderOptions, expand_paths};
use cimhunt_spl::search::{Expr, RecordLiterals};
use cimhunt_spl::{Source, analyze};
use model_support::*;

/// One detection's filter and its own prefilter.
struct Checked {
    name: String,
    dataset: Option<DatasetId>,
    filter: Expr,
    prefilter: Prefilter,
    rejected: u64,
    violations: Vec<String>,
}

fn detections(model: &Model) -> (Vec<Checked>, usize) {
    let content = shared().join("content/security_content");
    let set = ContentSet::load(&ContentOptions {
        content_dir: Some(content.clone()),
        detections: vec![content.join("detections")],
        macro_files: Vec::new(),
    })
    .expect("content loads");
    let total = set.detections.len();
    let mut out = Vec::new();
    for d in &set.detections {
        let Ok(analysis) = analyze(&d.search, &set.macros, model) else {
            continue;
        };
        let Ok(source) = analysis.source else {
            continue;
        };
        let (dataset, lits) = match &source {
            Source::Tstats(t) => {
                let Some(ds) = model.dataset(&t.dataset) else {
                    continue;
                };
                (
                    Some(ds),
                    RecordLiterals::of(source.filter(), &model.dataset_origins(ds)),
                )
            }
            _ => (
                None,
                RecordLiterals::of(source.filter(), &model.event_origins()),
            ),
        };
        out.push(Checked {
            name: d.name.clone(),
            dataset,
            filter: source.filter().clone(),
            prefilter: Prefilter::new([&lits]),
            rejected: 0,
            violations: Vec::new(),
        });
    }
    (out, total)
}

/// Checks one presented event against every detection that rejected its record.
fn check(model: &Model, ev: &Event<'_>, rejecting: &[usize], all: &mut [Checked], at: &str) {
    for &i in rejecting {
        let d = &mut all[i];
        let matched = match d.dataset {
            Some(ds) => model.view(ev, ds).is_some_and(|v| d.filter.matches(&v)),
            None => d.filter.matches(ev),
        };
        if matched && d.violations.len() < 5 {
            d.violations.push(at.to_owned());
        }
    }
}

#[test]
#[ignore = "needs ../shared; slow in debug builds (use --release)"]
fn a_record_a_detection_prefilter_rejects_never_matches_that_detection() {
    let model = model();
    let (mut all, total) = detections(&model);
    let active: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].prefilter.is_active())
        .collect();
    println!(
        "{total} detections, {} with a compiled source, {} with an active prefilter",
        all.len(),
        active.len()
    );
    let mut want = Want::default();
    want.all();
    let meta = Meta::default();
    let (inputs, errors) = expand_paths(&[shared().join("corpus")]);
    assert!(errors.is_empty(), "{errors:?}");
    let reader = Reader::new(ReaderOptions::default());
    let mut evtx = EvtxChunkDecoder::new();
    let (mut records, mut events) = (0u64, 0u64);
    for input in inputs {
        for ev in reader.read(input) {
            let ReadEvent::Batch(batch) = ev else {
                continue;
            };
            let mut lines = batch.lines();
            for (span, bytes) in batch.iter() {
                let rejecting: Vec<usize> = active
                    .iter()
                    .copied()
                    .filter(|&i| match batch.format {
                        Format::Evtx => !all[i].prefilter.admits_evtx_chunk(bytes),
                        Format::Json => !all[i].prefilter.admits_text(bytes, true),
                        Format::XmlEvents => !all[i].prefilter.admits_text(bytes, false),
                    })
                    .collect();
                let at = format!("{}:{}", batch.input, lines.line(span).unwrap_or(0));
                match batch.format {
                    Format::Evtx => {
                        let _ = evtx.decode_chunk(bytes, |_, decoded| {
                            records += 1;
                            if let Ok(w) = decoded {
                                events += 1;
                                let e = model.event(Decoded::Windows(&w), &meta, &want, None);
                                check(&model, &e, &rejecting, &mut all, &at);
                            }
                        });
                    }
                    format => {
                        records += 1;
                        let decoded = if format == Format::Json {
                            decode_json(bytes)
                        } else {
                            decode_xml(bytes).map(Record::Windows)
                        };
                        let text = std::str::from_utf8(bytes).ok();
                        let d = match &decoded {
                            Ok(Record::Windows(w)) => Decoded::Windows(w),
                            Ok(Record::Flat(f)) => Decoded::Flat(f),
                            _ => continue,
                        };
                        events += 1;
                        let e = model.event(d, &meta, &want, text);
                        check(&model, &e, &rejecting, &mut all, &at);
                    }
                }
                for &i in &rejecting {
                    all[i].rejected += 1;
                }
            }
        }
    }
    let rejected: u64 = all.iter().map(|d| d.rejected).sum();
    let mut by_needles: BTreeMap<String, usize> = BTreeMap::new();
    for &i in &active {
        *by_needles
            .entry(all[i].prefilter.needles().join(" | "))
            .or_default() += 1;
    }
    println!(
        "{records} records ({events} events); {rejected} (detection, record or chunk) rejections checked; {} distinct needle sets",
        by_needles.len()
    );
    let bad: Vec<String> = all
        .iter()
        .filter(|d| !d.violations.is_empty())
        .map(|d| {
            format!(
                "{} (needles {:?}): {:?}",
                d.name,
                d.prefilter.needles(),
                d.violations
            )
        })
        .collect();
    assert!(bad.is_empty(), "unsound prefilters:\n{}", bad.join("\n"));
    assert!(records > 24_000, "the corpus was read: {records} records");
    assert!(
        active.len() > 100,
        "few active prefilters: {}",
        active.len()
    );
}
