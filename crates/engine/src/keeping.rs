//! Reading an encoded state while keeping only the groups a filter says yes to.
//!
//! A service window of a detection that `join`s a subsearch by a key the detection groups by
//! needs only the groups whose key some subsearch row has ([`cimhunt_spl::KeyFilter`]). ESCU's
//! UAC-bypass and registry detections group every process that way and `join` a subsearch that
//! mostly finds nothing: decoded whole, then filtered, each window held the whole process state
//! for a moment (150 MiB over the bench's 1 GiB replay). Read through these seeds, the groups
//! dropped are dropped a slice at a time as they are decoded.
//!
//! Key design decision: seeds over the same encoding ([`Partial::encode`], postcard) rather than
//! a second format, so that what is read keeping everything equals what [`Partial::decode`]
//! reads (`keeping_everything_reads_what_decode_reads`).

use serde::Deserializer;
use serde::de::{DeserializeSeed, EnumAccess, Error, SeqAccess, VariantAccess, Visitor};

use cimhunt_spl::Groups;

use crate::state::{Partial, State, StateError, WIRE_VERSION};

/// Which groups to keep: asked about slices of groups' by-field values, it answers for each.
pub type Keep<'k> = &'k mut dyn FnMut(&[Vec<&str>]) -> Vec<bool>;

/// `keep` lent again, for a shorter time (an `Option`'s `as_deref_mut` would lend it for as
/// long as the trait object lives).
pub fn lend<'s>(keep: &'s mut Option<Keep<'_>>) -> Option<Keep<'s>> {
    match keep {
        Some(k) => Some(&mut **k),
        None => None,
    }
}

impl Partial {
    /// [`Partial::decode`], keeping only the groups `keep` says yes to (a state of collected
    /// rows is read whole).
    pub fn decode_keeping(
        bytes: &[u8],
        fingerprint: &str,
        keep: Keep<'_>,
    ) -> Result<Partial, StateError> {
        let mut de = postcard::Deserializer::from_bytes(bytes);
        PartialSeed(keep)
            .deserialize(&mut de)
            .map_err(|e| StateError::Decode(e.to_string()))?
            .checked(fingerprint)
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

struct PartialSeed<'k>(Keep<'k>);

impl<'de> DeserializeSeed<'de> for PartialSeed<'_> {
    type Value = Partial;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Partial, D::Error> {
        d.deserialize_struct(
            "Partial",
            &["version", "fingerprint", "bucket", "state"],
            self,
        )
    }
}

impl<'de> Visitor<'de> for PartialSeed<'_> {
    type Value = Partial;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a partial state, its fields in sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Partial, A::Error> {
        let missing = |i| A::Error::invalid_length(i, &"a partial state's four fields");
        let version: u32 = seq.next_element()?.ok_or_else(|| missing(0))?;
        let fingerprint: String = seq.next_element()?.ok_or_else(|| missing(1))?;
        let bucket: i64 = seq.next_element()?.ok_or_else(|| missing(2))?;
        if version != WIRE_VERSION {
            // Another format: its state is not read (the caller reports the version).
            return Ok(Partial {
                version,
                fingerprint,
                bucket,
                state: State::Collect(Vec::new()),
            });
        }
        let state = seq
            .next_element_seed(StateSeed(self.0))?
            .ok_or_else(|| missing(3))?;
        Ok(Partial {
            version,
            fingerprint,
            bucket,
            state,
        })
    }
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

    /// A `stats count values(host) by user` state of `n` users, two events each, and its
    /// encoding.
    fn encoded(n: usize) -> (State, Vec<u8>) {
        let model = Arc::new(cimhunt_model::Model::escu().expect("the default profile"));
        let macros = cimhunt_spl::MacroSet::with_builtins();
        let search = "search EventCode=4624 | stats count values(host) as hosts by user";
        let c = cimhunt_spl::compile(search, &macros, model.as_ref()).unwrap();
        let job = Job::builder(model)
            .detection("d", c.plan, &c.expanded)
            .build()
            .unwrap();
        let spec = job.detections()[0].agg().unwrap();
        let mut groups = Groups::new();
        let ctx = ExecCtx::default();
        for i in 0..n {
            for host in ["a", "b"] {
                let user = format!("user{i}");
                let row = Row::from_texts(&[("user", user.as_str()), ("host", host)]);
                groups.add(spec, &row, &ctx);
            }
        }
        let state = State::Stats(groups);
        let bytes = Partial::encode("fp", 7, &state);
        (state, bytes)
    }

    /// Keeps the users whose number is a multiple of three, counting the keys it is asked.
    fn thirds(asked: &mut usize) -> impl FnMut(&[Vec<&str>]) -> Vec<bool> + '_ {
        move |keys| {
            *asked += keys.len();
            keys.iter()
                .map(|k| k[0].trim_start_matches("user").parse::<usize>().unwrap() % 3 == 0)
                .collect()
        }
    }

    #[test]
    fn keeping_everything_reads_what_decode_reads() {
        let (state, bytes) = encoded(1_000);
        let whole = Partial::decode(&bytes, "fp").unwrap();
        let kept = Partial::decode_keeping(&bytes, "fp", &mut |k| vec![true; k.len()]).unwrap();
        assert_eq!(kept, whole);
        assert_eq!(kept.state, state);
        assert_eq!(kept.bucket, 7);
    }

    #[test]
    fn keeping_some_reads_what_decode_then_retain_reads_asking_in_slices() {
        // More groups than one slice, so that the read asks more than once.
        let n = cimhunt_spl::RETAIN_CHUNK + 1_000;
        let (_, bytes) = encoded(n);
        let mut whole = Partial::decode(&bytes, "fp").unwrap().state;
        let mut asked_whole = 0;
        whole.retain_keys(&mut thirds(&mut asked_whole));
        let mut asked = 0;
        let kept = Partial::decode_keeping(&bytes, "fp", &mut thirds(&mut asked)).unwrap();
        assert_eq!(kept.state, whole);
        assert_eq!(asked, n);
        let State::Stats(groups) = &kept.state else {
            panic!("a stats state")
        };
        assert_eq!(groups.len(), n.div_ceil(3));
    }

    #[test]
    fn a_state_of_another_plan_or_version_is_refused_as_decode_refuses_it() {
        let (_, bytes) = encoded(3);
        let keep_all = &mut |k: &[Vec<&str>]| vec![true; k.len()];
        assert!(matches!(
            Partial::decode_keeping(&bytes, "other", keep_all),
            Err(StateError::Fingerprint { .. })
        ));
        // The version is the first field: a later format's state is not read.
        let mut later = bytes.clone();
        later[0] = (WIRE_VERSION + 1) as u8;
        assert!(matches!(
            Partial::decode_keeping(&later, "fp", keep_all),
            Err(StateError::Version { .. })
        ));
        assert!(Partial::decode_keeping(&bytes[..bytes.len() / 2], "fp", keep_all).is_err());
    }
}
