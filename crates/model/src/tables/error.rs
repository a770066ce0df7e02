//! Why a table could not be loaded: always with the file, and the stanza, key and line where
//! there is one.

use crate::conf::{ConfError, Origin};

/// An error in a table, naming where it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The `.conf` text itself is malformed.
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// A setting's value does not have the form its key requires.
    #[error("{origin}: [{stanza}] {key}: {problem}")]
    Setting {
        /// Where the setting was written.
        origin: Origin,
        /// The stanza it belongs to.
        stanza: String,
        /// Its key.
        key: String,
        /// What is wrong.
        problem: Problem,
    },
    /// A stanza is malformed as a whole (a missing key, a bad name).
    #[error("{origin}: [{stanza}]: {problem}")]
    Stanza {
        /// Where the stanza header was written.
        origin: Origin,
        /// The stanza.
        stanza: String,
        /// What is wrong.
        problem: Problem,
    },
    /// A lookup CSV file is malformed.
    #[error("{file}{}: {problem}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Lookup {
        /// The file.
        file: String,
        /// The 1-based line, when the problem is in one record.
        line: Option<u64>,
        /// What is wrong.
        problem: Problem,
    },
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A profile or overlay name that the profile catalogue does not define.
    #[error("{file}: no [{kind}:{name}] stanza")]
    UnknownProfile {
        /// The catalogue file.
        file: String,
        /// `profile` or `overlay`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
}

/// What is wrong with a setting, a stanza or a lookup file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A `FIELDALIAS-` value that is not `<field> AS|ASNEW <field>` pairs.
    #[error("expected `<field> AS <field>` or `<field> ASNEW <field>` pairs, found {0:?}")]
    BadAlias(String),
    /// A `LOOKUP-` value that does not follow the automatic-lookup syntax.
    #[error(
        "expected `<lookup> <field> [AS <field>]... [OUTPUT|OUTPUTNEW <field> [AS <field>]...]`: {0}"
    )]
    BadLookup(String),
    /// A `FORMAT` item without `::`.
    #[error("FORMAT item {0:?} is not `<name>::<value>`")]
    BadFormat(String),
    /// A value that should be a boolean.
    #[error("not a boolean: {0:?} (expected true/false, 1/0, t/f, yes/no)")]
    NotBoolean(String),
    /// A value that should be a non-negative integer.
    #[error("not a non-negative integer: {0:?}")]
    NotNumber(String),
    /// An unknown `KV_MODE`.
    #[error("unknown KV_MODE {0:?} (expected none, auto, auto_escaped, multi, json or xml)")]
    UnknownKvMode(String),
    /// An unknown `match_type` entry.
    #[error("expected `WILDCARD(<field>)`, `CIDR(<field>)` or `EXACT(<field>)`, found {0:?}")]
    BadMatchType(String),
    /// A tag that is neither enabled nor disabled.
    #[error("a tag is `enabled` or `disabled`, found {0:?}")]
    BadTagState(String),
    /// A tags stanza name that is not `<field>=<value>`.
    #[error("a tags stanza is named `<field>=<value>`")]
    BadTagStanza,
    /// A percent escape that does not decode to UTF-8 text.
    #[error("percent-encoded value {0:?} does not decode to UTF-8 text")]
    BadPercentEncoding(String),
    /// A data-model field type cimhunt does not know.
    #[error("unknown field type {0:?} (expected string, number, boolean, ipv4 or timestamp)")]
    UnknownFieldType(String),
    /// A data-model field flag cimhunt does not know.
    #[error("unknown field flag {0:?} (expected multivalue, required, hidden or column=<name>)")]
    UnknownFieldFlag(String),
    /// A data-model calculation type cimhunt does not know.
    #[error("unknown calculation type {0:?} (expected Eval, Lookup, Rex or GeoIP)")]
    UnknownCalculationType(String),
    /// A required key is missing.
    #[error("missing `{0}`")]
    MissingKey(String),
    /// A key this kind of stanza does not have.
    #[error("unexpected key (this stanza kind has no such setting)")]
    UnexpectedKey,
    /// Two numbered entries with the same number.
    #[error("{what} number {number} appears twice")]
    DuplicateNumber {
        /// `field`, `calc` or `output`.
        what: &'static str,
        /// The number.
        number: u32,
    },
    /// A profiles.conf stanza that is neither `[profile:<name>]` nor `[overlay:<name>]`.
    #[error("a catalogue stanza is named `profile:<name>` or `overlay:<name>`")]
    BadCatalogueStanza,
    /// A datamodels.conf stanza name without a model part.
    #[error("a dataset stanza is named `<Model>.<Dataset>`")]
    BadDatasetName,
    /// A dataset whose parent dataset is not defined.
    #[error("parent dataset {0:?} is not defined")]
    UnknownParent(String),
    /// A reference to something no table defines.
    #[error("refers to {kind} {name:?}, which no table defines")]
    Undefined {
        /// What kind of thing: `transform`, `lookup`, `event type`, `lookup file`, …
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A lookup refers to a column its file does not have.
    #[error("lookup file {file:?} has no column {column:?}")]
    MissingColumn {
        /// The lookup file.
        file: String,
        /// The column.
        column: String,
    },
    /// A field declared twice in one dataset (fields and calculation outputs together).
    #[error("field {0:?} is declared twice")]
    DuplicateField(String),
    /// A Rex calculation whose regular expression has no named group for an output.
    #[error("the expression has no named group (?<{0}>…)")]
    MissingNamedGroup(String),
    /// A CSV syntax error.
    #[error("CSV: {0}")]
    Csv(String),
    /// A CSV record whose length differs from the header's.
    #[error("record has {found} fields, the header has {expected}")]
    RaggedRecord {
        /// Fields in the header.
        expected: usize,
        /// Fields in the record.
        found: usize,
    },
}
