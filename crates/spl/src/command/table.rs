//! `table a, b*`: keep these columns (wildcards allowed), in this order; a named column the row
//! lacks is added empty (Splunk Search Reference, "table").

use std::fmt;
use std::ops::Range;

use super::{Agreement, Command, ExecCtx, ExecError, Glob, Kind, Reads, names, reads_of};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `table` command.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<Glob>,
}

impl Table {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let columns = names(sc, &name_span, "table")?;
        Ok(Table {
            columns: columns.iter().map(|c| Glob::new(c)).collect(),
        })
    }

    fn apply(&self, row: Row) -> Row {
        let mut out = Row::with_capacity(self.columns.len());
        for glob in &self.columns {
            if glob.has_wildcard() {
                for (name, value) in row.cells() {
                    if glob.matches(name.as_str()) && out.get(*name).is_none() {
                        out.push(*name, value.clone());
                    }
                }
            } else {
                let name = Sym::new(glob.text());
                if out.get(name).is_none() {
                    out.push(name, row.get(name).cloned().unwrap_or(Value::Null));
                }
            }
        }
        out
    }
}

impl Command for Table {
    /// Keeps or removes columns by name alone: what agreed still agrees (but a column may be
    /// gone).
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        Some(Agreement {
            differ: before.differ.clone(),
            present: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        "table"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        reads_of(&self.columns)
    }

    /// Its rows hold only its columns: whatever is read after it, it needs only those.
    fn live_before(&self, _after: Live) -> Live {
        Live::of(self.reads())
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        for row in rows.iter_mut() {
            *row = self.apply(std::mem::take(row));
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("table")?;
        for c in &self.columns {
            write!(f, " {}", c.text())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_selects_orders_and_adds_missing_columns_empty() {
        let r = Row::from_texts(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let t = Table {
            columns: ["c", "a", "zz"].iter().map(|c| Glob::new(c)).collect(),
        }
        .apply(r);
        let names: Vec<&str> = t.names().map(Sym::as_str).collect();
        assert_eq!(names, ["c", "a", "zz"]);
        assert_eq!(t.get(Sym::new("zz")), Some(&Value::Null));
    }
}
