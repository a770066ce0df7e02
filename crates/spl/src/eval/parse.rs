//! The eval parser: recursive descent with conventional precedence.
//!
//! Precedence, from loosest to tightest (Search Reference, eval, "Operators" and "Boolean
//! expressions"; Search Manual, "Boolean expressions with logical operators": "The eval and where
//! commands evaluate AND before OR", in the order parentheses, NOT, AND, OR, XOR):
//!
//! | level | operators | associativity |
//! |---|---|---|
//! | 1 | `XOR` | left |
//! | 2 | `OR` | left |
//! | 3 | `AND` | left |
//! | 4 | `NOT`, `!` (prefix) | right |
//! | 5 | `=` `==` `!=` `<` `<=` `>` `>=` `LIKE` `IN (…)` | left |
//! | 6 | `+` `-` `.` | left |
//! | 7 | `*` `/` `%` | left |
//! | 8 | unary `-` | right |
//! | 9 | literals, fields, `( … )`, function calls | — |
//!
//! Levels 5 to 9 are not spelled out by Splunk's documentation: they are the conventional order
//! the Search Reference's examples assume (`pi() * pow(radius_a, 2) + …`, `mvcount(…) - 1`,
//! `first_name." ".last_name`) [inferred]. `NOT a = b` is `NOT (a = b)`.
//!
//! Every literal argument that can be compiled is compiled here: regular expressions of
//! `match`, `replace` and `mvfind`, `LIKE` patterns, `IN` lists of literals, and the time modifier
//! of `relative_time`. A literal that does not compile is a syntax error at its span.

use std::sync::Arc;

use crate::error::{RawError, RawResult};
use crate::sym::Sym;
use crate::time::TimeModifier;
use crate::value::Value;

use super::ast::{BinOp, Call, Func, InList, LogicOp, Node, Pattern, Trig};
use super::lex::{Lexer, Tok, Token};
use super::like::LikePattern;
use super::regex::Regex;
use super::set::LiteralSet;

/// How deeply expressions may nest. Evaluation recurses on the tree, so its depth is bounded to
/// keep hostile input from exhausting the stack.
pub(crate) const MAX_DEPTH: u32 = 64;

/// Binding strength of binary operators, loosest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    Xor,
    Or,
    And,
    Cmp,
    Add,
    Mul,
    Unary,
}

impl Prec {
    /// The next tighter level (the right operand of a left-associative operator).
    fn tighter(self) -> Prec {
        match self {
            Prec::Xor => Prec::Or,
            Prec::Or => Prec::And,
            Prec::And => Prec::Cmp,
            Prec::Cmp => Prec::Add,
            Prec::Add => Prec::Mul,
            Prec::Mul | Prec::Unary => Prec::Unary,
        }
    }
}

/// A binary operator as the parser sees it.
#[derive(Debug, Clone, Copy)]
enum Op {
    Bin(BinOp),
    Logic(LogicOp),
    Like,
    In,
}

/// A parsed node and the depth of its tree.
struct P {
    node: Node,
    depth: u32,
}

/// The parser over one expression's tokens.
pub(crate) struct Parser<'a> {
    lx: Lexer<'a>,
    look: Token,
    /// How deeply the parser has recursed (parentheses, arguments, prefix operators): bounded
    /// before recursing, so that the parser's own stack is bounded too.
    nesting: u32,
    /// Literal regular expressions are compiled when first used ([`Regex::deferred`]).
    deferred: bool,
}

impl<'a> Parser<'a> {
    /// A parser over `text`, whose first byte is at `base` in the source spans refer to.
    pub(crate) fn new(text: &'a str, base: usize) -> RawResult<Self> {
        let mut lx = Lexer::new(text, base);
        let look = lx.next()?;
        Ok(Parser {
            lx,
            look,
            nesting: 0,
            deferred: false,
        })
    }

    /// Compiles literal regular expressions when first used, not while parsing.
    pub(crate) fn deferring_regexes(mut self) -> Self {
        self.deferred = true;
        self
    }

    /// The token after the parsed expression (not consumed).
    pub(crate) fn lookahead(&self) -> &Token {
        &self.look
    }

    /// Bytes of the text before the lookahead token.
    pub(crate) fn consumed_before_lookahead(&self, base: usize) -> usize {
        self.look
            .span
            .start
            .saturating_sub(base)
            .min(self.lx.consumed())
    }

    fn advance(&mut self) -> RawResult<Token> {
        let next = self.lx.next()?;
        Ok(std::mem::replace(&mut self.look, next))
    }

