//! The evaluation functions (Search Reference, "Evaluation functions" and its category pages).
//! Each rule that Splunk's pages state is marked with its page; the rest are [inferred].
//!
//! Conditional (Comparison and Conditional functions):
//! - `case(c1, v1, …)` returns the value of the first true condition, null if none is true;
//!   later conditions are not evaluated. `validate(c1, v1, …)` returns the value of the first
//!   condition that is not true (null and non-Boolean included [inferred]), null if all are.
//! - `if(c, a, b)`: `a` when `c` is true, else `b` (a null condition takes `b` [inferred]).
//! - `coalesce(…)`: the first non-null argument (an empty string is not null).
//! - `nullif(a, b)`: null when `a = b`, else `a`.
//! - `match(s, re)`: whether `re` matches a substring of `s` (of some value of a multivalue
//!   [inferred]); `cidrmatch(cidr, ip)`: IPv4 and IPv6.
//!
//! Text (Text functions): `len` counts code points; `lower`/`upper` (multivalues value by value,
//! as documented); `trim`/`ltrim`/`rtrim` remove the given characters (default space and tab);
//! `substr` has SQLite's 1-based semantics with negative starts from the end; `replace` replaces
//! every match; `urldecode` decodes `%XX` (and `+` as a space [inferred]). The page says these do
//! not support multivalues; cimhunt applies them value by value [inferred].
//!
//! Multivalue (Multivalue eval functions): `mvcount` is null for null; `mvindex` counts from 0,
//! negative from the end, end inclusive, null when out of range; `mvfilter`'s predicate reads one
//! field and runs once per value; `mvfind` gives the index of the first value a regex matches;
//! `mvsort` sorts by bytes ("lexicographically"); `mvzip` pairs values up to the shorter list,
//! default delimiter `,`; `mvrange` excludes the end; `split` keeps empty values [inferred] and
//! splits into characters on an empty delimiter [inferred]. Results longer than
//! [`MAX_VALUES`] are null (a limit hit).
//!
//! Statistical (Statistical eval functions): `max`/`min` order numbers before strings ("Strings
//! are greater than numbers"); `avg`/`sum` use the numeric values of their arguments and ignore
//! the rest; `random()` is deterministic per [`super::EvalCtx`] (seeded by the search time)
//! rather than random.
//!
//! Mathematical (Mathematical functions): `round(x, n)` rounds half away from zero (`round(3.5)`
//! is 4, `round(2.555, 2)` is 2.56); `ceiling`/`ceil`, `floor`, `abs`, `exp`, `ln`, `log(x,
//! base=10)`, `pow`, `sqrt`, `pi()` (3.14159265359, "11 digits"), `exact`, `sigfig`, the
//! trigonometric functions.
//!
//! Informational (Informational functions): `isnull`, `isnotnull`, `isnum` (a field that reads as
//! a number is one, `../shared/spec/ADDON_FIELDS.md` §1.9), `isint`, `isstr`, `isbool`;
//! `typeof` gives `Number`, `String`, `Boolean`, `Invalid` for null, and `Multivalue` [inferred].
//!
//! Cryptographic (Cryptographic functions): `md5`, `sha1`, `sha256`, `sha512` of the UTF-8 text,
//! as lowercase hex.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::ops::Deref;

use crate::record::Record;
use crate::sym::Sym;
use crate::time::TimeModifier;
use crate::value::{Number, Value};

use super::ast::{BinOp, Call, Func, Node, Trig};
use super::compare::{compare_op, values};
use super::exec::{Env, each, eval, map_text, number, test, text};
use super::num::{self, number_of};
use super::regex::Regex;
use super::{cidr, conv, printf, timefmt};

/// `pi()`: "the constant pi to 11 digits of precision" (Mathematical functions).
const PI_11_TEXT: &str = "3.14159265359";
/// The number `PI_11_TEXT` reads as: Splunk's rounded pi, not `std::f64::consts::PI`.
#[allow(clippy::approx_constant)]
const PI_11: f64 = 3.14159265359;

/// The most values a function builds into one multivalue.
pub(crate) const MAX_VALUES: usize = 100_000;

