//! `fields a, b` (keep, in this order) and `fields - a, b` (remove); wildcards allowed (Splunk
//! Search Reference, "fields").

use std::fmt;

use std::ops::Range;

use super::{Agreement, Command, ExecCtx, ExecError, Glob, Kind, Reads, names, reads_of};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;

/// The `fields` command.
#[derive(Debug, Clone)]
pub struct Fields {
    remove: bool,
    globs: Vec<Glob>,
}

impl Fields {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        sc.skip_ws();
        let mut remove = false;
        if matches!(sc.peek(), Some('+' | '-'))
            && sc.peek2().is_none_or(|c| c.is_whitespace() || c == ',')
        {
            remove = sc.bump() == Some('-');
        }
        let list = names(sc, &name_span, "fields")?;
        Ok(Fields {
            remove,
            globs: list.iter().map(|g| Glob::new(g)).collect(),
        })
    }

    fn apply(&self, row: Row) -> Row {
        let matches = |name: &str| self.globs.iter().any(|g| g.matches(name));
        if self.remove {
            return row
                .cells()
                .iter()
                .filter(|(n, _)| !matches(n.as_str()))
                .cloned()
                .collect();
        }
        let mut out = Row::new();
        for glob in &self.globs {
            for (name, value) in row.cells() {
                if glob.matches(name.as_str()) && out.get(*name).is_none() {
                    out.push(*name, value.clone());
                }
            }
        }
        out
    }
}

impl Command for Fields {
    /// Keeps or removes columns by name alone: what agreed still agrees (but a column may be
    /// gone).
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        Some(Agreement {
            differ: before.differ.clone(),
            present: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        "fields"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        if self.remove {
            Reads::All
        } else {
            reads_of(&self.globs)
        }
    }

    /// Keeping, its rows hold only the fields it names, whatever is read after it; removing,
    /// the fields it removes are never read after it, and the others pass through.
    fn live_before(&self, after: Live) -> Live {
        if !self.remove {
            return Live::of(self.reads());
        }
        match after {
            Live::All => Live::All,
            Live::Only(fields) => Live::Only(
                fields
                    .into_iter()
                    .filter(|f| !self.globs.iter().any(|g| g.matches(f.as_str())))
                    .collect(),
            ),
        }
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        for row in rows.iter_mut() {
            *row = self.apply(std::mem::take(row));
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.remove { "fields -" } else { "fields" })?;
        for g in &self.globs {
            write!(f, " {}", g.text())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sym::Sym;

    fn names(r: &Row) -> Vec<&'static str> {
        r.names().map(Sym::as_str).collect()
    }

    #[test]
    fn fields_keep_in_order_or_remove() {
        let r = Row::from_texts(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let remove = Fields {
            remove: true,
            globs: vec![Glob::new("b")],
        };
        assert_eq!(names(&remove.apply(r.clone())), ["a", "c"]);
        let keep = Fields {
            remove: false,
            globs: vec![Glob::new("c"), Glob::new("a*")],
        };
        assert_eq!(names(&keep.apply(r)), ["c", "a"]);
    }
}
