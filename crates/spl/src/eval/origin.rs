//! What an eval expression's values are made of, for the prefilter's soundness contract
//! ([`FieldOrigin`], `search::literals`): given where each field it reads comes from, whether
//! every plain run of every value it yields is text of the raw record, or one of a few
//! constants.
//!
//! Key design decision: a value is followed as *pieces of record text joined at separators*.
//! The contract is about runs of plain characters (no whitespace, `\ " & < > ;`), so a value
//! stays raw text when it is a piece of a raw value (`substr`, `split`, `mvindex`, `trim`, a
//! `replace` that keeps one anchored group) or pieces joined where one side is sure to be a
//! separator (`"\"" + NewProcessName + "\""`, `x + " " + y`): no run can then span a joint. The
//! rules, by node:
//!
//! - a field: what the caller says it is;
//! - a string or number literal: a constant (the value as written); `null()`: no value at all;
//! - `if`, `case`, `coalesce`, `nullif`, `mvappend`: any of their value arguments;
//! - `lower`, `mvindex`, `mvdedup`, `mvsort`, `mvreverse`, `mvfilter`: the values they are
//!   given (ASCII case does not matter to the contract; `upper` is derived, as Unicode
//!   upper-casing turns `ß` into `SS`);
//! - `substr`, `split`, `trim`, `ltrim`, `rtrim`: pieces of the values they are given, so raw
//!   text when those are raw text and no constant (a piece of a constant is not a constant);
//! - `replace(x, regex, r)` with a literal regex and `r` empty or one group reference: raw
//!   when `x` is, if the regex can only cut at line boundaries — it starts at the start of the
//!   text or a line (`^`, a leading `.*`), or ends at its end (`$`, a trailing greedy `.*`);
//!   an empty `r` needs one of the two, a group both ([`anchoring`]);
//! - `.` and `+` of texts: raw when both sides are, neither carries a constant, and at the
//!   joint one side surely ends (or starts) with a separator; a literal side must be made of
//!   separators only. `+` of two values that may both be numbers adds them: derived;
//! - anything else (arithmetic, other functions, Booleans): derived.

use crate::regex_text::{escaped, matching_close};
use crate::search::FieldOrigin;
use crate::search::is_plain;
use crate::sym::Sym;
use crate::value::Value;

use super::EvalExpr;
use super::ast::{BinOp, Func, Node};

/// The origin of the values `expr` yields, given the origin of each field it reads.
pub fn value_origin(expr: &EvalExpr, field: &mut dyn FnMut(Sym) -> FieldOrigin) -> FieldOrigin {
    shape(&expr.root, field).origin
}

/// What is known of a node's values.
#[derive(Debug, Clone)]
struct Shape {
    origin: FieldOrigin,
    /// Every plain run of every value is raw text, constants not excepted.
    runs_raw: bool,
    /// Every value is a non-empty text whose first character is a separator.
    starts_sep: bool,
    /// Every value is a non-empty text whose last character is a separator.
    ends_sep: bool,
    /// Every value is a text (not a number): `+` with it concatenates.
    text: bool,
}

impl Shape {
    fn derived() -> Shape {
        Shape {
            origin: FieldOrigin::derived(),
            runs_raw: false,
            starts_sep: false,
            ends_sep: false,
            text: false,
        }
    }

    /// No value at all (`null()`): the identity of [`Shape::either`].
    fn none() -> Shape {
        Shape {
            origin: FieldOrigin::raw(&[]),
            runs_raw: true,
            starts_sep: true,
            ends_sep: true,
            text: true,
        }
    }

    fn of_field(origin: FieldOrigin) -> Shape {
        Shape {
            runs_raw: origin.raw_text && origin.constants.is_empty(),
            origin,
            starts_sep: false,
            ends_sep: false,
            text: false,
        }
    }

    fn literal(text: &str, is_text: bool) -> Shape {
        let runs_raw = !text.bytes().any(is_plain);
        let sep = |c: Option<u8>| c.is_some_and(|c| !is_plain(c));
        Shape {
            origin: FieldOrigin::raw(&[text]),
            runs_raw,
            starts_sep: sep(text.bytes().next()),
            ends_sep: sep(text.bytes().last()),
            text: is_text,
        }
    }

