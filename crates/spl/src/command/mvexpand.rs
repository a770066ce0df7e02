//! `mvexpand <field> [limit=<n>]` (Search Reference, "mvexpand"): one row per value of the
//! field, each a copy of the row with the field holding that one value (at most `limit` values
//! per row). A row without the field is kept as it is [inferred].

use std::fmt;
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;

/// The `mvexpand` command.
#[derive(Debug, Clone)]
pub struct MvExpand {
    field: Sym,
    limit: Option<usize>,
}

impl MvExpand {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut field = None;
        let mut limit = None;
        loop {
            if sc.at_end() {
                break;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "limit" => limit = Some(args::integer(&v)? as usize).filter(|n| *n > 0),
                    _ => return Err(args::unknown_option("mvexpand", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) if field.is_none() => field = Some(Sym::new(&f.text)),
                _ => return Err(args::unexpected(sc, "mvexpand", "expected one field")),
            }
        }
        let Some(field) = field else {
            return Err(RawError::syntax(
                "mvexpand needs a field",
                name_span,
                "expand which field?",
            ));
        };
        Ok(MvExpand { field, limit })
    }
}

impl Command for MvExpand {
    fn name(&self) -> &'static str {
        "mvexpand"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(vec![self.field])
    }

    /// Its `max_rows` bound counts every row it gives, not those of a chunk.
    fn in_chunks(&self) -> bool {
        false
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let max_rows = ctx.limits().max_rows;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows.drain(..) {
            let values = match row.get(self.field) {
                Some(crate::value::Value::Multi(vs)) => vs.clone(),
                _ => {
                    out.push(row);
                    continue;
                }
            };
            for v in values.into_iter().take(self.limit.unwrap_or(usize::MAX)) {
                let mut r = row.clone();
                r.set(self.field, v);
                out.push(r);
            }
            if out.len() > max_rows {
                return Err(ExecError::Limit {
                    command: "mvexpand",
                    message: format!("more than {max_rows} rows (the max_rows limit)"),
                });
            }
        }
        *rows = out;
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mvexpand {}", self.field)?;
        if let Some(l) = self.limit {
            write!(f, " limit={l}")?;
        }
        Ok(())
    }
}
