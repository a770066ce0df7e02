//! Regular expressions as the add-ons write them: PCRE syntax (look-around, back-references,
//! named groups `(?<name>…)`), with the limits of [`cimhunt_spl::eval::Regex`] (bounded
//! pattern size, program size and backtracking), so that hostile input cannot make one match
//! run away; a match that gives up counts as no match.

use std::fmt;

/// Captures of one match.
pub(crate) type Captures<'h> = fancy_regex::Captures<'h, str>;

/// A compiled regular expression.
pub(crate) struct Regex {
    text: String,
    inner: cimhunt_spl::eval::Regex,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.text)
    }
}

impl Regex {
    /// Compiles `text`.
    pub(crate) fn new(text: &str) -> Result<Regex, String> {
        let inner = cimhunt_spl::eval::Regex::new(text).map_err(|e| e.to_string())?;
        Ok(Regex {
            text: text.to_owned(),
            inner,
        })
    }

    /// The first match's captures.
    pub(crate) fn captures<'h>(&self, hay: &'h str) -> Option<Captures<'h>> {
        self.inner.as_fancy().captures(hay).ok().flatten()
    }

    /// Every match's captures, in order (stopping where a match gives up).
    pub(crate) fn captures_iter<'r, 'h>(
        &'r self,
        hay: &'h str,
    ) -> impl Iterator<Item = Captures<'h>> + 'r
    where
        'h: 'r,
    {
        self.inner
            .as_fancy()
            .captures_iter(hay)
            .map_while(Result::ok)
    }

    /// The names of the named groups, with their indexes.
    pub(crate) fn group_names(&self) -> Vec<(usize, String)> {
        self.inner
            .as_fancy()
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, n.to_owned())))
            .collect()
    }
}
