//! One worker's share of the work: the records of a batch through prefilter, decode, the
//! model's presentation, every detection that can match, and the detections' partial states.

use std::sync::Arc;

use cimhunt_decode::{Decoded as DecodedRecord, EvtxChunkDecoder, decode_json, decode_xml};
use cimhunt_model::{Decoded, Event, Meta, Model};
use cimhunt_read::{Batch, Format, InputName, LineCursor, Span};
use cimhunt_spl::{Aggregation, ExecCtx, Record, Row, Sym, Value};

use crate::gate::GateScratch;
use crate::job::{DetectionSource, Job};
use crate::origin::{Origin, Place, RecordError};
use crate::prefilter::TextScan;
use crate::records::Metas;
use crate::state::{Buckets, OrderKey};
use crate::stats::Stats;
use crate::{EventsView, Options};

/// What processing one batch produced, apart from partial states (which stay with the worker
/// until they are taken).
#[derive(Debug, Default)]
pub(crate) struct BatchReport {
    pub stats: Stats,
    pub errors: Vec<RecordError>,
    /// Events as `cimhunt events` shows them, in record order, when the run collects them.
    pub events: Vec<(Origin, Vec<(Sym, Value<'static>)>)>,
}

/// A worker's detection states, shared with whoever takes them.
#[derive(Debug)]
pub(crate) struct States {
    /// Per detection: its buckets.
    pub buckets: Vec<Buckets>,
    /// Per detection: how many events passed its source's filter.
    pub matched: Vec<u64>,
}

impl States {
    pub(crate) fn new(job: &Job, bucket_secs: Option<i64>, bucket_offset: i64) -> Self {
        States {
            buckets: job
                .detections()
                .iter()
                .map(|d| Buckets::new(bucket_secs, bucket_offset, d.agg().is_some()))
                .collect(),
            matched: vec![0; job.detections().len()],
        }
    }
}

/// A worker thread's reusable state.
pub(crate) struct Worker<'j> {
    job: &'j Job,
    options: &'j Options,
    evtx: EvtxChunkDecoder,
    adaptive: Adaptive,
    gates: Vec<GateScratch>,
    /// The detections a gate selected for the current event (reused).
    selected: Vec<usize>,
    rows: Vec<Row>,
    ctx: ExecCtx,
}

impl<'j> Worker<'j> {
    pub(crate) fn new(job: &'j Job, options: &'j Options) -> Self {
        Worker {
            job,
            options,
            evtx: EvtxChunkDecoder::new(),
            adaptive: Adaptive::new(job.prefilter().is_active() && !options.decode_all),
            gates: job
                .groups()
                .iter()
                .map(|_| GateScratch::default())
                .collect(),
            selected: Vec::new(),
            rows: Vec::new(),
            ctx: options.exec_ctx(),
        }
    }

    /// Processes one batch of input number `input`, adding to `states`.
    pub(crate) fn process(
        &mut self,
        input_no: u64,
        metas: &Metas,
        batch: &Batch,
        states: &mut States,
    ) -> BatchReport {
        let mut report = BatchReport::default();
        let active = self.job.prefilter().is_active() && !self.options.decode_all;
        self.adaptive.start_batch(batch.records.len());
        let json = batch.format == Format::Json;
        let mut scan = match batch.format {
            Format::Evtx => None,
            _ if active => self.job.prefilter().text_scan(&batch.block, json),
            _ => None,
        };
        let mut lines = batch.lines();
        for (i, span) in batch.records.iter().enumerate() {
            let meta = metas.get(i);
            let bytes = batch.bytes(span);
            // A file's size comes from its reader (`ReadEvent::Finished`); records that arrive
            // cut (an HEC request's events) are all there is to count.
            report.stats.record_bytes += bytes.len() as u64;
            if let Metas::Each(_) = metas {
                report.stats.bytes += bytes.len() as u64;
            }
            match batch.format {
                Format::Evtx => self.evtx_chunk(
                    input_no,
                    meta,
                    &batch.input,
                    span,
                    bytes,
                    active,
                    states,
                    &mut report,
                ),
                _ => self.text_record(
                    input_no,
                    meta,
                    batch,
                    span,
                    bytes,
                    scan.as_mut(),
                    &mut lines,
                    states,
                    &mut report,
                ),
            }
        }
        report
    }

