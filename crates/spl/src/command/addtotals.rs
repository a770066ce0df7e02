//! `addtotals [row=true] [fieldname=<name>] [<field>…]` (Search Reference, "addtotals"): adds to
//! each row the sum of its numeric fields (the listed fields, wildcards allowed, or every field
//! without a list), under `fieldname` (`Total` by default). A multivalued field adds each of its
//! numeric values [inferred]. A row with no numeric field gets no total [inferred].
//! `col=true` (a summary row) is not supported.

use std::fmt;

use super::{Command, ExecCtx, ExecError, Glob, Kind, Reads, args};
use crate::agg::ExactSum;
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::{Value, parse_number};

/// The `addtotals` command.
#[derive(Debug, Clone)]
pub struct AddTotals {
    fieldname: Sym,
    fields: Vec<Glob>,
}

impl AddTotals {
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        let mut a = AddTotals {
            fieldname: Sym::new("Total"),
            fields: Vec::new(),
        };
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "fieldname" => a.fieldname = Sym::new(&v.text),
                    "row" if args::boolean(&v)? => {}
                    "col" if !args::boolean(&v)? => {}
                    "col" => {
                        return Err(RawError::unsupported("addtotals col=true", key.span));
                    }
                    _ => return Err(args::unknown_option("addtotals", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) => a.fields.push(Glob::new(&f.text)),
                None => return Err(args::unexpected(sc, "addtotals", "expected a field")),
            }
        }
        Ok(a)
    }
}

impl Command for AddTotals {
    fn name(&self) -> &'static str {
        "addtotals"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        if self.fields.is_empty() {
            Reads::All
        } else {
            super::reads_of(&self.fields)
        }
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        for row in rows.iter_mut() {
            let mut sum = ExactSum::default();
            let mut any = false;
            for (name, value) in row.cells() {
                if *name == self.fieldname {
                    continue;
                }
                if !self.fields.is_empty() && !self.fields.iter().any(|g| g.matches(name.as_str()))
                {
                    continue;
                }
                for t in value.texts() {
                    if let Some(x) = parse_number(&t).filter(|x| x.is_finite()) {
                        sum.add(x);
                        any = true;
                    }
                }
            }
            if any {
                row.set(self.fieldname, Value::num(sum.value()));
            }
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "addtotals fieldname={}", self.fieldname)?;
        for g in &self.fields {
            write!(f, " {}", g.text())?;
        }
        Ok(())
    }
}
