//! Search macros: definitions keyed by name and arity, and their textual expansion.
//!
//! Expansion happens before parsing (spec 1.9): every `` `name` `` or `` `name(a, b)` `` is
//! replaced by the definition of the macro with that name and number of arguments, `$param$`
//! placeholders substituted, and the result expanded again until no macro is left. SPL comments
//! (```` ```…``` ````) are removed in the same pass.

use std::collections::HashMap;
use std::ops::Range;

use crate::error::{RawError, RawResult, SplError};
use crate::srcmap::{Expanded, Origin, expansion_note};

/// One macro definition, as a `macros/*.yml` file or a `macros.conf` stanza gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The name without arity, e.g. `drop_dm_object_name`.
    pub name: String,
    /// Parameter names, in order; empty for a macro without arguments.
    pub args: Vec<String>,
    /// The body, with `$param$` placeholders.
    pub definition: String,
    /// Where the definition came from (a file name, `built-in`, `embedded`), for messages.
    pub origin: String,
}

/// A set of macros keyed by `(name, arity)`: `name` and `name(1)` are different macros.
/// Inserting a macro with the same key replaces the earlier one, so user overrides are
/// inserted last.
#[derive(Debug, Clone, Default)]
pub struct MacroSet {
    macros: HashMap<(String, usize), Macro>,
}

/// How deep macros may nest before expansion gives up.
const MAX_DEPTH: usize = 32;

/// How many macro invocations one search may expand in all. ESCU searches use a handful; the
/// budget exists because nesting alone does not bound the work: a macro that invokes the next
/// one twice doubles the expansion at each level (review finding Q1: 21 such lines took 21 s
/// and 2.85 GB).
const MAX_INVOCATIONS: usize = 10_000;

/// How long the expanded search may grow, in bytes (ESCU's longest expand to a few KiB).
const MAX_EXPANDED: usize = 1 << 20;

impl MacroSet {
    /// An empty set (without the built-in CIM macros).
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding the macros the CIM app ships that ESCU searches rely on:
    /// `drop_dm_object_name(1)` = `rename "$object$.*" as *`.
    pub fn with_builtins() -> Self {
        let mut set = Self::new();
        set.insert(Macro {
            name: "drop_dm_object_name".to_owned(),
            args: vec!["object".to_owned()],
            definition: r#"rename "$object$.*" as *"#.to_owned(),
            origin: "built-in".to_owned(),
        });
        set
    }

    /// Adds or replaces a macro.
    pub fn insert(&mut self, m: Macro) {
        self.macros.insert((m.name.clone(), m.args.len()), m);
    }

    /// The macro with this name and number of arguments.
    pub fn get(&self, name: &str, arity: usize) -> Option<&Macro> {
        self.macros.get(&(name.to_owned(), arity))
    }

    /// Number of macros.
    pub fn len(&self) -> usize {
        self.macros.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.macros.is_empty()
    }

    /// The macros, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Macro> {
        self.macros.values()
    }

    /// Expands every macro invocation in `search` and removes comments.
    ///
    /// An undefined macro is an error, `*_filter` ones included: the content layer defines a
    /// `search *` filter for every detection it loads (contentctl's default), so a filter name
    /// that matches no detection is a mistake worth reporting. Cycles, nesting deeper than 32
    /// levels, more than 10,000 invocations in all and an expansion longer than 1 MiB are errors
    /// naming the chain.
    pub fn expand(&self, search: &str) -> Result<Expanded, SplError> {
        let mut ex = Expander {
            set: self,
            original: search,
            out: Expanded::new(search),
            stack: Vec::new(),
            invocations: 0,
        };
        ex.expand_text(search, &Ctx::Written)?;
        Ok(ex.out)
    }

    /// Arities under which `name` is defined, sorted.
    fn arities(&self, name: &str) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .macros
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .collect();
        v.sort_unstable();
        v
    }
}

/// Where the text being expanded came from.
enum Ctx {
    /// The search as written.
    Written,
    /// The body of a macro: the outermost invocation's range in the search as written, the
    /// chain of macro names, and the body text itself (for messages).
    Macro {
        invocation: Range<usize>,
        chain: Vec<String>,
        body: String,
    },
}

