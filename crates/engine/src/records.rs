//! Inputs that arrive already cut into records, each record with its own metadata: the events
//! of one HTTP Event Collector request, whose envelopes give each event its own `host`,
//! `source`, `sourcetype`, `index`, `_time` and indexed fields.
//!
//! Key design decision: such an input skips the reader (there is nothing to sniff or cut) and
//! becomes batches directly, whose records each carry their [`Meta`]; a file's batches share
//! one [`Meta`] as before ([`Metas::Shared`]), so file and batch runs are unchanged.

use std::sync::Arc;

use cimhunt_read::{Batch, Block, Format, InputName, Location, Span};

use crate::Meta;

/// How many records one batch of a [`Records`] input holds at most, so that a large request
/// is spread over the workers.
const RECORDS_PER_BATCH: usize = 256;

/// The text format of the records of a [`Records`] input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordFormat {
    /// One Windows event XML element (`<Event>…</Event>`) per record.
    Xml,
    /// One JSON object per record (evtx_dump JSON, CrowdStrike FDR, other JSON).
    Json,
}

/// An input already cut into records, each with its own metadata. Build it with
/// [`Records::new`] and [`Records::push`], feed it with [`crate::Engine::feed_records`].
#[derive(Debug)]
pub struct Records {
    name: String,
    format: RecordFormat,
    bytes: Vec<u8>,
    /// Per record: its span in `bytes`, its number, its metadata.
    records: Vec<(usize, usize, u64, Meta)>,
}

impl Records {
    /// An empty input named `name` (in messages) whose records are all in `format`.
    pub fn new(name: impl Into<String>, format: RecordFormat) -> Records {
        Records {
            name: name.into(),
            format,
            bytes: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Adds a record: its text, its number (shown in messages as its line and record number,
    /// e.g. its 1-based position in the request it came in) and its metadata.
    pub fn push(&mut self, number: u64, text: &[u8], meta: Meta) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(text);
        self.records.push((start, self.bytes.len(), number, meta));
    }

    /// The bytes of its records' text.
    pub fn text_len(&self) -> usize {
        self.bytes.len()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The input's format.
    pub fn format(&self) -> RecordFormat {
        self.format
    }

    /// The batches the workers process, each with its records' metadata.
    pub(crate) fn into_batches(self) -> Vec<(Metas, Batch)> {
        let input = Arc::new(InputName::Named(self.name));
        let format = match self.format {
            RecordFormat::Xml => Format::XmlEvents,
            RecordFormat::Json => Format::Json,
        };
        let block = Arc::new(Block::new(self.bytes));
        let mut out = Vec::with_capacity(self.records.len().div_ceil(RECORDS_PER_BATCH));
        let mut records = self.records.into_iter().peekable();
        while records.peek().is_some() {
            let mut spans = Vec::with_capacity(RECORDS_PER_BATCH);
            let mut metas = Vec::with_capacity(RECORDS_PER_BATCH);
            for (start, end, number, meta) in records.by_ref().take(RECORDS_PER_BATCH) {
                spans.push(Span {
                    start,
                    end,
                    location: Location::Line(number),
                    ordinal: number,
                    checksum_mismatch: false,
                });
                metas.push(meta);
            }
            let batch = Batch {
                input: Arc::clone(&input),
                format,
                block: Arc::clone(&block),
                records: spans,
                line_base: None,
            };
            out.push((Metas::Each(metas), batch));
        }
        out
    }
}

/// The metadata of a batch's records: one for all (a file, a stream), or one per record.
#[derive(Debug, Clone)]
pub(crate) enum Metas {
    Shared(Arc<Meta>),
    Each(Vec<Meta>),
}

impl Metas {
    /// The metadata of the batch's `i`th record.
    pub(crate) fn get(&self, i: usize) -> &Meta {
        static NONE: std::sync::OnceLock<Meta> = std::sync::OnceLock::new();
        match self {
            Metas::Shared(m) => m,
            Metas::Each(v) => v.get(i).unwrap_or_else(|| NONE.get_or_init(Meta::default)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_keeps_its_own_metadata_across_batches() {
        let mut r = Records::new("HEC request 1", RecordFormat::Json);
        for i in 0..300u64 {
            let meta = Meta {
                host: Some(Arc::from(format!("h{i}").as_str())),
                ..Meta::default()
            };
            r.push(i + 1, format!("{{\"n\":{i}}}").as_bytes(), meta);
        }
        let batches = r.into_batches();
        assert_eq!(batches.len(), 2);
        let (metas, batch) = &batches[1];
        assert_eq!(batch.records.len(), 44);
        assert_eq!(batch.bytes(&batch.records[0]), b"{\"n\":256}");
        assert_eq!(batch.records[0].ordinal, 257);
        assert_eq!(metas.get(0).host.as_deref(), Some("h256"));
        assert_eq!(metas.get(43).host.as_deref(), Some("h299"));
    }
}
