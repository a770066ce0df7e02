//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading detections and macros. Every variant names the
/// file it is about, so a message can be shown to a user as it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// The file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid YAML, or a value has the wrong shape (a list where a string is
    /// expected, ...). `message` is serde-saphyr's rendering, with a source snippet.
    #[error("{}: {message}", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<u64>,
        /// 1-based column of the problem, when known.
        column: Option<u64>,
        /// The parser's message: `line L column C: what`, then a snippet of the source.
        message: String,
    },
    /// A well-formed YAML file that is not an ESCU detection: not a mapping, or without a
    /// `name` or `search`.
    #[error("{}: not a detection: {reason}", path.display())]
    NotADetection {
        /// The file.
        path: PathBuf,
        /// Why it is not one.
        reason: NotADetection,
    },
    /// A macro file with a problem on a given line (a `macros.conf` syntax error, an `args`
    /// list that does not match the stanza's arity, ...).
    #[error("{}:{line}: {message}", path.display())]
    Macro {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A macro definition that is wrong as a whole (for example a YAML macro named `m(2)`
    /// with one argument).
    #[error("{}: macro `{name}`: {message}", path.display())]
    InvalidMacro {
        /// The file.
        path: PathBuf,
        /// The macro's name as written.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A content file larger than any detection or macro file should be
    /// ([`crate::MAX_CONTENT_FILE`]): refused unread.
    #[error(
        "{}: {size} bytes, more than the {limit} a detection or macro file may have",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// A lookup definition or file that cannot be used as a table.
    #[error("{}: {message}", path.display())]
    Lookup {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A macro file whose format could not be recognised from its extension or content.
    #[error(
        "{}: unrecognised macro file format (expected a `.conf` file with [stanzas] or a YAML file)",
        path.display()
    )]
    UnknownMacroFormat {
        /// The file.
        path: PathBuf,
    },
}

/// Why a YAML document is not a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotADetection {
    /// The document is a list or a scalar.
    #[error("the document is not a mapping")]
    NotAMapping,
    /// A key every detection has is missing or empty.
    #[error("it has no `{0}` (a detection needs `name` and `search`)")]
    Missing(RequiredKey),
}

/// The keys a detection cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequiredKey {
    /// `name`.
    Name,
    /// `search`.
    Search,
}

impl std::fmt::Display for RequiredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RequiredKey::Name => "name",
            RequiredKey::Search => "search",
        })
    }
}

impl ContentError {
    /// The file or directory the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ContentError::Io { path, .. }
            | ContentError::Yaml { path, .. }
            | ContentError::NotADetection { path, .. }
            | ContentError::Macro { path, .. }
            | ContentError::InvalidMacro { path, .. }
            | ContentError::TooLarge { path, .. }
            | ContentError::Lookup { path, .. }
            | ContentError::UnknownMacroFormat { path } => path,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ContentError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a serde-saphyr error, rendering its snippet under the file's name.
    pub(crate) fn yaml(path: impl Into<PathBuf>, err: &serde_saphyr::Error) -> Self {
        let path = path.into();
        let name = path.display().to_string();
        let location = err.location();
        let rendered = err.render_with_options(serde_saphyr::render_options! {
            source_name: Some(name.as_str()),
        });
        let message = match rendered.strip_prefix("error: ") {
            Some(rest) => rest.to_owned(),
            None => rendered,
        };
        ContentError::Yaml {
            path,
            line: location.map(|l| l.line()),
            column: location.map(|l| l.column()),
            message,
        }
    }
}
