//! Splunk's `.conf` syntax: `[stanza]` headers, `key = value` settings, `#` comments and `\`
//! line continuations, parsed into stanzas whose every setting remembers the file and line it
//! came from.
//!
//! Key design decision: the parser only splits text; it interprets no setting. Values are kept
//! exactly as written (an `EVAL-` expression keeps its backslashes, a `REGEX` its escapes), and
//! the typed layer (`crate::tables`) decides what each key means. Layering several files — an
//! add-on's `default` directory, then another add-on, then an overlay — is [`Conf::layer`]:
//! per stanza, a later setting replaces an earlier one with the same key, as Splunk's
//! configuration precedence does.
//!
//! The rules, with their sources:
//! - A line whose first non-blank character is `#` is a comment; so is a blank line. A `#`
//!   later in a line is part of the value: Splunk has no end-of-line comments \[I\] (every
//!   comment in the add-ons' files is a whole line, and values such as `SEDCMD` expressions may
//!   contain `#`).
//! - `[name]`: the stanza name is everything between the first `[` and the last `]` of the
//!   line, so names such as `[source::XmlWinEventLog:Security]`, `[(?::){0}XmlWinEventLog:*]`
//!   or `[eventtype=ms-sysmon-process]` are kept whole.
//! - `key = value`: split at the first `=`; blanks around the key and before the value are
//!   dropped, as are blanks at the end of the value. `REPORT-x= a` and `EXTRACT-x =<regex>` are
//!   both valid (Windows add-on 8.8.0 writes both).
//! - A line ending in `\` continues on the next line; the backslash is removed and the line
//!   break is kept, so a multi-line `EVAL-` reads as written (ADDON_FIELDS.md §1.4 quotes such
//!   settings; saved searches are stored the same way). A continuation line is taken as it is,
//!   even if it starts with `#` or `[`.
//! - Settings before the first stanza header belong to the stanza `default`
//!   (`transforms.conf.spec`, "GLOBAL SETTINGS").
//! - A stanza header that appears twice in one file continues the same stanza, and a key that
//!   appears twice in one stanza keeps the later value ("the last definition in the file wins",
//!   same section of the spec). The setting keeps the position of its first appearance and the
//!   line of its last.
//!
//! Anything else (a line with neither `=` nor a header, `[` without `]`, an empty key) is an
//! error naming the file and line. Nothing panics on any input: see the property tests.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The stanza that settings written before any header belong to.
pub const DEFAULT_STANZA: &str = "default";

/// Longest excerpt of a bad line quoted in an error message.
const EXCERPT_CHARS: usize = 80;

/// Where a stanza header or a setting was written: a file name (as given to the parser) and a
/// 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    file: Arc<str>,
    line: usize,
}

impl Origin {
    /// An origin in `file` at 1-based `line`.
    pub fn new(file: impl Into<Arc<str>>, line: usize) -> Origin {
        Origin {
            file: file.into(),
            line,
        }
    }

    /// The file name, as given when the text was parsed.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line number (the first line of a continued setting).
    pub fn line(&self) -> usize {
        self.line
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One `key = value` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    key: String,
    value: String,
    origin: Origin,
}

impl Setting {
    /// A setting as if written at `origin`.
    pub fn new(key: impl Into<String>, value: impl Into<String>, origin: Origin) -> Setting {
        Setting {
            key: key.into(),
            value: value.into(),
            origin,
        }
    }

    /// The key, without surrounding blanks (`EVAL-user`, `REGEX`, `search`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value exactly as written after `=`, without leading and trailing blanks; continued
    /// lines are joined with `\n`.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Where the setting was written.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

/// A `[name]` stanza and its settings, in the order their keys first appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    name: String,
    origin: Origin,
    settings: Vec<Setting>,
    index: HashMap<String, usize>,
}

impl Stanza {
    /// An empty stanza whose header is at `origin`.
    pub fn new(name: impl Into<String>, origin: Origin) -> Stanza {
        Stanza {
            name: name.into(),
            origin,
            settings: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The name between the brackets, exactly as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the header was first written.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The settings, in the order their keys first appeared.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    /// The setting with this key (case-sensitive, as Splunk's keys are).
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.index.get(key).map(|&i| &self.settings[i])
    }

    /// The value of the setting with this key.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(Setting::value)
    }

    /// Adds a setting; one with the same key is replaced in place (the later one wins).
    pub fn set(&mut self, setting: Setting) {
        match self.index.get(&setting.key) {
            Some(&i) => self.settings[i] = setting,
            None => {
                self.index.insert(setting.key.clone(), self.settings.len());
                self.settings.push(setting);
            }
        }
    }

    /// Number of settings.
    pub fn len(&self) -> usize {
        self.settings.len()
    }

    /// Whether the stanza has no settings.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }
}

/// A parsed configuration: stanzas in the order they first appeared, possibly layered from
/// several files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conf {
    stanzas: Vec<Stanza>,
    index: HashMap<String, usize>,
}

impl Conf {
    /// An empty configuration.
    pub fn new() -> Conf {
        Conf::default()
    }

    /// Parses `text`; `file` names it in origins and errors.
    pub fn parse(file: &str, text: &str) -> Result<Conf, ConfError> {
        Parser::new(file).run(text)
    }

