//! Dead fields: what a search computes that no later command reads, left out of its plan.
//!
//! ESCU's searches compute more than they return. `Unusually Long Command Line` counts each
//! group's events and formats their first and last times (`count`, `firstTime`, `lastTime`),
//! then a `stats` by host and process reads neither; over 1 GiB of events that is 125,870 rows
//! holding three cells and two formatted times nobody reads.
//!
//! Walking the pipeline from its end, the fields *live* before a command are those its output
//! can depend on ([`Command::live_before`]): at the end every field is (the rows are the
//! output); a `stats` needs only the fields it reads, whatever comes after it; a command that
//! sets a field (`eval`, `convert`) needs that field's inputs instead of the field, when the
//! field is live after it. Every other command keeps what is live after it and adds what it
//! reads, which is sound for any command that declares its reads ([`Command::reads`]).
//!
//! What is left out (key design decision: only what cannot change a row):
//! - an `eval` or `convert` every field of which is dead after it ([`Command::is_dead`]): they
//!   change only the fields they set, row by row, and never fail on a row (`convert` only when its
//!   time format has no specifier that could);
//! - an aggregate of the aggregation (`tstats count`, `min(_time) as firstTime`) whose output
//!   is dead after it. The by-fields stay: they make the groups.
//!
//! What a command left out would have counted is not counted: an `eval` function's limit hits on
//! a field that no row returns.

use std::sync::Arc;

use crate::command::{Command, Reads};
use crate::plan::Aggregation;
use crate::sym::Sym;

/// The fields that commands after a point of a pipeline may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// Any field.
    All,
    /// Only these.
    Only(Vec<Sym>),
}

impl Live {
    /// No field.
    pub fn none() -> Live {
        Live::Only(Vec::new())
    }

    /// Whether `field` may be read.
    pub fn contains(&self, field: Sym) -> bool {
        match self {
            Live::All => true,
            Live::Only(fields) => fields.contains(&field),
        }
    }

    /// These fields and `field`.
    pub fn with(mut self, field: Sym) -> Live {
        if let Live::Only(fields) = &mut self
            && !fields.contains(&field)
        {
            fields.push(field);
        }
        self
    }

    /// These fields and those `reads` names.
    pub fn with_reads(self, reads: Reads) -> Live {
        match reads {
            Reads::All => Live::All,
            Reads::Fields(fields) => fields.into_iter().fold(self, Live::with),
        }
    }

    /// These fields without `field` (a command sets it, so the value before is not read).
    pub fn without(mut self, field: Sym) -> Live {
        if let Live::Only(fields) = &mut self {
            fields.retain(|f| *f != field);
        }
        self
    }

    /// The fields a command reads, as a live set.
    pub fn of(reads: Reads) -> Live {
        Live::none().with_reads(reads)
    }

    /// The fields of both.
    pub fn union(self, other: Live) -> Live {
        match other {
            Live::All => Live::All,
            Live::Only(fields) => fields.into_iter().fold(self, Live::with),
        }
    }
}

/// Walks `commands` from the last, `after` being live after them: the fields live before the
/// first; what each command's subsearches' rows need is added to `subsearches`
/// ([`Command::subsearch_live`]).
pub(crate) fn through(
    commands: &[Arc<dyn Command>],
    after: Live,
    subsearches: &mut Vec<(usize, Live)>,
) -> Live {
    let mut live = after;
    for cmd in commands.iter().rev() {
        subsearches.extend(cmd.subsearch_live(&live));
        live = cmd.live_before(live);
    }
    live
}

/// Leaves out of a plan's commands and aggregation what no later command reads (see the module
/// documentation); returns what was left out, in the search's order: each command as
/// `explain` writes it, each aggregate as `aggregate <output>`.
pub(crate) fn prune(
    streaming: &mut Vec<Arc<dyn Command>>,
    aggregation: &mut Aggregation,
    post: &mut Vec<Arc<dyn Command>>,
) -> Vec<String> {
    let mut after = Vec::new();
    let mut live = prune_commands(post, Live::All, &mut after);
    let mut at = Vec::new();
    if let Aggregation::Stats(spec) = aggregation {
        if let Live::Only(_) = &live {
            for c in spec.calls.iter().filter(|c| !live.contains(c.output)) {
                at.push(format!("aggregate {}", c.output));
            }
            spec.calls.retain(|c| live.contains(c.output));
        }
        live = Live::of(Reads::Fields(spec.fields().collect()));
    }
    let mut before = Vec::new();
    prune_commands(streaming, live, &mut before);
    before.into_iter().chain(at).chain(after).collect()
}

/// Leaves out the commands whose every field is dead after them, noting each in `left_out`;
/// the fields live before the first.
fn prune_commands(
    commands: &mut Vec<Arc<dyn Command>>,
    mut live: Live,
    left_out: &mut Vec<String>,
) -> Live {
    let mut kept: Vec<Arc<dyn Command>> = Vec::with_capacity(commands.len());
    for cmd in commands.drain(..).rev() {
        if cmd.is_dead(&live) {
            left_out.push(cmd.to_string());
            continue;
        }
        live = cmd.live_before(live);
        kept.push(cmd);
    }
    kept.reverse();
    left_out.reverse();
    *commands = kept;
    live
}
