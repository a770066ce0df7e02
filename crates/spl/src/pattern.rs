//! Wildcard patterns: the values of `=`, `!=` and `IN`.
//!
//! Matching runs per event for every comparison of every detection, so a pattern is compiled
//! once (lower-cased, split at `*`) and an ASCII value is matched without allocating: the first
//! and last literal segments are compared in place, ASCII-case-insensitively, and the middle
//! segments are found left to right (greedy leftmost is exact for `*`-only globs) with `memchr`
//! on the segment's rarest byte in both cases. A value with non-ASCII characters is lower-cased
//! into a fresh string first (the slow path). A long ASCII value (a script block) is lower-cased
//! once per thread for all the patterns that search it ([`fold`]), and its middle segments are
//! found with each segment's `memmem` searcher, built with the pattern.

use std::cell::RefCell;
use std::rc::Rc;

/// A search-language value pattern: `*` matches any run of characters (possibly empty), every
/// other character is literal; anchored (the whole value must match); case-insensitive (Unicode
/// simple lowercase of both sides). Built from the value after SPL unescaping.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    /// `text` lower-cased character by character.
    lower: String,
    /// Byte ranges of `lower` between `*`s, empty segments dropped.
    segments: Vec<(usize, usize)>,
    /// Whether `lower` contains a `*` at all.
    has_star: bool,
    /// Whether `lower` starts with `*` (the first segment is not anchored at the start).
    leading_star: bool,
    /// Whether `lower` ends with `*`.
    trailing_star: bool,
    /// A `memmem` searcher for each middle segment (those between the first and the last
    /// when the pattern does not start or end with `*`: the ones searched for), for values
    /// [`fold`] lower-cased. None for a pattern without `*`, compared whole.
    finders: Vec<memchr::memmem::Finder<'static>>,
}

