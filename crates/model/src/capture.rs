//! Where a regular expression's capture can lie in the XML markup it runs over, read from the
//! pattern's text: whether a group captures from inside one text node (`<Computer>([^<]+)`),
//! so that its value is a piece of an element's value and never spans markup. The origin
//! analysis ([`crate::origin`]) uses it for the add-ons' extractions over `_raw` and over the
//! `*_Xml` blocks, whose text in an EVTX record is not markup at all.
//!
//! The rule is deliberately narrow (what the add-ons write): the group follows a literal `>`
//! (skipping zero-width look-arounds and the openers of groups it is nested in), and its body
//! is one atom that cannot match `<` — a negated class naming `<`, `\d` or `\w` — repeated, or
//! a group around such a body. Anything else is "may span markup". It rests on one property
//! of Windows' XML: no attribute value holds a `>` (they are data names, GUIDs, times and
//! ids), so a `>` is a tag's end or part of a text node, and a run of non-`<` characters after
//! it stays in that text node.

use cimhunt_spl::regex_text::{escaped, matching_close};

/// A capture group, by number (1-based, named groups counted too, as PCRE does) or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group<'a> {
    Number(usize),
    Name(&'a str),
}

/// Whether every capture of `group` in `pattern` lies inside one XML text node.
pub(crate) fn in_text_node(pattern: &str, group: Group<'_>) -> bool {
    let Some((open, body_start, close)) = find_group(pattern, group) else {
        return false;
    };
    follows_a_tag(&pattern[..open]) && body_cannot_hold_markup(&pattern[body_start..close])
}

/// The names of the named groups of a pattern, in order.
#[cfg(test)]
fn group_names(pattern: &str) -> Vec<&str> {
    groups(pattern).into_iter().filter_map(|g| g.name).collect()
}

#[derive(Debug)]
struct Found<'a> {
    open: usize,
    body: usize,
    close: usize,
    name: Option<&'a str>,
}

