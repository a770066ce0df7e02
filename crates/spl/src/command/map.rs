//! `map search="<search with $field$ tokens>" [maxsearches=<n>]` (Search Reference, "map"):
//! runs the search once for each input row (at most `maxsearches`, 10 by default), with each
//! `$field$` replaced by that row's value of the field, and returns all their results, in the
//! order of the input rows.
//!
//! cimhunt cannot search the events again once they have been read, so it runs a *superset* of
//! the template beside the detection, as a subsearch over the same events: the template's first
//! command with every `$field$` term made a wildcard (`TargetLogonId=$TargetLogonId$` becomes
//! `TargetLogonId=*`), collecting the matching events. For each input row, the first command
//! with the row's values then selects that row's events among them, and the template's other
//! commands run over those. This gives the rows Splunk's repeated searches give as long as the
//! tokens appear only in the template's first command, which must be a search over events;
//! other templates are unsupported. The superset is bounded by the `max_rows` budget.
//!
//! A token names a field of the input row; a field with several values gives its first [I], a
//! missing one the empty text [I]. An input row whose substituted search does not parse gives
//! no rows and a warning. Rows beyond `maxsearches` are not searched, with a warning.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::compile::ParseEnv;
use crate::error::{RawError, RawResult};
use crate::lexer::{Scanner, split_commands};
use crate::live::Live;
use crate::plan::{Aggregation, Plan, Source};
use crate::row::Row;
use crate::search::parse_expr;
use crate::sym::Sym;

/// The `map` command.
#[derive(Debug)]
pub struct Map {
    template: String,
    /// The first command's search text, with its `$field$` tokens.
    first: String,
    commands: Vec<Arc<dyn Command>>,
    superset: usize,
    /// What the first command reads of an event, whatever the tokens' values.
    first_reads: Reads,
    maxsearches: usize,
}

/// The `$name$` tokens of a text, in order.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else { break };
        let name = &after[..end];
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            out.push(name.to_owned());
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    out
}

