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
