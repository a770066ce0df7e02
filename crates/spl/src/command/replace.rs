//! `replace <old> WITH <new>[, <old> WITH <new>]… [IN <field>…]` (Search Reference,
//! "replace"): replaces field values equal to `old` with `new`, in the listed fields (all fields
//! without `IN`). `*` in `old` matches any run of characters and each `*` in `new` is replaced
//! by what the corresponding `*` matched. The comparison is case-sensitive and the whole value
//! must match [inferred]. "Non-wildcard replacement values specified later take precedence over
//! those replacements specified earlier": a value is replaced by the last pair without wildcard
//! that equals it, else by the first wildcard pair that matches it. Each value of a multivalued
//! field is replaced on its own.

use std::fmt;
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Glob, Kind, Reads, args, substitute};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `replace` command.
#[derive(Debug, Clone)]
pub struct Replace {
    pairs: Vec<(Glob, String)>,
    fields: Vec<Glob>,
}

impl Replace {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut pairs = Vec::new();
        let mut fields = Vec::new();
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            if sc.eat_keyword("in", true).is_some() {
                loop {
                    if sc.at_end() {
                        break;
                    }
                    if sc.eat(',') {
                        continue;
                    }
                    match args::field_name(sc)? {
                        Some(f) => fields.push(Glob::new(&f.text)),
                        None => return Err(args::unexpected(sc, "replace", "expected a field")),
                    }
                }
                break;
            }
            let Some(old) = sc.value(true)? else {
                return Err(args::unexpected(sc, "replace", "expected a value"));
            };
            sc.skip_ws();
            let Some(kw) = sc.eat_keyword("with", true) else {
                return Err(RawError::syntax(
                    "expected `WITH`",
                    old.span,
                    "replace <old> WITH <new>",
                ));
            };
            sc.skip_ws();
            let Some(new) = sc.value(true)? else {
                return Err(RawError::syntax("missing value after WITH", kw, "here"));
            };
            pairs.push((Glob::new(&old.text), new.text));
        }
        if pairs.is_empty() {
            return Err(RawError::syntax(
                "replace needs `<old> WITH <new>`",
                name_span,
                "nothing to replace",
            ));
        }
        Ok(Replace { pairs, fields })
    }

    fn replacement(&self, value: &str) -> Option<String> {
        if let Some((_, new)) = self
            .pairs
            .iter()
            .rev()
            .find(|(g, _)| !g.has_wildcard() && g.text() == value)
        {
            return Some(new.clone());
        }
        self.pairs.iter().find_map(|(g, new)| {
            g.has_wildcard()
                .then(|| g.captures(value))
                .flatten()
                .map(|caps| substitute(new, &caps))
        })
    }
}

impl Command for Replace {
    fn name(&self) -> &'static str {
        "replace"
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
            let names: Vec<Sym> = row
                .names()
                .filter(|n| {
                    self.fields.is_empty() || self.fields.iter().any(|g| g.matches(n.as_str()))
                })
                .collect();
            for name in names {
                let Some(value) = row.get(name) else { continue };
                let mut changed = false;
                let new: Vec<String> = value
                    .texts()
                    .map(|t| match self.replacement(&t) {
                        Some(r) => {
                            changed = true;
                            r
                        }
                        None => t.into_owned(),
                    })
                    .collect();
                if changed {
                    row.set(name, Value::from_fields(new));
                }
            }
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("replace")?;
        for (i, (old, new)) in self.pairs.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{:?} WITH {new:?}", old.text())?;
        }
        if !self.fields.is_empty() {
            f.write_str(" IN")?;
            for g in &self.fields {
                write!(f, " {}", g.text())?;
            }
        }
        Ok(())
    }
}
