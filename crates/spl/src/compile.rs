//! The compiler driver: expand macros, split the pipeline, compile each command, bind the
//! `tstats` dataset against the data-model catalog, compile subsearches into plans of their
//! own.

use std::ops::Range;
use std::sync::Arc;

use crate::command::{self, Command, ExecCtx};
use crate::error::{RawError, RawResult, SplError};
use crate::lexer::{Scanner, split_commands};
use crate::lookup::LookupTable;
use crate::macros::MacroSet;
use crate::plan::{InputLookup, Plan, Source, split, split_unpruned};
use crate::search::parse::{ExprParser, SubsearchTerm};
use crate::search::{Expr, SUBSEARCH_MAXOUT, rows_to_expr};
use crate::srcmap::Expanded;
use crate::sym::Sym;
use crate::tstats::compile_tstats;

/// How deeply subsearches may nest.
const MAX_SUBSEARCH_DEPTH: u32 = 8;

/// What the compiler needs to know about the deployment: which datasets exist and how their
/// fields are named in searches, and which lookup tables searches may name. `Sync`: detections
/// are compiled on several threads at once.
pub trait Catalog: Sync {
    /// The dataset `datamodel=<model>.<dataset>` names (`dataset` empty for the model's root
    /// dataset), or `None` when there is no such dataset.
    fn dataset(&self, model: &str, dataset: &str) -> Option<DatasetInfo>;

    /// The lookup table a search names (`lookup <name>`, `inputlookup <name>`): a lookup
    /// definition's name, or a table's file name. `None` when there is none.
    fn lookup(&self, _name: &str) -> Option<Arc<LookupTable>> {
        None
    }
}

/// A catalog with lookup tables added: datasets (and any lookup the inner catalog knows) come
/// from `catalog`, lookups first from `lookups`.
#[derive(Clone, Copy)]
pub struct WithLookups<'a> {
    catalog: &'a dyn Catalog,
    lookups: &'a crate::lookups::Lookups,
}

impl<'a> WithLookups<'a> {
    /// `catalog` with `lookups`.
    pub fn new(catalog: &'a dyn Catalog, lookups: &'a crate::lookups::Lookups) -> Self {
        WithLookups { catalog, lookups }
    }
}

impl std::fmt::Debug for WithLookups<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithLookups")
            .field("lookups", &self.lookups.len())
            .finish_non_exhaustive()
    }
}

