//! Required literals: text every record (or event) a plan can match must contain.
//!
//! Two uses, two rules. **In the raw record** ([`RecordLiterals`]), to skip records before they
//! are decoded: only `=` comparisons on fields whose values are raw record text
//! ([`FieldOrigin::raw_text`]) give literals, only runs of plain characters (which every record
//! format writes verbatim), and only when the pattern cannot match one of the constants the
//! field may take without the record holding them (the data model's `unknown` fill, an add-on's
//! `"allowed"`): a record lacking the text would still match. **In the field values**
//! ([`ValueLiterals`]), to skip evaluating a filter on a decoded event: any `=` comparison gives
//! its longest literal segment, spaces and punctuation included, since the pattern is matched
//! against exactly that value. A value literal may be as short as one character (`EventCode=7`
//! gives `7`): it is looked for in its own field only, and whoever searches for it decides
//! whether a short one is worth it (the gate uses short ones on short fields only).
//!
//! The soundness contract the raw-record rule rests on, which whoever declares an origin must
//! keep: when [`FieldOrigin::raw_text`] is set, every run of *plain* characters (ASCII letters,
//! digits and punctuation other than `\ " & < > ;`, never whitespace) that occurs in a value of
//! the field, outside XML entity references such as `&amp;`, also occurs in the raw record, up
//! to ASCII case — as text in XmlWinEventLog and JSON, as UTF-16LE or ANSI text in an EVTX chunk
//! — unless the value is one of [`FieldOrigin::constants`]. One exception for EVTX: a value
//! Windows stores in binary (a number, GUID, SID, time, hex, boolean) is rendered when decoded,
//! so its text is not in the chunk; such renderings use only the characters of
//! [`is_binary_rendering`], and a literal made only of those is marked not [`Literal::evtx_safe`].

use crate::search::{CompareOp, Expr};
use crate::sym::Sym;

/// Record literals shorter than this are useless as a prefilter: they are in nearly every record.
const MIN_LITERAL: usize = 3;

/// Entity names: a literal inside one of these may come from an entity reference that the raw
/// record spells differently (`&amp;` in XML is `&` in JSON and EVTX).
const ENTITY_NAMES: [&str; 3] = ["amp", "quot", "apos"];

/// How a field's values relate to the bytes of the record they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldOrigin {
    /// Whether the field's values are raw text in the sense of the module's contract.
    pub raw_text: bool,
    /// Values the field may take that the record need not contain (fills, constants), lower-cased.
    pub constants: Vec<String>,
}

impl FieldOrigin {
    /// A field whose values promise nothing.
    pub fn derived() -> Self {
        FieldOrigin::default()
    }

    /// A field whose values are raw text, or one of `constants`.
    pub fn raw(constants: &[&str]) -> Self {
        FieldOrigin {
            raw_text: true,
            constants: constants.iter().map(|c| c.to_ascii_lowercase()).collect(),
        }
    }
}

/// Where the fields of an expression come from, as the data model or add-on that feeds the
/// search declares it.
pub trait Origins {
    /// The origin of a field.
    fn origin(&self, field: Sym) -> FieldOrigin;
}

/// Where literals will be looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralTarget {
    /// The raw record, before decoding.
    RawRecord,
    /// The decoded event's field values.
    FieldValue,
}

/// Text a matching event must contain in one field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// The text, lower-cased.
    pub text: String,
    /// The field whose comparison requires it.
    pub field: Sym,
    /// Whether the text is in an EVTX chunk too (see the module documentation).
    pub evtx_safe: bool,
}

/// What any raw record a filter can match must contain: a conjunction of clauses, each a set of
/// alternatives. No clauses: nothing can be proven.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordLiterals {
    /// The clauses.
    pub clauses: Vec<Vec<Literal>>,
}

/// What any decoded event a filter can match must hold in its field values; same shape as
/// [`RecordLiterals`], a different rule, a different type so that one is never taken for the
/// other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueLiterals {
    /// The clauses.
    pub clauses: Vec<Vec<Literal>>,
}

