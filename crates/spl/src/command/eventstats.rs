//! `eventstats <function>… [by <field>…]` (Search Reference, "eventstats"): the aggregates of
//! `stats`, computed over all rows, added to every row of the group instead of replacing the
//! rows. A row whose by-field is null belongs to no group and gets no aggregate; a row with a
//! multivalued by-field gets the aggregates of the group of its first value [inferred]. An
//! aggregate replaces a field of the same name.

use std::fmt;
use std::ops::Range;

use super::stats::{aggregate, parse_spec, write_spec};
use super::{Command, ExecCtx, ExecError, Kind, Reads};
use crate::agg::{AggSpec, group_key};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::row::Row;

/// The `eventstats` command.
#[derive(Debug, Clone)]
pub struct EventStats {
    spec: AggSpec,
}

impl EventStats {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        Ok(EventStats {
            spec: parse_spec(sc, name_span, "eventstats")?,
        })
    }
}

impl Command for EventStats {
    fn name(&self) -> &'static str {
        "eventstats"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::Fields(self.spec.fields().collect())
    }

    fn uses_now(&self) -> bool {
        self.spec.uses_now()
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let groups = aggregate(&self.spec, rows, ctx, "eventstats")?;
        let map = groups.into_map(&self.spec);
        for row in rows.iter_mut() {
            let Some(values) = group_key(&self.spec, row).and_then(|k| map.get(&k)) else {
                continue;
            };
            for (call, value) in self.spec.calls.iter().zip(values) {
                if value.is_null() {
                    row.remove(call.output);
                } else {
                    row.set(call.output, value.clone());
                }
            }
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("eventstats")?;
        write_spec(f, &self.spec)
    }
}