    fn error<T>(&self, message: impl Into<String>, label: &str) -> RawResult<T> {
        Err(RawError::syntax(message, self.look.span.clone(), label))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> RawResult<Token> {
        if self.look.tok == tok {
            self.advance()
        } else {
            self.error(format!("expected {what}"), "here")
        }
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.look.keyword() == Some(kw)
    }

    /// Parses a whole expression (the loosest level).
    pub(crate) fn expr(&mut self) -> RawResult<Node> {
        Ok(self.xor()?.node)
    }

    /// A whole expression, one nesting level deeper (parentheses, arguments, list items).
    fn xor(&mut self) -> RawResult<P> {
        self.nested(|p| p.binary(Prec::Xor))
    }

    /// Runs `f` one recursion level deeper, or fails when that is too deep.
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> RawResult<P>) -> RawResult<P> {
        if self.nesting >= MAX_DEPTH {
            return self.error(
                format!("eval expression nested more than {MAX_DEPTH} levels deep"),
                "too deep",
            );
        }
        self.nesting += 1;
        let result = f(self);
        self.nesting -= 1;
        result
    }

    /// The binary operator at the lookahead, with its precedence.
    fn operator(&self) -> Option<(Prec, Op)> {
        Some(match &self.look.tok {
            Tok::Eq => (Prec::Cmp, Op::Bin(BinOp::Eq)),
            Tok::Ne => (Prec::Cmp, Op::Bin(BinOp::Ne)),
            Tok::Lt => (Prec::Cmp, Op::Bin(BinOp::Lt)),
            Tok::Le => (Prec::Cmp, Op::Bin(BinOp::Le)),
            Tok::Gt => (Prec::Cmp, Op::Bin(BinOp::Gt)),
            Tok::Ge => (Prec::Cmp, Op::Bin(BinOp::Ge)),
            Tok::Plus => (Prec::Add, Op::Bin(BinOp::Add)),
            Tok::Minus => (Prec::Add, Op::Bin(BinOp::Sub)),
            Tok::Dot => (Prec::Add, Op::Bin(BinOp::Concat)),
            Tok::Star => (Prec::Mul, Op::Bin(BinOp::Mul)),
            Tok::Slash => (Prec::Mul, Op::Bin(BinOp::Div)),
            Tok::Percent => (Prec::Mul, Op::Bin(BinOp::Mod)),
            _ => match self.look.keyword()? {
                "XOR" => (Prec::Xor, Op::Logic(LogicOp::Xor)),
                "OR" => (Prec::Or, Op::Logic(LogicOp::Or)),
                "AND" => (Prec::And, Op::Logic(LogicOp::And)),
                "LIKE" => (Prec::Cmp, Op::Like),
                "IN" => (Prec::Cmp, Op::In),
                _ => return None,
            },
        })
    }

    /// Precedence climbing: operands and the operators binding at least as tightly as `min`,
    /// left-associative.
    fn binary(&mut self, min: Prec) -> RawResult<P> {
        let mut left = self.prefix(min)?;
        while let Some((prec, op)) = self.operator() {
            if prec < min {
                break;
            }
            self.advance()?;
            left = match op {
                Op::In => {
                    self.expect(Tok::LParen, "`(` after IN")?;
                    let (items, depth) = self.list()?;
                    self.expect(Tok::RParen, "`)` closing the IN list")?;
                    self.in_list(left, items, depth)?
                }
                Op::Like => {
                    let pattern = self.binary(prec.tighter())?;
                    self.like(left, pattern)?
                }
                Op::Bin(op) => {
                    let right = self.binary(prec.tighter())?;
                    self.combine(left, right, |a, b| Node::Bin(op, Box::new(a), Box::new(b)))?
                }
                Op::Logic(op) => {
                    let right = self.binary(prec.tighter())?;
                    match left {
                        // Extend a chain of the same operator.
                        P {
                            node: Node::Logic(o, mut items),
                            depth,
                        } if o == op => {
                            let depth = depth.max(right.depth + 1);
                            items.push(right.node);
                            P {
                                node: Node::Logic(op, items),
                                depth,
                            }
                        }
                        left => self.combine(left, right, |a, b| Node::Logic(op, vec![a, b]))?,
                    }
                }
            };
        }
        Ok(left)
    }

