//! Result rows: a table per detection, JSON, JSON lines or CSV, written detection by detection.

use std::io::{self, Write};

use cimhunt_spl::{Row, Sym, Value};

use crate::Format;
use crate::csv_record::write_record;
use crate::json::Object;
use crate::table::{TableStyle, TableWriter};

/// One detection's results.
#[derive(Debug, Clone, Copy)]
pub struct Results<'a> {
    /// The detection's name.
    pub detection: &'a str,
    /// Its result rows, in Splunk's order.
    pub rows: &'a [Row],
}

/// Writes result rows detection by detection, as each detection is finished, so that a run
/// holds one detection's rows at a time.
///
/// Table, JSON and JSON lines are written at once. CSV keeps the rows until
/// [`RowWriter::finish`]: its one header names every column of every detection, which is known
/// only at the end. A detection without rows prints nothing in any format; a table with no rows
/// at all says `No results.`.
#[derive(Debug)]
pub struct RowWriter {
    format: Format,
    style: TableStyle,
    /// Detections written so far (with rows).
    written: usize,
    /// CSV: the rows, by detection, until the end.
    held: Vec<(String, Vec<Row>)>,
}

impl RowWriter {
    /// A writer in the format (`style` applies to tables).
    pub fn new(format: Format, style: TableStyle) -> Self {
        RowWriter {
            format,
            style,
            written: 0,
            held: Vec::new(),
        }
    }

    /// Whether the format writes each row as it comes (JSON, JSON lines): one detection's rows
    /// may then be given in several calls of [`RowWriter::detection`], in order, and are
    /// written as one call would write them. A table needs a detection's rows in one call (its
    /// widths), and CSV keeps every row until the end.
    pub fn streams(&self) -> bool {
        matches!(self.format, Format::Json | Format::Jsonl)
    }

    /// Writes one detection's rows (nothing when there are none).
    pub fn detection(&mut self, out: &mut dyn Write, name: &str, rows: Vec<Row>) -> io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match self.format {
            Format::Table => {
                if self.written > 0 {
                    writeln!(out)?;
                }
                write_table(out, name, &rows, self.style)?;
            }
            Format::Json => {
                for row in &rows {
                    let sep = if self.written == 0 { "[\n" } else { ",\n" };
                    write!(out, "{sep}{}", row_json(name, row))?;
                    self.written += 1;
                }
                return Ok(());
            }
            Format::Jsonl => {
                for row in &rows {
                    writeln!(out, "{}", row_json(name, row))?;
                }
            }
            Format::Csv => self.held.push((name.to_owned(), rows)),
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the output: closes the JSON array, writes the CSV.
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            Format::Json if self.written > 0 => writeln!(out, "\n]"),
            Format::Json => writeln!(out, "[]"),
            Format::Csv => {
                let results: Vec<Results<'_>> = self
                    .held
                    .iter()
                    .map(|(detection, rows)| Results { detection, rows })
                    .collect();
                write_csv(out, &results)
            }
            Format::Table if self.written == 0 => writeln!(out, "No results."),
            Format::Table | Format::Jsonl => Ok(()),
        }
    }
}

/// Writes every detection's rows in the format (detections without rows print nothing).
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    results: &[Results<'_>],
    style: TableStyle,
) -> io::Result<()> {
    let mut w = RowWriter::new(format, style);
    for r in results {
        w.detection(out, r.detection, r.rows.to_vec())?;
    }
    w.finish(out)
}

/// A row as a JSON object: `detection` first, then the columns in order. Numbers from `count`
/// and `dc` are JSON numbers, multi-values arrays, everything else strings; nulls are left out.
pub fn row_json(detection: &str, row: &Row) -> String {
    let mut o = Object::new();
    o.string("detection", detection);
    for (name, value) in row.cells() {
        put_value(&mut o, name.as_str(), value);
    }
    o.finish()
}

/// A value as JSON: numbers a search computed (`count`, `dc`, `eval`) are JSON numbers; field
/// values are strings as Splunk keeps them (`"0x1f4"`, `"021"`); multivalues are arrays.
pub(crate) fn put_value(o: &mut Object, name: &str, value: &Value<'_>) {
    match value {
        Value::Null => {}
        Value::Num(n) if n.is_computed() => {
            o.number(name, &n.text());
        }
        Value::Multi(v) => {
            let texts: Vec<String> = v
                .iter()
                .filter_map(|x| x.single_text().map(|t| t.into_owned()))
                .collect();
            o.strings(name, texts.iter().map(String::as_str));
        }
        v => {
            o.string(name, &v.single_text().unwrap_or_default());
        }
    }
}

