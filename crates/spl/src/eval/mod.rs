//! The eval expression language of `eval`, `where`, `fillnull`-style commands and the add-ons'
//! `EVAL-x = …` calculated fields: arithmetic, string operations, comparisons and ~90 functions
//! over typed [`Value`]s.
//!
//! ```
//! use cimhunt_spl::eval::{EvalCtx, EvalExpr};
//! use cimhunt_spl::record::Record;
//! use cimhunt_spl::sym::Sym;
//! use cimhunt_spl::time::Timestamp;
//! use cimhunt_spl::value::Value;
//!
//! struct Event;
//! impl Record for Event {
//!     fn value(&self, field: Sym) -> Value<'_> {
//!         match field.as_str() {
//!             "Image" => Value::from_field(r"C:\Tools\nc64.exe"),
//!             "EventCode" => Value::from_field("1"),
//!             _ => Value::Null,
//!         }
//!     }
//! }
//!
//! let process_name = EvalExpr::parse(
//!     r#"case(EventCode IN ("1","7"), replace(Image,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)",""))"#,
//! )?;
//! let ctx = EvalCtx::new(Timestamp::from_nanos(0, 0));
//! assert_eq!(process_name.eval(&Event, &ctx).to_string(), "nc64.exe");
//! # Ok::<(), cimhunt_spl::SplError>(())
//! ```
//!
//! Key design decision: parse once, evaluate many times without allocating where Splunk's result
//! is a value that already exists. An expression is a tree whose regular expressions, `LIKE`
//! patterns, `IN` lists and time modifiers are compiled when it is parsed; evaluation returns
//! [`Value`]s that borrow from the record or the expression (`Cow`), so a `case` that returns a
//! field, a literal or a `replace` that matched nothing copies no text.
//!
//! Every rule, with the Splunk documentation page it comes from, is in `docs/spl-eval.md` and in
//! the doc comment of the module that implements it ([`compare`], `num`, `like`, `regex`, …).

mod ast;
mod cidr;
mod compare;
mod conv;
mod exec;
mod funcs;
mod lex;
mod like;
mod num;
pub mod origin;
mod parse;
mod printf;
mod regex;
mod set;
mod timefmt;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::tz::TimeZone;

use crate::error::{RawError, RawResult, SplError};
use crate::lexer::Scanner;
use crate::record::Record;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::Value;

pub use compare::{compare, equals};
pub use regex::{
    BACKTRACK_LIMIT, MAX_PATTERN, MEMO_SIZE, Regex, RegexAborted, RegexError, SIZE_LIMIT,
};

use self::regex::RegexCache;
use ast::{Func, Node};

/// A parsed eval expression, ready to evaluate against records.
///
/// It is `Send` and `Sync`: share one per search (or per add-on stanza) across threads.
pub struct EvalExpr {
    root: Node,
    fields: Vec<Sym>,
    uses_now: bool,
    state: State,
}

/// What evaluations of one expression share.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Computed regular expressions, compiled once.
    pub(crate) regexes: RegexCache,
    /// Evaluations that hit a limit (a regular expression that gave up, a multivalue too long).
    pub(crate) limit_hits: AtomicU64,
}

impl State {
    pub(crate) fn hit_limit(&self) {
        self.limit_hits.fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for EvalExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvalExpr")
            .field("root", &self.root)
            .field("fields", &self.fields)
            .field("uses_now", &self.uses_now)
            .finish_non_exhaustive()
    }
}

impl EvalExpr {
    /// Parses a whole eval expression, such as the value of an add-on's `EVAL-x = …` setting.
    /// Errors point into `text`.
    pub fn parse(text: &str) -> Result<EvalExpr, SplError> {
        Self::parse_all(text, false).map_err(|e| e.into_error(text))
    }

    /// [`EvalExpr::parse`], its literal regular expressions checked now and compiled when first
    /// used ([`Regex::deferred`]): for the add-ons' `EVAL-`s, most of which a run never
    /// evaluates.
    pub fn parse_deferred(text: &str) -> Result<EvalExpr, SplError> {
        Self::parse_all(text, true).map_err(|e| e.into_error(text))
    }

    fn parse_all(text: &str, deferred: bool) -> RawResult<EvalExpr> {
        let mut parser = parse::Parser::new(text, 0)?;
        if deferred {
            parser = parser.deferring_regexes();
        }
        let root = parser.expr()?;
        let next = parser.lookahead();
        if next.tok != lex::Tok::End {
            return Err(RawError::syntax(
                "unexpected text after the eval expression",
                next.span.clone(),
                "the expression ends before this",
            ));
        }
        Ok(EvalExpr::new(root))
    }

