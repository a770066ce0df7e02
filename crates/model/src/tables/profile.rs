//! Profiles: which add-on and CIM versions cimhunt presents events as. A profile is an ordered
//! list of table directories (layers); loading one reads each layer's `.conf` files and
//! lookups, puts each layer on top of the ones before it (`Conf::layer`: a later setting
//! replaces an earlier one with the same stanza and key; a later lookup file replaces one of
//! the same name), then types the result.
//!
//! The catalogue `profiles.conf` names profiles (`[profile:<name>]`) and overlays
//! (`[overlay:<name>]`, small changes applied after a profile's layers). The embedded
//! catalogue's default profile is `escu`: what contentctl installs for ESCU's tests.
//!
//! A layer directory holds any of `props.conf`, `transforms.conf`, `eventtypes.conf`,
//! `tags.conf`, `datamodels.conf`, `macros.conf` and `lookups/*.csv`. An unpacked add-on
//! (its `.conf` files in `default/`, its lookups in `lookups/`) is accepted as a layer too, so
//! users with other add-on versions can list their own copies; its data models, which are
//! JSON, are not read.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::conf::{Conf, Origin};

use super::datamodel::{CalcKind, DataModels};
use super::embedded::FILES;
use super::error::{Problem, TableError};
use super::eventtypes::EventTypes;
use super::lookup::LookupTable;
use super::macros::Macros;
use super::props::Props;
use super::tags::Tags;
use super::text::{At, comma_list};
use super::transforms::{LookupSource, Transforms};

/// The catalogue file, at the root of a tables directory.
pub const CATALOGUE: &str = "profiles.conf";

/// The profile [`Profile::escu`] loads.
pub const DEFAULT_PROFILE: &str = "escu";

/// The `.conf` files a layer may hold, in the order they are read.
const CONF_KINDS: [&str; 6] = [
    "props",
    "transforms",
    "eventtypes",
    "tags",
    "datamodels",
    "macros",
];

/// A profile or overlay entry of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// Its name (after `profile:` or `overlay:`).
    pub name: String,
    /// `description`.
    pub description: String,
    /// `layers`: directories relative to the catalogue, in order.
    pub layers: Vec<String>,
    /// Where the stanza header was written.
    pub origin: Origin,
}

/// The profiles and overlays a `profiles.conf` defines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    file: String,
    profiles: Vec<CatalogueEntry>,
    overlays: Vec<CatalogueEntry>,
}

impl Catalogue {
    /// Types a catalogue; `file` names it in errors.
    pub fn from_conf(file: &str, conf: &Conf) -> Result<Catalogue, TableError> {
        let mut out = Catalogue {
            file: file.to_owned(),
            ..Catalogue::default()
        };
        for stanza in conf.stanzas() {
            let at = At(stanza);
            let (list, name) = if let Some(n) = stanza.name().strip_prefix("profile:") {
                (&mut out.profiles, n)
            } else if let Some(n) = stanza.name().strip_prefix("overlay:") {
                (&mut out.overlays, n)
            } else {
                return Err(at.stanza(Problem::BadCatalogueStanza));
            };
            list.push(CatalogueEntry {
                name: name.to_owned(),
                description: stanza.value("description").unwrap_or("").to_owned(),
                layers: comma_list(at.required("layers")?),
                origin: stanza.origin().clone(),
            });
        }
        Ok(out)
    }