impl RecordLiterals {
    /// The literals a record matching `filter` must contain, given its fields' origins.
    pub fn of(filter: &Expr, origins: &dyn Origins) -> Self {
        RecordLiterals {
            clauses: clauses(filter, LiteralTarget::RawRecord, origins),
        }
    }

    /// The clauses as texts only, duplicates (the same text from several fields) removed.
    pub fn texts(&self) -> Vec<Vec<String>> {
        texts(&self.clauses)
    }
}

impl ValueLiterals {
    /// The literals an event matching `filter` must hold in its field values.
    pub fn of(filter: &Expr) -> Self {
        struct AnyOrigin;
        impl Origins for AnyOrigin {
            fn origin(&self, _: Sym) -> FieldOrigin {
                FieldOrigin::derived()
            }
        }
        ValueLiterals {
            clauses: clauses(filter, LiteralTarget::FieldValue, &AnyOrigin),
        }
    }

    /// The clauses as texts only, duplicates removed.
    pub fn texts(&self) -> Vec<Vec<String>> {
        texts(&self.clauses)
    }
}

fn texts(clauses: &[Vec<Literal>]) -> Vec<Vec<String>> {
    clauses
        .iter()
        .map(|c| {
            let mut texts: Vec<String> = Vec::with_capacity(c.len());
            for l in c {
                if !texts.contains(&l.text) {
                    texts.push(l.text.clone());
                }
            }
            texts
        })
        .collect()
}

/// The clauses of an expression: a conjunction of alternatives.
fn clauses(e: &Expr, target: LiteralTarget, origins: &dyn Origins) -> Vec<Vec<Literal>> {
    let mut out = match e {
        Expr::Compare {
            field,
            op: CompareOp::Eq,
            value,
        } => {
            let text = match target {
                LiteralTarget::RawRecord => {
                    let origin = origins.origin(*field);
                    if !origin.raw_text || origin.constants.iter().any(|c| value.matches(c)) {
                        None
                    } else {
                        literal_of(value.literal_segments())
                    }
                }
                LiteralTarget::FieldValue => value_literal_of(value.literal_segments()),
            };
            text.map(|text| {
                let evtx_safe = !text.bytes().all(is_binary_rendering)
                    && !["true", "false"].iter().any(|w| w.contains(text.as_str()));
                vec![vec![Literal {
                    text,
                    field: *field,
                    evtx_safe,
                }]]
            })
            .unwrap_or_default()
        }
        Expr::And(items) => items
            .iter()
            .flat_map(|i| clauses(i, target, origins))
            .collect(),
        Expr::Or(items) => {
            let mut each = Vec::with_capacity(items.len());
            for item in items {
                let item = clauses(item, target, origins);
                if item.is_empty() {
                    return Vec::new();
                }
                each.push(item);
            }
            or_clauses(each)
        }
        Expr::True
        | Expr::Not(_)
        | Expr::Compare { .. }
        | Expr::Keyword(_)
        | Expr::Subsearch(_) => Vec::new(),
    };
    for clause in &mut out {
        dedup_keep_order(clause);
    }
    dedup_keep_order(&mut out);
    out
}

/// The characters Windows' renderings of binary values (numbers, hex, GUIDs, SIDs, times,
/// booleans aside) are made of, lower-cased: a literal made only of these may come from a value
/// that is not text in an EVTX chunk.
pub const fn is_binary_rendering(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'x' | b's' | b't' | b'z' | b'-' | b'{' | b'}' | b':' | b'.' | b' ' | b'+')
}

/// Most clauses an alternation gives (see [`or_clauses`]).
const MAX_OR_CLAUSES: usize = 8;

