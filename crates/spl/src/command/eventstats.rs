//! `eventstats <function>… [by <field>…]` (Search Reference, "eventstats"): the aggregates of
//! `stats`, computed over all rows, added to every row of the group instead of replacing the
//! rows. A row whose by-field is null belongs to no group and gets no aggregate; a row with a
//! multivalued by-field gets the aggregates of the group of its first value [inferred]. An
//! aggregate replaces a field of the same name.

use std::fmt;
use std::ops::Range;

use super::stats::{aggregate, checked, parse_spec, write_spec};
use super::{Command, ExecCtx, ExecError, Kind, Reads};
use hashbrown::HashMap;

use crate::agg::{AggSpec, Groups, group_key};
use crate::error::{RawError, RawResult};
use crate::held::HeldRows;
use crate::lexer::Scanner;
use crate::pipeline::{Absorb, RowIter};
use crate::row::Row;
use crate::value::Value;

/// The `eventstats` command.
#[derive(Debug, Clone)]
pub struct EventStats {
    spec: AggSpec,
}

impl EventStats {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let spec = parse_spec(sc, name_span.clone(), "eventstats")?;
        if spec.has_wildcard() {
            // No ESCU search writes one; unsupported rather than a field named `*`.
            return Err(RawError::unsupported(
                "eventstats with a wildcard argument",
                name_span,
            ));
        }
        Ok(EventStats { spec })
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
            give(&self.spec, &map, row);
        }
        Ok(())
    }

    fn absorber(&self) -> Option<Box<dyn Absorb<'_> + '_>> {
        Some(Box::new(EventStatsAbsorb {
            spec: &self.spec,
            groups: Groups::over_rows(),
            held: None,
        }))
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("eventstats")?;
        write_spec(f, &self.spec)
    }
}

/// The aggregates of each group, by the group's by-field values ([`Groups::into_map`]).
type Aggregates = HashMap<Vec<String>, Vec<Value<'static>>>;

/// Gives `row` the aggregates of its group: a null aggregate removes the field.
fn give(spec: &AggSpec, map: &Aggregates, row: &mut Row) {
    let Some(values) = group_key(spec, row).and_then(|k| map.get(&k)) else {
        return;
    };
    for (call, value) in spec.calls.iter().zip(values) {
        if value.is_null() {
            row.remove(call.output);
        } else {
            row.set(call.output, value.clone());
        }
    }
}

/// `eventstats` taking its rows one at a time: each is added to its group and held compactly
/// ([`HeldRows`], on disk beyond the context's [`crate::RowSpill`] budget) until every row is
/// in, then made again and given its group's aggregates.
struct EventStatsAbsorb<'a> {
    spec: &'a AggSpec,
    groups: Groups,
    /// Made with the first row, from its context.
    held: Option<HeldRows>,
}

impl<'a> Absorb<'a> for EventStatsAbsorb<'a> {
    fn add(&mut self, row: Row, ctx: &ExecCtx) -> Result<(), ExecError> {
        self.groups.add(self.spec, &row, ctx);
        self.held
            .get_or_insert_with(|| HeldRows::spilling(ctx.row_spill().cloned()))
            .push(&row);
        Ok(())
    }

    fn finish(self: Box<Self>, ctx: &ExecCtx) -> Result<RowIter<'a>, ExecError> {
        let map = checked(self.groups, "eventstats", ctx)?.into_map(self.spec);
        let spec = self.spec;
        let held = self.held.unwrap_or_default();
        Ok(Box::new(held.into_rows().map(move |row| {
            let mut row = row.map_err(|e| ExecError::Failed {
                command: "eventstats",
                message: e.to_string(),
            })?;
            give(spec, &map, &mut row);
            Ok(row)
        })))
    }
}
