//! Small readers shared by the typed tables: lists, booleans, numbers, percent-decoding, and
//! errors located at a stanza or setting.

use std::collections::HashMap;

use crate::conf::{Setting, Stanza};

use super::error::{Problem, TableError};

/// Splits a list whose items are separated by commas and/or blanks (line breaks included);
/// a double-quoted item is kept whole, without its quotes.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if !quoted && (c == ',' || c.is_whitespace()) => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// Splits a comma-separated list (`REPORT-`, `TRANSFORMS-`, `layers`), trimming blanks and
/// line breaks around items and dropping empty ones.
pub(crate) fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A Splunk boolean: `true`/`false`, `1`/`0`, `t`/`f`, `yes`/`no` (any case).
pub(crate) fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" | "y" => Some(true),
        "false" | "0" | "f" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// A non-negative integer.
pub(crate) fn number(text: &str) -> Option<u32> {
    text.trim().parse().ok()
}

/// Decodes `%XX` escapes (tags.conf writes `win%3Alocal` for `win:local`); a `%` not followed
/// by two hex digits is kept. `None` if the decoded bytes are not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Positions by name, for collections whose names are unique (stanza names of one layered
/// configuration are).
pub(crate) fn index_by<T>(items: &[T], name: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (name(item).to_owned(), i))
        .collect()
}

/// Builds errors located in one stanza.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a>(pub(crate) &'a Stanza);

impl At<'_> {
    /// An error about one of the stanza's settings.
    pub(crate) fn setting(&self, setting: &Setting, problem: Problem) -> TableError {
        TableError::Setting {
            origin: setting.origin().clone(),
            stanza: self.0.name().to_owned(),
            key: setting.key().to_owned(),
            problem,
        }
    }

    /// An error about the stanza as a whole.
    pub(crate) fn stanza(&self, problem: Problem) -> TableError {
        TableError::Stanza {
            origin: self.0.origin().clone(),
            stanza: self.0.name().to_owned(),
            problem,
        }
    }

    /// A boolean setting, `None` if absent.
    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, TableError> {
        self.0
            .get(key)
            .map(|s| {
                boolean(s.value())
                    .ok_or_else(|| self.setting(s, Problem::NotBoolean(s.value().into())))
            })
            .transpose()
    }

    /// A number setting, `None` if absent.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u32>, TableError> {
        self.0
            .get(key)
            .map(|s| {
                number(s.value())
                    .ok_or_else(|| self.setting(s, Problem::NotNumber(s.value().into())))
            })
            .transpose()
    }

    /// A required setting's value.
    pub(crate) fn required(&self, key: &str) -> Result<&str, TableError> {
        self.0
            .value(key)
            .ok_or_else(|| self.stanza(Problem::MissingKey(key.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_commas_and_blanks_and_keep_quoted_items() {
        assert_eq!(
            words("host AS dvc_nt_host,Computer AS dvc"),
            ["host", "AS", "dvc_nt_host", "Computer", "AS", "dvc"]
        );
        assert_eq!(words("a,  b\n c"), ["a", "b", "c"]);
        assert_eq!(words("\"Field one\" AS x"), ["Field one", "AS", "x"]);
        assert_eq!(words("\"\" x"), ["", "x"]);
        assert!(words(" , ").is_empty());
    }

    #[test]
    fn comma_lists_trim_continuation_breaks() {
        assert_eq!(comma_list("a,b,  \nc,,d "), ["a", "b", "c", "d"]);
    }

    #[test]
    fn booleans_and_numbers() {
        assert_eq!(boolean("1"), Some(true));
        assert_eq!(boolean("TRUE"), Some(true));
        assert_eq!(boolean("f"), Some(false));
        assert_eq!(boolean("maybe"), None);
        assert_eq!(number(" 12 "), Some(12));
        assert_eq!(number("-1"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("win%3Alocal").as_deref(), Some("win:local"));
        assert_eq!(
            percent_decode("kadmin%2Fchangepw").as_deref(),
            Some("kadmin/changepw")
        );
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%FF"), None);
    }
}
