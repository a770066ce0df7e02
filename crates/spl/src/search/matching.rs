//! Evaluating a search expression against a record (spec 2, CV-17).

use std::cmp::Ordering;
use std::sync::OnceLock;

use smallvec::SmallVec;

use crate::pattern::{Pattern, find_folded, fold};
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
            // Terms that search `_raw` (a scan of the whole event) are tried after the others,
            // which usually decide: a conjunction's value does not depend on its order.
            Expr::And(items) => {
                items
                    .iter()
                    .filter(|e| !e.scans_raw())
                    .all(|e| e.matches(rec))
                    && items
                        .iter()
                        .filter(|e| e.scans_raw())
                        .all(|e| e.matches(rec))
            }
            Expr::Or(items) => any_matches(items, rec),
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

/// Whether any of `items` matches. A run of `=` comparisons of one field (what `f IN (…)`
/// and `f=a OR f=b …` become) reads the field once and prepares each of its values once for
/// all the run's patterns.
fn any_matches(items: &[Expr], rec: &dyn Record) -> bool {
    let mut rest = items;
    while let Some(first) = rest.first() {
        let field = match first {
            Expr::Compare {
                field,
                op: CompareOp::Eq,
                ..
            } => Some(*field),
            _ => None,
        };
        let run = field.map_or(1, |f| {
            rest.iter()
                .take_while(|e| eq_pattern(e, f).is_some())
                .count()
        });
        let (now, later) = rest.split_at(run);
        let hit = match field {
            Some(f) if run > 1 => rec.value(f).texts().any(|t| {
                let folded = fold(&t);
                now.iter()
                    .filter_map(|e| eq_pattern(e, f))
                    .any(|p| p.matches_folded(&folded))
            }),
            _ => first.matches(rec),
        };
        if hit {
            return true;
        }
        rest = later;
    }
    false
}

/// The pattern of an `=` comparison of `field`.
fn eq_pattern(e: &Expr, field: Sym) -> Option<&Pattern> {
    match e {
        Expr::Compare {
            field: f,
            op: CompareOp::Eq,
            value,
        } if *f == field => Some(value),
        _ => None,
    }
}

impl Expr {
    /// Whether the term is a keyword (or its negation): matching it scans the event's text.
    fn scans_raw(&self) -> bool {
        match self {
            Expr::Keyword(_) => true,
            Expr::Not(inner) => matches!(**inner, Expr::Keyword(_)),
            _ => false,
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
/// Splunk indexes an event's text as segments cut at *breakers* and matches a search term
/// against those segments (Search Manual, "Event segmentation and searching"; the breakers are
/// `segmenters.conf`'s defaults, read in Splunk 8.2.12's `etc/system/default/segmenters.conf`):
/// major breakers `[ ] < > ( ) { } | ! ; , ' " * \n \r \t`, space, `& ? +`, and minor
/// breakers `/ : = @ . - $ # % \ _`. A segment is indexed whole and also cut at minor
/// breakers, so a term matches wherever its text occurs (case-insensitively) starting and
/// ending at segment boundaries: its first character must follow a breaker (or the start of
/// `_raw`) unless it is a breaker itself, and likewise its last character must precede one.
/// `encoded` does not match `-EncodedCommand`; `EncodedCommand` and `-encodedcommand` do.
/// A `*` matches any run of characters, and a side that begins or ends with `*` needs no
/// boundary: `Information*` matches `Information_x` and `Information` but not
/// `VolumeInformation`.
///
/// [Inferred] Splunk looks up a term containing breakers (a path, a phrase in quotes) as its
/// pieces in the index and then checks the event; cimhunt checks the whole text in sequence,
/// which is what a phrase search promises. Characters other than the breakers (letters,
/// digits, other punctuation, any non-ASCII character) glue a segment together.
pub fn keyword_matches(pattern: &Pattern, raw: &str) -> bool {
    let text = pattern.text();
    if text.bytes().all(|b| b == b'*') {
        return true;
    }
    if raw.is_ascii() && text.is_ascii() {
        // The pattern's lower-case text is the ASCII lower case of an ASCII text.
        return keyword_in(pattern.lower().as_bytes(), raw.as_bytes());
    }
    keyword_in(
        text.to_lowercase().as_bytes(),
        raw.to_lowercase().as_bytes(),
    )
}

/// [`keyword_matches`] for a lower-case term `pat` in `hay` (ASCII, or lower-cased).
fn keyword_in(pat: &[u8], hay: &[u8]) -> bool {
    let segs: SmallVec<[&[u8]; 4]> = pat.split(|&b| b == b'*').collect();
    let (first, last) = (segs[0], segs[segs.len() - 1]);
    let single = segs.len() == 1;
    let starts_ok = |at: usize, seg: &[u8]| {
        seg.first().is_none_or(|&c| is_breaker(c)) || at == 0 || is_breaker(hay[at - 1])
    };
    let ends_ok = |end: usize, seg: &[u8]| {
        seg.last().is_none_or(|&c| is_breaker(c)) || end == hay.len() || is_breaker(hay[end])
    };
    // The first segment: at the leftmost place it may start (anywhere after a leading `*`).
    let mut pos = 0;
    if !first.is_empty() {
        let mut from = 0;
        loop {
            let Some(at) = find_folded(&hay[from..], first).map(|i| from + i) else {
                return false;
            };
            let end = at + first.len();
            if starts_ok(at, first) && (!single || ends_ok(end, first)) {
                pos = end;
                break;
            }
            from = at + 1;
        }
        if single {
            return true;
        }
    }
    // The middle segments: leftmost, in order.
    for seg in &segs[1..segs.len() - 1] {
        if seg.is_empty() {
            continue;
        }
        match find_folded(&hay[pos..], seg) {
            Some(i) => pos += i + seg.len(),
            None => return false,
        }
    }
    // The last segment: anywhere after, ending at a boundary (anything, after a trailing `*`).
    if last.is_empty() {
        return true;
    }
    let mut from = pos;
    while let Some(i) = find_folded(&hay[from..], last) {
        let end = from + i + last.len();
        if ends_ok(end, last) {
            return true;
        }
        from += i + 1;
    }
    false
}

/// Splunk's default major and minor breakers (`segmenters.conf`), ASCII.
const fn is_breaker(b: u8) -> bool {
    matches!(
        b,
        b'[' | b']'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b'{'
            | b'}'
            | b'|'
            | b'!'
            | b';'
            | b','
            | b'\''
            | b'"'
            | b'*'
            | b'\n'
            | b'\r'
            | b' '
            | b'\t'
            | b'&'
            | b'?'
            | b'+'
            | b'/'
            | b':'
            | b'='
            | b'@'
            | b'.'
            | b'-'
            | b'$'
            | b'#'
            | b'%'
            | b'\\'
            | b'_'
    )
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

    proptest::proptest! {
        /// Comparisons of one field in a row share its value; the answer is every term's.
        #[test]
        fn a_disjunction_matches_when_one_of_its_terms_does(
            terms in proptest::collection::vec(
                (0..3usize, proptest::bool::ANY, "[aB*é]{0,3}"),
                1..8,
            ),
            a in proptest::collection::vec("[Aabé]{0,3}", 0..3),
            b in proptest::option::of("[ab]{0,2}"),
        ) {
            let names = ["a", "b", "c"];
            let items: Vec<Expr> = terms
                .iter()
                .map(|(f, eq, p)| {
                    let op = if *eq { CompareOp::Eq } else { CompareOp::Ne };
                    cmp(names[*f], op, p)
                })
                .collect();
            let mut row = Row::default();
            row.set(
                Sym::new("a"),
                crate::Value::multi(a.iter().map(|t| crate::Value::from_field(t.clone())).collect()),
            );
            if let Some(b) = &b {
                row.set(Sym::new("b"), crate::Value::from_field(b.clone()));
            }
            let each = items.iter().any(|e| e.matches(&row));
            proptest::prop_assert_eq!(Expr::Or(items).matches(&row), each);
        }
    }

    /// A record that notes which fields were read.
    struct Noting<'r>(Row, &'r std::cell::RefCell<Vec<String>>);

    impl Record for Noting<'_> {
        fn value(&self, f: Sym) -> crate::Value<'_> {
            self.1.borrow_mut().push(f.as_str().to_owned());
            self.0.value(f)
        }
    }

