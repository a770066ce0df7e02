//! A group's key: its by-field values in one string.
//!
//! Most of ESCU groups every event of a dataset by nine or more by-fields, so most events start
//! a group. Held as `Vec<String>`, a key cost ten allocations and ten headers; here it is one
//! string holding, for each value, its length then its bytes, and it is hashed and compared as
//! that string. Lookups encode the event's values into a reused buffer and look that up, so a
//! group that exists already costs no allocation; a new group's key is copied into the state's
//! chunks of keys ([`super::table`]). A [`GroupKey`] owns one key, for a group taken out of a
//! state (into rows, or merged from runs on disk). Serialized (to disk, between machines), a
//! key is that one string, checked when it is read back ([`serial`]).
//!
//! Key design decision: a length is written in ASCII digits of six bits (the 0x40 bit says
//! another digit follows; one digit for a value under 64 bytes), so the whole key is UTF-8 and
//! its values are read back as slices of a `str`, without checking each one's bytes again: the
//! keys' values are read at every comparison of the final sort and every time a state is
//! written out.

use std::borrow::Borrow;

/// A group key; see the module documentation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey(Box<str>);

impl GroupKey {
    /// Encodes `parts` into `buf` (cleared first), as the key of those values.
    pub(crate) fn encode<'a>(buf: &mut String, parts: impl IntoIterator<Item = &'a str>) {
        buf.clear();
        for p in parts {
            push(buf, p);
        }
    }

    /// The key of an encoded buffer.
    pub(crate) fn from_encoded(buf: &str) -> Self {
        GroupKey(buf.into())
    }

    /// The key of these values.
    #[cfg(test)]
    pub(crate) fn from_parts<S: AsRef<str>>(parts: &[S]) -> Self {
        let mut buf = String::new();
        for p in parts {
            push(&mut buf, p.as_ref());
        }
        GroupKey(buf.into_boxed_str())
    }

    /// Its encoding.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The values, in order.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts(&self.0)
    }
}

/// Bits of a length each digit holds.
const DIGIT_BITS: u32 = 6;
/// The bits of a digit that hold the length.
const DIGIT_MASK: u8 = (1 << DIGIT_BITS) - 1;
/// Set in a digit that another digit follows.
const MORE: u8 = 1 << DIGIT_BITS;

/// Appends one value to an encoded key: its length, lowest digit first, then its text.
fn push(buf: &mut String, part: &str) {
    let mut len = part.len();
    loop {
        let digit = (len as u8) & DIGIT_MASK;
        len >>= DIGIT_BITS;
        let more = if len == 0 { 0 } else { MORE };
        buf.push(char::from(digit | more));
        if len == 0 {
            break;
        }
    }
    buf.push_str(part);
}

impl AsRef<str> for GroupKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for GroupKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.parts()).finish()
    }
}

/// The values of an encoded key.
#[derive(Clone)]
pub(crate) struct Parts<'k>(&'k str);

impl<'k> Parts<'k> {
    /// The values of a key encoded by [`GroupKey::encode`].
    pub(crate) fn of(encoded: &'k str) -> Self {
        Parts(encoded)
    }
}

impl<'k> Iterator for Parts<'k> {
    type Item = &'k str;

    fn next(&mut self) -> Option<&'k str> {
        let bytes = self.0.as_bytes();
        let mut len = 0usize;
        let mut at = 0;
        loop {
            let digit = *bytes.get(at)?;
            // A length too long for `usize` cannot have been written; end there.
            let shift = DIGIT_BITS
                .checked_mul(at as u32)
                .filter(|&s| s < usize::BITS)?;
            len |= usize::from(digit & DIGIT_MASK) << shift;
            at += 1;
            if digit & MORE == 0 {
                break;
            }
        }
        // Every part was encoded from a `str` after its length, so both cuts fall on character
        // boundaries; were they not, the values would end there.
        let end = at.checked_add(len)?;
        let part = self.0.get(at..end)?;
        self.0 = &self.0[end..];
        Some(part)
    }
}

/// The keys a filtered read asks about, a slice at a time ([`super::Groups::retain_keys`],
/// [`crate::KeyFilter::keeps_all`]): each a group's by-field values, in the aggregation's order,
/// read from the group's key as they are asked for. A filter decided by one by-field of a dozen
/// reads that one; collecting each key's values into a `Vec` first cost as much as the filter.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    encoded: &'a [&'a str],
}