/// The clauses of an alternation, given each alternative's. An event matching any alternative
/// holds a literal of every one of its clauses, so joining one clause of each alternative gives
/// a clause: every such join is one, when there are at most [`MAX_OR_CLAUSES`] (`(EventCode=7
/// ImageLoaded=*x.dll) OR (EventCode=22 QueryName=*y.com)` gives both the code clause and the
/// name clause, where the best clause of each alone would have been the macro's `source`, the
/// longest and in every event); otherwise the join of each alternative's best clause.
fn or_clauses(each: Vec<Vec<Vec<Literal>>>) -> Vec<Vec<Literal>> {
    let joins = each.iter().try_fold(1usize, |n, c| n.checked_mul(c.len()));
    if joins.is_none_or(|n| n > MAX_OR_CLAUSES) {
        let union = each.into_iter().filter_map(best_clause).flatten().collect();
        return vec![union];
    }
    let mut out: Vec<Vec<Literal>> = vec![Vec::new()];
    for alternative in &each {
        out = out
            .iter()
            .flat_map(|joined| {
                alternative.iter().map(move |clause| {
                    let mut joined = joined.clone();
                    joined.extend(clause.iter().cloned());
                    joined
                })
            })
            .collect();
    }
    out
}

/// The clause whose shortest alternative is longest (the most selective), first on ties.
fn best_clause(clauses: Vec<Vec<Literal>>) -> Option<Vec<Literal>> {
    let score = |c: &Vec<Literal>| c.iter().map(|l| l.text.len()).min().unwrap_or(0);
    let mut best: Option<Vec<Literal>> = None;
    for c in clauses {
        if best.as_ref().is_none_or(|b| score(&c) > score(b)) {
            best = Some(c);
        }
    }
    best
}

/// The longest plain run (lower-cased) among the literal segments that is long enough and not
/// part of an entity name.
fn literal_of<'a>(segments: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<&str> = None;
    for seg in segments {
        for run in plain_runs(seg) {
            let lower = run.to_ascii_lowercase();
            let usable = run.len() >= MIN_LITERAL
                && !ENTITY_NAMES.iter().any(|e| e.contains(lower.as_str()));
            if usable && best.is_none_or(|b| run.len() > b.len()) {
                best = Some(run);
            }
        }
    }
    best.map(str::to_ascii_lowercase)
}

/// The longest ASCII run among the literal segments, lower-cased, if there is one. (Non-ASCII
/// text is left out: the matcher compares ASCII case-insensitively, and Unicode case folding
/// can change lengths.)
fn value_literal_of<'a>(segments: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<&str> = None;
    for seg in segments {
        for run in seg.split(|c: char| !c.is_ascii()) {
            if !run.is_empty() && best.is_none_or(|b| run.len() > b.len()) {
                best = Some(run);
            }
        }
    }
    best.map(str::to_ascii_lowercase)
}

fn dedup_keep_order<T: PartialEq + Clone>(v: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(v.len());
    v.retain(|x| {
        if seen.contains(x) {
            false
        } else {
            seen.push(x.clone());
            true
        }
    });
}

/// Splits a literal into the runs of plain characters that [`FieldOrigin::raw_text`] promises to
/// find in the raw record: XML entity references (`&amp;`, `&#39;`) and every character that is
/// not plain (whitespace, controls, non-ASCII, `\ " & < > ;`) separate runs and are dropped.
pub fn plain_runs(literal: &str) -> impl Iterator<Item = &str> {
    let bytes = literal.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            // Skip separators, including whole entity references.
            if bytes[pos] == b'&' {
                let end = entity_end(bytes, pos);
                pos = end;
                continue;
            }
            if !is_plain(bytes[pos]) {
                pos += 1;
                continue;
            }
            let start = pos;
            while pos < bytes.len() && is_plain(bytes[pos]) {
                pos += 1;
            }
            return Some(&literal[start..pos]);
        }
        None
    })
}

/// Whether a byte is a plain character in the sense of [`FieldOrigin::RawText`].
pub const fn is_plain(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'&' | b'<' | b'>' | b';')
}