/// Evaluates a function call.
pub(crate) fn call<'r>(call: &'r Call, rec: &'r dyn Record, env: &Env<'_>) -> Value<'r> {
    let args = Args {
        nodes: &call.args,
        rec,
        env,
    };
    match &call.func {
        Func::Case => case(&args, true),
        Func::Validate => case(&args, false),
        Func::If => match test(args.node(0), rec, env) {
            Some(true) => args.get(1),
            _ => args.get(2),
        },
        Func::Coalesce => args
            .nodes
            .iter()
            .map(|n| eval(n, rec, env))
            .find(|v| !v.is_null())
            .unwrap_or(Value::Null),
        Func::Nullif => {
            let a = args.get(0);
            let b = args.get(1);
            if compare_op(BinOp::Eq, &a, &b) == Some(true) {
                Value::Null
            } else {
                a
            }
        }
        Func::Cidrmatch => cidr_match(&args),
        Func::Match(fixed, None) => regex_match(&args, fixed.as_deref()),
        Func::Match(fixed, Some(lit)) => match_lower_literal(&args, fixed.as_deref(), lit),
        Func::Replace(fixed) => replace(&args, fixed.as_deref()),
        Func::MvFind(fixed) => mvfind(&args, fixed.as_deref()),
        Func::Printf => printf_call(&args),
        Func::ToNumber | Func::ToDouble => conv::to_number(args.get(0), args.opt(1)),
        Func::ToInt => conv::to_int(args.get(0), args.opt(1)),
        Func::ToString => conv::to_string(args.get(0), args.opt(1)),
        Func::ToBool => conv::to_bool(&args.get(0)),
        Func::Md5 => digest::<md5::Md5>(args.get(0)),
        Func::Sha1 => digest::<sha1::Sha1>(args.get(0)),
        Func::Sha256 => digest::<sha2::Sha256>(args.get(0)),
        Func::Sha512 => digest::<sha2::Sha512>(args.get(0)),
        Func::Now => number(env.ctx.now().as_secs() as f64),
        Func::Time => {
            let now = env.ctx.now();
            let micros = now.as_nanos().rem_euclid(1_000_000_000) / 1_000;
            let text = format!("{}.{micros:06}", now.as_secs());
            let value = now.as_nanos() as f64 / 1e9;
            Value::Num(Number::with_text(value, Cow::Owned(text)))
        }
        Func::RelativeTime(fixed) => relative_time(&args, fixed.as_ref()),
        Func::Strftime => timefmt::strftime_value(&args.get(0), &args.get(1), env.ctx),
        Func::Strptime => timefmt::strptime_value(&args.get(0), &args.get(1), env.ctx),
        Func::IsBool => Value::Bool(matches!(args.get(0), Value::Bool(_))),
        Func::IsInt => Value::Bool(matches!(args.get(0), Value::Num(n) if is_int(&n))),
        Func::IsNotNull => Value::Bool(!args.get(0).is_null()),
        Func::IsNull => Value::Bool(args.get(0).is_null()),
        Func::IsNum => Value::Bool(matches!(args.get(0), Value::Num(_))),
        Func::IsStr => Value::Bool(matches!(args.get(0), Value::Str(_))),
        Func::TypeOf => Value::Str(Cow::Borrowed(match args.get(0) {
            Value::Num(_) => "Number",
            Value::Str(_) => "String",
            Value::Bool(_) => "Boolean",
            Value::Multi(_) => "Multivalue",
            _ => "Invalid",
        })),
        Func::Abs => numeric(args.get(0), |n| Value::Num(num::abs(n))),
        Func::Ceiling => float(args.get(0), f64::ceil),
        Func::Floor => float(args.get(0), f64::floor),
        Func::Exact => numeric(args.get(0), |n| number(n.get())),
        Func::Exp => float(args.get(0), f64::exp),
        Func::Ln => float(args.get(0), f64::ln),
        Func::Sqrt => float(args.get(0), f64::sqrt),
        Func::Log => {
            let base = args
                .opt(1)
                .map_or(Some(10.0), |b| number_of(&b).map(|n| n.get()));
            match base {
                Some(b) => float(args.get(0), |x| x.ln() / b.ln()),
                None => Value::Null,
            }
        }
        Func::Pi => Value::Num(Number::with_text(PI_11, Cow::Borrowed(PI_11_TEXT))),
        Func::Pow => float2(args.get(0), args.get(1), f64::powf),
        Func::Round => round(args.get(0), args.opt(1)),
        Func::Sigfig => sigfig(&args),
        Func::Sum => sum_avg(&args, false),
        Func::Avg => sum_avg(&args, true),
        Func::Max => extreme(&args, Ordering::Greater),
        Func::Min => extreme(&args, Ordering::Less),
        Func::Random => number(f64::from(env.ctx.next_random())),
        Func::Trig(t) => trig(*t, &args),
        Func::MvAppend => Value::multi(args.nodes.iter().map(|n| eval(n, rec, env)).collect()),
        Func::MvCount => match args.get(0) {
            Value::Null => Value::Null,
            v => number(v.count() as f64),
        },
        Func::MvDedup => mv_dedup(args.get(0)),
        Func::MvFilter(field) => mv_filter(&args, *field),
        Func::MvIndex => mv_index(&args),
        Func::MvJoin => mv_join(args.get(0), args.get(1)),
        Func::MvMap(field) => mv_map(&args, *field),
        Func::MvRange => mv_range(&args),
        Func::MvReverse => match args.get(0) {
            Value::Multi(mut vs) => {
                vs.reverse();
                Value::Multi(vs)
            }
            v => v,
        },
        Func::MvSort => mv_sort(args.get(0)),
        Func::MvZip => mv_zip(&args),
        Func::Split => split(&args),
        Func::Len => each(args.get(0), &|v| match text(&v) {
            Some(t) => number(t.chars().count() as f64),
            None => Value::Null,
        }),
        Func::Lower => each(args.get(0), &|v| {
            map_text(v, &|s| {
                Some(if s.chars().any(char::is_uppercase) {
                    Cow::Owned(s.to_lowercase())
                } else {
                    Cow::Borrowed(s)
                })
            })
        }),
        Func::Upper => each(args.get(0), &|v| {
            map_text(v, &|s| {
                Some(if s.chars().any(char::is_lowercase) {
                    Cow::Owned(s.to_uppercase())
                } else {
                    Cow::Borrowed(s)
                })
            })
        }),
        Func::Trim => trim(&args, Side::Both),
        Func::Ltrim => trim(&args, Side::Left),
        Func::Rtrim => trim(&args, Side::Right),
        Func::Substr => substr(&args),
        Func::Urldecode => each(args.get(0), &|v| map_text(v, &|s| Some(url_decode(s)))),
    }
}

