//! Required literals: text every record a plan can match must contain, for skipping records
//! before they are decoded.
//!
//! Only `=` comparisons on fields whose values are raw record text ([`FieldOrigin::RawText`])
//! give literals, and only when the pattern cannot match the data model's `unknown` fill (a
//! record lacking the field would get that value and still match).

use cimhunt_cim::{FieldOrigin, UNKNOWN, plain_runs};

use crate::plan::{CompareOp, Expr, FieldRef, Literal, Plan, RequiredLiterals};

/// Literals shorter than this are useless as a prefilter.
const MIN_LITERAL: usize = 3;

/// Entity names: a literal inside one of these may come from an entity reference that the raw
/// record spells differently (`&amp;` in XML is `&` in JSON and EVTX).
const ENTITY_NAMES: [&str; 3] = ["amp", "quot", "apos"];

impl Plan {
    /// What any record this plan can match must contain, from the `tstats` where-clause.
    pub fn required_literals(&self) -> RequiredLiterals {
        RequiredLiterals {
            clauses: clauses(&self.tstats.filter),
        }
    }
}

/// The clauses of an expression: a conjunction of alternatives.
pub(crate) fn clauses(e: &Expr) -> Vec<Vec<Literal>> {
    let mut out = match e {
        Expr::Compare {
            field: FieldRef::Cim(f),
            op: CompareOp::Eq,
            value,
        } => {
            if f.origin() != FieldOrigin::RawText || value.matches(UNKNOWN) {
                return Vec::new();
            }
            literal_of(value.literal_segments())
                .map(|text| vec![vec![Literal { text, field: *f }]])
                .unwrap_or_default()
        }
        Expr::And(items) => items.iter().flat_map(clauses).collect(),
        Expr::Or(items) => {
            let mut union: Vec<Literal> = Vec::new();
            for item in items {
                let Some(best) = best_clause(clauses(item)) else {
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
            clauses: clauses(e),
        }
        .texts()
    }

    #[test]
    fn literals_name_their_field() {
        let e = Expr::Or(vec![
            eq(Field::ProcessName, "msiexec.exe"),
            eq(Field::OriginalFileName, "msiexec.exe"),
        ]);
        let c = clauses(&e);
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
