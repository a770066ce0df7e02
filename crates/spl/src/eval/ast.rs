//! The parsed form of an eval expression: a tree of [`Node`]s whose literals, regular
//! expressions, `LIKE` patterns, `IN` lists and time modifiers are compiled once, at parse time.

use std::sync::Arc;

use crate::sym::Sym;
use crate::time::TimeModifier;
use crate::value::Value;

use super::like::LikePattern;
use super::regex::Regex;
use super::set::LiteralSet;

/// One node of an expression.
#[derive(Debug)]
pub(crate) enum Node {
    /// A literal: a string, a number (with the text it was written with), or `true()`/`false()`/
    /// `null()`.
    Lit(Value<'static>),
    /// A field's value.
    Field(Sym),
    /// Unary minus.
    Neg(Box<Node>),
    /// `NOT x`, `!x`.
    Not(Box<Node>),
    /// An arithmetic, concatenation or comparison operator.
    Bin(BinOp, Box<Node>, Box<Node>),
    /// `AND`, `OR`, `XOR` over two or more operands: a chain `a OR b OR c` is one node, so that
    /// long chains do not make the tree deep.
    Logic(LogicOp, Vec<Node>),
    /// `x LIKE pattern`, `like(x, pattern)`.
    Like(Box<Node>, Pattern<LikePattern>),
    /// `x IN (a, b, …)`, `in(x, a, b, …)`.
    In(Box<Node>, InList),
    /// A function call.
    Call(Box<Call>),
}

/// A binary operator other than the logical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    /// Whether the operator compares its operands (and so yields a Boolean).
    pub(crate) fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// A logical operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogicOp {
    And,
    Or,
    Xor,
}

/// An argument that is compiled once when it is a literal and at evaluation time otherwise.
#[derive(Debug)]
pub(crate) enum Pattern<T> {
    /// Compiled at parse time.
    Fixed(Arc<T>),
    /// Computed for each evaluation.
    Dynamic(Box<Node>),
}

/// The list of an `IN`: its expressions, and when they are all literals, a set for allocation-free
/// lookups.
#[derive(Debug)]
pub(crate) struct InList {
    pub(crate) items: Vec<Node>,
    pub(crate) set: Option<LiteralSet>,
}

/// A function call with its arguments.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) func: Func,
    pub(crate) args: Vec<Node>,
}

/// The functions, with what they compile at parse time.
#[derive(Debug)]
pub(crate) enum Func {
    // Comparison and conditional.
    Case,
    Cidrmatch,
    Coalesce,
    If,
    /// `match(s, re)`: the regex when it is a literal; and when `s` is `lower(x)` and the
    /// regex a plain ASCII literal (no metacharacter), that literal, for the fast path of
    /// [`super::funcs`]'s `match_lower_literal`.
    Match(Option<Arc<Regex>>, Option<Box<[u8]>>),
    Nullif,
    Validate,
    // Conversion.
    Printf,
    ToNumber,
    ToString,
    ToBool,
    ToInt,
    ToDouble,
    // Cryptographic.
    Md5,
    Sha1,
    Sha256,
    Sha512,
    // Date and time.
    Now,
    Time,
    RelativeTime(Option<TimeModifier>),
    Strftime,
    Strptime,
    // Informational.
    IsBool,
    IsInt,
    IsNotNull,
    IsNull,
    IsNum,
    IsStr,
    TypeOf,
    // Mathematical.
    Abs,
    Ceiling,
    Exact,
    Exp,
    Floor,
    Ln,
    Log,
    Pi,
    Pow,
    Round,
    Sigfig,
    Sqrt,
    Sum,
    Trig(Trig),
    // Multivalue.
    MvAppend,
    MvCount,
    MvDedup,
    /// `mvfilter(<predicate>)`: the predicate runs once per value of `field`.
    MvFilter(Sym),
    MvFind(Option<Arc<Regex>>),
    MvIndex,
    MvJoin,
    /// `mvmap(<mv>, <expression>)`: the expression runs once per value, with `field` bound to it.
    MvMap(Option<Sym>),
    MvRange,
    MvReverse,
    MvSort,
    MvZip,
    Split,
    // Statistical.
    Avg,
    Max,
    Min,
    Random,
    // Text.
    Len,
    Lower,
    Ltrim,
    Replace(Option<Arc<Regex>>),
    Rtrim,
    Substr,
    Trim,
    Upper,
    Urldecode,
}

/// The trigonometric and hyperbolic functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trig {
    Acos,
    Acosh,
    Asin,
    Asinh,
    Atan,
    Atan2,
    Atanh,
    Cos,
    Cosh,
    Hypot,
    Sin,
    Sinh,
    Tan,
    Tanh,
}

impl Node {
    /// Calls `f` on this node and every node below it.
    pub(crate) fn walk(&self, f: &mut dyn FnMut(&Node)) {
        f(self);
        match self {
            Node::Lit(_) | Node::Field(_) => {}
            Node::Neg(a) | Node::Not(a) => a.walk(f),
            Node::Bin(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Node::Logic(_, items) => items.iter().for_each(|i| i.walk(f)),
            Node::Like(a, p) => {
                a.walk(f);
                if let Pattern::Dynamic(p) = p {
                    p.walk(f);
                }
            }
            Node::In(a, list) => {
                a.walk(f);
                list.items.iter().for_each(|i| i.walk(f));
            }
            Node::Call(call) => call.args.iter().for_each(|a| a.walk(f)),
        }
    }

    /// Whether the node always yields a Boolean (or null): a comparison, a logical operator,
    /// `LIKE`, `IN`, or a function that returns a Boolean.
    pub(crate) fn is_predicate(&self) -> bool {
        match self {
            Node::Not(_) | Node::Logic(..) | Node::Like(..) | Node::In(..) => true,
            Node::Bin(op, ..) => op.is_comparison(),
            Node::Lit(v) => matches!(v, Value::Bool(_)),
            Node::Call(call) => matches!(
                call.func,
                Func::Cidrmatch
                    | Func::Match(..)
                    | Func::IsBool
                    | Func::IsInt
                    | Func::IsNotNull
                    | Func::IsNull
                    | Func::IsNum
                    | Func::IsStr
                    | Func::ToBool
            ),
            Node::Field(_) | Node::Neg(_) => false,
        }
    }
}
