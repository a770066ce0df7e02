//! The distinct values a `values()` or `dc()` accumulator holds: a sorted set of texts.
//!
//! Key design decision: the set is a sorted vector while it is small and a B-tree beyond
//! [`SMALL_MAX`] values. Most groups of an ESCU aggregation hold one value or a few in each
//! `values()` (one group per process, per registry write …), and a B-tree allocates a node of
//! eleven slots for its first value: for 206,280 groups of two `values()` each (ESCU's
//! `Unusually Long Command Line` on the 1 GiB benchmark corpus) that was 70 MB of a 164 MB
//! peak. A short vector is searched by bisection as fast, and grows by what it holds. A set of
//! one value holds it alone, without a vector around it: a vector of one costs an allocation
//! of 24 bytes besides the string's own, about 10 MB for that detection's 412,560 sets (its
//! peak RSS alone on that corpus went from 137–140 MiB to 118–128 MiB, rows identical).
//!
//! Its serialized form is the sequence of its values in order, as a `BTreeSet<String>`'s is,
//! so states written before this type existed read back unchanged; a sequence read back is
//! sorted and deduplicated whatever it holds, so a damaged or foreign state cannot break the
//! order the set relies on.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Values held in a sorted vector before the set becomes a B-tree.
const SMALL_MAX: usize = 16;

/// A set of distinct texts, iterated in byte order.
#[derive(Debug, Clone)]
pub struct DistinctSet(Repr);

#[derive(Debug, Clone)]
enum Repr {
    /// One value, without a vector around it: most sets (`values(x)` of a group) hold one.
    One(String),
    /// Sorted, without duplicates, at most [`SMALL_MAX`] long (none, or two and more).
    Small(Vec<String>),
    Large(BTreeSet<String>),
}

impl Default for DistinctSet {
    fn default() -> Self {
        DistinctSet(Repr::Small(Vec::new()))
    }
}

impl DistinctSet {
    /// An empty set.
    pub fn new() -> DistinctSet {
        DistinctSet::default()
    }

    /// How many values it holds.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::One(_) => 1,
            Repr::Small(v) => v.len(),
            Repr::Large(s) => s.len(),
        }
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it holds `value`.
    pub fn contains(&self, value: &str) -> bool {
        match &self.0 {
            Repr::One(one) => one == value,
            Repr::Small(v) => v.binary_search_by(|x| x.as_str().cmp(value)).is_ok(),
            Repr::Large(s) => s.contains(value),
        }
    }

    /// Adds `value`; whether it was new.
    pub fn insert(&mut self, value: String) -> bool {
        match &mut self.0 {
            Repr::Small(v) if v.is_empty() => {
                self.0 = Repr::One(value);
                true
            }
            Repr::One(one) if *one == value => false,
            Repr::One(one) => {
                let one = std::mem::take(one);
                let mut two = Vec::with_capacity(2);
                if one < value {
                    two.extend([one, value]);
                } else {
                    two.extend([value, one]);
                }
                self.0 = Repr::Small(two);
                true
            }
            Repr::Small(v) => match v.binary_search(&value) {
                Ok(_) => false,
                Err(at) if v.len() < SMALL_MAX => {
                    // Grown one slot at a time: most sets stay at one value, and a vector's
                    // first growth would make room for four.
                    v.reserve_exact(1);
                    v.insert(at, value);
                    true
                }
                Err(_) => {
                    let mut set: BTreeSet<String> = std::mem::take(v).into_iter().collect();
                    set.insert(value);
                    self.0 = Repr::Large(set);
                    true
                }
            },
            Repr::Large(s) => s.insert(value),
        }
    }

    /// Adds every value of `other`.
    pub fn extend(&mut self, other: DistinctSet) {
        if self.is_empty() {
            *self = other;
            return;
        }
        for value in other {
            self.insert(value);
        }
    }

    /// Its values in order.
    pub fn iter(&self) -> Iter<'_> {
        match &self.0 {
            Repr::One(one) => Iter::Small(std::slice::from_ref(one).iter()),
            Repr::Small(v) => Iter::Small(v.iter()),
            Repr::Large(s) => Iter::Large(s.iter()),
        }
    }
}

/// The values of a [`DistinctSet`] in order, borrowed (an enum, not a box: one is made per
/// group as rows are built).
#[derive(Debug)]
pub enum Iter<'a> {
    Small(std::slice::Iter<'a, String>),
    Large(std::collections::btree_set::Iter<'a, String>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Iter::Small(i) => i.next().map(String::as_str),
            Iter::Large(i) => i.next().map(String::as_str),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Small(i) => i.size_hint(),
            Iter::Large(i) => i.size_hint(),
        }
    }
}

/// The values of a [`DistinctSet`] in order, owned.
#[derive(Debug)]
pub enum IntoIter {
    One(std::option::IntoIter<String>),
    Small(std::vec::IntoIter<String>),
    Large(std::collections::btree_set::IntoIter<String>),
}

