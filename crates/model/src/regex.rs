//! Regular expressions as the add-ons write them: PCRE syntax (look-around, back-references,
//! named groups `(?<name>…)`), with the limits of [`cimhunt_spl::eval::Regex`] (bounded
//! pattern size, program size and backtracking), so that hostile input cannot make one match
//! run away; a match that gives up counts as no match.
//!
//! One PCRE rule the Rust engines do not share is translated before compiling: in PCRE a
//! backslash before a character that is not a letter or digit always means that character
//! ("an escaping backslash can be used to include a … non-alphanumeric character", pcrepattern
//! "Backslash"), whereas `fancy-regex` reads `\<` and `\>` outside a class as word boundaries.
//! The Windows add-on writes `\<Data Name\=…\>` in its `IpAddress` extraction (W88
//! props.conf line 331), so both become the plain characters.

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
        let inner =
            cimhunt_spl::eval::Regex::new(&pcre_literals(text)).map_err(|e| e.to_string())?;
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

/// `text` with `\<` and `\>` outside character classes written as the plain characters, as
/// PCRE reads them.
fn pcre_literals(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\\<") && !text.contains("\\>") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_class = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('<' | '>')) if !in_class => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` first in the class (after an optional `^`) is a member, not its end.
                let mut look = chars.clone();
                let mut skip = 0;
                if look.clone().next() == Some('^') {
                    look.next();
                    skip += 1;
                }
                if look.next() == Some(']') {
                    skip += 1;
                }
                out.extend(chars.by_ref().take(skip));
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcre_escaped_angle_brackets_are_the_characters() {
        let ip = r#"\<Data Name\=[}}\{\{'"]IpAddress['}}\{\{"]\>(?!\:\:1)(?!127\.0\.0\.1)(?<src_ip>[^\<]+)\<\/Data\>"#;
        let re = Regex::new(ip).unwrap();
        let caps = re
            .captures("<Data Name='IpAddress'>10.0.1.16</Data>")
            .unwrap();
        assert_eq!(caps.name("src_ip").unwrap().as_str(), "10.0.1.16");
        assert!(re.captures("<Data Name='IpAddress'>::1</Data>").is_none());
        assert_eq!(
            pcre_literals(r"a\\<b"),
            r"a\\<b",
            "an escaped backslash stays"
        );
        assert_eq!(pcre_literals(r"[\<]\<"), r"[\<]<");
        assert_eq!(pcre_literals(r"[]\<]\>"), r"[]\<]>");
        assert_eq!(pcre_literals(r"[^]\<]\>"), r"[^]\<]>");
    }
}
