//! Human-readable rendering of a compiled search (`cimhunt explain`).

use std::fmt::{self, Write};

use crate::compile::Compiled;
use crate::expr::op_text;
use crate::plan::{AggFunc, Expr, FieldRef, Stage};

impl fmt::Display for FieldRef {
    /// CIM fields with their dataset prefix (`Processes.process`), `_time`, other names as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Cim(field) => write!(f, "Processes.{}", field.name()),
            FieldRef::Time => f.write_str("_time"),
            FieldRef::Named(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for Expr {
    /// SPL-like text with every `AND`/`OR` group below the top level in parentheses, so that
    /// precedence is explicit; values are quoted and escaped (`\\`, `\"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self, true)
    }
}

fn write_expr(f: &mut fmt::Formatter<'_>, e: &Expr, top: bool) -> fmt::Result {
    match e {
        Expr::True => f.write_str("*"),
        Expr::And(items) | Expr::Or(items) => {
            let sep = if matches!(e, Expr::And(_)) {
                " AND "
            } else {
                " OR "
            };
            if !top {
                f.write_char('(')?;
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write_expr(f, item, false)?;
            }
            if !top {
                f.write_char(')')?;
            }
            Ok(())
        }
        Expr::Not(inner) => {
            f.write_str("NOT ")?;
            write_expr(f, inner, false)
        }
        Expr::Compare { field, op, value } => {
            write!(f, "{field}{}\"", op_text(*op))?;
            for c in value.text().chars() {
                if matches!(c, '\\' | '"') {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
            f.write_char('"')
        }
    }
}

/// The name SPL uses for an aggregation function.
fn func_name(func: AggFunc) -> &'static str {
    match func {
        AggFunc::Count => "count",
        AggFunc::DistinctCount => "dc",
        AggFunc::Min => "min",
        AggFunc::Max => "max",
        AggFunc::Values => "values",
        AggFunc::Earliest => "earliest",
        AggFunc::Latest => "latest",
        AggFunc::Sum => "sum",
        AggFunc::Avg => "avg",
    }
}

impl Compiled {
    /// A multi-line description: the expanded search, the `tstats` plan (data model, filter
    /// with explicit parentheses, aggregates and their output columns, by-fields, fillnull),
    /// the row stages, and the required literals.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_explain(&mut s);
        s
    }

    fn write_explain(&self, s: &mut String) -> fmt::Result {
        let t = &self.plan.tstats;
        writeln!(s, "expanded search:\n  {}", self.expanded.trim())?;
        writeln!(s, "tstats over {}.{}", t.datamodel, t.dataset)?;
        writeln!(s, "  filter: {}", t.filter)?;
        writeln!(s, "  aggregates:")?;
        for a in &t.aggregates {
            let call = match &a.field {
                Some(field) => format!("{}({field})", func_name(a.func)),
                None => func_name(a.func).to_owned(),
            };
            writeln!(s, "    {call} -> {}", a.output)?;
        }
        let by: Vec<String> =
            t.by.iter()
                .map(|b| {
                    let mut x = b.output.clone();
                    if let FieldRef::Named(_) = b.field {
                        x.push_str(" (not in the data model: always null)");
                    }
                    if let Some(secs) = b.span_secs {
                        let _ = write!(x, " span={secs}s");
                    }
                    x
                })
                .collect();
        writeln!(
            s,
            "  by: {}",
            if by.is_empty() {
                "(none)".to_owned()
            } else {
                by.join(", ")
            }
        )?;
        match &t.fillnull_value {
            Some(v) => writeln!(s, "  fillnull_value: {v:?} (null by-fields become this)")?,
            None => writeln!(
                s,
                "  fillnull_value: none (events with a null by-field are dropped)"
            )?,
        }
        if t.summariesonly.is_some() || t.allow_old_summaries.is_some() {
            let show = |b: Option<bool>| b.map_or("-".to_owned(), |b| b.to_string());
            writeln!(
                s,
                "  summariesonly: {}, allow_old_summaries: {} (no effect)",
                show(t.summariesonly),
                show(t.allow_old_summaries)
            )?;
        }
        writeln!(s, "stages:")?;
        if self.plan.stages.is_empty() {
            writeln!(s, "  (none)")?;
        }
        for (i, stage) in self.plan.stages.iter().enumerate() {
            write!(s, "  {}. ", i + 1)?;
            write_stage(s, stage)?;
            s.push('\n');
        }
        let lits = self.plan.required_literals();
        writeln!(s, "required literals:")?;
        if lits.clauses.is_empty() {
            writeln!(s, "  (none: every record must be decoded)")?;
        }
        for clause in &lits.clauses {
            let alts: Vec<String> = clause
                .iter()
                .map(|a| format!("{:?} in {}", a.text, a.field))
                .collect();
            writeln!(s, "  one of {}", alts.join(", "))?;
        }
        Ok(())
    }
}

fn write_stage(s: &mut String, stage: &Stage) -> fmt::Result {
    match stage {
        Stage::Rename(pairs) => {
            let p: Vec<String> = pairs
                .iter()
                .map(|(a, b)| format!("{a:?} as {b:?}"))
                .collect();
            write!(s, "rename {}", p.join(", "))
        }
        Stage::Convert { timeformat, items } => {
            let it: Vec<String> = items
                .iter()
                .map(|c| match &c.output {
                    Some(o) => format!("ctime({}) as {o}", c.field),
                    None => format!("ctime({})", c.field),
                })
                .collect();
            write!(s, "convert timeformat={timeformat:?} {}", it.join(" "))
        }
        Stage::Search(e) => write!(s, "search {e}"),
        Stage::Table(names) => write!(s, "table {}", names.join(", ")),
        Stage::Fields { remove, fields } => {
            write!(
                s,
                "fields {}{}",
                if *remove { "- " } else { "" },
                fields.join(", ")
            )
        }
    }
}
