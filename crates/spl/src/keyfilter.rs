//! Filters after an aggregation, run on a group's key before the group is kept.
//!
//! Much of ESCU aggregates every process, registry write or file of a dataset by a dozen
//! by-fields (one group per event), then keeps a handful of them:
//!
//! ```text
//! | tstats count min(_time) as firstTime … by Processes.dest … Processes.process_name
//! | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)`
//! | lookup update=true is_windows_system_file filename as process_name OUTPUT systemFile
//! | search systemFile=true
//! ```
//!
//! Whether such a group survives depends on its by-field values only, so it can be decided
//! when the group would start, instead of holding, merging, sorting and finishing every group
//! for the filter to drop it at the end.
//!
//! **Why it gives the same rows.** A group's row after aggregation holds its by-field columns
//! and its aggregate columns. The *key row* holds the by-field columns alone: the two rows
//! agree on every field but the aggregates' outputs. Following the post commands while they
//! are streaming (row by row, [`Kind::Streaming`]) and each can say how agreement carries
//! through it ([`Command::agreement_after`]), a filter ([`Command::is_filter`]) that reads only
//! agreeing fields keeps the key row exactly when it keeps the full row. A filter that reads a
//! differing field is left out of the key row's run: it could only drop the full row. So when
//! the key row does not survive, the full row would not have either, and the group is never
//! kept. The commands that remain run again, as always, on the rows that are kept.
//!
//! Commands that read the run's time are not followed (a window finishes at its own time), nor
//! is anything after a command that needs every row (`dedup`, `eventstats` …), but for a second
//! `stats … by` whose by-fields agree ([`Command::regroups_by_row`]): a row goes to the groups
//! of its by-values whatever the other rows, so a filter after it that reads only those values
//! drops the groups a key row reaches exactly when it drops the groups its full row reaches
//! (`Common Ransomware Extensions` regroups every file by host and extension, and keeps the
//! extensions of ransomware). Only as groups start: at finish, key rows run together. An inner
//! `join` needs its subsearch's rows, which exist only once the groups are merged: it is
//! followed by the filter run then ([`KeyFilter::at_finish`]), not by the one run as groups
//! start. When running a command on the key row fails, the group is kept.

use std::fmt;
use std::sync::Arc;

use crate::agg::{AggSpec, Keys};
use crate::command::{Agreement, Command, ExecCtx, Kind};
use crate::plan::{Aggregation, Plan};
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The post commands a group's key must pass, built from a plan by [`KeyFilter::new`].
#[derive(Clone)]
pub struct KeyFilter {
    /// The by-fields' output columns, in the aggregation's order.
    columns: Vec<Sym>,
    /// The commands to run on the key row: the streaming prefix of the post commands, less
    /// the filters that read a differing field.
    commands: Vec<Arc<dyn Command>>,
    /// The by-fields (positions in `columns`) whose values decide the verdict: two keys that
    /// agree on them get the same ([`KeyFilter::deciding`]).
    deciding: Vec<usize>,
    /// Every column is named once, and none is the column of a key row's number
    /// ([`KeyFilter::keeps_all`]): cells are appended to key rows without looking for a cell
    /// of the same name.
    named_once: bool,
    /// Tells key filters apart, for whoever remembers verdicts (clones keep it: they are the
    /// same filter).
    id: u64,
}

impl KeyFilter {
    /// The key filter of a plan, or `None` when no filter after its aggregation can be decided
    /// from a group's key.
    pub fn new(plan: &Plan) -> Option<Self> {
        let Aggregation::Stats(spec) = &plan.aggregation else {
            return None;
        };
        let mut k = Self::for_commands(spec, &plan.post, false)?;
        k.deciding = deciding_columns(&k.columns, &k.commands);
        Some(k)
    }

    /// The key filter run once more when the groups are finished, with the subsearches' rows
    /// at hand: it may also take `join … [subsearch]` (a row without a match is dropped by an
    /// inner join, whatever the other rows). `None` unless it decides more than
    /// [`KeyFilter::new`], whose filters the groups have passed already. Run it with
    /// [`KeyFilter::keeps_all`].
    pub fn at_finish(plan: &Plan) -> Option<Self> {
        let Aggregation::Stats(spec) = &plan.aggregation else {
            return None;
        };
        let mut k = Self::for_commands(spec, &plan.post, true)?;
        if !k.commands.iter().any(|c| c.kind() != Kind::Streaming) {
            return None;
        }
        k.deciding = deciding_columns(&k.columns, &k.commands);
        Some(k)
    }