    /// Reads and parses a file; origins and errors name it by its path.
    pub fn read(path: &Path) -> Result<Conf, ConfError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ConfError::Read {
            file: file.clone(),
            source,
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|e| ConfError::NotUtf8 {
            file: file.clone(),
            offset: e.valid_up_to(),
        })?;
        Conf::parse(&file, text.strip_prefix('\u{feff}').unwrap_or(text))
    }

    /// The stanzas, in the order they first appeared.
    pub fn stanzas(&self) -> &[Stanza] {
        &self.stanzas
    }

    /// The stanza with this name (case-sensitive).
    pub fn stanza(&self, name: &str) -> Option<&Stanza> {
        self.index.get(name).map(|&i| &self.stanzas[i])
    }

    /// Number of stanzas.
    pub fn len(&self) -> usize {
        self.stanzas.len()
    }

    /// Whether there is no stanza.
    pub fn is_empty(&self) -> bool {
        self.stanzas.is_empty()
    }

    /// Puts `over` on top of this configuration: its stanzas are added, and in a stanza both
    /// have, its settings replace those with the same key. New stanzas and keys go after the
    /// existing ones.
    pub fn layer(&mut self, over: Conf) {
        for stanza in over.stanzas {
            let target = self.stanza_mut(&stanza.name, stanza.origin.clone());
            for setting in stanza.settings {
                target.set(setting);
            }
        }
    }

    /// The stanza with this name, created (with its header at `origin`) if absent.
    fn stanza_mut(&mut self, name: &str, origin: Origin) -> &mut Stanza {
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.index.insert(name.to_owned(), self.stanzas.len());
                self.stanzas.push(Stanza::new(name, origin));
                self.stanzas.len() - 1
            }
        };
        &mut self.stanzas[i]
    }
}

/// Why a configuration file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file's path.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{file}: not UTF-8 text (first invalid byte at offset {offset})")]
    NotUtf8 {
        /// The file's path.
        file: String,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A line starts with `[` but has no closing `]`.
    #[error("{file}:{line}: stanza header without a closing `]`: {excerpt:?}")]
    UnclosedHeader {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
        /// The start of the line.
        excerpt: String,
    },
    /// A stanza header with nothing between its brackets.
    #[error("{file}:{line}: empty stanza name `[]`")]
    EmptyStanzaName {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
    },
    /// A line that is neither a comment, a header nor a `key = value` setting.
    #[error(
        "{file}:{line}: expected `key = value`, `[stanza]` or a `#` comment, found {excerpt:?}"
    )]
    NotASetting {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
        /// The start of the line.
        excerpt: String,
    },
    /// A setting with nothing before its `=`.
    #[error("{file}:{line}: a setting needs a name before `=`")]
    EmptyKey {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
    },
}

/// The start of a line, for error messages, cut at a character boundary.
fn excerpt(line: &str) -> String {
    match line.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_owned(),
    }
}

/// One pass over the text.
struct Parser {
    file: Arc<str>,
    conf: Conf,
    current: Option<usize>,
}

impl Parser {
    fn new(file: &str) -> Parser {
        Parser {
            file: Arc::from(file),
            conf: Conf::new(),
            current: None,
        }
    }

    fn run(mut self, text: &str) -> Result<Conf, ConfError> {
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l));
        while let Some((number, line)) = lines.next() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if trimmed.starts_with('[') {
                self.header(number, trimmed)?;
                continue;
            }
            let Some(eq) = line.find('=') else {
                return Err(ConfError::NotASetting {
                    file: self.file.to_string(),
                    line: number,
                    excerpt: excerpt(line),
                });
            };
            let key = line[..eq].trim();
            if key.is_empty() {
                return Err(ConfError::EmptyKey {
                    file: self.file.to_string(),
                    line: number,
                });
            }
            let mut value = line[eq + 1..].trim_start().to_owned();
            while value.ends_with('\\') {
                value.pop();
                value.push('\n');
                match lines.next() {
                    Some((_, next)) => value.push_str(next),
                    None => break,
                }
            }
            let value = value.trim_end().to_owned();
            let origin = Origin {
                file: self.file.clone(),
                line: number,
            };
            self.stanza().set(Setting {
                key: key.to_owned(),
                value,
                origin,
            });
        }
        Ok(self.conf)
    }

    fn header(&mut self, number: usize, trimmed: &str) -> Result<(), ConfError> {
        let Some(close) = trimmed.rfind(']') else {
            return Err(ConfError::UnclosedHeader {
                file: self.file.to_string(),
                line: number,
                excerpt: excerpt(trimmed),
            });
        };
        let name = &trimmed[1..close];
        if name.is_empty() {
            return Err(ConfError::EmptyStanzaName {
                file: self.file.to_string(),
                line: number,
            });
        }
        let origin = Origin {
            file: self.file.clone(),
            line: number,
        };
        self.conf.stanza_mut(name, origin);
        self.current = self.conf.index.get(name).copied();
        Ok(())
    }

    /// The stanza settings go to: the last header's, or `default` before any header.
    fn stanza(&mut self) -> &mut Stanza {
        let i = match self.current {
            Some(i) => i,
            None => {
                let origin = Origin {
                    file: self.file.clone(),
                    line: 1,
                };
                self.conf.stanza_mut(DEFAULT_STANZA, origin);
                let i = self.conf.index[DEFAULT_STANZA];
                self.current = Some(i);
                i
            }
        };
        &mut self.conf.stanzas[i]
    }
}

#[cfg(test)]
mod tests;
