//! The groups of one aggregation state, held in a few large chunks rather than an allocation
//! or two per group.
//!
//! Most of ESCU groups every event of a dataset by a dozen fields, so nearly every event starts
//! a group. As a hash map from an owned key to a vector of accumulators, each new group cost
//! two allocations (from memory the allocator last handed out long ago, so a cache miss each),
//! and hashing its key, often a whole command line, twice (to look it up, then to insert it),
//! and again each time the table grew.
//!
//! Key design decision: groups are numbered in the order they start. Their encoded keys lie
//! back to back in chunks of up to [`KEY_CHUNK`] bytes, their accumulators back to back in
//! chunks of up to [`GROUP_CHUNK`] groups (the same number per group: every group of a state
//! has the aggregation's functions), and each key's hash is kept beside it. Chunks start small
//! and double up to those sizes, as most states hold a few groups. The hash index holds only
//! the numbers, so a key is hashed once in its group's life and growing the index reads the
//! kept hashes. Chunks are filled and never moved: a table that grows does not copy what it
//! holds, nor hold the old and the new copy at once, as one doubling vector would. Groups are
//! never removed one at a time: a filter over them builds a new table of the ones kept
//! ([`Table::retain`]).

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::acc::Acc;

/// The bytes of the largest chunk of keys (a longer key has a chunk of its own).
const KEY_CHUNK: usize = 64 << 10;
/// The bytes of the first chunk of keys.
const FIRST_KEY_CHUNK: usize = 64;
/// The groups whose accumulators the largest chunk holds.
const GROUP_CHUNK: usize = 512;
/// The groups of the first chunk of accumulators; each next chunk holds twice as many, up to
/// [`GROUP_CHUNK`].
const FIRST_GROUP_CHUNK: usize = 1;
/// The accumulators a new chunk is given room for at most; a chunk of wider groups grows as
/// they come. A state read from elsewhere may say its groups hold any number of accumulators,
/// and room for a whole chunk of such groups would be memory its bytes never paid for.
const MAX_RESERVE: usize = 8 << 10;
/// The groups in the chunks that double (1 + 2 + … + 256).
const DOUBLING_GROUPS: usize = GROUP_CHUNK - FIRST_GROUP_CHUNK;
/// The chunks that double.
const DOUBLING_CHUNKS: usize = (GROUP_CHUNK / FIRST_GROUP_CHUNK).trailing_zeros() as usize;

/// Where group `g`'s accumulators are: the chunk, the group's place in it, and the groups the
/// chunk holds.
fn acc_place(g: usize) -> (usize, usize, usize) {
    if g < DOUBLING_GROUPS {
        // Chunk k starts at group FIRST × (2^k − 1) and holds FIRST × 2^k groups.
        let k = (usize::BITS - 1 - (g / FIRST_GROUP_CHUNK + 1).leading_zeros()) as usize;
        let first = FIRST_GROUP_CHUNK * ((1 << k) - 1);
        (k, g - first, FIRST_GROUP_CHUNK << k)
    } else {
        let r = g - DOUBLING_GROUPS;
        (
            DOUBLING_CHUNKS + r / GROUP_CHUNK,
            r % GROUP_CHUNK,
            GROUP_CHUNK,
        )
    }
}

/// Where a group's key starts: its chunk, and its offset in the chunk. It ends where the next
/// group's starts, or at its chunk's end.
#[derive(Clone, Copy)]
struct Start {
    chunk: u32,
    at: u32,
}

/// Where the key starting at `start` ends in `text`, its chunk: where the next key starts,
/// when that is in the same chunk, else at the chunk's end.
fn end_before(start: Start, next: Option<&Start>, text: &str) -> usize {
    match next {
        Some(next) if next.chunk == start.chunk => next.at as usize,
        _ => text.len(),
    }
}

