//! Lexical layer: splitting a search into commands, and a scanner that reads the words, quoted
//! strings, operators and keywords of one command, applying SPL's backslash rules (spec 1.3).
//!
//! SPL is context-sensitive (a `,` ends a value inside `IN (…)` but not elsewhere; `=` ends a
//! field name but not a value), so the scanner offers one method per kind of token and the
//! parser asks for what it expects. All spans are byte offsets into the expanded search.

use std::ops::Range;

use crate::error::{RawError, RawResult};

/// One token read by the [`Scanner`]: its text after unescaping, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) text: String,
    pub(crate) span: Range<usize>,
    pub(crate) quoted: bool,
}

/// Splits a search into commands at `|` characters outside double quotes and subsearch brackets,
/// not escaped by a backslash. Returns the byte range of each command (without the `|`).
pub(crate) fn split_commands(text: &str) -> RawResult<Vec<Range<usize>>> {
    let bytes = text.as_bytes();
    let mut commands = Vec::new();
    let mut start = 0;
    let mut quote: Option<usize> = None;
    let mut brackets: Vec<usize> = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 1,
            b'"' => quote = if quote.is_some() { None } else { Some(i) },
            _ if quote.is_some() => {}
            b'[' => brackets.push(i),
            b']' if brackets.pop().is_none() => {
                return Err(RawError::syntax(
                    "unbalanced bracket",
                    i..i + 1,
                    "this `]` has no `[`",
                ));
            }
            b'|' if brackets.is_empty() => {
                commands.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(q) = quote {
        return Err(RawError::syntax(
            "unterminated quoted string",
            q..text.len(),
            "this quote is never closed",
        ));
    }
    if let Some(&open) = brackets.last() {
        return Err(RawError::syntax(
            "unbalanced bracket",
            open..open + 1,
            "this `[` is never closed",
        ));
    }
    commands.push(start..text.len());
    Ok(commands)
}

/// Whether `c` separates tokens.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// A cursor over one command of the expanded search.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    end: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner over `range` of `src`.
    pub(crate) fn new(src: &'a str, range: Range<usize>) -> Self {
        let end = range.end.min(src.len());
        Scanner {
            src,
            pos: range.start.min(end),
            end,
        }
    }

    /// The current byte offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The text not yet read.
    pub(crate) fn rest(&self) -> &'a str {
        self.src.get(self.pos..self.end).unwrap_or("")
    }

    /// The next character.
    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// The character after the next one.
    pub(crate) fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    /// Consumes the next character.
    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Skips whitespace.
    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.bump();
        }
    }

    /// Skips whitespace and reports whether the command is finished.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.end
    }

    /// Consumes `c` if it is next.
    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Whether the next word is `kw` (ASCII case-insensitively when `any_case`), followed by a
    /// token boundary.
    pub(crate) fn at_keyword(&self, kw: &str, any_case: bool) -> bool {
        let rest = self.rest();
        let Some(head) = rest.get(..kw.len()) else {
            return false;
        };
        let same = if any_case {
            head.eq_ignore_ascii_case(kw)
        } else {
            head == kw
        };
        same && rest.get(kw.len()..).is_some_and(|r| {
            r.chars()
                .next()
                .is_none_or(|c| is_space(c) || matches!(c, '(' | ')' | '"'))
        })
    }

    /// Consumes keyword `kw` if it is next; returns its span.
    pub(crate) fn eat_keyword(&mut self, kw: &str, any_case: bool) -> Option<Range<usize>> {
        if self.at_keyword(kw, any_case) {
            let start = self.pos;
            self.pos += kw.len();
            Some(start..self.pos)
        } else {
            None
        }
    }

    /// Reads an unquoted word up to whitespace or a character for which `stop(c, next)` holds,
    /// unescaping `\\`, `\"` and `\|`. `None` when no character was read.
    pub(crate) fn word(
        &mut self,
        mut stop: impl FnMut(char, Option<char>) -> bool,
    ) -> Option<Token> {
        let start = self.pos;
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' {
                self.bump();
                push_escape(&mut text, self.bump());
                continue;
            }
            if is_space(c) || stop(c, self.peek2()) {
                break;
            }
            text.push(c);
            self.bump();
        }
        (self.pos > start).then_some(Token {
            text,
            span: start..self.pos,
            quoted: false,
        })
    }

    /// Reads a double-quoted string; the next character must be `"`.
    pub(crate) fn quoted(&mut self) -> RawResult<Token> {
        let start = self.pos;
        if !self.eat('"') {
            return Err(RawError::syntax(
                "expected a quoted string",
                start..start,
                "here",
            ));
        }
        let mut text = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(RawError::syntax(
                        "unterminated quoted string",
                        start..self.pos,
                        "this quote is never closed",
                    ));
                }
                Some('"') => break,
                Some('\\') => {
                    let next = self.bump();
                    push_escape(&mut text, next);
                }
                Some(c) => text.push(c),
            }
        }
        Ok(Token {
            text,
            span: start..self.pos,
            quoted: true,
        })
    }

    /// Reads a value: a quoted string, or an unquoted word ending at whitespace, at a `)` that
    /// closes no `(` of the value itself (so `*GetCurrent()*` is one value and `(a=b)` ends at
    /// `b`), or (when `in_list`) at a comma. `None` when there is no value here.
    pub(crate) fn value(&mut self, in_list: bool) -> RawResult<Option<Token>> {
        if self.peek() == Some('"') {
            return self.quoted().map(Some);
        }
        let mut depth = 0usize;
        Ok(self.word(|c, _| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' if depth == 0 => true,
            ')' => {
                depth -= 1;
                false
            }
            ',' => in_list && depth == 0,
            _ => false,
        }))
    }

    /// Reads a field name (or a bare term): it ends at whitespace, parentheses, brackets, quotes,
    /// commas and comparison operators.
    pub(crate) fn field_word(&mut self) -> Option<Token> {
        self.word(|c, next| {
            matches!(c, '(' | ')' | '[' | ']' | '"' | ',' | '=' | '<' | '>')
                || (c == '!' && next == Some('='))
        })
    }

    /// Reads a name in a field list (`table`, `fields`, `rename`, by-clauses): quoted, or a word
    /// ending at whitespace or a comma.
    pub(crate) fn list_name(&mut self) -> RawResult<Option<Token>> {
        if self.peek() == Some('"') {
            return self.quoted().map(Some);
        }
        Ok(self.word(|c, _| c == ','))
    }
}