    /// Parses an expression from `sc`, stopping before a `,` or an unmatched `)` at the top level,
    /// or at the end of the command, which is what `eval a=…, b=…`, `where …` and
    /// `stats count(eval(…))` need. The scanner is left on the stopping character.
    #[allow(dead_code)] // The integrator's command parsers call it.
    pub(crate) fn parse_from(sc: &mut Scanner<'_>) -> RawResult<EvalExpr> {
        let base = sc.pos();
        let text = sc.rest();
        let mut parser = parse::Parser::new(text, base)?;
        let root = parser.expr()?;
        let next = parser.lookahead();
        match next.tok {
            lex::Tok::End | lex::Tok::Comma | lex::Tok::RParen => {}
            _ => {
                return Err(RawError::syntax(
                    "unexpected text after the eval expression",
                    next.span.clone(),
                    "expected `,`, `)` or the end of the command here",
                ));
            }
        }
        let stop = base + parser.consumed_before_lookahead(base);
        while sc.pos() < stop && sc.bump().is_some() {}
        Ok(EvalExpr::new(root))
    }

    fn new(root: Node) -> EvalExpr {
        let mut fields = Vec::new();
        let mut uses_now = false;
        root.walk(&mut |n| match n {
            Node::Field(s) if !fields.contains(s) => fields.push(*s),
            Node::Call(call) => {
                if let Func::MvFilter(s) = &call.func
                    && !fields.contains(s)
                {
                    fields.push(*s);
                }
                uses_now |= matches!(call.func, Func::Now | Func::Time);
            }
            _ => {}
        });
        EvalExpr {
            root,
            fields,
            uses_now,
            state: State::default(),
        }
    }

    /// The fields the expression reads, each once, in order of first appearance.
    pub fn fields(&self) -> impl Iterator<Item = Sym> + '_ {
        self.fields.iter().copied()
    }

    /// Whether the expression calls `now()` or `time()` (also inside `relative_time(now(), …)`),
    /// so that its result depends on [`EvalCtx::now`].
    pub fn uses_now(&self) -> bool {
        self.uses_now
    }

    /// Whether the expression yields a Boolean (a comparison, `AND`/`OR`/`NOT`, `LIKE`, `IN`,
    /// `match`, `isnull`, …). `where` needs one; `eval` cannot assign one (Search Reference, eval:
    /// "The result of an eval expression cannot be a Boolean").
    pub fn is_predicate(&self) -> bool {
        self.root.is_predicate()
    }

    /// Evaluates the expression against `rec`. The result borrows from `rec` and from the
    /// expression where it can.
    pub fn eval<'r>(&'r self, rec: &'r dyn Record, ctx: &EvalCtx) -> Value<'r> {
        let env = exec::Env {
            ctx,
            state: &self.state,
        };
        exec::eval(&self.root, rec, &env)
    }

    /// Whether the expression is true for `rec`: what `where` keeps. Null, false and non-Boolean
    /// results are not true.
    pub fn matches(&self, rec: &dyn Record, ctx: &EvalCtx) -> bool {
        matches!(self.eval(rec, ctx), Value::Bool(true))
    }

    /// How many evaluations so far hit a limit (a regular expression that gave up backtracking,
    /// a multivalue that would have been too long) and gave null instead. Callers report it, so
    /// that nothing is lost silently.
    pub fn limit_hits(&self) -> u64 {
        self.state.limit_hits.load(Ordering::Relaxed)
    }
}

/// What an evaluation needs beyond the record: the search's time, its time zone, and the seed
/// of `random()`.
#[derive(Debug)]
pub struct EvalCtx {
    now: Timestamp,
    tz: TimeZone,
    random: AtomicU64,
}

impl Clone for EvalCtx {
    fn clone(&self) -> Self {
        EvalCtx {
            now: self.now,
            tz: self.tz.clone(),
            random: AtomicU64::new(self.random.load(Ordering::Relaxed)),
        }
    }
}

impl EvalCtx {
    /// A context whose `now()` is `now`, in UTC, with `random()` seeded by `now`.
    pub fn new(now: Timestamp) -> EvalCtx {
        EvalCtx {
            now,
            tz: TimeZone::UTC,
            random: AtomicU64::new(now.as_nanos() as u64),
        }
    }

    /// The same context in time zone `tz` (for `strftime`, `strptime` and the calendar units of
    /// `relative_time`).
    pub fn with_time_zone(mut self, tz: TimeZone) -> EvalCtx {
        self.tz = tz;
        self
    }

    /// The same context with `random()` seeded by `seed`.
    pub fn with_random_seed(self, seed: u64) -> EvalCtx {
        self.random.store(seed, Ordering::Relaxed);
        self
    }

    /// The search's time: what `now()` returns.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The search's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The next pseudo-random number in 0 ..= 2^31 - 1 (SplitMix64 over a shared counter, so a
    /// single-threaded run with a fixed seed is reproducible).
    pub(crate) fn next_random(&self) -> u32 {
        let mut z = self
            .random
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 33) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    /// The literal `match(lower(x), …)` searches for without a regex, if any.
    fn lower_literal_of(text: &str) -> Option<Vec<u8>> {
        match &EvalExpr::parse(text).unwrap().root {
            Node::Call(call) => match &call.func {
                ast::Func::Match(_, lit) => lit.as_deref().map(<[u8]>::to_vec),
                _ => None,
            },
            _ => None,
        }
    }

