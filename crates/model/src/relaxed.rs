//! Where a match of a look-ahead pattern can start, found by the linear-time engine.
//!
//! `fancy-regex` runs a pattern with look-around in its backtracking engine, which tries every
//! position of the text: the Windows add-on's `IpAddress` extraction
//! (`<Data Name=…IpAddress…>(?!::1)(?!127\.0\.0\.1)(?<src_ip>[^<]+)</Data>`) cost 70 µs a
//! Security event, most of a library run's extraction time. Removing the look-aheads gives a
//! *relaxed* pattern that matches wherever the pattern does (an assertion only ever rules a
//! match out) and that the `regex` crate runs in linear time. So no match of the pattern
//! starts before the relaxed pattern's first match: [`Relaxed::captures`] runs the pattern on
//! the text from there, and its first match is the one the search over the whole text finds.
//!
//! A start where the pattern fails (a local logon's `::1`) is not searched on from: the
//! backtracking engine would try every later position of the text itself, as slowly as
//! without the shortcut (80 µs a Security event with a loopback `IpAddress`). The pattern is
//! tried anchored at each place the relaxed pattern finds, in order, and the first that matches
//! is the match; after [`MAX_TRIES`] places, the backtracking engine searches the rest itself.
//! Each try and that search stay within the engine's backtracking limit, so the work on any
//! text is bounded by [`MAX_TRIES`] + 1 times that limit.
//!
//! Trying the pattern on the text from a start onwards is exact only when nothing in it looks
//! before its start: patterns with look-behind, `^`, `\b`, `\B`, `\A`, `\G` or `\K` are left to
//! the backtracking engine, as are those the `regex` crate cannot compile once relaxed
//! (back-references, atomic groups …).

use cimhunt_spl::eval::{Regex as Limited, SIZE_LIMIT};

use crate::regex::Captures;

/// How many places the relaxed pattern finds are tried anchored before the backtracking
/// engine searches the rest of the text by itself.
const MAX_TRIES: usize = 64;

/// The relaxed pattern.
pub(crate) struct Relaxed {
    starts: regex::Regex,
    /// The pattern, anchored at the start of the text it is given.
    anchored: Limited,
}

impl Relaxed {
    /// The shortcut for `pattern` (PCRE, `\<` and `\>` already written as characters), when it
    /// has look-aheads and the shortcut is exact for it.
    pub(crate) fn new(pattern: &str) -> Option<Relaxed> {
        let relaxed = strip_lookaheads(pattern)?;
        let starts = regex::RegexBuilder::new(&relaxed)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .ok()?;
        let anchored = Limited::new(&format!("\\A(?:{pattern})")).ok()?;
        Some(Relaxed { starts, anchored })
    }

    /// The first match of `full` (the pattern itself) in `hay`, searched from the first place
    /// a match can start (positions relative to there). `None` also when the backtracking
    /// engine gave up.
    pub(crate) fn captures<'h>(&self, full: &Limited, hay: &'h str) -> Option<Captures<'h>> {
        let mut from = 0;
        for _ in 0..MAX_TRIES {
            let start = self.starts.find_at(hay, from)?.start();
            match self.anchored.as_fancy().captures(&hay[start..]) {
                Ok(Some(caps)) => return Some(caps),
                Ok(None) => {}
                Err(_) => return None,
            }
            // The next place starts at the next character.
            let step = hay[start..].chars().next().map_or(1, char::len_utf8);
            from = start + step;
            if from > hay.len() {
                return None;
            }
        }
        let start = self.starts.find_at(hay, from)?.start();
        full.as_fancy().captures(&hay[start..]).ok().flatten()
    }
}

/// `pattern` without its look-ahead groups; `None` when it has none, or has anything that
/// looks before a match's start (see the module documentation).
fn strip_lookaheads(pattern: &str) -> Option<String> {
    let b = pattern.as_bytes();
    if looks_back(b)? || verbose(b) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len());
    let mut removed = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                out.extend_from_slice(b.get(i..i + 2)?);
                i += 2;
            }
            b'[' => {
                let end = class_end(b, i)?;
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            b'(' if b[i + 1..].starts_with(b"?=") || b[i + 1..].starts_with(b"?!") => {
                i = group_end(b, i)?;
                removed = true;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if !removed {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Whether the pattern turns on extended mode (`(?x)`, `(?ix:…)` …), where `#` starts a
/// comment that may hold brackets this scan would misread.
fn verbose(b: &[u8]) -> bool {
    b.windows(2).enumerate().any(|(i, w)| {
        w == b"(?"
            && b[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic() || **c == b'-')
                .any(|c| *c == b'x')
    })
}

/// Whether anything in the pattern, look-aheads included, looks before the position it is
/// tried at: `^`, `\b`, `\B`, `\A`, `\G`, `\K` or a look-behind. `None` when the pattern does
/// not scan (an escape or class left open).
fn looks_back(b: &[u8]) -> Option<bool> {
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                if matches!(b.get(i + 1)?, b'b' | b'B' | b'A' | b'G' | b'K') {
                    return Some(true);
                }
                i += 2;
            }
            b'[' => i = class_end(b, i)?,
            b'^' => return Some(true),
            b'(' if b[i + 1..].starts_with(b"?<=") || b[i + 1..].starts_with(b"?<!") => {
                return Some(true);
            }
            _ => i += 1,
        }
    }
    Some(false)
}

