//! Evaluating a search expression against a record (spec 2, CV-17).

use std::cmp::Ordering;
use std::sync::OnceLock;

use crate::pattern::Pattern;
use crate::record::Record;
use crate::search::{CompareOp, Expr};
use crate::sym::Sym;
use crate::value::parse_number;

fn raw_sym() -> Sym {
    static RAW: OnceLock<Sym> = OnceLock::new();
    *RAW.get_or_init(|| Sym::new("_raw"))
}

impl Expr {
    /// Whether `rec` satisfies the expression, with Splunk's semantics:
    /// `=` holds when some value of the field matches (never for a null field); `!=` when the
    /// field has a value and none matches; `NOT` negates (so `NOT f=x` holds for a null field);
    /// `<`, `<=`, `>`, `>=` compare numerically when both sides are numbers, otherwise as
    /// strings, and hold when some value satisfies them; a keyword term holds when `_raw`
    /// contains it ([`keyword_matches`]).
    pub fn matches(&self, rec: &dyn Record) -> bool {
        match self {
            Expr::True => true,
            Expr::And(items) => items.iter().all(|e| e.matches(rec)),
            Expr::Or(items) => items.iter().any(|e| e.matches(rec)),
            Expr::Not(inner) => !inner.matches(rec),
            Expr::Compare { field, op, value } => {
                let v = rec.value(*field);
                match op {
                    CompareOp::Eq => v.texts().any(|t| value.matches(&t)),
                    CompareOp::Ne => {
                        let mut exists = false;
                        for t in v.texts() {
                            if value.matches(&t) {
                                return false;
                            }
                            exists = true;
                        }
                        exists
                    }
                    CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
                        let rhs = value.text();
                        v.texts().any(|t| {
                            let ord = search_order(&t, rhs);
                            match op {
                                CompareOp::Lt => ord == Ordering::Less,
                                CompareOp::Le => ord != Ordering::Greater,
                                CompareOp::Gt => ord == Ordering::Greater,
                                _ => ord != Ordering::Less,
                            }
                        })
                    }
                }
            }
            Expr::Keyword(pattern) => rec
                .value(raw_sym())
                .texts()
                .any(|raw| keyword_matches(pattern, &raw)),
            // Resolved before a search runs (`SearchCmd`); unresolved, it matches nothing.
            Expr::Subsearch(_) => false,
        }
    }
}

/// The order of `<`/`>` in searches: numeric when both sides are decimal numbers, else byte
/// order of the strings. (Not a total order; groups are sorted with
/// [`crate::value::group_order`].)
pub(crate) fn search_order(a: &str, b: &str) -> Ordering {
    match (parse_number(a), parse_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// Whether a bare search term matches an event's raw text.
///
/// Splunk matches terms against the segments of the indexed text, split at major and minor
/// breakers (Splunk Search Manual, "About event segmentation" and "Use the TERM directive"):
/// a term without wildcards matches when it occurs case-insensitively in `_raw` and is not
/// glued to letters or digits on either side; a term with wildcards matches when its pattern,
/// unanchored, matches somewhere in `_raw`. [Inferred: cimhunt does not reproduce Splunk's
/// segmenter in full; a term that itself contains breakers, such as a path, matches where its
/// characters occur in sequence.]
pub fn keyword_matches(pattern: &Pattern, raw: &str) -> bool {
    let text = pattern.text();
    if pattern.has_wildcard() {
        return Pattern::new(&format!("*{text}*")).matches(raw);
    }
    if text.is_empty() {
        return true;
    }
    let hay = raw.as_bytes();
    let needle = text.as_bytes();
    let glued = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b >= 0x80);
    let mut from = 0;
    while from + needle.len() <= hay.len() {
        let Some(i) = hay[from..]
            .windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle))
        else {
            return false;
        };
        let at = from + i;
        let before_ok = at == 0 || !glued(hay.get(at - 1)) || !glued(needle.first());
        let end = at + needle.len();
        let after_ok = !glued(hay.get(end)) || !glued(needle.last());
        if before_ok && after_ok {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::Row;

    fn cmp(field: &str, op: CompareOp, v: &str) -> Expr {
        Expr::Compare {
            field: Sym::new(field),
            op,
            value: Pattern::new(v),
        }
    }

    #[test]
    fn numeric_comparison_when_both_sides_are_numbers() {
        let ev = Row::from_texts(&[("n", "10"), ("s", "abc")]);
        assert!(cmp("n", CompareOp::Gt, "9").matches(&ev), "10 > 9");
        assert!(!cmp("n", CompareOp::Lt, "9").matches(&ev));
        assert!(cmp("n", CompareOp::Ge, "10.0").matches(&ev));
        assert!(cmp("n", CompareOp::Le, "10").matches(&ev));
        // Not a number on one side: lexicographic, "10" < "9".
        assert!(cmp("n", CompareOp::Lt, "9x").matches(&ev));
        assert!(cmp("s", CompareOp::Gt, "abb").matches(&ev));
        // A null field satisfies no comparison.
        assert!(!cmp("missing", CompareOp::Lt, "5").matches(&ev));
    }

    #[test]
    fn not_equal_needs_the_field_and_not_holds_without_it_cv17() {
        let ev = Row::from_texts(&[("a", "x")]);
        assert!(!cmp("b", CompareOp::Ne, "y").matches(&ev));
        assert!(Expr::Not(Box::new(cmp("b", CompareOp::Eq, "y"))).matches(&ev));
        assert!(cmp("a", CompareOp::Ne, "y").matches(&ev));
    }

    #[test]
    fn keywords_match_whole_terms_case_insensitively() {
        let raw = "<Data Name='CommandLine'>powershell -EncodedCommand AAA</Data>";
        let k = |t: &str| keyword_matches(&Pattern::new(t), raw);
        assert!(k("encodedcommand"));
        assert!(k("-EncodedCommand"));
        assert!(!k("encoded"), "glued to letters");
        assert!(k("encoded*"));
        assert!(k("*code*"));
        assert!(k("CommandLine"));
        assert!(!k("mimikatz"));
    }
}