/// The groups of one state; see the module documentation.
#[derive(Clone, Default)]
pub(crate) struct Table {
    /// Group numbers, found by their key's hash.
    index: HashTable<usize>,
    /// Each group's key hash (by group number).
    hashes: Vec<u64>,
    /// The encoded keys, back to back, in chunks.
    keys: Vec<String>,
    /// Where each group's key starts.
    starts: Vec<Start>,
    /// `width` accumulators per group, in group order, [`GROUP_CHUNK`] groups a chunk.
    accs: Vec<Vec<Acc>>,
    /// Accumulators per group (set by the first group).
    width: usize,
    /// The bytes the chunks of keys and accumulators have allocated.
    chunk_bytes: usize,
    hasher: DefaultHashBuilder,
}

impl Table {
    /// The number of groups.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The bytes its arrays have allocated (not the heap the accumulators point to).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunk_bytes
            + self.starts.capacity() * size_of::<Start>()
            + self.hashes.capacity() * size_of::<u64>()
            + (self.keys.capacity() + self.accs.capacity()) * size_of::<Vec<u8>>()
            // An index slot is a group number and a control byte.
            + self.index.capacity() * (size_of::<usize>() + 1)
    }

    /// The accumulators each group holds (0 when there is no group).
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// The group of `key`, or the key's hash for [`Table::push`] when it has none.
    pub(crate) fn find(&self, key: &str) -> Result<usize, u64> {
        let hash = self.hasher.hash_one(key);
        self.index
            .find(hash, |&g| self.key(g) == key)
            .copied()
            .ok_or(hash)
    }

    /// Starts the group of `key`, whose hash [`Table::find`] gave (and which has no group),
    /// with these accumulators; its number. The accumulators must be as many as every other
    /// group's ([`Table::width`]; any number for the first group).
    pub(crate) fn push(
        &mut self,
        hash: u64,
        key: &str,
        accs: impl IntoIterator<Item = Acc>,
    ) -> usize {
        let g = self.starts.len();
        // The accumulators: a new chunk when the last one is full.
        let (_, place, groups) = acc_place(g);
        if place == 0 {
            let room = groups.saturating_mul(self.width).min(MAX_RESERVE);
            self.accs.push(Vec::with_capacity(room));
        }
        let chunk = self.accs.last_mut().expect("a chunk was pushed");
        let before = chunk.len();
        // A new chunk counts whole.
        let cap = if place == 0 { 0 } else { chunk.capacity() };
        chunk.extend(accs);
        if g == 0 {
            self.width = chunk.len();
        }
        debug_assert_eq!(chunk.len() - before, self.width, "a group of another width");
        self.chunk_bytes += (chunk.capacity() - cap) * size_of::<Acc>();
        // The key: in the last chunk if it fits, else in a new one.
        let fits = self
            .keys
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= key.len());
        if !fits {
            let grown = self
                .keys
                .last()
                .map_or(FIRST_KEY_CHUNK, |c| c.capacity() * 2);
            let cap = grown.min(KEY_CHUNK).max(key.len());
            self.keys.push(String::with_capacity(cap));
            self.chunk_bytes += cap;
        }
        let chunk = self.keys.len() - 1;
        let text = &mut self.keys[chunk];
        // A chunk is at most KEY_CHUNK bytes, or holds one key at 0.
        let at = u32::try_from(text.len()).unwrap_or(u32::MAX);
        text.push_str(key);
        self.starts.push(Start {
            chunk: u32::try_from(chunk).unwrap_or(u32::MAX),
            at,
        });
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.index.insert_unique(hash, g, |&g| hashes[g]);
        g
    }

    /// Sets the accumulators of `key`'s group, starting it when it has none (a key read twice
    /// keeps its last accumulators, as a map read whole does).
    pub(crate) fn insert(&mut self, key: &str, accs: Vec<Acc>) {
        match self.find(key) {
            Ok(g) => {
                for (mine, theirs) in self.accs_mut(g).iter_mut().zip(accs) {
                    *mine = theirs;
                }
            }
            Err(hash) => {
                self.push(hash, key, accs);
            }
        }
    }

    /// The encoded key of group `g`.
    pub(crate) fn key(&self, g: usize) -> &str {
        let Start { chunk, at } = self.starts[g];
        let text = &self.keys[chunk as usize];
        &text[at as usize..self.key_end(g, text)]
    }

    /// Where group `g`'s key ends in `text`, its chunk: where the next group's starts, if in
    /// the same chunk, else at the chunk's end.
    fn key_end(&self, g: usize, text: &str) -> usize {
        end_before(self.starts[g], self.starts.get(g + 1), text)
    }

    /// Where group `g`'s accumulators are: their chunk, and their offset in it.
    fn place(&self, g: usize) -> (usize, usize) {
        let (chunk, place, _) = acc_place(g);
        (chunk, place * self.width)
    }

    /// The accumulators of group `g`.
    pub(crate) fn accs(&self, g: usize) -> &[Acc] {
        let (chunk, at) = self.place(g);
        &self.accs[chunk][at..at + self.width]
    }

    /// The accumulators of group `g`, to add to.
    pub(crate) fn accs_mut(&mut self, g: usize) -> &mut [Acc] {
        let (chunk, at) = self.place(g);
        let width = self.width;
        &mut self.accs[chunk][at..at + width]
    }

    /// Group `g`'s key, and its accumulators taken out one by one (an empty count left in the
    /// place of each).
    pub(crate) fn take_group(&mut self, g: usize) -> (&str, impl Iterator<Item = Acc> + '_) {
        let (chunk, at) = self.place(g);
        let start = self.starts[g];
        let text = &self.keys[start.chunk as usize];
        let end = end_before(start, self.starts.get(g + 1), text);
        let accs = &mut self.accs[chunk][at..at + self.width];
        let taken = accs.iter_mut().map(|a| std::mem::replace(a, Acc::Count(0)));
        (&text[start.at as usize..end], taken)
    }

    /// Every group's key and accumulators, in the order they started.
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[Acc])> {
        (0..self.len()).map(|g| (self.key(g), self.accs(g)))
    }

    /// Every group's key and accumulators, the accumulators moved out, in the order they
    /// started.
    pub(crate) fn into_groups(mut self) -> IntoGroups {
        IntoGroups {
            keys: std::mem::take(&mut self.keys),
            starts: std::mem::take(&mut self.starts).into_iter(),
            accs: std::mem::take(&mut self.accs).into_iter().flatten(),
            width: self.width,
            current: Vec::with_capacity(self.width),
            chunk: 0,
        }
    }

    /// Keeps the groups whose `kept` is true (a group past its end is kept), in their order.
    pub(crate) fn retain(&mut self, kept: &[bool]) {
        let mut old = std::mem::take(self);
        self.hasher = old.hasher.clone();
        let hashes = std::mem::take(&mut old.hashes);
        let mut groups = old.into_groups();
        let mut g = 0;
        while let Some((key, accs)) = groups.next() {
            if kept.get(g).copied().unwrap_or(true) {
                self.push(hashes[g], key, accs.drain(..));
            }
            g += 1;
        }
    }
}

