//! Helpers of the eval tests: a record built from pairs, evaluation to text, and access to the
//! shared reference material.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cimhunt_spl::eval::{EvalCtx, EvalExpr};
use cimhunt_spl::record::Record;
use cimhunt_spl::sym::Sym;
use cimhunt_spl::time::Timestamp;
use cimhunt_spl::value::Value;
use cimhunt_spl::{Macro, MacroSet};

/// An event: fields with one or more text values, typed as Splunk types field values.
#[derive(Debug, Default, Clone)]
pub struct Rec(HashMap<Sym, Vec<String>>);

impl Rec {
    /// A record with single-valued fields.
    pub fn new(pairs: &[(&str, &str)]) -> Rec {
        let mut r = Rec::default();
        for (k, v) in pairs {
            r.0.insert(Sym::new(k), vec![(*v).to_owned()]);
        }
        r
    }

    /// The first text of a field.
    pub fn text(&self, name: &str) -> &str {
        &self.0[&Sym::new(name)][0]
    }

    /// The record with a multivalued field.
    pub fn mv(mut self, name: &str, values: &[&str]) -> Rec {
        self.0.insert(
            Sym::new(name),
            values.iter().map(|v| (*v).to_owned()).collect(),
        );
        self
    }
}

impl Record for Rec {
    fn value(&self, field: Sym) -> Value<'_> {
        match self.0.get(&field) {
            None => Value::Null,
            Some(vs) => Value::from_fields(vs.iter().map(String::as_str)),
        }
    }
}

/// The context of the tests: now is 2020-10-08T11:03:46Z, in UTC.
pub fn ctx() -> EvalCtx {
    EvalCtx::new(Timestamp::parse_rfc3339("2020-10-08T11:03:46Z").expect("valid time"))
}

/// `expr` parsed, or a panic naming it.
pub fn parse(expr: &str) -> EvalExpr {
    EvalExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// The result of `expr` on `rec`, printed as Splunk shows a field (multivalues one per line);
/// `None` for null.
pub fn eval_on(expr: &str, rec: &Rec) -> Option<String> {
    let e = parse(expr);
    let ctx = ctx();
    let v = e.eval(rec, &ctx);
    (!v.is_null()).then(|| v.to_string())
}

/// The result of `expr` on an empty record.
pub fn eval0(expr: &str) -> Option<String> {
    eval_on(expr, &Rec::default())
}

/// Whether `where expr` keeps `rec`.
pub fn keeps(expr: &str, rec: &Rec) -> bool {
    parse(expr).matches(rec, &ctx())
}

/// `$CIMHUNT_SHARED`, else `<workspace root>/../shared`; panics when it is missing.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    assert!(
        dir.join("content/security_content").is_dir(),
        "the shared reference material is missing: {} has no content/security_content \
         (set CIMHUNT_SHARED or place it at ../shared next to the workspace)",
        dir.display()
    );
    dir
}

/// Every YAML file under `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect(dir, &mut out);
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

#[derive(serde::Deserialize)]
struct MacroFile {
    name: String,
    definition: String,
    #[serde(default)]
    arguments: Option<Vec<String>>,
}

/// ESCU's macros, plus the `<detection>_filter` macros contentctl generates.
pub fn escu_macros(content: &Path) -> MacroSet {
    let mut set = MacroSet::with_builtins();
    for path in yaml_files(&content.join("macros")) {
        let text = std::fs::read_to_string(&path).expect("macro file is readable");
        let m: MacroFile =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        set.insert(Macro {
            name: m.name,
            args: m.arguments.unwrap_or_default(),
            definition: m.definition,
            origin: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        });
    }
    for path in yaml_files(&content.join("detections")) {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        set.insert(Macro {
            name: format!("{stem}_filter"),
            args: Vec::new(),
            definition: "search *".to_owned(),
            origin: "generated".to_owned(),
        });
    }
    set
}

#[derive(serde::Deserialize)]
pub struct Detection {
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// The commands of a search: split at `|` outside double quotes and brackets (good enough for
/// tests).
pub fn split_pipes(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let (mut out, mut start, mut quote, mut depth, mut i) = (Vec::new(), 0, false, 0i32, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'"' => quote = !quote,
            b'[' if !quote => depth += 1,
            b']' if !quote => depth -= 1,
            b'|' if !quote && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

/// The assignments of an `eval` command: `(field, expression)` pairs split at top-level commas.
pub fn eval_assignments(args: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let b = args.as_bytes();
    let (mut start, mut dq, mut sq, mut depth, mut i) = (0, false, false, 0i32, 0);
    while i < b.len() {
        match b[i] {
            b'\\' if dq || sq => i += 1,
            b'"' if !sq => dq = !dq,
            b'\'' if !dq => sq = !sq,
            b'(' if !dq && !sq => depth += 1,
            b')' if !dq && !sq => depth -= 1,
            b',' if !dq && !sq && depth == 0 => {
                parts.push(&args[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&args[start..]);
    parts
        .into_iter()
        .filter_map(|p| {
            let p = p.trim();
            // The first `=` that is not part of `==`, outside quotes.
            let bytes = p.as_bytes();
            let (mut dq, mut sq) = (false, false);
            for (i, &c) in bytes.iter().enumerate() {
                match c {
                    b'"' if !sq => dq = !dq,
                    b'\'' if !dq => sq = !sq,
                    b'=' if !dq && !sq => {
                        if bytes.get(i + 1) == Some(&b'=') {
                            return None;
                        }
                        return Some((p[..i].trim().to_owned(), p[i + 1..].trim().to_owned()));
                    }
                    _ => {}
                }
            }
            None
        })
        .collect()
}
