//! `join [type=inner|left|outer] [max=N] [overwrite=bool] <field>… [subsearch]` (Search
//! Reference, "join").
//!
//! The left side is the rows piped into `join`; the right side is the subsearch's rows, at most
//! [`JOIN_MAXOUT`] of them (Splunk's `subsearch_maxout` for join, 50,000; more are cut, with a
//! warning). A left row matches a right row when both have every join field and the values are
//! equal (case-sensitively; a multivalued field compares all its values, in order [inferred]).
//! Each left row is joined with its first `max` matching right rows in the subsearch's order
//! (`max=1` by default, `max=0` for all), one output row per match: the left row's fields, with
//! the right row's fields added and, with `overwrite=true` (the default), replacing the left's
//! (a right field without a value, as `table` shows a missing one, replaces nothing).
//! A left row without a match is dropped by `type=inner` (the default) and kept as it is by
//! `type=left` and `type=outer` (which are the same). Without a field list, the join fields are
//! those the two sides have in common [inferred: from their first rows' fields].

use hashbrown::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::ops::Range;

use super::{Command, ExecCtx, ExecError, Kind, Reads, RowTest, args};
use crate::compile::ParseEnv;
use crate::error::{RawError, RawResult};
use crate::lexer::Scanner;
use crate::row::Row;
use crate::sym::Sym;

/// How many subsearch rows `join` uses.
pub const JOIN_MAXOUT: usize = 50_000;

/// `join`'s `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    /// Only left rows with a match.
    Inner,
    /// Every left row (`left`, `outer`).
    Left,
}

/// The `join` command.
#[derive(Debug, Clone)]
pub struct Join {
    kind: JoinType,
    max: usize,
    overwrite: bool,
    fields: Vec<Sym>,
    subsearch: usize,
}

impl Join {
    pub(crate) fn parse(
        sc: &mut Scanner<'_>,
        name_span: Range<usize>,
        env: &mut ParseEnv<'_>,
    ) -> RawResult<Self> {
        let mut j = Join {
            kind: JoinType::Inner,
            max: 1,
            overwrite: true,
            fields: Vec::new(),
            subsearch: usize::MAX,
        };
        let mut have_subsearch = false;
        loop {
            if sc.at_end() {
                break;
            }
            if sc.eat(',') {
                continue;
            }
            if sc.peek() == Some('[') {
                if have_subsearch {
                    return Err(args::unexpected(sc, "join", "one subsearch only"));
                }
                j.subsearch = env.subsearch(sc)?;
                have_subsearch = true;
                continue;
            }
            if let Some(key) = args::eat_key(sc) {
                let v = args::value(sc, &key)?;
                match key.text.to_ascii_lowercase().as_str() {
                    "type" => {
                        j.kind = match v.text.to_ascii_lowercase().as_str() {
                            "inner" => JoinType::Inner,
                            "left" | "outer" => JoinType::Left,
                            _ => {
                                return Err(RawError::syntax(
                                    format!("unknown join type `{}`", v.text),
                                    v.span,
                                    "expected inner, left or outer",
                                ));
                            }
                        }
                    }
                    "max" => j.max = args::integer(&v)? as usize,
                    "overwrite" => j.overwrite = args::boolean(&v)?,
                    "usetime" | "earlier" if !args::boolean(&v)? => {}
                    _ => return Err(args::unknown_option("join", &key)),
                }
                continue;
            }
            match args::field_name(sc)? {
                Some(f) => j.fields.push(Sym::new(&f.text)),
                None => return Err(args::unexpected(sc, "join", "expected a field or `[`")),
            }
        }
        if !have_subsearch {
            return Err(RawError::syntax(
                "join needs a subsearch `[…]`",
                name_span,
                "nothing to join with",
            ));
        }
        Ok(j)
    }
}

/// Writes the key of a row over `fields` into `buf` (cleared first): each field's text as the
/// results show it (a multivalue's values joined by newlines), after its length, so that two
/// keys are equal exactly when every field's text is. False when a field is missing or null:
/// the row has no key. One buffer serves every row; a `Vec<String>` per row cost more than the
/// lookup when every process of a day was joined at finish.
fn key_into(row: &Row, fields: &[Sym], buf: &mut String) -> bool {
    buf.clear();
    for f in fields {
        let Some(v) = row.get(*f).filter(|v| !v.is_null()) else {
            return false;
        };
        let len: usize = v
            .texts()
            .enumerate()
            .map(|(i, t)| t.len() + usize::from(i > 0))
            .sum();
        // Writing to a `String` cannot fail.
        let _ = write!(buf, "{len}:");
        for (i, t) in v.texts().enumerate() {
            if i > 0 {
                buf.push('\n');
            }
            buf.push_str(&t);
        }
    }
    true
}

