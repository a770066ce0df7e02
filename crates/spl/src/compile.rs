//! The compiler driver: expand macros, split the pipeline, compile each command, bind the
//! `tstats` dataset against the data-model catalog.

use std::sync::Arc;

use crate::command::{self, Command};
use crate::error::{RawError, SplError};
use crate::lexer::{Scanner, split_commands};
use crate::macros::MacroSet;
use crate::plan::{Plan, Source, split};
use crate::search::parse::ExprParser;
use crate::srcmap::Expanded;
use crate::sym::Sym;
use crate::tstats::compile_tstats;

/// What the compiler needs to know about data models: which datasets exist and how their
/// fields are named in searches.
pub trait Catalog {
    /// The dataset `datamodel=<model>.<dataset>` names (`dataset` empty for the model's root
    /// dataset), or `None` when there is no such dataset.
    fn dataset(&self, model: &str, dataset: &str) -> Option<DatasetInfo>;
}

/// A dataset as the compiler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInfo {
    /// The dataset's full name, e.g. `Endpoint.Processes`, `Network_Traffic.All_Traffic`.
    pub name: String,
    /// The prefixes a search may put before its field names, longest first
    /// (`Processes.`; `All_Traffic.` for `datamodel=Network_Traffic`).
    pub prefixes: Vec<String>,
}

/// A catalog that knows no dataset: every `tstats` is reported as an unknown data model.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCatalog;

impl Catalog for NoCatalog {
    fn dataset(&self, _: &str, _: &str) -> Option<DatasetInfo> {
        None
    }
}

/// A compiled search: the text after macro expansion and the plan to run.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The search after macro expansion and comment removal.
    pub expanded: String,
    /// The executable plan.
    pub plan: Plan,
}

/// A search compiled command by command, keeping every command's outcome: what a coverage
/// report needs to see which constructs block a detection.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The search after macro expansion.
    pub expanded: Expanded,
    /// The generating command.
    pub source: Result<Source, SplError>,
    /// The commands after it, in order.
    pub commands: Vec<Result<Arc<dyn Command>, SplError>>,
}

impl Analysis {
    /// Every error, the generating command's first.
    pub fn errors(&self) -> impl Iterator<Item = &SplError> {
        self.source
            .as_ref()
            .err()
            .into_iter()
            .chain(self.commands.iter().filter_map(|s| s.as_ref().err()))
    }

    /// Whether every command compiled.
    pub fn is_complete(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The plan, or the first error.
    pub fn into_compiled(self) -> Result<Compiled, SplError> {
        let source = self.source?;
        let commands = self.commands.into_iter().collect::<Result<Vec<_>, _>>()?;
        let (streaming, aggregation, post) = split(&source, commands);
        Ok(Compiled {
            expanded: self.expanded.into_text(),
            plan: Plan {
                source,
                streaming,
                aggregation,
                post,
            },
        })
    }
}

/// Compiles a search into a [`Plan`]: expands macros, compiles the generating command (a
/// leading search, or `| tstats`) and every command after it. The first problem is returned as
/// an error.
pub fn compile(
    search: &str,
    macros: &MacroSet,
    catalog: &dyn Catalog,
) -> Result<Compiled, SplError> {
    analyze(search, macros, catalog)?.into_compiled()
}

/// Expands and compiles every command of a search, keeping going after unsupported or invalid
/// commands. Fails only when the search as a whole cannot be read: a macro error, or an
/// unterminated quote or bracket that makes the command boundaries unknown.
pub fn analyze(
    search: &str,
    macros: &MacroSet,
    catalog: &dyn Catalog,
) -> Result<Analysis, SplError> {
    let expanded = macros.expand(search)?;
    let text = expanded.text();
    let commands = split_commands(text).map_err(|e| expanded.error(e))?;
    let mut commands = commands.into_iter();
    let first = commands.next().unwrap_or(0..0);
    let leading = text.get(first.clone()).unwrap_or("");
    let mut rest: Vec<_> = commands.collect();
    let source = if !leading.trim().is_empty() {
        // A search not starting with `|` starts with an implicit `search`.
        leading_search(text, first).map_err(|e| expanded.error(e))
    } else if rest.is_empty() {
        Err(expanded.error(RawError::syntax(
            "empty search",
            0..text.len(),
            "nothing to run",
        )))
    } else {
        let range = rest.remove(0);
        generating(text, range, catalog).map_err(|e| expanded.error(e))
    };
    let commands = rest
        .into_iter()
        .map(|range| {
            command_at(text, range)
                .map(Arc::from)
                .map_err(|e| expanded.error(e))
        })
        .collect();
    Ok(Analysis {
        expanded,
        source,
        commands,
    })
}

/// The command name at the start of `range`, lower-cased, and the scanner after it.
fn command_name<'a>(
    text: &'a str,
    range: std::ops::Range<usize>,
) -> Result<(String, std::ops::Range<usize>, Scanner<'a>), RawError> {
    let mut sc = Scanner::new(text, range.clone());
    sc.skip_ws();
    let at = sc.pos();
    match sc.word(|c, _| matches!(c, '(' | ')' | '[' | ']' | '"' | '=' | ',')) {
        Some(tok) => Ok((tok.text.to_ascii_lowercase(), tok.span, sc)),
        None if sc.at_end() => {
            let pipe = range.start.saturating_sub(1);
            Err(RawError::syntax(
                "empty command",
                pipe..pipe + 1,
                "nothing after this `|`",
            ))
        }
        None => Err(RawError::syntax(
            "expected a command name",
            at..at + 1,
            "here",
        )),
    }
}