    /// Values that are those of `self` or of `other`.
    fn either(self, other: Shape) -> Shape {
        let mut constants = self.origin.constants;
        for c in other.origin.constants {
            if !constants.contains(&c) {
                constants.push(c);
            }
        }
        Shape {
            origin: FieldOrigin {
                raw_text: self.origin.raw_text && other.origin.raw_text,
                constants,
            },
            runs_raw: self.runs_raw && other.runs_raw,
            starts_sep: self.starts_sep && other.starts_sep,
            ends_sep: self.ends_sep && other.ends_sep,
            text: self.text && other.text,
        }
    }

    /// Pieces of this node's values (their plain runs are among the values' runs).
    fn pieces(self) -> Shape {
        if self.runs_raw {
            Shape::of_field(FieldOrigin::raw(&[]))
        } else {
            Shape::derived()
        }
    }

    /// The concatenation of this node's values with `other`'s.
    fn concat(self, other: Shape) -> Shape {
        if self.runs_raw && other.runs_raw && (self.ends_sep || other.starts_sep) {
            Shape {
                origin: FieldOrigin::raw(&[]),
                runs_raw: true,
                starts_sep: self.starts_sep,
                ends_sep: other.ends_sep,
                text: true,
            }
        } else {
            Shape::derived()
        }
    }
}

fn shape(node: &Node, field: &mut dyn FnMut(Sym) -> FieldOrigin) -> Shape {
    match node {
        Node::Lit(Value::Null) => Shape::none(),
        Node::Lit(Value::Str(s)) => Shape::literal(s, true),
        Node::Lit(Value::Num(n)) => Shape::literal(&n.text(), false),
        Node::Lit(_) => Shape::derived(),
        Node::Field(f) => Shape::of_field(field(*f)),
        Node::Bin(BinOp::Concat, a, b) => shape(a, field).concat(shape(b, field)),
        Node::Bin(BinOp::Add, a, b) => {
            let (a, b) = (shape(a, field), shape(b, field));
            if a.text || b.text {
                a.concat(b)
            } else {
                Shape::derived()
            }
        }
        Node::Call(call) => {
            let args = &call.args;
            let all = |from: usize, step: usize, field: &mut dyn FnMut(Sym) -> FieldOrigin| {
                args.iter()
                    .skip(from)
                    .step_by(step)
                    .fold(Shape::none(), |acc, a| acc.either(shape(a, field)))
            };
            let first = |field: &mut dyn FnMut(Sym) -> FieldOrigin| {
                args.first().map_or_else(Shape::none, |a| shape(a, field))
            };
            match &call.func {
                Func::Case => all(1, 2, field),
                Func::If => all(1, 1, field),
                Func::Coalesce | Func::MvAppend => all(0, 1, field),
                // Not `upper`: Unicode upper-casing makes ASCII letters of other characters
                // (`ß` → `SS`, `ſ` → `S`); lower-casing does so only for the two characters
                // the prefilter admits records for (`K` Kelvin, `İ`).
                Func::Nullif
                | Func::Lower
                | Func::MvIndex
                | Func::MvDedup
                | Func::MvSort
                | Func::MvReverse => first(field),
                Func::MvFilter(f) => Shape::of_field(field(*f)),
                Func::Substr | Func::Split | Func::Trim | Func::Ltrim | Func::Rtrim => {
                    first(field).pieces()
                }
                Func::Replace(Some(re)) => match args.get(2) {
                    Some(Node::Lit(Value::Str(r))) if replacement_keeps_a_piece(re.as_str(), r) => {
                        let input = first(field);
                        match replaced_constants(re, r, &input) {
                            Some(constants) => Shape::of_field(FieldOrigin {
                                raw_text: true,
                                constants,
                            }),
                            None => input.pieces(),
                        }
                    }
                    _ => Shape::derived(),
                },
                _ => Shape::derived(),
            }
        }
        _ => Shape::derived(),
    }
}

/// The constants of `replace(x, re, r)` when `x` is raw text or constants: each constant
/// replaced (`x`'s raw values give raw pieces, as [`replacement_keeps_a_piece`] says). Only
/// for patterns that name no letter, whose matches do not depend on case (the constants are
/// kept lower-cased); `None` when the input has no constants or this does not hold.
fn replaced_constants(re: &super::Regex, r: &str, input: &Shape) -> Option<Vec<String>> {
    if input.origin.constants.is_empty() || !input.origin.raw_text {
        return None;
    }
    if !case_free(re.as_str()) {
        return None;
    }
    input
        .origin
        .constants
        .iter()
        .map(|c| re.replace_all(c, r).ok().map(|v| v.to_ascii_lowercase()))
        .collect()
}