impl<'a> Keys<'a> {
    /// Keys encoded by [`GroupKey::encode`].
    pub(crate) fn of(encoded: &'a [&'a str]) -> Self {
        Keys { encoded }
    }

    /// How many keys are asked about.
    pub fn len(&self) -> usize {
        self.encoded.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }

    /// The keys' values, key by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = KeyValues<'a>> + 'a {
        self.encoded.iter().map(|k| KeyValues(Parts::of(k)))
    }
}

impl std::fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One key's by-field values, in the aggregation's order ([`Keys::iter`]).
#[derive(Clone)]
pub struct KeyValues<'k>(Parts<'k>);

impl std::fmt::Debug for KeyValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl<'k> Iterator for KeyValues<'k> {
    type Item = &'k str;

    fn next(&mut self) -> Option<&'k str> {
        self.0.next()
    }
}

/// The serialized form of the groups: each key as its encoding (one string, checked when read
/// back), mapped to its accumulators. A key is written and read as one string, not value by
/// value: states moved to disk and back (and between machines) are written and read many
/// times over on a large input, and writing each key's values one at a time was a third of
/// writing a state.
pub(super) mod serial {
    use std::fmt;

    use serde::de::{DeserializeSeed, Error as _, MapAccess, Visitor};
    use serde::{Deserializer, Serializer};

    use super::super::acc::Acc;
    use super::super::table::Table;
    use super::GroupKey;

    pub(in crate::agg) fn serialize<S: Serializer>(
        groups: &Table,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(groups.iter())
    }

    pub(in crate::agg) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Table, D::Error> {
        d.deserialize_map(TableSeed(None))
    }

    /// Which groups a filtered read keeps: asked about the by-field values of at most
    /// [`super::super::groups::RETAIN_CHUNK`] groups at a time, it answers for each (a short
    /// answer keeps the rest).
    pub(in crate::agg) type Keep<'k> = &'k mut dyn FnMut(&super::Keys<'_>) -> Vec<bool>;

    /// The groups' table; with a filter, only the groups it says yes to, the others dropped a
    /// slice at a time as they are read, so that they are never all held.
    pub(in crate::agg) struct TableSeed<'k>(pub(in crate::agg) Option<Keep<'k>>);

    impl<'de> DeserializeSeed<'de> for TableSeed<'_> {
        type Value = Table;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for TableSeed<'_> {
        type Value = Table;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map from group keys to accumulators")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut groups = Table::default();
            // Every group of a state has the same accumulators; a table of others is refused.
            let insert = |groups: &mut Table, key: &str, accs: Vec<Acc>| {
                if !groups.is_empty() && accs.len() != groups.width() {
                    return Err(A::Error::custom(format!(
                        "a group with {} accumulators among groups with {}",
                        accs.len(),
                        groups.width()
                    )));
                }
                groups.insert(key, accs);
                Ok(())
            };
            // A key given twice keeps its last accumulators, as a map read whole does (with a
            // filter, both copies get the same answer).
            let Some(keep) = self.0 else {
                let mut buf = String::new();
                while map.next_key_seed(KeySeed(&mut buf))?.is_some() {
                    let accs: Vec<Acc> = map.next_value()?;
                    insert(&mut groups, &buf, accs)?;
                }
                return Ok(groups);
            };
            let chunk = super::super::groups::RETAIN_CHUNK;
            let mut waiting: Vec<(GroupKey, Vec<Acc>)> = Vec::new();
            let mut ask = |waiting: &mut Vec<(GroupKey, Vec<Acc>)>, groups: &mut Self::Value| {
                let encoded: Vec<&str> = waiting.iter().map(|(k, _)| k.as_str()).collect();
                let answer = keep(&super::Keys::of(&encoded));
                drop(encoded);
                for (i, (key, accs)) in waiting.drain(..).enumerate() {
                    if answer.get(i).copied().unwrap_or(true) {
                        insert(groups, key.as_str(), accs)?;
                    }
                }
                Ok(())
            };
            let mut buf = String::new();
            while map.next_key_seed(KeySeed(&mut buf))?.is_some() {
                let accs: Vec<Acc> = map.next_value()?;
                waiting.push((GroupKey::from_encoded(&buf), accs));
                if waiting.len() >= chunk {
                    ask(&mut waiting, &mut groups)?;
                }
            }
            if !waiting.is_empty() {
                ask(&mut waiting, &mut groups)?;
            }
            Ok(groups)
        }
    }

    /// Reads a key's encoding into `0` (cleared first), refusing one that is not a sequence of
    /// values as [`GroupKey::encode`] writes them (from another version, or damaged).
    struct KeySeed<'b>(&'b mut String);

    impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            self.0.clear();
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for KeySeed<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an encoded group key")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
            if !super::well_formed(v) {
                return Err(E::custom("a group key that is not well formed"));
            }
            self.0.push_str(v);
            Ok(())
        }
    }
}

