//! Blocks of input bytes and the pool that recycles their buffers.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// A block of input bytes, shared by the records cut from it. Dropping the last reference
/// returns its buffer for reuse.
pub struct Block {
    /// The buffer; only `data[..len]` holds input bytes (the rest is left over from earlier use).
    data: Vec<u8>,
    /// How many bytes of `data` are valid.
    len: usize,
    /// Where the buffer goes back to when the block is dropped.
    pool: Option<Arc<Pool>>,
}

impl Block {
    /// A block holding `data`, outside any reader's buffer pool (handy for tests and for callers
    /// that build batches by hand).
    pub fn new(data: Vec<u8>) -> Block {
        Block {
            len: data.len(),
            data,
            pool: None,
        }
    }

    /// A block over the first `len` bytes of a pooled buffer.
    pub(crate) fn pooled(data: Vec<u8>, len: usize, pool: Arc<Pool>) -> Block {
        Block {
            len: len.min(data.len()),
            data,
            pool: Some(pool),
        }
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block").field("len", &self.len).finish()
    }
}

impl std::ops::Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or_default()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.put(std::mem::take(&mut self.data));
        }
    }
}

/// Buffers waiting for reuse, owned by one reader run (and kept alive by its blocks).
///
/// A buffer keeps its length (its bytes stay initialized) while it waits, so reusing it costs
/// neither an allocation nor a fill: reading writes straight over the old bytes.
#[derive(Debug)]
pub(crate) struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    /// Most buffers kept waiting; more are freed.
    max_free: usize,
    /// Largest buffer kept; a buffer grown for an oversized record is freed instead.
    max_len: usize,
    /// Smallest buffer made: a block plus room for a carried-over record, so that a buffer is
    /// not reallocated each time the carried part grows a little.
    min_len: usize,
}

impl Pool {
    /// A pool for blocks of about `block_size` bytes.
    pub(crate) fn new(block_size: usize) -> Pool {
        Pool {
            free: Mutex::new(Vec::new()),
            max_free: 8,
            max_len: block_size.saturating_mul(2).max(256 << 10),
            min_len: block_size
                .saturating_add(block_size / 4)
                .saturating_add(4096),
        }
    }

    /// A buffer of at least `len` initialized bytes.
    pub(crate) fn take(&self, len: usize) -> Vec<u8> {
        let mut buf = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default();
        if buf.len() < len {
            buf.resize(len.max(self.min_len), 0);
        }
        buf
    }

    /// Gives a buffer back.
    fn put(&self, buf: Vec<u8>) {
        if buf.len() > self.max_len || buf.capacity() == 0 {
            return;
        }
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < self.max_free {
            free.push(buf);
        }
    }

    /// How many buffers are waiting (for tests).
    #[cfg(test)]
    pub(crate) fn free_count(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_last_block_reference_returns_buffer_to_pool() {
        let pool = Arc::new(Pool::new(1024));
        let buf = pool.take(100);
        let block = Arc::new(Block::pooled(buf, 10, Arc::clone(&pool)));
        let other = Arc::clone(&block);
        assert_eq!(block.len(), 10);
        drop(block);
        assert_eq!(pool.free_count(), 0, "still referenced");
        drop(other);
        assert_eq!(pool.free_count(), 1);
        let again = pool.take(50);
        assert!(
            again.len() >= 100,
            "the recycled buffer keeps its initialized length"
        );
    }

    #[test]
    fn oversized_buffers_are_not_kept() {
        let pool = Arc::new(Pool::new(1024));
        let big = vec![0u8; 1 << 20];
        drop(Block::pooled(big, 5, Arc::clone(&pool)));
        assert_eq!(pool.free_count(), 0);
    }

    #[test]
    fn unpooled_block_derefs_to_its_bytes() {
        let b = Block::new(b"abc".to_vec());
        assert_eq!(&*b, b"abc");
    }
}