/// The groups of a table, taken out ([`Table::into_groups`]): a lending iterator, as each key
/// is borrowed from the table's chunks.
pub(crate) struct IntoGroups {
    keys: Vec<String>,
    starts: std::vec::IntoIter<Start>,
    accs: std::iter::Flatten<std::vec::IntoIter<Vec<Acc>>>,
    width: usize,
    /// The accumulators of the group last given.
    current: Vec<Acc>,
    /// The chunk of keys of the group last given (the ones before it are freed).
    chunk: usize,
}

impl IntoGroups {
    /// The next group's key and accumulators (to take from the vector; what is left in it is
    /// dropped at the next call).
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Option<(&str, &mut Vec<Acc>)> {
        let start = self.starts.next()?;
        let end = end_before(
            start,
            self.starts.as_slice().first(),
            &self.keys[start.chunk as usize],
        );
        let Start { chunk, at } = start;
        let chunk = chunk as usize;
        // A chunk passed is freed, so that a table taken out holds ever less.
        for passed in self.chunk..chunk {
            self.keys[passed] = String::new();
        }
        self.chunk = chunk;
        let key = &self.keys[chunk][at as usize..end];
        self.current.clear();
        // Exactly a group's worth, so that a caller may take the vector as the group's own.
        self.current.reserve_exact(self.width);
        self.current.extend(self.accs.by_ref().take(self.width));
        Some((key, &mut self.current))
    }
}

