//! `appendpipe [<subpipeline>]` (Search Reference, "appendpipe"): runs the commands of the
//! subpipeline over a copy of the rows at that point and appends what they produce to the
//! rows.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::compile::ParseEnv;
use crate::error::RawResult;
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;

/// The `appendpipe` command.
#[derive(Debug, Clone)]
pub struct AppendPipe {
    commands: Vec<Arc<dyn Command>>,
}

impl AppendPipe {
    pub(crate) fn parse(
        sc: &mut Scanner<'_>,
        _name_span: Range<usize>,
        env: &mut ParseEnv<'_>,
    ) -> RawResult<Self> {
        if let Some(key) = args::eat_key(sc) {
            let v = args::value(sc, &key)?;
            if key.text != "run_in_preview" {
                return Err(args::unknown_option("appendpipe", &key));
            }
            args::boolean(&v)?;
        }
        let commands = env.subpipeline(sc)?;
        if !sc.at_end() {
            return Err(args::unexpected(
                sc,
                "appendpipe",
                "expected the end of the command",
            ));
        }
        Ok(AppendPipe { commands })
    }
}

impl Command for AppendPipe {
    fn name(&self) -> &'static str {
        "appendpipe"
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
        self.commands.iter().flat_map(|c| c.subsearches()).collect()
    }

    /// What the subpipeline produces is appended to the rows: its commands' subsearches need
    /// what is live after them when `after` is.
    fn subsearch_live(&self, after: &Live) -> Vec<(usize, Live)> {
        let mut out = Vec::new();
        crate::live::through(&self.commands, after.clone(), &mut out);
        out
    }

    /// Nothing to append when every command of the subpipeline gives none for none.
    fn empty_gives_empty(&self) -> bool {
        self.commands.iter().all(|c| c.empty_gives_empty())
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let mut sub = rows.clone();
        for cmd in &self.commands {
            cmd.run(&mut sub, ctx)?;
        }
        if rows.len() + sub.len() > ctx.limits().max_rows {
            return Err(ExecError::Limit {
                command: "appendpipe",
                message: format!(
                    "more than {} rows (the max_rows limit)",
                    ctx.limits().max_rows
                ),
            });
        }
        rows.extend(sub);
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("appendpipe [")?;
        for (i, c) in self.commands.iter().enumerate() {
            f.write_str(if i == 0 { "| " } else { " | " })?;
            c.explain(f)?;
        }
        f.write_str("]")
    }
}
