//! `rename a as b, "X.*" as *`: each pair in order; `*` in the old name captures, `*` in the
//! new name substitutes the capture (Splunk Search Reference, "rename"). A renamed field
//! replaces an existing field of the new name; column order is kept.

use hashbrown::HashMap;
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use smallvec::SmallVec;

use super::{Agreement, Command, ExecCtx, ExecError, Glob, Kind, Reads, substitute};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;
use crate::sym::Sym;
use crate::value::Value;

/// The `rename` command.
#[derive(Debug, Clone)]
pub struct Rename {
    pairs: Vec<(Glob, String)>,
    /// Unique for the life of the process (a clone keeps it: its pairs are the same): the key
    /// of this command's remembered new names.
    id: u64,
}

/// A row's column names.
type Names = SmallVec<[Sym; 16]>;

/// (command, pair number, column name) → the new name, if the pair renames the column.
type NewNames = HashMap<(u64, usize, Sym), Option<Sym>>;

/// How many (command, pair, name) answers a thread remembers (about 2 MB at most); when full
/// they are forgotten and computed again as they come.
const REMEMBERED_NAMES: usize = 1 << 16;

thread_local! {
    /// Per pair and column name, the new name (`None`: the pair leaves it): computed once per
    /// name rather than matched, substituted and interned for every row. Per thread, so that
    /// the workers that run a `rename` on every event never contend for it.
    static NEW_NAMES: RefCell<NewNames> = RefCell::new(HashMap::new());
}

impl Rename {
    /// `rename` of these pairs (old name or glob, new name or template).
    pub fn new(pairs: &[(&str, &str)]) -> Self {
        Rename {
            pairs: pairs
                .iter()
                .map(|(from, to)| (Glob::new(from), (*to).to_owned()))
                .collect(),
            id: crate::unique_id(),
        }
    }

    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut pairs = Vec::new();
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            let at = sc.pos();
            let Some(from) = sc.list_name()? else {
                return Err(RawError::syntax(
                    "expected a field name",
                    at..at + 1,
                    "here",
                ));
            };
            sc.skip_ws();
            let Some(kw) = sc.eat_keyword("as", true) else {
                return Err(RawError::syntax(
                    "expected `as` in rename",
                    from.span,
                    "rename this field `as` what?",
                ));
            };
            sc.skip_ws();
            let Some(to) = sc.list_name()? else {
                return Err(RawError::syntax(
                    "missing new name after `as`",
                    kw,
                    "expected a field name",
                ));
            };
            pairs.push((Glob::new(&from.text), to.text));
        }
        if pairs.is_empty() {
            return Err(RawError::syntax(
                "rename needs `field as newname`",
                name_span,
                "nothing to rename",
            ));
        }
        Ok(Rename {
            pairs,
            id: crate::unique_id(),
        })
    }

    /// Renames the columns of one row, pair by pair. When a new name collides with another
    /// column, the renamed column wins (and among renamed columns, the last).
    fn apply(&self, row: &mut Row) {
        for pair in 0..self.pairs.len() {
            let news: SmallVec<[Option<Sym>; 16]> =
                row.names().map(|n| self.new_name(pair, n)).collect();
            if news.iter().all(Option::is_none) {
                continue;
            }
            // The common case (`rename Processes.* as *` on a row without the short names):
            // no two columns end with the same name, and the columns are renamed where they
            // stand.
            let after: SmallVec<[Sym; 16]> = row
                .names()
                .zip(&news)
                .map(|(name, new)| new.unwrap_or(name))
                .collect();
            if (1..after.len()).all(|i| !after[..i].contains(&after[i])) {
                for ((name, _), new) in row.cells_mut().iter_mut().zip(&news) {
                    if let Some(new) = new {
                        *name = *new;
                    }
                }
                continue;
            }
            let cells = std::mem::take(row.cells_mut());
            let renamed: Vec<(Sym, Value<'static>, bool)> = cells
                .into_iter()
                .zip(&news)
                .map(|((name, value), new)| match new {
                    Some(new) => (*new, value, true),
                    None => (name, value, false),
                })
                .collect();
            // Column j displaces column i of the same name when j was renamed and i was not,
            // or when both were renamed and j comes later.
            let displaces = |j: usize, i: usize| {
                let ((a, _, a_renamed), (b, _, b_renamed)) = (&renamed[j], &renamed[i]);
                j != i && a == b && *a_renamed && (!b_renamed || j > i)
            };
            let keep: Vec<bool> = (0..renamed.len())
                .map(|i| !(0..renamed.len()).any(|j| displaces(j, i)))
                .collect();
            *row.cells_mut() = renamed
                .into_iter()
                .zip(keep)
                .filter_map(|((name, value, _), k)| k.then_some((name, value)))
                .collect();
        }
    }
}

impl Rename {
    /// The name pair number `pair` gives column `name`, if it renames it.
    fn new_name(&self, pair: usize, name: Sym) -> Option<Sym> {
        let key = (self.id, pair, name);
        if let Some(new) = NEW_NAMES.with_borrow(|m| m.get(&key).copied()) {
            return new;
        }
        let (glob, to) = &self.pairs[pair];
        let new = glob
            .captures(name.as_str())
            .map(|caps| Sym::new(&substitute(to, &caps)));
        NEW_NAMES.with_borrow_mut(|m| {
            if m.len() >= REMEMBERED_NAMES {
                m.clear();
            }
            m.insert(key, new);
        });
        new
    }
}

