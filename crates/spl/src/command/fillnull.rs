//! `fillnull [value=<string>] [<field>…]` (Search Reference, "fillnull"): gives a value (`0`
//! by default) to the listed fields where a row lacks them. Without a field list, the fields are
//! every field some row has ("null values are field values that are missing in a particular
//! result but present in another result"), so the command needs every row; a filled field that
//! a row lacked is added at the end of the row.

use std::fmt;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `fillnull` command.
#[derive(Debug, Clone)]
pub struct FillNull {
    value: String,
    fields: Vec<Sym>,
}

impl FillNull {
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        let mut f = FillNull {
            value: "0".to_owned(),
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
                    "value" => f.value = v.text,
                    _ => return Err(args::unknown_option("fillnull", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(n) => f.fields.push(Sym::new(&n.text)),
                None => return Err(args::unexpected(sc, "fillnull", "expected a field")),
            }
        }
        Ok(f)
    }
}

impl Command for FillNull {
    fn name(&self) -> &'static str {
        "fillnull"
    }

    fn kind(&self) -> Kind {
        if self.fields.is_empty() {
            Kind::Whole
        } else {
            Kind::Streaming
        }
    }

    fn reads(&self) -> Reads {
        if self.fields.is_empty() {
            Reads::All
        } else {
            Reads::Fields(self.fields.clone())
        }
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        let fields: Vec<Sym> = if self.fields.is_empty() {
            let mut all: Vec<Sym> = Vec::new();
            for row in rows.iter() {
                for n in row.names() {
                    if !all.contains(&n) {
                        all.push(n);
                    }
                }
            }
            all
        } else {
            self.fields.clone()
        };
        let value = Value::from_field(self.value.clone());
        for row in rows.iter_mut() {
            for f in &fields {
                if row.get(*f).is_none_or(Value::is_null) {
                    row.set(*f, value.clone());
                }
            }
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fillnull value={:?}", self.value)?;
        for field in &self.fields {
            write!(f, " {field}")?;
        }
        Ok(())
    }
}
