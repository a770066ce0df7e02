//! `rex [field=<field>] [max_match=<n>] "<regex>"` and `rex [field=<field>] mode=sed
//! "<s/regex/replacement/flags | y/from/to/>"` (Search Reference, "rex").
//!
//! - The regular expression is PCRE ([`crate::eval::Regex`], with its limits) and reads the
//!   field (`_raw` by default); each named group (`(?<name>…)` or `(?P<name>…)`) that takes part
//!   in a match sets the field of its name. A field with several values is read value by value.
//! - `max_match` (default 1) is how many matches are taken; with more than one, a group's
//!   values from the successive matches make a multivalue. `max_match=0` means no limit
//!   (cimhunt stops at the `max_values` budget and counts the cut as a limit hit).
//! - A missing field, no match, or a group that takes no part in any match leaves the fields
//!   as they are.
//! - `mode=sed`: `s/regex/replacement/flags` replaces the first match, every match with flag
//!   `g`, or the `N`th with a number flag; `\1`…`\9` in the replacement are groups (`\0` and `&`
//!   the whole match). `y/abc/xyz/` replaces characters one for one. The delimiter is the
//!   character after `s` or `y`; it can be escaped with `\`.
//! - A match that hits the regular expression's backtracking limit gives no value, and is
//!   counted as a limit hit.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Agreement, Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::eval::Regex;
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `rex` command.
#[derive(Debug)]
pub struct Rex {
    field: Sym,
    text: String,
    op: RexOp,
    hits: AtomicU64,
}

#[derive(Debug)]
enum RexOp {
    Extract {
        regex: Arc<Regex>,
        /// Named groups: capture index and field.
        groups: Vec<(usize, Sym)>,
        /// 0: no limit.
        max_match: usize,
    },
    Substitute {
        regex: Arc<Regex>,
        replacement: String,
        /// `None`: every match (`g`); `Some(n)`: the nth (1-based).
        which: Option<usize>,
    },
    Transliterate(Vec<(char, char)>),
}

impl Rex {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut field = Sym::new("_raw");
        let mut max_match = 1usize;
        let mut sed = false;
        let mut pattern: Option<crate::lexer::Token> = None;
        loop {
            if sc.at_end() {
                break;
            }
            if sc.peek() == Some('"') {
                if pattern.is_some() {
                    return Err(args::unexpected(sc, "rex", "one regular expression only"));
                }
                pattern = Some(sc.quoted()?);
                continue;
            }
            let Some(key) = args::eat_key(sc) else {
                return Err(args::unexpected(
                    sc,
                    "rex",
                    "expected `field=`, `max_match=`, `mode=sed` or a quoted regular expression",
                ));
            };
            let v = args::value(sc, &key)?;
            match key.text.as_str() {
                "field" => field = Sym::new(&v.text),
                "max_match" => max_match = args::integer(&v)? as usize,
                "mode" if v.text.eq_ignore_ascii_case("sed") => sed = true,
                _ => return Err(args::unknown_option("rex", &key)),
            }
        }
        let Some(pattern) = pattern else {
            return Err(RawError::syntax(
                "rex needs a quoted regular expression",
                name_span,
                "nothing to extract",
            ));
        };
        let op = if sed {
            sed_op(&pattern)?
        } else {
            let regex = compile(&pattern.text, &pattern.span)?;
            let groups: Vec<(usize, Sym)> = regex
                .as_fancy()
                .capture_names()
                .enumerate()
                .filter_map(|(i, n)| n.map(|n| (i, Sym::new(n))))
                .collect();
            if groups.is_empty() {
                return Err(RawError::syntax(
                    "rex needs a named group, such as (?<name>…)",
                    pattern.span,
                    "no field to extract",
                ));
            }
            RexOp::Extract {
                regex,
                groups,
                max_match,
            }
        };
        Ok(Rex {
            field,
            text: pattern.text,
            op,
            hits: AtomicU64::new(0),
        })
    }

    fn apply(&self, row: &mut Row, ctx: &ExecCtx) {
        let Some(value) = row.get(self.field) else {
            return;
        };
        let texts: Vec<String> = value.texts().map(|t| t.into_owned()).collect();
        match &self.op {
            RexOp::Extract {
                regex,
                groups,
                max_match,
            } => {
                let limit = match *max_match {
                    0 => ctx.limits().max_values,
                    n => n,
                };
                let mut found: Vec<Vec<String>> = vec![Vec::new(); groups.len()];
                let mut matches = 0;
                'values: for text in &texts {
                    let mut pos = 0;
                    while pos <= text.len() {
                        if matches >= limit {
                            if *max_match == 0 {
                                self.hits.fetch_add(1, Ordering::Relaxed);
                            }
                            break 'values;
                        }
                        let caps = match regex.as_fancy().captures_from_pos(text, pos) {
                            Ok(Some(c)) => c,
                            Ok(None) => break,
                            Err(_) => {
                                self.hits.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        };
                        let Some(whole) = caps.get(0) else { break };
                        matches += 1;
                        for ((i, _), slot) in groups.iter().zip(found.iter_mut()) {
                            if let Some(m) = caps.get(*i) {
                                slot.push(m.as_str().to_owned());
                            }
                        }
                        pos = next_pos(text, whole.start(), whole.end());
                    }
                }
                for ((_, name), values) in groups.iter().zip(found) {
                    if !values.is_empty() {
                        row.set(*name, Value::from_fields(values));
                    }
                }
            }
            RexOp::Substitute {
                regex,
                replacement,
                which,
            } => {
                let mut out = Vec::with_capacity(texts.len());
                for text in &texts {
                    match substitute(regex, text, replacement, *which) {
                        Ok(s) => out.push(s),
                        Err(()) => {
                            self.hits.fetch_add(1, Ordering::Relaxed);
                            out.push(text.clone());
                        }
                    }
                }
                row.set(self.field, Value::from_fields(out));
            }
            RexOp::Transliterate(map) => {
                let out: Vec<String> = texts
                    .iter()
                    .map(|t| {
                        t.chars()
                            .map(|c| map.iter().find(|(a, _)| *a == c).map_or(c, |(_, b)| *b))
                            .collect()
                    })
                    .collect();
                row.set(self.field, Value::from_fields(out));
            }
        }
    }
}

