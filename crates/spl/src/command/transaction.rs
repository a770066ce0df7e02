//! `transaction <field>… [maxspan=<t>] [maxpause=<t>] [maxevents=<n>] [startswith=<filter>]
//! [endswith=<filter>] [connected=<bool>] [keepevicted=<bool>]` (Search Reference,
//! "transaction"; Search Manual, "Identify and group events into transactions").
//!
//! Rules, with what cimhunt had to infer marked:
//! - Rows are grouped by the values of the fields; a row lacking one of them belongs to no
//!   transaction [inferred: Splunk can also join rows that share only some of several fields].
//! - Within a group, rows are taken in time order (oldest first). A transaction ends when the
//!   next row would make it longer than `maxspan` (first to last time) or leave a gap longer
//!   than `maxpause`, or hold more than `maxevents` rows (default 1000).
//! - `startswith`: a transaction begins only at a row the filter matches (a search expression in
//!   parentheses or quotes); such a row always begins a new one. `endswith`: a row the filter
//!   matches ends the transaction. A transaction that did not begin with a `startswith` row, or
//!   did not end with an `endswith` row, is evicted and not returned (`keepevicted=false`, the
//!   default); rows outside every transaction (orphans) are not returned.
//! - The result row of a transaction: `_time` of its first row, `duration` (last time minus
//!   first, in seconds), `eventcount`, `_raw` (the rows' texts joined by newlines, in time
//!   order), and every other field as the distinct values of its rows, in lexicographic order
//!   [inferred: `mvlist=false`]; with `keepevicted=true`, `closed_txn` is 1 for a closed
//!   transaction and 0 for an evicted one.
//! - Transactions are returned newest first [inferred].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Kind, Reads, args};
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::live::Live;
use crate::row::Row;
use crate::search::Expr;
use crate::search::parse::ExprParser;
use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::Value;

/// The `transaction` command.
#[derive(Debug, Clone)]
pub struct Transaction {
    fields: Vec<Sym>,
    maxspan: Option<i64>,
    maxpause: Option<i64>,
    maxevents: usize,
    startswith: Option<Expr>,
    endswith: Option<Expr>,
    keepevicted: bool,
}

/// A filter value: `(expr)`, `"expr"` or `expr` up to white space.
fn filter(sc: &mut Scanner<'_>, key: &crate::lexer::Token) -> RawResult<Expr> {
    sc.skip_ws();
    let base = sc.pos();
    let rest = sc.rest();
    let (inner, consumed) = if rest.starts_with('(') {
        let mut depth = 0usize;
        let mut quoted = false;
        let mut close = None;
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return Err(RawError::syntax(
                "unbalanced parenthesis",
                base..base + 1,
                "this `(` is never closed",
            ));
        };
        (1..close, close + 1)
    } else {
        let v = args::value(sc, key)?;
        if v.text.starts_with("eval(") {
            return Err(RawError::unsupported(
                format!("transaction {}=eval(…)", key.text),
                v.span,
            ));
        }
        return crate::search::parse_expr(&v.text).map_err(|e| {
            RawError::syntax(
                format!("bad {} filter: {}", key.text, e.message()),
                v.span.clone(),
                "this filter",
            )
        });
    };
    let mut inner_sc = Scanner::new(rest, inner);
    let expr = ExprParser::new(&mut inner_sc, false)
        .parse()
        .map_err(|mut e| {
            e.span = e.span.start + base..e.span.end + base;
            e
        })?;
    for _ in 0..rest[..consumed].chars().count() {
        sc.bump();
    }
    Ok(expr)
}

