//! The compiler driver: expand macros, split the pipeline, compile each command.

use crate::error::{RawError, SplError};
use crate::lexer::{Scanner, split_commands};
use crate::macros::MacroSet;
use crate::plan::{Plan, Stage, Tstats};
use crate::srcmap::Expanded;
use crate::stages::compile_stage;
use crate::tstats::compile_tstats;

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
    /// The generating `tstats` command.
    pub tstats: Result<Tstats, SplError>,
    /// The commands after it, in order.
    pub stages: Vec<Result<Stage, SplError>>,
}

impl Analysis {
    /// Every error, the generating command's first.
    pub fn errors(&self) -> impl Iterator<Item = &SplError> {
        self.tstats
            .as_ref()
            .err()
            .into_iter()
            .chain(self.stages.iter().filter_map(|s| s.as_ref().err()))
    }

    /// Whether every command compiled.
    pub fn is_complete(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The plan, or the first error.
    pub fn into_compiled(self) -> Result<Compiled, SplError> {
        let tstats = self.tstats?;
        let stages = self.stages.into_iter().collect::<Result<Vec<_>, _>>()?;
        Ok(Compiled {
            expanded: self.expanded.into_text(),
            plan: Plan { tstats, stages },
        })
    }
}

/// Compiles a search into a [`Plan`]: expands macros, then requires `| tstats` first and
/// supported commands after it. The first problem is returned as an error.
pub fn compile(search: &str, macros: &MacroSet) -> Result<Compiled, SplError> {
    analyze(search, macros)?.into_compiled()
}

/// Expands and compiles every command of a search, keeping going after unsupported or invalid
/// commands. Fails only when the search as a whole cannot be read: a macro error, or an
/// unterminated quote or bracket that makes the command boundaries unknown.
pub fn analyze(search: &str, macros: &MacroSet) -> Result<Analysis, SplError> {
    let expanded = macros.expand(search)?;
    let text = expanded.text();
    let commands = split_commands(text).map_err(|e| expanded.error(e))?;
    let mut commands = commands.into_iter();
    let first = commands.next().unwrap_or(0..0);
    let leading = text.get(first.clone()).unwrap_or("");
    let mut rest: Vec<_> = commands.collect();
    let tstats = if !leading.trim().is_empty() {
        // A search not starting with `|` starts with an implicit `search`.
        let start = first.start + (leading.len() - leading.trim_start().len());
        let word_end = leading
            .trim_start()
            .find(char::is_whitespace)
            .map_or(first.end, |i| start + i);
        Err(expanded.error(RawError::unsupported("leading search", start..word_end)))
    } else if rest.is_empty() {
        Err(expanded.error(RawError::syntax(
            "empty search",
            0..text.len(),
            "nothing to run",
        )))
    } else {
        let range = rest.remove(0);
        generating(text, range).map_err(|e| expanded.error(e))
    };
    let stages = rest
        .into_iter()
        .map(|range| stage(text, range).map_err(|e| expanded.error(e)))
        .collect();
    Ok(Analysis {
        expanded,
        tstats,
        stages,
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

fn generating(text: &str, range: std::ops::Range<usize>) -> Result<Tstats, RawError> {
    let (name, span, mut sc) = command_name(text, range)?;
    if name != "tstats" {
        return Err(RawError::unsupported(
            format!("generating command `{name}`"),
            span,
        ));
    }
    compile_tstats(&mut sc, span)
}

fn stage(text: &str, range: std::ops::Range<usize>) -> Result<Stage, RawError> {
    let (name, span, mut sc) = command_name(text, range)?;
    compile_stage(&name, span, &mut sc)
}