/// The end of an entity reference starting with `&` at `pos` (`&name;`, `&#123;`, `&#x1F;`), or
/// `pos + 1` when no well-formed reference starts there.
fn entity_end(bytes: &[u8], pos: usize) -> usize {
    let mut i = pos + 1;
    while i < bytes.len() && i - pos <= 10 && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'#')
    {
        i += 1;
    }
    if i > pos + 1 && bytes.get(i) == Some(&b';') {
        i + 1
    } else {
        pos + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Pattern;

    struct Table;
    impl Origins for Table {
        fn origin(&self, field: Sym) -> FieldOrigin {
            match field.as_str() {
                "process" | "process_name" => FieldOrigin::raw(&["unknown"]),
                "original_file_name" => FieldOrigin::raw(&["unknown"]),
                "action" => FieldOrigin::raw(&["allowed", "unknown"]),
                _ => FieldOrigin::derived(),
            }
        }
    }

    fn eq(f: &str, v: &str) -> Expr {
        Expr::Compare {
            field: Sym::new(f),
            op: CompareOp::Eq,
            value: Pattern::new(v),
        }
    }

    fn lits(e: &Expr) -> Vec<Vec<String>> {
        RecordLiterals::of(e, &Table).texts()
    }

    fn value_lits(e: &Expr) -> Vec<Vec<String>> {
        ValueLiterals::of(e).texts()
    }

    #[test]
    fn value_literals_keep_spaces_and_any_field() {
        let e = Expr::Or(vec![
            eq("process", "*-m local*"),
            eq("process", "*-m net*"),
            eq("process", "*-nomutex*"),
        ]);
        assert_eq!(lits(&e), [["local", "net", "-nomutex"]]);
        assert_eq!(value_lits(&e), [["-m local", "-m net", "-nomutex"]]);
        assert_eq!(value_lits(&eq("dest", "*server01*")), [["server01"]]);
        assert_eq!(
            value_lits(&eq("original_file_name", "unknown")),
            [["unknown"]]
        );
        assert_eq!(value_lits(&eq("process", "*café crème*")), [["caf"]]);
        // Short ones too: `EventCode=7` holds `7`, whatever its length.
        assert_eq!(value_lits(&eq("process", "*ab*")), [["ab"]]);
        assert_eq!(value_lits(&eq("EventCode", "7")), [["7"]]);
        assert!(value_lits(&eq("process", "*")).is_empty());
        assert!(value_lits(&eq("process", "*é*")).is_empty());
    }

    #[test]
    fn literals_name_their_field() {
        let e = Expr::Or(vec![
            eq("process_name", "msiexec.exe"),
            eq("original_file_name", "msiexec.exe"),
        ]);
        let c = RecordLiterals::of(&e, &Table).clauses;
        let fields: Vec<&str> = c[0].iter().map(|l| l.field.as_str()).collect();
        assert_eq!(fields, ["process_name", "original_file_name"]);
        assert_eq!(lits(&e), [["msiexec.exe"]]);
    }

    #[test]
    fn a_raw_text_comparison_gives_its_longest_plain_run() {
        assert_eq!(
            lits(&eq("process", r"*\Windows\Temp\*.exe*")),
            [["windows"]]
        );
        assert_eq!(lits(&eq("process_name", "MsiExec.EXE")), [["msiexec.exe"]]);
    }

    #[test]
    fn no_literal_from_derived_fields_short_runs_entities_or_constants() {
        assert!(
            lits(&eq("dest", "*server01*")).is_empty(),
            "dest is derived"
        );
        assert!(lits(&eq("process", "*ab*")).is_empty(), "too short");
        assert!(lits(&eq("process", "*&amp;*")).is_empty(), "entity only");
        assert!(
            lits(&eq("process", "*quot*")).is_empty(),
            "part of an entity name"
        );
        assert!(
            lits(&eq("original_file_name", "unk*")).is_empty(),
            "matches the fill"
        );
        assert!(
            lits(&eq("action", "allow*")).is_empty(),
            "matches a constant"
        );
        assert!(lits(&eq("process", "*")).is_empty());
    }

    #[test]
    fn literals_that_a_binary_rendering_could_spell_are_not_evtx_safe() {
        let c = RecordLiterals::of(&eq("process", "*frombase64string*"), &Table).clauses;
        assert!(c[0][0].evtx_safe);
        for text in [
            "*4104*",
            "*0x8020*",
            "*{abc-def}*",
            "*true*",
            "*2020-10-08t*",
        ] {
            let c = RecordLiterals::of(&eq("process", text), &Table).clauses;
            assert!(!c[0][0].evtx_safe, "{text}");
        }
    }

    #[test]
    fn negations_keywords_and_other_operators_give_nothing() {
        let ne = Expr::Compare {
            field: Sym::new("process"),
            op: CompareOp::Ne,
            value: Pattern::new("calc.exe"),
        };
        assert!(lits(&ne).is_empty());
        assert!(lits(&Expr::Not(Box::new(eq("process", "calc.exe")))).is_empty());
        assert!(lits(&Expr::Keyword(Pattern::new("mimikatz"))).is_empty());
        assert!(lits(&Expr::True).is_empty());
    }

    #[test]
    fn or_needs_every_branch_and_joins_their_clauses() {
        let e = Expr::Or(vec![
            Expr::And(vec![
                eq("process_name", "ab.exe"),
                eq("process", "*-encodedcommand*"),
            ]),
            eq("process", "*http://*"),
        ]);
        // Either branch holds `http://` or `ab.exe`, and `http://` or `-encodedcommand`.
        assert_eq!(
            lits(&e),
            [["ab.exe", "http://"], ["-encodedcommand", "http://"]]
        );
        let e = Expr::Or(vec![eq("process", "*http://*"), eq("dest", "x")]);
        assert!(lits(&e).is_empty(), "the dest branch proves nothing");
    }

    #[test]
    fn an_alternation_of_too_many_joins_takes_each_branchs_best_clause() {
        // Four branches of two clauses each: 16 joins, over the cap.
        let branch =
            |name: &str, arg: &str| Expr::And(vec![eq("process_name", name), eq("process", arg)]);
        let e = Expr::Or(vec![
            branch("aaa.exe", "*-x1*"),
            branch("bbb.exe", "*-y2*"),
            branch("ccc.exe", "*-zz3*"),
            branch("ddd.exe", "*-w4*"),
        ]);
        assert_eq!(lits(&e), [["aaa.exe", "bbb.exe", "ccc.exe", "ddd.exe"]]);
        // Three branches: 8 joins, each a clause.
        let e = Expr::Or(vec![
            branch("aaa.exe", "*-x1*"),
            branch("bbb.exe", "*-y2*"),
            branch("ccc.exe", "*-zz3*"),
        ]);
        let got = lits(&e);
        assert_eq!(got.len(), 8);
        assert!(got.contains(&vec!["-x1".into(), "-y2".into(), "-zz3".into()]));
        assert!(got.contains(&vec!["aaa.exe".into(), "-y2".into(), "ccc.exe".into()]));
    }

    #[test]
    fn entities_and_specials_split_runs() {
        fn runs(s: &str) -> Vec<&str> {
            plain_runs(s).collect()
        }
        assert_eq!(runs("msiexec.exe"), ["msiexec.exe"]);
        assert_eq!(runs("2&gt;&amp;1"), ["2", "1"]);
        assert_eq!(runs(r"\Windows\Temp\ x"), ["Windows", "Temp", "x"]);
        assert_eq!(runs("a&b;c"), ["a", "c"]);
        assert_eq!(runs("\"/i http"), ["/i", "http"]);
        assert_eq!(runs("café"), ["caf"]);
        assert!(runs("").is_empty());
    }
}
