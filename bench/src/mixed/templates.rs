//! Real events as templates: the mixed corpus takes each event type's shape from the shared
//! EVTX corpus, read at generation time and never stored in the repository.
//!
//! A template is one real event: its `System` values that do not identify an occurrence
//! (provider name and GUID, `EventSourceName`, `Qualifiers`, version, level, task, opcode,
//! keywords, whether `Correlation` carries an `ActivityID`) and its `EventData` names and values
//! in order. The generator rewrites what identifies the occurrence and what the fleet varies
//! (hosts, users, ids, times, command lines, paths...) and keeps the rest. For the corpus's
//! event types that is every `Data` value the generator knows (the real events are attack
//! samples, whose values would make the background fire), so what they contribute is the schema
//! (which fields, in which order, which version) and the `System` block.
//!
//! Key decision: each event type uses the layout of the newest schema the corpus holds (the
//! layout with the most `Data` elements, then the highest version): a fleet runs one Sysmon and
//! one Windows version, and the newest carries every field detections read (Sysmon 1's
//! `OriginalFileName` and `ParentUser`, 10's `SourceUser`). Up to [`PER_KIND`] real events of that
//! layout are kept per type, in the corpus's order (files sorted by path), so the same corpus
//! always gives the same templates.
//!
//! Records are rendered by the evtx crate and read with `cimhunt-decode`'s XML decoder, so
//! values keep Windows' XML rendering; braced GUIDs, which evtx 0.15 writes in lower case, are
//! upper-cased as Windows writes them (as `cimhunt-decode` does for EVTX input).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use evtx::{EvtxParser, ParserSettings};

use super::kind::Kind;

/// The most templates kept per event type.
pub const PER_KIND: usize = 64;

/// Why templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The folder could not be listed.
    #[error("{path}: {source}")]
    Walk {
        path: PathBuf,
        source: std::io::Error,
    },
    /// No real event of a needed type was found.
    #[error("{dir}: no readable {kind} event to use as a template")]
    Missing { dir: PathBuf, kind: &'static str },
}

/// The `System` values of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    pub provider: String,
    /// As Windows renders it: upper case, except for classic providers (those with an
    /// `EventSourceName`), whose GUID Windows writes in lower case.
    pub guid: String,
    pub event_source: Option<String>,
    pub qualifiers: Option<String>,
    pub version: String,
    pub level: String,
    pub task: String,
    pub opcode: String,
    pub keywords: String,
    /// Whether `Correlation` has an `ActivityID`.
    pub activity: bool,
}

/// One real event used as a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub system: SystemInfo,
    /// `EventData` names and values, in order.
    pub fields: Vec<(String, String)>,
}

/// What reading the corpus met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub files: u64,
    /// Files the evtx crate could not open.
    pub unreadable_files: u64,
    pub records: u64,
    /// Records that could not be rendered or decoded.
    pub unreadable_records: u64,
    /// Records of the corpus that are of one of the corpus's event types.
    pub candidates: u64,
}

/// A kind's real events by layout (their `Data` names): highest version and templates.
type Layouts = BTreeMap<Vec<String>, (u32, Vec<Template>)>;

/// Templates for every event type.
#[derive(Debug, Clone)]
pub struct Templates {
    by_kind: Vec<Vec<Template>>,
    stats: LoadStats,
}