/// Whether a pattern names no letter other than in escapes (`\s`, `\w`, `\d`) and leading
/// flags: its matches are the same on a text and on the text lower-cased.
fn case_free(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    // Leading flags such as `(?s)`.
    while b.get(i..i + 2) == Some(b"(?") {
        match pattern[i + 2..].find(')') {
            Some(close)
                if pattern[i + 2..i + 2 + close]
                    .bytes()
                    .all(|c| c.is_ascii_lowercase()) =>
            {
                i += 2 + close + 1;
            }
            _ => break,
        }
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            c if c.is_ascii_alphabetic() => return false,
            _ => {}
        }
        i += 1;
    }
    true
}

/// Whether `replace(x, pattern, replacement)` yields values whose plain runs are all runs of
/// `x`: the replacement is empty or one group reference (no text of its own), and the pattern
/// cuts only at line boundaries ([`anchoring`]).
fn replacement_keeps_a_piece(pattern: &str, replacement: &str) -> bool {
    let b = replacement.as_bytes();
    let (start, end) = anchoring(pattern);
    match b {
        [] => start || end,
        [b'\\', d] if d.is_ascii_digit() => start && end,
        _ => false,
    }
}

/// Whether every match of `pattern` starts at the start of the text or of a line (it begins
/// with `^`, or with `.*`/`.+` that can always reach back to the line's start, possibly inside
/// leading groups), and whether every match ends at the end of the text or of a line (it ends
/// with `$` outside a class, or with a greedy `.*`/`.+`). A pattern with an alternation at its
/// top level, or in the group that leads or ends it, is neither; so is one in extended mode.
///
/// Why this is enough: the replaced spans then border the text's ends or a line break, and a
/// line break is a separator, so the text left on either side of a span never joins another
/// piece into a new run. Several matches on one line tile it from its start (a leading `.*`
/// reaches back to where the previous match ended), so they join nothing either.
pub(crate) fn anchoring(pattern: &str) -> (bool, bool) {
    let mut p = pattern;
    // Leading inline flags: `(?s)`, `(?i)`, `(?m)` (line anchors still sit at line breaks).
    while let Some(rest) = p.strip_prefix("(?") {
        let Some(close) = rest.find(')') else { break };
        let flags = &rest[..close];
        if flags.is_empty()
            || !flags
                .bytes()
                .all(|c| matches!(c, b'i' | b's' | b'm' | b'u'))
        {
            break;
        }
        p = &rest[close + 1..];
    }
    if pattern.contains("(?x") || has_top_level_alternation(p) {
        return (false, false);
    }
    (starts_anchored(p), ends_anchored(p))
}

fn starts_anchored(p: &str) -> bool {
    if p.starts_with('^') || starts_with_dot_run(p) {
        return true;
    }
    // A leading group: its content must start anchored, and if the group may be skipped, what
    // follows it must too.
    let Some((content, after)) = leading_group(p) else {
        return false;
    };
    if has_top_level_alternation(content) || !starts_anchored(content) {
        return false;
    }
    match after.as_bytes().first() {
        Some(b'?' | b'*') => starts_anchored(after.get(1..).unwrap_or("")),
        Some(b'{') => false,
        _ => true,
    }
}

fn starts_with_dot_run(p: &str) -> bool {
    p.starts_with(".*") || p.starts_with(".+")
}

fn ends_anchored(p: &str) -> bool {
    let b = p.as_bytes();
    let n = b.len();
    if n >= 1 && b[n - 1] == b'$' && !escaped(b, n - 1) {
        return true;
    }
    if n >= 2 && b[n - 2] == b'.' && matches!(b[n - 1], b'*' | b'+') && !escaped(b, n - 2) {
        return true;
    }
    // A trailing group that is not quantified: its content must end anchored.
    if n >= 1
        && b[n - 1] == b')'
        && !escaped(b, n - 1)
        && let Some(open) = matching_open(p, n - 1)
    {
        let content = group_content(&p[open + 1..n - 1]);
        return content.is_some_and(|c| !has_top_level_alternation(c) && ends_anchored(c));
    }
    false
}

