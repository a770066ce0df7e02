//! What running a command needs besides its rows: the run's time and time zone (for `now()`,
//! `relative_time()`, `convert ctime`), the rows of the plan's subsearches, the budgets that
//! bound what a search may hold, and a place to report what a command had to cut.
//!
//! Key design decision: budgets are cimhunt's own and configurable ([`Limits`]); when one is
//! reached the command fails with [`super::ExecError::Limit`] naming it, because rows computed
//! from a truncated state would be wrong without saying so. Limits that are Splunk's own
//! semantics (a `join` subsearch joins at most 50,000 rows, `list()` keeps 100 values, `sort`
//! keeps 10,000 rows) are applied as Splunk applies them, and reported as warnings.

use std::sync::{Arc, Mutex, OnceLock};

use jiff::tz::TimeZone;

use super::ExecError;
use crate::eval::EvalCtx;
use crate::row::Row;
use crate::spill::RowSpill;
use crate::time::Timestamp;

/// cimhunt's budgets: how much one search may hold. Reaching one is an error naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Groups one aggregation (`stats`, `tstats`, `eventstats`) may hold.
    pub max_groups: usize,
    /// Distinct values one `values()`/`dc()` accumulator may hold in one group, and values one
    /// `rex max_match=0` may extract from one field.
    pub max_values: usize,
    /// Rows a search without aggregation may collect, and rows one command may produce
    /// (`mvexpand`, `join`, `appendpipe`).
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_groups: 1_000_000,
            max_values: 100_000,
            max_rows: 1_000_000,
        }
    }
}

/// A subsearch's rows as provided to the context.
#[derive(Debug)]
struct Provided {
    rows: Vec<Row>,
    /// Rows past the reader's cut were made and dropped ([`ExecCtx::subsearch_cut`]).
    cut: bool,
}

/// What a command needs besides its rows. Cheap to clone (the parts that are shared are behind
/// `Arc`s); a clone reports its warnings to the same place.
#[derive(Debug, Clone)]
pub struct ExecCtx {
    eval: EvalCtx,
    limits: Limits,
    /// The rows of the plan's subsearches, each filled once, when it is first needed (see
    /// [`ExecCtx::with_subsearch_slots`]); clones share them.
    subsearches: Arc<[OnceLock<Provided>]>,
    has_subsearches: bool,
    warnings: Arc<Mutex<Vec<String>>>,
    /// Where commands over rows write what they hold beyond a budget (none: all in memory).
    row_spill: Option<Arc<RowSpill>>,
}

impl Default for ExecCtx {
    fn default() -> Self {
        ExecCtx::new(Timestamp::from_nanos(0, 0), TimeZone::UTC)
    }
}

impl ExecCtx {
    /// A context whose `now()` is `now`, displaying times in `tz`, with the default limits.
    pub fn new(now: Timestamp, tz: TimeZone) -> Self {
        ExecCtx {
            eval: EvalCtx::new(now).with_time_zone(tz),
            limits: Limits::default(),
            subsearches: Arc::new([]),
            has_subsearches: false,
            warnings: Arc::new(Mutex::new(Vec::new())),
            row_spill: None,
        }
    }

    /// The same context where `stats` and `eventstats` over rows keep what they hold beyond
    /// `spill`'s budget on disk ([`RowSpill`]); shared with its clones.
    pub fn with_row_spill(mut self, spill: Arc<RowSpill>) -> Self {
        self.row_spill = Some(spill);
        self
    }

    /// Where commands over rows write what they hold beyond a budget, and what they wrote.
    pub fn row_spill(&self) -> Option<&Arc<RowSpill>> {
        self.row_spill.as_ref()
    }

    /// The same context with other limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same context holding the finished rows of a plan's subsearches, in the plan's order
    /// ([`crate::Plan::subsearches`]).
    pub fn with_subsearch_rows(self, rows: Vec<Vec<Row>>) -> Self {
        let ctx = self.with_subsearch_slots(rows.len());
        for (i, r) in rows.into_iter().enumerate() {
            ctx.provide_subsearch(i, r);
        }
        ctx
    }

    /// The same context with room for the rows of `n` subsearches, none of them known yet:
    /// whoever runs the commands provides each ([`ExecCtx::provide_subsearch`]) before the
    /// first command that reads it ([`super::Command::subsearches`]), so that a subsearch
    /// whose rows cannot change the result is never finished.
    pub fn with_subsearch_slots(mut self, n: usize) -> Self {
        self.subsearches = (0..n).map(|_| OnceLock::new()).collect();
        self.has_subsearches = true;
        self
    }

    /// Provides the rows of subsearch `i` (shared with every clone of this context); false if
    /// there is no such subsearch or its rows were already provided (they are kept).
    pub fn provide_subsearch(&self, i: usize, rows: Vec<Row>) -> bool {
        self.provide_subsearch_used(i, rows, false)
    }

