//! The field names the model itself reads, interned once, and the hasher for maps keyed by
//! field names (a symbol is already a small unique number: it needs mixing, not SipHash).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use cimhunt_spl::Sym;

use crate::native::BLOCKS;

/// A map keyed by field names.
pub(crate) type SymMap<V> = HashMap<Sym, V, BuildHasherDefault<SymHasher>>;
/// A set of field names.
pub(crate) type SymSet = HashSet<Sym, BuildHasherDefault<SymHasher>>;

/// Hashes a symbol's number by one multiplication (Fibonacci hashing).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SymHasher(u64);

impl Hasher for SymHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Symbols of the fields every event has or the model computes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syms {
    pub time: Sym,
    pub raw: Sym,
    pub source: Sym,
    pub sourcetype: Sym,
    pub host: Sym,
    pub index: Sym,
    pub eventtype: Sym,
    pub tag: Sym,
    /// The `*_Xml` block fields, with their elements ([`BLOCKS`]).
    pub blocks: [(Sym, &'static str); 5],
}

impl Syms {
    pub(crate) fn new() -> Syms {
        Syms {
            time: Sym::new("_time"),
            raw: Sym::new("_raw"),
            source: Sym::new("source"),
            sourcetype: Sym::new("sourcetype"),
            host: Sym::new("host"),
            index: Sym::new("index"),
            eventtype: Sym::new("eventtype"),
            tag: Sym::new("tag"),
            blocks: std::array::from_fn(|i| (Sym::new(BLOCKS[i].0), BLOCKS[i].1)),
        }
    }

    /// The element a block field is cut from, when `f` is one.
    pub(crate) fn block(&self, f: Sym) -> Option<&'static str> {
        self.blocks.iter().find(|(s, _)| *s == f).map(|(_, e)| *e)
    }

    /// Whether a field is metadata every event has.
    pub(crate) fn is_meta(&self, f: Sym) -> bool {
        f == self.time
            || f == self.raw
            || f == self.source
            || f == self.sourcetype
            || f == self.host
            || f == self.index
    }
}
