//! Evaluation of the expression tree.
//!
//! Rules for operators and logic (Search Reference, eval, "Operators"; rules marked [inferred]
//! are not stated there):
//! - `+` adds two numbers and concatenates two strings (`"REG_" + RegistryValueType`); a string
//!   and a number concatenate as text (a field value is text in Splunk) [inferred]; Booleans and
//!   multivalues give null.
//! - `-`, `*`, `/`, `%` take numbers (a string that reads as one counts); anything else is null.
//!   Precision follows `num`.
//! - `.` concatenates the text of both sides, numbers "in their string represented form".
//! - Null in any operand of an operator or of `.` makes the result null [inferred].
//! - A multivalue operand of arithmetic or `.` makes the result null [inferred]; comparisons
//!   handle multivalues value by value (`compare`).
//! - `AND`, `OR`, `XOR`, `NOT` use three-valued logic: null is "unknown" (`null AND false` is
//!   false, `null OR true` is true, `NOT null` is null); a non-Boolean value counts as false
//!   [inferred].

use std::borrow::Cow;

use crate::record::Record;
use crate::value::{Number, Value};

use super::EvalCtx;
use super::State;
use super::ast::{BinOp, Call, LogicOp, Node, Pattern};
use super::compare::{compare_op, values};
use super::funcs;
use super::like::LikePattern;
use super::num::{self, Op, number_of};

/// What an evaluation carries besides the record.
pub(crate) struct Env<'a> {
    pub(crate) ctx: &'a EvalCtx,
    pub(crate) state: &'a State,
}

/// The truth of a value in a condition: `None` for null.
pub(crate) fn truth(v: &Value<'_>) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Null => None,
        _ => Some(false),
    }
}

/// The truth of a node.
pub(crate) fn test<'r>(node: &'r Node, rec: &'r dyn Record, env: &Env<'_>) -> Option<bool> {
    truth(&eval(node, rec, env))
}

/// Evaluates `node` against `rec`.
pub(crate) fn eval<'r>(node: &'r Node, rec: &'r dyn Record, env: &Env<'_>) -> Value<'r> {
    match node {
        Node::Lit(v) => v.borrowed(),
        Node::Field(sym) => rec.value(*sym),
        Node::Neg(inner) => match eval(inner, rec, env) {
            Value::Num(n) => Value::Num(num::negate(&n)),
            v => match number_of(&v) {
                Some(n) => Value::Num(num::negate(&n)),
                None => Value::Null,
            },
        },
        Node::Not(inner) => match test(inner, rec, env) {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        Node::Logic(op, items) => logic(*op, items, rec, env),
        Node::Bin(op, a, b) => {
            let (x, y) = (eval(a, rec, env), eval(b, rec, env));
            binary(*op, x, y)
        }
        Node::Like(subject, pattern) => {
            let subject = eval(subject, rec, env);
            if subject.is_null() {
                return Value::Null;
            }
            let dynamic;
            let pat: &LikePattern = match pattern {
                Pattern::Fixed(p) => p,
                Pattern::Dynamic(node) => match text(&eval(node, rec, env)) {
                    Some(t) => {
                        dynamic = LikePattern::new(&t);
                        &dynamic
                    }
                    None => return Value::Null,
                },
            };
            Value::Bool(
                values(&subject)
                    .iter()
                    .any(|v| text(v).is_some_and(|t| pat.matches(&t))),
            )
        }
        Node::In(subject, list) => {
            let subject = eval(subject, rec, env);
            if subject.is_null() {
                return Value::Null;
            }
            let found = match &list.set {
                Some(set) => values(&subject).iter().any(|v| set.contains(v)),
                None => list.items.iter().any(|item| {
                    let item = eval(item, rec, env);
                    compare_op(BinOp::Eq, &subject, &item) == Some(true)
                }),
            };
            Value::Bool(found)
        }
        Node::Call(call) => self::call(call, rec, env),
    }
}