/// The content of a group written `(…`, `(?:…`, `(?<name>…`, `(?P<name>…` or `(?s:…` (the text
/// from just after `(` to just before its `)`); `None` for look-around and other groups.
fn group_content(inner: &str) -> Option<&str> {
    let Some(rest) = inner.strip_prefix('?') else {
        return Some(inner);
    };
    if let Some(r) = rest.strip_prefix(':') {
        return Some(r);
    }
    if let Some(r) = rest.strip_prefix("P<").or_else(|| rest.strip_prefix('<'))
        && !r.starts_with('=')
        && !r.starts_with('!')
    {
        return r.find('>').map(|i| &r[i + 1..]);
    }
    let colon = rest.find(':')?;
    rest[..colon]
        .bytes()
        .all(|c| matches!(c, b'i' | b's' | b'm' | b'u' | b'-'))
        .then(|| &rest[colon + 1..])
}

/// For a pattern starting with a group: the group's content and the text after it.
fn leading_group(p: &str) -> Option<(&str, &str)> {
    if !p.starts_with('(') {
        return None;
    }
    let close = matching_close(p)?;
    Some((group_content(&p[1..close])?, &p[close + 1..]))
}

/// The index of the `(` opening the `)` at `close`.
fn matching_open(p: &str, close: usize) -> Option<usize> {
    (0..close).rev().find(|&i| {
        p.as_bytes()[i] == b'('
            && !escaped(p.as_bytes(), i)
            && matching_close(&p[i..]) == Some(close - i)
    })
}