/// Everything else is made from the text.
impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl Pattern {
    /// A pattern from unescaped text.
    pub fn new(text: &str) -> Pattern {
        let lower = lowercase(text);
        let mut segments = Vec::new();
        let mut start = 0;
        for (i, b) in lower.bytes().enumerate() {
            if b == b'*' {
                if i > start {
                    segments.push((start, i));
                }
                start = i + 1;
            }
        }
        if lower.len() > start {
            segments.push((start, lower.len()));
        }
        let has_star = lower.contains('*');
        let leading_star = lower.starts_with('*');
        let trailing_star = lower.ends_with('*');
        let middle = if has_star {
            let from = usize::from(!leading_star);
            let to = segments.len().saturating_sub(usize::from(!trailing_star));
            segments.get(from..to).unwrap_or_default()
        } else {
            &[]
        };
        let finders = middle
            .iter()
            .map(|&(a, b)| memchr::memmem::Finder::new(&lower.as_bytes()[a..b]).into_owned())
            .collect();
        Pattern {
            finders,
            text: text.to_owned(),
            has_star,
            leading_star,
            trailing_star,
            lower,
            segments,
        }
    }

    /// The text as written (after unescaping), with original case.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text lower-cased character by character, as matching compares it.
    pub(crate) fn lower(&self) -> &str {
        &self.lower
    }

    /// Whether the pattern contains a wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.has_star
    }

    /// The literal pieces between the wildcards, in original case (empty pieces omitted).
    pub fn literal_segments(&self) -> impl Iterator<Item = &str> {
        self.text.split('*').filter(|s| !s.is_empty())
    }

    /// The literal pieces between the wildcards, lower-cased as matching compares them: every
    /// one occurs in the lower-cased text of a value that matches.
    pub(crate) fn lower_segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|&(a, b)| &self.lower[a..b])
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        self.matches_folded(&fold(value))
    }

    /// Matches a value prepared by [`fold`] (once for many patterns): bytes are compared with
    /// ASCII case folding, which is exact for an ASCII value and for a lower-cased one (the
    /// pattern is lower-case; non-ASCII bytes compare exactly, and a lower-cased value has no
    /// upper-case ASCII). In a lower-cased value the middle segments are found with `memmem`,
    /// which compares exactly and skips ahead by two bytes of the segment at once.
    pub(crate) fn matches_folded(&self, folded: &Folded<'_>) -> bool {
        let (value, lower): (&[u8], bool) = match folded {
            Folded::Ascii(b) => (b, false),
            Folded::Lower(b) => (b, true),
            Folded::Shared(b) => (b, true),
        };
        let pat = self.lower.as_bytes();
        if !self.has_star {
            return value.eq_ignore_ascii_case(pat);
        }
        let mut segs = self.segments.as_slice();
        let mut rest = value;
        if !self.leading_star {
            let Some((&(a, b), tail)) = segs.split_first() else {
                return true;
            };
            let seg = pat.get(a..b).unwrap_or_default();
            match rest.get(..seg.len()) {
                Some(head) if head.eq_ignore_ascii_case(seg) => {
                    rest = rest.get(seg.len()..).unwrap_or_default()
                }
                _ => return false,
            }
            segs = tail;
        }
        if !self.trailing_star {
            let Some((&(a, b), init)) = segs.split_last() else {
                // "x*…" fully consumed by the prefix check cannot happen: a pattern not ending in
                // `*` has a last segment. Be safe anyway.
                return rest.is_empty();
            };
            let seg = pat.get(a..b).unwrap_or_default();
            let Some(cut) = rest.len().checked_sub(seg.len()) else {
                return false;
            };
            match rest.get(cut..) {
                Some(tail) if tail.eq_ignore_ascii_case(seg) => {
                    rest = rest.get(..cut).unwrap_or_default()
                }
                _ => return false,
            }
            segs = init;
        }
        // `segs` is now the middle run, whose searchers are `self.finders`, in the same order.
        for (i, &(a, b)) in segs.iter().enumerate() {
            let seg = pat.get(a..b).unwrap_or_default();
            let found = match self.finders.get(i) {
                Some(finder) if lower => finder.find(rest),
                _ => find_folded(rest, seg),
            };
            match found {
                Some(at) => rest = rest.get(at + seg.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// A value as [`Pattern::matches_folded`] takes it.
#[derive(Debug)]
pub(crate) enum Folded<'a> {
    /// An ASCII value as it is.
    Ascii(&'a [u8]),
    /// The value lower-cased.
    Lower(std::borrow::Cow<'a, [u8]>),
    /// A long ASCII value lower-cased, shared with other foldings of the same value.
    Shared(Rc<[u8]>),
}

/// ASCII values at least this long are lower-cased by [`fold`]: one pass over the value, after
/// which each pattern's middle segments are found with `memmem` rather than by stopping at
/// every occurrence of one of their bytes in both cases (a script block searched for dozens of
/// segments).
pub(crate) const LOWER_FROM: usize = 256;

/// A value prepared for [`Pattern::matches_folded`]: its bytes when ASCII and short, else
/// lower-cased.
pub(crate) fn fold(value: &str) -> Folded<'_> {
    if !value.is_ascii() {
        Folded::Lower(lowercase(value).into_bytes().into())
    } else if value.len() >= LOWER_FROM {
        Folded::Shared(lowered(value.as_bytes()))
    } else {
        Folded::Ascii(value.as_bytes())
    }
}

/// How many long values [`lowered`] keeps per thread.
const LOWERED_KEPT: usize = 4;

/// The longest value [`lowered`] keeps (a script block is split at 32 KiB); a longer one is
/// lower-cased again for each run of patterns, so that a few huge values do not stay in memory.
const LOWERED_MAX: usize = 64 * 1024;

/// Long values with their lower-cased bytes.
type Lowered = Vec<(Box<[u8]>, Rc<[u8]>)>;

thread_local! {
    /// Recently lower-cased long values, with the value they were made from: the detections of
    /// one event fold its script block again and again.
    static LOWERED: RefCell<Lowered> = const { RefCell::new(Vec::new()) };
}

/// `value` ASCII-lower-cased: found among the values kept when one has the same bytes (so a
/// kept value is never mistaken for another), else made and kept in place of the oldest
/// (unless it is longer than [`LOWERED_MAX`]).
fn lowered(value: &[u8]) -> Rc<[u8]> {
    LOWERED.with_borrow_mut(|kept| {
        if let Some((_, lower)) = kept.iter().find(|(v, _)| **v == *value) {
            return Rc::clone(lower);
        }
        let lower: Rc<[u8]> = value.to_ascii_lowercase().into();
        if value.len() > LOWERED_MAX {
            return lower;
        }
        if kept.len() >= LOWERED_KEPT {
            kept.remove(0);
        }
        kept.push((value.into(), Rc::clone(&lower)));
        lower
    })
}

/// Unicode lowercase, character by character.
pub(crate) fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars().flat_map(char::to_lowercase).collect()
}

/// The leftmost position of lower-case `needle` in `hay`, comparing with ASCII case folding.
///
/// Candidates are found with `memchr` on the needle's rarest byte (in both cases), by a fixed
/// guess of how common bytes are in event text ([`commonness`]): searching for the first byte
/// of `imageloaded` or `invoke-` stops at nearly every `i` of an event.
pub(crate) fn find_folded(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    let last_start = hay.len().checked_sub(needle.len())?;
    let (at, &rare) = needle
        .iter()
        .enumerate()
        .min_by_key(|&(_, &b)| commonness(b))?;
    // The rare byte of a candidate starting at `i` is at `i + at`, for `i` in `0..=last_start`.
    let window = hay.get(at..=last_start + at)?;
    let check = |p: usize| {
        hay.get(p..p + needle.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(needle))
    };
    let upper = rare.to_ascii_uppercase();
    if upper == rare {
        memchr::memchr_iter(rare, window).find(|&p| check(p))
    } else {
        memchr::memchr2_iter(rare, upper, window).find(|&p| check(p))
    }
}

/// How common a (lower-case) byte is in event text, higher for more common: XML markup, spaces,
/// digits and the frequent letters of English and Windows paths. A guess, used only to choose
/// which byte of a needle `memchr` looks for; any choice finds the same matches.
fn commonness(b: u8) -> u8 {
    /// The bytes, most common first; any other byte counts as rare.
    const COMMON: &[u8] = b" e<>=\"/tas0io1rn2.c3l-d4mh5p\\6u78:9fgw_ybvk,x;jqz";
    /// By byte: `COMMON.len()` for its first byte down to 1 for its last, 0 for the rest
    /// (built once, at compile time: this is asked for every byte of every needle searched).
    const RANK: [u8; 256] = {
        let mut rank = [0u8; 256];
        let mut i = 0;
        while i < COMMON.len() {
            rank[COMMON[i] as usize] = (COMMON.len() - i) as u8;
            i += 1;
        }
        rank
    };
    RANK[usize::from(b)]
}

#[cfg(test)]
#[path = "pattern_tests.rs"]
mod tests;
