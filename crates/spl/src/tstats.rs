//! Compiling the generating `tstats` command.
//!
//! `tstats [option=value]… <function>… [FROM] datamodel=<model>.<dataset> [where <expr>]
//! [by <field>… [span=<n><unit>]]`, with field names resolved to CIM fields.

use std::ops::Range;

use cimhunt_cim::Field;

use crate::error::{RawError, RawResult};
use crate::expr::ExprParser;
use crate::lexer::{Scanner, Token};
use crate::plan::{AggFunc, Aggregate, ByField, Expr, FieldRef, Tstats};

/// The one data-model dataset supported.
const SUPPORTED: (&str, &str) = ("Endpoint", "Processes");

/// Resolves a field name inside `tstats`: `_time`, a CIM field (with or without the
/// `Processes.` prefix), or any other name (always null in the dataset).
pub(crate) fn resolve_tstats_field(name: &str) -> FieldRef {
    if name == "_time" {
        return FieldRef::Time;
    }
    match Field::from_name(name) {
        Some(f) => FieldRef::Cim(f),
        None => FieldRef::Named(name.to_owned()),
    }
}

/// Compiles the arguments of `tstats`; `sc` is just after the command name, `name_span` is the
/// command name's span.
pub(crate) fn compile_tstats(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Tstats> {
    let mut t = Tstats {
        datamodel: String::new(),
        dataset: String::new(),
        filter: Expr::True,
        aggregates: Vec::new(),
        by: Vec::new(),
        fillnull_value: None,
        summariesonly: None,
        allow_old_summaries: None,
    };
    let mut have_model = false;
    let mut have_where = false;
    let mut span: Option<(u64, Range<usize>)> = None;
    while !sc.at_end() {
        if !have_model {
            if let Some(from) = sc.eat_keyword("from", true) {
                sc.skip_ws();
                datamodel(sc, &mut t, Some(from))?;
                have_model = true;
            } else if sc
                .rest()
                .get(..9)
                .is_some_and(|h| h.eq_ignore_ascii_case("datamodel"))
                && sc
                    .rest()
                    .get(9..)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            {
                datamodel(sc, &mut t, None)?;
                have_model = true;
            } else {
                option_or_function(sc, &mut t)?;
            }
            continue;
        }
        if let Some(kw) = sc.eat_keyword("where", true) {
            if have_where {
                return Err(RawError::syntax(
                    "a second `where` in tstats",
                    kw,
                    "already has a where-clause",
                ));
            }
            have_where = true;
            if sc.at_end() || sc.at_keyword("by", true) {
                return Err(RawError::syntax(
                    "empty where-clause",
                    kw,
                    "nothing after this",
                ));
            }
            t.filter = ExprParser::new(sc, &resolve_tstats_field, true).parse()?;
        } else if let Some(kw) = sc.eat_keyword("by", true) {
            by_list(sc, &mut t, &mut span, kw)?;
        } else {
            let at = sc.pos();
            let tok = sc.word(|_, _| false).map(|t| t.text).unwrap_or_default();
            return Err(RawError::syntax(
                format!("unexpected `{tok}` in tstats"),
                at..sc.pos(),
                "expected `where` or `by`",
            ));
        }
    }
    if !have_model {
        return Err(RawError::syntax(
            "tstats without `from datamodel=…`",
            name_span,
            "this tstats names no data model",
        ));
    }
    if let Some((secs, span)) = span {
        match t.by.iter_mut().find(|b| b.field == FieldRef::Time) {
            Some(b) => b.span_secs = Some(secs),
            None => {
                return Err(RawError::syntax(
                    "`span` without `_time` in the by-clause",
                    span,
                    "needs `by _time`",
                ));
            }
        }
    }
    Ok(t)
}

/// `datamodel=<model>.<dataset>` (also quoted, also after `from datamodel <name>`).
fn datamodel(sc: &mut Scanner<'_>, t: &mut Tstats, from: Option<Range<usize>>) -> RawResult<()> {
    let at = sc.pos();
    let Some(kw) = sc.eat_keyword("datamodel", true).or_else(|| {
        // `datamodel=` has no boundary after the keyword; accept it explicitly.
        sc.rest()
            .get(..9)
            .is_some_and(|h| h.eq_ignore_ascii_case("datamodel"))
            .then(|| {
                for _ in 0..9 {
                    sc.bump();
                }
                at..at + 9
            })
    }) else {
        let span = from.unwrap_or(at..at);
        return Err(RawError::syntax(
            "expected `datamodel=` after `from`",
            span,
            "here",
        ));
    };
    sc.skip_ws();
    sc.eat('=');
    sc.skip_ws();
    let Some(name) = sc.value(false)? else {
        return Err(RawError::syntax(
            "missing data model name",
            kw,
            "expected `datamodel=<model>.<dataset>`",
        ));
    };
    let (model, dataset) = name
        .text
        .split_once('.')
        .unwrap_or((name.text.as_str(), ""));
    if (model, dataset) != SUPPORTED {
        return Err(RawError::unsupported(
            format!("datamodel `{}`", name.text),
            name.span,
        ));
    }
    t.datamodel = model.to_owned();
    t.dataset = dataset.to_owned();
    Ok(())
}

/// One `key=value` option or one statistical function with optional `as` alias.
fn option_or_function(sc: &mut Scanner<'_>, t: &mut Tstats) -> RawResult<()> {
    if sc.eat(',') {
        return Ok(());
    }
    let at = sc.pos();
    let Some(name) = sc.word(|c, _| matches!(c, '(' | ')' | '=' | ',')) else {
        let c = sc.peek().map(String::from).unwrap_or_default();
        return Err(RawError::syntax(
            format!("unexpected `{c}` in tstats"),
            at..at + c.len().max(1),
            "here",
        ));
    };
    if sc.eat('=') {
        return option(sc, t, name);
    }
    if let Some(kw) = ["where", "by"]
        .into_iter()
        .find(|k| name.text.eq_ignore_ascii_case(k))
    {
        return Err(RawError::syntax(
            format!("`{kw}` before `from datamodel=…`"),
            name.span,
            "tstats needs the data model first",
        ));
    }
    let arg = if sc.peek() == Some('(') {
        Some(function_argument(sc, &name)?)
    } else {
        None
    };
    let func = match name.text.as_str() {
        "count" => AggFunc::Count,
        "dc" | "distinct_count" => AggFunc::DistinctCount,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "values" => AggFunc::Values,
        "earliest" => AggFunc::Earliest,
        "latest" => AggFunc::Latest,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        other => {
            return Err(RawError::unsupported(
                format!("tstats function `{other}`"),
                name.span,
            ));
        }
    };
    if arg.is_none() && func != AggFunc::Count {
        return Err(RawError::syntax(
            format!("`{}` needs a field", name.text),
            name.span,
            "write it as a call, e.g. `min(_time)`",
        ));
    }
    let mut output = match &arg {
        Some(a) => format!("{}({})", name.text, a.text),
        None => name.text.clone(),
    };
    sc.skip_ws();
    if let Some(kw) = sc.eat_keyword("as", true) {
        sc.skip_ws();
        match sc.list_name()? {
            Some(alias) => output = alias.text,
            None => {
                return Err(RawError::syntax(
                    "missing name after `as`",
                    kw,
                    "expected a field name",
                ));
            }
        }
    }
    t.aggregates.push(Aggregate {
        func,
        field: arg.map(|a| resolve_tstats_field(&a.text)),
        output,
    });
    Ok(())
}

/// The `(field)` of a function call; the scanner is at `(`.
fn function_argument(sc: &mut Scanner<'_>, name: &Token) -> RawResult<Token> {
    let open = sc.pos();
    sc.bump();
    sc.skip_ws();
    let arg = sc.word(|c, _| matches!(c, '(' | ')' | ','));
    sc.skip_ws();
    match (arg, sc.peek()) {
        (Some(arg), Some(')')) => {
            sc.bump();
            Ok(arg)
        }
        (_, None) => Err(RawError::syntax(
            "unbalanced parenthesis",
            open..open + 1,
            "this `(` is never closed",
        )),
        _ => Err(RawError::unsupported(
            format!("tstats function `{}` argument", name.text),
            name.span.start..sc.pos(),
        )),
    }
}

/// `key=value`; the scanner is just after `=`.
fn option(sc: &mut Scanner<'_>, t: &mut Tstats, key: Token) -> RawResult<()> {
    sc.skip_ws();
    let Some(value) = sc.value(false)? else {
        return Err(RawError::syntax(
            format!("missing value for `{}`", key.text),
            key.span,
            "expected `key=value`",
        ));
    };
    match key.text.as_str() {
        "summariesonly" => t.summariesonly = Some(boolean(&value)?),
        "allow_old_summaries" => t.allow_old_summaries = Some(boolean(&value)?),
        "fillnull_value" => t.fillnull_value = Some(value.text),
        other => {
            return Err(RawError::unsupported(
                format!("tstats option `{other}`"),
                key.span,
            ));
        }
    }
    Ok(())
}

fn boolean(v: &Token) -> RawResult<bool> {
    match v.text.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" => Ok(true),
        "false" | "f" | "0" | "no" => Ok(false),
        _ => Err(RawError::syntax(
            format!("`{}` is not a boolean", v.text),
            v.span.clone(),
            "expected true or false",
        )),
    }
}