impl Command for Rename {
    /// Pair by pair: a column moves to its new name in both rows, displacing a column there.
    /// A name that receives a column both rows hold alike agrees (and is present), unless a
    /// column that may differ is renamed onto it too; a name that receives a column that may
    /// differ may differ; a renamed column's old name is gone from both rows.
    fn agreement_after(&self, before: &Agreement) -> Option<Agreement> {
        let mut a = before.clone();
        for (glob, to) in &self.pairs {
            let rename = |f: &Sym| {
                glob.captures(f.as_str())
                    .map(|caps| Sym::new(&substitute(to, &caps)))
            };
            let from_differ: Vec<Sym> = a.differ.iter().filter_map(rename).collect();
            let from_present: Vec<Sym> = a.present.iter().filter_map(rename).collect();
            let mut differ: Vec<Sym> = a
                .differ
                .iter()
                .copied()
                .filter(|f| rename(f).is_none() && !from_present.contains(f))
                .collect();
            differ.extend(from_differ.iter().copied());
            let mut present: Vec<Sym> = a
                .present
                .iter()
                .copied()
                .filter(|f| rename(f).is_none())
                .collect();
            present.extend(from_present.iter().copied());
            present.retain(|f| !from_differ.contains(f));
            differ.sort();
            differ.dedup();
            present.sort();
            present.dedup();
            a = Agreement { differ, present };
        }
        Some(a)
    }

    fn name(&self) -> &'static str {
        "rename"
    }

    fn kind(&self) -> Kind {
        Kind::Streaming
    }

    fn reads(&self) -> Reads {
        super::reads_of(
            &self
                .pairs
                .iter()
                .map(|(g, _)| g.clone())
                .collect::<Vec<_>>(),
        )
    }

    /// Pair by pair from the last: a live name may have been moved there from the old name
    /// that the pair maps onto it (`Processes.process` for `process` under `Processes.*` as
    /// `*`), or have been there before. A pair whose new name has fewer wildcards than its old
    /// one maps many names onto one, and then any field may be read.
    fn live_before(&self, after: Live) -> Live {
        let Live::Only(mut live) = after else {
            return Live::All;
        };
        for (glob, to) in self.pairs.iter().rev() {
            let stars = glob.text().matches('*').count();
            let to = Glob::new(to);
            let mut old = Vec::new();
            for f in &live {
                if let Some(caps) = to.captures(f.as_str()) {
                    if caps.len() != stars {
                        return Live::All;
                    }
                    old.push(Sym::new(&substitute(glob.text(), &caps)));
                }
            }
            for o in old {
                if !live.contains(&o) {
                    live.push(o);
                }
            }
        }
        Live::Only(live)
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        // Rows of one aggregation have the same columns in the same order: when a row's names
        // are the last row's, and that row was renamed in place (no column displaced another,
        // so it kept its length), its new names are the last row's new names.
        let mut last: Option<(Names, Names)> = None;
        for row in rows.iter_mut() {
            if let Some((before, after)) = &last
                && row.names().eq(before.iter().copied())
            {
                for ((name, _), new) in row.cells_mut().iter_mut().zip(after) {
                    *name = *new;
                }
                continue;
            }
            let before: Names = row.names().collect();
            self.apply(row);
            last = (row.len() == before.len()).then(|| (before, row.names().collect()));
        }
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rename")?;
        for (i, (from, to)) in self.pairs.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{:?} as {to:?}", from.text())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &Row) -> Vec<&'static str> {
        r.names().map(Sym::as_str).collect()
    }

    #[test]
    fn drop_dm_object_name_renames_only_prefixed_columns_cv23() {
        let mut r = Row::from_texts(&[
            ("Processes.dest", "d"),
            ("Processes.user", "u"),
            ("count", "1"),
            ("values(Processes.process)", "p"),
        ]);
        Rename::new(&[("Processes.*", "*")]).apply(&mut r);
        assert_eq!(
            names(&r),
            ["dest", "user", "count", "values(Processes.process)"]
        );
    }

    #[test]
    fn rows_of_one_shape_after_a_collision_are_each_renamed() {
        // The first row's rename drops a column: the next row of the same names must not take
        // its new names positionally.
        let make = || Row::from_texts(&[("dest", "old"), ("Processes.dest", "new"), ("n", "1")]);
        let mut rows = vec![make(), make()];
        let other = Row::from_texts(&[("Processes.user", "u"), ("n", "2")]);
        rows.push(other.clone());
        rows.push(other);
        Rename::new(&[("Processes.*", "*")])
            .run(&mut rows, &ExecCtx::default())
            .unwrap();
        let want = Row::from_texts(&[("dest", "new"), ("n", "1")]);
        assert_eq!(rows[..2], [want.clone(), want]);
        let want = Row::from_texts(&[("user", "u"), ("n", "2")]);
        assert_eq!(rows[2..], [want.clone(), want]);
    }

    #[test]
    fn rename_collision_keeps_the_renamed_value_wherever_it_stands() {
        let mut r = Row::from_texts(&[("dest", "old"), ("Processes.dest", "new")]);
        Rename::new(&[("Processes.*", "*")]).apply(&mut r);
        assert_eq!(r, Row::from_texts(&[("dest", "new")]));
        let mut r = Row::from_texts(&[("Processes.dest", "new"), ("dest", "old"), ("count", "1")]);
        Rename::new(&[("Processes.*", "*")]).apply(&mut r);
        assert_eq!(r, Row::from_texts(&[("dest", "new"), ("count", "1")]));
        let mut r = Row::from_texts(&[("a", "1"), ("b", "2")]);
        Rename::new(&[("*", "x")]).apply(&mut r);
        assert_eq!(r, Row::from_texts(&[("x", "2")]));
    }
}
