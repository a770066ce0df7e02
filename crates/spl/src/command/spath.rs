//! `spath [input=<field>] [output=<field>] [path=<path>]` (Search Reference, "spath"): extracts
//! fields from XML or JSON in a field (`_raw` by default).
//!
//! - XML: an element without child elements gives the field named by its path from the
//!   outermost element, names joined by `.` (`RuleAndFileData.PolicyName`); an attribute gives
//!   `<path>{@<name>}`. A path found several times gives a multivalue, in document order.
//! - JSON: object keys are joined by `.`; an array adds `{}` to its path (`a.b{}.c`); scalar
//!   values are fields (`true`/`false`/`null` as text [inferred]).
//! - `path=` keeps one path, stored under `output=` (default: the path).
//! - Only the first 5,000 bytes of the input are read (limits.conf `[spath]`
//!   `extraction_cutoff`).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::xml::walk;
use super::xmlkv::set_all;
use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;

/// How much of the input `spath` reads (Splunk's `extraction_cutoff`).
pub const EXTRACTION_CUTOFF: usize = 5000;

/// The `spath` command.
#[derive(Debug)]
pub struct Spath {
    input: Sym,
    output: Option<String>,
    path: Option<String>,
    hits: AtomicU64,
}

impl Spath {
    pub(crate) fn parse(sc: &mut Scanner<'_>) -> RawResult<Self> {
        let mut s = Spath {
            input: Sym::new("_raw"),
            output: None,
            path: None,
            hits: AtomicU64::new(0),
        };
        loop {
            if sc.at_end() {
                break;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.as_str() {
                    "input" => s.input = Sym::new(&v.text),
                    "output" => s.output = Some(v.text),
                    "path" => s.path = Some(v.text),
                    _ => return Err(args::unknown_option("spath", &key)),
                }
                continue;
            }
            // `spath <path>` is `spath path=<path>`.
            match args::field_name(sc)? {
                Some(p) if s.path.is_none() => s.path = Some(p.text),
                _ => return Err(args::unexpected(sc, "spath", "expected `input=` or a path")),
            }
        }
        Ok(s)
    }

    fn extract(&self, text: &str) -> Vec<(String, String)> {
        let mut cut = text.len().min(EXTRACTION_CUTOFF);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = &text[..cut];
        let trimmed = text.trim_start();
        let mut out = Vec::new();
        if trimmed.starts_with('<') {
            for item in walk(trimmed) {
                let mut name = item.path.join(".");
                if let Some(a) = item.attribute {
                    name = format!("{name}{{@{a}}}");
                }
                out.push((name, item.value));
            }
        } else if let Ok(json) = serde_json::from_str::<serde_json::Value>(trimmed) {
            json_paths(&json, String::new(), &mut out, 0);
        }
        if let Some(path) = &self.path {
            let output = self.output.clone().unwrap_or_else(|| path.clone());
            out = out
                .into_iter()
                .filter(|(n, _)| n == path)
                .map(|(_, v)| (output.clone(), v))
                .collect();
        }
        out
    }
}

fn json_paths(v: &serde_json::Value, path: String, out: &mut Vec<(String, String)>, depth: usize) {
    if depth > super::xml::MAX_DEPTH || out.len() >= super::xml::MAX_ITEMS {
        return;
    }
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                json_paths(v, p, out, depth + 1);
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                json_paths(v, format!("{path}{{}}"), out, depth + 1);
            }
        }
        serde_json::Value::String(s) => out.push((path, s.clone())),
        other => out.push((path, other.to_string())),
    }
}

impl Command for Spath {
    fn name(&self) -> &'static str {
        "spath"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        Reads::Fields(vec![self.input])
    }

    fn limit_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        for row in rows.iter_mut() {
            let Some(v) = row.get(self.input) else {
                continue;
            };
            let mut found = Vec::new();
            for text in v.texts() {
                found.extend(self.extract(&text));
            }
            self.hits.fetch_add(set_all(row, found), Ordering::Relaxed);
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "spath input={}", self.input)?;
        if let Some(p) = &self.path {
            write!(f, " path={p}")?;
        }
        if let Some(o) = &self.output {
            write!(f, " output={o}")?;
        }
        Ok(())
    }
}