impl PartialEq for Table {
    /// The same groups with the same accumulators, in whatever order they started.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, accs)| other.find(key).is_ok_and(|g| other.accs(g) == accs))
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(k, a)| (super::key::Parts::of(k).collect::<Vec<_>>(), a)),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(groups: &[(&str, u64)]) -> Table {
        let mut t = Table::default();
        for (key, n) in groups {
            t.insert(key, vec![Acc::Count(*n), Acc::Count(n + 1)]);
        }
        t
    }

    #[test]
    fn each_group_is_found_by_its_key_after_the_index_grows() {
        // Keys of many lengths, some longer than a chunk, so that keys fill chunks unevenly
        // and accumulators span several chunks.
        let keys: Vec<String> = (0..5000)
            .map(|i| {
                let pad = match i % 97 {
                    0 => KEY_CHUNK + i,
                    n => n * 13,
                };
                format!("key {i} {}", "x".repeat(pad))
            })
            .collect();
        let mut t = Table::default();
        for (i, k) in keys.iter().enumerate() {
            let hash = t.find(k).expect_err("not there yet");
            assert_eq!(t.push(hash, k, [Acc::Count(i as u64)]), i);
        }
        assert_eq!(t.len(), 5000);
        for (i, k) in keys.iter().enumerate() {
            let g = t.find(k).expect("found");
            assert_eq!(t.key(g), k);
            assert_eq!(t.accs(g), [Acc::Count(i as u64)]);
        }
        assert!(t.find("key 5000").is_err());
        // Every key's bytes and every group's accumulators are counted.
        let held = keys.iter().map(String::len).sum::<usize>() + keys.len() * size_of::<Acc>();
        assert!(t.heap_bytes() >= held, "{} < {held}", t.heap_bytes());
        // A key given again replaces its accumulators; a prefix of a key, and the empty key,
        // are groups of their own.
        t.insert(&keys[1], vec![Acc::Count(7)]);
        t.insert("key 1", vec![Acc::Count(8)]);
        t.insert("", vec![Acc::Count(9)]);
        assert_eq!(t.len(), 5002);
        assert_eq!(t.accs(t.find(&keys[1]).unwrap()), [Acc::Count(7)]);
        assert_eq!(t.accs(t.find("key 1").unwrap()), [Acc::Count(8)]);
        assert_eq!(t.accs(t.find("").unwrap()), [Acc::Count(9)]);
        assert_eq!(t.key(5000), "key 1");
    }

    #[test]
    fn chunks_double_from_the_first_to_the_largest_and_tile_the_groups() {
        let mut expected = Vec::new();
        let mut size = FIRST_GROUP_CHUNK;
        for chunk in 0..DOUBLING_CHUNKS + 3 {
            for place in 0..size {
                expected.push((chunk, place, size));
            }
            size = (size * 2).min(GROUP_CHUNK);
        }
        let got: Vec<_> = (0..expected.len()).map(acc_place).collect();
        assert_eq!(got, expected);
        assert_eq!(acc_place(DOUBLING_GROUPS - 1).2, GROUP_CHUNK / 2);
        assert_eq!(
            acc_place(DOUBLING_GROUPS),
            (DOUBLING_CHUNKS, 0, GROUP_CHUNK)
        );
    }

    /// Regression: a chunk of accumulators after the first was not counted, as its capacity
    /// was read after it was allocated, so a state held about twice what it was estimated at.
    #[test]
    fn every_chunk_of_accumulators_is_counted() {
        let mut t = Table::default();
        for i in 0..2000 {
            t.insert(&format!("k{i}"), vec![Acc::Count(0); 8]);
        }
        let accs = 2000 * 8 * size_of::<Acc>();
        assert!(t.heap_bytes() >= accs, "{} < {accs}", t.heap_bytes());
        assert!(
            t.heap_bytes() < 2 * accs,
            "{} against {accs}",
            t.heap_bytes()
        );
    }

    #[test]
    fn wide_groups_are_given_room_as_they_come() {
        let mut t = Table::default();
        let width = 20_000;
        for i in 0..16 {
            t.insert(&format!("k{i}"), vec![Acc::Count(0); width]);
        }
        let accs = 16 * width * size_of::<Acc>();
        assert!(t.heap_bytes() >= accs, "{} < {accs}", t.heap_bytes());
        // The sixteenth group starts a chunk with room for sixteen; it is given room for
        // itself alone (and what growing by doubling adds).
        assert!(
            t.heap_bytes() < accs * 3 / 2,
            "{} against {accs}",
            t.heap_bytes()
        );
        for i in 0..16 {
            assert_eq!(t.accs(t.find(&format!("k{i}")).unwrap()).len(), width);
        }
    }

    #[test]
    fn a_small_table_allocates_little() {
        let t = table(&[("a", 1)]);
        assert!(t.heap_bytes() < 2048, "{}", t.heap_bytes());
    }

    #[test]
    fn a_key_inserted_twice_keeps_its_last_accumulators() {
        let t = table(&[("a", 1), ("b", 2), ("a", 5)]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.accs(t.find("a").unwrap()), [Acc::Count(5), Acc::Count(6)]);
    }

    #[test]
    fn retain_keeps_the_groups_said_yes_to_and_finds_them_again() {
        let mut t = table(&[("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        t.retain(&[false, true, false]);
        assert_eq!(t.len(), 2);
        assert!(t.find("a").is_err() && t.find("c").is_err());
        assert_eq!(t.accs(t.find("b").unwrap()), [Acc::Count(2), Acc::Count(3)]);
        // Past the answer's end, a group is kept.
        assert_eq!(t.accs(t.find("d").unwrap()), [Acc::Count(4), Acc::Count(5)]);
    }

    #[test]
    fn groups_taken_out_come_in_the_order_they_started_with_their_own_accumulators() {
        let t = table(&[("x", 1), ("", 2), ("yz", 3)]);
        let mut groups = t.into_groups();
        let mut seen = Vec::new();
        while let Some((key, accs)) = groups.next() {
            seen.push((key.to_owned(), std::mem::take(accs)));
        }
        assert_eq!(
            seen,
            [
                ("x".to_owned(), vec![Acc::Count(1), Acc::Count(2)]),
                (String::new(), vec![Acc::Count(2), Acc::Count(3)]),
                ("yz".to_owned(), vec![Acc::Count(3), Acc::Count(4)]),
            ]
        );
    }

    #[test]
    fn groups_taken_out_free_the_chunks_of_keys_they_pass() {
        let mut t = Table::default();
        for i in 0..64 {
            let key = format!("{i:04}{}", "k".repeat(KEY_CHUNK / 8));
            t.insert(&key, vec![Acc::Count(i)]);
        }
        let chunks = t.keys.len();
        assert!(chunks > 4, "{chunks}");
        let mut groups = t.into_groups();
        let mut held = Vec::new();
        while let Some((key, _)) = groups.next() {
            assert!(key.starts_with(&format!("{:04}", held.len())));
            held.push(groups.keys.iter().map(String::capacity).sum::<usize>());
        }
        assert!(held.windows(2).all(|w| w[1] <= w[0]), "{held:?}");
        assert!(held.last() < held.first(), "{held:?}");
    }

    #[test]
    fn tables_are_equal_whatever_order_their_groups_started_in() {
        assert_eq!(table(&[("a", 1), ("b", 2)]), table(&[("b", 2), ("a", 1)]));
        assert_ne!(table(&[("a", 1), ("b", 2)]), table(&[("a", 1), ("b", 3)]));
        assert_ne!(table(&[("a", 1)]), table(&[("a", 1), ("b", 2)]));
    }
}
