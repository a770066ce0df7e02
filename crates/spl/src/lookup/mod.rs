//! Lookup tables and how a row of an event is matched against them: the semantics of
//! `transforms.conf` lookup definitions, shared by the add-ons' automatic lookups (`LOOKUP-`),
//! the data models' lookup calculations and the `lookup` command.
//!
//! Rules (Splunk `transforms.conf.spec`, lookup settings; Search Reference, "lookup"):
//! - A row matches when every input field matches its column. `match_type = WILDCARD(col)`: `*`
//!   in the table's value matches any run of characters; `CIDR(col)`: the table's value is an
//!   IP range (`10.0.0.0/8`) containing the event's address; otherwise the values are equal.
//! - `case_sensitive_match` (default true): when false, exact and wildcard comparisons ignore
//!   case.
//! - `max_matches` (default 100 without a time field): at most that many matching rows, in
//!   table order; their output values become multivalues, in row order.
//! - `min_matches` (default 0) with `default_match`: when fewer rows match, the outputs are
//!   `default_match` (the number of default values added is `min_matches` minus the matches).
//! - An input field with several values is looked up value by value; the outputs of all of
//!   them are gathered in order [inferred].
//! - An input field that is null: no row matches [inferred: Splunk documents matching only for
//!   present fields].
//! - A matching row's empty cell gives no value for that output.

use hashbrown::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use crate::pattern::Pattern;

mod cells;
mod wild;

pub use cells::Cells;
use wild::WildIndex;

/// How a column is compared with the event's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnMatch {
    /// Equal values (case-sensitively unless the table says otherwise).
    Exact,
    /// The table's value is a `*` wildcard pattern.
    Wildcard,
    /// The table's value is a CIDR range (or a single address).
    Cidr,
}

/// A lookup table with its matching settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupTable {
    name: String,
    columns: Vec<String>,
    cells: Cells,
    matching: Vec<ColumnMatch>,
    case_sensitive: bool,
    min_matches: usize,
    max_matches: usize,
    default_match: Option<String>,
    /// Per column, its cells compiled as wildcard patterns, on the column's first wildcard
    /// match: a table no search matches by wildcard (most of a content's tables, for most
    /// runs) costs only its text.
    patterns: Vec<OnceLock<Vec<Pattern>>>,
    /// Per column, built on its first exact lookup: the rows holding each value (lower-cased
    /// when the table ignores case), in table order. `find` looks candidates up here instead
    /// of comparing every row; the answer is the same (see `find`).
    index: Vec<OnceLock<ColumnIndex>>,
    /// Per wildcard column, built on its first lookup: the rows that can match a value
    /// ([`WildIndex`]).
    wild: Vec<OnceLock<WildIndex>>,
}

/// The rows of one column by value.
type ColumnIndex = HashMap<Box<str>, Vec<u32>>;

impl LookupTable {
    /// A table: `columns` names the columns, each row has one cell per column (missing cells
    /// are empty).
    pub fn new(name: impl Into<String>, columns: Vec<String>, rows: Vec<Vec<String>>) -> Self {
        let mut cells = Cells::new(columns.len());
        for row in &rows {
            cells.push_row(row.iter().map(String::as_str));
        }
        LookupTable::from_cells(name, columns, cells)
    }

    /// A table over `cells`, one per column in each row.
    pub fn from_cells(name: impl Into<String>, columns: Vec<String>, mut cells: Cells) -> Self {
        let n = columns.len();
        if cells.width() != n {
            let mut fitted = Cells::new(n);
            for r in 0..cells.len() {
                fitted.push_row(cells.row(r));
            }
            cells = fitted;
        }
        cells.shrink_to_fit();
        let mut t = LookupTable {
            name: name.into(),
            matching: vec![ColumnMatch::Exact; n],
            columns,
            cells,
            case_sensitive: true,
            min_matches: 0,
            max_matches: 100,
            default_match: None,
            patterns: Vec::new(),
            index: Vec::new(),
            wild: Vec::new(),
        };
        t.compile();
        t
    }

    /// Sets how a column is compared.
    pub fn with_match(mut self, column: &str, how: ColumnMatch) -> Self {
        if let Some(i) = self.column(column) {
            self.matching[i] = how;
        }
        self.compile();
        self
    }

