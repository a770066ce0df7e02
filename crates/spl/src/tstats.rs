//! Compiling the generating `tstats` command.
//!
//! `tstats [option=value]… <function>… [FROM] datamodel=<model>[.<dataset>] [where <expr>]
//! [by <field>… [span=<n><unit>]]` (Splunk Search Reference, "tstats"; spec section 3).
//!
//! Field names are kept as written (`Processes.process_name`); the data-model catalog resolves
//! them against the dataset when the plan is bound ([`crate::Catalog`]).

use std::ops::Range;

use crate::agg::{AggCall, AggFunc, AggSpec, ByField, NullBy};
use crate::error::{RawError, RawResult};
use crate::lexer::{Scanner, Token};
use crate::search::Expr;
use crate::search::parse::{ExprParser, SubsearchTerm};
use crate::sym::Sym;

/// A compiled `tstats`: which dataset, which events, what to aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct Tstats {
    /// The data model as written, e.g. `Endpoint`.
    pub datamodel: String,
    /// The dataset path after the model, e.g. `Processes` (empty for `datamodel=Endpoint`).
    pub dataset: String,
    /// The where-clause; [`Expr::True`] when absent.
    pub filter: Expr,
    /// The aggregation (`fillnull_value` decides what a null by-field does).
    pub agg: AggSpec,
    /// `summariesonly` as written (no effect on results; kept for `explain`).
    pub summariesonly: Option<bool>,
    /// `allow_old_summaries` as written (no effect on results).
    pub allow_old_summaries: Option<bool>,
}

/// Compiles the arguments of `tstats` (`sc` is just after the command name, `name_span` is the
/// command name's span); returns it with the span of the data model name. Subsearch terms of
/// the where-clause are compiled by `subsearch`.
pub(crate) fn compile_tstats(
    sc: &mut Scanner<'_>,
    name_span: Range<usize>,
    subsearch: &mut dyn SubsearchTerm,
) -> RawResult<(Tstats, Range<usize>)> {
    let mut t = Tstats {
        datamodel: String::new(),
        dataset: String::new(),
        filter: Expr::True,
        agg: AggSpec {
            calls: Vec::new(),
            by: Vec::new(),
            null_by: NullBy::Drop,
        },
        summariesonly: None,
        allow_old_summaries: None,
    };
    let mut have_model = false;
    let mut model_span = name_span.clone();
    let mut have_where = false;
    let mut span: Option<(u64, Range<usize>)> = None;
    while !sc.at_end() {
        if !have_model {
            if let Some(from) = sc.eat_keyword("from", true) {
                sc.skip_ws();
                model_span = datamodel(sc, &mut t, Some(from))?;
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
                model_span = datamodel(sc, &mut t, None)?;
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
            t.filter = ExprParser::new(sc, true)
                .with_subsearch(&mut *subsearch)
                .parse()?;
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
        let time = Sym::new("_time");
        match t.agg.by.iter_mut().find(|b| b.field == time) {
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
    Ok((t, model_span))
}

/// `datamodel=<model>.<dataset>` (also quoted, also after `from datamodel <name>`).
fn datamodel(
    sc: &mut Scanner<'_>,
    t: &mut Tstats,
    from: Option<Range<usize>>,
) -> RawResult<Range<usize>> {
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
    if model.is_empty() {
        return Err(RawError::syntax(
            "missing data model name",
            name.span,
            "expected `datamodel=<model>.<dataset>`",
        ));
    }
    t.datamodel = model.to_owned();
    t.dataset = dataset.to_owned();
    Ok(name.span)
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
    let Some(func) = AggFunc::from_name(&name.text).filter(|_| name.text != "c") else {
        return Err(RawError::unsupported(
            format!("tstats function `{}`", name.text),
            name.span,
        ));
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
    if let Some(a) = arg.as_ref().filter(|a| a.text.contains('*')) {
        // No ESCU search writes one; unsupported rather than a field named `*`.
        return Err(RawError::unsupported(
            "tstats with a wildcard argument",
            a.span.clone(),
        ));
    }
    t.agg.calls.push(AggCall::new(
        func,
        arg.map(|a| Sym::new(&a.text)),
        Sym::new(&output),
    ));
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
        "fillnull_value" => t.agg.null_by = NullBy::Fill(value.text),
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
    let before = t.agg.by.len();
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
        let sym = Sym::new(&name.text);
        t.agg.by.push(ByField {
            field: sym,
            output: sym,
            span_secs: None,
        });
    }
    if t.agg.by.len() == before && span.is_none() {
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