/// The implicit `search` of a search that does not start with `|` (an explicit leading
/// `search` word is allowed).
fn leading_search(text: &str, range: std::ops::Range<usize>) -> Result<Source, RawError> {
    let mut sc = Scanner::new(text, range);
    sc.skip_ws();
    if sc.at_keyword("search", true) {
        sc.eat_keyword("search", true);
    }
    Ok(Source::Search(ExprParser::new(&mut sc, false).parse()?))
}

fn generating(
    text: &str,
    range: std::ops::Range<usize>,
    catalog: &dyn Catalog,
) -> Result<Source, RawError> {
    let (name, span, mut sc) = command_name(text, range)?;
    match name.as_str() {
        "tstats" => {
            let (mut t, model_span) = compile_tstats(&mut sc, span)?;
            let Some(info) = catalog.dataset(&t.datamodel, &t.dataset) else {
                let written = if t.dataset.is_empty() {
                    t.datamodel.clone()
                } else {
                    format!("{}.{}", t.datamodel, t.dataset)
                };
                return Err(RawError::unsupported(
                    format!("datamodel `{written}`"),
                    model_span,
                ));
            };
            bind_fields(&mut t, &info);
            Ok(Source::Tstats(t))
        }
        "search" => Ok(Source::Search(ExprParser::new(&mut sc, false).parse()?)),
        other => Err(RawError::unsupported(
            format!("generating command `{other}`"),
            span,
        )),
    }
}

/// Resolves the field names of a `tstats` against its dataset: `Processes.dest` and `dest`
/// name the same field; output columns keep the names as written.
fn bind_fields(t: &mut crate::tstats::Tstats, info: &DatasetInfo) {
    let mut strip = |s: Sym| -> Sym {
        let name = s.as_str();
        info.prefixes
            .iter()
            .find_map(|p| name.strip_prefix(p.as_str()))
            .filter(|bare| !bare.is_empty())
            .map_or(s, Sym::new)
    };
    t.filter.map_fields(&mut strip);
    for call in &mut t.agg.calls {
        call.field = call.field.map(&mut strip);
    }
    for by in &mut t.agg.by {
        by.field = strip(by.field);
    }
    t.dataset = info.name.clone();
}

fn command_at(text: &str, range: std::ops::Range<usize>) -> Result<Box<dyn Command>, RawError> {
    let (name, span, mut sc) = command_name(text, range)?;
    if name == "tstats" {
        return Err(RawError::unsupported(
            "`tstats` after the first command",
            span,
        ));
    }
    command::parse(&name, span, &mut sc)
}
