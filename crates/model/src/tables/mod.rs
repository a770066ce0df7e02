//! The add-ons' and the CIM's configuration as typed tables: props stanzas, transforms,
//! lookup definitions and files, event types, tags, data-model datasets and macros, loaded
//! from the `.conf` files under `crates/model/tables/` (compiled in) or from a directory.
//!
//! Key design decision: the tables are Splunk's own configuration syntax, written from the
//! specification (what it quotes of the add-ons, and what it describes in words), and this
//! module only types them: it splits lists, reads `AS` pairs, FORMAT items and lookup
//! specifications, and orders classes as Splunk does, but it evaluates nothing. Expressions
//! (`EVAL-`, calculations) stay text for the `cimhunt-spl` crate; regexes stay text for the
//! interpreter. Adding a source stanza or a dataset is therefore a table edit plus tests.
//!
//! Entry points: [`Profile::escu`] (the default: what ESCU's test harness installs),
//! [`Profile::embedded`] (another profile or overlays of the compiled-in catalogue),
//! [`Profile::from_dir`] and [`Profile::from_layers`] (tables on disk), and
//! [`Profile::check`] (references that do not resolve). `tables/README.md` documents the
//! files, their sources and the `datamodels.conf` format.

mod datamodel;
mod embedded;
mod error;
mod eventtypes;
mod lookup;
mod macros;
mod profile;
mod props;
mod tags;
mod text;
mod transforms;

pub use datamodel::{
    CalcKind, Calculation, DataModels, Dataset, DatasetParent, FieldDecl, FieldType,
};
pub use error::{Problem, TableError};
pub use eventtypes::{EventType, EventTypes};
pub use lookup::LookupTable;
pub use macros::{Macro, Macros};
pub use profile::{CATALOGUE, Catalogue, CatalogueEntry, DEFAULT_PROFILE, Profile};
pub use props::{
    AliasMode, AliasPair, AutoLookup, Eval, Extract, FieldAlias, FieldMap, KvMode, OutputMode,
    Props, PropsMatch, PropsStanza, TimeSettings, TransformList,
};
pub use tags::{TagStanza, Tags};
pub use transforms::{
    Extraction, Format, FormatItem, LookupDef, LookupSource, MatchKind, Piece, Template, Transform,
    Transforms,
};

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod tests;
