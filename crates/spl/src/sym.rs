//! Field names, interned: a [`Sym`] is a small number standing for a name such as
//! `process_name` or `Processes.process_name`.
//!
//! Plans resolve every field name they mention to a `Sym` when they are compiled, so reading a
//! field of an event or a row compares integers, not strings. The table is process-wide and only
//! grows; names enter it when a search is compiled, when a table of the add-on configuration is
//! loaded, and (on the slow path, for `events --raw` and `table *`) when an event carries a field
//! name nothing asked for. [`Symbols::snapshot`] gives the hot path a lock-free, read-only view.
//!
//! Key design decision: one global table rather than one per job, so that rows, partial states
//! and events can move between jobs, threads and (as text) machines without translation; the
//! number of names is bounded by [`MAX_SYMBOLS`], so input cannot grow it without limit.

use hashbrown::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock, RwLock};

/// The most names the table holds. Content and add-on tables use a few thousand; the bound
/// keeps hostile input (millions of distinct element names) from exhausting memory.
pub const MAX_SYMBOLS: usize = 1 << 20;

/// An interned field name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(NonZeroU32);

/// The table was full: a name could not be interned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many distinct field names (more than {MAX_SYMBOLS})")]
pub struct TooManySymbols;

#[derive(Default)]
struct Table {
    names: Vec<&'static str>,
    ids: HashMap<&'static str, Sym>,
    /// The last snapshot handed out, while it is still complete.
    snapshot: Option<Arc<Snapshot>>,
}

fn table() -> &'static RwLock<Table> {
    static TABLE: OnceLock<RwLock<Table>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

impl Sym {
    /// Interns `name`, adding it if it is new.
    ///
    /// # Panics
    /// When the table is full; use [`Sym::try_new`] for names that come from input.
    pub fn new(name: &str) -> Sym {
        Sym::try_new(name).expect("symbol table full while interning a name from content")
    }

    /// Interns `name`, or fails when the table is full.
    pub fn try_new(name: &str) -> Result<Sym, TooManySymbols> {
        if let Some(s) = Sym::get(name) {
            return Ok(s);
        }
        let mut t = table().write().unwrap_or_else(|e| e.into_inner());
        if let Some(&s) = t.ids.get(name) {
            return Ok(s);
        }
        if t.names.len() >= MAX_SYMBOLS {
            return Err(TooManySymbols);
        }
        let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let id = NonZeroU32::new(t.names.len() as u32 + 1).ok_or(TooManySymbols)?;
        let s = Sym(id);
        t.names.push(leaked);
        t.ids.insert(leaked, s);
        t.snapshot = None;
        Ok(s)
    }

    /// The symbol of `name` if it has been interned.
    pub fn get(name: &str) -> Option<Sym> {
        table()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .ids
            .get(name)
            .copied()
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        let t = table().read().unwrap_or_else(|e| e.into_inner());
        t.names
            .get(self.0.get() as usize - 1)
            .copied()
            .unwrap_or("")
    }

    /// A number unique to this name within the process (not stable across processes).
    pub fn index(self) -> u32 {
        self.0.get()
    }

    /// The symbol whose [`Sym::index`] is `index`, if a name has it.
    pub(crate) fn from_index(index: u32) -> Option<Sym> {
        let t = table().read().unwrap_or_else(|e| e.into_inner());
        let id = NonZeroU32::new(index).filter(|i| i.get() as usize <= t.names.len())?;
        Some(Sym(id))
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sym({:?})", self.as_str())
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Sym {
    fn from(name: &str) -> Sym {
        Sym::new(name)
    }
}

/// A read-only view of the table at one moment, for lookups on the hot path without locks.
#[derive(Debug, Default)]
pub struct Snapshot {
    ids: HashMap<&'static str, Sym>,
}

impl Snapshot {
    /// The symbol of `name`, if it was interned when the snapshot was taken.
    #[inline]
    pub fn get(&self, name: &str) -> Option<Sym> {
        self.ids.get(name).copied()
    }

    /// How many names it holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds no name.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Access to the table as a whole.
#[derive(Debug, Clone, Copy)]
pub struct Symbols;

impl Symbols {
    /// A snapshot of every name interned so far (shared while nothing new is interned).
    pub fn snapshot() -> Arc<Snapshot> {
        if let Some(s) = &table().read().unwrap_or_else(|e| e.into_inner()).snapshot {
            return Arc::clone(s);
        }
        let mut t = table().write().unwrap_or_else(|e| e.into_inner());
        let snap = Arc::new(Snapshot { ids: t.ids.clone() });
        t.snapshot = Some(Arc::clone(&snap));
        snap
    }
}

impl serde::Serialize for Sym {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Sym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sym, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Sym::try_new(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_names_round_trip() {
        let a = Sym::new("sym_test_process_name");
        assert_eq!(Sym::new("sym_test_process_name"), a);
        assert_eq!(a.as_str(), "sym_test_process_name");
        assert_ne!(
            Sym::new("sym_test_Process_Name"),
            a,
            "names are case-sensitive"
        );
        assert_eq!(Sym::get("sym_test_never_interned"), None);
    }

    #[test]
    fn snapshots_see_names_interned_before_them() {
        let a = Sym::new("sym_test_snapshot_a");
        let snap = Symbols::snapshot();
        assert_eq!(snap.get("sym_test_snapshot_a"), Some(a));
        let b = Sym::new("sym_test_snapshot_b");
        assert_eq!(snap.get("sym_test_snapshot_b"), None);
        assert_eq!(Symbols::snapshot().get("sym_test_snapshot_b"), Some(b));
    }
}