    #[test]
    fn match_of_lower_with_a_plain_pattern_searches_without_a_regex() {
        let found = lower_literal_of(r#"match(lower(ScriptBlockText), "kerberos::ptt")"#);
        assert_eq!(found.as_deref(), Some(&b"kerberos::ptt"[..]));
        // A metacharacter, a subject other than `lower(…)`, or a computed pattern: the regex.
        assert_eq!(lower_literal_of(r#"match(lower(s), "system.net")"#), None);
        assert_eq!(lower_literal_of(r#"match(s, "mimikatz")"#), None);
        assert_eq!(lower_literal_of(r#"match(lower(s), p)"#), None);
        assert_eq!(lower_literal_of(r#"match(lower(s), "(?i)x")"#), None);
        // An upper-case letter: the general path, which never matches it in lower-case text.
        assert_eq!(
            lower_literal_of(r#"match(lower(s), "SEKURLSA::Pth")"#),
            None
        );
    }

    #[test]
    fn expressions_can_be_shared_across_threads() {
        assert_send_sync::<EvalExpr>();
        assert_send_sync::<EvalCtx>();
    }

    #[test]
    fn parse_from_a_scanner_stops_at_a_top_level_comma_or_parenthesis() {
        let cmd = r#"eval a=if(x IN ("p,q"), "y,z", 2) , b=lower(x)"#;
        let mut sc = Scanner::new(cmd, 0..cmd.len());
        while sc.peek() != Some('=') {
            sc.bump();
        }
        sc.bump();
        let a = EvalExpr::parse_from(&mut sc).unwrap();
        assert_eq!(sc.rest(), ", b=lower(x)");
        assert_eq!(a.fields().map(Sym::as_str).collect::<Vec<_>>(), ["x"]);
        sc.bump();
        sc.skip_ws();
        sc.bump();
        sc.bump();
        EvalExpr::parse_from(&mut sc).unwrap();
        assert!(sc.at_end());

        let stats = "count(eval(x > 1)) as n";
        let mut sc = Scanner::new(stats, 11..stats.len());
        let e = EvalExpr::parse_from(&mut sc).unwrap();
        assert!(e.is_predicate());
        assert_eq!(sc.rest(), ")) as n");
    }

    #[test]
    fn parse_from_reports_spans_in_the_whole_command() {
        let cmd = "where x = = 1";
        let mut sc = Scanner::new(cmd, 6..cmd.len());
        let err = EvalExpr::parse_from(&mut sc).unwrap_err();
        assert_eq!(err.span, 10..11);
        let err = EvalExpr::parse_from(&mut Scanner::new("x y", 0..3)).unwrap_err();
        assert_eq!(err.span, 2..3);
    }

    #[test]
    fn errors_point_at_the_culprit() {
        let e = EvalExpr::parse(r#"if(x, "a")"#).unwrap_err();
        assert!(e.message().contains("3 arguments"), "{e}");
        let e = EvalExpr::parse(r#"match(x, "(")"#).unwrap_err();
        assert_eq!(e.span(), 9..12);
        let e = EvalExpr::parse("nosuch(1)").unwrap_err();
        assert_eq!(e.span(), 0..6);
        let e = EvalExpr::parse("spath(_raw, \"a\")").unwrap_err();
        assert_eq!(e.unsupported_label(), Some("eval function `spath`"));
    }

    /// Parsing and evaluating the deepest accepted expressions, and refusing deeper ones, fit in
    /// a 2 MiB thread stack (Rust's default for spawned threads) even in debug builds.
    #[test]
    fn hostile_nesting_is_an_error_within_a_small_stack() {
        let run = || {
            let nest = |n: u32, open: &str, close: &str| {
                format!("{}1{}", open.repeat(n as usize), close.repeat(n as usize))
            };
            let ctx = EvalCtx::new(Timestamp::from_nanos(0, 0));
            struct Empty;
            impl Record for Empty {
                fn value(&self, _: Sym) -> Value<'_> {
                    Value::Null
                }
            }
            let limit = parse::MAX_DEPTH;
            for (open, close) in [
                ("(", ")"),
                ("abs(", ")"),
                ("-", ""),
                ("NOT ", ""),
                ("if(1=1,", ",0)"),
            ] {
                let ok = nest(limit - 2, open, close);
                let e = EvalExpr::parse(&ok).unwrap_or_else(|e| panic!("{open}: {e}"));
                e.eval(&Empty, &ctx);
                assert!(
                    EvalExpr::parse(&nest(limit * 3, open, close)).is_err(),
                    "{open}"
                );
            }
            let long_chain = vec!["1"; 5000].join("+");
            assert!(EvalExpr::parse(&long_chain).is_err());
            // Chains of AND/OR/XOR are flat, whatever their length.
            let long_or: Vec<String> = (0..2000).map(|i| format!("x={i}")).collect();
            let e = EvalExpr::parse(&long_or.join(" OR ")).unwrap();
            assert!(!e.matches(&Empty, &ctx));
            let e = EvalExpr::parse(&format!("{} OR 1=1", long_or.join(" or "))).unwrap();
            assert!(e.matches(&Empty, &ctx));
        };
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }
}
