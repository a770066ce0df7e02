//! Tokens of the eval language.
//!
//! Unlike the search language, eval is lexically regular: a string is always double-quoted, a
//! field name with special characters is always single-quoted, and operators are punctuation or
//! keywords. So a plain tokenizer with one token of lookahead serves the parser.
//!
//! Rules:
//! - String literals are double-quoted. `\\` is one backslash and `\"` a double quote; `\t`, `\n`
//!   and `\r` are a tab, a newline and a carriage return (Search Manual, "Types of expressions":
//!   `"C:\\windows\temp"` is `C:\windows<TAB>emp`); any other backslash is kept with the character
//!   after it (`\w`, `\(`, `\.`, `\b`, `\%`), which is what the add-ons' regular expressions and
//!   `like` patterns need (`../shared/spec/ADDON_FIELDS.md` §1.9) [inferred: Splunk documents `\t`
//!   only; `\n` and `\r` are read like it, and `\b` stays a regex word boundary].
//! - Field names are bare words of letters, digits and `_` (any Unicode letter or digit), or
//!   single-quoted (`'Processes.dest'`, `'server-1'`), in which `\'` and `\\` stand for `'` and `\`
//!   (Search Reference, eval: "To specify a field name with special characters, such as a period,
//!   use single quotation marks"). A bare `a.b` is therefore `a . b`, the concatenation of two
//!   fields — ESCU's `detect_rtlo_in_process` relies on it.
//! - Numbers are decimal: digits, an optional fraction, an optional exponent (`1e3`) [inferred].
//! - Keywords `AND`, `OR`, `XOR`, `NOT`, `LIKE`, `IN` are recognised in any case: ESCU's
//!   production detections write `and`, `or`, `not` and `like` in lower case [inferred from
//!   content; the Search Manual asks for upper case in the search language].

use std::ops::Range;

use crate::error::{RawError, RawResult};

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A number, with the text it was written with.
    Num(f64, String),
    /// A double-quoted string, unescaped.
    Str(String),
    /// A single-quoted field name.
    Quoted(String),
    /// A bare word: a field name, a function name or a keyword.
    Word(String),
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Dot,
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `!`.
    Bang,
    /// The end of the text.
    End,
}

/// A token and where it is, in bytes of the whole source.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Range<usize>,
}

impl Token {
    /// The keyword this token is, in upper case, if it is a bare keyword.
    pub(crate) fn keyword(&self) -> Option<&'static str> {
        let Tok::Word(w) = &self.tok else {
            return None;
        };
        ["AND", "OR", "XOR", "NOT", "LIKE", "IN"]
            .into_iter()
            .find(|k| w.eq_ignore_ascii_case(k))
    }
}

/// A tokenizer over `text`, whose first byte is at `base` in the source the spans refer to.
#[derive(Debug)]
pub(crate) struct Lexer<'a> {
    text: &'a str,
    base: usize,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a str, base: usize) -> Self {
        Lexer { text, base, pos: 0 }
    }

    /// Bytes of `text` consumed so far (up to the end of the last token read).
    pub(crate) fn consumed(&self) -> usize {
        self.pos
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn span(&self, start: usize) -> Range<usize> {
        self.base + start..self.base + self.pos
    }

    /// Reads the next token.
    pub(crate) fn next(&mut self) -> RawResult<Token> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(Token {
                tok: Tok::End,
                span: self.span(start),
            });
        };
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '%' => Tok::Percent,
            '=' => {
                if self.peek() == Some('=') {
                    self.bump();
                }
                Tok::Eq
            }
            '!' if self.peek() == Some('=') => {
                self.bump();
                Tok::Ne
            }
            '!' => Tok::Bang,
            '<' if self.peek() == Some('=') => {
                self.bump();
                Tok::Le
            }
            '<' => Tok::Lt,
            '>' if self.peek() == Some('=') => {
                self.bump();
                Tok::Ge
            }
            '>' => Tok::Gt,
            '"' => Tok::Str(self.string(start)?),
            '\'' => Tok::Quoted(self.quoted_name(start)?),
            '.' if self.peek().is_some_and(|d| d.is_ascii_digit()) => self.number(start),
            '.' => Tok::Dot,
            d if d.is_ascii_digit() => self.number(start),
            w if is_word_char(w) => {
                while self.peek().is_some_and(is_word_char) {
                    self.bump();
                }
                Tok::Word(self.text[start..self.pos].to_owned())
            }
            other => {
                return Err(RawError::syntax(
                    format!("unexpected character `{other}` in eval expression"),
                    self.span(start),
                    "not part of the eval language",
                ));
            }
        };
        Ok(Token {
            tok,
            span: self.span(start),
        })
    }

    /// The rest of a double-quoted string whose opening quote was read at `start`.
    fn string(&mut self, start: usize) -> RawResult<String> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(RawError::syntax(
                        "unterminated quoted string",
                        self.span(start),
                        "this quote is never closed",
                    ));
                }
                Some('"') => return Ok(out),
                Some('\\') => match self.bump() {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => out.push('\\'),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// The rest of a single-quoted field name whose opening quote was read at `start`.
    fn quoted_name(&mut self, start: usize) -> RawResult<String> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(RawError::syntax(
                        "unterminated quoted field name",
                        self.span(start),
                        "this quote is never closed",
                    ));
                }
                Some('\'') => return Ok(out),
                Some('\\') if matches!(self.peek(), Some('\'' | '\\')) => {
                    out.extend(self.bump());
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// The rest of a number whose first character was read at `start`.
    fn number(&mut self, start: usize) -> Tok {
        let digits = |lx: &mut Self| {
            while lx.peek().is_some_and(|d| d.is_ascii_digit()) {
                lx.bump();
            }
        };
        digits(self);
        if self.peek() == Some('.') && !self.text[start..self.pos].contains('.') {
            self.bump();
            digits(self);
        }
        // An exponent only when digits follow it: `1e3`, `2.5E-2`.
        let rest = self.rest().as_bytes();
        let exp_len = match rest {
            [b'e' | b'E', b'+' | b'-', d, ..] if d.is_ascii_digit() => 2,
            [b'e' | b'E', d, ..] if d.is_ascii_digit() => 1,
            _ => 0,
        };
        if exp_len > 0 {
            self.pos += exp_len;
            digits(self);
        }
        let text = &self.text[start..self.pos];
        // Every text accepted above parses; an overflow reads as infinity.
        let value = text.parse().unwrap_or(f64::INFINITY);
        Tok::Num(value, text.to_owned())
    }
}

