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
use std::sync::OnceLock;

use crate::relaxed::Relaxed;

/// Captures of one match.
pub(crate) type Captures<'h> = fancy_regex::Captures<'h, str>;

/// A regular expression, its syntax checked when made and compiled when first used
/// ([`cimhunt_spl::eval::Regex::deferred`]): a run uses few of the tables' patterns.
pub(crate) struct Regex {
    text: String,
    /// The pattern after [`pcre_literals`].
    translated: String,
    inner: cimhunt_spl::eval::Regex,
    /// Texts every match contains ([`required_literals`]): a haystack without one of them
    /// cannot match, which spares the backtracking engine a scan of every event's `_raw`.
    required: Vec<String>,
    /// For a pattern with look-aheads: where a match can start ([`Relaxed`]), built on first
    /// use.
    relaxed: OnceLock<Option<Relaxed>>,
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Regex({:?})", self.text)
    }
}

impl Regex {
    /// `text`, its syntax checked (it is compiled when first used).
    pub(crate) fn new(text: &str) -> Result<Regex, String> {
        let translated = pcre_literals(text);
        let inner = cimhunt_spl::eval::Regex::deferred(&translated).map_err(|e| e.to_string())?;
        Ok(Regex {
            text: text.to_owned(),
            required: required_literals(&translated),
            translated: translated.into_owned(),
            relaxed: OnceLock::new(),
            inner,
        })
    }

    /// Why the pattern does not compile, if it does not (compiling it now): the tables' tests
    /// ask this of every pattern.
    pub(crate) fn failed(&self) -> Option<String> {
        self.inner.failed().map(|e| e.to_string())
    }

    fn relaxed(&self) -> Option<&Relaxed> {
        self.relaxed
            .get_or_init(|| Relaxed::new(&self.translated))
            .as_ref()
    }

    /// Whether `hay` lacks the text every match contains.
    fn cannot_match(&self, hay: &str) -> bool {
        self.required
            .iter()
            .any(|r| memchr::memmem::find(hay.as_bytes(), r.as_bytes()).is_none())
    }

    /// The first match's captures.
    pub(crate) fn captures<'h>(&self, hay: &'h str) -> Option<Captures<'h>> {
        if self.cannot_match(hay) {
            return None;
        }
        if let Some(r) = self.relaxed() {
            return r.captures(&self.inner, hay);
        }
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
        let skip = self.cannot_match(hay);
        self.inner
            .as_fancy()
            .captures_iter(hay)
            .take_while(move |_| !skip)
            .map_while(Result::ok)
    }

    /// The names of the named groups, with their indexes (without compiling the pattern).
    pub(crate) fn group_names(&self) -> Vec<(usize, String)> {
        self.inner.group_names()
    }
}

