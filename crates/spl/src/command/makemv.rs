//! `makemv [delim=<string>|tokenizer=<regex>] [allowempty=<bool>] <field>` (Search Reference,
//! "makemv"): splits a field's value into a multivalue, at `delim` (a single space by default),
//! or as the successive matches of `tokenizer` (its first capturing group, or the whole match
//! without one). Empty values are dropped unless `allowempty=true`.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::eval::Regex;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

#[derive(Debug)]
enum Split {
    Delim(String),
    Tokenizer(Regex),
}

/// The `makemv` command.
#[derive(Debug)]
pub struct MakeMv {
    field: Sym,
    split: Split,
    text: String,
    allowempty: bool,
    hits: AtomicU64,
}

impl MakeMv {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut field = None;
        let mut split = Split::Delim(" ".to_owned());
        let mut text = "delim=\" \"".to_owned();
        let mut allowempty = false;
        loop {
            if sc.at_end() {
                break;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "delim" => {
                        text = format!("delim={:?}", v.text);
                        split = Split::Delim(v.text);
                    }
                    "tokenizer" => {
                        text = format!("tokenizer={:?}", v.text);
                        split = Split::Tokenizer(Regex::new(&v.text).map_err(|e| {
                            RawError::syntax(
                                format!("the tokenizer does not compile: {e}"),
                                v.span.clone(),
                                "this regular expression",
                            )
                        })?);
                    }
                    "allowempty" => allowempty = args::boolean(&v)?,
                    "setsv" if !args::boolean(&v)? => {}
                    _ => return Err(args::unknown_option("makemv", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) if field.is_none() => field = Some(Sym::new(&f.text)),
                _ => return Err(args::unexpected(sc, "makemv", "expected one field")),
            }
        }
        let Some(field) = field else {
            return Err(RawError::syntax(
                "makemv needs a field",
                name_span,
                "which field?",
            ));
        };
        Ok(MakeMv {
            field,
            split,
            text,
            allowempty,
            hits: AtomicU64::new(0),
        })
    }

    fn pieces(&self, text: &str, max: usize) -> Vec<String> {
        let mut out: Vec<String> = match &self.split {
            Split::Delim(d) if d.is_empty() => vec![text.to_owned()],
            Split::Delim(d) => text.split(d.as_str()).map(str::to_owned).collect(),
            Split::Tokenizer(re) => {
                let mut v = Vec::new();
                let mut pos = 0;
                while pos <= text.len() && v.len() < max {
                    let caps = match re.as_fancy().captures_from_pos(text, pos) {
                        Ok(Some(c)) => c,
                        Ok(None) => break,
                        Err(_) => {
                            self.hits.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    };
                    let Some(whole) = caps.get(0) else { break };
                    let m = caps.get(1).unwrap_or(whole);
                    v.push(m.as_str().to_owned());
                    pos = if whole.end() > whole.start() {
                        whole.end()
                    } else {
                        whole.end() + text[whole.end()..].chars().next().map_or(1, char::len_utf8)
                    };
                }
                v
            }
        };
        if !self.allowempty {
            out.retain(|s| !s.is_empty());
        }
        out
    }
}

impl Command for MakeMv {
    fn name(&self) -> &'static str {
        "makemv"
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

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let max = ctx.limits().max_values;
        for row in rows.iter_mut() {
            let Some(v) = row.get(self.field) else {
                continue;
            };
            let mut values = Vec::new();
            for t in v.texts() {
                values.extend(self.pieces(&t, max));
            }
            if values.len() > max {
                self.hits.fetch_add(1, Ordering::Relaxed);
                values.truncate(max);
            }
            let new = Value::from_fields(values);
            if new.is_null() {
                row.remove(self.field);
            } else {
                row.set(self.field, new);
            }
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "makemv {} {}", self.text, self.field)?;
        if self.allowempty {
            f.write_str(" allowempty=true")?;
        }
        Ok(())
    }
}
