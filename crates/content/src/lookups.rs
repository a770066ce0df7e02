//! Loading lookup tables: ESCU's `lookups/*.yml` definitions with their `.csv` files, and a
//! user's directory of tables that replaces them (`--lookups DIR`).
//!
//! An ESCU lookup definition is the YAML form of a `transforms.conf` stanza (contentctl writes
//! one from the other): `name`, `filename` (a CSV next to it) or `collection` (a KV store
//! collection, with `fields_list`), and the matching settings `case_sensitive_match` (default
//! true), `match_type` (`WILDCARD(col)`, `CIDR(col)`, comma-separated), `min_matches` (default
//! 0), `max_matches` (default 100, as for a lookup without `time_field`) and `default_match`
//! (Splunk `transforms.conf.spec`, lookup settings).
//!
//! - A KV store collection has no data in a content checkout: it is an empty table with its
//!   `fields_list` columns (what a fresh Splunk install has until a baseline search fills it)
//!   [inferred], unless a user's directory supplies `<name>.csv`.
//! - A definition whose file is not a CSV (MLTK models, `.mlmodel`) is not a table and is left
//!   out.
//! - Every CSV of the directory is also a table by its file name (`inputlookup x.csv`), with
//!   default settings when no definition names it.
//! - A user's directory is loaded on top: its definitions replace ESCU's of the same name; a
//!   CSV named like an ESCU definition's file, or `<definition name>.csv`, replaces that
//!   definition's rows and keeps its settings.
//! - The first line of a CSV is its header; every row is padded or cut to the header's length
//!   [inferred]; a CSV larger than [`MAX_LOOKUP_BYTES`] is an error naming the file.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use cimhunt_spl::Lookups;
use cimhunt_spl::lookup::{Cells, ColumnMatch, LookupTable};
use serde::Deserialize;

use crate::de;
use crate::error::ContentError;
use crate::load::{has_yaml_extension, read_text, yaml_options};

/// The largest lookup file read, in bytes.
pub const MAX_LOOKUP_BYTES: u64 = 256 * 1024 * 1024;

/// An ESCU lookup definition (`lookups/*.yml`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LookupDef {
    /// The definition's name, what `lookup <name>` uses.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// The CSV file, next to the definition.
    #[serde(deserialize_with = "de::opt_string")]
    pub filename: Option<String>,
    /// A KV store collection instead of a file.
    #[serde(deserialize_with = "de::opt_string")]
    pub collection: Option<String>,
    /// A collection's fields, comma-separated.
    #[serde(deserialize_with = "de::opt_string")]
    pub fields_list: Option<String>,
    /// `WILDCARD(col)`, `CIDR(col)`, comma-separated.
    #[serde(deserialize_with = "de::opt_string")]
    pub match_type: Option<String>,
    /// `true`/`false` (text or boolean).
    #[serde(deserialize_with = "de::opt_string")]
    pub case_sensitive_match: Option<String>,
    /// `min_matches`.
    #[serde(deserialize_with = "de::opt_u32")]
    pub min_matches: Option<u32>,
    /// `max_matches`.
    #[serde(deserialize_with = "de::opt_u32")]
    pub max_matches: Option<u32>,
    /// `default_match`.
    #[serde(deserialize_with = "de::opt_string")]
    pub default_match: Option<String>,
}

impl LookupDef {
    /// The columns and how each is compared, from `match_type`.
    pub fn match_types(&self) -> Vec<(String, ColumnMatch)> {
        let Some(text) = &self.match_type else {
            return Vec::new();
        };
        text.split(',')
            .filter_map(|item| {
                let item = item.trim();
                let (kind, rest) = item.split_once('(')?;
                let col = rest.strip_suffix(')')?.trim().to_owned();
                let how = match kind.trim().to_ascii_uppercase().as_str() {
                    "WILDCARD" => ColumnMatch::Wildcard,
                    "CIDR" => ColumnMatch::Cidr,
                    "EXACT" => ColumnMatch::Exact,
                    _ => return None,
                };
                Some((col, how))
            })
            .collect()
    }

    /// `case_sensitive_match` (true unless it says false).
    pub fn case_sensitive(&self) -> bool {
        !self.case_sensitive_match.as_deref().is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "f" | "no"
            )
        })
    }

    /// The table with these settings over `columns` and `cells`.
    pub fn table(&self, columns: Vec<String>, cells: Cells) -> LookupTable {
        let mut t = LookupTable::from_cells(self.name.clone(), columns, cells)
            .with_case_sensitive(self.case_sensitive())
            .with_matches(
                self.min_matches.unwrap_or(0) as usize,
                self.max_matches.unwrap_or(100) as usize,
                self.default_match.clone(),
            );
        for (col, how) in self.match_types() {
            t = t.with_match(&col, how);
        }
        t
    }
}

