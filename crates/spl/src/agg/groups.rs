//! The aggregation state: groups keyed by their by-field values, one accumulator per function.

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::acc::{Acc, Rank, finish_list};
use super::key::{GroupKey, Keys, Parts};
use super::table::Table;
use super::verdicts::Verdicts;
use super::{AggCall, AggSpec, ByField, NullBy};
use crate::command::ExecCtx;
use crate::keyfilter::KeyFilter;
use crate::record::{Record, time_sym};
use crate::row::Row;
use crate::time::Timestamp;
use crate::value::{Value, group_order_parsed, parse_number};

/// The state of one aggregation: groups and their accumulators. Two states are equal when
/// they hold the same groups and overflow counts (the size estimate is not compared).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Groups {
    /// Serialized as a map from the key's encoding to the accumulators.
    #[serde(with = "super::key::serial")]
    groups: Table,
    overflow: Overflow,
    /// Over rows (not events): the position of the next row, which orders `first`/`last`/
    /// `list`. Never leaves the process (rows are aggregated once, after merging).
    #[serde(skip)]
    rows_seen: Option<u64>,
    /// An estimate of the heap bytes the groups' accumulators hold beyond the table
    /// ([`Groups::approx_bytes`]). Never leaves the process; a state read back counts from
    /// zero.
    #[serde(skip)]
    bytes: usize,
    /// The key filter's verdicts on groups that would start, remembered by the by-fields that
    /// decide them. Never leaves the process, and is not part of the state's value.
    #[serde(skip)]
    verdicts: Option<Box<Verdicts>>,
}

/// The rows of a state in order, made one at a time ([`Groups::into_ordered_rows`]).
#[derive(Debug)]
pub struct OrderedRows<'s> {
    spec: &'s AggSpec,
    entries: SortedEntries,
}

impl Iterator for OrderedRows<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let g = self.entries.order.next()?;
        let (key, accs) = self.entries.table.take_group(g);
        Some(group_row(self.spec, key, accs))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for OrderedRows<'_> {}

/// A group's row: its by-field values, then its aggregates.
pub(crate) fn group_row(spec: &AggSpec, key: &str, accs: impl IntoIterator<Item = Acc>) -> Row {
    let mut row = Row::with_capacity(spec.by.len() + spec.calls.len());
    for (b, k) in spec.by.iter().zip(Parts::of(key)) {
        row.set(b.output, Value::from_field(k.to_owned()));
    }
    for (call, mut acc) in spec.calls.iter().zip(accs) {
        finish_list(&mut acc);
        row.set(call.output, acc.finish(call));
    }
    row
}

/// Groups in the rows' order, each taken out of the table when it is given.
#[derive(Debug)]
pub(crate) struct SortedEntries {
    table: Table,
    /// Group numbers, in row order.
    order: std::vec::IntoIter<usize>,
}

impl SortedEntries {
    /// `groups` in the rows' order: by their by-field values, first field first, numbers as
    /// numbers ([`crate::value::group_order`]).
    ///
    /// The groups stay in the table, each row made from it in turn: its accumulators are
    /// freed as its row is made, the keys' chunks with the table. Taking each group out into a
    /// key and accumulators of its own first would hold both at once (the allocator does not
    /// hand the chunks freed to the small allocations).
    fn new(table: Table, width: usize) -> Self {
        let order = rows_order(table.iter().map(|(k, _)| k), width);
        SortedEntries {
            table,
            order: order.into_iter(),
        }
    }
}

/// The positions of `keys` (each of `width` values) in the rows' order. Each key's numbers are
/// read once, not at every comparison of the sort, into one table beside the keys (a vector
/// per group cost an allocation each); keys stay encoded until their row is made.
fn rows_order<'k>(keys: impl ExactSizeIterator<Item = &'k str>, width: usize) -> Vec<usize> {
    let mut numbers: Vec<f64> = Vec::with_capacity(keys.len() * width);
    let keys: Vec<&str> = keys.inspect(|key| key_numbers(key, &mut numbers)).collect();
    let numbers_of = |i: usize| numbers.get(i * width..(i + 1) * width).unwrap_or(&[]);
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| key_order(keys[a], numbers_of(a), keys[b], numbers_of(b)));
    order
}

impl Iterator for SortedEntries {
    type Item = (GroupKey, Vec<Acc>);