/// Every capturing group, in order of its `(`.
fn groups(pattern: &str) -> Vec<Found<'_>> {
    let b = pattern.as_bytes();
    let mut out = Vec::new();
    let mut class = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !class => class = true,
            b']' if class => class = false,
            b'(' if !class => {
                if let Some((body, name)) = capturing(&pattern[i..])
                    && let Some(close) = matching_close(&pattern[i..])
                {
                    out.push(Found {
                        open: i,
                        body: i + body,
                        close: i + close,
                        name,
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// For text starting with `(`: the offset of its body and its name, when the group captures.
fn capturing(at: &str) -> Option<(usize, Option<&str>)> {
    let rest = &at[1..];
    if !rest.starts_with('?') {
        return Some((1, None));
    }
    let named = |prefix: &str, end: char| {
        let r = rest.strip_prefix(prefix)?;
        if r.starts_with('=') || r.starts_with('!') {
            return None;
        }
        let close = r.find(end)?;
        let name = &r[..close];
        name.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_')
            .then_some((1 + prefix.len() + close + 1, Some(name)))
    };
    named("?<", '>')
        .or_else(|| named("?P<", '>'))
        .or_else(|| named("?'", '\''))
}

fn find_group(pattern: &str, group: Group<'_>) -> Option<(usize, usize, usize)> {
    let all = groups(pattern);
    let g = match group {
        Group::Number(n) => all.get(n.checked_sub(1)?)?,
        Group::Name(name) => all.iter().find(|g| g.name == Some(name))?,
    };
    Some((g.open, g.body, g.close))
}

/// Whether the pattern text before a group ends with a literal `>`, once zero-width
/// look-arounds and the openers of enclosing groups are set aside.
fn follows_a_tag(before: &str) -> bool {
    let mut p = before;
    loop {
        if let Some(r) = p.strip_suffix("(?:") {
            p = r;
            continue;
        }
        if let Some(r) = p.strip_suffix('(')
            && !escaped(r.as_bytes(), r.len())
        {
            p = r;
            continue;
        }
        if let Some(r) = strip_named_opener(p) {
            p = r;
            continue;
        }
        if p.ends_with(')') && !escaped(p.as_bytes(), p.len() - 1) {
            // A trailing look-around group is zero-width.
            let open = (0..p.len()).rev().find(|&i| {
                p.as_bytes()[i] == b'(' && matching_close(&p[i..]) == Some(p.len() - 1 - i)
            });
            if let Some(open) = open {
                let g = &p[open..];
                if ["(?=", "(?!", "(?<=", "(?<!"]
                    .iter()
                    .any(|s| g.starts_with(s))
                {
                    p = &p[..open];
                    continue;
                }
            }
            return false;
        }
        break;
    }
    // `>` and PCRE's `\>` are both the character.
    p.ends_with('>')
}

/// `p` without a trailing `(?<name>` or `(?P<name>`.
fn strip_named_opener(p: &str) -> Option<&str> {
    let r = p.strip_suffix('>')?;
    let start = r.rfind("(?")?;
    let name = r[start + 2..]
        .strip_prefix("P<")
        .or_else(|| r[start + 2..].strip_prefix('<'))?;
    (!name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
        .then(|| &p[..start])
}

/// Whether a group body is one atom that cannot match `<`, repeated (or a group around one).
fn body_cannot_hold_markup(body: &str) -> bool {
    if body.starts_with('(') && matching_close(body) == Some(body.len() - 1) {
        let skip = capturing(body)
            .map(|(b, _)| b)
            .or_else(|| body.starts_with("(?:").then_some(3));
        return skip.is_some_and(|s| body_cannot_hold_markup(&body[s..body.len() - 1]));
    }
    let atom_len = if body.starts_with("[^") {
        match class_end(body) {
            Some(end) if body[2..end].contains('<') => end + 1,
            _ => return false,
        }
    } else if body.starts_with(r"\d") || body.starts_with(r"\w") {
        2
    } else {
        return false;
    };
    matches!(&body[atom_len..], "+" | "*" | "+?" | "*?")
}

/// The index of the `]` closing the class that starts at index 0.
fn class_end(p: &str) -> Option<usize> {
    let b = p.as_bytes();
    let mut i = if p.starts_with("[^") { 2 } else { 1 };
    if b.get(i) == Some(&b']') {
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b']' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_inside_one_text_node() {
        let yes = [
            (r"<Computer>([^<]+)<\/Computer>", Group::Number(1)),
            (
                r"<Data Name='ProcessName'>(?<process>[^<]+)<\/Data>",
                Group::Name("process"),
            ),
            (
                r"<EventID>(5156|5157)<\/EventID>.*<Data Name='DestAddress'>(?<dest>(?<dest_ip>[^<]+))<\/Data>",
                Group::Name("dest"),
            ),
            (
                r"<EventID>(5156|5157)<\/EventID>.*<Data Name='DestAddress'>(?<dest>(?<dest_ip>[^<]+))<\/Data>",
                Group::Name("dest_ip"),
            ),
            (
                r#"\<Data Name\=[}}\{\{'"]IpAddress['}}\{\{"]\>(?!\:\:1)(?!127\.0\.0\.1)(?<src_ip>[^\<]+)\<\/Data\>"#,
                Group::Name("src_ip"),
            ),
            (r"<EventRecordID>(\d+)</EventRecordID>", Group::Number(1)),
            (r"(?ms)<(\w*)>([^<]*)<\/\1>", Group::Number(2)),
        ];
        for (p, g) in yes {
            assert!(in_text_node(p, g), "{p} {g:?}");
        }
        let no = [
            (r"<Channel>(.*?)</Channel>", Group::Number(1)),
            (
                r"<Data Name='Details'>\w+\s\((.+)\)</Data>",
                Group::Number(1),
            ),
            (
                r"(?ms)<System(?:\s+[^>]+)?>(.*?)<\/System>",
                Group::Number(1),
            ),
            (r"<Data Name='(.*?)'>(.*?)</Data>", Group::Number(1)),
            (r"(?ms)<(\w*)>([^<]*)<\/\1>", Group::Number(1)),
            (r"Name=([^<]+)", Group::Number(1)),
            (r"<x>([^>]+)", Group::Number(1)),
            (r"<x>([^<]+)", Group::Number(2)),
            (r"<x>([^<]+)", Group::Name("nope")),
        ];
        for (p, g) in no {
            assert!(!in_text_node(p, g), "{p} {g:?}");
        }
    }

    #[test]
    fn groups_are_numbered_as_pcre_numbers_them() {
        let p = r"(?:a)(b)(?<n>c)(?=d)(?P<m>e)[(]";
        assert_eq!(group_names(p), ["n", "m"]);
        assert_eq!(
            find_group(p, Group::Number(2)),
            find_group(p, Group::Name("n"))
        );
        assert!(find_group(p, Group::Number(4)).is_none());
    }
}
