//! Reading ahead: for a text input larger than one block, a thread of its own fills the next
//! blocks while the caller cuts the last one, so that copying bytes out of the source (and
//! decompressing or transcoding them) runs beside the cutting instead of before it.
//!
//! Blocks are filled whole, with no bytes carried over at their front: a record cut by a block's
//! end is joined with the head of the next block in a small buffer of its own (see
//! `run::Run::text_step`), so no block is copied twice. At most [`AHEAD`] filled blocks wait;
//! when the caller stops reading (drops the channel's receiving end), the thread ends at its
//! next block.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread;

use crate::block::{Block, Pool};
use crate::sniff::Stream;

/// Filled blocks that may wait for the caller. With two, the reading thread blocked on a full
/// queue every few blocks and the cutter on an empty one: one detection over 1 GiB of text made
/// about 4,900 context switches on two cores. With six, 2,600 to 3,000, 4 to 6% less CPU and 2
/// to 4% less time (medians of nine alternated runs), for 4 MiB more resident; twelve gave
/// nothing more.
const AHEAD: usize = 6;

/// How filling a buffer ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The buffer is full; there may be more.
    Full,
    /// The input ended.
    Eof,
    /// Reading failed.
    Failed(io::Error),
}

/// One filled block and how filling it ended.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) block: Arc<Block>,
    pub(crate) end: End,
}

impl Raw {
    /// Whether more blocks follow this one.
    pub(crate) fn more(&self) -> bool {
        matches!(self.end, End::Full)
    }
}

/// Where the next filled block comes from.
pub(crate) enum Filler {
    /// The caller's thread, until the first block turns out full (small inputs never start a
    /// thread).
    Inline(Stream),
    /// The reading thread.
    Thread(Receiver<Raw>),
    /// Nothing more: the input ended or failed.
    Done,
}

impl Filler {
    /// The next block of `block_size` bytes (fewer at the input's end).
    pub(crate) fn next(&mut self, pool: &Arc<Pool>, block_size: usize) -> Raw {
        match std::mem::replace(self, Filler::Done) {
            Filler::Inline(mut stream) => {
                let raw = fill_block(&mut stream, pool, block_size);
                if raw.more() {
                    *self = start(stream, Arc::clone(pool), block_size);
                }
                raw
            }
            Filler::Thread(rx) => match rx.recv() {
                Ok(raw) => {
                    if raw.more() {
                        *self = Filler::Thread(rx);
                    }
                    raw
                }
                Err(_) => failed(io::Error::other("the reading thread stopped")),
            },
            Filler::Done => Raw {
                block: Arc::new(Block::new(Vec::new())),
                end: End::Eof,
            },
        }
    }
}

/// Starts the reading thread for the rest of `stream`. When no thread can be started, the
/// input fails with that error (its records so far are kept).
fn start(mut stream: Stream, pool: Arc<Pool>, block_size: usize) -> Filler {
    let (tx, rx) = sync_channel(AHEAD);
    let spawned = thread::Builder::new()
        .name("cimhunt-read-ahead".into())
        .spawn(move || {
            loop {
                let raw = fill_block(&mut stream, &pool, block_size);
                let more = raw.more();
                if tx.send(raw).is_err() || !more {
                    break;
                }
            }
        });
    match spawned {
        Ok(_) => Filler::Thread(rx),
        Err(e) => {
            let (tx, rx) = sync_channel(1);
            let error = io::Error::other(format!("cannot start a reading thread: {e}"));
            // The receiver is held here, so the one message fits.
            let _ = tx.send(failed(error));
            Filler::Thread(rx)
        }
    }
}

/// A block holding nothing, for a failure.
fn failed(error: io::Error) -> Raw {
    Raw {
        block: Arc::new(Block::new(Vec::new())),
        end: End::Failed(error),
    }
}

/// Fills a pooled buffer with up to `block_size` bytes of `stream`.
fn fill_block(stream: &mut Stream, pool: &Arc<Pool>, block_size: usize) -> Raw {
    let mut data = pool.take(block_size);
    let (filled, end) = match data.get_mut(..block_size) {
        Some(buf) => fill(stream, buf, 0),
        None => (0, End::Failed(io::Error::other("buffer too small"))),
    };
    Raw {
        block: Arc::new(Block::pooled(data, filled, Arc::clone(pool))),
        end,
    }
}

/// Reads into `buf[filled..]` until it is full, the input ends or a read fails.
pub(crate) fn fill(source: &mut Stream, buf: &mut [u8], mut filled: usize) -> (usize, End) {
    while filled < buf.len() {
        match source.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => return (filled, End::Eof),
            Ok(n) => filled = (filled + n).min(buf.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, End::Failed(e)),
        }
    }
    (filled, End::Full)
}
