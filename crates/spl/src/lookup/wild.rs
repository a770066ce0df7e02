//! An index of a wildcard column: which rows' patterns can match a value, found in one pass
//! over the value instead of matching every row's pattern.
//!
//! A pattern matches only values whose lower-cased text holds every literal piece of the
//! lower-cased pattern ([`Pattern`] is case-insensitive, Unicode simple lowercase of both
//! sides), so it matches only values holding its longest piece. The index searches a value for
//! every row's longest piece at once (Aho-Corasick, overlapping matches) and gives those rows,
//! plus the rows whose pattern has no piece (`*`), in table order; `find` then matches each
//! candidate as before. Case-sensitive tables check case afterwards, so the case-insensitive
//! candidates are still a superset.

use aho_corasick::AhoCorasick;

use crate::pattern::Pattern;

/// See the module documentation.
#[derive(Debug, Clone)]
pub(super) struct WildIndex {
    /// The distinct longest pieces; `None` when the automaton could not be built (then every
    /// row is a candidate).
    pieces: Option<AhoCorasick>,
    /// Per piece: the rows whose longest piece it is.
    rows: Vec<Vec<u32>>,
    /// Rows whose pattern has no literal piece.
    always: Vec<u32>,
    total: usize,
}

impl WildIndex {
    /// The index of one column's patterns (`None` for a row whose cell is not a pattern).
    pub(super) fn new<'a>(patterns: impl Iterator<Item = Option<&'a Pattern>>) -> Self {
        let mut pieces: Vec<&str> = Vec::new();
        let mut rows: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        let mut total = 0;
        for (r, p) in patterns.enumerate() {
            total = r + 1;
            let Some(p) = p else { continue };
            match p.lower_segments().max_by_key(|s| s.len()) {
                None => always.push(r as u32),
                Some(piece) => match pieces.iter().position(|x| *x == piece) {
                    Some(i) => rows[i].push(r as u32),
                    None => {
                        pieces.push(piece);
                        rows.push(vec![r as u32]);
                    }
                },
            }
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&pieces)
            .ok();
        WildIndex {
            pieces: automaton,
            rows,
            always,
            total,
        }
    }

    /// The rows whose pattern can match `value`, ascending.
    pub(super) fn candidates(&self, value: &str) -> Vec<u32> {
        let Some(ac) = &self.pieces else {
            return (0..self.total as u32).collect();
        };
        let lowered;
        let hay = if value.is_ascii() {
            value
        } else {
            lowered = crate::pattern::lowercase(value);
            &lowered
        };
        let mut out = self.always.clone();
        for m in ac.find_overlapping_iter(hay) {
            out.extend_from_slice(&self.rows[m.pattern().as_usize()]);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Derived from the table: two tables are equal when their data are.
impl PartialEq for WildIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
