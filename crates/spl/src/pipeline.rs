//! The commands after merging, run over rows as they come rather than over all rows at once.
//!
//! A detection's rows after its aggregation can be many (125,870 groups of command lines on a
//! fleet's day) while the rows it returns are few: `where`, `search` and a filter macro keep a
//! handful. Run one command at a time over a vector of every row, each command held them all.
//! Here the commands run in stages:
//!
//! - streaming commands ([`Command::in_chunks`]) run on a few thousand rows at a time, as their
//!   contract allows ("a streaming command may be given any subset of the rows");
//! - a command that can take its rows one at a time ([`Command::absorber`]: `stats`,
//!   `eventstats`) takes each chunk as it comes, and gives its rows, made one at a time, to the
//!   next stage;
//! - any other command gets every row in a vector, as before, after the caller has said whether
//!   to run it (and provided its subsearches).
//!
//! So the rows are held whole only where a command needs them whole, and only in the form it
//! holds them in (`eventstats` holds them compactly, [`crate::held`]).
//!
//! Key design decision: this is an evaluation strategy, not Splunk behaviour. Each command
//! gives the rows it gives over the whole vector; the test harness runs every search both ways
//! and compares the rows.

use std::sync::Arc;

use crate::command::{Command, ExecCtx, ExecError};
use crate::row::Row;
use crate::value::Value;

/// Rows handed from one stage to the next, each made when it is taken.
pub type RowIter<'a> = Box<dyn Iterator<Item = Result<Row, ExecError>> + 'a>;

/// A command taking its rows one at a time ([`Command::absorber`]).
pub trait Absorb<'a> {
    /// Takes the next row.
    fn add(&mut self, row: Row, ctx: &ExecCtx) -> Result<(), ExecError>;

    /// The command's rows, once it has taken them all.
    fn finish(self: Box<Self>, ctx: &ExecCtx) -> Result<RowIter<'a>, ExecError>;
}

/// Asked, before command `i` that needs every row at once runs on `rows`, whether to run it
/// ([`run_post`]).
pub type BeforeWhole<'a> = dyn FnMut(usize, &[Row]) -> Result<bool, ExecError> + 'a;

/// How many rows streaming commands are given at a time by default.
pub const CHUNK_ROWS: usize = 4096;

/// The texts' bytes past which a chunk is given on before it has its rows: 4,096 rows of whole
/// script blocks held 35 MiB at once (`PowerShell Start or Stop Service` on 2 GiB of a fleet's
/// events).
pub const CHUNK_BYTES: usize = 1 << 20;

/// About the bytes of a row's texts (a number counts 8: its text is not made to count it).
fn text_bytes(row: &Row) -> usize {
    fn of(v: &Value<'_>) -> usize {
        match v {
            Value::Str(s) => s.len(),
            Value::Multi(vs) => vs.iter().map(of).sum(),
            _ => 8,
        }
    }
    row.cells().iter().map(|(_, v)| of(v)).sum()
}

/// Runs `post` over `rows`, streaming commands `chunk` rows at a time. Before a command that
/// needs every row at once, `before_whole(i, rows)` is asked whether to run command `i` on
/// `rows` (it need not when it gives nothing for none), and provides what it reads (its
/// subsearches, of which it may provide only what the command reads of them for these rows:
/// [`Command::subsearch_rows_used`]).
pub fn run_post<'a>(
    rows: RowIter<'a>,
    post: &'a [Arc<dyn Command>],
    ctx: &ExecCtx,
    chunk: usize,
    before_whole: &mut BeforeWhole<'_>,
) -> Result<Vec<Row>, ExecError> {
    let mut out = Vec::new();
    run_post_into(rows, post, ctx, chunk, before_whole, &mut |c| {
        out.append(c);
        Ok(())
    })?;
    Ok(out)
}

/// [`run_post`], handing the result rows to `out` a chunk at a time, in order, as the last
/// stage gives them (whoever takes them may hold them compactly, or write them out).
pub fn run_post_into<'a>(
    mut rows: RowIter<'a>,
    post: &'a [Arc<dyn Command>],
    ctx: &ExecCtx,
    chunk: usize,
    before_whole: &mut BeforeWhole<'_>,
    out: &mut dyn FnMut(&mut Vec<Row>) -> Result<(), ExecError>,
) -> Result<(), ExecError> {
    let chunk = chunk.max(1);
    let mut i = 0;
    loop {
        let j = post[i..]
            .iter()
            .position(|c| !c.in_chunks())
            .map_or(post.len(), |p| i + p);
        let streaming = &post[i..j];
        let Some(cmd) = post.get(j) else {
            return in_chunks(rows, streaming, ctx, chunk, out);
        };
        let absorber = if cmd.subsearches().is_empty() {
            cmd.absorber()
        } else {
            None
        };
        rows = match absorber {
            Some(mut sink) => {
                in_chunks(rows, streaming, ctx, chunk, &mut |c| {
                    c.drain(..).try_for_each(|r| sink.add(r, ctx))
                })?;
                sink.finish(ctx)?
            }
            None => {
                let mut all = Vec::new();
                in_chunks(rows, streaming, ctx, chunk, &mut |c| {
                    all.append(c);
                    Ok(())
                })?;
                if before_whole(j, &all)? {
                    cmd.run(&mut all, ctx)?;
                }
                Box::new(all.into_iter().map(Ok))
            }
        };
        i = j + 1;
    }
}

/// Takes `rows` `chunk` at a time, runs `cmds` over each chunk and gives it to `sink`.
fn in_chunks(
    mut rows: RowIter<'_>,
    cmds: &[Arc<dyn Command>],
    ctx: &ExecCtx,
    chunk: usize,
    sink: &mut dyn FnMut(&mut Vec<Row>) -> Result<(), ExecError>,
) -> Result<(), ExecError> {
    loop {
        let mut c = Vec::with_capacity(chunk.min(CHUNK_ROWS));
        let mut bytes = 0;
        for r in rows.by_ref() {
            let r = r?;
            bytes += text_bytes(&r);
            c.push(r);
            if c.len() >= chunk || bytes >= CHUNK_BYTES {
                break;
            }
        }
        if c.is_empty() {
            return Ok(());
        }
        for cmd in cmds {
            cmd.run(&mut c, ctx)?;
        }
        sink(&mut c)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_sizes(rows: Vec<Row>, chunk: usize) -> Vec<usize> {
        let mut sizes = Vec::new();
        in_chunks(
            Box::new(rows.into_iter().map(Ok)),
            &[],
            &ExecCtx::default(),
            chunk,
            &mut |c| {
                sizes.push(c.len());
                Ok(())
            },
        )
        .unwrap();
        sizes
    }

    /// Regression: chunks of 4,096 rows of whole script blocks held 35 MiB at once.
    #[test]
    fn a_chunk_of_large_rows_is_given_on_at_its_bytes() {
        let big = "x".repeat(CHUNK_BYTES / 3 + 1);
        let large: Vec<Row> = (0..7).map(|_| Row::from_texts(&[("s", &big)])).collect();
        assert_eq!(chunk_sizes(large, CHUNK_ROWS), [3, 3, 1]);
        let small: Vec<Row> = (0..10)
            .map(|i| Row::from_texts(&[("n", &i.to_string())]))
            .collect();
        assert_eq!(chunk_sizes(small, 4), [4, 4, 2]);
    }
}
