//! Result rows: a table per detection, JSON, JSON lines or CSV, written detection by detection.

use std::io::{self, Write};
use std::sync::Arc;

use cimhunt_spl::held::HeldRows;
use cimhunt_spl::{Row, RowSpill, Sym, Value};

use crate::Format;
use crate::csv_record::write_record;
use crate::json::Object;
use crate::table::{TableStyle, TableWriter};

/// Writes result rows detection by detection, as each detection is finished, and a detection's
/// rows as they come: no format holds a detection's rows in memory.
///
/// A detection is written with [`RowWriter::start`] (its name, row count and columns, which the
/// caller knows before the rows: a table's title and header need them), [`RowWriter::rows`] as
/// many times as it takes, and [`RowWriter::end`]; [`RowWriter::detection`] does all three for
/// rows at hand. Table, JSON and JSON lines are written at once (a table sizes its columns on
/// its first rows, see [`TableWriter`]). CSV's one header names every column of every
/// detection, known only at the end: its rows wait compactly in [`HeldRows`], beyond the row
/// spill's budget on disk ([`RowWriter::with_row_spill`]), until [`RowWriter::finish`]. A
/// detection without rows prints nothing in any format; a table with no rows at all says
/// `No results.`.
#[derive(Debug)]
pub struct RowWriter {
    format: Format,
    style: TableStyle,
    /// Rows (JSON) or detections with rows (the others) written so far.
    written: usize,
    /// The table of the detection being written.
    table: Option<(Vec<Sym>, TableWriter)>,
    /// CSV: what waits for the end.
    csv: HeldCsv,
}

/// CSV's rows until the end, and what its header and first column need.
#[derive(Debug, Default)]
struct HeldCsv {
    /// Every detection's columns, in first-seen order.
    columns: Vec<Sym>,
    /// Each detection's name and how many of the held rows are its, in order.
    detections: Vec<(String, usize)>,
    rows: HeldRows,
}

impl RowWriter {
    /// A writer in the format (`style` applies to tables).
    pub fn new(format: Format, style: TableStyle) -> Self {
        RowWriter {
            format,
            style,
            written: 0,
            table: None,
            csv: HeldCsv::default(),
        }
    }

    /// CSV rows beyond `spill`'s budget wait on disk rather than in memory.
    pub fn with_row_spill(mut self, spill: Option<Arc<RowSpill>>) -> Self {
        self.csv.rows = HeldRows::spilling(spill);
        self
    }

    /// Starts a detection of `count` rows whose cells are named `columns` (in first-seen order
    /// across its rows). Nothing is written for a detection without rows.
    pub fn start(
        &mut self,
        out: &mut dyn Write,
        name: &str,
        count: usize,
        columns: &[Sym],
    ) -> io::Result<()> {
        if count == 0 {
            return Ok(());
        }
        match self.format {
            Format::Table => {
                if self.written > 0 {
                    writeln!(out)?;
                }
                let title = format!("{name} — {count} row{}", if count == 1 { "" } else { "s" });
                if self.style.color {
                    writeln!(out, "\x1b[1m{title}\x1b[0m")?;
                } else {
                    writeln!(out, "{title}")?;
                }
                let header = columns.iter().map(|c| c.as_str().to_owned()).collect();
                self.table = Some((columns.to_vec(), TableWriter::new(header, self.style)));
                self.written += 1;
            }
            Format::Json => {}
            Format::Jsonl => self.written += 1,
            Format::Csv => {
                for c in columns {
                    if !self.csv.columns.contains(c) {
                        self.csv.columns.push(*c);
                    }
                }
                self.csv.detections.push((name.to_owned(), 0));
                self.written += 1;
            }
        }
        Ok(())
    }

    /// Writes rows of the detection started last, after those given before.
    pub fn rows(&mut self, out: &mut dyn Write, name: &str, rows: &[Row]) -> io::Result<()> {
        match self.format {
            Format::Table => {
                if let Some((columns, table)) = &mut self.table {
                    for row in rows {
                        let cells = columns
                            .iter()
                            .map(|c| row.get(*c).map(Value::to_string).unwrap_or_default())
                            .collect();
                        table.row(out, cells)?;
                    }
                }
            }
            Format::Json => {
                for row in rows {
                    let sep = if self.written == 0 { "[\n" } else { ",\n" };
                    write!(out, "{sep}{}", row_json(name, row))?;
                    self.written += 1;
                }
            }
            Format::Jsonl => {
                for row in rows {
                    writeln!(out, "{}", row_json(name, row))?;
                }
            }
            Format::Csv => {
                if let Some((_, n)) = self.csv.detections.last_mut() {
                    *n += rows.len();
                    for row in rows {
                        self.csv.rows.push(row);
                    }
                }
            }
        }
        Ok(())
    }

    /// Ends the detection started last.
    pub fn end(&mut self, out: &mut dyn Write) -> io::Result<()> {
        match self.table.take() {
            Some((_, table)) => table.finish(out),
            None => Ok(()),
        }
    }

    /// Writes one detection's rows (nothing when there are none).
    pub fn detection(&mut self, out: &mut dyn Write, name: &str, rows: Vec<Row>) -> io::Result<()> {
        let columns = columns(&rows);
        self.start(out, name, rows.len(), &columns)?;
        if !rows.is_empty() {
            self.rows(out, name, &rows)?;
        }
        self.end(out)
    }