/// The position just after the class opening at `open` (`[`): a `]` right after `[` or `[^`
/// is a member; `\` escapes the next byte.
fn class_end(b: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if b.get(i) == Some(&b'^') {
        i += 1;
    }
    if b.get(i) == Some(&b']') {
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b']' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The position just after the group opening at `open` (`(`).
fn group_end(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' => i = class_end(b, i)?,
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_aheads_are_removed_and_patterns_that_look_back_are_refused() {
        assert_eq!(
            strip_lookaheads(r"<a>(?!::1)(?!127\.0\.0\.1)(?<ip>[^<(]+)</a>").as_deref(),
            Some(r"<a>(?<ip>[^<(]+)</a>")
        );
        assert_eq!(strip_lookaheads(r"x(?=[)\]](y))z").as_deref(), Some("xz"));
        assert_eq!(strip_lookaheads(r"(?!^-$)(.+)"), None, "a ^ inside");
        assert_eq!(strip_lookaheads("abc"), None, "nothing to remove");
        assert_eq!(strip_lookaheads(r"(?<=a)b(?!c)"), None);
        assert_eq!(strip_lookaheads(r"\bword(?!s)"), None);
        assert_eq!(strip_lookaheads(r"a(?!b"), None, "unbalanced");
        assert_eq!(
            strip_lookaheads("(?x)a # (?!\n b(?!c)"),
            None,
            "extended mode"
        );
        assert_eq!(strip_lookaheads("(?ix:a)b(?!c)"), None, "extended mode");
        assert!(strip_lookaheads("(?i)a(?!c)").is_some());
    }

    /// The shortcut must give what the backtracking engine alone gives, on texts built to
    /// put the excluded values first, between and last.
    #[test]
    fn the_shortcut_finds_what_the_backtracking_engine_finds() {
        let patterns = [
            r#"<Data Name=['"]IpAddress['"]>(?!::1)(?!127\.0\.0\.1)(?<src_ip>[^<]+)</Data>"#,
            r"(?i)user=(?!admin)(?<u>\w+)",
            r"(?ms)a(?=.*end)(?<rest>.*?)b",
            r"x(?!y)",
        ];
        let local = "<Data Name='IpAddress'>::1</Data><Data Name='IpAddress'>127.0.0.1</Data>";
        // Places that fail before the match: fewer than the places tried anchored, and more
        // (the backtracking engine then searches the rest).
        let few = format!("{}<Data Name='IpAddress'>10.9.9.9</Data>", local.repeat(3));
        let many = format!(
            "{}<Data Name='IpAddress'>10.9.9.9</Data>user=admin user=Eve a1b end",
            local.repeat(MAX_TRIES)
        );
        let none = local.repeat(MAX_TRIES + 3);
        let texts = [
            few.as_str(),
            many.as_str(),
            none.as_str(),
            "",
            "<Data Name='IpAddress'>::1</Data><Data Name='IpAddress'>10.1.2.3</Data>",
            "<Data Name='IpAddress'>127.0.0.1</Data>",
            "<Data Name=\"IpAddress\">fe80::1</Data>",
            "USER=admin user=Bob user=admin2",
            "a1b\na2b end",
            "a1b a2b",
            "xyxyxz",
            "ééx",
            "xy",
        ];
        for p in patterns {
            let fast = Relaxed::new(p).unwrap_or_else(|| panic!("{p}: no shortcut"));
            let slow = Limited::new(p).unwrap();
            for t in texts {
                let a = fast.captures(&slow, t).map(|c| {
                    c.iter()
                        .map(|m| m.map(|m| m.as_str().to_owned()))
                        .collect::<Vec<_>>()
                });
                let b = slow.as_fancy().captures(t).unwrap().map(|c| {
                    c.iter()
                        .map(|m| m.map(|m| m.as_str().to_owned()))
                        .collect::<Vec<_>>()
                });
                assert_eq!(a, b, "{p} on {t:?}");
            }
        }
    }
}
