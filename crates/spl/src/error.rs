//! Errors of the detection compiler: syntax and macro errors with spans, and unsupported
//! constructs with a stable label.

use std::fmt;
use std::ops::Range;

use miette::{Diagnostic, SourceSpan};

/// What kind of problem a [`SplError`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not valid SPL (an unbalanced parenthesis, an unterminated quote, …).
    Syntax,
    /// Macro expansion failed (an unknown macro, a cycle, a malformed invocation).
    Macro,
    /// Valid SPL that cimhunt does not run (yet). The string is a stable label, such as
    /// ``command `join` `` or ``datamodel `Endpoint.Registry` ``, suitable for counting how many
    /// detections each construct blocks.
    Unsupported(String),
}

/// An error compiling a search, located in the search text as written (before macro expansion).
///
/// `Display` gives a one-line message ending in `at line:column`; as a [`miette::Diagnostic`] it
/// labels the span in the original search. An error inside a macro's expansion labels the
/// invocation in the original search, says "in the expansion of `name`", and quotes the
/// expanded text in its help. (Boxed: errors are rare and results stay small.)
#[derive(Debug, Clone)]
pub struct SplError(Box<Located>);

/// The contents of a [`SplError`].
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{message} at {line}:{column}")]
struct Located {
    kind: ErrorKind,
    message: String,
    #[source_code]
    source_code: String,
    #[label("{label_text}")]
    span: SourceSpan,
    label_text: String,
    #[help]
    help: Option<String>,
    line: usize,
    column: usize,
    expanded_span: Option<Range<usize>>,
}

impl fmt::Display for SplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for SplError {}

impl Diagnostic for SplError {
    /// `spl::syntax`, `spl::macro` or `spl::unsupported`.
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let code = match self.0.kind {
            ErrorKind::Syntax => "spl::syntax",
            ErrorKind::Macro => "spl::macro",
            ErrorKind::Unsupported(_) => "spl::unsupported",
        };
        Some(Box::new(code))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.0.labels()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }
}

impl SplError {
    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The message without location.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The stable label of an unsupported construct; `None` for syntax and macro errors.
    pub fn unsupported_label(&self) -> Option<&str> {
        match &self.0.kind {
            ErrorKind::Unsupported(label) => Some(label),
            _ => None,
        }
    }

    /// Whether this error reports an unsupported construct (rather than invalid text).
    pub fn is_unsupported(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Unsupported(_))
    }

    /// The byte range in [`SplError::source_text`] the error points at.
    pub fn span(&self) -> Range<usize> {
        self.0.span.offset()..self.0.span.offset() + self.0.span.len()
    }

    /// The byte range in the expanded search, when the error was found after expansion.
    pub fn expanded_span(&self) -> Option<Range<usize>> {
        self.0.expanded_span.clone()
    }

    /// The text the span refers to: the search as written.
    pub fn source_text(&self) -> &str {
        &self.0.source_code
    }

    /// 1-based line of the span's start.
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// 1-based column (in characters) of the span's start.
    pub fn column(&self) -> usize {
        self.0.column
    }

    /// The help text, if any.
    pub fn help_text(&self) -> Option<&str> {
        self.0.help.as_deref()
    }
}

/// An error located in some working text (the original search or the expanded one), before it
/// is mapped back onto the original search.
#[derive(Debug, Clone)]
pub(crate) struct RawError {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    pub(crate) span: Range<usize>,
    pub(crate) label: String,
    pub(crate) help: Option<String>,
}

/// Result type of the internal passes.
pub(crate) type RawResult<T> = Result<T, RawError>;

impl RawError {
    /// A syntax error.
    pub(crate) fn syntax(message: impl Into<String>, span: Range<usize>, label: &str) -> Self {
        RawError {
            kind: ErrorKind::Syntax,
            message: message.into(),
            span,
            label: label.to_owned(),
            help: None,
        }
    }

    /// A macro error.
    pub(crate) fn macro_error(message: impl Into<String>, span: Range<usize>, label: &str) -> Self {
        RawError {
            kind: ErrorKind::Macro,
            message: message.into(),
            span,
            label: label.to_owned(),
            help: None,
        }
    }

    /// An unsupported construct with its stable label.
    pub(crate) fn unsupported(label: impl Into<String>, span: Range<usize>) -> Self {
        let label = label.into();
        RawError {
            message: format!("unsupported: {label}"),
            kind: ErrorKind::Unsupported(label),
            span,
            label: "not supported by cimhunt".to_owned(),
            help: None,
        }
    }

    /// Adds a help text.
    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The final error, for a span that is already in `source`.
    pub(crate) fn into_error(self, source: &str) -> SplError {
        let span = self.span.clone();
        self.locate(source, span, None, None)
    }

    /// The final error: `span` in `source`, with an optional note about the macro expansion the
    /// original position came from, and the span in the expanded text.
    pub(crate) fn locate(
        self,
        source: &str,
        span: Range<usize>,
        expansion: Option<String>,
        expanded_span: Option<Range<usize>>,
    ) -> SplError {
        let start = clamp_to_boundary(source, span.start);
        let end = ceil_to_boundary(source, span.end.max(start));
        let (line, column) = line_column(source, start);
        let message = match &expansion {
            Some(note) => format!("{} ({note})", self.message),
            None => self.message,
        };
        SplError(Box::new(Located {
            kind: self.kind,
            message,
            source_code: source.to_owned(),
            span: (start, end - start).into(),
            label_text: self.label,
            help: self.help,
            line,
            column,
            expanded_span,
        }))
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Syntax => f.write_str("syntax error"),
            ErrorKind::Macro => f.write_str("macro error"),
            ErrorKind::Unsupported(label) => write!(f, "unsupported: {label}"),
        }
    }
}

/// The largest char boundary of `s` that is `<= pos` (and `<= s.len()`).
pub(crate) fn clamp_to_boundary(s: &str, pos: usize) -> usize {
    let mut p = pos.min(s.len());
    while p > 0 && !s.is_char_boundary(p) {
        p -= 1;
    }
    p
}

/// The smallest char boundary of `s` that is `>= pos`, at most `s.len()`.
pub(crate) fn ceil_to_boundary(s: &str, pos: usize) -> usize {
    let mut p = pos.min(s.len());
    while p < s.len() && !s.is_char_boundary(p) {
        p += 1;
    }
    p
}

/// 1-based line and column (in characters) of byte offset `pos` in `s`.
pub(crate) fn line_column(s: &str, pos: usize) -> (usize, usize) {
    let pos = clamp_to_boundary(s, pos);
    let before = s.get(..pos).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_after_the_last_newline() {
        let s = "ab\ncdé\nxyz";
        assert_eq!(line_column(s, 0), (1, 1));
        assert_eq!(line_column(s, 3), (2, 1));
        // 'é' is two bytes: the second newline is byte 7, the 'x' on line 3 byte 8.
        assert_eq!(line_column(s, 7), (2, 4));
        assert_eq!(line_column(s, 8), (3, 1));
        assert_eq!(line_column(s, 9), (3, 2));
        // Past the end and inside a character both clamp instead of panicking.
        assert_eq!(line_column(s, 100), (3, 4));
        assert_eq!(line_column(s, 6), (2, 3));
    }
}