impl Templates {
    /// Reads every `.evtx` file under `dir` (recursively, in path order).
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let mut files = Vec::new();
        walk(dir, &mut files)?;
        let mut stats = LoadStats::default();
        // Per kind: layout (names) → (version, templates of that layout).
        let mut layouts: Vec<Layouts> = vec![BTreeMap::new(); Kind::ALL.len()];
        let settings = ParserSettings::new()
            .num_threads(1)
            .indent(false)
            .validate_checksums(false);
        for file in &files {
            stats.files += 1;
            let Ok(parser) = EvtxParser::from_path(file) else {
                stats.unreadable_files += 1;
                continue;
            };
            let mut parser = parser.with_configuration(settings.clone());
            for record in parser.records() {
                stats.records += 1;
                let Ok(record) = record else {
                    stats.unreadable_records += 1;
                    continue;
                };
                match template_of(&record.data) {
                    Err(()) => stats.unreadable_records += 1,
                    Ok(None) => {}
                    Ok(Some((kind, version, template))) => {
                        stats.candidates += 1;
                        let names = template.fields.iter().map(|(n, _)| n.clone()).collect();
                        let slot = layouts[kind as usize]
                            .entry(names)
                            .or_insert_with(|| (version, Vec::new()));
                        slot.0 = slot.0.max(version);
                        if slot.1.len() < PER_KIND {
                            slot.1.push(template);
                        }
                    }
                }
            }
        }
        let mut by_kind = Vec::with_capacity(Kind::ALL.len());
        for kind in Kind::ALL {
            let best = layouts[kind as usize]
                .iter()
                .max_by(|(a_names, (a_version, _)), (b_names, (b_version, _))| {
                    (a_names.len(), a_version)
                        .cmp(&(b_names.len(), b_version))
                        .then_with(|| b_names.cmp(a_names))
                })
                .map(|(_, (_, templates))| templates.clone());
            match best {
                Some(t) if !t.is_empty() => by_kind.push(t),
                _ => {
                    return Err(TemplateError::Missing {
                        dir: dir.to_path_buf(),
                        kind: kind.label(),
                    });
                }
            }
        }
        Ok(Templates { by_kind, stats })
    }

    /// The templates of one event type (never empty).
    pub fn of(&self, kind: Kind) -> &[Template] {
        &self.by_kind[kind as usize]
    }

    /// What loading met.
    pub fn stats(&self) -> LoadStats {
        self.stats
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), TemplateError> {
    let error = |source| TemplateError::Walk {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(error)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The kind, version and template of one rendered record; `Ok(None)` for records of other
/// types, `Err` for records that do not decode.
fn template_of(xml: &str) -> Result<Option<(Kind, u32, Template)>, ()> {
    let event = cimhunt_decode::decode_xml(xml.as_bytes()).map_err(|_| ())?;
    let (Some(channel), Some(id)) = (event.channel(), event.event_id_number()) else {
        return Ok(None);
    };
    let Some(kind) = Kind::of(channel, id) else {
        return Ok(None);
    };
    let system = xml.split("</System>").next().unwrap_or_default();
    let event_source = attribute(system, "Provider", "EventSourceName").map(str::to_owned);
    let guid = attribute(system, "Provider", "Guid").unwrap_or_default();
    let guid = if event_source.is_some() {
        guid.to_ascii_lowercase()
    } else {
        guid.to_ascii_uppercase()
    };
    let text = |name| element_text(system, name).unwrap_or_default().to_owned();
    let version = text("Version");
    let info = SystemInfo {
        provider: event.provider().unwrap_or_default().to_owned(),
        guid,
        event_source,
        qualifiers: attribute(system, "EventID", "Qualifiers").map(str::to_owned),
        level: text("Level"),
        task: text("Task"),
        opcode: text("Opcode"),
        keywords: text("Keywords"),
        activity: attribute(system, "Correlation", "ActivityID").is_some(),
        version: version.clone(),
    };
    let fields = event
        .data
        .iter()
        .map(|(n, v)| (n.to_string(), upper_guid(v)))
        .collect();
    let version = version.parse().unwrap_or(0);
    Ok(Some((
        kind,
        version,
        Template {
            system: info,
            fields,
        },
    )))
}

/// The text of the first `<name …>text<` element.
fn element_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = find_element(xml, name)?;
    let rest = &xml[start..];
    let open_end = rest.find('>')?;
    if rest[..open_end].ends_with('/') {
        return Some("");
    }
    let text = &rest[open_end + 1..];
    Some(&text[..text.find('<')?])
}

/// The value of `attr` on the first `<name …>` element.
fn attribute<'a>(xml: &'a str, name: &str, attr: &str) -> Option<&'a str> {
    let start = find_element(xml, name)?;
    let rest = &xml[start..];
    let tag = &rest[..rest.find('>')?];
    for quote in ['"', '\''] {
        let key = format!(" {attr}={quote}");
        if let Some(i) = tag.find(&key) {
            let value = &tag[i + key.len()..];
            return Some(&value[..value.find(quote)?]);
        }
    }
    None
}

/// Where `<name` starts, as a whole element name.
fn find_element(xml: &str, name: &str) -> Option<usize> {
    let open = format!("<{name}");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let at = from + i;
        let next = xml[at + open.len()..].chars().next();
        if matches!(next, Some(' ' | '>' | '/')) {
            return Some(at);
        }
        from = at + open.len();
    }
    None
}

/// `{0197231e-…}` → `{0197231E-…}`; anything else unchanged.
fn upper_guid(value: &str) -> String {
    let b = value.as_bytes();
    let is_guid = b.len() == 38
        && b[0] == b'{'
        && b[37] == b'}'
        && b[1..37].iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_guid {
        value.to_ascii_uppercase()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM: &str = "<Event><System><Provider Name=\"Service Control Manager\" \
        Guid=\"{555908d1-a6d7-4695-8e1e-26931d2012f4}\" EventSourceName=\"Service Control Manager\"/>\
        <EventID Qualifiers=\"16384\">7045</EventID><Version>0</Version><Level>4</Level>\
        <Correlation/><Channel>System</Channel></System>";

    #[test]
    fn reads_system_elements_and_attributes() {
        assert_eq!(element_text(SYSTEM, "EventID"), Some("7045"));
        assert_eq!(element_text(SYSTEM, "Level"), Some("4"));
        assert_eq!(element_text(SYSTEM, "Correlation"), Some(""));
        assert_eq!(attribute(SYSTEM, "EventID", "Qualifiers"), Some("16384"));
        assert_eq!(
            attribute(SYSTEM, "Provider", "EventSourceName"),
            Some("Service Control Manager")
        );
        assert_eq!(attribute(SYSTEM, "Correlation", "ActivityID"), None);
        assert_eq!(element_text(SYSTEM, "Task"), None);
    }

    #[test]
    fn upper_cases_only_braced_guids() {
        assert_eq!(
            upper_guid("{0197231e-0b7b-0000-89d1-64b87b0bd201}"),
            "{0197231E-0B7B-0000-89D1-64B87B0BD201}"
        );
        assert_eq!(upper_guid("%{bf967aba-0de6}"), "%{bf967aba-0de6}");
        assert_eq!(upper_guid("lower text"), "lower text");
    }
}
