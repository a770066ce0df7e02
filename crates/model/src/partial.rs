//! Deciding ahead of time what cannot match: a search expression evaluated with only some
//! fields known (an input's `source` and `sourcetype`), in three-valued logic.
//!
//! An event type, a data-model constraint or a detection's search that is definitely false for
//! every event of a source is never evaluated on those events: this is what lets a thousand
//! detections cost little on an event most of them cannot be about.

use cimhunt_spl::search::Expr;
use cimhunt_spl::{CompareOp, Sym};

/// True, false, or unknown (depends on fields not known yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// The fields known ahead of time, with their single values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Known<'a> {
    pub fields: Vec<(Sym, &'a str)>,
}

impl<'a> Known<'a> {
    fn get(&self, f: Sym) -> Option<&'a str> {
        self.fields.iter().find(|(n, _)| *n == f).map(|(_, v)| *v)
    }
}

/// Evaluates `expr` with `known` fields; `eventtype=<name>` terms ask `eventtype`.
pub(crate) fn partial_eval(expr: &Expr, known: &Known<'_>, eventtype: &dyn Fn(&str) -> Tri) -> Tri {
    let et = Sym::new("eventtype");
    match expr {
        Expr::True => Tri::True,
        Expr::And(items) => {
            let mut out = Tri::True;
            for e in items {
                match partial_eval(e, known, eventtype) {
                    Tri::False => return Tri::False,
                    Tri::Unknown => out = Tri::Unknown,
                    Tri::True => {}
                }
            }
            out
        }
        Expr::Or(items) => {
            let mut out = Tri::False;
            for e in items {
                match partial_eval(e, known, eventtype) {
                    Tri::True => return Tri::True,
                    Tri::Unknown => out = Tri::Unknown,
                    Tri::False => {}
                }
            }
            out
        }
        Expr::Not(inner) => partial_eval(inner, known, eventtype).not(),
        Expr::Compare { field, op, value } => {
            if *field == et {
                return match op {
                    CompareOp::Eq if !value.has_wildcard() => eventtype(value.text()),
                    CompareOp::Ne if !value.has_wildcard() => eventtype(value.text()).not(),
                    _ => Tri::Unknown,
                };
            }
            match (known.get(*field), op) {
                (Some(v), CompareOp::Eq) => {
                    if value.matches(v) {
                        Tri::True
                    } else {
                        Tri::False
                    }
                }
                (Some(v), CompareOp::Ne) => {
                    if value.matches(v) {
                        Tri::False
                    } else {
                        Tri::True
                    }
                }
                _ => Tri::Unknown,
            }
        }
        _ => Tri::Unknown,
    }
}

/// `expr` for events whose `known` fields have those values: a comparison of a known field
/// becomes its answer and what it decides is folded away (`eventtype=` terms are kept). The
/// event types' searches are simplified so for each source, once, rather than comparing every
/// event's `source` with each of them.
pub(crate) fn simplify(expr: &Expr, known: &Known<'_>) -> Expr {
    let never = || Expr::Or(Vec::new());
    let is_never = |e: &Expr| matches!(e, Expr::Or(items) if items.is_empty());
    match expr {
        Expr::And(items) => {
            let mut out = Vec::with_capacity(items.len());
            for e in items {
                match simplify(e, known) {
                    Expr::True => {}
                    s if is_never(&s) => return never(),
                    s => out.push(s),
                }
            }
            match out.len() {
                0 => Expr::True,
                1 => out.remove(0),
                _ => Expr::And(out),
            }
        }
        Expr::Or(items) => {
            let mut out = Vec::with_capacity(items.len());
            for e in items {
                match simplify(e, known) {
                    Expr::True => return Expr::True,
                    s if is_never(&s) => {}
                    s => out.push(s),
                }
            }
            if out.len() == 1 {
                out.remove(0)
            } else {
                Expr::Or(out)
            }
        }
        Expr::Not(inner) => match simplify(inner, known) {
            Expr::True => never(),
            s if is_never(&s) => Expr::True,
            s => Expr::Not(Box::new(s)),
        },
        Expr::Compare { field, .. } if known.get(*field).is_some() => {
            match partial_eval(expr, known, &|_| Tri::Unknown) {
                Tri::True => Expr::True,
                Tri::False => never(),
                Tri::Unknown => expr.clone(),
            }
        }
        _ => expr.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimhunt_spl::search::parse_expr;

    fn eval(text: &str, source: &str) -> Tri {
        let known = Known {
            fields: vec![(Sym::new("source"), source)],
        };
        partial_eval(&parse_expr(text).unwrap(), &known, &|_| Tri::Unknown)
    }

    #[test]
    fn a_simplified_search_answers_as_the_search_for_events_of_the_known_source() {
        use cimhunt_spl::Row;
        let sysmon = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";
        let known = Known {
            fields: vec![(Sym::new("source"), sysmon)],
        };
        let searches = [
            "source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" (EventCode IN (\"1\",\"5\"))",
            "source=XmlWinEventLog:Security EventCode=1",
            "NOT source=X* OR EventCode=5",
            "source!=a EventCode=1 OR source=b",
            "eventtype=x OR source=Xml*",
            "NOT (source=Xml* EventCode=1)",
        ];
        // An empty disjunction (matches nothing) shows as nothing.
        let simplified = [
            "EventCode=\"1\" OR EventCode=\"5\"",
            "",
            "EventCode=\"5\"",
            "EventCode=\"1\"",
            "*",
            "NOT EventCode=\"1\"",
        ];
        for (text, want) in searches.iter().zip(simplified) {
            let expr = parse_expr(text).unwrap();
            let s = simplify(&expr, &known);
            for code in ["1", "5", "7"] {
                let ev = Row::from_texts(&[("source", sysmon), ("EventCode", code)]);
                assert_eq!(s.matches(&ev), expr.matches(&ev), "{text} for {code}");
            }
            assert_eq!(s.to_string(), want, "{text}");
        }
    }

    #[test]
    fn known_fields_decide_and_unknown_ones_do_not() {
        let sysmon = "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational";
        assert_eq!(
            eval("source=XmlWinEventLog:Security EventCode=4688", sysmon),
            Tri::False
        );
        assert_eq!(
            eval(
                "source=XmlWinEventLog:Security EventCode=4688",
                "XmlWinEventLog:Security"
            ),
            Tri::Unknown
        );
        assert_eq!(
            eval("source=xmlwineventlog:security", "XmlWinEventLog:Security"),
            Tri::True
        );
        assert_eq!(eval("NOT source=X*", sysmon), Tri::False);
        assert_eq!(eval("source=a OR EventCode=1", sysmon), Tri::Unknown);
        assert_eq!(eval("source=a OR source=X*", sysmon), Tri::True);
    }
}