    /// The catalogue compiled into cimhunt.
    pub fn embedded() -> Result<Catalogue, TableError> {
        let text = Source::Embedded
            .read(CATALOGUE)?
            .ok_or_else(|| TableError::Read {
                path: format!("tables/{CATALOGUE}"),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
        Catalogue::from_conf(&text.0, &Conf::parse(&text.0, &text.1)?)
    }

    /// The profiles, in file order.
    pub fn profiles(&self) -> &[CatalogueEntry] {
        &self.profiles
    }

    /// The overlays, in file order.
    pub fn overlays(&self) -> &[CatalogueEntry] {
        &self.overlays
    }

    /// The layers of a profile followed by those of each overlay, in the order given.
    pub fn layers(&self, profile: &str, overlays: &[&str]) -> Result<Vec<String>, TableError> {
        let find = |list: &[CatalogueEntry], kind, name: &str| {
            list.iter()
                .find(|e| e.name == name)
                .map(|e| e.layers.clone())
                .ok_or_else(|| TableError::UnknownProfile {
                    file: self.file.clone(),
                    kind,
                    name: name.to_owned(),
                })
        };
        let mut layers = find(&self.profiles, "profile", profile)?;
        for overlay in overlays {
            layers.extend(find(&self.overlays, "overlay", overlay)?);
        }
        Ok(layers)
    }
}

/// Where table files are read from.
#[derive(Debug, Clone)]
enum Source {
    /// The files compiled into the binary; named `tables/<path>` in errors.
    Embedded,
    /// A directory on disk.
    Directory(PathBuf),
}

impl Source {
    /// The file at `path` (relative, `/`-separated): its display name and text; `None` if
    /// there is none.
    fn read(&self, path: &str) -> Result<Option<(String, Cow<'static, str>)>, TableError> {
        match self {
            Source::Embedded => Ok(FILES
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(p, text)| (format!("tables/{p}"), Cow::Borrowed(*text)))),
            Source::Directory(root) => {
                let full = root.join(path);
                if !full.is_file() {
                    return Ok(None);
                }
                let name = full.display().to_string();
                let text = std::fs::read_to_string(&full).map_err(|source| TableError::Read {
                    path: name.clone(),
                    source,
                })?;
                Ok(Some((name, Cow::Owned(text))))
            }
        }
    }

    /// The paths of the `.csv` files directly in `dir`, sorted.
    fn csv_files(&self, dir: &str) -> Result<Vec<String>, TableError> {
        let prefix = format!("{dir}/");
        let mut out: Vec<String> = match self {
            Source::Embedded => FILES
                .iter()
                .map(|(p, _)| *p)
                .filter(|p| {
                    p.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".csv"))
                })
                .map(str::to_owned)
                .collect(),
            Source::Directory(root) => {
                let full = root.join(dir);
                if !full.is_dir() {
                    return Ok(Vec::new());
                }
                let read_error = |source| TableError::Read {
                    path: full.display().to_string(),
                    source,
                };
                let mut names = Vec::new();
                for entry in std::fs::read_dir(&full).map_err(read_error)? {
                    let entry = entry.map_err(read_error)?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.ends_with(".csv") && entry.path().is_file() {
                        names.push(format!("{prefix}{name}"));
                    }
                }
                names
            }
        };
        out.sort();
        Ok(out)
    }

    fn is_dir(&self, path: &str) -> bool {
        match self {
            Source::Embedded => {
                let prefix = format!("{path}/");
                FILES.iter().any(|(p, _)| p.starts_with(&prefix))
            }
            Source::Directory(root) => root.join(path).is_dir(),
        }
    }
}

/// A loaded profile: every table, typed, after layering.
#[derive(Debug, Clone)]
pub struct Profile {
    name: String,
    layers: Vec<String>,
    props: Props,
    transforms: Transforms,
    eventtypes: EventTypes,
    tags: Tags,
    datamodels: DataModels,
    macros: Macros,
    lookup_files: BTreeMap<String, LookupTable>,
    /// Whether the tables are the ones compiled into cimhunt (whose patterns a test compiles).
    embedded: bool,
}

impl Profile {
    /// The default profile, from the tables compiled into cimhunt: Windows add-on 8.8.0,
    /// Sysmon add-on 4.0.0, CIM 5.2.0 and the CrowdStrike FDR mapping.
    pub fn escu() -> Result<Profile, TableError> {
        Profile::embedded(DEFAULT_PROFILE, &[])
    }

