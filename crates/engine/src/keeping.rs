//! Reading an encoded state while keeping only the groups a filter says yes to.
//!
//! A service window of a detection that `join`s a subsearch by a key the detection groups by
//! needs only the groups whose key some subsearch row has ([`cimhunt_spl::KeyFilter`]). ESCU's
//! UAC-bypass and registry detections group every process that way and `join` a subsearch that
//! mostly finds nothing: decoded whole, then filtered, each window held the whole process state
//! for a moment (150 MiB over the bench's 1 GiB replay). Read through these seeds, the groups
//! dropped are dropped a slice at a time as they are decoded.
//!
//! Key design decision: seeds over the same encoding (a spilled part's, postcard) rather than a
//! second format, so that what is read keeping everything equals what a whole read reads
//! (`keeping_everything_reads_what_decode_reads`).

use serde::Deserializer;
use serde::de::{DeserializeSeed, EnumAccess, Error, VariantAccess, Visitor};

use cimhunt_spl::Groups;

use crate::state::{State, StateError};

/// Which groups to keep: asked about slices of groups' by-field values, it answers for each.
pub type Keep<'k> = &'k mut dyn FnMut(&cimhunt_spl::Keys<'_>) -> Vec<bool>;

/// `keep` lent again, for a shorter time (an `Option`'s `as_deref_mut` would lend it for as
/// long as the trait object lives).
pub fn lend<'s>(keep: &'s mut Option<Keep<'_>>) -> Option<Keep<'s>> {
    match keep {
        Some(k) => Some(&mut **k),
        None => None,
    }
}

/// A state as a spill file holds it (`crate::spill::decode`), keeping only the groups `keep`
/// says yes to.
pub(crate) fn decode_state_keeping(bytes: &[u8], keep: Keep<'_>) -> Result<State, StateError> {
    let mut de = postcard::Deserializer::from_bytes(bytes);
    StateSeed(keep)
        .deserialize(&mut de)
        .map_err(|e| StateError::Decode(format!("aggregation state read back from disk: {e}")))
}

struct StateSeed<'k>(Keep<'k>);

impl<'de> DeserializeSeed<'de> for StateSeed<'_> {
    type Value = State;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<State, D::Error> {
        d.deserialize_enum("State", &["Stats", "Collect"], self)
    }
}

impl<'de> Visitor<'de> for StateSeed<'_> {
    type Value = State;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a state")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<State, A::Error> {
        let (variant, access): (u32, _) = data.variant()?;
        match variant {
            0 => access
                .newtype_variant_seed(GroupsSeed(self.0))
                .map(State::Stats),
            1 => access.newtype_variant().map(State::Collect),
            n => Err(A::Error::invalid_value(
                serde::de::Unexpected::Unsigned(u64::from(n)),
                &"a state's kind (0 or 1)",
            )),
        }
    }
}

struct GroupsSeed<'k>(Keep<'k>);