/// Whether `c` can be part of a bare word.
fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut lx = Lexer::new(s, 0);
        let mut out = Vec::new();
        loop {
            let t = lx.next().unwrap().tok;
            if t == Tok::End {
                return out;
            }
            out.push(t);
        }
    }

    #[test]
    fn string_escapes_follow_the_expressions_page() {
        assert_eq!(
            toks(r#""C:\\windows\temp""#),
            [Tok::Str("C:\\windows\temp".into())]
        );
        assert_eq!(toks(r#""a\"b""#), [Tok::Str("a\"b".into())]);
        // Unknown escapes keep their backslash: regexes and like patterns survive.
        assert_eq!(
            toks(r#""(.*\\\)(?=.*(\.\w*)$|(\w+)$)""#),
            [Tok::Str(r"(.*\\)(?=.*(\.\w*)$|(\w+)$)".into())]
        );
        assert_eq!(toks(r#""%\%""#), [Tok::Str(r"%\%".into())]);
        assert_eq!(toks(r#""\b\d""#), [Tok::Str(r"\b\d".into())]);
    }

    #[test]
    fn dotted_bare_words_are_concatenations() {
        assert_eq!(
            toks("a.b 'c.d'"),
            [
                Tok::Word("a".into()),
                Tok::Dot,
                Tok::Word("b".into()),
                Tok::Quoted("c.d".into())
            ]
        );
    }

    #[test]
    fn numbers_keep_their_text() {
        assert_eq!(toks("8.250"), [Tok::Num(8.25, "8.250".into())]);
        assert_eq!(toks(".5"), [Tok::Num(0.5, ".5".into())]);
        assert_eq!(toks("1e3"), [Tok::Num(1000.0, "1e3".into())]);
        assert_eq!(
            toks("2else"),
            [Tok::Num(2.0, "2".into()), Tok::Word("else".into())]
        );
    }

    #[test]
    fn operators() {
        assert_eq!(
            toks("a==b != c <= d >= e < f > g = !h"),
            [
                Tok::Word("a".into()),
                Tok::Eq,
                Tok::Word("b".into()),
                Tok::Ne,
                Tok::Word("c".into()),
                Tok::Le,
                Tok::Word("d".into()),
                Tok::Ge,
                Tok::Word("e".into()),
                Tok::Lt,
                Tok::Word("f".into()),
                Tok::Gt,
                Tok::Word("g".into()),
                Tok::Eq,
                Tok::Bang,
                Tok::Word("h".into()),
            ]
        );
    }

    #[test]
    fn unterminated_quotes_are_errors_with_spans() {
        let e = Lexer::new("x = \"abc", 10).next().unwrap();
        assert_eq!(e.span, 10..11);
        let mut lx = Lexer::new("x = \"abc", 10);
        lx.next().unwrap();
        lx.next().unwrap();
        let err = lx.next().unwrap_err();
        assert_eq!(err.span, 14..18);
    }
}
