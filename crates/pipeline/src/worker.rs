//! One worker's share of the work: records of a batch through prefilter, decode, normalize,
//! match and aggregate.

use std::sync::Arc;

use cimhunt_cim::CimEvent;
use cimhunt_decode::{Decoded, EvtxChunkDecoder, decode_json, decode_xml};
use cimhunt_exec::{Executor, Groups};
use cimhunt_normalize::Outcome;
use cimhunt_read::{Batch, Format, InputName, Span};

use crate::Job;
use crate::gate::GateScratch;
use crate::origin::{Origin, Place, RecordError};
use crate::stats::Stats;

/// What processing one batch produced, apart from aggregation state (which stays with the
/// worker until the end).
#[derive(Debug, Default)]
pub(crate) struct BatchReport {
    pub stats: Stats,
    pub errors: Vec<RecordError>,
    /// Normalized events, in record order, when the job collects them.
    pub events: Vec<(Origin, CimEvent<'static>)>,
}

/// A worker thread's state: decoders, and the detections' state.
pub(crate) struct Worker<'j> {
    job: &'j Job,
    pub detections: Detections<'j>,
    evtx: EvtxChunkDecoder,
    adaptive: Adaptive,
}

/// What a worker keeps per detection: its executor, its aggregation state, its match count;
/// and the gate's buffers.
pub(crate) struct Detections<'j> {
    executors: Vec<Executor<'j>>,
    pub groups: Vec<Groups>,
    pub matched: Vec<u64>,
    gate: GateScratch,
}

impl<'j> Worker<'j> {
    pub fn new(job: &'j Job) -> Self {
        let executors: Vec<_> = job.plans.iter().map(Executor::new).collect();
        let n = executors.len();
        let detections = Detections {
            executors,
            groups: vec![Groups::new(); n],
            matched: vec![0; n],
            gate: GateScratch::default(),
        };
        Worker {
            job,
            detections,
            evtx: EvtxChunkDecoder::new(),
            adaptive: Adaptive::new(job.prefilter.is_active()),
        }
    }

    pub fn process(&mut self, batch: &Batch) -> BatchReport {
        let mut report = BatchReport::default();
        self.adaptive.start_batch(batch.records.len());
        for span in &batch.records {
            let bytes = batch.bytes(span);
            report.stats.bytes += bytes.len() as u64;
            match batch.format {
                Format::Evtx => self.evtx_chunk(&batch.input, span, bytes, &mut report),
                // `XmlEvents`, `Json` (and text formats to come).
                _ => self.text_record(batch, span, bytes, &mut report),
            }
        }
        report
    }

    fn text_record(&mut self, batch: &Batch, span: &Span, bytes: &[u8], report: &mut BatchReport) {
        let json = batch.format == Format::Json;
        report.stats.records += 1;
        if self.adaptive.should_check() {
            let admitted = self.job.prefilter.admits_text(bytes, json);
            self.adaptive.record(admitted);
            if !admitted {
                report.stats.prefiltered += 1;
                return;
            }
        }
        let origin = || Origin::text(&batch.input, span);
        let decoded = if json {
            decode_json(bytes)
        } else {
            decode_xml(bytes).map(Decoded::Windows)
        };
        match decoded {
            Ok(decoded) => self.detections.event(self.job, &decoded, origin, report),
            Err(e) => {
                let reason = if json {
                    "JSON that does not decode"
                } else {
                    "XML that does not decode"
                };
                report.stats.skip(reason, 1);
                report.errors.push(record_error(origin(), e.to_string()));
            }
        }
    }