/// The runs of literal characters (three or more) that every match of `pattern` contains:
/// taken from the pattern's top level (outside groups, classes and alternations), leaving out
/// any character a quantifier applies to. None when the pattern has a top-level alternation or
/// matches case-insensitively (`(?i)`).
fn required_literals(pattern: &str) -> Vec<String> {
    if pattern.contains("(?i") || pattern.contains("(?x") {
        return Vec::new();
    }
    let b = pattern.as_bytes();
    let quantified = |j: usize| matches!(b.get(j), Some(b'?' | b'*' | b'+' | b'{'));
    let mut best: Vec<String> = Vec::new();
    let mut run = String::new();
    let end_run = |run: &mut String, best: &mut Vec<String>| {
        if run.len() >= 3 {
            best.push(std::mem::take(run));
        }
        run.clear();
    };
    let (mut depth, mut class) = (0i32, false);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if class {
            match c {
                b'\\' => i += 1,
                b']' => class = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'[' => {
                end_run(&mut run, &mut best);
                class = true;
                if b.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b'(' => {
                end_run(&mut run, &mut best);
                depth += 1;
            }
            b')' => {
                end_run(&mut run, &mut best);
                depth -= 1;
            }
            b'|' if depth == 0 => return Vec::new(),
            b'\\' => {
                i += 1;
                let e = b.get(i).copied().unwrap_or(b'x');
                if depth == 0 && e.is_ascii_punctuation() && !quantified(i + 1) {
                    run.push(e as char);
                } else {
                    end_run(&mut run, &mut best);
                }
            }
            _ if depth > 0 => {}
            b'.' | b'^' | b'$' | b'*' | b'+' | b'?' | b'{' | b'}' => end_run(&mut run, &mut best),
            _ if c.is_ascii() && !c.is_ascii_control() && !quantified(i + 1) => run.push(c as char),
            _ => end_run(&mut run, &mut best),
        }
        i += 1;
    }
    end_run(&mut run, &mut best);
    best
}

/// `text` with `\<` and `\>` written as the plain characters, as PCRE reads them, inside
/// character classes too (where the `regex` crate refuses `\<`: the shortcut for look-ahead
/// patterns could not be built for the Windows add-on's `IpAddress` extraction, whose
/// `[^\<]+` kept it on the backtracking engine alone).
fn pcre_literals(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\\<") && !text.contains("\\>") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('<' | '>')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
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
        assert_eq!(pcre_literals(r"[\<]\<"), r"[<]<");
        assert_eq!(pcre_literals(r"[]\<]\>"), r"[]<]>");
        assert_eq!(pcre_literals(r"[^]\<]\>"), r"[^]<]>");
        assert_eq!(
            pcre_literals(r"[\\]\<"),
            r"[\\]<",
            "an escaped backslash in a class"
        );
    }

    /// Regression: `[^\<]` stayed as written, the `regex` crate refused it, and the
    /// add-on's `IpAddress` extraction ran on the backtracking engine over every Security
    /// event's text (80 µs an event, 8% of the library's time on the mixed corpus).
    #[test]
    fn the_ip_address_extraction_takes_the_shortcut_for_look_aheads() {
        let ip = r#"(?ms)\<Data Name\=[}}\{\{'"]IpAddress['}}\{\{"]\>(?!\:\:1)(?!127\.0\.0\.1)(?<src_ip>[^\<]+)\<\/Data\>"#;
        let re = Regex::new(ip).unwrap();
        assert!(re.relaxed().is_some());
        let text = "<Data Name='IpAddress'>::1</Data><Data Name='IpPort'>0</Data>\
                    <Data Name='IpAddress'>10.0.1.16</Data>";
        let caps = re.captures(text).unwrap();
        assert_eq!(caps.name("src_ip").unwrap().as_str(), "10.0.1.16");
    }
    #[test]
    fn required_literals_are_in_every_match() {
        let lit = |p: &str| required_literals(&pcre_literals(p));
        assert_eq!(
            lit(r#"\<Data Name\=[}}\{\{'"]IpAddress['}}\{\{"]\>(?!\:\:1)(?<src_ip>[^\<]+)"#),
            ["<Data Name=", "IpAddress"]
        );
        assert_eq!(
            lit(r"(?ms).*An attempt was made to (.*?)[:\.]"),
            ["An attempt was made to "]
        );
        assert_eq!(
            lit(r"<EventID>(5156|5157)<\/EventID>.*<Data Name='Application'>"),
            ["<EventID>", "</EventID>", "<Data Name='Application'>"]
        );
        assert_eq!(lit("abcd?"), ["abc"]);
        assert!(lit("ab|cdef").is_empty());
        assert!(lit("(?i)abcdef").is_empty());
        assert!(lit("(.+)").is_empty());
        assert!(lit(r"\d+\w+ab").is_empty());
        assert_eq!(lit(r"(a|b)xyz\.q"), ["xyz.q"]);
        // The shortcut never changes a result.
        let re = Regex::new(r"(?ms).*An attempt was made to (.*?)[:\.]").unwrap();
        assert!(re.captures("nothing here").is_none());
        let caps = re
            .captures("x\nAn attempt was made to reset a password.")
            .unwrap();
        assert_eq!(caps.get(1).unwrap().as_str(), "reset a password");
        assert_eq!(re.captures_iter("none").count(), 0);
    }
}