/// A call's arguments, evaluated on demand.
struct Args<'r, 'e> {
    nodes: &'r [Node],
    rec: &'r dyn Record,
    env: &'e Env<'e>,
}

impl<'r> Args<'r, '_> {
    /// Argument `i` (null when absent; the parser checked arity).
    fn get(&self, i: usize) -> Value<'r> {
        self.opt(i).unwrap_or(Value::Null)
    }

    /// Argument `i`, if given.
    fn opt(&self, i: usize) -> Option<Value<'r>> {
        self.nodes.get(i).map(|n| eval(n, self.rec, self.env))
    }

    fn node(&self, i: usize) -> &'r Node {
        static NULL: Node = Node::Lit(Value::Null);
        self.nodes.get(i).unwrap_or(&NULL)
    }

    fn int(&self, i: usize) -> Option<i64> {
        let v = self.opt(i)?;
        let n = number_of(&v)?;
        let x = n.get().trunc();
        (x.is_finite() && x.abs() < 1e15).then_some(x as i64)
    }
}

fn case<'r>(args: &Args<'r, '_>, want: bool) -> Value<'r> {
    for pair in args.nodes.chunks(2) {
        let [cond, value] = pair else { break };
        let holds = test(cond, args.rec, args.env) == Some(true);
        if holds == want {
            return eval(value, args.rec, args.env);
        }
    }
    Value::Null
}

/// A regular expression fixed at parse time or computed now.
enum Re<'a> {
    Fixed(&'a Regex),
    Computed(std::sync::Arc<Regex>),
}

