//! Normalized events, as the data model presents them to a search (`cimhunt events`).

use std::io::{self, Write};

use cimhunt_cim::{CimEvent, Field};
use comfy_table::{Cell, ContentArrangement, Table, presets};

use crate::Format;
use crate::json::Object;
use crate::rows::csv_field;

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
            .map(|(k, v)| format!("{}={v}", &k[1..]))
            .collect();
        parts.join(" ")
    }
}

/// The columns a table of events shows (the rest are in the JSON and CSV forms).
const TABLE_FIELDS: &[Field] = &[
    Field::Dest,
    Field::User,
    Field::ParentProcessName,
    Field::ProcessName,
    Field::Process,
    Field::ProcessId,
];

/// Writes events one at a time in a format; call [`EventWriter::finish`] at the end.
#[derive(Debug)]
pub struct EventWriter {
    format: Format,
    started: bool,
    table: Option<Table>,
}

impl EventWriter {
    /// A writer for the format.
    pub fn new(format: Format) -> Self {
        let table = (format == Format::Table).then(|| {
            let mut t = Table::new();
            t.load_style(presets::UTF8_FULL_CONDENSED);
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.force_no_tty();
            let header = ["_time"]
                .into_iter()
                .chain(TABLE_FIELDS.iter().map(|f| f.name()));
            t.set_header(header.chain(["origin"]).map(Cell::new));
            t
        });
        EventWriter {
            format,
            started: false,
            table,
        }
    }

    /// Writes one event.
    pub fn write(
        &mut self,
        out: &mut dyn Write,
        origin: &EventOrigin,
        event: &CimEvent<'_>,
    ) -> io::Result<()> {
        let time = event.time.map(|t| t.to_string()).unwrap_or_default();
        match self.format {
            Format::Jsonl => writeln!(out, "{}", event_json(origin, event))?,
            Format::Json => {
                let sep = if self.started { ",\n" } else { "[\n" };
                write!(out, "{sep}{}", event_json(origin, event))?;
            }
            Format::Csv => {
                if !self.started {
                    let header = ["_time", "_input", "_position"]
                        .into_iter()
                        .chain(Field::ALL.iter().map(|f| f.name()));
                    writeln!(out, "{}", header.collect::<Vec<_>>().join(","))?;
                }
                let mut cells = vec![
                    csv_field(&time),
                    csv_field(&origin.input),
                    origin.position_text(),
                ];
                for &f in Field::ALL {
                    cells.push(csv_field(&event.values(f).collect::<Vec<_>>().join("\n")));
                }
                writeln!(out, "{}", cells.join(","))?;
            }
            Format::Table => {
                if let Some(table) = &mut self.table {
                    let mut cells = vec![time];
                    cells.extend(
                        TABLE_FIELDS
                            .iter()
                            .map(|&f| event.values(f).collect::<Vec<_>>().join("\n")),
                    );
                    cells.push(format!("{} {}", origin.input, origin.position_text()));
                    table.add_row(cells);
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
                Some(t) if self.started => writeln!(out, "{t}"),
                _ => writeln!(out, "No process events."),
            },
            Format::Jsonl | Format::Csv => Ok(()),
        }
    }
}

/// One event as a JSON object: `_time`, the fields in [`Field`] order (multi-values as arrays),
/// then where it came from.
pub fn event_json(origin: &EventOrigin, event: &CimEvent<'_>) -> String {
    let mut o = Object::new();
    if let Some(t) = event.time {
        o.string("_time", &t.to_string());
    }
    for f in event.fields() {
        if event.is_multivalued(f) {
            o.strings(f.name(), event.values(f));
        } else if let Some(v) = event.get(f) {
            o.string(f.name(), v);
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
    use cimhunt_cim::Timestamp;

    fn sample() -> (EventOrigin, CimEvent<'static>) {
        let mut e = CimEvent::new();
        e.time = Some(Timestamp::parse_rfc3339("2020-10-08T11:03:46.6179203Z").unwrap());
        e.set(Field::Process, "msiexec /i \"http://x\" &amp; y");
        e.push(Field::Tag, "process");
        e.push(Field::Tag, "report");
        let origin = EventOrigin {
            input: "a.log".into(),
            position: vec![("_line", 3), ("_record", 2)],
        };
        (origin, e)
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
        let mut w = EventWriter::new(Format::Json);
        w.write(&mut out, &origin, &e).unwrap();
        w.write(&mut out, &origin, &e).unwrap();
        w.finish(&mut out).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));
        let mut out = Vec::new();
        EventWriter::new(Format::Json).finish(&mut out).unwrap();
        assert_eq!(out, b"[]\n");
    }

    #[test]
    fn csv_has_a_stable_header() {
        let (origin, e) = sample();
        let mut out = Vec::new();
        let mut w = EventWriter::new(Format::Csv);
        w.write(&mut out, &origin, &e).unwrap();
        let text = String::from_utf8(out).unwrap();
        let header = text.lines().next().unwrap();
        assert!(
            header.starts_with("_time,_input,_position,action,"),
            "{header}"
        );
        assert_eq!(header.split(',').count(), 3 + Field::ALL.len());
    }
}
