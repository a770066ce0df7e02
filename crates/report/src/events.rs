//! Normalized events, as the data model presents them to a search (`cimhunt events`).

use std::io::{self, Write};

use cimhunt_spl::{Sym, Timestamp, Value};

use crate::Format;
use crate::csv_record::write_record;
use crate::json::Object;
use crate::table::{TableStyle, TableWriter};

/// Where an event came from, as columns: `_input` and then a position (`_line` and `_record`
/// for text, `_chunk` and `_record_id` for EVTX).
#[derive(Debug, Clone)]
pub struct EventOrigin {
    /// The input's name.
    pub input: String,
    /// Position columns and their numbers.
    pub position: Vec<(&'static str, u64)>,
}

impl EventOrigin {
    fn position_text(&self) -> String {
        let parts: Vec<String> = self
            .position
            .iter()
            .map(|(k, v)| format!("{}={v}", k.strip_prefix('_').unwrap_or(k)))
            .collect();
        parts.join(" ")
    }
}

/// Writes events one at a time in a format; call [`EventWriter::finish`] at the end.
///
/// JSON forms carry every field of every event. Table and CSV need their columns up front: the
/// caller names them, and an event's other fields are left out of those two forms. Every form
/// is written as the events arrive, so memory does not grow with the input; the table keeps its
/// first [`crate::SAMPLE_ROWS`] events to size its columns (see [`TableWriter`]).
#[derive(Debug)]
pub struct EventWriter {
    format: Format,
    columns: Vec<Sym>,
    started: bool,
    table: Option<TableWriter>,
}

impl EventWriter {
    /// A writer for the format, with these columns for table and CSV (`style` applies to the
    /// table).
    pub fn new(format: Format, columns: Vec<Sym>, style: TableStyle) -> Self {
        let table = (format == Format::Table).then(|| {
            let header = std::iter::once("_time")
                .chain(columns.iter().map(|c| c.as_str()))
                .chain(std::iter::once("origin"))
                .map(str::to_owned)
                .collect();
            TableWriter::new(header, style)
        });
        EventWriter {
            format,
            columns,
            started: false,
            table,
        }
    }