impl Catalog for WithLookups<'_> {
    fn dataset(&self, model: &str, dataset: &str) -> Option<DatasetInfo> {
        self.catalog.dataset(model, dataset)
    }

    fn lookup(&self, name: &str) -> Option<Arc<LookupTable>> {
        self.lookups.get(name).or_else(|| self.catalog.lookup(name))
    }
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
    /// The subsearches the commands refer to.
    pub subsearches: Vec<Plan>,
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
        self.into_plan(split)
    }

    /// The plan with every command and aggregate of the search, those whose fields nothing
    /// reads included ([`crate::live`]; its subsearches are left out of as usual): to check that
    /// leaving them out changes no row.
    pub fn into_compiled_unpruned(self) -> Result<Compiled, SplError> {
        self.into_plan(split_unpruned)
    }

    fn into_plan(
        self,
        split: fn(&Source, Vec<Arc<dyn Command>>) -> crate::plan::Parts,
    ) -> Result<Compiled, SplError> {
        let source = self.source?;
        let commands = self.commands.into_iter().collect::<Result<Vec<_>, _>>()?;
        let (streaming, aggregation, post, left_out) = split(&source, commands);
        Ok(Compiled {
            expanded: self.expanded.into_text(),
            plan: Plan {
                source,
                streaming,
                aggregation,
                post,
                subsearches: self.subsearches,
                left_out,
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
    let mut env = ParseEnv::new(catalog, text, 0);
    let (source, commands) = env.pipeline(0..text.len()).map_err(|e| expanded.error(e))?;
    let source = source.map_err(|e| expanded.error(e));
    let commands = commands
        .into_iter()
        .map(|c| c.map_err(|e| expanded.error(e)))
        .collect();
    let subsearches = env.subsearches;
    Ok(Analysis {
        expanded,
        source,
        commands,
        subsearches,
    })
}

/// The generating command and the commands after it, each compiled or not.
type Pipeline = (RawResult<Source>, Vec<RawResult<Arc<dyn Command>>>);

/// What compiling a command may need: the catalog, the whole expanded text, and the subsearch
/// plans compiled so far (which the commands refer to by number).
pub(crate) struct ParseEnv<'c> {
    pub(crate) catalog: &'c dyn Catalog,
    text: &'c str,
    pub(crate) subsearches: Vec<Plan>,
    depth: u32,
}

impl<'c> ParseEnv<'c> {
    fn new(catalog: &'c dyn Catalog, text: &'c str, depth: u32) -> Self {
        ParseEnv {
            catalog,
            text,
            subsearches: Vec::new(),
            depth,
        }
    }

    /// Splits `range` of the text into commands and compiles each; fails only when the command
    /// boundaries cannot be found.
    fn pipeline(&mut self, range: Range<usize>) -> RawResult<Pipeline> {
        let text = self.text;
        let inner = text.get(range.clone()).unwrap_or("");
        let commands = split_commands(inner).map_err(|mut e| {
            e.span = e.span.start + range.start..e.span.end + range.start;
            e
        })?;
        let mut commands = commands
            .into_iter()
            .map(|r| r.start + range.start..r.end + range.start);
        let first = commands.next().unwrap_or(range.start..range.start);
        let leading = text.get(first.clone()).unwrap_or("");
        let mut rest: Vec<_> = commands.collect();
        let source = if !leading.trim().is_empty() {
            // A search not starting with `|` starts with an implicit `search`.
            self.leading_search(first)
        } else if rest.is_empty() {
            Err(RawError::syntax("empty search", range, "nothing to run"))
        } else {
            let r = rest.remove(0);
            self.generating(r)
        };
        let commands = rest
            .into_iter()
            .map(|r| self.command_at(r).map(Arc::from))
            .collect();
        Ok((source, commands))
    }

    /// The implicit `search` of a search that does not start with `|` (an explicit leading
    /// `search` word is allowed).
    fn leading_search(&mut self, range: Range<usize>) -> RawResult<Source> {
        let mut sc = Scanner::new(self.text, range);
        sc.skip_ws();
        if sc.at_keyword("search", true) {
            sc.eat_keyword("search", true);
        }
        let mut first = FirstCommandSubsearch(self);
        Ok(Source::Search(
            ExprParser::new(&mut sc, false)
                .with_subsearch(&mut first)
                .parse()?,
        ))
    }

    fn generating(&mut self, range: Range<usize>) -> RawResult<Source> {
        let (name, span, mut sc) = command_name(self.text, range)?;
        match name.as_str() {
            "tstats" => {
                let (mut t, model_span) = {
                    let mut first = FirstCommandSubsearch(self);
                    compile_tstats(&mut sc, span, &mut first)?
                };
                let Some(info) = self.catalog.dataset(&t.datamodel, &t.dataset) else {
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
            "search" => {
                let mut first = FirstCommandSubsearch(self);
                Ok(Source::Search(
                    ExprParser::new(&mut sc, false)
                        .with_subsearch(&mut first)
                        .parse()?,
                ))
            }
            "inputlookup" => inputlookup(&mut sc, span, self).map(Source::Inputlookup),
            other => Err(command::other_app(other, span.clone()).unwrap_or_else(|| {
                RawError::unsupported(format!("generating command `{other}`"), span)
            })),
        }
    }

    fn command_at(&mut self, range: Range<usize>) -> RawResult<Box<dyn Command>> {
        let (name, span, mut sc) = command_name(self.text, range)?;
        if name == "tstats" {
            return Err(RawError::unsupported(
                "`tstats` after the first command",
                span,
            ));
        }
        command::parse(&name, span, &mut sc, self)
    }

    /// The range inside the brackets of the `[…]` next in `sc`, which is left after the `]`.
    pub(crate) fn bracket(&self, sc: &mut Scanner<'_>) -> RawResult<Range<usize>> {
        sc.skip_ws();
        let open = sc.pos();
        if !sc.eat('[') {
            return Err(RawError::syntax(
                "expected a subsearch `[…]`",
                open..open + 1,
                "here",
            ));
        }
        let mut depth = 1usize;
        let mut quoted = false;
        while let Some(c) = sc.bump() {
            match c {
                '\\' => {
                    sc.bump();
                }
                '"' => quoted = !quoted,
                '[' if !quoted => depth += 1,
                ']' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(open + 1..sc.pos() - 1);
                    }
                }
                _ => {}
            }
        }
        Err(RawError::syntax(
            "unbalanced bracket",
            open..open + 1,
            "this `[` is never closed",
        ))
    }

    /// Compiles the subsearch `[…]` next in `sc` into a plan of this search; returns its number.
    pub(crate) fn subsearch(&mut self, sc: &mut Scanner<'_>) -> RawResult<usize> {
        let at = sc.pos();
        let plan = self.subsearch_plan(sc)?;
        if self.subsearches.len() >= 64 {
            return Err(RawError::syntax(
                "too many subsearches",
                at..at + 1,
                "a search may have at most 64",
            ));
        }
        self.subsearches.push(plan);
        Ok(self.subsearches.len() - 1)
    }

    /// The plan of the subsearch `[…]` next in `sc`.
    fn subsearch_plan(&mut self, sc: &mut Scanner<'_>) -> RawResult<Plan> {
        let range = self.bracket(sc)?;
        if self.depth + 1 > MAX_SUBSEARCH_DEPTH {
            return Err(RawError::syntax(
                "subsearches nested too deeply",
                range.start.saturating_sub(1)..range.start,
                "here",
            ));
        }
        let mut env = ParseEnv::new(self.catalog, self.text, self.depth + 1);
        let (source, commands) = env.pipeline(range)?;
        let source = source?;
        let commands = commands.into_iter().collect::<RawResult<Vec<_>>>()?;
        let (streaming, aggregation, post, left_out) = split(&source, commands);
        Ok(Plan {
            source,
            streaming,
            aggregation,
            post,
            subsearches: env.subsearches,
            left_out,
        })
    }

    /// The commands of a subpipeline `[| cmd | cmd]` (`appendpipe`), which has no generating
    /// command; `sc` is at its `[` and is left after its `]`.
    pub(crate) fn subpipeline(&mut self, sc: &mut Scanner<'_>) -> RawResult<Vec<Arc<dyn Command>>> {
        let range = self.bracket(sc)?;
        let text = self.text;
        let inner = text.get(range.clone()).unwrap_or("");
        let parts = split_commands(inner).map_err(|mut e| {
            e.span = e.span.start + range.start..e.span.end + range.start;
            e
        })?;
        let mut parts = parts
            .into_iter()
            .map(|r| r.start + range.start..r.end + range.start);
        let first = parts.next().unwrap_or(range.clone());
        if !text.get(first.clone()).unwrap_or("").trim().is_empty() {
            return Err(RawError::syntax(
                "a subpipeline starts with `|`",
                first,
                "expected `[| command …]`",
            ));
        }
        parts.map(|r| self.command_at(r).map(Arc::from)).collect()
    }

    /// The lookup table a search names.
    pub(crate) fn lookup(&self, name: &str) -> Option<Arc<LookupTable>> {
        self.catalog.lookup(name)
    }
}

/// Subsearch terms in a command after the first: numbered subsearches, resolved when the
/// search runs.
impl SubsearchTerm for ParseEnv<'_> {
    fn term(&mut self, sc: &mut Scanner<'_>) -> RawResult<Expr> {
        self.subsearch(sc).map(Expr::Subsearch)
    }
}

/// Subsearch terms in the generating command: the events are not read yet, so the subsearch
/// must be answerable now, from a lookup table (`[| inputlookup …]`).
struct FirstCommandSubsearch<'e, 'c>(&'e mut ParseEnv<'c>);

impl SubsearchTerm for FirstCommandSubsearch<'_, '_> {
    fn term(&mut self, sc: &mut Scanner<'_>) -> RawResult<Expr> {
        let at = sc.pos();
        let plan = self.0.subsearch_plan(sc)?;
        let span = at..sc.pos();
        let Source::Inputlookup(lookup) = &plan.source else {
            return Err(RawError::unsupported(
                "subsearch over events in the first command",
                span,
            ));
        };
        if !plan.subsearches.is_empty() {
            return Err(RawError::unsupported(
                "nested subsearch in the first command",
                span,
            ));
        }
        let mut rows = lookup.rows();
        let ctx = ExecCtx::default();
        for cmd in plan.streaming.iter().chain(&plan.post) {
            cmd.run(&mut rows, &ctx).map_err(|e| {
                RawError::syntax(
                    format!("the subsearch cannot run: {e}"),
                    span.clone(),
                    "in this subsearch",
                )
            })?;
        }
        if rows.len() > SUBSEARCH_MAXOUT {
            return Err(RawError::unsupported(
                format!("subsearch of more than {SUBSEARCH_MAXOUT} rows"),
                span,
            ));
        }
        Ok(rows_to_expr(&rows))
    }
}

/// `inputlookup [max=N] [start=N] [append=…] <table> [where <search>]`.
fn inputlookup(
    sc: &mut Scanner<'_>,
    name_span: Range<usize>,
    env: &ParseEnv<'_>,
) -> RawResult<InputLookup> {
    use crate::command::args;
    let (mut max, mut start) = (None, 0usize);
    while let Some(key) = args::eat_key(sc) {
        let v = args::value(sc, &key)?;
        match key.text.as_str() {
            "max" => max = Some(args::integer(&v)? as usize),
            "start" => start = args::integer(&v)? as usize,
            "append" => {}
            _ => return Err(args::unknown_option("inputlookup", &key)),
        }
    }
    sc.skip_ws();
    let Some(table) = sc.value(false)? else {
        return Err(RawError::syntax(
            "inputlookup needs a table",
            name_span,
            "which lookup?",
        ));
    };
    sc.skip_ws();
    let filter = if sc.eat_keyword("where", true).is_some() {
        ExprParser::new(sc, false).parse()?
    } else {
        Expr::True
    };
    if !sc.at_end() {
        return Err(args::unexpected(
            sc,
            "inputlookup",
            "expected `where` or the end",
        ));
    }
    let Some(found) = env.lookup(&table.text) else {
        return Err(command::missing_lookup(&table.text, table.span));
    };
    Ok(InputLookup {
        name: table.text,
        table: found,
        filter,
        start,
        max: max.filter(|m| *m > 0),
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

impl SplError {
    /// For a construct another Splunk app provides (`apply`, a URL Toolbox lookup): the app's
    /// name.
    pub fn needed_app(&self) -> Option<&str> {
        let label = self.unsupported_label()?;
        let rest = label.strip_prefix(command::NEEDS_APP)?;
        rest.split_once('`').map(|(app, _)| app)
    }
}

impl ParseEnv<'_> {
    /// Compiles a search written in a string of its own (a `map` template) into a plan and the
    /// list of its commands, with this search's catalog. Errors are located at `at` in this
    /// search's text.
    pub(crate) fn foreign_search(
        &mut self,
        text: &str,
        at: Range<usize>,
    ) -> RawResult<(Source, Vec<Arc<dyn Command>>)> {
        if self.depth + 1 > MAX_SUBSEARCH_DEPTH {
            return Err(RawError::syntax("searches nested too deeply", at, "here"));
        }
        let relocate = |mut e: RawError| {
            e.message = format!("{} (in the search of this command)", e.message);
            e.span = at.clone();
            e
        };
        let mut env = ParseEnv::new(self.catalog, text, self.depth + 1);
        let (source, commands) = env.pipeline(0..text.len()).map_err(relocate)?;
        let source = source.map_err(relocate)?;
        let commands = commands
            .into_iter()
            .collect::<RawResult<Vec<_>>>()
            .map_err(relocate)?;
        if !env.subsearches.is_empty() {
            return Err(RawError::unsupported("subsearch inside a `map` search", at));
        }
        Ok((source, commands))
    }

    /// Adds a plan to this search's subsearches; returns its number.
    pub(crate) fn add_subsearch(&mut self, plan: Plan) -> usize {
        self.subsearches.push(plan);
        self.subsearches.len() - 1
    }
}