    /// An operand: `NOT x` (which takes a comparison when it stands where one may), `-x`, or a
    /// primary.
    fn prefix(&mut self, min: Prec) -> RawResult<P> {
        if (self.at_keyword("NOT") || self.look.tok == Tok::Bang) && min <= Prec::Cmp {
            self.advance()?;
            let inner = self.nested(|p| p.binary(Prec::Cmp))?;
            return self.deeper(inner.depth, Node::Not(Box::new(inner.node)));
        }
        match self.look.tok {
            Tok::Minus => {
                self.advance()?;
                let inner = self.nested(|p| p.prefix(Prec::Unary))?;
                // A negative literal stays a literal, with its text.
                if let Node::Lit(Value::Num(n)) = &inner.node {
                    let text = format!("-{}", n.text());
                    let value = -n.get();
                    return Ok(P {
                        node: Node::Lit(Value::Num(crate::value::Number::with_text(
                            value,
                            text.into(),
                        ))),
                        depth: inner.depth,
                    });
                }
                self.deeper(inner.depth, Node::Neg(Box::new(inner.node)))
            }
            Tok::Plus => {
                self.advance()?;
                self.nested(|p| p.prefix(Prec::Unary))
            }
            _ => self.primary(),
        }
    }

    fn combine(&self, a: P, b: P, f: impl FnOnce(Node, Node) -> Node) -> RawResult<P> {
        self.deeper(a.depth.max(b.depth), f(a.node, b.node))
    }