    /// Writes one event: its fields in order (`_time` holding epoch seconds).
    pub fn write(
        &mut self,
        out: &mut dyn Write,
        origin: &EventOrigin,
        fields: &[(Sym, Value<'static>)],
    ) -> io::Result<()> {
        let time = event_time(fields);
        let get = |c: Sym| {
            fields
                .iter()
                .find(|(n, _)| *n == c)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        };
        match self.format {
            Format::Jsonl => writeln!(out, "{}", event_json(origin, fields))?,
            Format::Json => {
                let sep = if self.started { ",\n" } else { "[\n" };
                write!(out, "{sep}{}", event_json(origin, fields))?;
            }
            Format::Csv => {
                if !self.started {
                    let header = ["_time", "_input", "_position"]
                        .into_iter()
                        .chain(self.columns.iter().map(|c| c.as_str()));
                    write_record(out, header)?;
                }
                let mut cells = vec![time, origin.input.clone(), origin.position_text()];
                cells.extend(self.columns.iter().map(|&c| get(c)));
                write_record(out, cells.iter().map(String::as_str))?;
            }
            Format::Table => {
                let row: Vec<String> = std::iter::once(time)
                    .chain(self.columns.iter().map(|&c| get(c)))
                    .chain(std::iter::once(format!(
                        "{} {}",
                        origin.input,
                        origin.position_text()
                    )))
                    .collect();
                if let Some(table) = &mut self.table {
                    table.row(out, row)?;
                }
            }
        }
        self.started = true;
        Ok(())
    }

    /// Closes the output (the JSON array, the table).
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            Format::Json if self.started => writeln!(out, "\n]"),
            Format::Json => writeln!(out, "[]"),
            Format::Table => match self.table {
                Some(t) if self.started => t.finish(out),
                _ => writeln!(out, "No events."),
            },
            Format::Jsonl | Format::Csv => Ok(()),
        }
    }
}

/// `_time` as RFC 3339 UTC with the source's digits, from the epoch seconds a field list holds.
fn event_time(fields: &[(Sym, Value<'static>)]) -> String {
    fields
        .iter()
        .find(|(n, _)| n.as_str() == "_time")
        .and_then(|(_, v)| v.first_text())
        .and_then(|t| Timestamp::parse_epoch_secs(&t).ok())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// One event as a JSON object: `_time` (RFC 3339), the fields in order (multivalues as
/// arrays), then where it came from.
pub fn event_json(origin: &EventOrigin, fields: &[(Sym, Value<'static>)]) -> String {
    let mut o = Object::new();
    let time = event_time(fields);
    if !time.is_empty() {
        o.string("_time", &time);
    }
    for (name, value) in fields {
        if name.as_str() == "_time" {
            continue;
        }
        match value {
            Value::Null => {}
            Value::Multi(vs) => {
                let texts: Vec<String> = vs
                    .iter()
                    .filter_map(|v| v.single_text().map(|t| t.into_owned()))
                    .collect();
                o.strings(name.as_str(), texts.iter().map(String::as_str));
            }
            v => {
                o.string(name.as_str(), &v.single_text().unwrap_or_default());
            }
        }
    }
    o.string("_input", &origin.input);
    for (k, v) in &origin.position {
        o.integer(k, *v);
    }
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (EventOrigin, Vec<(Sym, Value<'static>)>) {
        let fields = vec![
            (Sym::new("_time"), Value::from_field("1602155026.6179203")),
            (
                Sym::new("process"),
                Value::from_field("msiexec /i \"http://x\" &amp; y"),
            ),
            (
                Sym::new("tag"),
                Value::multi(vec![Value::str("process"), Value::str("report")]),
            ),
        ];
        let origin = EventOrigin {
            input: "a.log".into(),
            position: vec![("_line", 3), ("_record", 2)],
        };
        (origin, fields)
    }

    #[test]
    fn json_event_keeps_time_digits_values_and_origin() {
        let (origin, e) = sample();
        assert_eq!(
            event_json(&origin, &e),
            r#"{"_time":"2020-10-08T11:03:46.6179203Z","process":"msiexec /i \"http://x\" &amp; y","tag":["process","report"],"_input":"a.log","_line":3,"_record":2}"#
        );
    }

    #[test]
    fn json_array_is_well_formed_with_and_without_events() {
        let (origin, e) = sample();
        let mut out = Vec::new();
        let mut w = EventWriter::new(Format::Json, Vec::new(), TableStyle::default());
        w.write(&mut out, &origin, &e).unwrap();
        w.write(&mut out, &origin, &e).unwrap();
        w.finish(&mut out).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));
        let mut out = Vec::new();
        EventWriter::new(Format::Json, Vec::new(), TableStyle::default())
            .finish(&mut out)
            .unwrap();
        assert_eq!(out, b"[]\n");
    }

    #[test]
    fn csv_has_the_named_columns() {
        let (origin, e) = sample();
        let mut out = Vec::new();
        let mut w = EventWriter::new(
            Format::Csv,
            vec![Sym::new("process"), Sym::new("dest")],
            TableStyle::default(),
        );
        w.write(&mut out, &origin, &e).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("_time,_input,_position,process,dest"));
        assert_eq!(
            lines.next(),
            Some(
                r#"2020-10-08T11:03:46.6179203Z,a.log,line=3 record=2,"msiexec /i ""http://x"" &amp; y","#
            )
        );
    }

    /// `events -f table` held every event until the end (13 times the input in memory): it now
    /// keeps the sample that sizes the columns, then writes each event as it comes.
    #[test]
    fn table_streams_after_its_sample() {
        let (origin, e) = sample();
        let mut out = Vec::new();
        let mut w = EventWriter::new(
            Format::Table,
            vec![Sym::new("process")],
            TableStyle::default(),
        );
        for _ in 0..crate::SAMPLE_ROWS {
            w.write(&mut out, &origin, &e).unwrap();
        }
        let after_sample = out.len();
        assert!(after_sample > 0, "the sample is written once full");
        w.write(&mut out, &origin, &e).unwrap();
        assert!(out.len() > after_sample, "later events are written at once");
        w.finish(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.matches("a.log line=3 record=2").count(),
            crate::SAMPLE_ROWS + 1
        );
    }

    #[test]
    fn position_keys_without_underscore_do_not_panic() {
        let origin = EventOrigin {
            input: "x".into(),
            position: vec![("", 1), ("line", 2)],
        };
        assert_eq!(origin.position_text(), "=1 line=2");
    }
}