impl Command for Join {
    fn name(&self) -> &'static str {
        "join"
    }

    /// Each left row is matched against the subsearch's rows on its own, when the join fields
    /// are named (without them they come from the first rows).
    fn row_local_at_finish(&self) -> bool {
        !self.fields.is_empty()
    }

    /// `type=inner` drops the rows without a match.
    fn is_filter(&self) -> bool {
        self.kind == JoinType::Inner
    }

    /// An inner join with no subsearch row matches no row, whatever its fields hold (a left
    /// join keeps them all). Unknown when the subsearch's rows are not at hand.
    fn drops_every_row(&self, ctx: &ExecCtx) -> bool {
        self.kind == JoinType::Inner && ctx.subsearch(self.subsearch).is_ok_and(<[Row]>::is_empty)
    }

    /// Whether a row has a match depends on its join fields alone.
    fn decided_by(&self) -> Option<Vec<Sym>> {
        (!self.fields.is_empty()).then(|| self.fields.clone())
    }

    fn kind(&self) -> Kind {
        Kind::Whole
    }

    fn reads(&self) -> Reads {
        Reads::All
    }

    fn subsearches(&self) -> Vec<usize> {
        vec![self.subsearch]
    }

    fn subsearch_rows_read(&self, i: usize) -> Option<usize> {
        (i == self.subsearch).then_some(JOIN_MAXOUT)
    }

    /// A right row can be read only when a left row has its key: with named join fields, the
    /// keys of `rows` decide (without them, the fields come from the rows themselves).
    fn subsearch_rows_used(&self, i: usize, rows: &[Row]) -> Option<RowTest> {
        if i != self.subsearch || self.fields.is_empty() {
            return None;
        }
        let fields = self.fields.clone();
        let mut buf = String::new();
        let mut keys: HashSet<String> = HashSet::new();
        for r in rows {
            if key_into(r, &fields, &mut buf) {
                keys.get_or_insert_with(buf.as_str(), str::to_owned);
            }
        }
        Some(Box::new(move |right: &Row| {
            let mut buf = String::new();
            key_into(right, &fields, &mut buf) && keys.contains(buf.as_str())
        }))
    }

    /// Every left row yields its matches or itself: none yield none.
    fn empty_gives_empty(&self) -> bool {
        true
    }

    fn run(&self, rows: &mut Vec<Row>, ctx: &ExecCtx) -> Result<(), ExecError> {
        let mut right = ctx.subsearch(self.subsearch)?;
        if right.len() > JOIN_MAXOUT || ctx.subsearch_cut(self.subsearch) {
            ctx.warn(format!(
                "join: the subsearch returned more than {JOIN_MAXOUT} rows; only the first \
                 {JOIN_MAXOUT} are joined (Splunk's join subsearch limit)"
            ));
            right = &right[..right.len().min(JOIN_MAXOUT)];
        }
        let fields: Vec<Sym> = if self.fields.is_empty() {
            let left_names: Vec<Sym> = rows
                .first()
                .map(|r| r.names().collect())
                .unwrap_or_default();
            right
                .first()
                .map(|r| r.names().filter(|n| left_names.contains(n)).collect())
                .unwrap_or_default()
        } else {
            self.fields.clone()
        };
        let mut buf = String::new();
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in right.iter().enumerate() {
            if key_into(r, &fields, &mut buf) {
                index.entry_ref(buf.as_str()).or_default().push(i);
            }
        }
        let max_rows = ctx.limits().max_rows;
        let mut out = Vec::with_capacity(rows.len());
        for left in rows.drain(..) {
            let matches = key_into(&left, &fields, &mut buf)
                .then(|| index.get(buf.as_str()))
                .flatten();
            let Some(matches) = matches else {
                if self.kind == JoinType::Left {
                    out.push(left);
                }
                continue;
            };
            let take = if self.max == 0 {
                matches.len()
            } else {
                self.max
            };
            for &i in matches.iter().take(take) {
                let mut row = left.clone();
                for (name, value) in right[i].cells() {
                    if value.is_null() {
                        continue;
                    }
                    if self.overwrite || row.get(*name).is_none_or(|v| v.is_null()) {
                        row.set(*name, value.clone());
                    }
                }
                out.push(row);
                if out.len() > max_rows {
                    return Err(ExecError::Limit {
                        command: "join",
                        message: format!("more than {max_rows} rows (the max_rows limit)"),
                    });
                }
            }
        }
        *rows = out;
        Ok(())
    }

    fn explain(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            JoinType::Inner => "inner",
            JoinType::Left => "left",
        };
        write!(f, "join type={kind} max={}", self.max)?;
        if !self.overwrite {
            f.write_str(" overwrite=false")?;
        }
        for field in &self.fields {
            write!(f, " {field}")?;
        }
        write!(f, " [subsearch {}]", self.subsearch + 1)
    }
}