impl Deref for Re<'_> {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        match self {
            Re::Fixed(r) => r,
            Re::Computed(r) => r,
        }
    }
}

fn regex_arg<'a>(args: &Args<'a, '_>, i: usize, fixed: Option<&'a Regex>) -> Option<Re<'a>> {
    if let Some(r) = fixed {
        return Some(Re::Fixed(r));
    }
    let pattern = args.get(i);
    let pattern = text(&pattern)?;
    args.env.state.regexes.get(&pattern).map(Re::Computed)
}

fn regex_match<'r>(args: &Args<'r, '_>, fixed: Option<&'r Regex>) -> Value<'r> {
    let subject = args.get(0);
    if subject.is_null() {
        return Value::Null;
    }
    let Some(re) = regex_arg(args, 1, fixed) else {
        return Value::Null;
    };
    for v in values(&subject) {
        let Some(t) = text(v) else { continue };
        match re.is_match(&t) {
            Ok(true) => return Value::Bool(true),
            Ok(false) => {}
            Err(_) => {
                args.env.state.hit_limit();
                return Value::Null;
            }
        }
    }
    Value::Bool(false)
}

/// `match(lower(x), "text")` with a plain ASCII pattern (`lower_literal` in the parser): when
/// every value of `x` is ASCII text, `lower` is ASCII lower-casing and the regex a substring
/// test, so the answer is a case-folded search of each value, without the lower-cased copy
/// (ESCU's `PowerShell 4104 Hunting` lower-cases each script block 25 times). Anything else
/// (null, numbers, non-ASCII text) takes the general path.
fn match_lower_literal<'r>(args: &Args<'r, '_>, fixed: Option<&'r Regex>, lit: &[u8]) -> Value<'r> {
    if let Some(Node::Call(lower)) = args.nodes.first()
        && let Some(x) = lower.args.first()
    {
        fn ascii<'v>(v: &'v Value<'_>) -> Option<&'v [u8]> {
            match v {
                Value::Str(s) if s.is_ascii() => Some(s.as_bytes()),
                _ => None,
            }
        }
        let found = |s: &[u8]| crate::pattern::find_folded(s, lit).is_some();
        match eval(x, args.rec, args.env) {
            Value::Multi(vs) => {
                if vs.iter().all(|v| ascii(v).is_some()) {
                    return Value::Bool(vs.iter().filter_map(ascii).any(found));
                }
            }
            v => {
                if let Some(s) = ascii(&v) {
                    return Value::Bool(found(s));
                }
            }
        }
    }
    regex_match(args, fixed)
}

fn replace<'r>(args: &Args<'r, '_>, fixed: Option<&'r Regex>) -> Value<'r> {
    let subject = args.get(0);
    let Some(re) = regex_arg(args, 1, fixed) else {
        return Value::Null;
    };
    let replacement = args.get(2);
    let Some(replacement) = text(&replacement) else {
        return Value::Null;
    };
    let state = args.env.state;
    each(subject, &|v| {
        map_text(v, &|s| match re.replace_all_memo(s, &replacement) {
            Ok(out) => Some(out),
            Err(_) => {
                state.hit_limit();
                None
            }
        })
    })
}

fn mvfind<'r>(args: &Args<'r, '_>, fixed: Option<&'r Regex>) -> Value<'r> {
    let subject = args.get(0);
    let Some(re) = regex_arg(args, 1, fixed) else {
        return Value::Null;
    };
    for (i, v) in values(&subject).iter().enumerate() {
        let Some(t) = text(v) else { continue };
        match re.is_match(&t) {
            Ok(true) => return number(i as f64),
            Ok(false) => {}
            Err(_) => {
                args.env.state.hit_limit();
                return Value::Null;
            }
        }
    }
    Value::Null
}

fn cidr_match<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let (net, ip) = (args.get(0), args.get(1));
    if net.is_null() || ip.is_null() {
        return Value::Null;
    }
    let Some(net) = text(&net).and_then(|t| cidr::Cidr::parse(&t)) else {
        return Value::Bool(false);
    };
    Value::Bool(
        values(&ip)
            .iter()
            .any(|v| text(v).is_some_and(|t| net.contains(&t))),
    )
}

