//! `dedup [N] <field>… [keepempty=bool] [consecutive=bool]` (Search Reference, "dedup"): keeps
//! the first `N` rows (1 by default) of each combination of the fields' values, in input order.
//! A row missing one of the fields is removed, unless `keepempty=true` keeps it. A multivalued
//! field compares all its values, in order [inferred]. With `consecutive=true`, only runs of
//! consecutive rows with the same values are reduced.

use hashbrown::HashMap;
use std::fmt;
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;

/// The `dedup` command.
#[derive(Debug, Clone)]
pub struct Dedup {
    keep: usize,
    fields: Vec<Sym>,
    keepempty: bool,
    consecutive: bool,
}

impl Dedup {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut d = Dedup {
            keep: 1,
            fields: Vec::new(),
            keepempty: false,
            consecutive: false,
        };
        sc.skip_ws();
        let rest = sc.rest();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(char::is_whitespace) {
            let n: usize = rest[..digits].parse().unwrap_or(1);
            d.keep = n.max(1);
            for _ in 0..digits {
                sc.bump();
            }
        }
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            if sc.at_keyword("sortby", true) {
                return Err(RawError::unsupported("dedup sortby", name_span));
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "keepempty" => d.keepempty = args::boolean(&v)?,
                    "consecutive" => d.consecutive = args::boolean(&v)?,
                    "keepevents" if !args::boolean(&v)? => {}
                    _ => return Err(args::unknown_option("dedup", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) => d.fields.push(Sym::new(&f.text)),
                None => return Err(args::unexpected(sc, "dedup", "expected a field")),
            }
        }
        if d.fields.is_empty() {
            return Err(RawError::syntax(
                "dedup needs a field",
                name_span,
                "deduplicate on what?",
            ));
        }
        Ok(d)
    }

    fn key(&self, row: &Row) -> Option<Vec<String>> {
        self.fields
            .iter()
            .map(|f| {
                let v = row.get(*f)?;
                (!v.is_null()).then(|| v.to_string())
            })
            .collect()
    }
}

impl Command for Dedup {
    fn name(&self) -> &'static str {
        "dedup"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::Fields(self.fields.clone())
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
        let mut previous: Option<(Vec<String>, usize)> = None;
        rows.retain(|row| {
            let Some(key) = self.key(row) else {
                return self.keepempty;
            };
            if self.consecutive {
                let n = match &previous {
                    Some((k, n)) if *k == key => n + 1,
                    _ => 1,
                };
                previous = Some((key, n));
                return n <= self.keep;
            }
            let n = seen.entry(key).or_insert(0);
            *n += 1;
            *n <= self.keep
        });
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dedup {}", self.keep)?;
        for field in &self.fields {
            write!(f, " {field}")?;
        }
        if self.keepempty {
            f.write_str(" keepempty=true")?;
        }
        if self.consecutive {
            f.write_str(" consecutive=true")?;
        }
        Ok(())
    }
}
