//! A subsearch's result rows as a search expression: what Splunk's implicit `format` makes of
//! them when a subsearch is a search term (Search Reference, "format"; Search Manual, "About
//! subsearches").
//!
//! - Each row becomes the conjunction of its fields, `field="value"` (the value is a search
//!   value: `*` is a wildcard, comparison is case-insensitive); a multivalued field becomes the
//!   disjunction of its values (`mvsep` defaults to `OR`). The rows are joined by `OR`.
//! - A field named `search` or `query` contributes its value as search text, without its name.
//! - No row (or no row with a field) gives `NOT ()`, which matches nothing (`emptystr` defaults
//!   to `NOT( )`).
//! - Fields whose names start with `_` are left out [inferred: internal fields such as `_time`
//!   are not search terms].
//! - At most [`SUBSEARCH_MAXOUT`] rows are used (limits.conf `[subsearch] maxout`).

use super::{CompareOp, Expr, and, or, parse_expr};
use crate::pattern::Pattern;
use crate::row::Row;

/// How many rows of a subsearch a search term uses (Splunk's `maxout` default).
pub const SUBSEARCH_MAXOUT: usize = 10_000;

/// The expression the rows of a subsearch stand for (see the module documentation).
pub fn rows_to_expr(rows: &[Row]) -> Expr {
    let mut alternatives = Vec::new();
    for row in rows.iter().take(SUBSEARCH_MAXOUT) {
        let mut terms = Vec::new();
        for (name, value) in row.cells() {
            let n = name.as_str();
            if n.starts_with('_') || value.is_null() {
                continue;
            }
            if n == "search" || n == "query" {
                for text in value.texts() {
                    terms.push(
                        parse_expr(&text).unwrap_or_else(|_| Expr::Keyword(Pattern::new(&text))),
                    );
                }
                continue;
            }
            let values: Vec<Expr> = value
                .texts()
                .map(|t| Expr::Compare {
                    field: *name,
                    op: CompareOp::Eq,
                    value: Pattern::new(&t),
                })
                .collect();
            terms.push(or(values));
        }
        if !terms.is_empty() {
            alternatives.push(and(terms));
        }
    }
    if alternatives.is_empty() {
        return Expr::Not(Box::new(Expr::True));
    }
    or(alternatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_an_or_of_ands_and_no_rows_match_nothing() {
        let rows = [
            Row::from_texts(&[("process_id", "12"), ("dest", "h1")]),
            Row::from_texts(&[("process_id", "13"), ("dest", "H2")]),
        ];
        let e = rows_to_expr(&rows);
        assert!(e.matches(&Row::from_texts(&[("process_id", "12"), ("dest", "h1")])));
        assert!(e.matches(&Row::from_texts(&[("process_id", "13"), ("dest", "h2")])));
        assert!(!e.matches(&Row::from_texts(&[("process_id", "12"), ("dest", "h2")])));
        let none = rows_to_expr(&[]);
        assert!(!none.matches(&Row::from_texts(&[("a", "1")])));
    }

    #[test]
    fn wildcards_and_search_fields_are_search_text() {
        let rows = [Row::from_texts(&[(
            "parent_process_name",
            "*\\winword.exe",
        )])];
        let e = rows_to_expr(&rows);
        assert!(e.matches(&Row::from_texts(&[(
            "parent_process_name",
            "C:\\Office\\WINWORD.EXE"
        )])));
        let rows = [Row::from_texts(&[("search", "a=1 OR b=2"), ("_time", "5")])];
        let e = rows_to_expr(&rows);
        assert!(e.matches(&Row::from_texts(&[("b", "2")])));
    }
}