fn printf_call<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let format = args.get(0);
    let Some(format) = text(&format) else {
        return Value::Null;
    };
    let rest: Vec<Value<'r>> = (1..args.nodes.len()).map(|i| args.get(i)).collect();
    Value::Str(Cow::Owned(printf::format(&format, &rest)))
}

fn digest<D: md5::Digest>(v: Value<'_>) -> Value<'_> {
    each(v, &|v| {
        map_text(v, &|s| {
            let hash = D::digest(s.as_bytes());
            let mut hex = String::with_capacity(hash.len() * 2);
            for b in hash.iter() {
                let _ = write!(hex, "{b:02x}");
            }
            Some(Cow::Owned(hex))
        })
    })
}

fn relative_time<'r>(args: &Args<'r, '_>, fixed: Option<&'r TimeModifier>) -> Value<'r> {
    let time = args.get(0);
    let Some(ts) = timefmt::timestamp_of(&time) else {
        return Value::Null;
    };
    let parsed;
    let modifier = match fixed {
        Some(m) => m,
        None => {
            let spec = args.get(1);
            let Some(m) = text(&spec).and_then(|t| TimeModifier::parse(&t).ok()) else {
                return Value::Null;
            };
            parsed = m;
            &parsed
        }
    };
    match modifier.resolve(ts, args.env.ctx.time_zone()) {
        Ok(t) => timefmt::epoch_value(t),
        Err(_) => Value::Null,
    }
}

fn is_int(n: &Number<'_>) -> bool {
    let x = n.get();
    x.is_finite() && x.fract() == 0.0 && !n.text().contains(['.', 'e', 'E'])
}

/// `f` on the number of `v` (null when `v` is not a number).
fn numeric<'r>(v: Value<'r>, f: impl Fn(&Number<'_>) -> Value<'r>) -> Value<'r> {
    match number_of(&v) {
        Some(n) => f(&n),
        None => Value::Null,
    }
}

fn float<'r>(v: Value<'r>, f: impl Fn(f64) -> f64) -> Value<'r> {
    numeric(v, |n| number(f(n.get())))
}

fn float2<'r>(a: Value<'r>, b: Value<'r>, f: impl Fn(f64, f64) -> f64) -> Value<'r> {
    match (number_of(&a), number_of(&b)) {
        (Some(x), Some(y)) => number(f(x.get(), y.get())),
        _ => Value::Null,
    }
}

fn trig<'r>(t: Trig, args: &Args<'r, '_>) -> Value<'r> {
    let f: fn(f64) -> f64 = match t {
        Trig::Atan2 => return float2(args.get(0), args.get(1), f64::atan2),
        Trig::Hypot => return float2(args.get(0), args.get(1), f64::hypot),
        Trig::Acos => f64::acos,
        Trig::Acosh => f64::acosh,
        Trig::Asin => f64::asin,
        Trig::Asinh => f64::asinh,
        Trig::Atan => f64::atan,
        Trig::Atanh => f64::atanh,
        Trig::Cos => f64::cos,
        Trig::Cosh => f64::cosh,
        Trig::Sin => f64::sin,
        Trig::Sinh => f64::sinh,
        Trig::Tan => f64::tan,
        Trig::Tanh => f64::tanh,
    };
    float(args.get(0), f)
}

fn round<'r>(v: Value<'r>, places: Option<Value<'r>>) -> Value<'r> {
    let places = match places {
        None => 0,
        Some(p) => match number_of(&p).map(|n| n.get()) {
            Some(p) if (0.0..=40.0).contains(&p) => p as u32,
            _ => return Value::Null,
        },
    };
    numeric(v, |n| Value::Num(num::fixed(n.get(), places)))
}