struct Expander<'a> {
    set: &'a MacroSet,
    original: &'a str,
    out: Expanded,
    stack: Vec<(String, usize)>,
    /// Invocations expanded so far, against [`MAX_INVOCATIONS`].
    invocations: usize,
}

impl Expander<'_> {
    /// Expands `text` (the search as written, or a macro body) into `self.out`.
    ///
    /// Back-ticks inside double quotes start an invocation only when what follows is a
    /// well-formed one (`map search="search `m` …"` expands, `split(x, "`")` stays literal).
    fn expand_text(&mut self, text: &str, ctx: &Ctx) -> Result<(), SplError> {
        let bytes = text.as_bytes();
        let mut in_quotes = false;
        let mut copied = 0;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'"' => {
                    in_quotes = !in_quotes;
                    i += 1;
                    continue;
                }
                b'`' => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
            let tick = i;
            if !in_quotes && text.get(tick..).is_some_and(|r| r.starts_with("```")) {
                let Some(close) = text.get(tick + 3..).and_then(|r| r.find("```")) else {
                    let e = RawError::syntax(
                        "unterminated comment",
                        tick..text.len(),
                        "comment starts here",
                    )
                    .with_help("SPL comments are written ```like this```");
                    return Err(self.fail(e, ctx));
                };
                self.emit(text.get(copied..tick).unwrap_or(""), copied, ctx);
                // A comment separates what is around it.
                self.emit(" ", tick, ctx);
                i = tick + 3 + close + 3;
                copied = i;
                continue;
            }
            let close = text.get(tick + 1..).and_then(|r| r.find('`'));
            let Some(close) = close else {
                if in_quotes {
                    i += 1;
                    continue;
                }
                let e = RawError::macro_error(
                    "unterminated macro invocation",
                    tick..text.len(),
                    "this back-tick is never closed",
                );
                return Err(self.fail(e, ctx));
            };
            let end = tick + 1 + close;
            let content = text.get(tick + 1..end).unwrap_or("");
            let parsed = match parse_invocation(content, &(tick..end + 1)) {
                Ok(p) => p,
                Err(_) if in_quotes => {
                    i += 1;
                    continue;
                }
                Err(e) => return Err(self.fail(e, ctx)),
            };
            self.emit(text.get(copied..tick).unwrap_or(""), copied, ctx);
            self.invoke(parsed, tick..end + 1, ctx)?;
            i = end + 1;
            copied = i;
        }
        self.emit(text.get(copied..).unwrap_or(""), copied, ctx);
        Ok(())
    }

    fn emit(&mut self, s: &str, at: usize, ctx: &Ctx) {
        let origin = match ctx {
            Ctx::Written => Origin::Written(at),
            Ctx::Macro {
                invocation, chain, ..
            } => Origin::Macro {
                invocation: invocation.clone(),
                chain: chain.clone(),
            },
        };
        self.out.push(s, origin);
    }

    /// Expands one invocation (name and arguments) whose back-tick-delimited text is at `span`
    /// of the current text.
    fn invoke(
        &mut self,
        (name, args): (String, Vec<String>),
        span: Range<usize>,
        ctx: &Ctx,
    ) -> Result<(), SplError> {
        let key = (name.clone(), args.len());
        let display = display_name(&name, args.len());
        let body = match self.set.get(&name, args.len()) {
            Some(m) => substitute(&m.definition, &m.args, &args),
            None => {
                let mut e = RawError::macro_error(
                    format!("unknown macro `{display}`"),
                    span,
                    "no macro with this name and number of arguments",
                );
                let other = self.set.arities(&name);
                if !other.is_empty() {
                    let list: Vec<String> = other.iter().map(|&a| display_name(&name, a)).collect();
                    e = e.with_help(format!("defined: {}", list.join(", ")));
                }
                return Err(self.fail(e, ctx));
            }
        };
        self.invocations += 1;
        let over_budget = self.invocations > MAX_INVOCATIONS
            || self.out.text().len().saturating_add(body.len()) > MAX_EXPANDED;
        if self.stack.contains(&key) || self.stack.len() >= MAX_DEPTH || over_budget {
            let mut names: Vec<String> = self
                .stack
                .iter()
                .map(|(n, a)| display_name(n, *a))
                .collect();
            names.push(display.clone());
            let chain = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" → ");
            let what = if self.stack.contains(&key) {
                "macro cycle".to_owned()
            } else if self.stack.len() >= MAX_DEPTH {
                "macros nested too deeply".to_owned()
            } else if self.invocations > MAX_INVOCATIONS {
                format!("macro expansion over budget: more than {MAX_INVOCATIONS} invocations")
            } else {
                format!("macro expansion over budget: longer than {MAX_EXPANDED} bytes")
            };
            let e = RawError::macro_error(format!("{what}: {chain}"), span, "expanding this macro");
            return Err(self.fail(e, ctx));
        }
        let inner = match ctx {
            Ctx::Written => Ctx::Macro {
                invocation: span,
                chain: vec![display],
                body: body.clone(),
            },
            Ctx::Macro {
                invocation, chain, ..
            } => {
                let mut chain = chain.clone();
                chain.push(display);
                Ctx::Macro {
                    invocation: invocation.clone(),
                    chain,
                    body: body.clone(),
                }
            }
        };
        self.stack.push(key);
        self.expand_text(&body, &inner)?;
        self.stack.pop();
        Ok(())
    }

    /// Locates an error found in the current text in the search as written.
    fn fail(&self, e: RawError, ctx: &Ctx) -> SplError {
        match ctx {
            Ctx::Written => e.into_error(self.original),
            Ctx::Macro {
                invocation,
                chain,
                body,
            } => {
                let e = if e.help.is_none() {
                    let last = chain.last().map_or("", String::as_str);
                    e.with_help(format!("`{last}` expands to: {body}"))
                } else {
                    e
                };
                e.locate(
                    self.original,
                    invocation.clone(),
                    Some(expansion_note(chain)),
                    None,
                )
            }
        }
    }
}

