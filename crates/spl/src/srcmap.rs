//! The expanded search and its map back to the search as written.

use std::ops::Range;

use crate::error::{RawError, SplError, clamp_to_boundary};

/// A search after macro expansion and comment removal, with enough of a map to point an error
/// in the expanded text back at the search as written.
#[derive(Debug, Clone)]
pub struct Expanded {
    original: String,
    text: String,
    pieces: Vec<Piece>,
}

/// A run of the expanded text and where it came from.
#[derive(Debug, Clone)]
struct Piece {
    out: Range<usize>,
    origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Copied from the search as written, starting at this byte offset.
    Written(usize),
    /// Produced by a macro invocation at `invocation` (a range of the search as written);
    /// `chain` names the macros from the outermost to the one whose body this text is.
    Macro {
        invocation: Range<usize>,
        chain: Vec<String>,
    },
}

impl Expanded {
    pub(crate) fn new(original: &str) -> Self {
        Expanded {
            original: original.to_owned(),
            text: String::with_capacity(original.len() * 2),
            pieces: Vec::new(),
        }
    }

    /// Appends `s`, which came from `origin`.
    pub(crate) fn push(&mut self, s: &str, origin: Origin) {
        if s.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(s);
        let end = self.text.len();
        if let Some(last) = self.pieces.last_mut()
            && last.out.end == start
        {
            let contiguous = match (&last.origin, &origin) {
                (Origin::Written(a), Origin::Written(b)) => {
                    a + (last.out.end - last.out.start) == *b
                }
                (a @ Origin::Macro { .. }, b) => a == b,
                _ => false,
            };
            if contiguous {
                last.out.end = end;
                return;
            }
        }
        self.pieces.push(Piece {
            out: start..end,
            origin,
        });
    }

    /// The expanded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The search as written.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// The expanded text, consuming `self`.
    pub fn into_text(self) -> String {
        self.text
    }

    /// Where byte `pos` of the expanded text came from: a range of the original and, for text
    /// produced by macros, the chain of macro names.
    fn origin_of(&self, pos: usize) -> (Range<usize>, Option<&[String]>) {
        let idx = self.pieces.partition_point(|p| p.out.end <= pos);
        match self.pieces.get(idx).or_else(|| self.pieces.last()) {
            None => (self.original.len()..self.original.len(), None),
            Some(piece) => match &piece.origin {
                Origin::Written(start) => {
                    let off = pos.saturating_sub(piece.out.start).min(piece.out.len());
                    let p = start + off;
                    (p..p + 1, None)
                }
                Origin::Macro { invocation, chain } => (invocation.clone(), Some(chain)),
            },
        }
    }

    /// The range of the original search that expanded range `span` came from, and a note naming
    /// the macro expansion when part of it came from one.
    pub(crate) fn original_span(&self, span: &Range<usize>) -> (Range<usize>, Option<String>) {
        let (a, chain_a) = self.origin_of(span.start);
        let last = if span.end > span.start {
            span.end - 1
        } else {
            span.start
        };
        let (b, chain_b) = self.origin_of(last);
        let start = a.start.min(b.start);
        let mut end = a.end.max(b.end);
        if span.end <= span.start && chain_a.is_none() {
            // An empty span stays empty (e.g. "end of input").
            end = start;
        }
        let end = end.min(self.original.len());
        let start = start.min(end);
        let note = chain_a.or(chain_b).map(expansion_note);
        (start..end, note)
    }

    /// Turns an error found in the expanded text into one located in the original search.
    pub(crate) fn error(&self, raw: RawError) -> SplError {
        let span = raw.span.clone();
        let (orig, note) = self.original_span(&span);
        let raw = if note.is_some() {
            let snippet = format!("the expanded search reads: {}", self.snippet(&span));
            let help = match &raw.help {
                Some(h) => format!("{h}\n{snippet}"),
                None => snippet,
            };
            raw.with_help(help)
        } else {
            raw
        };
        raw.locate(&self.original, orig, note, Some(span))
    }

    /// Up to 40 characters of expanded text either side of `span`, with the span marked.
    fn snippet(&self, span: &Range<usize>) -> String {
        let t = &self.text;
        let a = clamp_to_boundary(t, span.start);
        let b = clamp_to_boundary(t, span.end.max(a));
        let from = clamp_to_boundary(t, a.saturating_sub(40));
        let to = clamp_to_boundary(t, b.saturating_add(40));
        let to = if to < b { b } else { to };
        format!(
            "…{}⟦{}⟧{}…",
            t.get(from..a).unwrap_or(""),
            t.get(a..b).unwrap_or(""),
            t.get(b..to).unwrap_or("")
        )
    }
}

/// "in the expansion of `a` → `b`".
pub(crate) fn expansion_note(chain: &[String]) -> String {
    let names: Vec<String> = chain.iter().map(|n| format!("`{n}`")).collect();
    format!("in the expansion of {}", names.join(" → "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Expanded {
        // Original: "ab `m` cd"; `m` expands to "XYZ".
        let mut e = Expanded::new("ab `m` cd");
        e.push("ab ", Origin::Written(0));
        e.push(
            "XYZ",
            Origin::Macro {
                invocation: 3..6,
                chain: vec!["m".into()],
            },
        );
        e.push(" cd", Origin::Written(6));
        e
    }

    #[test]
    fn written_text_maps_to_its_own_offsets() {
        let e = sample();
        assert_eq!(e.text(), "ab XYZ cd");
        assert_eq!(e.original_span(&(7..9)), (7..9, None));
        assert_eq!(e.original_span(&(0..2)), (0..2, None));
    }

    #[test]
    fn expanded_text_maps_to_the_invocation() {
        let e = sample();
        let (span, note) = e.original_span(&(4..5));
        assert_eq!(span, 3..6);
        assert_eq!(note.as_deref(), Some("in the expansion of `m`"));
        // A span straddling written and expanded text covers both.
        assert_eq!(e.original_span(&(1..5)).0, 1..6);
    }

    #[test]
    fn end_of_input_maps_to_end_of_original() {
        let e = sample();
        assert_eq!(e.original_span(&(9..9)), (9..9, None));
    }
}
