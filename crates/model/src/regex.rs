//! Regular expressions as the add-ons write them: PCRE syntax (look-around, back-references,
//! named groups `(?<name>…)`), with a bound on backtracking so that hostile input cannot make
//! one match run away.

use std::fmt;

/// The most backtracking steps one match may take before it is abandoned (treated as no
/// match).
pub(crate) const BACKTRACK_LIMIT: usize = 1_000_000;

/// A compiled regular expression.
pub(crate) struct Regex {
    text: String,
    inner: fancy_regex::Regex,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.text)
    }
}

impl Regex {
    /// Compiles `text`.
    pub(crate) fn new(text: &str) -> Result<Regex, String> {
        let inner = fancy_regex::RegexBuilder::new(text)
            .backtrack_limit(BACKTRACK_LIMIT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Regex {
            text: text.to_owned(),
            inner,
        })
    }

    /// The first match's captures.
    pub(crate) fn captures<'h>(&self, hay: &'h str) -> Option<fancy_regex::Captures<'h>> {
        self.inner.captures(hay).ok().flatten()
    }

    /// Every match's captures, in order.
    pub(crate) fn captures_iter<'r, 'h>(
        &'r self,
        hay: &'h str,
    ) -> impl Iterator<Item = fancy_regex::Captures<'h>> + 'r
    where
        'h: 'r,
    {
        self.inner.captures_iter(hay).map_while(Result::ok)
    }

    /// The names of the named groups, with their indexes.
    pub(crate) fn group_names(&self) -> Vec<(usize, String)> {
        self.inner
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, n.to_owned())))
            .collect()
    }
}