    /// Sets `case_sensitive_match`.
    pub fn with_case_sensitive(mut self, on: bool) -> Self {
        self.case_sensitive = on;
        self.compile();
        self
    }

    /// Sets `min_matches`, `max_matches` and `default_match`.
    pub fn with_matches(mut self, min: usize, max: usize, default: Option<String>) -> Self {
        self.min_matches = min;
        self.max_matches = max.max(1);
        self.default_match = default;
        self
    }

    fn compile(&mut self) {
        self.index = (0..self.columns.len()).map(|_| OnceLock::new()).collect();
        self.wild = (0..self.columns.len()).map(|_| OnceLock::new()).collect();
        self.patterns = (0..self.columns.len()).map(|_| OnceLock::new()).collect();
    }

    /// Column `col`'s cells as wildcard patterns, one per row (compiled on first use).
    fn column_patterns(&self, col: usize) -> &[Pattern] {
        self.patterns.get(col).map_or(&[], |p| {
            p.get_or_init(|| {
                (0..self.cells.len())
                    .map(|r| Pattern::new(self.cells.get(r, col).unwrap_or("")))
                    .collect()
            })
        })
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The position of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The cell of `row` in column `col`.
    pub fn cell(&self, row: usize, col: usize) -> Option<&str> {
        self.cells.get(row, col)
    }

    /// The rows, in table order, each one cell per column.
    pub fn rows(&self) -> impl Iterator<Item = impl ExactSizeIterator<Item = &str>> {
        (0..self.cells.len()).map(|r| self.cells.row(r))
    }

    /// The outputs for one combination of input values: for each output column, the values of
    /// the matching rows (up to `max_matches`, in table order; empty cells give nothing), or
    /// `default_match` when fewer than `min_matches` rows match. `None` when no row matched and
    /// there is no default.
    ///
    /// When an input column is matched exactly, only the rows its index gives for the value are
    /// compared (in table order, as a scan would meet them): a row outside that list cannot
    /// match that column, so the matching rows, and their order, are the same.
    pub fn find(&self, inputs: &[(usize, &str)], outputs: &[usize]) -> Option<Vec<Vec<String>>> {
        let mut out: Vec<Vec<String>> = vec![Vec::new(); outputs.len()];
        let mut matched = 0;
        let wild;
        let candidates: Box<dyn Iterator<Item = usize> + '_> = match self.exact_candidates(inputs) {
            Some(rows) => Box::new(rows.iter().map(|&r| r as usize)),
            None => match self.wildcard_candidates(inputs) {
                Some(rows) => {
                    wild = rows;
                    Box::new(wild.iter().map(|&r| r as usize))
                }
                None => Box::new(0..self.cells.len()),
            },
        };
        for r in candidates {
            if matched >= self.max_matches {
                break;
            }
            let hit = inputs.iter().all(|&(c, v)| self.cell_matches(r, c, v));
            if !hit {
                continue;
            }
            matched += 1;
            for (slot, &c) in out.iter_mut().zip(outputs) {
                if let Some(cell) = self.cells.get(r, c).filter(|c| !c.is_empty()) {
                    slot.push(cell.to_owned());
                }
            }
        }
        if matched < self.min_matches
            && let Some(d) = &self.default_match
        {
            for slot in out.iter_mut() {
                for _ in matched..self.min_matches {
                    slot.push(d.clone());
                }
            }
            return Some(out);
        }
        (matched > 0).then_some(out)
    }

    /// The rows that can match the first exactly matched input column, from its index.
    fn exact_candidates(&self, inputs: &[(usize, &str)]) -> Option<&[u32]> {
        let &(col, value) = inputs
            .iter()
            .find(|(c, _)| self.matching.get(*c) == Some(&ColumnMatch::Exact))?;
        let index = self.index.get(col)?.get_or_init(|| {
            let mut index = ColumnIndex::new();
            for r in 0..self.cells.len() {
                let cell = self.cells.get(r, col).unwrap_or("");
                let key = self.fold(cell).into_owned().into_boxed_str();
                index.entry(key).or_default().push(r as u32);
            }
            index
        });
        Some(index.get(&*self.fold(value)).map_or(&[], Vec::as_slice))
    }

