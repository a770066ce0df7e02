//! `lookup [local=…] [update=…] <table> <field> [AS <event-field>]… [OUTPUT|OUTPUTNEW <field>
//! [AS <event-field>]…]` (Search Reference, "lookup"; matching per `transforms.conf`, see
//! [`crate::lookup`]).
//!
//! - The table is named by its lookup definition or its file ([`crate::lookups::Lookups`]) and
//!   bound when the search is compiled; a table the deployment lacks is an unsupported construct
//!   naming the table (or the app that ships it).
//! - The input fields select the table's rows: all must match ([`LookupTable::find`]); an
//!   event field with several values is looked up value by value. A row whose input field is
//!   missing is left as it is [inferred]. A table with `min_matches` and `default_match` gives
//!   its default when nothing matches.
//! - Without `OUTPUT`/`OUTPUTNEW`, every other column of the table is output under its own
//!   name.
//! - `OUTPUT`: the output fields are replaced by the matching rows' values, and removed when
//!   nothing matches (and the table has no default) [inferred: Splunk's documentation says only
//!   that the output fields "overwrite existing fields"; that a non-matching lookup clears them
//!   is how Splunk behaves in practice].
//! - `OUTPUTNEW`: output fields the row already has are left alone; the others are set as with
//!   `OUTPUT`.
//! - `local` and `update` change nothing here.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads, args, missing_lookup};
use crate::compile::ParseEnv;
use crate::error::{RawError, RawResult};
use crate::lexer::{Scanner, Token};
use crate::lookup::LookupTable;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// `OUTPUT` or `OUTPUTNEW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupOutput {
    /// Replace the output fields.
    Output,
    /// Only set output fields the row lacks.
    OutputNew,
}

/// Combinations of multivalued inputs looked up for one row, at most.
const MAX_COMBINATIONS: usize = 1024;

/// The `lookup` command.
#[derive(Clone)]
pub struct Lookup {
    name: String,
    table: Arc<LookupTable>,
    /// Table column and event field.
    inputs: Vec<(usize, Sym)>,
    outputs: Vec<(usize, Sym)>,
    mode: LookupOutput,
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("mode", &self.mode)
            .finish()
    }
}

/// `column [AS field]` pairs up to the end, or up to `OUTPUT`/`OUTPUTNEW`.
fn pairs(sc: &mut Scanner<'_>, stop_at_output: bool) -> RawResult<Vec<(Token, Token)>> {
    let mut out = Vec::new();
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        if stop_at_output && (sc.at_keyword("output", true) || sc.at_keyword("outputnew", true)) {
            break;
        }
        let Some(col) = args::field_name(sc)? else {
            return Err(args::unexpected(sc, "lookup", "expected a field name"));
        };
        sc.skip_ws();
        let field = if let Some(kw) = sc.eat_keyword("as", true) {
            match args::field_name(sc)? {
                Some(f) => f,
                None => return Err(RawError::syntax("missing name after `AS`", kw, "here")),
            }
        } else {
            col.clone()
        };
        out.push((col, field));
    }
    Ok(out)
}

impl Lookup {
    pub(crate) fn parse(
        sc: &mut Scanner<'_>,
        name_span: Range<usize>,
        env: &ParseEnv<'_>,
    ) -> RawResult<Self> {
        while let Some(key) = args::eat_key(sc) {
            let v = args::value(sc, &key)?;
            match key.text.as_str() {
                "local" | "update" => {
                    args::boolean(&v)?;
                }
                _ => return Err(args::unknown_option("lookup", &key)),
            }
        }
        sc.skip_ws();
        let Some(name) = sc.value(false)? else {
            return Err(RawError::syntax(
                "lookup needs a table",
                name_span,
                "which lookup?",
            ));
        };
        let Some(table) = env.lookup(&name.text) else {
            return Err(missing_lookup(&name.text, name.span));
        };
        let column = |t: &Token| {
            table.column(&t.text).ok_or_else(|| {
                RawError::syntax(
                    format!("lookup `{}` has no column `{}`", name.text, t.text),
                    t.span.clone(),
                    "not a column of the table",
                )
                .with_help(format!("its columns: {}", table.columns().join(", ")))
            })
        };
        let inputs = pairs(sc, true)?;
        if inputs.is_empty() {
            return Err(RawError::syntax(
                "lookup needs an input field",
                name.span,
                "match on which field?",
            ));
        }
        let inputs: Vec<(usize, Sym)> = inputs
            .iter()
            .map(|(c, f)| Ok((column(c)?, Sym::new(&f.text))))
            .collect::<RawResult<_>>()?;
        sc.skip_ws();
        let (mode, outputs) = if sc.eat_keyword("outputnew", true).is_some() {
            (LookupOutput::OutputNew, pairs(sc, false)?)
        } else if let Some(kw) = sc.eat_keyword("output", true) {
            let o = pairs(sc, false)?;
            if o.is_empty() {
                return Err(RawError::syntax(
                    "OUTPUT needs fields",
                    kw,
                    "which columns?",
                ));
            }
            (LookupOutput::Output, o)
        } else {
            (LookupOutput::Output, Vec::new())
        };
        let outputs: Vec<(usize, Sym)> = if outputs.is_empty() {
            (0..table.columns().len())
                .filter(|c| !inputs.iter().any(|(i, _)| i == c))
                .map(|c| (c, Sym::new(&table.columns()[c])))
                .collect()
        } else {
            outputs
                .iter()
                .map(|(c, f)| Ok((column(c)?, Sym::new(&f.text))))
                .collect::<RawResult<_>>()?
        };
        Ok(Lookup {
            name: name.text,
            table,
            inputs,
            outputs,
            mode,
        })
    }