/// Whether `encoded` is a whole sequence of values as [`GroupKey::encode`] writes them: each
/// length is read and its value lies within, up to the end.
pub(crate) fn well_formed(encoded: &str) -> bool {
    let mut parts = Parts::of(encoded);
    while parts.next().is_some() {}
    parts.0.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_as_they_went_in_and_keys_of_different_values_differ() {
        let cases: [&[&str]; 5] = [&[], &[""], &["", ""], &["a", "bc"], &["ab", "c"]];
        let keys: Vec<GroupKey> = cases.iter().map(|c| GroupKey::from_parts(c)).collect();
        for (c, k) in cases.iter().zip(&keys) {
            assert_eq!(k.parts().collect::<Vec<_>>(), *c);
            let mut buf = "xy".to_owned();
            GroupKey::encode(&mut buf, c.iter().copied());
            assert_eq!(GroupKey::from_encoded(&buf), *k);
        }
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let unicode = GroupKey::from_parts(&["Straße", "日本\0x"]);
        assert_eq!(unicode.parts().collect::<Vec<_>>(), ["Straße", "日本\0x"]);
    }

    #[test]
    fn lengths_of_one_two_and_more_digits_are_read_back() {
        for len in [0, 1, 63, 64, 65, 4095, 4096, 262_143, 262_144, 300_000] {
            let long = "é".repeat(len / 2) + &"a".repeat(len % 2);
            assert_eq!(long.len(), len);
            let parts = ["x", long.as_str(), "", "y"];
            let key = GroupKey::from_parts(&parts);
            assert_eq!(
                key.parts().collect::<Vec<_>>(),
                parts,
                "a value of {len} bytes"
            );
        }
        // A value under 64 bytes costs one byte of length.
        assert_eq!(GroupKey::from_parts(&["abc"]).0.len(), 4);
        assert_eq!(GroupKey::from_parts(&["a".repeat(64)]).0.len(), 66);
    }

    #[test]
    fn a_key_read_back_is_refused_unless_it_is_a_whole_sequence_of_values() {
        use super::super::{Acc, Groups, Overflow};
        let read = |key: &str| {
            let mut groups = std::collections::BTreeMap::new();
            groups.insert(key.to_owned(), vec![Acc::Count(1)]);
            // A state is written as its groups then its overflow counts.
            let bytes = postcard::to_allocvec(&(groups, Overflow::default())).expect("encodes");
            postcard::from_bytes::<Groups>(&bytes).map(|g| g.len())
        };
        let good = GroupKey::from_parts(&["a", "", "日本"]);
        assert_eq!(read(good.as_str()), Ok(1));
        assert_eq!(read(""), Ok(1));
        // A length past the end, a value cut inside a character, a length that never ends.
        for bad in ["\u{5}ab", "\u{2}日", "\u{7f}\u{7f}\u{7f}", "\u{1}a\u{1}"] {
            assert!(!well_formed(bad), "{bad:?}");
            assert!(read(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_values_come_back_as_they_went_in(parts in proptest::collection::vec(".{0,80}", 0..12)) {
            let key = GroupKey::from_parts(&parts);
            proptest::prop_assert!(well_formed(key.as_str()));
            proptest::prop_assert_eq!(key.parts().collect::<Vec<_>>(), parts.clone());
            let mut buf = String::new();
            GroupKey::encode(&mut buf, parts.iter().map(String::as_str));
            proptest::prop_assert_eq!(GroupKey::from_encoded(&buf), key);
        }
    }
}