    /// The rows that can match the first input column matched by wildcard, from its index.
    fn wildcard_candidates(&self, inputs: &[(usize, &str)]) -> Option<Vec<u32>> {
        let &(col, value) = inputs
            .iter()
            .find(|(c, _)| self.matching.get(*c) == Some(&ColumnMatch::Wildcard))?;
        let index = self
            .wild
            .get(col)?
            .get_or_init(|| WildIndex::new(self.column_patterns(col).iter().map(Some)));
        Some(index.candidates(value))
    }

    /// A value as the index keys it: lower-cased when the table ignores case. Two values are
    /// equal under `cell_matches`' exact rule exactly when their keys are equal
    /// (`eq_ignore_ascii_case` implies equal lower-cased text).
    fn fold<'a>(&self, value: &'a str) -> std::borrow::Cow<'a, str> {
        if self.case_sensitive
            || value
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            std::borrow::Cow::Borrowed(value)
        } else {
            std::borrow::Cow::Owned(value.to_lowercase())
        }
    }

    fn cell_matches(&self, row: usize, col: usize, value: &str) -> bool {
        let Some(cell) = self.cells.get(row, col) else {
            return false;
        };
        match self
            .matching
            .get(col)
            .copied()
            .unwrap_or(ColumnMatch::Exact)
        {
            ColumnMatch::Exact => {
                if self.case_sensitive {
                    cell == value
                } else {
                    cell.eq_ignore_ascii_case(value) || cell.to_lowercase() == value.to_lowercase()
                }
            }
            ColumnMatch::Wildcard => match self.column_patterns(col).get(row) {
                Some(p) if !self.case_sensitive => p.matches(value),
                Some(p) => p.matches(value) && wildcard_case_sensitive(cell, value),
                None => false,
            },
            ColumnMatch::Cidr => cidr_contains(cell, value),
        }
    }
}

/// The case-insensitive pattern matched; check again with case: the literal pieces must occur
/// in order with their case.
fn wildcard_case_sensitive(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == value;
    }
    if !value.starts_with(first) || !value.ends_with(last) || value.len() < first.len() + last.len()
    {
        return false;
    }
    let mut pos = first.len();
    let end = value.len() - last.len();
    for mid in &parts[1..parts.len() - 1] {
        match value.get(pos..end).and_then(|s| s.find(mid)) {
            Some(i) => pos += i + mid.len(),
            None => return false,
        }
    }
    true
}

