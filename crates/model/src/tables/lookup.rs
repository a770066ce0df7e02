//! Lookup CSV files: a header of column names and rows of text, kept as written.
//!
//! RFC 4180 quoting (the `csv` crate), a UTF-8 byte-order mark ignored, CRLF or LF line ends.
//! A line that holds only blanks is skipped (the CIM package's reply-code file ends with one);
//! any other record whose length differs from the header's is an error naming the line.
//! Matching rows to events (case sensitivity, wildcards, `min_matches`) is the interpreter's
//! work, from the lookup definition.

use super::error::{Problem, TableError};

/// A lookup table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupTable {
    file: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl LookupTable {
    /// Parses CSV text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<LookupTable, TableError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let error = |line: Option<u64>, problem| TableError::Lookup {
            file: file.to_owned(),
            line,
            problem,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| error(None, Problem::Csv(e.to_string())))?
            .iter()
            .map(str::to_owned)
            .collect();
        if columns.iter().all(|c| c.trim().is_empty()) {
            return Err(error(Some(1), Problem::Csv("no header".to_owned())));
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map(|p| p.line());
                error(line, Problem::Csv(e.to_string()))
            })?;
            if record.iter().all(|f| f.trim().is_empty()) && record.len() <= 1 {
                continue;
            }
            if record.len() != columns.len() {
                let line = record.position().map(|p| p.line());
                return Err(error(
                    line,
                    Problem::RaggedRecord {
                        expected: columns.len(),
                        found: record.len(),
                    },
                ));
            }
            rows.push(record.iter().map(str::to_owned).collect());
        }
        Ok(LookupTable {
            file: file.to_owned(),
            columns,
            rows,
        })
    }

    /// Reads and parses a CSV file.
    pub fn read(path: &std::path::Path) -> Result<LookupTable, TableError> {
        let text = std::fs::read_to_string(path).map_err(|source| TableError::Read {
            path: path.display().to_string(),
            source,
        })?;
        LookupTable::parse(&path.display().to_string(), &text)
    }

    /// The file name given when parsing.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of a column (exact name).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The rows, in file order; each has one value per column.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// The values of one column, in row order.
    pub fn values<'a>(&'a self, column: &str) -> impl Iterator<Item = &'a str> + 'a {
        let i = self.column(column);
        self.rows
            .iter()
            .filter_map(move |r| i.map(|i| r[i].as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_crlf_and_a_trailing_blank_line() {
        let t = LookupTable::parse(
            "a.csv",
            "\u{feff}Type,action\r\n\"audit failure\",failure\r\n\"a, \"\"b\"\"\",x\r\n                   ",
        )
        .unwrap();
        assert_eq!(t.columns(), ["Type", "action"]);
        assert_eq!(t.rows().len(), 2);
        assert_eq!(t.rows()[1][0], "a, \"b\"");
        assert_eq!(t.values("action").collect::<Vec<_>>(), ["failure", "x"]);
        assert_eq!(t.column("Type"), Some(0));
        assert_eq!(t.values("nope").count(), 0);
    }

    #[test]
    fn empty_cells_are_kept() {
        let t = LookupTable::parse("a.csv", "a,b,c\n1,,\n").unwrap();
        assert_eq!(t.rows()[0], ["1", "", ""]);
    }

    #[test]
    fn ragged_records_and_missing_headers_are_errors_with_lines() {
        let e = LookupTable::parse("a.csv", "a,b\n1,2\n3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.csv:3: record has 1 fields, the header has 2"
        );
        assert!(LookupTable::parse("a.csv", "").is_err());
        let e = LookupTable::parse("a.csv", "a,b\n\"open,2\n").unwrap_err();
        assert!(e.to_string().starts_with("a.csv"), "{e}");
    }
}
