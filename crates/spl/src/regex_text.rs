//! Reading a regular expression's text (not running it): where a group closes, whether a
//! character is escaped. The origin analyses of `eval` ([`crate::eval::origin`]) and of the
//! add-ons' extractions (the model's `capture`) both read patterns this way, so they agree on
//! what a group is.
//!
//! Deliberately simple: a `\` escapes the next byte, and brackets inside a character class
//! (`[…]`) are not groups. That is all ESCU's and the add-ons' patterns need; a pattern this
//! misreads only makes an analysis answer "unknown", never a wrong "yes".

/// The index of the `)` closing the `(` at index 0 of `p`, if it is closed.
pub fn matching_close(p: &str) -> Option<usize> {
    let b = p.as_bytes();
    let (mut depth, mut class, mut i) = (0i32, false, 0);
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'[' if !class => class = true,
            b']' if class => class = false,
            b'(' if !class => depth += 1,
            b')' if !class => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the byte at index `i` of `b` is preceded by an odd number of backslashes (is
/// escaped). `i` may be `b.len()`: whether the text ends in an unfinished escape.
pub fn escaped(b: &[u8], i: usize) -> bool {
    b[..i.min(b.len())]
        .iter()
        .rev()
        .take_while(|&&c| c == b'\\')
        .count()
        % 2
        == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_closes_past_escaped_parentheses_and_classes() {
        assert_eq!(matching_close("(a(b)c)d"), Some(6));
        assert_eq!(matching_close(r"(a\)b)"), Some(5));
        assert_eq!(matching_close("([)(]x)"), Some(6));
        assert_eq!(matching_close("(a(b)"), None);
    }

    #[test]
    fn escapes_are_counted_in_runs() {
        assert!(escaped(br"a\(", 2));
        assert!(!escaped(br"a\\(", 3));
        assert!(escaped(br"\\\", 3));
        assert!(!escaped(b"(", 0));
    }
}