/// Whether `|` occurs outside every group and class.
fn has_top_level_alternation(p: &str) -> bool {
    let b = p.as_bytes();
    let (mut depth, mut class, mut i) = (0i32, false, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !class => class = true,
            b']' if class => class = false,
            b'(' if !class => depth += 1,
            b')' if !class => depth -= 1,
            b'|' if !class && depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str, raw: &[&str]) -> FieldOrigin {
        let e = EvalExpr::parse(text).unwrap();
        value_origin(&e, &mut |f| {
            if raw.contains(&f.as_str()) {
                FieldOrigin::raw(&[])
            } else if f.as_str() == "filled" {
                FieldOrigin::raw(&["unknown"])
            } else {
                FieldOrigin::derived()
            }
        })
    }

    fn is_raw(text: &str, raw: &[&str]) -> bool {
        let o = origin(text, raw);
        o.raw_text
    }

    #[test]
    fn fields_constants_and_branches() {
        assert_eq!(origin("Image", &["Image"]), FieldOrigin::raw(&[]));
        assert_eq!(
            origin(r#"if(isnull(x) OR x="","unknown",x)"#, &["x"]),
            FieldOrigin::raw(&["unknown"])
        );
        assert_eq!(
            origin(r#"case(EventCode=1,"allowed",EventCode=5,"blocked")"#, &[]),
            FieldOrigin::raw(&["allowed", "blocked"])
        );
        assert_eq!(origin("case(a=1, b)", &["b"]), FieldOrigin::raw(&[]));
        assert_eq!(
            origin("coalesce(a, b, null())", &["a", "b"]),
            FieldOrigin::raw(&[])
        );
        assert!(!is_raw("coalesce(a, d)", &["a"]));
        assert_eq!(origin("if(isnum(p),p,0)", &["p"]), FieldOrigin::raw(&["0"]));
        assert!(!is_raw("true()", &[]));
        assert!(!is_raw("a = b", &["a", "b"]));
    }

    #[test]
    fn pieces_of_raw_text_are_raw_but_pieces_of_constants_are_not() {
        assert!(
            !is_raw("upper(a)", &["a"]),
            "upper-casing can make new ASCII runs"
        );
        for e in [
            "lower(a)",
            "substr(a, 2, 3)",
            "mvindex(split(a, \"\\\\\"), -1)",
            "trim(a)",
            "mvdedup(a)",
        ] {
            assert!(is_raw(e, &["a"]), "{e}");
        }
        assert!(!is_raw("substr(filled, 1, 3)", &[]));
        assert!(is_raw("lower(filled)", &[]));
        assert!(!is_raw("tostring(a)", &["a"]));
        assert!(!is_raw("urldecode(a)", &["a"]));
    }

    #[test]
    fn concatenation_is_raw_only_across_separators() {
        // The 4688 `process` of the Windows add-on (W88 props.conf, [source::XmlWinEventLog:Security]).
        let process = r#"case(EventCode==4688, coalesce(if(match(pcp,"(\\\)"), pcl, (if(match(npn,"\s"), "\"" + npn + "\"", npn)) + " " + pca), npn), EventCode==4696, tpn, true(), coalesce(process, Process, ProcessName))"#;
        let raw = [
            "pcp",
            "pcl",
            "npn",
            "pca",
            "tpn",
            "process",
            "Process",
            "ProcessName",
        ];
        assert_eq!(origin(process, &raw), FieldOrigin::raw(&[]));
        assert!(is_raw("a . \" \" . b", &["a", "b"]));
        assert!(!is_raw("a . b", &["a", "b"]), "a run may span the joint");
        assert!(
            !is_raw("\"REG_\" + a", &["a"]),
            "a literal with plain characters"
        );
        assert!(!is_raw("a + b", &["a", "b"]), "two numbers add");
        assert!(
            !is_raw("a . \" \" . filled", &["a"]),
            "a constant inside a text"
        );
        assert!(!is_raw("vendor.\" \".product", &[]));
    }

    #[test]
    fn replace_is_raw_when_it_cuts_at_line_boundaries() {
        let raw = |e: &str| is_raw(e, &["x"]);
        // Sysmon add-on basename, user, registry value and key names; CIM 5 fallback; the
        // Security add-on's process name; CrowdStrike's basename.
        assert!(raw(r#"replace(x,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)","")"#));
        assert!(raw(r#"replace(x, "(.*)\\\(.+)$","\2")"#));
        assert!(raw(r#"replace(x,"(.*)\\\(\w+|\(Default\))$","\2")"#));
        assert!(raw(r#"replace(x,"\\\(\w+|\(Default\))$","")"#));
        assert!(raw(r#"replace(x,"^\s*([^\s]+).*","\1")"#));
        assert!(raw(r#"replace(x,"(?:.*\\\)?(.*)","\1")"#));
        assert!(raw(r#"replace(x, "(?s)^.*\\\\", "")"#));
        assert!(raw(r#"replace(x,"^\s*\".*\\\\([^\"]+)\"(?s:.*)$","\1")"#));
        assert!(raw(r#"replace(x,"(.*\\\)","")"#));
        // The CIM 5 fallback over a filled field: its constant is replaced too.
        assert_eq!(
            origin(r#"replace(filled,"^\s*([^\s]+).*","\1")"#, &[]),
            FieldOrigin::raw(&["unknown"])
        );
        assert!(
            !raw(r#"replace(filled,"^(x).*","\1")"#),
            "a letter in the pattern"
        );
        // Unanchored cuts can join two pieces into a new run: `a:b-c` → `a-c`.
        assert!(!raw(r#"replace(x,"(:[\w\. ]+)","")"#));
        assert!(!raw(r#"replace(x, "'", "")"#));
        // Replacement text of its own, or two groups.
        assert!(!raw(r#"replace(x,"^(.*)$","a\1")"#));
        assert!(!raw(r#"replace(x,"^(.)(.*)$","\2\1")"#));
        // Alternation at the top level.
        assert!(!raw(r#"replace(x,"^a|b","")"#));
    }

    #[test]
    fn anchoring_reads_the_pattern_shape() {
        assert_eq!(anchoring("^abc"), (true, false));
        assert_eq!(anchoring("abc$"), (false, true));
        assert_eq!(anchoring(r"abc\$"), (false, false));
        assert_eq!(anchoring("(?s)^.*x"), (true, false));
        assert_eq!(anchoring("(a|.*)x"), (false, false));
        assert_eq!(anchoring("(?=.*)x"), (false, false));
        assert_eq!(anchoring("(?:a)?.*"), (false, true));
        assert_eq!(anchoring(".*?x"), (true, false));
        assert_eq!(anchoring("x.*?"), (false, false));
        assert_eq!(anchoring("(?x)^a$"), (false, false));
        assert_eq!(anchoring("^(a(?:b.*))"), (true, true));
        assert_eq!(anchoring("^(?=a.*)"), (true, false));
        assert_eq!(anchoring("^(a|.*)"), (true, false));
    }
}