/// Reads a CSV lookup file: its header and rows.
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Cells), ContentError> {
    let meta = fs::metadata(path).map_err(|e| ContentError::io(path, e))?;
    if meta.len() > MAX_LOOKUP_BYTES {
        return Err(ContentError::Lookup {
            path: path.to_path_buf(),
            message: format!(
                "{} bytes, more than the {MAX_LOOKUP_BYTES} a lookup file may have",
                meta.len()
            ),
        });
    }
    let bytes = fs::read(path).map_err(|e| ContentError::io(path, e))?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let bad = |e: csv::Error| ContentError::Lookup {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(bad)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(ContentError::Lookup {
            path: path.to_path_buf(),
            message: "no header line".to_owned(),
        });
    }
    let mut cells = Cells::new(header.len());
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(bad)? {
        cells.push_row(record.iter());
    }
    Ok((header, cells))
}

/// What loading a lookup directory produced.
#[derive(Debug, Default)]
pub struct LoadedLookups {
    /// The definitions, by name.
    pub defs: BTreeMap<String, LookupDef>,
    /// Files that could not be read (the other tables still load).
    pub failures: Vec<ContentError>,
}

/// Reads the definitions of a directory (`*.yml`).
fn read_defs(dir: &Path, out: &mut LoadedLookups) -> Result<(), ContentError> {
    for path in sorted_files(dir)? {
        if !has_yaml_extension(&path) {
            continue;
        }
        let text = read_text(&path)?;
        match serde_saphyr::from_str_with_options::<LookupDef>(&text, yaml_options()) {
            Ok(def) if !def.name.trim().is_empty() => {
                out.defs.insert(def.name.clone(), def);
            }
            Ok(_) => out.failures.push(ContentError::Lookup {
                path,
                message: "a lookup definition needs a `name`".to_owned(),
            }),
            Err(e) => out.failures.push(ContentError::yaml(&path, &e)),
        }
    }
    Ok(())
}

fn sorted_files(dir: &Path) -> Result<Vec<PathBuf>, ContentError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| ContentError::io(dir, e))? {
        let entry = entry.map_err(|e| ContentError::io(dir, e))?;
        let path = entry.path();
        if path.is_file() && !entry.file_name().to_string_lossy().starts_with('.') {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Loads lookup tables: ESCU's directory (`content/lookups`), then a user's directory on top
/// (see the module documentation). A directory that cannot be read is an error; a definition
/// or file that cannot be read is recorded in the failures and left out.
pub fn load_lookups(
    content: Option<&Path>,
    user: Option<&Path>,
) -> Result<(Lookups, Vec<ContentError>), ContentError> {
    let mut loaded = LoadedLookups::default();
    // Definition name → the file its rows are read from.
    let mut sources: BTreeMap<String, PathBuf> = BTreeMap::new();
    // Every CSV by file name → its path.
    let mut csvs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in content.into_iter().chain(user) {
        if !dir.is_dir() {
            return Err(ContentError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "lookup directory not found"),
            ));
        }
        let mut here = LoadedLookups::default();
        read_defs(dir, &mut here)?;
        loaded.failures.append(&mut here.failures);
        for (name, def) in here.defs {
            match &def.filename {
                Some(f) => {
                    sources.insert(name.clone(), dir.join(f));
                }
                None => {
                    sources.remove(&name);
                }
            }
            loaded.defs.insert(name, def);
        }
        for path in sorted_files(dir)? {
            if !is_csv(&path) {
                continue;
            }
            let file = path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            if Some(dir) == user {
                // A user's CSV replaces the rows of the definition that names this file, or of
                // the definition named like it.
                let stem = file
                    .trim_end_matches(".csv")
                    .trim_end_matches(".CSV")
                    .to_owned();
                for (name, def) in &loaded.defs {
                    if def.filename.as_deref() == Some(file.as_str()) || *name == stem {
                        sources.insert(name.clone(), path.clone());
                    }
                }
            }
            csvs.insert(file, path);
        }
    }
    let mut lookups = Lookups::new();
    let mut named_files: Vec<String> = Vec::new();
    for (name, def) in &loaded.defs {
        let table = match (sources.get(name), &def.collection) {
            (Some(path), _) if is_csv(path) => match read_csv(path) {
                Ok((cols, rows)) => def.table(cols, rows),
                Err(e) => {
                    loaded.failures.push(e);
                    continue;
                }
            },
            // A file that is not a table (an MLTK model).
            (Some(_), _) => continue,
            (None, Some(_)) => {
                let cols: Vec<String> = def
                    .fields_list
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect();
                def.table(cols, Cells::new(0))
            }
            (None, None) => continue,
        };
        if let Some(f) = &def.filename {
            named_files.push(f.clone());
        }
        lookups.insert(name, def.filename.as_deref(), table);
    }
    for (file, path) in &csvs {
        if named_files.contains(file) || lookups.get(file).is_some() {
            continue;
        }
        match read_csv(path) {
            Ok((cols, rows)) => {
                lookups.insert(
                    file,
                    Some(file),
                    LookupTable::from_cells(file.clone(), cols, rows),
                );
            }
            Err(e) => loaded.failures.push(e),
        }
    }
    Ok((lookups, loaded.failures))
}