/// A heading (`Name — 3 rows`) and the detection's table.
fn write_table(out: &mut dyn Write, name: &str, rows: &[Row], style: TableStyle) -> io::Result<()> {
    let n = rows.len();
    let title = format!("{name} — {n} row{}", if n == 1 { "" } else { "s" });
    if style.color {
        writeln!(out, "\x1b[1m{title}\x1b[0m")?;
    } else {
        writeln!(out, "{title}")?;
    }
    let columns = columns(&[Results {
        detection: name,
        rows,
    }]);
    let header = columns.iter().map(|c| c.as_str().to_owned()).collect();
    let mut table = TableWriter::new(header, style);
    for row in rows {
        let cells = columns
            .iter()
            .map(|c| row.get(*c).map(Value::to_string).unwrap_or_default())
            .collect();
        table.row(out, cells)?;
    }
    table.finish(out)
}

/// Column names across rows, in first-seen order.
fn columns(results: &[Results<'_>]) -> Vec<Sym> {
    let mut cols: Vec<Sym> = Vec::new();
    for r in results {
        for row in r.rows {
            for name in row.names() {
                if !cols.contains(&name) {
                    cols.push(name);
                }
            }
        }
    }
    cols
}

fn write_csv(out: &mut dyn Write, results: &[Results<'_>]) -> io::Result<()> {
    let cols = columns(results);
    let header = std::iter::once("detection").chain(cols.iter().map(|c| c.as_str()));
    write_record(out, header)?;
    for r in results {
        for row in r.rows {
            let values: Vec<String> = cols
                .iter()
                .map(|c| row.get(*c).map(Value::to_string).unwrap_or_default())
                .collect();
            write_record(
                out,
                std::iter::once(r.detection).chain(values.iter().map(String::as_str)),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        let mut r = Row::from_texts(&[("dest", "host,1"), ("process", "a \"b\"")]);
        r.set(Sym::new("count"), Value::num(2.0));
        r.set(
            Sym::new("vals"),
            Value::multi(vec![Value::str("x"), Value::str("y")]),
        );
        r.set(Sym::new("gone"), Value::Null);
        vec![r]
    }

    fn render(format: Format) -> String {
        let rows = rows();
        let results = [Results {
            detection: "Det",
            rows: &rows,
        }];
        let mut out = Vec::new();
        write_rows(&mut out, format, &results, TableStyle::default()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_types_follow_splunk_fields() {
        let expected =
            r#"{"detection":"Det","dest":"host,1","process":"a \"b\"","count":2,"vals":["x","y"]}"#;
        assert_eq!(render(Format::Jsonl), format!("{expected}\n"));
        assert_eq!(render(Format::Json), format!("[\n{expected}\n]\n"));
    }

    #[test]
    fn csv_quotes_what_it_must() {
        let csv = render(Format::Csv);
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("detection,dest,process,count,vals,gone"));
        assert_eq!(lines.next(), Some(r#"Det,"host,1","a ""b""",2,"x"#));
        assert_eq!(lines.next(), Some(r#"y","#));
    }

    #[test]
    fn table_shows_title_header_and_values() {
        let t = render(Format::Table);
        assert!(t.starts_with("Det — 1 row\n"), "{t}");
        assert!(
            t.contains("dest") && t.contains("host,1") && t.contains("a \"b\""),
            "{t}"
        );
        assert!(!t.contains('\x1b'), "no colour unless asked: {t}");
    }

    #[test]
    fn detections_without_rows_print_nothing() {
        let rows = rows();
        let results = [
            Results {
                detection: "Quiet",
                rows: &[],
            },
            Results {
                detection: "Det",
                rows: &rows,
            },
        ];
        let mut out = Vec::new();
        write_rows(&mut out, Format::Table, &results, TableStyle::default()).unwrap();
        let t = String::from_utf8(out).unwrap();
        assert!(!t.contains("Quiet"), "{t}");
        assert!(t.starts_with("Det — 1 row\n"), "{t}");
    }

    #[test]
    fn no_rows_is_an_empty_array() {
        let results = [Results {
            detection: "Det",
            rows: &[],
        }];
        let mut out = Vec::new();
        write_rows(&mut out, Format::Json, &results, TableStyle::default()).unwrap();
        assert_eq!(out, b"[]\n");
    }

    #[test]
    fn json_rows_of_two_detections_form_one_array() {
        let rows = rows();
        let mut out = Vec::new();
        let mut w = RowWriter::new(Format::Json, TableStyle::default());
        w.detection(&mut out, "A", rows.clone()).unwrap();
        w.detection(&mut out, "B", rows).unwrap();
        w.finish(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["detection"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["A", "B"]);
    }
}
