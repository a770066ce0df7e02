//! `xmlkv [<field>]` (Search Reference, "xmlkv"): extracts `<key>value</key>` pairs from an XML
//! field (`_raw` by default): every element without child elements sets the field of its name
//! to its text (unescaped, white space around it removed [inferred]); an element name found
//! several times gives a multivalue, in document order. Attributes are not extracted
//! [inferred]. A field that is not XML extracts nothing; malformed XML extracts what comes
//! before the error.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::xml::walk;
use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `xmlkv` command.
#[derive(Debug)]
pub struct XmlKv {
    field: Sym,
    hits: AtomicU64,
}

impl XmlKv {
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        let mut field = Sym::new("_raw");
        loop {
            if sc.at_end() {
                break;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "maxinputs" => {
                        args::integer(&v)?;
                    }
                    _ => return Err(args::unknown_option("xmlkv", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) => field = Sym::new(&f.text),
                None => return Err(args::unexpected(sc, "xmlkv", "expected a field")),
            }
        }
        Ok(XmlKv {
            field,
            hits: AtomicU64::new(0),
        })
    }
}

/// Sets fields (several values of one name make a multivalue), in order of first appearance;
/// returns how many names could not be interned (the symbol table is full).
pub(crate) fn set_all(row: &mut Row, found: Vec<(String, String)>) -> u64 {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in found {
        match grouped.iter_mut().find(|(n, _)| *n == k) {
            Some((_, vs)) => vs.push(v),
            None => grouped.push((k, vec![v])),
        }
    }
    let mut dropped = 0;
    for (k, vs) in grouped {
        match Sym::try_new(&k) {
            Ok(sym) => row.set(sym, Value::from_fields(vs)),
            Err(_) => dropped += 1,
        }
    }
    dropped
}

impl Command for XmlKv {
    fn name(&self) -> &'static str {
        "xmlkv"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(vec![self.field])
    }

    fn limit_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        for row in rows.iter_mut() {
            let Some(v) = row.get(self.field) else {
                continue;
            };
            let mut found = Vec::new();
            for text in v.texts() {
                for item in walk(&text) {
                    if item.attribute.is_none()
                        && let Some(name) = item.path.last()
                    {
                        found.push((name.clone(), item.value));
                    }
                }
            }
            self.hits.fetch_add(set_all(row, found), Ordering::Relaxed);
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "xmlkv {}", self.field)
    }
}
