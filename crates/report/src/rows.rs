//! Result rows as a table, JSON, JSON lines or CSV.

use std::io::{self, Write};

use cimhunt_spl::{Row, Sym, Value};
use comfy_table::{Attribute, Cell, ContentArrangement, Table, presets};

use crate::Format;
use crate::json::Object;

/// One detection's results.
#[derive(Debug, Clone, Copy)]
pub struct Results<'a> {
    /// The detection's name.
    pub detection: &'a str,
    /// Its result rows, in Splunk's order.
    pub rows: &'a [Row],
}

/// Table settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableStyle {
    /// Whether to use ANSI styling.
    pub color: bool,
    /// Width to fit the table into, when known (a terminal's width).
    pub width: Option<u16>,
}

/// Writes every detection's rows in the format.
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    results: &[Results<'_>],
    style: TableStyle,
) -> io::Result<()> {
    match format {
        Format::Table => write_tables(out, results, style),
        Format::Json => {
            let objects: Vec<String> = results
                .iter()
                .flat_map(|r| r.rows.iter().map(move |row| row_json(r.detection, row)))
                .collect();
            if objects.is_empty() {
                writeln!(out, "[]")
            } else {
                writeln!(out, "[\n{}\n]", objects.join(",\n"))
            }
        }
        Format::Jsonl => {
            for r in results {
                for row in r.rows {
                    writeln!(out, "{}", row_json(r.detection, row))?;
                }
            }
            Ok(())
        }
        Format::Csv => write_csv(out, results),
    }
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

fn write_tables(out: &mut dyn Write, results: &[Results<'_>], style: TableStyle) -> io::Result<()> {
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let n = r.rows.len();
        let title = format!("{} — {n} row{}", r.detection, if n == 1 { "" } else { "s" });
        if style.color {
            writeln!(out, "\x1b[1m{title}\x1b[0m")?;
        } else {
            writeln!(out, "{title}")?;
        }
        if n == 0 {
            continue;
        }
        let columns = columns(std::slice::from_ref(r));
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        if let Some(w) = style.width {
            table.set_width(w);
        }
        if !style.color {
            table.force_no_tty();
        }
        table.set_header(columns.iter().map(|c| {
            let cell = Cell::new(c.as_str());
            if style.color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
        for row in r.rows {
            table.add_row(
                columns
                    .iter()
                    .map(|c| row.get(*c).map(Value::to_string).unwrap_or_default()),
            );
        }
        writeln!(out, "{table}")?;
    }
    Ok(())
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
    let header: Vec<String> = std::iter::once("detection")
        .chain(cols.iter().map(|c| c.as_str()))
        .map(csv_field)
        .collect();
    writeln!(out, "{}", header.join(","))?;
    for r in results {
        for row in r.rows {
            let cells =
                std::iter::once(csv_field(r.detection))
                    .chain(cols.iter().map(|c| {
                        csv_field(&row.get(*c).map(Value::to_string).unwrap_or_default())
                    }));
            writeln!(out, "{}", cells.collect::<Vec<_>>().join(","))?;
        }
    }
    Ok(())
}

/// RFC 4180 quoting: fields with commas, quotes, CR or LF are quoted, quotes doubled.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
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
    fn no_rows_is_an_empty_array() {
        let results = [Results {
            detection: "Det",
            rows: &[],
        }];
        let mut out = Vec::new();
        write_rows(&mut out, Format::Json, &results, TableStyle::default()).unwrap();
        assert_eq!(out, b"[]\n");
    }
}