fn logic<'r>(op: LogicOp, items: &'r [Node], rec: &'r dyn Record, env: &Env<'_>) -> Value<'r> {
    let mut unknown = false;
    let mut parity = false;
    for item in items {
        match (op, test(item, rec, env)) {
            (LogicOp::And, Some(false)) => return Value::Bool(false),
            (LogicOp::Or, Some(true)) => return Value::Bool(true),
            (LogicOp::Xor, Some(b)) => parity ^= b,
            (_, None) => unknown = true,
            _ => {}
        }
    }
    if unknown {
        return Value::Null;
    }
    Value::Bool(match op {
        LogicOp::And => true,
        LogicOp::Or => false,
        LogicOp::Xor => parity,
    })
}

/// A binary operator on two evaluated operands.
pub(crate) fn binary<'r>(op: BinOp, x: Value<'r>, y: Value<'r>) -> Value<'r> {
    if op.is_comparison() {
        return compare_op(op, &x, &y).map_or(Value::Null, Value::Bool);
    }
    if x.is_null() || y.is_null() {
        return Value::Null;
    }
    let arith = |op: Op, x: &Value<'_>, y: &Value<'_>| -> Value<'static> {
        match (number_of(x), number_of(y)) {
            (Some(a), Some(b)) => num::arith(op, &a, &b).map_or(Value::Null, Value::Num),
            _ => Value::Null,
        }
    };
    match op {
        BinOp::Add => match (&x, &y) {
            (Value::Num(a), Value::Num(b)) => {
                num::arith(Op::Add, a, b).map_or(Value::Null, Value::Num)
            }
            (Value::Str(_), Value::Str(_))
            | (Value::Str(_), Value::Num(_))
            | (Value::Num(_), Value::Str(_)) => concat(&x, &y),
            _ => Value::Null,
        },
        BinOp::Sub => arith(Op::Sub, &x, &y),
        BinOp::Mul => arith(Op::Mul, &x, &y),
        BinOp::Div => arith(Op::Div, &x, &y),
        BinOp::Mod => arith(Op::Mod, &x, &y),
        BinOp::Concat => concat(&x, &y),
        _ => Value::Null,
    }
}

/// `x . y`: the text of both, null if either has none.
fn concat<'r>(x: &Value<'_>, y: &Value<'_>) -> Value<'r> {
    match (text(x), text(y)) {
        (Some(a), Some(b)) => {
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(&a);
            s.push_str(&b);
            Value::Str(Cow::Owned(s))
        }
        _ => Value::Null,
    }
}

/// The text of a single value as string operations see it: numbers as written or formatted,
/// Booleans as `True`/`False` (as `tostring` gives them); `None` for null and multivalues.
pub(crate) fn text<'v>(v: &'v Value<'_>) -> Option<Cow<'v, str>> {
    match v {
        Value::Str(s) => Some(Cow::Borrowed(s.as_ref())),
        Value::Num(n) => Some(n.text()),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "True" } else { "False" })),
        Value::Null | Value::Multi(_) => None,
    }
}

/// A string result that borrows from `v` when `f` borrows from its input.
pub(crate) fn map_text<'r>(
    v: Value<'r>,
    f: &dyn for<'t> Fn(&'t str) -> Option<Cow<'t, str>>,
) -> Value<'r> {
    let out = match v {
        Value::Str(Cow::Borrowed(s)) => f(s),
        Value::Str(Cow::Owned(s)) => f(&s).map(|c| Cow::Owned(c.into_owned())),
        Value::Num(n) => match n.into_text() {
            Cow::Borrowed(s) => f(s),
            Cow::Owned(s) => f(&s).map(|c| Cow::Owned(c.into_owned())),
        },
        Value::Bool(b) => f(if b { "True" } else { "False" }).map(|c| Cow::Owned(c.into_owned())),
        Value::Null | Value::Multi(_) => None,
    };
    out.map_or(Value::Null, Value::Str)
}

/// Applies `f` to each value of `v` (null stays null).
pub(crate) fn each<'r>(v: Value<'r>, f: &dyn Fn(Value<'r>) -> Value<'r>) -> Value<'r> {
    match v {
        Value::Null => Value::Null,
        Value::Multi(vs) => Value::multi(vs.into_iter().map(f).collect()),
        v => f(v),
    }
}

/// A computed number.
pub(crate) fn number(x: f64) -> Value<'static> {
    Value::Num(Number::new(x))
}

fn call<'r>(call: &'r Call, rec: &'r dyn Record, env: &Env<'_>) -> Value<'r> {
    funcs::call(call, rec, env)
}