    /// Provides, of subsearch `i`'s rows, only those its reader uses
    /// ([`super::Command::subsearch_rows_used`]), in order; `cut`: the subsearch had more rows
    /// than its reader reads ([`super::Command::subsearch_rows_read`]), which the reader reports
    /// ([`ExecCtx::subsearch_cut`]). False as [`ExecCtx::provide_subsearch`].
    pub fn provide_subsearch_used(&self, i: usize, rows: Vec<Row>, cut: bool) -> bool {
        self.subsearches
            .get(i)
            .is_some_and(|s| s.set(Provided { rows, cut }).is_ok())
    }

    /// Whether subsearch `i`'s rows were provided as those its reader uses, from more rows than
    /// it reads: the reader reports the cut although the rows it got are fewer.
    pub fn subsearch_cut(&self, i: usize) -> bool {
        self.subsearches
            .get(i)
            .and_then(OnceLock::get)
            .is_some_and(|p| p.cut)
    }

    /// Whether the rows of subsearch `i` are known.
    pub fn has_subsearch(&self, i: usize) -> bool {
        self.subsearches.get(i).is_some_and(|s| s.get().is_some())
    }

    /// The same context with its own warnings (not shared with the context it came from).
    pub fn with_own_warnings(mut self) -> Self {
        self.warnings = Arc::new(Mutex::new(Vec::new()));
        self
    }

    /// The run's time: what `now()` returns.
    pub fn now(&self) -> Timestamp {
        self.eval.now()
    }

    /// The display time zone.
    pub fn tz(&self) -> &TimeZone {
        self.eval.time_zone()
    }

    /// The context eval expressions are evaluated in.
    pub fn eval_ctx(&self) -> &EvalCtx {
        &self.eval
    }

    /// The budgets.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The rows of subsearch `i` of the plan being run.
    pub fn subsearch(&self, i: usize) -> Result<&[Row], ExecError> {
        match self.subsearches.get(i).map(OnceLock::get) {
            Some(Some(provided)) => Ok(&provided.rows),
            Some(None) => Err(ExecError::Failed {
                command: "subsearch",
                message: format!("the rows of subsearch {} were not provided", i + 1),
            }),
            None if !self.has_subsearches => Err(ExecError::Failed {
                command: "subsearch",
                message: "the rows of this search's subsearches were not provided (finish it \
                          with the engine's finish_all, which runs its subsearches first)"
                    .to_owned(),
            }),
            None => Err(ExecError::Failed {
                command: "subsearch",
                message: format!("no subsearch number {i}"),
            }),
        }
    }

    /// Reports something a command had to cut or could not do, without failing.
    pub fn warn(&self, message: impl Into<String>) {
        let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: a command that warns per row cannot grow this without end.
        if w.len() < 1000 {
            w.push(message.into());
        }
    }

    /// Takes the warnings reported so far.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_subsearch_rows_are_an_error_not_an_empty_result() {
        let ctx = ExecCtx::default();
        assert!(ctx.subsearch(0).is_err());
        let ctx = ctx.with_subsearch_rows(vec![vec![Row::from_texts(&[("a", "1")])]]);
        assert_eq!(ctx.subsearch(0).unwrap().len(), 1);
        assert!(ctx.subsearch(1).is_err());
    }

    #[test]
    fn a_subsearch_slot_is_an_error_until_provided_then_fixed_and_shared_by_clones() {
        let ctx = ExecCtx::default().with_subsearch_slots(2);
        let clone = ctx.clone().with_own_warnings();
        assert!(ctx.subsearch(1).is_err());
        assert!(!ctx.has_subsearch(1));
        assert!(ctx.provide_subsearch(1, vec![Row::from_texts(&[("a", "1")])]));
        assert!(clone.has_subsearch(1));
        assert_eq!(clone.subsearch(1).unwrap().len(), 1);
        // Provided once: a second set is refused and the first rows are kept.
        assert!(!ctx.provide_subsearch(1, Vec::new()));
        assert_eq!(ctx.subsearch(1).unwrap().len(), 1);
        assert!(ctx.subsearch(0).is_err());
        assert!(!ctx.provide_subsearch(2, Vec::new()));
    }

    #[test]
    fn clones_share_warnings_unless_asked_not_to() {
        let ctx = ExecCtx::default();
        let clone = ctx.clone();
        clone.warn("x");
        assert_eq!(ctx.take_warnings(), ["x"]);
        let own = ctx.clone().with_own_warnings();
        own.warn("y");
        assert!(ctx.take_warnings().is_empty());
        assert_eq!(own.take_warnings(), ["y"]);
    }
}