impl Iterator for IntoIter {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        match self {
            IntoIter::One(i) => i.next(),
            IntoIter::Small(i) => i.next(),
            IntoIter::Large(i) => i.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            IntoIter::One(i) => i.size_hint(),
            IntoIter::Small(i) => i.size_hint(),
            IntoIter::Large(i) => i.size_hint(),
        }
    }
}

impl IntoIterator for DistinctSet {
    type Item = String;
    type IntoIter = IntoIter;

    /// Its values in order.
    fn into_iter(self) -> IntoIter {
        match self.0 {
            Repr::One(one) => IntoIter::One(Some(one).into_iter()),
            Repr::Small(v) => IntoIter::Small(v.into_iter()),
            Repr::Large(s) => IntoIter::Large(s.into_iter()),
        }
    }
}

impl FromIterator<String> for DistinctSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut values: Vec<String> = iter.into_iter().collect();
        values.sort_unstable();
        values.dedup();
        if values.len() == 1
            && let Some(one) = values.pop()
        {
            DistinctSet(Repr::One(one))
        } else if values.len() <= SMALL_MAX {
            DistinctSet(Repr::Small(values))
        } else {
            DistinctSet(Repr::Large(values.into_iter().collect()))
        }
    }
}

impl PartialEq for DistinctSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for DistinctSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for DistinctSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(d).map(DistinctSet::from_iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> DistinctSet {
        let mut s = DistinctSet::new();
        for v in values {
            s.insert((*v).to_owned());
        }
        s
    }

    #[test]
    fn small_and_large_sets_keep_byte_order_and_no_duplicate() {
        // 40 values inserted out of order and twice each: past SMALL_MAX, into a B-tree.
        let values: Vec<String> = (0..40).map(|i| format!("v{:02}", (i * 7) % 40)).collect();
        let mut s = DistinctSet::new();
        for v in values.iter().chain(&values) {
            s.insert(v.clone());
            assert!(s.contains(v));
        }
        assert_eq!(s.len(), 40);
        let mut sorted = values.clone();
        sorted.sort();
        assert_eq!(s.iter().collect::<Vec<_>>(), sorted);
        assert_eq!(s.clone().into_iter().collect::<Vec<_>>(), sorted);
        assert!(!s.contains("v40"));
        let small = set(&["b", "B", "a", "b"]);
        assert_eq!(small.iter().collect::<Vec<_>>(), ["B", "a", "b"]);
    }

    #[test]
    fn a_set_of_one_value_holds_it_alone_and_grows_in_order_from_it() {
        for (first, second) in [("m", "a"), ("m", "z")] {
            let mut s = set(&[first]);
            assert!(matches!(&s.0, Repr::One(v) if v == first));
            assert!(!s.insert(first.to_owned()), "no duplicate");
            assert_eq!(
                (s.len(), s.contains(first), s.contains(second)),
                (1, true, false)
            );
            assert_eq!(s.clone().into_iter().collect::<Vec<_>>(), [first]);
            assert!(s.insert(second.to_owned()));
            let mut both = vec![first, second];
            both.sort();
            assert_eq!(s.iter().collect::<Vec<_>>(), both);
            assert_eq!(s.len(), 2);
        }
        let one: DistinctSet = ["x".to_owned(), "x".to_owned()].into_iter().collect();
        assert!(matches!(&one.0, Repr::One(v) if v == "x"));
        assert_eq!(one, set(&["x"]));
    }

    #[test]
    fn merging_gives_the_union_whatever_the_sizes() {
        let mut a = set(&["x", "a"]);
        a.extend(set(&["b", "a"]));
        assert_eq!(a, set(&["a", "b", "x"]));
        let many: Vec<String> = (0..30).map(|i| i.to_string()).collect();
        let mut big: DistinctSet = many.iter().cloned().collect();
        big.extend(set(&["zz", "0"]));
        assert_eq!(big.len(), 31);
        let mut empty = DistinctSet::new();
        empty.extend(big.clone());
        assert_eq!(empty, big);
    }

    #[test]
    fn the_serialized_form_is_a_b_tree_sets() {
        // States written before this type (a BTreeSet<String>) read back, and the bytes agree.
        for n in [0, 3, 40] {
            let tree: BTreeSet<String> = (0..n).map(|i| format!("value {i}")).collect();
            let bytes = postcard::to_allocvec(&tree).unwrap();
            let s: DistinctSet = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(
                s.iter().collect::<Vec<_>>(),
                tree.iter().collect::<Vec<_>>()
            );
            assert_eq!(postcard::to_allocvec(&s).unwrap(), bytes);
        }
        // A sequence out of order, with a duplicate, is put in order.
        let bytes = postcard::to_allocvec(&vec!["b", "a", "b"]).unwrap();
        let s: DistinctSet = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(s, set(&["a", "b"]));
    }
}
