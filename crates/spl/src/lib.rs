//! The SPL language: search text and macros in, an executable [`Plan`] out, and the commands
//! that run it.
//!
//! [`compile`] expands back-tick macros textually ([`MacroSet::expand`], keyed by name and
//! arity), splits the pipeline at `|` outside quotes and subsearch brackets, compiles the
//! generating command (a raw search over events, or `tstats` over a data-model dataset named in
//! a [`Catalog`]) and every command after it (one module per command under `command`), and
//! splits the pipeline into the parts a parallel, mergeable run needs ([`Plan`]). Anything it
//! does not support is an [`ErrorKind::Unsupported`] error with a stable label, so a coverage
//! report can rank what blocks detections; [`analyze`] keeps every command's outcome for that
//! purpose.
//!
//! Values are typed ([`Value`]: null, number, string, boolean, multivalue, borrowing from the
//! record they come from), field names are interned ([`Sym`]), and expressions read any
//! [`Record`]: an event, a dataset's view of it, a result row. Aggregation state ([`Groups`])
//! merges, so workers, machines and time buckets combine into the state of one pass.
//!
//! Key design decision: a hand-written, context-driven recursive-descent parser over a cursor
//! (no separate token stream), because SPL's lexical rules depend on context (a `,` ends a
//! value only inside `IN (…)`; `=` ends a field name but not a value). Every error carries a
//! byte span; errors found after macro expansion are mapped back onto the search as written
//! (the invocation's span, "in the expansion of `name`"), so diagnostics point at what the
//! author typed.

pub mod agg;
pub mod command;
mod compile;
mod error;
pub mod eval;
mod explain;
pub mod held;
mod keyfilter;
mod lexer;
pub mod live;
pub mod lookup;
pub mod lookups;
mod macros;
pub mod memo;
mod pattern;
pub mod pipeline;
mod plan;
pub mod record;
pub mod regex_text;
mod row;
pub mod search;
mod spill;
mod srcmap;
pub mod sym;
pub mod time;
mod tstats;
pub mod value;

pub use agg::{
    AggCall, AggEval, AggFunc, AggSpec, ByField, Groups, KeyValues, Keys, NullBy, Overflow,
    RETAIN_CHUNK,
};
pub use command::{Command, ExecCtx, ExecError, Limits};
pub use compile::{
    Analysis, Catalog, Compiled, DatasetInfo, NoCatalog, WithLookups, analyze, compile,
};
pub use error::{ErrorKind, SplError};
pub use keyfilter::KeyFilter;
pub use lookups::Lookups;
pub use macros::{Macro, MacroSet};
pub use pattern::Pattern;
pub use plan::{Aggregation, InputLookup, Plan, Source};
pub use record::Record;
pub use row::Row;
pub use search::{CompareOp, Expr};
pub use spill::RowSpill;
pub use srcmap::Expanded;
pub use sym::Sym;
pub use time::{TimeModifier, Timestamp};
pub use tstats::Tstats;
pub use value::Value;

/// A number no other call in this process returns: what a compiled piece (a regular expression,
/// a `rename`, a key filter) is known by in the per-thread and per-state memories of its
/// results, which outlive no process.
pub(crate) fn unique_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