/// `text` with each `$name$` replaced by `value(name)`.
fn substitute(text: &str, value: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else { break };
        let name = &after[..end];
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            out.push_str(&rest[..start]);
            out.push_str(&value(name));
            rest = &after[end + 1..];
        } else {
            out.push_str(&rest[..start + 1]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

impl Map {
    pub(crate) fn parse(
        sc: &mut Scanner<'_>,
        name_span: Range<usize>,
        env: &mut ParseEnv<'_>,
    ) -> RawResult<Self> {
        let mut template: Option<crate::lexer::Token> = None;
        let mut maxsearches = 10usize;
        loop {
            if sc.at_end() {
                break;
            }
            let Some(key) = args::eat_key(sc) else {
                return Err(RawError::unsupported("map of a saved search", name_span));
            };
            let v = args::value(sc, &key)?;
            match key.text.as_str() {
                "search" => template = Some(v),
                "maxsearches" => maxsearches = args::integer(&v)? as usize,
                _ => return Err(args::unknown_option("map", &key)),
            }
        }
        let Some(template) = template else {
            return Err(RawError::syntax(
                "map needs search=\"…\"",
                name_span,
                "which search?",
            ));
        };
        let at = template.span.clone();
        let text = template.text.trim().to_owned();
        let parts = split_commands(&text).map_err(|e| RawError {
            span: at.clone(),
            ..e
        })?;
        let first_range = parts.first().cloned().unwrap_or(0..0);
        let first_text = text[first_range.clone()].trim();
        let first = first_text
            .strip_prefix("search")
            .filter(|r| r.starts_with(char::is_whitespace))
            .unwrap_or(first_text)
            .trim()
            .to_owned();
        if first.is_empty() || first_text.starts_with('|') {
            return Err(RawError::unsupported(
                "map of a search that does not start with a search over events",
                at,
            ));
        }
        if !tokens(&text[first_range.end..]).is_empty() {
            return Err(RawError::unsupported(
                "map with $field$ tokens after its search's first command",
                at,
            ));
        }
        // The superset: the first command with every token a wildcard.
        let wild = substitute(&first, &|_| "*".to_owned());
        let (superset_source, _) = env.foreign_search(&wild, at.clone())?;
        if !matches!(superset_source, Source::Search(_)) {
            return Err(RawError::unsupported(
                "map of a search that does not start with a search over events",
                at,
            ));
        }
        let first_reads = match parse_expr(&wild) {
            Ok(expr) => super::search::expr_reads(&expr),
            Err(_) => Reads::All,
        };
        let whole = substitute(&text, &|_| "*".to_owned());
        let (_, commands) = env.foreign_search(&whole, at)?;
        let superset = env.add_subsearch(Plan {
            source: superset_source,
            streaming: Vec::new(),
            aggregation: Aggregation::Collect,
            post: Vec::new(),
            subsearches: Vec::new(),
            left_out: Vec::new(),
        });
        Ok(Map {
            template: text,
            first,
            commands,
            superset,
            first_reads,
            maxsearches: maxsearches.max(1),
        })
    }
}

impl Command for Map {
    fn name(&self) -> &'static str {
        "map"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::All
    }

    fn uses_now(&self) -> bool {
        self.commands.iter().any(|c| c.uses_now())
    }

    fn limit_hits(&self) -> u64 {
        self.commands.iter().map(|c| c.limit_hits()).sum()
    }

    fn subsearches(&self) -> Vec<usize> {
        let mut all = vec![self.superset];
        all.extend(self.commands.iter().flat_map(|c| c.subsearches()));
        all
    }

    /// Its rows are the template's: the superset's events need what is live after the
    /// template's commands when `after` is, what its first command reads to pick each input
    /// row's events, and `_time`.
    fn subsearch_live(&self, after: &Live) -> Vec<(usize, Live)> {
        let mut out = Vec::new();
        let live = crate::live::through(&self.commands, after.clone(), &mut out)
            .with_reads(self.first_reads.clone())
            .with(Sym::new("_time"));
        out.push((self.superset, live));
        out
    }

    /// One search per input row: none for none.
    fn empty_gives_empty(&self) -> bool {
        true
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let events = ctx.subsearch(self.superset)?;
        if rows.len() > self.maxsearches {
            ctx.warn(format!(
                "map: {} input rows; only the first {} are searched (maxsearches)",
                rows.len(),
                self.maxsearches
            ));
        }
        let mut out = Vec::new();
        for row in rows.iter().take(self.maxsearches) {
            let value = |name: &str| {
                Sym::try_new(name)
                    .ok()
                    .and_then(|s| row.get(s))
                    .and_then(|v| v.first_text().map(|t| t.into_owned()))
                    .unwrap_or_default()
            };
            let text = substitute(&self.first, &value);
            let expr = match parse_expr(&text) {
                Ok(e) => e,
                Err(e) => {
                    ctx.warn(format!("map: the search `{text}` does not parse: {e}"));
                    continue;
                }
            };
            let mut found: Vec<Row> = events
                .iter()
                .filter(|e| expr.matches(*e))
                .cloned()
                .collect();
            for cmd in &self.commands {
                cmd.run(&mut found, ctx)?;
            }
            out.extend(found);
            if out.len() > ctx.limits().max_rows {
                return Err(ExecError::Limit {
                    command: "map",
                    message: format!(
                        "more than {} rows (the max_rows limit)",
                        ctx.limits().max_rows
                    ),
                });
            }
        }
        *rows = out;
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "map maxsearches={} search={:?} [superset: subsearch {}]",
            self.maxsearches,
            self.template,
            self.superset + 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_and_substituted() {
        assert_eq!(tokens("a=$x$ b=$y$ $ c"), ["x", "y"]);
        let s = substitute("Id=$Id$ and $ cost", &|n| format!("<{n}>"));
        assert_eq!(s, "Id=<Id> and $ cost");
    }
}