/// Whether `range` (`a.b.c.d/n`, an IPv6 range, or one address) contains the address `value`.
pub fn cidr_contains(range: &str, value: &str) -> bool {
    let Ok(addr) = value.trim().parse::<IpAddr>() else {
        return false;
    };
    let (net, bits) = match range.trim().split_once('/') {
        Some((n, b)) => match b.parse::<u32>() {
            Ok(b) => (n, Some(b)),
            Err(_) => return false,
        },
        None => (range.trim(), None),
    };
    let Ok(net) = net.parse::<IpAddr>() else {
        return false;
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> LookupTable {
        LookupTable::new(
            "t",
            vec!["name".into(), "risk".into(), "note".into()],
            vec![
                vec!["cmd.exe".into(), "low".into(), "".into()],
                vec!["*.ps1".into(), "high".into(), "script".into()],
                vec!["CMD.EXE".into(), "other".into(), "upper".into()],
            ],
        )
    }

    #[test]
    fn exact_matching_is_case_sensitive_by_default() {
        let t = table();
        assert_eq!(
            t.find(&[(0, "cmd.exe")], &[1, 2]),
            Some(vec![vec!["low".into()], vec![]])
        );
        let t = t.with_case_sensitive(false);
        assert_eq!(
            t.find(&[(0, "Cmd.Exe")], &[1]),
            Some(vec![vec!["low".into(), "other".into()]])
        );
    }

    /// For each query on column 0, `find`'s column-1 values are those of every row a scan
    /// with `cell_matches` meets, in table order, empty cells left out (`None` when no row
    /// matches).
    fn finds_what_a_scan_finds(t: &LookupTable, queries: &[&str]) {
        for q in queries {
            let matching: Vec<usize> = (0..t.len()).filter(|&r| t.cell_matches(r, 0, q)).collect();
            let values: Vec<String> = matching
                .iter()
                .map(|&r| t.cells.get(r, 1).unwrap_or("").to_owned())
                .filter(|v| !v.is_empty())
                .collect();
            let expected = (!matching.is_empty()).then(|| vec![values]);
            assert_eq!(
                t.find(&[(0, q)], &[1]),
                expected,
                "{q:?}, case-sensitive: {}",
                t.case_sensitive
            );
        }
    }

    #[test]
    fn the_index_finds_what_a_scan_of_every_row_finds() {
        // Regression: `find` compared every row, lower-casing both sides each time; the
        // library's `lookup is_windows_system_file` took 30 µs a row. The index must not change
        // a single answer: check it against a scan for values of every kind.
        let rows: Vec<Vec<String>> = [
            ("cmd.exe", "a"),
            ("CMD.exe", "b"),
            ("Straße.EXE", "c"),
            ("ǅx", "d"),
            ("", "e"),
            ("cmd.exe", ""),
        ]
        .iter()
        .map(|(k, v)| vec![k.to_string(), v.to_string()])
        .collect();
        let queries = [
            "cmd.exe",
            "CMD.EXE",
            "straße.exe",
            "STRASSE.EXE",
            "ǆX",
            "ǅx",
            "",
            "x",
        ];
        for case_sensitive in [true, false] {
            let t = LookupTable::new("t", vec!["k".into(), "v".into()], rows.clone())
                .with_case_sensitive(case_sensitive);
            finds_what_a_scan_finds(&t, &queries);
        }
    }

    #[test]
    fn the_wildcard_index_finds_what_a_scan_of_every_row_finds() {
        // Regression: a wildcard lookup matched every row's pattern for each value;
        // `windows_protocol_handlers` (204 `*name:*` patterns) cost the library a tenth of its
        // time. The candidates the index gives must leave every answer as it was.
        let patterns = [
            "*bingmaps:*",
            "cmd*",
            "*",
            "",
            "*ß*",
            "A*b*C",
            "Straße*",
            "*.EXE",
            "x**y",
            "*ǅ*",
            "exact",
        ];
        let rows: Vec<Vec<String>> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| vec![p.to_string(), i.to_string()])
            .collect();
        let queries = [
            "open BINGMAPS:x",
            "CMD.exe",
            "",
            "aßb",
            "AßB",
            "axxbyyc",
            "STRASSE",
            "straße.txt",
            "Straße.txt",
            "run.exe",
            "xy",
            "x-y",
            "ǆ",
            "Exact",
            "exact",
            "nothing",
        ];
        for case_sensitive in [true, false] {
            let t = LookupTable::new("t", vec!["p".into(), "n".into()], rows.clone())
                .with_match("p", ColumnMatch::Wildcard)
                .with_case_sensitive(case_sensitive);
            finds_what_a_scan_finds(&t, &queries);
        }
    }

    #[test]
    fn wildcards_and_cidr_match_when_asked() {
        let t = table().with_match("name", ColumnMatch::Wildcard);
        assert_eq!(
            t.find(&[(0, "a.ps1")], &[1]),
            Some(vec![vec!["high".into()]])
        );
        assert_eq!(
            t.find(&[(0, "a.PS1")], &[1]),
            None,
            "case-sensitive wildcard"
        );
        assert!(cidr_contains("10.0.0.0/8", "10.2.3.4"));
        assert!(!cidr_contains("10.0.0.0/8", "11.2.3.4"));
        assert!(cidr_contains("fe80::/10", "fe80::1"));
        assert!(cidr_contains("192.168.1.1", "192.168.1.1"));
        assert!(!cidr_contains("10.0.0.0/8", "not an ip"));
    }

    #[test]
    fn min_matches_fill_with_the_default_and_max_matches_cap() {
        let t = table().with_matches(1, 100, Some("unknown".into()));
        assert_eq!(
            t.find(&[(0, "x")], &[1]),
            Some(vec![vec!["unknown".into()]])
        );
        let t = table().with_case_sensitive(false).with_matches(0, 1, None);
        assert_eq!(
            t.find(&[(0, "cmd.exe")], &[1]),
            Some(vec![vec!["low".into()]])
        );
        assert_eq!(table().find(&[(0, "x")], &[1]), None);
    }
}