    fn next(&mut self) -> Option<Self::Item> {
        let (key, accs) = self.table.take_group(self.order.next()?);
        Some((GroupKey::from_encoded(key), accs.collect()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.order.size_hint()
    }
}

/// Appends the numbers of a key's values to `out`, NaN for a value that is not a number
/// (which `parse_number` never gives: it reads digits only): 8 bytes a value rather than 16
/// for an `Option<f64>`.
pub(crate) fn key_numbers(key: &str, out: &mut impl Extend<f64>) {
    out.extend(Parts::of(key).map(|p| parse_number(p).unwrap_or(f64::NAN)));
}

/// The rows' order of two keys, given their numbers ([`key_numbers`]). Equal only for equal
/// keys: [`group_order_parsed`] orders equal numbers by their texts.
pub(crate) fn key_order(a: &str, na: &[f64], b: &str, nb: &[f64]) -> Ordering {
    let number = |n: f64| (!n.is_nan()).then_some(n);
    Parts::of(a)
        .zip(Parts::of(b))
        .zip(na.iter().zip(nb))
        .map(|((x, y), (nx, ny))| group_order_parsed(x, number(*nx), y, number(*ny)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl PartialEq for Groups {
    fn eq(&self, other: &Self) -> bool {
        self.groups == other.groups
            && self.overflow == other.overflow
            && self.rows_seen == other.rows_seen
    }
}

/// How many groups [`Groups::retain_keys`] asks about at once.
pub const RETAIN_CHUNK: usize = 1 << 15;

/// What a distinct value costs beyond its text: its node in the set.
const VALUE_BYTES: usize = 48;

/// What an aggregation left out because a budget ([`crate::command::Limits`]) was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overflow {
    /// Records that would have started a group beyond `max_groups`.
    pub groups: u64,
    /// Values left out of a `values()`/`dc()` accumulator holding `max_values`.
    pub values: u64,
}

impl Overflow {
    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        self.groups == 0 && self.values == 0
    }
}

/// Two states that cannot be merged: they were built for different aggregations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot merge aggregation states: {0}")]
pub struct GroupsError(String);

thread_local! {
    /// The buffer keys are encoded into for lookups.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The value of a call's argument for a record: the field's value, or the `eval(…)`'s (where
/// false counts as no value, so that `count(eval(x=1))` counts the records where `x=1`).
fn argument<'r>(call: &'r AggCall, rec: &'r dyn Record, ctx: &ExecCtx) -> Value<'r> {
    match (&call.eval, call.field) {
        (Some(e), _) => match e.expr().eval(rec, ctx.eval_ctx()) {
            Value::Bool(false) => Value::Null,
            v => v,
        },
        (None, Some(f)) => rec.value(f),
        (None, None) => Value::Null,
    }
}

fn new_accs(spec: &AggSpec) -> impl ExactSizeIterator<Item = Acc> + '_ {
    spec.calls
        .iter()
        .map(|c| Acc::new(c, c.field == Some(time_sym()) && c.eval.is_none()))
}

impl Groups {
    /// An empty state for events (which may come from several workers, in any order).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty state for rows aggregated in order, once (`stats` after a command that needs
    /// every row): `first`, `last` and `list` follow the rows' order.
    pub fn over_rows() -> Self {
        Groups {
            rows_seen: Some(0),
            ..Self::default()
        }
    }

    /// What was left out because a budget was reached.
    pub fn overflow(&self) -> Overflow {
        self.overflow
    }

    /// An estimate of the memory the groups hold, in bytes: the table's arrays as allocated
    /// (keys, accumulators, hashes, index), and each distinct value a `values()`/`dc()` keeps.
    /// It leaves out values that `list()`, `first()` and the like replace or append, so it is
    /// a lower bound; the engine uses it to decide when to move states to disk, not to enforce
    /// limits.
    pub fn approx_bytes(&self) -> usize {
        self.bytes + self.groups.heap_bytes()
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether nothing was aggregated.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds a record: one contribution per combination of by-field values; none when a by-field
    /// is null and `spec` drops such records. A record that would start a group beyond the
    /// context's `max_groups` is left out and counted ([`Groups::overflow`]).
    pub fn add(&mut self, spec: &AggSpec, rec: &dyn Record, ctx: &ExecCtx) {
        self.add_kept(spec, rec, ctx, None)
    }

    /// [`Groups::add`], where a group that would start is first checked against the filters
    /// that follow the aggregation ([`KeyFilter`]): a group they would drop is never kept.
    pub fn add_kept(
        &mut self,
        spec: &AggSpec,
        rec: &dyn Record,
        ctx: &ExecCtx,
        filter: Option<&KeyFilter>,
    ) {
        let time = rec.time();
        let rank = match &mut self.rows_seen {
            Some(n) => {
                *n += 1;
                Rank {
                    time: None,
                    seq: *n,
                }
            }
            None => Rank { time, seq: 0 },
        };
        if let Some(f) = filter
            && self.dropped_early(spec, rec, time, f)
        {
            return;
        }
        // The common case: every by-field has one value. The key is encoded into a reused
        // buffer, looked up, and copied only when it starts a new group. The values are held
        // on the stack (ESCU's aggregations group by at most a dozen fields): this runs for
        // every event a detection aggregates.
        let held: SmallVec<[Value<'_>; BY_INLINE]> =
            spec.by.iter().map(|by| by_value(by, rec, time)).collect();
        // A by-field without a value is filled or drops the record, as in the general case;
        // with no multivalue there is one combination (unless no group may start at all, whose
        // overflow count the general case keeps).
        let texts: SmallVec<[Option<Cow<'_, str>>; BY_INLINE]> = held
            .iter()
            .map(|v| if v.count() == 1 { v.first_text() } else { None })
            .collect();
        let nulls = texts.iter().any(Option::is_none);
        if held.iter().any(|v| v.count() > 1) || (nulls && ctx.limits().max_groups == 0) {
            return self.add_combinations(spec, rec, &held, time, rank, ctx, filter);
        }
        let fill = match (&spec.null_by, nulls) {
            (NullBy::Drop, true) => return,
            (NullBy::Fill(fill), _) => fill.as_str(),
            (NullBy::Drop, false) => "",
        };
        // Taken out for the call (and put back), so that a nested aggregation could not find
        // it borrowed.
        let mut buf = SCRATCH.take();
        GroupKey::encode(&mut buf, texts.iter().map(|t| t.as_deref().unwrap_or(fill)));
        self.add_key(spec, rec, &buf, time, rank, ctx, filter);
        if buf.capacity() <= 1 << 20 {
            SCRATCH.set(buf);
        }
    }

    /// Whether the key filter's remembered verdicts drop the record's group by the deciding
    /// by-fields alone ([`Verdicts::remembered_drop`]). Most records of an aggregation by a
    /// dozen fields under a filter on one of them (a lookup on the process name) start no group:
    /// this leaves them out before the other by-fields are read (some are calculated), the
    /// whole key is encoded and looked up. Only single values are looked at here; a null or a
    /// multivalue takes the general path.
    fn dropped_early(
        &mut self,
        spec: &AggSpec,
        rec: &dyn Record,
        time: Option<Timestamp>,
        filter: &KeyFilter,
    ) -> bool {
        let Some(verdicts) = self.verdicts.as_deref_mut() else {
            return false;
        };
        if !verdicts.narrows(filter) {
            return false;
        }
        let mut values: SmallVec<[Value<'_>; 4]> = SmallVec::new();
        for &i in filter.deciding() {
            let Some(by) = spec.by.get(i) else {
                return false;
            };
            let value = by_value(by, rec, time);
            if value.count() != 1 {
                return false;
            }
            values.push(value);
        }
        let texts: SmallVec<[Cow<'_, str>; 4]> =
            values.iter().filter_map(Value::first_text).collect();
        texts.len() == values.len()
            && verdicts.remembered_drop(filter, texts.iter().map(|t| t.as_ref()))
    }

    /// Adds a record to the group of an encoded key, starting the group when the filter and
    /// the budget allow.
    #[allow(clippy::too_many_arguments)]
    fn add_key(
        &mut self,
        spec: &AggSpec,
        rec: &dyn Record,
        key: &str,
        time: Option<Timestamp>,
        rank: Rank,
        ctx: &ExecCtx,
        filter: Option<&KeyFilter>,
    ) {
        let len = self.groups.len();
        let mut started = false;
        let g = match self.groups.find(key) {
            Ok(g) => g,
            Err(hash) => {
                started = true;
                if let Some(f) = filter
                    && !self
                        .verdicts
                        .get_or_insert_with(Default::default)
                        .keeps(f, key, ctx)
                {
                    return;
                }
                if len >= ctx.limits().max_groups {
                    self.overflow.groups += 1;
                    return;
                }
                self.groups.push(hash, key, new_accs(spec))
            }
        };
        let accs = self.groups.accs_mut(g);
        let (dropped, grown) = add_all(accs, spec, rec, time, rank, ctx);
        self.overflow.values += dropped;
        self.bytes += grown;
        if started {
            // The texts a new group's first values left in its accumulators (an extreme, a
            // value at a time): their later replacements are taken to be about as long.
            self.bytes += accs.iter().map(Acc::held_text_bytes).sum::<usize>();
        }
    }

    /// The general case: a multivalued or null by-field.
    #[allow(clippy::too_many_arguments)]
    fn add_combinations(
        &mut self,
        spec: &AggSpec,
        rec: &dyn Record,
        held: &[Value<'_>],
        time: Option<Timestamp>,
        rank: Rank,
        ctx: &ExecCtx,
        filter: Option<&KeyFilter>,
    ) {
        let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(spec.by.len())];
        for v in held {
            let mut values: Vec<String> = v.texts().map(Cow::into_owned).collect();
            if values.is_empty() {
                match &spec.null_by {
                    NullBy::Fill(fill) => values.push(fill.clone()),
                    NullBy::Drop => return,
                }
            }
            keys = cross(keys, &values);
            if keys.len() > ctx.limits().max_groups {
                self.overflow.groups += 1;
                return;
            }
        }
        let mut buf = String::new();
        for key in keys {
            GroupKey::encode(&mut buf, key.iter().map(String::as_str));
            self.add_key(spec, rec, &buf, time, rank, ctx, filter);
        }
    }

    /// Keeps the groups `keep` says yes to: it is given the groups' by-field values (in the
    /// aggregation's order), a slice of at most [`RETAIN_CHUNK`] groups at a time, and answers
    /// for each ([`KeyFilter::keeps_all`]). Asking in slices bounds what the answer costs to
    /// build (a row per group) when a detection holds a group per event. The keys are read in
    /// place; when some group is dropped, the kept ones are copied into a new table
    /// ([`Table::retain`]).
    pub fn retain_keys(&mut self, mut keep: impl FnMut(&Keys<'_>) -> Vec<bool>) {
        let len = self.groups.len();
        let mut verdicts = Vec::with_capacity(len);
        for start in (0..len).step_by(RETAIN_CHUNK) {
            let end = (start + RETAIN_CHUNK).min(len);
            let encoded: Vec<&str> = (start..end).map(|g| self.groups.key(g)).collect();
            let answer = keep(&Keys::of(&encoded));
            // A short answer keeps the rest of the slice: nothing is dropped without a "no".
            verdicts.extend((0..end - start).map(|i| answer.get(i).copied().unwrap_or(true)));
        }
        if verdicts.contains(&false) {
            self.groups.retain(&verdicts);
        }
    }

    /// Reads groups written by `Serialize` to a format that writes a struct as a sequence of
    /// its fields (postcard, which states are encoded with), keeping only the groups `keep`
    /// says yes to, as [`Groups::retain_keys`] would after a whole read: the groups dropped are
    /// dropped a slice at a time as they are read. A self-describing format that writes a
    /// struct as a map is refused.
    pub fn deserialize_keeping<'de, D: serde::Deserializer<'de>>(
        d: D,
        keep: &mut dyn FnMut(&Keys<'_>) -> Vec<bool>,
    ) -> Result<Groups, D::Error> {
        use serde::de::{DeserializeSeed, Error, SeqAccess, Visitor};

        struct Fields<'k>(super::key::serial::Keep<'k>);

        impl<'de> Visitor<'de> for Fields<'_> {
            type Value = Groups;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a state's groups and overflow counts, in sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Groups, A::Error> {
                let groups = seq
                    .next_element_seed(super::key::serial::TableSeed(Some(self.0)))?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let overflow: Overflow = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                Ok(Groups {
                    groups,
                    overflow,
                    ..Groups::default()
                })
            }
        }

        struct Seed<'k>(super::key::serial::Keep<'k>);

        impl<'de> DeserializeSeed<'de> for Seed<'_> {
            type Value = Groups;

            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Groups, D::Error> {
                d.deserialize_struct("Groups", &["groups", "overflow"], Fields(self.0))
            }
        }

        Seed(keep).deserialize(d)
    }

    /// Folds another partial state (from another worker, machine or time bucket) into this one.
    /// Fails when the two were not built for `spec`.
    pub fn merge(&mut self, spec: &AggSpec, other: Groups) -> Result<(), GroupsError> {
        // A state read back (a spilled part, a worker's partial) does not count its texts:
        // what it adds is then estimated here as `add` counts it, a new group by its
        // accumulators' texts, a group merged into one held by its new values. The table
        // counts itself.
        let counted = other.bytes > 0 || other.groups.is_empty();
        if !self.groups.is_empty() && self.groups.width() != spec.calls.len() {
            return Err(GroupsError(format!(
                "a state with {} accumulators a group, expected {}",
                self.groups.width(),
                spec.calls.len()
            )));
        }
        let mut groups = other.groups.into_groups();
        while let Some((key, accs)) = groups.next() {
            let values = Parts::of(key).count();
            if values != spec.by.len() || accs.len() != spec.calls.len() {
                return Err(GroupsError(format!(
                    "a group with {} keys and {} accumulators, expected {} and {}",
                    values,
                    accs.len(),
                    spec.by.len(),
                    spec.calls.len()
                )));
            }
            match self.groups.find(key) {
                Err(hash) => {
                    if !counted {
                        self.bytes += accs
                            .iter()
                            .map(|a| a.text_bytes(VALUE_BYTES))
                            .sum::<usize>();
                    }
                    self.groups.push(hash, key, accs.drain(..));
                }
                Ok(g) => {
                    let mine = self.groups.accs_mut(g);
                    for ((acc, other), call) in mine.iter_mut().zip(accs.drain(..)).zip(&spec.calls)
                    {
                        let before = acc.distinct_len();
                        acc.merge(call, other).map_err(GroupsError)?;
                        if !counted {
                            self.bytes += acc.distinct_len().saturating_sub(before) * VALUE_BYTES;
                        }
                    }
                }
            }
        }
        self.overflow.groups += other.overflow.groups;
        self.overflow.values += other.overflow.values;
        if counted {
            self.bytes += other.bytes;
        }
        Ok(())
    }

    /// Why the state cannot give correct rows under `limits`, if it cannot: a budget was
    /// reached while adding, or merged states hold more groups or values than allowed.
    pub fn check_limits(&self, limits: &crate::command::Limits) -> Result<(), String> {
        if self.overflow.groups > 0 || self.groups.len() > limits.max_groups {
            return Err(format!(
                "more than {} groups (the max_groups limit); {} records were left out",
                limits.max_groups, self.overflow.groups
            ));
        }
        let most = self
            .groups
            .iter()
            .flat_map(|(_, accs)| accs.iter().map(Acc::distinct_len))
            .max()
            .unwrap_or(0);
        if self.overflow.values > 0 || most > limits.max_values {
            return Err(format!(
                "a values()/dc() of one group holds more than {} distinct values (the \
                 max_values limit); {} values were left out",
                limits.max_values, self.overflow.values
            ));
        }
        Ok(())
    }

    /// The finished aggregates of each group, keyed by the group's by-field values (for
    /// `eventstats`, which gives every row its group's aggregates).
    pub fn into_map(self, spec: &AggSpec) -> HashMap<Vec<String>, Vec<Value<'static>>> {
        let mut map = HashMap::with_capacity(self.groups.len());
        let mut groups = self.groups.into_groups();
        while let Some((key, accs)) = groups.next() {
            let key = Parts::of(key).map(str::to_owned).collect();
            let values = spec
                .calls
                .iter()
                .zip(accs.drain(..))
                .map(|(call, mut acc)| {
                    finish_list(&mut acc);
                    acc.finish(call)
                })
                .collect();
            map.insert(key, values);
        }
        map
    }

    /// The result rows: by-field columns as written, then the aggregates in the order written;
    /// groups sorted ascending by their by-field values, first field first (numbers as
    /// numbers, [`crate::value::group_order`]). With no by-field, one row even over no events (as `stats
    /// count` gives 0).
    pub fn into_rows(self, spec: &AggSpec) -> Vec<Row> {
        self.into_ordered_rows(spec).collect()
    }

    /// The rows of [`Groups::into_rows`], in its order, each made only when it is taken: a
    /// consumer that reads only the first rows (`join` reads a subsearch's first 50,000) never
    /// holds the others as rows, and a group's accumulators are freed as its row is made (its
    /// key with the state, [`SortedEntries`]).
    pub fn into_ordered_rows(self, spec: &AggSpec) -> OrderedRows<'_> {
        OrderedRows {
            spec,
            entries: self.into_sorted(spec),
        }
    }

    /// The groups in the rows' order ([`Groups::into_ordered_rows`]).
    pub(crate) fn into_sorted(mut self, spec: &AggSpec) -> SortedEntries {
        if spec.by.is_empty() && self.groups.is_empty() {
            self.groups.insert("", new_accs(spec).collect());
        }
        SortedEntries::new(self.groups, spec.by.len())
    }

    /// The groups in the rows' order, borrowed ([`super::Runs`] writes them to disk, then
    /// [`Groups::clear_groups`]).
    pub(crate) fn sorted_refs(&self, spec: &AggSpec) -> Vec<(&str, &[Acc])> {
        let order = rows_order(self.groups.iter().map(|(k, _)| k), spec.by.len());
        order
            .into_iter()
            .map(|g| (self.groups.key(g), self.groups.accs(g)))
            .collect()
    }

    /// Drops every group, keeping what was left out and the rows' count over rows (their
    /// groups are in a run on disk).
    pub(crate) fn clear_groups(&mut self) {
        self.groups = Table::default();
        self.bytes = 0;
    }
}

/// Adds a record to a group's accumulators; the values left out by `max_values`, and an
/// estimate of the bytes the distinct values it added hold.
fn add_all(
    accs: &mut [Acc],
    spec: &AggSpec,
    rec: &dyn Record,
    time: Option<Timestamp>,
    rank: Rank,
    ctx: &ExecCtx,
) -> (u64, usize) {
    let max_values = ctx.limits().max_values;
    let mut dropped = 0;
    let mut grown = 0;
    for (acc, call) in accs.iter_mut().zip(&spec.calls) {
        let value = argument(call, rec, ctx);
        let before = acc.distinct_len();
        dropped += acc.add(call, &value, time, rank, max_values);
        let added = acc.distinct_len() - before;
        if added > 0 {
            let text: usize = value.texts().map(|t| t.len()).sum();
            grown += text + added * VALUE_BYTES;
        }
    }
    (dropped, grown)
}

/// By-fields whose values an event's key is built from on the stack.
const BY_INLINE: usize = 12;

/// The value of a by-field: `_time` bucketed by its span.
#[inline]
fn by_value<'r>(by: &ByField, rec: &'r dyn Record, time: Option<Timestamp>) -> Value<'r> {
    if by.field == time_sym() {
        return match time {
            Some(t) => Value::from_field(time_bucket(t, by.span_secs)),
            None => Value::Null,
        };
    }
    rec.value(by.field)
}

/// `_time` bucketed to the span's start, as epoch seconds; spans beyond `i64` are one bucket.
fn time_bucket(t: Timestamp, span: Option<u64>) -> String {
    match span.and_then(|s| i64::try_from(s).ok()).filter(|s| *s > 0) {
        Some(span) => (t.as_secs().div_euclid(span) * span).to_string(),
        None => t.epoch_text(),
    }
}

fn cross(keys: Vec<Vec<String>>, values: &[String]) -> Vec<Vec<String>> {
    if let [only] = values {
        return keys
            .into_iter()
            .map(|mut k| {
                k.push(only.clone());
                k
            })
            .collect();
    }
    let mut out = Vec::with_capacity(keys.len() * values.len());
    for k in &keys {
        for v in values {
            let mut k = k.clone();
            k.push(v.clone());
            out.push(k);
        }
    }
    out
}

/// The group a record belongs to (the first value of each by-field); `None` when a by-field is
/// null and `spec` drops such records.
pub(crate) fn group_key(spec: &AggSpec, rec: &dyn Record) -> Option<Vec<String>> {
    let time = rec.time();
    let mut key = Vec::with_capacity(spec.by.len());
    for by in &spec.by {
        match by_value(by, rec, time).first_text() {
            Some(t) => key.push(t.into_owned()),
            None => match &spec.null_by {
                NullBy::Fill(fill) => key.push(fill.clone()),
                NullBy::Drop => return None,
            },
        }
    }
    Some(key)
}