impl Transaction {
    pub(crate) fn parse(sc: &mut Scanner<'_>, name_span: Range<usize>) -> RawResult<Self> {
        let mut t = Transaction {
            fields: Vec::new(),
            maxspan: None,
            maxpause: None,
            maxevents: 1000,
            startswith: None,
            endswith: None,
            keepevicted: false,
        };
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            if let Some(key) = args::eat_key(sc) {
                match key.text.as_str() {
                    "startswith" => t.startswith = Some(filter(sc, &key)?),
                    "endswith" => t.endswith = Some(filter(sc, &key)?),
                    _ => {
                        let v = args::value(sc, &key)?;
                        match key.text.as_str() {
                            "maxspan" => t.maxspan = duration(&v)?,
                            "maxpause" => t.maxpause = duration(&v)?,
                            "maxevents" => {
                                let n = v.text.trim().parse::<i64>().map_err(|_| {
                                    RawError::syntax("bad maxevents", v.span.clone(), "a number")
                                })?;
                                t.maxevents = if n < 0 { usize::MAX } else { n as usize };
                            }
                            "keepevicted" => t.keepevicted = args::boolean(&v)?,
                            // `connected` only matters for rows that share some of several
                            // fields, which cimhunt does not group (see above).
                            "connected" | "keeporphans" if !args::boolean(&v)? => {}
                            "mvlist" | "mvraw" if !args::boolean(&v)? => {}
                            "maxopentxn" | "maxopenevents" | "delim" | "nullstr" => {}
                            _ => return Err(args::unknown_option("transaction", &key)),
                        }
                    }
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) => t.fields.push(Sym::new(&f.text)),
                None => return Err(args::unexpected(sc, "transaction", "expected a field")),
            }
        }
        if t.fields.is_empty() {
            return Err(RawError::unsupported(
                "transaction without fields",
                name_span,
            ));
        }
        Ok(t)
    }
}

/// `180m`, `5m`, `30s`, `-1` (no limit).
fn duration(v: &crate::lexer::Token) -> RawResult<Option<i64>> {
    if v.text.trim().starts_with('-') {
        return Ok(None);
    }
    Ok(Some(args::span_seconds(&v.text, &v.span)? as i64))
}

struct Open<'r> {
    rows: Vec<(Option<Timestamp>, &'r Row)>,
    started: bool,
}

fn time_of(row: &Row) -> Option<Timestamp> {
    row.get(Sym::new("_time")).and_then(|v| {
        v.first_text()
            .and_then(|t| Timestamp::parse_epoch_secs(t.trim()).ok())
    })
}

fn secs(t: Option<Timestamp>) -> i64 {
    t.map_or(0, Timestamp::as_secs)
}

impl Transaction {
    fn key(&self, row: &Row) -> Option<Vec<String>> {
        self.fields
            .iter()
            .map(|f| {
                row.get(*f)
                    .and_then(|v| v.first_text().map(|t| t.into_owned()))
            })
            .collect()
    }

    /// Emits an ended transaction when it is closed, or evicted and kept.
    fn close(&self, open: Open<'_>, ended: bool, out: &mut Vec<(Option<Timestamp>, Row)>) {
        let closed =
            (self.startswith.is_none() || open.started) && (self.endswith.is_none() || ended);
        if !closed && !self.keepevicted {
            return;
        }
        out.push(merge(&open.rows, self.keepevicted.then_some(closed)));
    }
}

/// The result row of a transaction's rows (oldest first).
fn merge(rows: &[(Option<Timestamp>, &Row)], closed: Option<bool>) -> (Option<Timestamp>, Row) {
    let time = Sym::new("_time");
    let raw = Sym::new("_raw");
    let first = rows.first().and_then(|(t, _)| *t);
    let last = rows.last().and_then(|(t, _)| *t);
    let mut names: Vec<Sym> = Vec::new();
    let mut values: HashMap<Sym, BTreeSet<String>> = HashMap::new();
    let mut raws = Vec::new();
    for (_, row) in rows {
        for (name, value) in row.cells() {
            if *name == time {
                continue;
            }
            if *name == raw {
                raws.extend(value.texts().map(|t| t.into_owned()));
                continue;
            }
            if !values.contains_key(name) {
                names.push(*name);
            }
            values
                .entry(*name)
                .or_default()
                .extend(value.texts().map(|t| t.into_owned()));
        }
    }
    let mut out = Row::with_capacity(names.len() + 4);
    if let Some(t) = first {
        out.push(time, Value::from_field(t.epoch_text()));
    }
    if !raws.is_empty() {
        out.push(raw, Value::str(raws.join("\n")));
    }
    for name in names {
        let vs = values.remove(&name).unwrap_or_default();
        out.set(name, Value::from_fields(vs));
    }
    let duration = match (first, last) {
        (Some(a), Some(b)) => (b.as_nanos() - a.as_nanos()) as f64 / 1e9,
        _ => 0.0,
    };
    out.set(Sym::new("duration"), Value::num(duration));
    out.set(Sym::new("eventcount"), Value::num(rows.len() as f64));
    if let Some(c) = closed {
        out.set(
            Sym::new("closed_txn"),
            Value::num(if c { 1.0 } else { 0.0 }),
        );
    }
    (first, out)
}