/// `sigfig(x)`: rounds the result of a `*`, `/`, `+` or `-` to the precision of its least
/// precise operand, integer digits included; any other argument is returned as it is.
fn sigfig<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let node = args.node(0);
    let value = eval(node, args.rec, args.env);
    let Node::Bin(op, a, b) = node else {
        return value;
    };
    let Some(result) = number_of(&value).map(|n| n.get()) else {
        return value;
    };
    let (a, b) = (eval(a, args.rec, args.env), eval(b, args.rec, args.env));
    let (Some(a), Some(b)) = (number_of(&a), number_of(&b)) else {
        return value;
    };
    let least = |x: Option<u32>, y: Option<u32>| match (x, y) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    match op {
        BinOp::Mul | BinOp::Div => match least(a.sig_figs(), b.sig_figs()) {
            Some(sf) => Value::Num(num::round_sig_figs(result, sf)),
            None => value,
        },
        BinOp::Add | BinOp::Sub => match least(a.decimals(), b.decimals()) {
            Some(d) => Value::Num(num::fixed(result, d)),
            None => value,
        },
        _ => value,
    }
}

fn sum_avg<'r>(args: &Args<'r, '_>, average: bool) -> Value<'r> {
    let (mut total, mut count) = (0.0, 0usize);
    for i in 0..args.nodes.len() {
        let v = args.get(i);
        for x in values(&v) {
            if let Some(n) = number_of(x) {
                total += n.get();
                count += 1;
            }
        }
    }
    match count {
        0 => Value::Null,
        _ if average => number(total / count as f64),
        _ => number(total),
    }
}

/// The largest (`Greater`) or smallest (`Less`) value of all arguments: numbers numerically,
/// before strings; strings by bytes.
fn extreme<'r>(args: &Args<'r, '_>, want: Ordering) -> Value<'r> {
    let rank = |v: &Value<'_>| -> (u8, f64) {
        match v {
            Value::Num(n) => (0, n.get()),
            _ => (1, 0.0),
        }
    };
    let order = |a: &Value<'_>, b: &Value<'_>| -> Ordering {
        let (ra, xa) = rank(a);
        let (rb, xb) = rank(b);
        ra.cmp(&rb).then_with(|| {
            if ra == 0 {
                xa.partial_cmp(&xb).unwrap_or(Ordering::Equal)
            } else {
                let (ta, tb) = (text(a), text(b));
                ta.as_deref().cmp(&tb.as_deref())
            }
        })
    };
    let mut best: Option<Value<'r>> = None;
    for i in 0..args.nodes.len() {
        let v = args.get(i);
        let candidates: Vec<Value<'r>> = match v {
            Value::Null => continue,
            Value::Multi(vs) => vs,
            v => vec![v],
        };
        for c in candidates {
            let better = match &best {
                None => true,
                Some(b) => order(&c, b) == want,
            };
            if better {
                best = Some(c);
            }
        }
    }
    best.unwrap_or(Value::Null)
}

fn mv_dedup(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Multi(vs) => {
            let mut out: Vec<Value<'_>> = Vec::with_capacity(vs.len());
            for v in vs {
                if !out.iter().any(|o| text(o) == text(&v)) {
                    out.push(v);
                }
            }
            Value::multi(out)
        }
        v => v,
    }
}

/// A record that sees one field with one given value.
struct Bound<'a, 'v> {
    inner: &'a dyn Record,
    field: Sym,
    value: &'a Value<'v>,
}

impl Record for Bound<'_, '_> {
    fn value(&self, field: Sym) -> Value<'_> {
        if field == self.field {
            self.value.borrowed()
        } else {
            self.inner.value(field)
        }
    }
}

fn mv_filter<'r>(args: &Args<'r, '_>, field: Sym) -> Value<'r> {
    let all = args.rec.value(field);
    let predicate = args.node(0);
    let kept: Vec<Value<'r>> = values(&all)
        .iter()
        .filter(|v| {
            let bound = Bound {
                inner: args.rec,
                field,
                value: v,
            };
            test(predicate, &bound, args.env) == Some(true)
        })
        .cloned()
        .collect();
    Value::multi(kept)
}

fn mv_map<'r>(args: &Args<'r, '_>, field: Option<Sym>) -> Value<'r> {
    let all = args.get(0);
    let expr = args.node(1);
    let mut out = Vec::with_capacity(all.count());
    for v in values(&all) {
        let result = match field {
            Some(field) => {
                let bound = Bound {
                    inner: args.rec,
                    field,
                    value: v,
                };
                eval(expr, &bound, args.env).into_owned()
            }
            None => eval(expr, args.rec, args.env),
        };
        out.push(result);
    }
    Value::multi(out)
}