/// The by-list: field names separated by spaces or commas, and `span=<n><unit>`. Stops at the
/// end or at `where`.
fn by_list(
    sc: &mut Scanner<'_>,
    t: &mut Tstats,
    span: &mut Option<(u64, Range<usize>)>,
    kw: Range<usize>,
) -> RawResult<()> {
    let before = t.by.len();
    loop {
        if sc.at_end() || sc.at_keyword("where", true) {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        let Some(name) = sc.list_name()? else {
            let at = sc.pos();
            return Err(RawError::syntax(
                "unexpected character in the by-clause",
                at..at + 1,
                "expected a field name",
            ));
        };
        if !name.quoted
            && let Some(v) = name.text.strip_prefix("span=")
        {
            *span = Some((span_seconds(v, &name.span)?, name.span));
            continue;
        }
        if !name.quoted && name.text == "span" {
            sc.skip_ws();
            if sc.eat('=') {
                sc.skip_ws();
                let v = sc.list_name()?.unwrap_or(Token {
                    text: String::new(),
                    span: name.span.clone(),
                    quoted: false,
                });
                *span = Some((span_seconds(&v.text, &v.span)?, name.span.start..v.span.end));
                continue;
            }
        }
        t.by.push(ByField {
            field: resolve_tstats_field(&name.text),
            output: name.text,
            span_secs: None,
        });
    }
    if t.by.len() == before && span.is_none() {
        return Err(RawError::syntax(
            "empty by-clause",
            kw,
            "expected field names after this",
        ));
    }
    Ok(())
}

/// `1h`, `30m`, `10s`, `2d` (and the long unit names) in seconds.
fn span_seconds(v: &str, at: &Range<usize>) -> RawResult<u64> {
    let digits = v.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = v.split_at(digits);
    let Ok(n) = n.parse::<u64>() else {
        return Err(RawError::syntax(
            format!("bad span `{v}`"),
            at.clone(),
            "expected e.g. `span=1h`",
        ));
    };
    let mult = match unit {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        other => {
            return Err(RawError::unsupported(
                format!("span unit `{other}`"),
                at.clone(),
            ));
        }
    };
    n.checked_mul(mult).filter(|&s| s > 0).ok_or_else(|| {
        RawError::syntax(
            format!("bad span `{v}`"),
            at.clone(),
            "expected a positive span",
        )
    })
}