impl Command for Transaction {
    fn name(&self) -> &'static str {
        "transaction"
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::All
    }

    /// A transaction's row holds, beside `_time`, `_raw` and the figures it computes, the
    /// values of each field of its rows under the field's name: a field is read only when it
    /// is live after, or when grouping (`_time`, the fields, what `startswith` and `endswith`
    /// test) reads it. `Suspicious Ticket Granting Ticket Request` kept every field of 22,153
    /// events (`_raw` too) for a `table` of six on 4 GiB of a fleet's events.
    fn live_before(&self, after: Live) -> Live {
        let mut live = after.with_reads(Reads::Fields(self.fields.clone()));
        live = live.with(Sym::new("_time"));
        for e in self.startswith.iter().chain(&self.endswith) {
            live = live.with_reads(super::search::expr_reads(e));
        }
        live
    }

    fn run(&self, rows: &mut Vec<Row>, _: &ExecCtx) -> Result<(), ExecError> {
        let input = std::mem::take(rows);
        let mut groups: HashMap<Vec<String>, Vec<(Option<Timestamp>, &Row)>> = HashMap::new();
        let mut order: Vec<Vec<String>> = Vec::new();
        for row in &input {
            let Some(k) = self.key(row) else { continue };
            let entry = groups.entry(k.clone()).or_default();
            if entry.is_empty() {
                order.push(k);
            }
            entry.push((time_of(row), row));
        }
        let mut out: Vec<(Option<Timestamp>, Row)> = Vec::new();
        for k in order {
            let Some(mut members) = groups.remove(&k) else {
                continue;
            };
            members.sort_by_key(|(t, _)| *t);
            let mut open: Option<Open<'_>> = None;
            for (t, row) in members {
                let starts = self.startswith.as_ref().is_some_and(|e| e.matches(row));
                let ends = self.endswith.as_ref().is_some_and(|e| e.matches(row));
                if let Some(o) = open.take() {
                    let (first, last) = (
                        o.rows.first().map_or(0, |r| secs(r.0)),
                        o.rows.last().map_or(0, |r| secs(r.0)),
                    );
                    let too_long = self.maxspan.is_some_and(|m| secs(t) - first > m);
                    let too_slow = self.maxpause.is_some_and(|m| secs(t) - last > m);
                    if starts || too_long || too_slow || o.rows.len() >= self.maxevents {
                        self.close(o, false, &mut out);
                    } else {
                        open = Some(o);
                    }
                }
                match open.as_mut() {
                    Some(o) => o.rows.push((t, row)),
                    None if self.startswith.is_some() && !starts => continue,
                    None => {
                        open = Some(Open {
                            rows: vec![(t, row)],
                            started: starts,
                        })
                    }
                }
                if ends && let Some(o) = open.take() {
                    self.close(o, true, &mut out);
                }
            }
            if let Some(o) = open.take() {
                self.close(o, false, &mut out);
            }
        }
        out.sort_by_key(|b| std::cmp::Reverse(b.0));
        *rows = out.into_iter().map(|(_, r)| r).collect();
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("transaction")?;
        for field in &self.fields {
            write!(f, " {field}")?;
        }
        if let Some(s) = self.maxspan {
            write!(f, " maxspan={s}s")?;
        }
        if let Some(s) = self.maxpause {
            write!(f, " maxpause={s}s")?;
        }
        if let Some(e) = &self.startswith {
            write!(f, " startswith=({e})")?;
        }
        if let Some(e) = &self.endswith {
            write!(f, " endswith=({e})")?;
        }
        Ok(())
    }
}