    fn deeper(&self, depth: u32, node: Node) -> RawResult<P> {
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return self.error(
                format!("eval expression nested more than {MAX_DEPTH} levels deep"),
                "too deep",
            );
        }
        Ok(P { node, depth })
    }

    fn like(&self, subject: P, pattern: P) -> RawResult<P> {
        let depth = subject.depth.max(pattern.depth);
        let pattern = match pattern.node {
            Node::Lit(Value::Str(s)) => Pattern::Fixed(Arc::new(LikePattern::new(&s))),
            other => Pattern::Dynamic(Box::new(other)),
        };
        self.deeper(depth, Node::Like(Box::new(subject.node), pattern))
    }

    fn in_list(&self, subject: P, items: Vec<Node>, depth: u32) -> RawResult<P> {
        let set = LiteralSet::from_nodes(&items);
        self.deeper(
            subject.depth.max(depth),
            Node::In(Box::new(subject.node), InList { items, set }),
        )
    }

    /// A comma-separated list of expressions (at least one), and the deepest of them.
    fn list(&mut self) -> RawResult<(Vec<Node>, u32)> {
        let mut items = Vec::new();
        let mut depth = 0;
        loop {
            let item = self.xor()?;
            depth = depth.max(item.depth);
            items.push(item.node);
            if self.look.tok != Tok::Comma {
                return Ok((items, depth));
            }
            self.advance()?;
        }
    }

    fn primary(&mut self) -> RawResult<P> {
        let leaf = |node| Ok(P { node, depth: 1 });
        match self.look.tok.clone() {
            Tok::Num(value, text) => {
                self.advance()?;
                leaf(Node::Lit(Value::Num(crate::value::Number::with_text(
                    value,
                    text.into(),
                ))))
            }
            Tok::Str(s) => {
                self.advance()?;
                leaf(Node::Lit(Value::Str(s.into())))
            }
            Tok::Quoted(name) => {
                let span = self.advance()?.span;
                leaf(Node::Field(intern(&name, span)?))
            }
            Tok::LParen => {
                self.advance()?;
                let inner = self.xor()?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::Word(word) => {
                let keyword = self.look.keyword();
                let token = self.advance()?;
                let is_call = self.look.tok == Tok::LParen;
                match keyword {
                    // `like(…)` and `in(…)` are functions as well as operators.
                    Some("LIKE" | "IN") if is_call => self.call(&word, token),
                    Some(_) => Err(RawError::syntax(
                        format!("expected a value, found the keyword `{word}`"),
                        token.span,
                        "a value must come first",
                    )),
                    None if is_call => self.call(&word, token),
                    None => leaf(Node::Field(intern(&word, token.span)?)),
                }
            }
            Tok::End => self.error("expected a value, found the end of the expression", "here"),
            _ => self.error("expected a value", "here"),
        }
    }

    /// A function call; `name` has been read and the lookahead is `(`.
    fn call(&mut self, name: &str, name_token: Token) -> RawResult<P> {
        let lower = name.to_ascii_lowercase();
        let Some(entry) = lookup(&lower) else {
            if UNSUPPORTED.contains(&lower.as_str()) {
                return Err(RawError::unsupported(
                    format!("eval function `{lower}`"),
                    name_token.span,
                ));
            }
            return Err(RawError::syntax(
                format!("unknown eval function `{name}`"),
                name_token.span,
                "not an eval function",
            ));
        };
        self.advance()?;
        let mut args = Vec::new();
        let mut spans = Vec::new();
        let mut depth = 0;
        if self.look.tok != Tok::RParen {
            loop {
                let start = self.look.span.start;
                let arg = self.xor()?;
                spans.push(start..self.look.span.start.max(start));
                depth = depth.max(arg.depth);
                args.push(arg.node);
                if self.look.tok != Tok::Comma {
                    break;
                }
                self.advance()?;
            }
        }
        let close = self.expect(Tok::RParen, "`)` closing the function call")?;
        let call_span = name_token.span.start..close.span.end;
        let given = args.len();
        let arity_error = |expected: &str| {
            Err(RawError::syntax(
                format!("`{lower}` takes {expected}, not {given}"),
                call_span.clone(),
                "wrong number of arguments",
            ))
        };
        if args.len() < entry.min || args.len() > entry.max {
            let expected = match (entry.min, entry.max) {
                (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
                (a, usize::MAX) => format!("at least {a} arguments"),
                (a, b) => format!("{a} to {b} arguments"),
            };
            return arity_error(&expected);
        }
        if entry.pairs && args.len() % 2 != 0 {
            return arity_error("pairs of arguments");
        }
        let node = match entry.kind {
            Kind::Like => {
                let mut it = args.into_iter();
                let (Some(subject), Some(pattern)) = (it.next(), it.next()) else {
                    return arity_error("2 arguments");
                };
                return self.like(
                    P {
                        node: subject,
                        depth,
                    },
                    P {
                        node: pattern,
                        depth,
                    },
                );
            }
            Kind::In => {
                let mut it = args.into_iter();
                let Some(subject) = it.next() else {
                    return arity_error("at least 2 arguments");
                };
                return self.in_list(
                    P {
                        node: subject,
                        depth,
                    },
                    it.collect(),
                    depth,
                );
            }
            Kind::Lit(v) => {
                return Ok(P {
                    node: Node::Lit(v),
                    depth: 1,
                });
            }
            Kind::MvFilter => {
                let fields = fields_of(args.first());
                let [field] = fields.as_slice() else {
                    return Err(RawError::syntax(
                        format!(
                            "the predicate of `mvfilter` must read exactly one field, not {}",
                            fields.len()
                        ),
                        call_span,
                        "must read exactly one field",
                    ));
                };
                Node::Call(Box::new(Call {
                    func: Func::MvFilter(*field),
                    args,
                }))
            }
            Kind::Func(f) => {
                let func = self.compile(f, &args, &spans)?;
                Node::Call(Box::new(Call { func, args }))
            }
        };
        self.deeper(depth, node)
    }

    /// The function with what it compiles from its literal arguments.
    fn compile(&self, f: Func, args: &[Node], spans: &[std::ops::Range<usize>]) -> RawResult<Func> {
        let regex_at = |i: usize| -> RawResult<Option<Arc<Regex>>> {
            match args.get(i) {
                Some(Node::Lit(Value::Str(pattern))) => {
                    let shared = if self.deferred {
                        Regex::shared_deferred(pattern)
                    } else {
                        Regex::shared(pattern)
                    };
                    shared.map(Some).map_err(|e| {
                        RawError::syntax(
                            e.to_string(),
                            spans.get(i).cloned().unwrap_or_default(),
                            "this regular expression does not compile",
                        )
                    })
                }
                _ => Ok(None),
            }
        };
        Ok(match f {
            Func::Match(..) => Func::Match(regex_at(1)?, lower_literal(args)),
            Func::Replace(_) => Func::Replace(regex_at(1)?),
            Func::MvFind(_) => Func::MvFind(regex_at(1)?),
            Func::RelativeTime(_) => match args.get(1) {
                Some(Node::Lit(Value::Str(spec))) => {
                    Func::RelativeTime(Some(TimeModifier::parse(spec).map_err(|e| {
                        RawError::syntax(
                            e.to_string(),
                            spans.get(1).cloned().unwrap_or_default(),
                            "not a time modifier",
                        )
                    })?))
                }
                _ => Func::RelativeTime(None),
            },
            Func::MvMap(_) => match fields_of(args.first()).as_slice() {
                [one] => Func::MvMap(Some(*one)),
                _ => Func::MvMap(None),
            },
            other => other,
        })
    }
}

/// For `match(lower(x), "text")` whose pattern is plain lower-case ASCII text (no character a
/// regular expression gives a meaning, no upper-case letter), that text: on an ASCII value of
/// `x`, the match is then a case-folded substring search, with no lower-cased copy and no regex
/// (`match_lower_literal`). Other patterns keep the general path.
fn lower_literal(args: &[Node]) -> Option<Box<[u8]>> {
    const META: &[u8] = b"\\.+*?()|[]{}^$#";
    let [Node::Call(inner), Node::Lit(Value::Str(pattern))] = args else {
        return None;
    };
    if !matches!(inner.func, Func::Lower) || inner.args.len() != 1 {
        return None;
    }
    let plain = !pattern.is_empty()
        && pattern.bytes().all(|b| {
            b.is_ascii() && !b.is_ascii_control() && !b.is_ascii_uppercase() && !META.contains(&b)
        });
    plain.then(|| pattern.as_bytes().into())
}

/// The distinct fields a node reads, in order of first appearance.
fn fields_of(node: Option<&Node>) -> Vec<Sym> {
    let mut out = Vec::new();
    if let Some(n) = node {
        n.walk(&mut |n| {
            if let Node::Field(s) = n
                && !out.contains(s)
            {
                out.push(*s);
            }
        });
    }
    out
}

fn intern(name: &str, span: std::ops::Range<usize>) -> RawResult<Sym> {
    Sym::try_new(name).map_err(|e| RawError::syntax(e.to_string(), span, "cannot intern"))
}

/// What a function name stands for.
enum Kind {
    Func(Func),
    /// `true()`, `false()`, `null()`.
    Lit(Value<'static>),
    Like,
    In,
    MvFilter,
}

/// A function's kind and arity.
struct Entry {
    kind: Kind,
    min: usize,
    max: usize,
    /// Arguments come in condition/value pairs (`case`, `validate`).
    pairs: bool,
}

const MANY: usize = usize::MAX;

/// Functions that exist in Splunk but that cimhunt does not evaluate; calling one is an
/// [`crate::ErrorKind::Unsupported`] error labelled ``eval function `name` ``.
const UNSUPPORTED: &[&str] = &[
    "searchmatch",
    "spath",
    "commands",
    "lookup",
    "ipmask",
    "json_object",
    "json_array",
    "json_extract",
    "json_extract_exact",
    "json_keys",
    "json_set",
    "json_valid",
    "json_array_to_mv",
    "json_append",
    "json_delete",
    "json_entries",
    "json_extend",
    "json_set_exact",
    "mv_to_json_array",
    "toarray",
    "tomv",
    "toobject",
    "isarray",
    "isobject",
    "isdouble",
    "ismv",
    "bit_and",
    "bit_or",
    "bit_not",
    "bit_xor",
    "bit_shift_left",
    "bit_shift_right",
    "tojson",
];

fn lookup(name: &str) -> Option<Entry> {
    let f = |kind: Func, min: usize, max: usize| Entry {
        kind: Kind::Func(kind),
        min,
        max,
        pairs: false,
    };
    let trig = |t: Trig| f(Func::Trig(t), 1, 1);
    Some(match name {
        "case" => Entry {
            kind: Kind::Func(Func::Case),
            min: 2,
            max: MANY,
            pairs: true,
        },
        "validate" => Entry {
            kind: Kind::Func(Func::Validate),
            min: 2,
            max: MANY,
            pairs: true,
        },
        "cidrmatch" => f(Func::Cidrmatch, 2, 2),
        "coalesce" => f(Func::Coalesce, 1, MANY),
        "false" => return Some(lit(Value::Bool(false))),
        "true" => return Some(lit(Value::Bool(true))),
        "null" => return Some(lit(Value::Null)),
        "if" => f(Func::If, 3, 3),
        "in" => Entry {
            kind: Kind::In,
            min: 2,
            max: MANY,
            pairs: false,
        },
        "like" => Entry {
            kind: Kind::Like,
            min: 2,
            max: 2,
            pairs: false,
        },
        "match" => f(Func::Match(None, None), 2, 2),
        "nullif" => f(Func::Nullif, 2, 2),
        "printf" => f(Func::Printf, 1, MANY),
        "tonumber" => f(Func::ToNumber, 1, 2),
        "tostring" => f(Func::ToString, 1, 2),
        "tobool" => f(Func::ToBool, 1, 1),
        "toint" => f(Func::ToInt, 1, 2),
        "todouble" => f(Func::ToDouble, 1, 2),
        "md5" => f(Func::Md5, 1, 1),
        "sha1" => f(Func::Sha1, 1, 1),
        "sha256" => f(Func::Sha256, 1, 1),
        "sha512" => f(Func::Sha512, 1, 1),
        "now" => f(Func::Now, 0, 0),
        "time" => f(Func::Time, 0, 0),
        "relative_time" => f(Func::RelativeTime(None), 2, 2),
        "strftime" => f(Func::Strftime, 2, 2),
        "strptime" => f(Func::Strptime, 2, 2),
        "isbool" => f(Func::IsBool, 1, 1),
        "isint" => f(Func::IsInt, 1, 1),
        "isnotnull" => f(Func::IsNotNull, 1, 1),
        "isnull" => f(Func::IsNull, 1, 1),
        "isnum" => f(Func::IsNum, 1, 1),
        "isstr" => f(Func::IsStr, 1, 1),
        "typeof" => f(Func::TypeOf, 1, 1),
        "abs" => f(Func::Abs, 1, 1),
        "ceiling" | "ceil" => f(Func::Ceiling, 1, 1),
        "exact" => f(Func::Exact, 1, 1),
        "exp" => f(Func::Exp, 1, 1),
        "floor" => f(Func::Floor, 1, 1),
        "ln" => f(Func::Ln, 1, 1),
        "log" => f(Func::Log, 1, 2),
        "pi" => f(Func::Pi, 0, 0),
        "pow" => f(Func::Pow, 2, 2),
        "round" => f(Func::Round, 1, 2),
        "sigfig" => f(Func::Sigfig, 1, 1),
        "sqrt" => f(Func::Sqrt, 1, 1),
        "sum" => f(Func::Sum, 1, MANY),
        "acos" => trig(Trig::Acos),
        "acosh" => trig(Trig::Acosh),
        "asin" => trig(Trig::Asin),
        "asinh" => trig(Trig::Asinh),
        "atan" => trig(Trig::Atan),
        "atanh" => trig(Trig::Atanh),
        "cos" => trig(Trig::Cos),
        "cosh" => trig(Trig::Cosh),
        "sin" => trig(Trig::Sin),
        "sinh" => trig(Trig::Sinh),
        "tan" => trig(Trig::Tan),
        "tanh" => trig(Trig::Tanh),
        "atan2" => f(Func::Trig(Trig::Atan2), 2, 2),
        "hypot" => f(Func::Trig(Trig::Hypot), 2, 2),
        "mvappend" => f(Func::MvAppend, 1, MANY),
        "mvcount" => f(Func::MvCount, 1, 1),
        "mvdedup" => f(Func::MvDedup, 1, 1),
        "mvfilter" => Entry {
            kind: Kind::MvFilter,
            min: 1,
            max: 1,
            pairs: false,
        },
        "mvfind" => f(Func::MvFind(None), 2, 2),
        "mvindex" => f(Func::MvIndex, 2, 3),
        "mvjoin" => f(Func::MvJoin, 2, 2),
        "mvmap" => f(Func::MvMap(None), 2, 2),
        "mvrange" => f(Func::MvRange, 2, 3),
        "mvreverse" => f(Func::MvReverse, 1, 1),
        "mvsort" => f(Func::MvSort, 1, 1),
        "mvzip" => f(Func::MvZip, 2, 3),
        "split" => f(Func::Split, 2, 2),
        "avg" => f(Func::Avg, 1, MANY),
        "max" => f(Func::Max, 1, MANY),
        "min" => f(Func::Min, 1, MANY),
        "random" => f(Func::Random, 0, 0),
        "len" | "length" => f(Func::Len, 1, 1),
        "lower" => f(Func::Lower, 1, 1),
        "ltrim" => f(Func::Ltrim, 1, 2),
        "replace" => f(Func::Replace(None), 3, 3),
        "rtrim" => f(Func::Rtrim, 1, 2),
        "substr" => f(Func::Substr, 2, 3),
        "trim" => f(Func::Trim, 1, 2),
        "upper" => f(Func::Upper, 1, 1),
        "urldecode" => f(Func::Urldecode, 1, 1),
        _ => return None,
    })
}

/// `true()`, `false()` and `null()`: functions of no arguments that are literals.
fn lit(v: Value<'static>) -> Entry {
    Entry {
        kind: Kind::Lit(v),
        min: 0,
        max: 0,
        pairs: false,
    }
}
