//! Human-readable rendering of a compiled search (`cimhunt explain`).

use std::fmt::{self, Write};

use crate::agg::{AggFunc, AggSpec, NullBy};
use crate::compile::Compiled;
use crate::plan::{Aggregation, Plan, Source};
use crate::search::Expr;

impl fmt::Display for Expr {
    /// SPL-like text with every `AND`/`OR` group below the top level in parentheses, so that
    /// precedence is explicit; values are quoted and escaped (`\\`, `\"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(f, self, true)
    }
}

/// An expression as [`Expr`]'s `Display` writes it.
pub(crate) fn expr_text(e: &Expr) -> String {
    e.to_string()
}

fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if matches!(c, '\\' | '"') {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
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
            write!(f, "{field}{}", op.text())?;
            write_quoted(f, value.text())
        }
        Expr::Keyword(p) => {
            f.write_str("TERM ")?;
            write_quoted(f, p.text())
        }
        Expr::Subsearch(i) => write!(f, "[subsearch {}]", i + 1),
    }
}

/// The name SPL uses for an aggregation function.
pub(crate) fn func_name(func: AggFunc) -> &'static str {
    func.name()
}

fn write_agg(f: &mut fmt::Formatter<'_>, spec: &AggSpec) -> fmt::Result {
    if spec.calls.is_empty() {
        // Those written, if any, are read by no later command (`crate::live`).
        writeln!(f, "  aggregates: none (the groups alone)")?;
    } else {
        writeln!(f, "  aggregates:")?;
    }
    for a in &spec.calls {
        match (&a.eval, a.field) {
            (Some(e), _) => writeln!(
                f,
                "    {}(eval({})) -> {}",
                func_name(a.func),
                e.text(),
                a.output
            )?,
            (None, Some(field)) => {
                writeln!(f, "    {}({field}) -> {}", func_name(a.func), a.output)?
            }
            (None, None) => writeln!(f, "    {} -> {}", func_name(a.func), a.output)?,
        }
    }
    let by: Vec<String> = spec
        .by
        .iter()
        .map(|b| {
            let mut x = b.output.to_string();
            if b.field != b.output {
                let _ = write!(x, " (field {})", b.field);
            }
            if let Some(secs) = b.span_secs {
                let _ = write!(x, " span={secs}s");
            }
            x
        })
        .collect();
    writeln!(
        f,
        "  by: {}",
        if by.is_empty() {
            "(none)".to_owned()
        } else {
            by.join(", ")
        }
    )?;
    match &spec.null_by {
        NullBy::Fill(v) => writeln!(f, "  null by-fields become {v:?}"),
        NullBy::Drop => writeln!(f, "  events with a null by-field are dropped"),
    }
}

/// Writes a plan: its source, streaming commands, aggregation and post commands.
pub(crate) fn write_plan(f: &mut fmt::Formatter<'_>, plan: &Plan) -> fmt::Result {
    match &plan.source {
        Source::Tstats(t) => {
            writeln!(f, "tstats over {}", t.dataset)?;
            writeln!(f, "  filter: {}", t.filter)?;
            if t.summariesonly.is_some() || t.allow_old_summaries.is_some() {
                let show = |b: Option<bool>| b.map_or("-".to_owned(), |b| b.to_string());
                writeln!(
                    f,
                    "  summariesonly: {}, allow_old_summaries: {} (no effect)",
                    show(t.summariesonly),
                    show(t.allow_old_summaries)
                )?;
            }
        }
        Source::Search(e) => writeln!(f, "search over events\n  filter: {e}")?,
        Source::Inputlookup(l) => writeln!(
            f,
            "inputlookup {} ({} rows)\n  filter: {}",
            l.name,
            l.table.len(),
            l.filter
        )?,
    }
    let list = |f: &mut fmt::Formatter<'_>,
                title: &str,
                cmds: &[std::sync::Arc<dyn crate::command::Command>]|
     -> fmt::Result {
        if cmds.is_empty() {
            return Ok(());
        }
        writeln!(f, "{title}:")?;
        for (i, c) in cmds.iter().enumerate() {
            write!(f, "  {}. ", i + 1)?;
            c.explain(f)?;
            f.write_char('\n')?;
        }
        Ok(())
    };
    list(f, "per event", &plan.streaming)?;
    match &plan.aggregation {
        Aggregation::Stats(spec) => {
            writeln!(f, "aggregation (merged across workers):")?;
            write_agg(f, spec)?;
        }
        Aggregation::Collect => writeln!(f, "rows collected, newest first")?,
    }
    if let Some(k) = crate::keyfilter::KeyFilter::new(plan) {
        list(f, "a group starts only if its key passes", k.commands())?;
        if let Aggregation::Stats(spec) = &plan.aggregation
            && !k.decided_by_whole_key()
        {
            let by: Vec<String> = k
                .deciding()
                .iter()
                .filter_map(|&i| spec.by.get(i))
                .map(|b| b.output.to_string())
                .collect();
            writeln!(
                f,
                "  (decided by {} alone: verdicts are remembered by {})",
                by.join(", "),
                if by.len() == 1 { "it" } else { "them" }
            )?;
        }
    }
    if let Some(k) = crate::keyfilter::KeyFilter::at_finish(plan) {
        list(
            f,
            "after merging, a group is kept only if its key passes",
            k.commands(),
        )?;
    }
    list(f, "after merging", &plan.post)?;
    if !plan.left_out.is_empty() {
        writeln!(f, "left out, since no later command reads what they set:")?;
        for l in &plan.left_out {
            writeln!(f, "  {l}")?;
        }
    }
    for (i, sub) in plan.subsearches.iter().enumerate() {
        writeln!(f, "subsearch {}:", i + 1)?;
        let text = sub.to_string();
        for line in text.lines() {
            writeln!(f, "  {line}")?;
        }
    }
    Ok(())
}

impl Compiled {
    /// A multi-line description: the expanded search and the plan (source with its filter
    /// written with explicit parentheses, per-event commands, aggregation, commands after
    /// merging).
    pub fn explain(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "expanded search:\n  {}", self.expanded.trim());
        let _ = write!(s, "{}", self.plan);
        s
    }
}
