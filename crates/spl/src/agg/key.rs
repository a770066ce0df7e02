//! A group's key: its by-field values in one allocation.
//!
//! Most of ESCU groups every event of a dataset by nine or more by-fields, so most events start
//! a group. Held as `Vec<String>`, a key cost ten allocations and ten headers; here it is one
//! buffer holding, for each value, its length (4 bytes, little-endian) then its bytes, and it is
//! hashed and compared as those bytes. Lookups encode the event's values into a reused buffer
//! and look that up, so a group that exists already costs no allocation.

use std::borrow::Borrow;

/// A group key; see the module documentation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey(Box<[u8]>);

impl GroupKey {
    /// Encodes `parts` into `buf` (cleared first), as the key of those values.
    pub(crate) fn encode<'a>(buf: &mut Vec<u8>, parts: impl IntoIterator<Item = &'a str>) {
        buf.clear();
        for p in parts {
            push(buf, p);
        }
    }

    /// The key of an encoded buffer.
    pub(crate) fn from_encoded(buf: &[u8]) -> Self {
        GroupKey(buf.into())
    }

    /// The key of these values.
    pub(crate) fn from_parts<S: AsRef<str>>(parts: &[S]) -> Self {
        let mut buf = Vec::with_capacity(parts.iter().map(|p| p.as_ref().len() + 4).sum());
        for p in parts {
            push(&mut buf, p.as_ref());
        }
        GroupKey(buf.into_boxed_slice())
    }

    /// The values, in order.
    pub(crate) fn parts(&self) -> Parts<'_> {
        Parts(&self.0)
    }

    /// The values as owned strings.
    pub(crate) fn to_strings(&self) -> Vec<String> {
        self.parts().map(str::to_owned).collect()
    }
}

fn push(buf: &mut Vec<u8>, part: &str) {
    // A value longer than 4 GiB cannot come from a record (records are far smaller).
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&part.as_bytes()[..len as usize]);
}

impl Borrow<[u8]> for GroupKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.parts()).finish()
    }
}

/// The values of an encoded key.
pub(crate) struct Parts<'k>(&'k [u8]);

impl<'k> Parts<'k> {
    /// The values of a key encoded by [`GroupKey::encode`].
    pub(crate) fn of(encoded: &'k [u8]) -> Self {
        Parts(encoded)
    }
}

impl<'k> Iterator for Parts<'k> {
    type Item = &'k str;

    fn next(&mut self) -> Option<&'k str> {
        let (len, rest) = self.0.split_first_chunk::<4>()?;
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        let (part, rest) = rest.split_at(len);
        self.0 = rest;
        // Every part was encoded from a `str`, and is cut only at the lengths written with it.
        Some(std::str::from_utf8(part).unwrap_or_default())
    }
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
            let mut buf = vec![9, 9];
            GroupKey::encode(&mut buf, c.iter().copied());
            assert_eq!(GroupKey::from_encoded(&buf), *k);
        }
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let unicode = GroupKey::from_parts(&["Straße", "日本\0x"]);
        assert_eq!(unicode.to_strings(), ["Straße", "日本\0x"]);
    }
}