/// Where to look for the next match after one at `start..end` (past an empty match by one
/// character).
fn next_pos(text: &str, start: usize, end: usize) -> usize {
    if end > start {
        end
    } else {
        end + text[end..].chars().next().map_or(1, char::len_utf8)
    }
}

fn compile(pattern: &str, span: &Range<usize>) -> RawResult<Arc<Regex>> {
    Regex::shared(pattern).map_err(|e| {
        RawError::syntax(
            format!("the regular expression does not compile: {e}"),
            span.clone(),
            "this regular expression",
        )
    })
}

/// Splits `s/a/b/g` at its unescaped delimiters (an escaped delimiter stands for itself).
fn sed_parts(body: &str, delim: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n == delim => parts.last_mut().unwrap_or(&mut String::new()).push(n),
                Some(n) => {
                    if let Some(p) = parts.last_mut() {
                        p.push('\\');
                        p.push(n);
                    }
                }
                None => {
                    if let Some(p) = parts.last_mut() {
                        p.push('\\');
                    }
                }
            }
        } else if c == delim {
            parts.push(String::new());
        } else if let Some(p) = parts.last_mut() {
            p.push(c);
        }
    }
    parts
}

fn sed_op(pattern: &crate::lexer::Token) -> RawResult<RexOp> {
    let bad = |why: &str| {
        RawError::syntax(
            format!("bad sed expression: {why}"),
            pattern.span.clone(),
            "expected s/regex/replacement/flags or y/from/to/",
        )
    };
    let mut chars = pattern.text.chars();
    let (Some(kind), Some(delim)) = (chars.next(), chars.next()) else {
        return Err(bad("too short"));
    };
    let parts = sed_parts(chars.as_str(), delim);
    match kind {
        's' => {
            let [re, replacement, flags] = parts.as_slice() else {
                return Err(bad("expected three parts"));
            };
            let which = if flags.contains('g') {
                None
            } else if flags.is_empty() {
                Some(1)
            } else {
                Some(
                    flags
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| bad("unknown flag"))?,
                )
            };
            Ok(RexOp::Substitute {
                regex: compile(re, &pattern.span)?,
                replacement: replacement.clone(),
                which,
            })
        }
        'y' => {
            let [from, to, rest] = parts.as_slice() else {
                return Err(bad("expected two parts"));
            };
            let (from, to): (Vec<char>, Vec<char>) = (from.chars().collect(), to.chars().collect());
            if from.len() != to.len() || !rest.is_empty() {
                return Err(bad("y needs two sets of the same length"));
            }
            Ok(RexOp::Transliterate(from.into_iter().zip(to).collect()))
        }
        _ => Err(bad("expected s or y")),
    }
}

/// `text` with the selected matches replaced; `Err` when the regular expression gave up.
fn substitute(
    regex: &Regex,
    text: &str,
    replacement: &str,
    which: Option<usize>,
) -> Result<String, ()> {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut pos = 0;
    let mut n = 0;
    while pos <= text.len() {
        let caps = match regex.as_fancy().captures_from_pos(text, pos) {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(_) => return Err(()),
        };
        let Some(whole) = caps.get(0) else { break };
        n += 1;
        if which.is_none_or(|w| w == n) {
            out.push_str(&text[copied..whole.start()]);
            expand(replacement, &caps, &mut out);
            copied = whole.end();
            if which.is_some() {
                break;
            }
        }
        pos = next_pos(text, whole.start(), whole.end());
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// Appends `replacement` with `\0`…`\9` and `&` standing for the groups.
fn expand(replacement: &str, caps: &fancy_regex::Captures<'_, str>, out: &mut String) {
    let mut chars = replacement.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let i = d as usize - '0' as usize;
                    out.push_str(caps.get(i).map_or("", |m| m.as_str()));
                }
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            '&' => out.push_str(caps.get(0).map_or("", |m| m.as_str())),
            c => out.push(c),
        }
    }
}

impl Command for Rex {
    /// An extracted field is set from the field read, or left as it was (no match, no such
    /// group): it agrees when both did. A rewrite (`mode=sed`) sets the field from itself
    /// alone, so it agrees as it did (though it may now be empty).
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        let source_agrees = !before.any_differ(&[self.field]);
        let mut a = before.clone();
        match &self.op {
            RexOp::Extract { groups, .. } => {
                for (_, out) in groups {
                    a.computed(*out, source_agrees && !before.any_differ(&[*out]));
                }
            }
            RexOp::Substitute { .. } | RexOp::Transliterate(_) => {
                a.computed(self.field, source_agrees);
            }
        }
        Some(a)
    }

    fn name(&self) -> &'static str {
        "rex"
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
        rows.iter_mut().for_each(|r| self.apply(r, ctx));
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rex field={}", self.field)?;
        match &self.op {
            RexOp::Extract { max_match, .. } => write!(f, " max_match={max_match}")?,
            _ => f.write_str(" mode=sed")?,
        }
        write!(f, " {:?}", self.text)
    }
}