    /// Ends the output: closes the JSON array, writes the CSV.
    pub fn finish(self, out: &mut dyn Write) -> io::Result<()> {
        match self.format {
            Format::Json if self.written > 0 => writeln!(out, "\n]"),
            Format::Json => writeln!(out, "[]"),
            Format::Csv => write_held_csv(out, self.csv),
            Format::Table if self.written == 0 => writeln!(out, "No results."),
            Format::Table | Format::Jsonl => Ok(()),
        }
    }
}

/// CSV: the header of every column, then the held rows in order, each with its detection.
fn write_held_csv(out: &mut dyn Write, csv: HeldCsv) -> io::Result<()> {
    let header = std::iter::once("detection").chain(csv.columns.iter().map(|c| c.as_str()));
    write_record(out, header)?;
    let mut rows = csv.rows.into_rows();
    for (name, n) in &csv.detections {
        for _ in 0..*n {
            let row = match rows.next() {
                Some(row) => row.map_err(io::Error::other)?,
                None => return Err(io::Error::other("a held CSV row is missing")),
            };
            write_csv_row(out, name, &csv.columns, &row)?;
        }
    }
    Ok(())
}

fn write_csv_row(out: &mut dyn Write, name: &str, cols: &[Sym], row: &Row) -> io::Result<()> {
    let values: Vec<String> = cols
        .iter()
        .map(|c| row.get(*c).map(Value::to_string).unwrap_or_default())
        .collect();
    write_record(
        out,
        std::iter::once(name).chain(values.iter().map(String::as_str)),
    )
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

/// Column names across rows, in first-seen order.
fn columns(rows: &[Row]) -> Vec<Sym> {
    let mut cols: Vec<Sym> = Vec::new();
    for name in rows.iter().flat_map(Row::names) {
        if !cols.contains(&name) {
            cols.push(name);
        }
    }
    cols
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

    /// Each detection's rows given with `RowWriter::detection`, then the end.
    fn write_rows(format: Format, results: &[(&str, Vec<Row>)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = RowWriter::new(format, TableStyle::default());
        for (name, rows) in results {
            w.detection(&mut out, name, rows.clone()).unwrap();
        }
        w.finish(&mut out).unwrap();
        out
    }

    fn render(format: Format) -> String {
        String::from_utf8(write_rows(format, &[("Det", rows())])).unwrap()
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
        let out = write_rows(Format::Table, &[("Quiet", vec![]), ("Det", rows())]);
        let t = String::from_utf8(out).unwrap();
        assert!(!t.contains("Quiet"), "{t}");
        assert!(t.starts_with("Det — 1 row\n"), "{t}");
    }

    #[test]
    fn no_rows_is_an_empty_array() {
        assert_eq!(write_rows(Format::Json, &[("Det", vec![])]), b"[]\n");
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

    fn many(detection: &str, n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| {
                let mut r = Row::from_texts(&[
                    ("dest", &format!("{detection}-host-{}", i % 5)),
                    (
                        "process",
                        &format!("cmd.exe /c job{i} {}", "x".repeat(i % 40)),
                    ),
                ]);
                if i % 7 == 3 {
                    r.set(Sym::new("late_column"), Value::num(i as f64));
                }
                r
            })
            .collect()
    }

    /// Writes two detections with `RowWriter::detection`, or started, given in chunks of three
    /// rows and ended, as `hunt` writes them.
    fn write_both(format: Format, chunked: bool, spill: Option<Arc<RowSpill>>) -> String {
        let mut out = Vec::new();
        let mut w = RowWriter::new(format, TableStyle::default()).with_row_spill(spill);
        for (name, rows) in [("A", many("a", 40)), ("Quiet", vec![]), ("B", many("b", 9))] {
            if chunked {
                let cols = columns(&rows);
                w.start(&mut out, name, rows.len(), &cols).unwrap();
                for chunk in rows.chunks(3) {
                    w.rows(&mut out, name, chunk).unwrap();
                }
                w.end(&mut out).unwrap();
            } else {
                w.detection(&mut out, name, rows).unwrap();
            }
        }
        w.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// `hunt` gives a detection's rows a few at a time; every format writes them as if given
    /// at once (a table's title counts them all, its header names a column first seen late).
    #[test]
    fn a_detection_given_in_chunks_is_written_as_one_call_writes_it() {
        for format in [Format::Table, Format::Json, Format::Jsonl, Format::Csv] {
            let whole = write_both(format, false, None);
            assert_eq!(write_both(format, true, None), whole, "{format:?}");
            assert!(
                whole.contains("a-host-4") && whole.contains("b-host-3"),
                "{whole}"
            );
        }
        let table = write_both(Format::Table, true, None);
        assert!(table.starts_with("A — 40 rows\n"), "{table}");
        assert!(
            table.lines().nth(2).unwrap().contains("late_column"),
            "{table}"
        );
        assert!(table.contains("\nB — 9 rows\n"), "{table}");
    }

    /// Regression: `hunt -f csv` held every row of every detection until the end (503 MB at
    /// its peak over 2 GiB of a fleet's events); rows past the budget now wait on disk.
    #[test]
    fn csv_rows_beyond_the_budget_wait_on_disk_and_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(RowSpill::new(dir.path().to_path_buf(), 1));
        let csv = write_both(Format::Csv, true, Some(spill.clone()));
        assert!(spill.written_bytes() > 0);
        assert_eq!(csv, write_both(Format::Csv, false, None));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "detection,dest,process,late_column");
        assert_eq!(lines.len(), 1 + 40 + 9);
        assert!(lines[1].starts_with("A,a-host-0,"), "{}", lines[1]);
        assert!(lines[41].starts_with("B,b-host-0,"), "{}", lines[41]);
    }
}
