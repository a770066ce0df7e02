//! The field names the model itself reads, interned once.

use cimhunt_spl::Sym;

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
        }
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