impl<'de> DeserializeSeed<'de> for GroupsSeed<'_> {
    type Value = Groups;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Groups, D::Error> {
        Groups::deserialize_keeping(d, self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cimhunt_spl::{ExecCtx, Row};

    use super::*;
    use crate::Job;
    use crate::spill::EachPart;

    /// A job of one detection, `stats count values(host) by user`.
    fn job() -> Job {
        let model = Arc::new(cimhunt_model::Model::escu().expect("the default profile"));
        let macros = cimhunt_spl::MacroSet::with_builtins();
        let search = "search EventCode=4624 | stats count values(host) as hosts by user";
        let c = cimhunt_spl::compile(search, &macros, model.as_ref()).unwrap();
        Job::builder(model)
            .detection("d", c.plan, &c.expanded)
            .build()
            .unwrap()
    }

    /// The job's state of the users numbered in `users`, two events each.
    fn users(job: &Job, users: std::ops::Range<usize>) -> State {
        let spec = job.detections()[0].agg().unwrap();
        let mut groups = Groups::new();
        let ctx = ExecCtx::default();
        for i in users {
            for host in ["a", "b"] {
                let user = format!("user{i}");
                let row = Row::from_texts(&[("user", user.as_str()), ("host", host)]);
                groups.add(spec, &row, &ctx);
            }
        }
        State::Stats(groups)
    }

    /// A state of `n` users, two events each, and its encoding.
    fn encoded(n: usize) -> (State, Vec<u8>) {
        let state = users(&job(), 0..n);
        let bytes = postcard::to_allocvec(&state).unwrap();
        (state, bytes)
    }

    /// Regression (speed): a batch run's finish decoded each part read back whole, then
    /// filtered it, building its table of groups twice. Kept as they are read, the parts give
    /// the state the filter gave after a whole read, and every group is asked about once per
    /// part it is in.
    #[test]
    fn a_batch_finish_keeping_groups_as_parts_are_read_merges_what_filtering_whole_parts_did() {
        let job = job();
        let dir = tempfile::tempdir().unwrap();
        // Users 0..300 stayed in memory; 200..700 and 600..1000 went to disk, overlapping, so
        // that kept groups of different parts merge.
        let taken = || {
            let spill = Arc::new(crate::spill::SpillFile::new(
                &crate::SpillOptions {
                    dir: dir.path().to_path_buf(),
                    budget_bytes: 1 << 20,
                },
                1,
            ));
            assert!(spill.write(0, 0, &users(&job, 200..700)));
            assert!(spill.write(0, 0, &users(&job, 600..1000)));
            let mut finals =
                crate::spill::Finals::new(vec![users(&job, 0..300)], Some(spill), vec![0]);
            finals.take_out(0).unwrap()
        };
        let mut asked = 0;
        let (kept, _) = taken()
            .merge_each_into(&job, 0, EachPart::Keeping(&mut thirds(&mut asked)), None)
            .unwrap();
        let mut asked_whole = 0;
        let (whole, _) = {
            let mut filter = thirds(&mut asked_whole);
            let mut whole_then_filtered = |s: &mut State| s.retain_keys(&mut filter);
            taken()
                .merge_each_into(&job, 0, EachPart::Whole(&mut whole_then_filtered), None)
                .unwrap()
        };
        assert_eq!(kept, whole);
        assert_eq!(asked, 300 + 500 + 400);
        assert_eq!(asked_whole, asked);
        let State::Stats(groups) = &kept else {
            panic!("a stats state")
        };
        assert_eq!(groups.len(), 1000usize.div_ceil(3));
        let spec = job.detections()[0].agg().unwrap();
        let rows = groups.clone().into_rows(spec);
        let count = |user: &str| {
            rows.iter()
                .find(|r| r.get(cimhunt_spl::Sym::new("user")).unwrap().to_string() == user)
                .map(|r| r.get(cimhunt_spl::Sym::new("count")).unwrap().to_string())
        };
        assert_eq!(count("user202").as_deref(), None, "not a multiple of three");
        assert_eq!(count("user3").as_deref(), Some("2"), "in memory only");
        assert_eq!(count("user750").as_deref(), Some("2"), "in one part only");
        assert_eq!(
            count("user210").as_deref(),
            Some("4"),
            "in memory and in a part"
        );
        assert_eq!(count("user603").as_deref(), Some("4"), "in both parts");
    }

    /// Keeps the users whose number is a multiple of three, counting the keys it is asked.
    fn thirds(asked: &mut usize) -> impl FnMut(&cimhunt_spl::Keys<'_>) -> Vec<bool> + '_ {
        move |keys| {
            *asked += keys.len();
            keys.iter()
                .map(|mut k| {
                    let user = k.next().unwrap();
                    user.trim_start_matches("user").parse::<usize>().unwrap() % 3 == 0
                })
                .collect()
        }
    }

    #[test]
    fn keeping_everything_reads_what_decode_reads() {
        let (state, bytes) = encoded(1_000);
        let whole = crate::spill::decode(&bytes).unwrap();
        let kept = decode_state_keeping(&bytes, &mut |k| vec![true; k.len()]).unwrap();
        assert_eq!(kept, whole);
        assert_eq!(kept, state);
    }

    #[test]
    fn keeping_some_reads_what_decode_then_retain_reads_asking_in_slices() {
        // More groups than one slice, so that the read asks more than once.
        let n = cimhunt_spl::RETAIN_CHUNK + 1_000;
        let (_, bytes) = encoded(n);
        let mut whole = crate::spill::decode(&bytes).unwrap();
        let mut asked_whole = 0;
        whole.retain_keys(&mut thirds(&mut asked_whole));
        let mut asked = 0;
        let kept = decode_state_keeping(&bytes, &mut thirds(&mut asked)).unwrap();
        assert_eq!(kept, whole);
        assert_eq!(asked, n);
        let State::Stats(groups) = &kept else {
            panic!("a stats state")
        };
        assert_eq!(groups.len(), n.div_ceil(3));
    }

    #[test]
    fn collected_rows_are_read_whole_and_a_cut_state_is_refused() {
        let at = crate::state::OrderKey {
            time: None,
            input: 0,
            record: 1,
        };
        let rows = State::Collect(vec![(at, Row::from_texts(&[("user", "a")]))]);
        let bytes = postcard::to_allocvec(&rows).unwrap();
        let keep_none = &mut |k: &cimhunt_spl::Keys<'_>| vec![false; k.len()];
        assert_eq!(decode_state_keeping(&bytes, keep_none).unwrap(), rows);
        let (_, bytes) = encoded(3);
        assert!(decode_state_keeping(&bytes[..bytes.len() / 2], keep_none).is_err());
    }
}