    #[allow(clippy::too_many_arguments)]
    fn text_record(
        &mut self,
        input_no: u64,
        meta: &Meta,
        batch: &Batch,
        span: &Span,
        bytes: &[u8],
        prefilter: Option<&mut TextScan<'_, '_>>,
        lines: &mut LineCursor<'_>,
        states: &mut States,
        report: &mut BatchReport,
    ) {
        let json = batch.format == Format::Json;
        report.stats.records += 1;
        if let Some(scan) = prefilter.filter(|_| self.adaptive.should_check()) {
            let admitted = scan.admits(span.start, span.end);
            self.adaptive.record(admitted);
            if !admitted {
                report.stats.prefiltered += 1;
                return;
            }
        }
        let mut origin = || Origin::text(&batch.input, lines.line(span), span);
        let decoded = if json {
            decode_json(bytes)
        } else {
            decode_xml(bytes).map(DecodedRecord::Windows)
        };
        match decoded {
            Ok(decoded) => {
                let text = std::str::from_utf8(bytes).ok();
                let key = (input_no, span.ordinal);
                self.event(&decoded, meta, text, key, origin, states, report)
            }
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

    #[allow(clippy::too_many_arguments)]
    fn evtx_chunk(
        &mut self,
        input_no: u64,
        meta: &Meta,
        input: &Arc<InputName>,
        span: &Span,
        bytes: &[u8],
        prefilter: bool,
        states: &mut States,
        report: &mut BatchReport,
    ) {
        let chunk = span.chunk().unwrap_or(0);
        if prefilter
            && !self.job.prefilter().admits_evtx_chunk(bytes)
            && let Some(n) = EvtxChunkDecoder::record_count(bytes)
        {
            report.stats.records += n;
            report.stats.prefiltered += n;
            return;
        }
        let mut evtx = std::mem::take(&mut self.evtx);
        let mut nth = 0u64;
        let unverified = span.checksum_mismatch;
        let outcome = evtx.decode_chunk(bytes, |header, decoded| {
            report.stats.records += 1;
            if unverified {
                report.stats.unverified_records += 1;
            }
            nth += 1;
            let event_record_id = decoded
                .as_ref()
                .ok()
                .and_then(|w| w.record_id())
                .and_then(|t| t.trim().parse().ok());
            let origin = || Origin::evtx(input, chunk, header.number, event_record_id);
            match decoded {
                Ok(win) => {
                    let key = (input_no, (chunk << 24) | (nth & 0xff_ffff));
                    let d = DecodedRecord::Windows(win);
                    self.event(&d, meta, None, key, origin, states, report);
                }
                Err(e) => {
                    report.stats.skip("EVTX record that does not decode", 1);
                    report.errors.push(record_error(origin(), e.to_string()));
                }
            }
        });
        self.evtx = evtx;
        if let Err(e) = outcome {
            let n = EvtxChunkDecoder::record_count(bytes).unwrap_or(1);
            report.stats.records += n;
            report.stats.skip("EVTX chunk that does not decode", n);
            report.errors.push(RecordError {
                input: Arc::clone(input),
                place: Some(Place::Evtx {
                    chunk,
                    record: None,
                    event_record_id: None,
                }),
                message: format!("chunk skipped: {e}"),
                skipped: n,
            });
        }
    }

    /// Presents a decoded record and runs it through every detection that can match it.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        decoded: &DecodedRecord<'_>,
        meta: &Meta,
        text: Option<&str>,
        key: (u64, u64),
        origin: impl FnOnce() -> Origin,
        states: &mut States,
        report: &mut BatchReport,
    ) {
        let model: &Model = self.job.model();
        let repairs = u64::from(decoded.repairs());
        if repairs > 0 {
            report.stats.repaired_records += 1;
            report.stats.repairs += repairs;
        }
        let d = match decoded {
            DecodedRecord::Windows(w) => Decoded::Windows(w),
            DecodedRecord::Flat(f) => Decoded::Flat(f),
            _ => {
                report
                    .stats
                    .skip("record of a kind cimhunt does not present", 1);
                return;
            }
        };
        let ev = model.event(d, meta, self.job.want(), text);
        report.stats.events += 1;
        let order = OrderKey {
            time: ev.time(),
            input: key.0,
            record: key.1,
        };
        for (g, group) in self.job.groups().iter().enumerate() {
            match group.source {
                DetectionSource::Dataset(ds) => {
                    let Some(view) = model.view(&ev, ds) else {
                        continue;
                    };
                    self.group(g, &view, &ev, order, states);
                }
                DetectionSource::Events => self.group(g, &ev, &ev, order, states),
                // No group reads no events (see `Job`).
                DetectionSource::Lookup => {}
            }
        }
        match &self.options.events {
            EventsView::None => {}
            EventsView::Raw => {
                let fields = owned(ev.all_fields());
                report.events.push((origin(), fields));
            }
            EventsView::Dataset(ds) => {
                if let Some(view) = model.view(&ev, *ds) {
                    report.events.push((origin(), owned(view.fields())));
                }
            }
        }
    }

    /// Evaluates one group's detections on a record (an event, or its view through a dataset).
    fn group(
        &mut self,
        g: usize,
        rec: &dyn Record,
        ev: &Event<'_>,
        order: OrderKey,
        states: &mut States,
    ) {
        let group = &self.job.groups()[g];
        let members: &[usize] = match &group.gate {
            Some(gate) => {
                gate.select(rec, &mut self.gates[g]);
                // Map the gate's indexes (positions within the group) to detections.
                let mut selected = std::mem::take(&mut self.selected);
                selected.clear();
                selected.extend(
                    self.gates[g]
                        .selected()
                        .iter()
                        .map(|&i| group.members[i as usize]),
                );
                for &d in &selected {
                    self.detection(d, rec, ev, order, states);
                }
                self.selected = selected;
                return;
            }
            None => &group.members,
        };
        for &d in members {
            self.detection(d, rec, ev, order, states);
        }
    }

    fn detection(
        &mut self,
        d: usize,
        rec: &dyn Record,
        ev: &Event<'_>,
        order: OrderKey,
        states: &mut States,
    ) {
        let det = &self.job.detections()[d];
        let plan = det.plan();
        if !plan.source.filter().matches(rec) {
            return;
        }
        states.matched[d] += 1;
        let state = states.buckets[d].state_for(ev.time());
        if !plan.needs_rows() {
            if let (crate::state::State::Stats(groups), Aggregation::Stats(spec)) =
                (state, &plan.aggregation)
            {
                groups.add_kept(spec, rec, &self.ctx, det.key_filter());
            }
            return;
        }
        self.rows.clear();
        self.rows.push(to_row(rec, ev, det.projection()));
        for cmd in &plan.streaming {
            if cmd.run(&mut self.rows, &self.ctx).is_err() {
                // A command that fails on one event leaves it out (the error is reported when
                // the rows are finished, where the same command runs again).
                self.rows.clear();
            }
            if self.rows.is_empty() {
                return;
            }
        }
        match (state, &plan.aggregation) {
            (crate::state::State::Stats(groups), Aggregation::Stats(spec)) => {
                for row in &self.rows {
                    groups.add_kept(spec, row, &self.ctx, det.key_filter());
                }
            }
            (crate::state::State::Collect(rows), _) => {
                // Bounded: one row beyond the limit is enough for `finish` to report it.
                let room = (self.ctx.limits().max_rows + 1).saturating_sub(rows.len());
                rows.extend(self.rows.drain(..).take(room).map(|r| (order, r)));
            }
            _ => {}
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

/// A record as a row: the projected fields, or every field the record presents.
fn to_row(rec: &dyn Record, ev: &Event<'_>, projection: Option<&[Sym]>) -> Row {
    match projection {
        Some(fields) => {
            let mut row = Row::with_capacity(fields.len());
            for f in fields {
                let v = rec.value(*f);
                if !v.is_null() {
                    row.push(*f, v.into_owned());
                }
            }
            row
        }
        None => {
            // Every field: a dataset view's fields when the record is one, else the event's.
            let all = ev.all_fields();
            let mut row = Row::with_capacity(all.len());
            for (f, _) in all {
                let v = rec.value(f);
                if !v.is_null() {
                    row.push(f, v.into_owned());
                }
            }
            row
        }
    }
}

fn owned(fields: Vec<(Sym, Value<'_>)>) -> Vec<(Sym, Value<'static>)> {
    fields
        .into_iter()
        .map(|(s, v)| (s, v.into_owned()))
        .collect()
}

fn record_error(origin: Origin, message: String) -> RecordError {
    RecordError {
        input: origin.input,
        place: Some(origin.place),
        message,
        skipped: 1,
    }
}