    fn apply(&self, row: &mut Row) -> u64 {
        let wanted: Vec<(usize, Sym)> = match self.mode {
            LookupOutput::Output => self.outputs.clone(),
            LookupOutput::OutputNew => self
                .outputs
                .iter()
                .filter(|(_, f)| row.get(*f).is_none_or(Value::is_null))
                .copied()
                .collect(),
        };
        if wanted.is_empty() {
            return 0;
        }
        // Every combination of the input fields' values.
        let mut combos: Vec<Vec<(usize, String)>> = vec![Vec::new()];
        let mut cut = 0;
        for (col, field) in &self.inputs {
            let values: Vec<String> = row
                .get(*field)
                .map(|v| v.texts().map(|t| t.into_owned()).collect())
                .unwrap_or_default();
            let mut next = Vec::new();
            for c in &combos {
                for v in &values {
                    if next.len() >= MAX_COMBINATIONS {
                        cut += 1;
                        break;
                    }
                    let mut c = c.clone();
                    c.push((*col, v.clone()));
                    next.push(c);
                }
            }
            combos = next;
        }
        let cols: Vec<usize> = wanted.iter().map(|(c, _)| *c).collect();
        let mut found: Vec<Vec<String>> = vec![Vec::new(); wanted.len()];
        let mut any = false;
        for combo in &combos {
            let inputs: Vec<(usize, &str)> = combo.iter().map(|(c, v)| (*c, v.as_str())).collect();
            if let Some(values) = self.table.find(&inputs, &cols) {
                any = true;
                for (slot, vs) in found.iter_mut().zip(values) {
                    slot.extend(vs);
                }
            }
        }
        if combos.is_empty() {
            // An input field has no value: the lookup is not performed.
            return cut;
        }
        for ((_, field), values) in wanted.iter().zip(found) {
            if any && !values.is_empty() {
                row.set(*field, Value::from_fields(values));
            } else {
                row.remove(*field);
            }
        }
        cut
    }
}

impl Command for Lookup {
    /// The outputs may differ exactly when a field the lookup reads may differ.
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        let Reads::Fields(reads) = self.reads() else {
            return None;
        };
        let agrees = !before.any_differ(&reads);
        let mut a = before.clone();
        for (_, out) in &self.outputs {
            a.computed(*out, agrees);
        }
        Some(a)
    }

    fn name(&self) -> &'static str {
        "lookup"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        let mut f: Vec<Sym> = self.inputs.iter().map(|(_, s)| *s).collect();
        if self.mode == LookupOutput::OutputNew {
            f.extend(self.outputs.iter().map(|(_, s)| *s));
        }
        Reads::Fields(f)
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let mut cut = 0;
        for row in rows.iter_mut() {
            cut += self.apply(row);
        }
        if cut > 0 {
            ctx.warn(format!(
                "lookup {}: rows with more than {MAX_COMBINATIONS} combinations of input values \
                 were looked up for the first {MAX_COMBINATIONS} only",
                self.name
            ));
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lookup {}", self.name)?;
        let cols = self.table.columns();
        for (c, s) in &self.inputs {
            write!(f, " {} as {s}", cols[*c])?;
        }
        f.write_str(match self.mode {
            LookupOutput::Output => " OUTPUT",
            LookupOutput::OutputNew => " OUTPUTNEW",
        })?;
        for (c, s) in &self.outputs {
            write!(f, " {} as {s}", cols[*c])?;
        }
        Ok(())
    }
}
