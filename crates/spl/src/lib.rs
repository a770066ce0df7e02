//! The detection compiler: SPL text and macros in, an executable [`Plan`] out.
//!
//! [`compile`] expands back-tick macros textually ([`MacroSet::expand`], keyed by name and
//! arity), splits the pipeline at `|` outside quotes and subsearch brackets, and compiles the
//! generating `tstats` (over `Endpoint.Processes`) and the row stages after it (`rename`,
//! `convert ctime`, `search`, `table`, `fields`). Anything else is an
//! [`ErrorKind::Unsupported`] error with a stable label, so a coverage report can rank what
//! blocks detections; [`analyze`] keeps every command's outcome for that purpose. The compiled
//! [`Expr`] evaluates itself ([`Expr::matches`]) with Splunk's null and multi-value rules, and a
//! [`Plan`] lists the literals any matching record must contain
//! ([`Plan::required_literals`]).
//!
//! Key design decision: a hand-written, context-driven recursive-descent parser over a cursor
//! (no separate token stream), because SPL's lexical rules depend on context (a `,` ends a
//! value only inside `IN (…)`; `=` ends a field name but not a value). Every error carries a
//! byte span; errors found after macro expansion are mapped back onto the search as written
//! (the invocation's span, "in the expansion of `name`"), so diagnostics point at what the
//! author typed. Field names inside `tstats` are resolved to CIM [`cimhunt_cim::Field`]s at
//! compile time; values become [`Pattern`]s compiled once for allocation-free matching.

mod compile;
mod error;
#[path = "eval/mod.rs"]
pub mod eval;
mod explain;
mod expr;
mod lexer;
mod literals;
mod macros;
mod pattern;
mod plan;
pub mod record;
#[path = "eval.rs"]
mod search_eval;
mod srcmap;
mod stages;
pub mod sym;
pub mod time;
mod tstats;
pub mod value;

pub use compile::{Analysis, Compiled, analyze, compile};
pub use error::{ErrorKind, SplError};
pub use macros::{Macro, MacroSet};
pub use pattern::Pattern;
pub use plan::*;
pub use search_eval::{compare_values, parse_number};
pub use srcmap::Expanded;