    #[test]
    fn a_keyword_is_searched_for_only_when_the_other_terms_hold() {
        let e = crate::search::parse_expr("ImageLoaded EventCode=7").unwrap();
        let raw = "<Data Name='ImageLoaded'>C:\\x.dll</Data>";
        let read = std::cell::RefCell::new(Vec::new());
        let other = Noting(Row::from_texts(&[("EventCode", "1"), ("_raw", raw)]), &read);
        assert!(!e.matches(&other));
        assert_eq!(*read.borrow(), ["EventCode"], "`_raw` is not scanned");
        read.borrow_mut().clear();
        let load = Noting(Row::from_texts(&[("EventCode", "7"), ("_raw", raw)]), &read);
        assert!(e.matches(&load));
        assert_eq!(*read.borrow(), ["EventCode", "_raw"]);
        let not = crate::search::parse_expr("NOT ImageLoaded EventCode=7").unwrap();
        assert!(!not.matches(&load));
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

    #[test]
    fn keywords_meet_segment_boundaries_at_both_ends() {
        let raw = "<Data Name='TargetFilename'>C:\\System Volume Information\\x~y.dat</Data><Data Name='A'>VolumeInformation_2</Data>";
        let k = |t: &str| keyword_matches(&Pattern::new(t), raw);
        // `\`, space, `_` and `'` are breakers.
        assert!(k("Volume"));
        assert!(k("Information*"));
        assert!(!k("information_2"), "glued to `Volume`");
        assert!(k("VolumeInformation_2"));
        assert!(k("VolumeInformation"));
        assert!(k("\\system volume information\\"));
        assert!(k("TargetFilename"));
        // `~` is not a breaker: `x~y` is one segment.
        assert!(!k("x"));
        assert!(k("x~y"));
        assert!(k("x~y.dat"));
        // A wildcard side needs no boundary; a literal side does.
        assert!(k("*formation"));
        assert!(!k("formation*"));
        assert!(k("Vol*Information"));
        assert!(!k("Vol*Informatio"));
        assert!(k("*olumeInformation*"));
        assert!(k("*"));
        // Non-ASCII text glues and compares case-insensitively.
        let k2 = |t: &str| keyword_matches(&Pattern::new(t), "Zoë ÉCOLE");
        assert!(k2("école"));
        assert!(!k2("zo"));
    }
}
