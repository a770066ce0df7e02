//! The key filter's verdicts, remembered by the by-field values that decide them.
//!
//! A group that would start is first shown to its [`KeyFilter`]. The groups it keeps are
//! found in the table next time; the ones it drops are not, so an aggregation by a dozen
//! fields that are new for nearly every event asks the filter once per event. Most filters
//! read one or two of those fields ([`KeyFilter::deciding`]), whose values repeat: the verdict
//! is remembered by them.
//!
//! Key design decision: the memory is per aggregation state, so it lives as long as the state
//! and its context (lookups, time zone) do, and it is bounded twice: by bytes, and by being
//! given up when it does not pay. A filter decided by a command line, new for every event,
//! would only fill it; after [`TRIAL`] questions answered less than a quarter of the time, it
//! is emptied and no longer asked.

use hashbrown::HashMap;
use smallvec::SmallVec;

use super::key::{GroupKey, Parts};
use crate::command::ExecCtx;
use crate::keyfilter::KeyFilter;

/// The key bytes one state may remember verdicts for.
const MAX_BYTES: usize = 16 << 10;
/// Questions asked before deciding whether remembering pays.
const TRIAL: u32 = 64;

/// Verdicts of one key filter, by the values of the by-fields that decide them.
#[derive(Debug, Clone, Default)]
pub(super) struct Verdicts {
    /// The filter they are the verdicts of ([`KeyFilter::id`]).
    filter: Option<u64>,
    known: HashMap<Box<str>, bool>,
    /// The deciding values of the key asked about, encoded (reused).
    narrowed: String,
    bytes: usize,
    asked: u32,
    answered: u32,
    given_up: bool,
}

impl Verdicts {
    /// Whether remembered verdicts can be looked up by the deciding values alone
    /// ([`Verdicts::remembered_drop`]): verdicts are remembered for `filter`, by fewer values
    /// than the whole key.
    pub(super) fn narrows(&self, filter: &KeyFilter) -> bool {
        self.filter == Some(filter.id()) && !self.given_up && !filter.decided_by_whole_key()
    }

    /// Whether a group whose deciding by-field values are `deciding` (in the order of
    /// [`KeyFilter::deciding`]) is remembered as dropped. No such group is held (a group
    /// starts only when the filter keeps it), so the record can be left out before its whole
    /// key is built and looked up. A remembered drop counts as a question answered, as
    /// [`Verdicts::keeps`] would count it; anything else counts nothing, as the caller goes
    /// on to look the key up and ask.
    pub(super) fn remembered_drop<'a>(
        &mut self,
        filter: &KeyFilter,
        deciding: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        if !self.narrows(filter) {
            return false;
        }
        GroupKey::encode(&mut self.narrowed, deciding);
        if self.known.get(self.narrowed.as_str()) == Some(&false) {
            self.asked = self.asked.saturating_add(1);
            self.answered = self.answered.saturating_add(1);
            return true;
        }
        false
    }

    /// Whether `filter` keeps the group of the encoded `key`: remembered, or asked and
    /// remembered.
    pub(super) fn keeps(&mut self, filter: &KeyFilter, key: &str, ctx: &ExecCtx) -> bool {
        if self.filter != Some(filter.id()) {
            *self = Verdicts {
                filter: Some(filter.id()),
                ..Verdicts::default()
            };
        }
        let parts: SmallVec<[&str; 12]> = Parts::of(key).collect();
        if self.given_up {
            return filter.keeps(&parts, ctx);
        }
        let by: &str = if filter.decided_by_whole_key() {
            key
        } else {
            GroupKey::encode(
                &mut self.narrowed,
                filter
                    .deciding()
                    .iter()
                    .filter_map(|&i| parts.get(i).copied()),
            );
            &self.narrowed
        };
        self.asked = self.asked.saturating_add(1);
        if let Some(&kept) = self.known.get(by) {
            self.answered = self.answered.saturating_add(1);
            return kept;
        }
        let kept = filter.keeps(&parts, ctx);
        if self.asked >= TRIAL && self.answered < self.asked / 4 {
            self.given_up = true;
            self.known = HashMap::new();
            self.bytes = 0;
        } else if self.bytes + by.len() <= MAX_BYTES {
            self.bytes += by.len();
            self.known.insert(by.into(), kept);
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{NoCatalog, compile};
    use crate::macros::MacroSet;

    fn key(parts: &[&str]) -> String {
        let mut buf = String::new();
        GroupKey::encode(&mut buf, parts.iter().copied());
        buf
    }

    fn filter(search: &str) -> KeyFilter {
        let plan = compile(search, &MacroSet::with_builtins(), &NoCatalog)
            .expect("compiles")
            .plan;
        KeyFilter::new(&plan).expect("has a key filter")
    }

    #[test]
    fn a_verdict_is_remembered_by_the_deciding_field_alone() {
        let f = filter(
            "search index=main | stats count by Processes.dest Processes.process_name \
             | rename Processes.* as * | search process_name=cmd.exe",
        );
        assert_eq!(f.deciding(), [1]);
        let ctx = ExecCtx::default();
        let mut v = Verdicts::default();
        for host in 0..100 {
            let dest = format!("host{host}");
            assert!(v.keeps(&f, &key(&[&dest, "cmd.exe"]), &ctx));
            assert!(!v.keeps(&f, &key(&[&dest, "notepad.exe"]), &ctx));
        }
        // Two verdicts asked for, the other 198 remembered.
        assert_eq!(v.known.len(), 2);
        assert_eq!(v.answered, 198);
        assert!(!v.given_up);
    }

    #[test]
    fn remembering_is_given_up_when_it_does_not_pay() {
        let f = filter("search index=main | stats count by dest process | search process=*whoami*");
        assert_eq!(f.deciding(), [1]);
        let ctx = ExecCtx::default();
        let mut v = Verdicts::default();
        for n in 0..1000 {
            let cmd = format!("cmd.exe /c whoami {n}");
            assert!(v.keeps(&f, &key(&["h", &cmd]), &ctx));
            let cmd = format!("cmd.exe /c dir {n}");
            assert!(!v.keeps(&f, &key(&["h", &cmd]), &ctx));
        }
        assert!(v.given_up);
        assert!(v.known.is_empty());
    }
}
