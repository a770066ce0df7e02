//! Compiling the row stages after `tstats`: `rename`, `convert`, `search`, `table`, `fields`.

use std::ops::Range;

use crate::error::{RawError, RawResult};
use crate::expr::ExprParser;
use crate::lexer::{Scanner, Token};
use crate::plan::{Conversion, ConvertFunc, FieldRef, Stage};

/// `convert`'s format when `timeformat` is not given.
pub(crate) const DEFAULT_TIMEFORMAT: &str = "%m/%d/%Y %H:%M:%S";

/// Compiles one row stage; `name` is the command name (lower-cased) and `sc` is just after it.
pub(crate) fn compile_stage(
    name: &str,
    name_span: Range<usize>,
    sc: &mut Scanner<'_>,
) -> RawResult<Stage> {
    match name {
        "rename" => rename(sc, name_span),
        "convert" => convert(sc, name_span),
        "search" => {
            let resolve = |n: &str| FieldRef::Named(n.to_owned());
            Ok(Stage::Search(ExprParser::new(sc, &resolve, false).parse()?))
        }
        "table" => Ok(Stage::Table(names(sc, &name_span, "table")?)),
        "fields" => fields(sc, name_span),
        other => Err(RawError::unsupported(
            format!("command `{other}`"),
            name_span,
        )),
    }
}

/// `rename a as b, "X.*" as *`.
fn rename(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Stage> {
    let mut pairs = Vec::new();
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        let from = required_name(sc)?;
        sc.skip_ws();
        let Some(kw) = sc.eat_keyword("as", true) else {
            return Err(RawError::syntax(
                "expected `as` in rename",
                from.span,
                "rename this field `as` what?",
            ));
        };
        sc.skip_ws();
        let Some(to) = sc.list_name()? else {
            return Err(RawError::syntax(
                "missing new name after `as`",
                kw,
                "expected a field name",
            ));
        };
        pairs.push((from.text, to.text));
    }
    if pairs.is_empty() {
        return Err(RawError::syntax(
            "rename needs `field as newname`",
            name_span,
            "nothing to rename",
        ));
    }
    Ok(Stage::Rename(pairs))
}

/// `convert [timeformat=…] ctime(f) [as g] …`.
fn convert(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Stage> {
    let mut timeformat = DEFAULT_TIMEFORMAT.to_owned();
    let mut items = Vec::new();
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        let at = sc.pos();
        let Some(word) = sc.word(|c, _| matches!(c, '(' | ')' | '=' | ',')) else {
            let c = sc.peek().map(String::from).unwrap_or_default();
            return Err(RawError::syntax(
                format!("unexpected `{c}` in convert"),
                at..at + c.len().max(1),
                "here",
            ));
        };
        if sc.eat('=') {
            if word.text != "timeformat" {
                return Err(RawError::unsupported(
                    format!("convert option `{}`", word.text),
                    word.span,
                ));
            }
            sc.skip_ws();
            match sc.value(false)? {
                Some(v) => timeformat = v.text,
                None => {
                    return Err(RawError::syntax(
                        "missing value for `timeformat`",
                        word.span,
                        "expected a format",
                    ));
                }
            }
            continue;
        }
        if sc.peek() != Some('(') {
            return Err(RawError::syntax(
                format!("expected a conversion like `ctime({})`", word.text),
                word.span,
                "not a function call",
            ));
        }
        let open = sc.pos();
        sc.bump();
        sc.skip_ws();
        let field = sc.word(|c, _| matches!(c, '(' | ')' | ','));
        sc.skip_ws();
        if !sc.eat(')') {
            return Err(RawError::syntax(
                "unbalanced parenthesis",
                open..open + 1,
                "this `(` is never closed",
            ));
        }
        if word.text != "ctime" {
            return Err(RawError::unsupported(
                format!("convert function `{}`", word.text),
                word.span,
            ));
        }
        let Some(field) = field else {
            return Err(RawError::syntax(
                "`ctime()` needs a field",
                word.span.start..sc.pos(),
                "empty",
            ));
        };
        sc.skip_ws();
        let mut output = None;
        if let Some(kw) = sc.eat_keyword("as", true) {
            sc.skip_ws();
            match sc.list_name()? {
                Some(n) => output = Some(n.text),
                None => {
                    return Err(RawError::syntax(
                        "missing name after `as`",
                        kw,
                        "expected a field name",
                    ));
                }
            }
        }
        items.push(Conversion {
            func: ConvertFunc::Ctime,
            field: field.text,
            output,
        });
    }
    if items.is_empty() {
        return Err(RawError::syntax(
            "convert needs a conversion such as `ctime(field)`",
            name_span,
            "nothing to convert",
        ));
    }
    Ok(Stage::Convert { timeformat, items })
}

/// `fields [+|-] a, b`.
fn fields(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Stage> {
    sc.skip_ws();
    let mut remove = false;
    if matches!(sc.peek(), Some('+' | '-'))
        && sc.peek2().is_none_or(|c| c.is_whitespace() || c == ',')
    {
        remove = sc.bump() == Some('-');
    }
    Ok(Stage::Fields {
        remove,
        fields: names(sc, &name_span, "fields")?,
    })
}

/// A non-empty list of names separated by spaces or commas.
fn names(sc: &mut Scanner<'_>, name_span: &Range<usize>, cmd: &str) -> RawResult<Vec<String>> {
    let mut out = Vec::new();
    loop {
        if sc.at_end() {
            break;
        }
        if sc.eat(',') {
            continue;
        }
        out.push(required_name(sc)?.text);
    }
    if out.is_empty() {
        return Err(RawError::syntax(
            format!("{cmd} needs field names"),
            name_span.clone(),
            "no fields",
        ));
    }
    Ok(out)
}

fn required_name(sc: &mut Scanner<'_>) -> RawResult<Token> {
    let at = sc.pos();
    sc.list_name()?
        .ok_or_else(|| RawError::syntax("expected a field name", at..at + 1, "here"))
}