fn mv_index<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let all = args.get(0);
    let vs = values(&all);
    let len = vs.len() as i64;
    let index = |i: i64| if i < 0 { len + i } else { i };
    let Some(start) = args.int(1).map(index) else {
        return Value::Null;
    };
    let end = match args.nodes.len() {
        3 => match args.int(2).map(index) {
            Some(e) => e,
            None => return Value::Null,
        },
        _ => start,
    };
    if start < 0 || end >= len || start > end {
        return Value::Null;
    }
    Value::multi(vs[start as usize..=end as usize].to_vec())
}

fn mv_join<'r>(all: Value<'r>, delim: Value<'r>) -> Value<'r> {
    let Some(delim) = text(&delim) else {
        return Value::Null;
    };
    if let Value::Multi(_) = all {
        let texts: Vec<Cow<'_, str>> = values(&all).iter().filter_map(text).collect();
        return Value::Str(Cow::Owned(texts.join(&delim)));
    }
    map_text(all, &|s| Some(Cow::Borrowed(s)))
}

fn mv_range<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let (start, end) = (args.get(0), args.get(1));
    let (Some(start), Some(end)) = (number_of(&start), number_of(&end)) else {
        return Value::Null;
    };
    let step = match args.opt(2) {
        None => 1.0,
        Some(v) => match number_of(&v) {
            Some(n) => n.get(),
            None => match text(&v).and_then(|t| timespan_seconds(&t)) {
                Some(s) => s,
                None => return Value::Null,
            },
        },
    };
    let (from, to) = (start.get(), end.get());
    if step == 0.0 || !step.is_finite() || !from.is_finite() || !to.is_finite() {
        return Value::Null;
    }
    let count = ((to - from) / step).ceil();
    if count > MAX_VALUES as f64 {
        args.env.state.hit_limit();
        return Value::Null;
    }
    let count = count.max(0.0) as usize;
    Value::multi((0..count).map(|i| number(from + step * i as f64)).collect())
}

/// Seconds in a span such as `7d`, `12h`, `30m`, `45s`, `2w` [inferred: the page shows `7d`].
fn timespan_seconds(t: &str) -> Option<f64> {
    let t = t.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: f64 = if split == 0 {
        1.0
    } else {
        t[..split].parse().ok()?
    };
    let unit = match &t[split..] {
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return None,
    };
    Some(n * unit)
}

fn mv_sort(v: Value<'_>) -> Value<'_> {
    match v {
        Value::Multi(mut vs) => {
            vs.sort_by(|a, b| text(a).cmp(&text(b)));
            Value::Multi(vs)
        }
        v => v,
    }
}

fn mv_zip<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let (left, right) = (args.get(0), args.get(1));
    if left.is_null() || right.is_null() {
        return Value::Null;
    }
    let delim = match args.opt(2) {
        Some(d) => match text(&d) {
            Some(t) => t.into_owned(),
            None => return Value::Null,
        },
        None => ",".to_owned(),
    };
    let pairs = values(&left)
        .iter()
        .zip(values(&right))
        .map(|(a, b)| match (text(a), text(b)) {
            (Some(a), Some(b)) => Value::Str(Cow::Owned(format!("{a}{delim}{b}"))),
            _ => Value::Null,
        });
    Value::multi(pairs.collect())
}

fn split<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let (subject, delim) = (args.get(0), args.get(1));
    let Some(delim) = text(&delim) else {
        return Value::Null;
    };
    let delim = delim.into_owned();
    let state = args.env.state;
    each(subject, &|v| {
        let Some(t) = text(&v) else {
            return Value::Null;
        };
        let parts: Vec<String> = if delim.is_empty() {
            t.chars().take(MAX_VALUES + 1).map(String::from).collect()
        } else {
            t.split(delim.as_str())
                .take(MAX_VALUES + 1)
                .map(str::to_owned)
                .collect()
        };
        if parts.len() > MAX_VALUES {
            state.hit_limit();
            return Value::Null;
        }
        match parts.len() {
            1 => v,
            _ => Value::Multi(
                parts
                    .into_iter()
                    .map(|p| Value::Str(Cow::Owned(p)))
                    .collect(),
            ),
        }
    })
}

