//! Required literals: text every record (or event) a plan can match must contain.
//!
//! Two uses, two rules. **In the raw record** ([`Plan::required_literals`]), to skip records
//! before they are decoded: only `=` comparisons on fields whose values are raw record text
//! ([`FieldOrigin::RawText`]) give literals, only runs of plain characters (which every record
//! format writes verbatim), and only when the pattern cannot match the data model's `unknown`
//! fill (a record lacking the field would get that value and still match). **In the CIM
//! values** ([`Plan::value_literals`]), to skip evaluating a where-clause on a decoded event:
//! any `=` comparison on a CIM field gives its longest literal segment, spaces and
//! punctuation included, since the pattern is matched against exactly that value.

use cimhunt_cim::{FieldOrigin, UNKNOWN, plain_runs};

use crate::plan::{CompareOp, Expr, FieldRef, Literal, Plan, RequiredLiterals};

/// Literals shorter than this are useless as a prefilter.
const MIN_LITERAL: usize = 3;

/// Entity names: a literal inside one of these may come from an entity reference that the raw
/// record spells differently (`&amp;` in XML is `&` in JSON and EVTX).
const ENTITY_NAMES: [&str; 3] = ["amp", "quot", "apos"];

impl Plan {
    /// What any record this plan can match must contain in its raw bytes, from the `tstats`
    /// where-clause.
    pub fn required_literals(&self) -> RequiredLiterals {
        RequiredLiterals {
            clauses: clauses(&self.tstats.filter, Target::RawRecord),
        }
    }

    /// What any event this plan can match must hold in its CIM field values.
    pub fn value_literals(&self) -> RequiredLiterals {
        RequiredLiterals {
            clauses: clauses(&self.tstats.filter, Target::CimValue),
        }
    }
}

/// Where literals will be looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The raw record, before decoding.
    RawRecord,
    /// The decoded event's CIM field values.
    CimValue,
}

