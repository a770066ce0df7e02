//! `LIKE` patterns: `%` matches any run of characters (none included), `_` exactly one
//! character, everything else itself (Search Reference, Comparison and Conditional functions,
//! `like`; eval, "The LIKE operator … `field LIKE "a%b_"`").
//!
//! - The whole value must match (`like(x, "198.%")` is "starts with `198.`").
//! - Matching is case-sensitive, like every eval comparison [inferred: the page does not say].
//! - There is no escape character: a backslash is an ordinary character, so the Windows add-on's
//!   `like(MemberSid, "%\%")` (after string unescaping, the pattern `%\%`) means "contains a
//!   backslash", which is what its `split(MemberSid, "\\")` that follows needs
//!   (`../shared/spec/ADDON_FIELDS.md` §1.6, §1.9) [inferred].
//!
//! Patterns of the shapes `abc`, `abc%`, `%abc` and `%abc%` (no `_`) are matched with plain
//! string operations; others with a backtracking matcher that is linear for one `%` and
//! quadratic at worst.

use memchr::memmem;

/// A compiled `LIKE` pattern.
#[derive(Debug)]
pub(crate) struct LikePattern {
    shape: Shape,
}

#[derive(Debug)]
enum Shape {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memmem::Finder<'static>>),
    /// `%` alone (or `%%…`): anything.
    Any,
    General(Vec<Tok>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Char(char),
    One,
    Many,
}

impl LikePattern {
    pub(crate) fn new(pattern: &str) -> LikePattern {
        let shape = if pattern.contains('_') {
            Shape::General(tokens(pattern))
        } else {
            let starts = pattern.starts_with('%');
            let ends = pattern.ends_with('%') && pattern.len() > 1;
            let inner = pattern.trim_matches('%');
            match (starts, ends, inner.contains('%')) {
                _ if inner.is_empty() && starts => Shape::Any,
                (false, false, false) => Shape::Exact(pattern.to_owned()),
                (false, true, false) => Shape::Prefix(inner.to_owned()),
                (true, false, false) => Shape::Suffix(inner.to_owned()),
                (true, true, false) => {
                    Shape::Contains(Box::new(memmem::Finder::new(inner.as_bytes()).into_owned()))
                }
                _ => Shape::General(tokens(pattern)),
            }
        };
        LikePattern { shape }
    }

    /// Whether `text` matches the whole pattern.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match &self.shape {
            Shape::Exact(s) => text == s,
            Shape::Prefix(s) => text.starts_with(s.as_str()),
            Shape::Suffix(s) => text.ends_with(s.as_str()),
            Shape::Contains(f) => f.find(text.as_bytes()).is_some(),
            Shape::Any => true,
            Shape::General(toks) => general(toks, text),
        }
    }
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(pattern.len());
    for c in pattern.chars() {
        let t = match c {
            '%' => Tok::Many,
            '_' => Tok::One,
            c => Tok::Char(c),
        };
        // `%%` is `%`.
        if t == Tok::Many && out.last() == Some(&Tok::Many) {
            continue;
        }
        out.push(t);
    }
    out
}

/// Wildcard matching with backtracking to the last `%` (each `%` is tried at most once per text
/// position).
fn general(toks: &[Tok], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < chars.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == chars[t] => {
                p += 1;
                t += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Many) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p.min(toks.len())..].iter().all(|t| *t == Tok::Many)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(text: &str, pattern: &str) -> bool {
        LikePattern::new(pattern).matches(text)
    }

    #[test]
    fn percent_and_underscore() {
        assert!(like("foobar", "foo%"));
        assert!(!like("xfoobar", "foo%"));
        assert!(like("198.51.100.7", "198.%"));
        assert!(like("axxbz", "a%b_"));
        assert!(!like("axxb", "a%b_"));
        assert!(!like("axxbzz", "a%b_"));
        assert!(like("abc", "_b_"));
        assert!(like("abc", "%"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("abc", "abc"));
        assert!(like("xabcx", "%abc%"));
        assert!(like("abc", "%c"));
        assert!(like("a%c", "a%c"));
        assert!(like("mississippi", "%iss%ppi"));
        assert!(like("ümlaut", "_mlaut"));
    }

    #[test]
    fn case_sensitive() {
        assert!(!like("FOO", "foo%"));
        assert!(!like("Foo", "f_o"));
    }

    #[test]
    fn backslash_is_literal() {
        // The add-on's `like(MemberSid, "%\%")`: contains a backslash.
        assert!(like(r"CORP\alice", r"%\%"));
        assert!(!like("S-1-5-21-1", r"%\%"));
        // `like(TargetObject, "HKLM\System\%")`.
        assert!(like(
            r"HKLM\System\CurrentControlSet\Services",
            r"HKLM\System\%"
        ));
        assert!(!like(r"HKLM\Software\x", r"HKLM\System\%"));
    }
}