/// `name` or `name(n)`.
fn display_name(name: &str, arity: usize) -> String {
    if arity == 0 {
        name.to_owned()
    } else {
        format!("{name}({arity})")
    }
}

/// Splits the text between the back-ticks into a name and its arguments.
fn parse_invocation(content: &str, span: &Range<usize>) -> RawResult<(String, Vec<String>)> {
    let trimmed = content.trim();
    let (name, args) = match trimmed.find('(') {
        None => (trimmed, Vec::new()),
        Some(open) => {
            let name = trimmed.get(..open).unwrap_or("").trim_end();
            let Some(inner) = trimmed.get(open + 1..).and_then(|r| r.strip_suffix(')')) else {
                return Err(RawError::macro_error(
                    "malformed macro invocation: the argument list must end with `)`",
                    span.clone(),
                    "in this invocation",
                ));
            };
            (name, split_args(inner))
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(RawError::macro_error(
            format!("malformed macro invocation `{trimmed}`"),
            span.clone(),
            "expected `name` or `name(arg, …)`",
        ));
    }
    Ok((name.to_owned(), args))
}

/// Splits macro arguments at top-level commas (outside double quotes and parentheses), trims
/// them, and strips one pair of enclosing double quotes. `()` has no arguments.
fn split_args(inner: &str) -> Vec<String> {
    if inner.trim().is_empty() {
        return Vec::new();
    }
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => in_quotes = !in_quotes,
            '(' if !in_quotes => depth += 1,
            ')' if !in_quotes => depth = depth.saturating_sub(1),
            ',' if !in_quotes && depth == 0 => {
                args.push(clean_arg(inner.get(start..i).unwrap_or("")));
                start = i + 1;
            }
            _ => {}
        }
    }
    args.push(clean_arg(inner.get(start..).unwrap_or("")));
    args
}

fn clean_arg(arg: &str) -> String {
    let t = arg.trim();
    match t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if t.len() >= 2 => inner.to_owned(),
        _ => t.to_owned(),
    }
}

/// Replaces every `$param$` in `definition` by the matching argument; other `$…$` text stays.
fn substitute(definition: &str, params: &[String], args: &[String]) -> String {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(i) = rest.find('$') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i + 1..).unwrap_or("");
        if let Some(j) = after.find('$') {
            let name = after.get(..j).unwrap_or("");
            if let Some(arg) = params
                .iter()
                .position(|p| p == name)
                .and_then(|k| args.get(k))
            {
                out.push_str(arg);
                rest = after.get(j + 1..).unwrap_or("");
                continue;
            }
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "macros_tests.rs"]
mod tests;