/// The clauses of an expression: a conjunction of alternatives.
pub(crate) fn clauses(e: &Expr, target: Target) -> Vec<Vec<Literal>> {
    let mut out = match e {
        Expr::Compare {
            field: FieldRef::Cim(f),
            op: CompareOp::Eq,
            value,
        } => {
            let literal = match target {
                Target::RawRecord if f.origin() != FieldOrigin::RawText => None,
                Target::RawRecord if value.matches(UNKNOWN) => None,
                Target::RawRecord => literal_of(value.literal_segments()),
                Target::CimValue => value_literal_of(value.literal_segments()),
            };
            literal
                .map(|text| vec![vec![Literal { text, field: *f }]])
                .unwrap_or_default()
        }
        Expr::And(items) => items.iter().flat_map(|i| clauses(i, target)).collect(),
        Expr::Or(items) => {
            let mut union: Vec<Literal> = Vec::new();
            for item in items {
                let Some(best) = best_clause(clauses(item, target)) else {
                    return Vec::new();
                };
                union.extend(best);
            }
            vec![union]
        }
        Expr::True | Expr::Not(_) | Expr::Compare { .. } => Vec::new(),
    };
    for clause in &mut out {
        dedup_keep_order(clause);
    }
    dedup_keep_order(&mut out);
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

/// The longest ASCII run among the literal segments, lower-cased, if it has at least
/// [`MIN_LITERAL`] characters. (Non-ASCII text is left out: the matcher compares ASCII
/// case-insensitively, and Unicode case folding can change lengths.)
fn value_literal_of<'a>(segments: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut best: Option<&str> = None;
    for seg in segments {
        for run in seg.split(|c: char| !c.is_ascii()) {
            if run.len() >= MIN_LITERAL && best.is_none_or(|b| run.len() > b.len()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::Pattern;
    use cimhunt_cim::Field;

    fn eq(f: Field, v: &str) -> Expr {
        Expr::Compare {
            field: FieldRef::Cim(f),
            op: CompareOp::Eq,
            value: Pattern::new(v),
        }
    }

    fn lits(e: &Expr) -> Vec<Vec<String>> {
        RequiredLiterals {
            clauses: clauses(e, Target::RawRecord),
        }
        .texts()
    }

    fn value_lits(e: &Expr) -> Vec<Vec<String>> {
        RequiredLiterals {
            clauses: clauses(e, Target::CimValue),
        }
        .texts()
    }

    #[test]
    fn value_literals_keep_spaces_and_any_field() {
        let e = Expr::Or(vec![
            eq(Field::Process, "*-m local*"),
            eq(Field::Process, "*-m net*"),
            eq(Field::Process, "*-nomutex*"),
        ]);
        assert_eq!(lits(&e), [["local", "net", "-nomutex"]]);
        assert_eq!(value_lits(&e), [["-m local", "-m net", "-nomutex"]]);
        assert_eq!(value_lits(&eq(Field::Dest, "*server01*")), [["server01"]]);
        assert_eq!(
            value_lits(&eq(Field::OriginalFileName, "unknown")),
            [["unknown"]]
        );
        assert_eq!(value_lits(&eq(Field::Process, "*café crème*")), [["caf"]]);
        assert!(value_lits(&eq(Field::Process, "*ab*")).is_empty());
    }

    #[test]
    fn literals_name_their_field() {
        let e = Expr::Or(vec![
            eq(Field::ProcessName, "msiexec.exe"),
            eq(Field::OriginalFileName, "msiexec.exe"),
        ]);
        let c = clauses(&e, Target::RawRecord);
        let fields: Vec<Field> = c[0].iter().map(|l| l.field).collect();
        assert_eq!(fields, [Field::ProcessName, Field::OriginalFileName]);
        assert_eq!(lits(&e), [["msiexec.exe"]]);
    }

    #[test]
    fn a_raw_text_comparison_gives_its_longest_plain_run() {
        assert_eq!(
            lits(&eq(Field::Process, r"*\Windows\Temp\*.exe*")),
            [["windows"]]
        );
        assert_eq!(
            lits(&eq(Field::ProcessName, "MsiExec.EXE")),
            [["msiexec.exe"]]
        );
    }

    #[test]
    fn no_literal_from_derived_fields_short_runs_entities_or_unknown() {
        assert!(
            lits(&eq(Field::Dest, "*server01*")).is_empty(),
            "dest is Derived"
        );
        assert!(lits(&eq(Field::Process, "*ab*")).is_empty(), "too short");
        assert!(
            lits(&eq(Field::Process, "*&amp;*")).is_empty(),
            "entity only"
        );
        assert!(
            lits(&eq(Field::Process, "*quot*")).is_empty(),
            "part of an entity name"
        );
        assert!(lits(&eq(Field::Process, "*no*")).is_empty());
        assert!(
            lits(&eq(Field::OriginalFileName, "unk*")).is_empty(),
            "matches the unknown fill"
        );
        assert!(lits(&eq(Field::Process, "*")).is_empty());
    }

    #[test]
    fn negations_and_other_operators_give_nothing() {
        let ne = Expr::Compare {
            field: FieldRef::Cim(Field::Process),
            op: CompareOp::Ne,
            value: Pattern::new("calc.exe"),
        };
        assert!(lits(&ne).is_empty());
        assert!(lits(&Expr::Not(Box::new(eq(Field::Process, "calc.exe")))).is_empty());
        assert!(lits(&Expr::True).is_empty());
    }

    #[test]
    fn or_needs_every_branch_and_takes_each_best_clause() {
        let e = Expr::Or(vec![
            Expr::And(vec![
                eq(Field::ProcessName, "ab.exe"),
                eq(Field::Process, "*-encodedcommand*"),
            ]),
            eq(Field::Process, "*http://*"),
        ]);
        assert_eq!(lits(&e), [["-encodedcommand", "http://"]]);
        let e = Expr::Or(vec![eq(Field::Process, "*http://*"), eq(Field::Dest, "x")]);
        assert!(lits(&e).is_empty(), "the dest branch proves nothing");
    }

    #[test]
    fn and_concatenates_and_duplicates_are_dropped() {
        let e = Expr::And(vec![
            Expr::Or(vec![
                eq(Field::ProcessName, "a.exe"),
                eq(Field::OriginalFileName, "A.EXE"),
            ]),
            eq(Field::Process, "*xyz*"),
            eq(Field::Dest, "d"),
        ]);
        assert_eq!(lits(&e), [vec!["a.exe".to_owned()], vec!["xyz".to_owned()]]);
    }
}