/// Appends the meaning of a backslash followed by `next` (spec 1.3): `\\`, `\"` and `\|` stand
/// for the second character; any other escape is kept verbatim, backslash included.
fn push_escape(text: &mut String, next: Option<char>) {
    match next {
        Some(c @ ('\\' | '"' | '|')) => text.push(c),
        Some(c) => {
            text.push('\\');
            text.push(c);
        }
        None => text.push('\\'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(s: &str) -> Vec<&str> {
        split_commands(s)
            .unwrap()
            .into_iter()
            .map(|r| &s[r])
            .collect()
    }

    #[test]
    fn pipes_split_only_outside_quotes_brackets_and_escapes() {
        assert_eq!(cmds("| a | b"), ["", " a ", " b"]);
        assert_eq!(cmds(r#"| a x="p|q" | b"#), ["", r#" a x="p|q" "#, " b"]);
        assert_eq!(cmds(r"| a x=p\|q | b"), ["", r" a x=p\|q ", " b"]);
        assert_eq!(cmds("| a [| b | c] | d"), ["", " a [| b | c] ", " d"]);
        assert_eq!(cmds(r#"| a x="q\"|" | b"#), ["", r#" a x="q\"|" "#, " b"]);
    }

    #[test]
    fn unterminated_quote_and_bracket_are_errors() {
        let e = split_commands(r#"| a x="abc | b"#).unwrap_err();
        assert_eq!(e.span, 6..14);
        let e = split_commands("| a [ b").unwrap_err();
        assert_eq!(e.span, 4..5);
        let e = split_commands("| a ] b").unwrap_err();
        assert_eq!(e.span, 4..5);
    }

    fn scan_value(s: &str) -> String {
        scan_value_in(s, false)
    }

    /// The first value of `s`; `in_list` makes an unquoted comma end it.
    fn scan_value_in(s: &str, in_list: bool) -> String {
        Scanner::new(s, 0..s.len())
            .value(in_list)
            .unwrap()
            .unwrap()
            .text
    }

    #[test]
    fn backslash_rules_apply_inside_and_outside_quotes() {
        assert_eq!(scan_value(r#""*\\Windows\\Temp\\*""#), r"*\Windows\Temp\*");
        assert_eq!(scan_value(r#""*\Windows\Temp\*""#), r"*\Windows\Temp\*");
        assert_eq!(scan_value(r#""*\\\\Windows*""#), r"*\\Windows*");
        assert_eq!(scan_value(r#""*\"http*""#), r#"*"http*"#);
        assert_eq!(scan_value(r#""a\|b""#), "a|b");
        assert_eq!(scan_value(r"*\\Windows\\*"), r"*\Windows\*");
        assert_eq!(scan_value(r"a\|b"), "a|b");
        // `\*` is a backslash followed by a wildcard.
        assert_eq!(scan_value(r#""a\*""#), r"a\*");
    }

    #[test]
    fn unquoted_values_end_at_space_and_unmatched_parentheses_commas_only_in_lists() {
        let s = "a,b) c";
        assert_eq!(scan_value_in(s, false), "a,b");
        assert_eq!(scan_value_in(s, true), "a");
        let s = "*GetCurrent()*) x";
        assert_eq!(scan_value_in(s, false), "*GetCurrent()*");
        let s = "f(a,b),c";
        assert_eq!(scan_value_in(s, true), "f(a,b)");
    }

    #[test]
    fn keywords_need_a_boundary() {
        let s = "INx IN(";
        let mut sc = Scanner::new(s, 0..s.len());
        assert!(!sc.at_keyword("IN", true));
        sc.field_word();
        sc.skip_ws();
        assert!(sc.at_keyword("in", true));
        assert!(!sc.at_keyword("in", false));
    }
}