    /// A profile of the embedded catalogue, with overlays applied in the order given.
    pub fn embedded(profile: &str, overlays: &[&str]) -> Result<Profile, TableError> {
        let layers = Catalogue::embedded()?.layers(profile, overlays)?;
        let mut loaded = Profile::load(Source::Embedded, profile, layers)?;
        loaded.embedded = true;
        Ok(loaded)
    }

    /// Whether the tables are the ones compiled into cimhunt, not read from a directory.
    pub fn is_embedded(&self) -> bool {
        self.embedded
    }

    /// A profile of the catalogue `profiles.conf` in `root`, whose layers are relative to it.
    pub fn from_dir(root: &Path, profile: &str, overlays: &[&str]) -> Result<Profile, TableError> {
        let source = Source::Directory(root.to_owned());
        let (file, text) = source.read(CATALOGUE)?.ok_or_else(|| TableError::Read {
            path: root.join(CATALOGUE).display().to_string(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        let layers =
            Catalogue::from_conf(&file, &Conf::parse(&file, &text)?)?.layers(profile, overlays)?;
        Profile::load(source, profile, layers)
    }

    /// A profile made of the given layer directories, in order (table directories or unpacked
    /// add-ons); `name` is only a label.
    pub fn from_layers(name: &str, layers: &[PathBuf]) -> Result<Profile, TableError> {
        let mut confs = Layered::default();
        for dir in layers {
            let source = Source::Directory(dir.clone());
            if !dir.is_dir() {
                return Err(TableError::Read {
                    path: dir.display().to_string(),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
            confs.add(&source, "")?;
        }
        let labels = layers.iter().map(|p| p.display().to_string()).collect();
        confs.finish(name, labels)
    }

    fn load(source: Source, name: &str, layers: Vec<String>) -> Result<Profile, TableError> {
        let mut confs = Layered::default();
        for layer in &layers {
            if !source.is_dir(layer) {
                return Err(TableError::Read {
                    path: layer.clone(),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
            confs.add(&source, layer)?;
        }
        confs.finish(name, layers)
    }

    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The layers it was built from, in order.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    /// props.conf stanzas.
    pub fn props(&self) -> &Props {
        &self.props
    }

    /// transforms.conf stanzas.
    pub fn transforms(&self) -> &Transforms {
        &self.transforms
    }

    /// Event types.
    pub fn eventtypes(&self) -> &EventTypes {
        &self.eventtypes
    }

    /// Tags.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// Data-model datasets.
    pub fn datamodels(&self) -> &DataModels {
        &self.datamodels
    }

    /// Search macros.
    pub fn macros(&self) -> &Macros {
        &self.macros
    }

    /// A lookup file by its file name.
    pub fn lookup_file(&self, filename: &str) -> Option<&LookupTable> {
        self.lookup_files.get(filename)
    }

    /// Every lookup file, by file name.
    pub fn lookup_files(&self) -> impl Iterator<Item = (&str, &LookupTable)> {
        self.lookup_files.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The table of a lookup definition (`windows_action_lookup`), if it is file-based and its
    /// file is loaded or supplied.
    pub fn lookup_table(&self, definition: &str) -> Option<&LookupTable> {
        let filename = self.transforms.lookup(definition)?.filename()?;
        self.lookup_files.get(filename)
    }

    /// Provides the file of a lookup the user supplies at run time (such as
    /// `crowdstrike_aidmaster`), replacing any earlier one. Errors if the definition is not
    /// a file-based lookup of this profile.
    pub fn supply_lookup(
        &mut self,
        definition: &str,
        table: LookupTable,
    ) -> Result<(), TableError> {
        let filename = self
            .transforms
            .lookup(definition)
            .and_then(|l| l.filename())
            .ok_or_else(|| TableError::Lookup {
                file: table.file().to_owned(),
                line: None,
                problem: Problem::Undefined {
                    kind: "file-based lookup definition",
                    name: definition.to_owned(),
                },
            })?;
        self.lookup_files.insert(filename.to_owned(), table);
        Ok(())
    }

    /// Every reference that does not resolve: transforms, lookups, lookup files and columns,
    /// event types, parent datasets' lookups and macros, and datasets that declare a field
    /// twice or a Rex output without a named group. Loading does not fail on these (Splunk
    /// skips what it cannot resolve); the embedded profile has none. Lookups the user supplies
    /// at run time are reported only when supplied with missing columns.
    pub fn check(&self) -> Vec<TableError> {
        let mut problems = Vec::new();
        self.check_props(&mut problems);
        self.check_eventtypes(&mut problems);
        self.check_datamodels(&mut problems);
        problems
    }

    fn check_props(&self, problems: &mut Vec<TableError>) {
        for stanza in self.props.stanzas() {
            let err = |key: String, origin: &Origin, problem| TableError::Setting {
                origin: origin.clone(),
                stanza: stanza.name().to_owned(),
                key,
                problem,
            };
            let lists = stanza
                .reports()
                .iter()
                .map(|r| ("REPORT-", r))
                .chain(stanza.index_transforms().iter().map(|r| ("TRANSFORMS-", r)));
            for (prefix, list) in lists {
                for name in &list.transforms {
                    if self.transforms.extraction(name).is_none() {
                        let problem = Problem::Undefined {
                            kind: "transform",
                            name: name.clone(),
                        };
                        problems.push(err(
                            format!("{prefix}{}", list.class),
                            &list.origin,
                            problem,
                        ));
                    }
                }
            }
            for lookup in stanza.lookups() {
                let key = format!("LOOKUP-{}", lookup.class);
                let mut columns: Vec<&str> = lookup
                    .inputs
                    .iter()
                    .map(|m| m.lookup_field.as_str())
                    .collect();
                if let Some((_, outputs)) = &lookup.output {
                    columns.extend(outputs.iter().map(|m| m.lookup_field.as_str()));
                }
                if let Err(problem) = self.check_lookup(&lookup.lookup, &columns) {
                    problems.push(err(key, &lookup.origin, problem));
                }
            }
        }
    }

    /// Whether a lookup definition exists, has its file, and the file has these columns.
    fn check_lookup(&self, definition: &str, columns: &[&str]) -> Result<(), Problem> {
        let def = self
            .transforms
            .lookup(definition)
            .ok_or_else(|| Problem::Undefined {
                kind: "lookup",
                name: definition.to_owned(),
            })?;
        let LookupSource::File {
            filename,
            supplied_at_run_time,
        } = &def.source
        else {
            return Ok(());
        };
        let Some(table) = self.lookup_files.get(filename) else {
            if *supplied_at_run_time {
                return Ok(());
            }
            return Err(Problem::Undefined {
                kind: "lookup file",
                name: filename.clone(),
            });
        };
        for column in columns {
            if table.column(column).is_none() {
                return Err(Problem::MissingColumn {
                    file: filename.clone(),
                    column: (*column).to_owned(),
                });
            }
        }
        Ok(())
    }

    fn check_eventtypes(&self, problems: &mut Vec<TableError>) {
        for et in self.eventtypes.all() {
            for name in et.referenced_event_types() {
                if self.eventtypes.get(&name).is_none() {
                    problems.push(TableError::Setting {
                        origin: et.origin.clone(),
                        stanza: et.name.clone(),
                        key: "search".to_owned(),
                        problem: Problem::Undefined {
                            kind: "event type",
                            name,
                        },
                    });
                }
            }
        }
        for tags in self.tags.all() {
            if tags.field == "eventtype" && self.eventtypes.get(&tags.value).is_none() {
                problems.push(TableError::Stanza {
                    origin: tags.origin.clone(),
                    stanza: format!("eventtype={}", tags.value),
                    problem: Problem::Undefined {
                        kind: "event type",
                        name: tags.value.clone(),
                    },
                });
            }
        }
    }

    fn check_datamodels(&self, problems: &mut Vec<TableError>) {
        for d in self.datamodels.all() {
            let err = |problem| TableError::Stanza {
                origin: d.origin().clone(),
                stanza: d.name().to_owned(),
                problem,
            };
            let mut seen: Vec<&str> = self
                .datamodels
                .lineage(d.name())
                .iter()
                .filter(|a| a.name() != d.name())
                .flat_map(|a| a.own_fields().map(|f| f.name.as_str()))
                .collect();
            for f in d.own_fields() {
                if seen.contains(&f.name.as_str()) {
                    problems.push(err(Problem::DuplicateField(f.name.clone())));
                }
                seen.push(&f.name);
            }
            for calc in d.calculations() {
                match &calc.kind {
                    CalcKind::Lookup { lookup, inputs } => {
                        let columns: Vec<&str> = inputs
                            .iter()
                            .map(|(c, _)| c.as_str())
                            .chain(
                                calc.outputs
                                    .iter()
                                    .map(|o| o.column.as_deref().unwrap_or(&o.name)),
                            )
                            .collect();
                        if let Err(problem) = self.check_lookup(lookup, &columns) {
                            problems.push(err(problem));
                        }
                    }
                    CalcKind::Rex { expression, .. } => {
                        for out in &calc.outputs {
                            if !expression.contains(&format!("(?<{}>", out.name))
                                && !expression.contains(&format!("(?P<{}>", out.name))
                            {
                                problems.push(err(Problem::MissingNamedGroup(out.name.clone())));
                            }
                        }
                    }
                    _ => {}
                }
            }
            for search in [d.base_search(), d.constraint()].into_iter().flatten() {
                for name in macro_names(search) {
                    if self.macros.get(name, 0).is_none() {
                        problems.push(err(Problem::Undefined {
                            kind: "macro",
                            name: name.to_owned(),
                        }));
                    }
                }
            }
        }
    }
}

/// The argument-less macros a search uses: `` `name` ``.
fn macro_names(search: &str) -> impl Iterator<Item = &str> {
    search
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.contains('(') && !n.is_empty())
}

/// The configurations of the layers read so far.
#[derive(Debug, Default)]
struct Layered {
    confs: BTreeMap<&'static str, Conf>,
    lookups: BTreeMap<String, LookupTable>,
}

impl Layered {
    /// Reads one layer: `<layer>/<kind>.conf`, or `<layer>/default/<kind>.conf` for an
    /// unpacked add-on, and `<layer>/lookups/*.csv`.
    fn add(&mut self, source: &Source, layer: &str) -> Result<(), TableError> {
        let join = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_owned()
            } else {
                format!("{a}/{b}")
            }
        };
        let conf_dir = if source.is_dir(&join(layer, "default")) {
            join(layer, "default")
        } else {
            layer.to_owned()
        };
        for kind in CONF_KINDS {
            if let Some((file, text)) = source.read(&join(&conf_dir, &format!("{kind}.conf")))? {
                let conf = Conf::parse(&file, text.strip_prefix('\u{feff}').unwrap_or(&text))?;
                self.confs.entry(kind).or_default().layer(conf);
            }
        }
        for path in source.csv_files(&join(layer, "lookups"))? {
            if let Some((file, text)) = source.read(&path)? {
                let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
                self.lookups.insert(name, LookupTable::parse(&file, &text)?);
            }
        }
        Ok(())
    }

    fn finish(mut self, name: &str, layers: Vec<String>) -> Result<Profile, TableError> {
        let mut take = |kind| self.confs.remove(kind).unwrap_or_default();
        Ok(Profile {
            name: name.to_owned(),
            layers,
            props: Props::from_conf(&take("props"))?,
            transforms: Transforms::from_conf(&take("transforms"))?,
            eventtypes: EventTypes::from_conf(&take("eventtypes"))?,
            tags: Tags::from_conf(&take("tags"))?,
            datamodels: DataModels::from_conf(&take("datamodels"))?,
            macros: Macros::from_conf(&take("macros"))?,
            lookup_files: self.lookups,
            embedded: false,
        })
    }
}