#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
    Both,
}

fn trim<'r>(args: &Args<'r, '_>, side: Side) -> Value<'r> {
    let chars = match args.opt(1) {
        None => Cow::Borrowed(" \t"),
        Some(c) => match text(&c) {
            Some(t) => Cow::Owned(t.into_owned()),
            None => return Value::Null,
        },
    };
    let set = |c: char| chars.contains(c);
    each(args.get(0), &|v| {
        map_text(v, &|s| {
            Some(Cow::Borrowed(match side {
                Side::Left => s.trim_start_matches(set),
                Side::Right => s.trim_end_matches(set),
                Side::Both => s.trim_matches(set),
            }))
        })
    })
}

fn substr<'r>(args: &Args<'r, '_>) -> Value<'r> {
    let Some(start) = args.int(1) else {
        return Value::Null;
    };
    let length = match args.nodes.len() {
        3 => match args.int(2) {
            Some(l) => Some(l),
            None => return Value::Null,
        },
        _ => None,
    };
    each(args.get(0), &|v| {
        map_text(v, &|s| Some(Cow::Borrowed(sqlite_substr(s, start, length))))
    })
}

/// SQLite's `substr(X, Y, Z)` on characters (Search Reference, Text functions: "The indexes
/// follow SQLite semantics; they start at 1. Negative indexes can be used to indicate a start
/// from the end of the string"), ported from SQLite's `substrFunc`.
fn sqlite_substr(s: &str, start: i64, length: Option<i64>) -> &str {
    let len = s.chars().count() as i64;
    let mut p1 = start;
    let (mut p2, neg) = match length {
        Some(l) if l < 0 => (-l, true),
        Some(l) => (l, false),
        None => (len.max(0) + 1, false),
    };
    if p1 < 0 {
        p1 += len;
        if p1 < 0 {
            p2 += p1;
            p2 = p2.max(0);
            p1 = 0;
        }
    } else if p1 > 0 {
        p1 -= 1;
    } else if p2 > 0 {
        p2 -= 1;
    }
    if neg {
        p1 -= p2;
        if p1 < 0 {
            p2 += p1;
            p1 = 0;
        }
    }
    if p1 + p2 > len {
        p2 = (len - p1).max(0);
    }
    let byte = |chars: i64| {
        s.char_indices()
            .nth(chars as usize)
            .map_or(s.len(), |(i, _)| i)
    };
    let from = byte(p1.min(len));
    let to = byte((p1 + p2).min(len));
    &s[from..to.max(from)]
}

/// `%XX` decoded, `+` as a space; invalid UTF-8 replaced.
fn url_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() && hex(b[i + 1]).is_some() && hex(b[i + 2]).is_some() => {
                out.push(hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_substr_semantics() {
        assert_eq!(sqlite_substr("string", 1, Some(3)), "str");
        assert_eq!(sqlite_substr("string", -3, None), "ing");
        assert_eq!(sqlite_substr("string", 0, Some(2)), "s");
        assert_eq!(sqlite_substr("string", 2, None), "tring");
        assert_eq!(sqlite_substr("string", 10, Some(2)), "");
        assert_eq!(sqlite_substr("string", -10, Some(6)), "st");
        assert_eq!(sqlite_substr("string", -10, Some(3)), "");
        assert_eq!(sqlite_substr("string", 4, Some(-2)), "tr");
        assert_eq!(sqlite_substr("héllo", 2, Some(2)), "él");
    }

    #[test]
    fn url_decoding() {
        assert_eq!(
            url_decode("http%3A%2F%2Fwww.splunk.com%2Fdownload%3Fr%3Dheader"),
            "http://www.splunk.com/download?r=header"
        );
        assert_eq!(url_decode("a+b%20c"), "a b c");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert!(matches!(url_decode("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn timespans() {
        assert_eq!(timespan_seconds("7d"), Some(604_800.0));
        assert_eq!(timespan_seconds("h"), Some(3600.0));
        assert_eq!(timespan_seconds("3mon"), None);
    }
}