    fn evtx_chunk(
        &mut self,
        input: &Arc<InputName>,
        span: &Span,
        bytes: &[u8],
        report: &mut BatchReport,
    ) {
        let chunk = span.chunk().unwrap_or(0);
        if !self.job.prefilter.admits_evtx_chunk(bytes)
            && let Some(n) = chunk_record_count(bytes)
        {
            report.stats.records += n;
            report.stats.prefiltered += n;
            return;
        }
        let Worker {
            job,
            detections,
            evtx,
            ..
        } = self;
        let outcome = evtx.decode_chunk(bytes, |header, decoded| {
            report.stats.records += 1;
            // The record-header number, as before; `WinEvent::record_id` is the EventRecordID.
            let record_id = header.number.unwrap_or(0);
            let origin = || Origin::evtx(input, chunk, record_id);
            match decoded {
                Ok(win) => detections.event(job, &Decoded::Windows(win), origin, report),
                Err(e) => {
                    report.stats.skip("EVTX record that does not decode", 1);
                    report.errors.push(record_error(origin(), e.to_string()));
                }
            }
        });
        if let Err(e) = outcome {
            let n = chunk_record_count(bytes).unwrap_or(1);
            report.stats.records += n;
            report.stats.skip("EVTX chunk that does not decode", n);
            let place = Some(Place::Evtx {
                chunk,
                record_id: 0,
            });
            let message = format!("chunk skipped: {e}");
            report.errors.push(RecordError {
                input: Arc::clone(input),
                place,
                message,
                skipped: n,
            });
        }
    }
}

impl Detections<'_> {
    /// Normalizes a decoded event and runs it through every detection that can match it.
    fn event(
        &mut self,
        job: &Job,
        decoded: &Decoded<'_>,
        origin: impl FnOnce() -> Origin,
        report: &mut BatchReport,
    ) {
        match job.normalizer.normalize(decoded) {
            Outcome::Process(event) => {
                report.stats.process_events += 1;
                match &job.gate {
                    Some(gate) => {
                        gate.select(&event, &mut self.gate);
                        let Detections {
                            executors,
                            groups,
                            matched,
                            gate,
                        } = self;
                        for &i in gate.selected() {
                            let i = i as usize;
                            if executors[i].add(&mut groups[i], &event) {
                                matched[i] += 1;
                            }
                        }
                    }
                    None => {
                        let states = self.groups.iter_mut().zip(self.matched.iter_mut());
                        for (exec, (groups, matched)) in self.executors.iter().zip(states) {
                            if exec.add(groups, &event) {
                                *matched += 1;
                            }
                        }
                    }
                }
                if job.collect_events {
                    report.events.push((origin(), event.into_owned()));
                }
            }
            Outcome::Other(kind) => report.stats.other(kind.0),
            Outcome::Invalid(e) => {
                report.stats.skip("process event without a usable time", 1);
                report.errors.push(record_error(origin(), e.to_string()));
            }
        }
    }
}

/// Turns the text prefilter off for a batch when it pays for nothing: when nearly every record
/// contains a literal (hundreds of detections), scanning records only to decode them all anyway
/// costs more than it saves. Skipping the prefilter never changes the rows, only speed.
///
/// The decision is made afresh for each batch from its first records, never from what other
/// batches (on other workers) saw: which records are decoded, and so which malformed records
/// are reported, is the same on every run and for every thread count.
#[derive(Debug)]
struct Adaptive {
    active: bool,
    /// How many records of this batch to probe.
    probe: usize,
    probed: usize,
    admitted: usize,
    bypass: bool,
}

/// The prefilter always checks the first eighth of a batch's records, at least 16 and at most
/// 256 of them, before deciding on the rest.
const PROBE: (usize, usize) = (16, 256);

impl Adaptive {
    fn new(active: bool) -> Self {
        Adaptive {
            active,
            probe: 0,
            probed: 0,
            admitted: 0,
            bypass: false,
        }
    }

    /// A batch of `records` records starts: probe again.
    fn start_batch(&mut self, records: usize) {
        self.probe = (records / 8).clamp(PROBE.0, PROBE.1);
        self.probed = 0;
        self.admitted = 0;
        self.bypass = false;
    }

    /// Whether to run the prefilter on this record.
    #[inline]
    fn should_check(&self) -> bool {
        self.active && !self.bypass
    }

    /// Notes the prefilter's verdict; after the probe, decides for the rest of the batch:
    /// bypass when more than 90% of the probed records passed anyway.
    fn record(&mut self, admitted: bool) {
        self.probed += 1;
        self.admitted += usize::from(admitted);
        if self.probed == self.probe {
            self.bypass = self.admitted * 10 > self.probed * 9;
        }
    }
}

fn record_error(origin: Origin, message: String) -> RecordError {
    RecordError {
        input: origin.input,
        place: Some(origin.place),
        message,
        skipped: 1,
    }
}

/// The number of records an EVTX chunk header declares, when it reads and is plausible.
fn chunk_record_count(chunk: &[u8]) -> Option<u64> {
    EvtxChunkDecoder::record_count(chunk)
}