    /// The key filter of `post` run after the aggregation `spec`; `at_finish`: see
    /// [`KeyFilter::at_finish`].
    pub fn for_commands(
        spec: &AggSpec,
        post: &[Arc<dyn Command>],
        at_finish: bool,
    ) -> Option<Self> {
        let columns: Vec<Sym> = spec.by.iter().map(|b| b.output).collect();
        // The key row holds every by-field column, with the group's value; the full row also
        // holds the aggregates. At finish, key rows also carry their group's number.
        let mut present = columns.clone();
        if at_finish {
            present.push(group_column());
        }
        let mut known = Agreement {
            differ: spec
                .calls
                .iter()
                .map(|c| c.output)
                .filter(|o| !columns.contains(o))
                .collect(),
            present,
        };
        let mut commands = Vec::new();
        let mut filters = 0;
        for cmd in post {
            let runs_here = cmd.kind() == Kind::Streaming
                || (at_finish && cmd.row_local_at_finish())
                || (!at_finish && cmd.regroups_by_row());
            if !runs_here || cmd.uses_now() {
                break;
            }
            let decides =
                cmd.is_filter() && cmd.decided_by().is_some_and(|f| !known.any_differ(&f));
            let after = cmd.agreement_after(&known);
            if cmd.is_filter() && !decides {
                // Left out of the key row's run: it could only drop the full row. Unless it
                // also changes fields, in a way that cannot be said.
                match after {
                    Some(k) => {
                        known = k;
                        continue;
                    }
                    None => break,
                }
            }
            if at_finish
                && after
                    .as_ref()
                    .is_some_and(|k| !k.present.contains(&group_column()))
            {
                break;
            }
            match after {
                Some(k) => {
                    known = k;
                    commands.push(Arc::clone(cmd));
                    filters += usize::from(decides);
                }
                None => {
                    // A filter that decides, then changes fields in a way that cannot be said
                    // (`join` adds the subsearch's): it ends the key filter.
                    if decides {
                        commands.push(Arc::clone(cmd));
                        filters += 1;
                    }
                    break;
                }
            }
        }
        // Drop what follows the last filter: it cannot decide anything.
        while commands.last().is_some_and(|c| !c.is_filter()) {
            commands.pop();
        }
        // Every by-field, until narrowed (by [`KeyFilter::new`] and [`KeyFilter::at_finish`]).
        let deciding = (0..columns.len()).collect();
        let named_once = columns
            .iter()
            .enumerate()
            .all(|(i, c)| *c != group_column() && !columns[..i].contains(c));
        (filters > 0).then(|| KeyFilter {
            columns,
            commands,
            deciding,
            named_once,
            id: crate::unique_id(),
        })
    }

    /// For each key (its by-field values, in the aggregation's order), whether its group can
    /// give a row: the key rows run through the commands together (so that a `join` indexes
    /// the subsearch's rows once), each carrying its number in a column no command touches.
    /// When a command fails, or a row comes out without its number, every group is kept.
    /// Key rows hold the deciding columns only ([`KeyFilter::key_row`]): at finish, every
    /// group of a state read back from disk is asked.
    pub fn keeps_all(&self, keys: &Keys<'_>, ctx: &ExecCtx) -> Vec<bool> {
        let number = group_column();
        let mut rows: Vec<Row> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let mut row = self.key_row(key, 1);
                if self.named_once {
                    row.push(number, Value::num(i as f64));
                } else {
                    row.set(number, Value::num(i as f64));
                }
                row
            })
            .collect();
        // Warnings of this run are dropped: the real run of the commands reports them.
        let quiet = ctx.clone().with_own_warnings();
        for cmd in &self.commands {
            if cmd.run(&mut rows, &quiet).is_err() {
                return vec![true; keys.len()];
            }
        }
        let mut keep = vec![false; keys.len()];
        for row in &rows {
            match row.get(number).and_then(Value::as_number) {
                Some(n) if n >= 0.0 && (n as usize) < keep.len() => keep[n as usize] = true,
                _ => return vec![true; keys.len()],
            }
        }
        keep
    }

    /// Whether no group can give a row, whatever its key: one of the filters drops every row
    /// it is given (an inner `join` whose subsearch, provided in `ctx`, gave no rows). Then
    /// the state need not be read at all: the detection's rows are those of an empty state, as
    /// every row its groups would make is dropped there. The commands before that filter do
    /// not run either; on key rows, one that failed would have kept every group, and on the
    /// groups' rows made it fail the detection instead of giving no row.
    pub fn keeps_none(&self, ctx: &ExecCtx) -> bool {
        self.commands
            .iter()
            .any(|c| c.is_filter() && c.drops_every_row(ctx))
    }

    /// Whether a group with these by-field values (in the aggregation's order) can give a row:
    /// `false` only when the filters drop its key row.
    pub fn keeps(&self, key: &[&str], ctx: &ExecCtx) -> bool {
        let mut rows = vec![self.key_row(key.iter().copied(), 0)];
        for cmd in &self.commands {
            if cmd.run(&mut rows, ctx).is_err() {
                return true;
            }
            if rows.is_empty() {
                return false;
            }
        }
        true
    }

    /// The key row of a group's by-field values, with room for `extra` more columns.
    ///
    /// When the filter is decided by some of the by-fields ([`KeyFilter::deciding`]), the row
    /// holds those alone. That is what the deciding columns were shown to mean: two key rows
    /// that agree on them get the same verdict, whatever the other columns hold, and "may
    /// differ" includes being absent from one row ([`Agreement`]), as the aggregates are from
    /// a key row. Most key rows at finish are of a `join` on one of a dozen by-fields, and
    /// building the dozen took longer than running the join. A column named twice (only
    /// possible with the whole key, [`deciding_columns`]) keeps its last value, as `set` does.
    fn key_row<'k>(&self, key: impl Iterator<Item = &'k str>, extra: usize) -> Row {
        if !self.named_once {
            let mut row = Row::with_capacity(self.columns.len() + extra);
            for (c, k) in self.columns.iter().zip(key) {
                row.set(*c, Value::from_field(k.to_owned()));
            }
            return row;
        }
        let mut row = Row::with_capacity(self.deciding.len() + extra);
        let mut deciding = self.deciding.iter().peekable();
        for (i, (c, k)) in self.columns.iter().zip(key).enumerate() {
            if deciding.next_if_eq(&&i).is_some() {
                row.push(*c, Value::from_field(k.to_owned()));
            }
        }
        row
    }

    /// The commands run on a key row, as `explain` shows them.
    pub fn commands(&self) -> &[Arc<dyn Command>] {
        &self.commands
    }

    /// The by-fields (positions in the aggregation's order) whose values decide
    /// [`KeyFilter::keeps`]: for two keys that agree on these, it answers the same, whatever
    /// their other values. Every position when nothing narrower can be shown.
    ///
    /// Many filters read one or two of a dozen by-fields (`search systemFile=true` after a
    /// lookup on the process name), so a verdict can be remembered by those few values while
    /// the whole key is new for almost every event.
    pub fn deciding(&self) -> &[usize] {
        &self.deciding
    }

    /// Whether every by-field may decide the verdict.
    pub fn decided_by_whole_key(&self) -> bool {
        self.deciding.len() == self.columns.len()
    }

    /// What tells this filter apart from others (its clones share it).
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// The by-fields that decide the key filter's verdict ([`KeyFilter::deciding`]), found with the
/// same reasoning that builds it: two key rows that agree on some columns and may differ on
/// the others are followed through the commands ([`Command::agreement_after`]); if every filter
/// reads only fields on which they still agree, they get the same verdict. Columns are tried
/// one by one as "may differ", and each is kept as such only if the verdict is still shown to
/// agree with it and every column taken before, so the answer holds for all of them at once.
fn deciding_columns(columns: &[Sym], commands: &[Arc<dyn Command>]) -> Vec<usize> {
    let all: Vec<usize> = (0..columns.len()).collect();
    let mut distinct = columns.to_vec();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != columns.len() {
        // A column named twice holds the last value set: keep to the whole key.
        return all;
    }
    let agrees_when_differing = |differ: &[usize]| {
        let mut known = Agreement {
            differ: differ.iter().map(|&i| columns[i]).collect(),
            present: (0..columns.len())
                .filter(|i| !differ.contains(i))
                .map(|i| columns[i])
                .collect(),
        };
        for (n, cmd) in commands.iter().enumerate() {
            if cmd.is_filter() && cmd.decided_by().is_none_or(|f| known.any_differ(&f)) {
                return false;
            }
            match cmd.agreement_after(&known) {
                Some(k) => known = k,
                // Nothing follows a filter whose effect on fields cannot be said.
                None => return n + 1 == commands.len() && cmd.is_filter(),
            }
        }
        true
    };
    let mut differ = Vec::new();
    for c in all {
        differ.push(c);
        if !agrees_when_differing(&differ) {
            differ.pop();
        }
    }
    (0..columns.len()).filter(|i| !differ.contains(i)).collect()
}

/// The column key rows carry their group's number in (see [`KeyFilter::keeps_all`]); commands
/// that could rename, set or drop it end the key filter.
fn group_column() -> Sym {
    static COLUMN: std::sync::OnceLock<Sym> = std::sync::OnceLock::new();
    *COLUMN.get_or_init(|| Sym::new("__cimhunt_key_filter_group"))
}

impl fmt::Debug for KeyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let commands: Vec<String> = self.commands.iter().map(|c| c.to_string()).collect();
        f.debug_struct("KeyFilter")
            .field("columns", &self.columns)
            .field("commands", &commands)
            .field("deciding", &self.deciding)
            .finish()
    }
}
