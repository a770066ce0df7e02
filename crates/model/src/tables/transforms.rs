//! `transforms.conf` stanzas: regex (or delimiter) extractions that `REPORT-` and `TRANSFORMS-`
//! name, and lookup definitions that `LOOKUP-` and data-model Lookup calculations name.
//!
//! A stanza with `filename`, `external_cmd`, `collection` or `external_type` is a lookup
//! definition; any other is an extraction. Defaults and meanings come from
//! `transforms.conf.spec` (Splunk 9.x; ADDON_FIELDS.md 1.2 quotes the parts that matter):
//! - `SOURCE_KEY` defaults to `_raw`; `MV_ADD` (default false) appends further values instead
//!   of discarding them; `CLEAN_KEYS` (default true) turns non-alphanumerics of extracted field
//!   names into `_` and strips leading `_` and digits; `KEEP_EMPTY_VALS` (default false).
//! - `FORMAT` at search time is `<name>::<value>` items separated by blanks, each side a literal
//!   or `$<n>`; `name::"$1"` writes the value without its quotes \[I\] (ADDON_FIELDS.md 1.2). `$`
//!   is special only before digits. Without `FORMAT`, named groups name the fields.
//! - `DEST_KEY` marks an index-time transform (source, sourcetype, host rewrites).
//! - Lookups: `min_matches` default 0; `max_matches` default 100 for non-temporal lookups;
//!   `case_sensitive_match` default true; `default_match` is written `min_matches` times when
//!   fewer rows match; `match_type` lists `WILDCARD(<field>)`/`CIDR(<field>)`/`EXACT(<field>)`.

use std::collections::HashMap;

use crate::conf::{Conf, Origin, Setting, Stanza};

use super::error::{Problem, TableError};
use super::text::{At, index_by, words};

/// A piece of a FORMAT template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `$<n>`: the n-th capture group (`$0` at index time: the destination's old value).
    Group(u32),
}

/// A FORMAT name or value: literal text and `$<n>` references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

impl Template {
    /// Parses `$<n>` references out of `text`; a `$` not followed by digits is literal.
    pub fn parse(text: &str) -> Template {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(pos) = rest.find('$') {
            let after = &rest[pos + 1..];
            let digits = after.bytes().take_while(u8::is_ascii_digit).count();
            match after[..digits].parse::<u32>() {
                Ok(n) if digits > 0 => {
                    literal.push_str(&rest[..pos]);
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Group(n));
                    rest = &after[digits..];
                }
                _ => {
                    literal.push_str(&rest[..=pos]);
                    rest = after;
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Template(pieces)
    }

    /// The single group this template is, if it is exactly `$<n>`.
    pub fn as_group(&self) -> Option<u32> {
        match self.0.as_slice() {
            [Piece::Group(n)] => Some(*n),
            _ => None,
        }
    }

    /// The literal text this template is, if it has no group reference.
    pub fn as_text(&self) -> Option<&str> {
        match self.0.as_slice() {
            [Piece::Text(t)] => Some(t),
            [] => Some(""),
            _ => None,
        }
    }
}

/// One `name::value` item of a FORMAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatItem {
    /// The field name (`user`, or `$1` for names taken from the match).
    pub name: Template,
    /// The value (`$1`, `"$1"`, a literal).
    pub value: Template,
    /// Whether the value was written in double quotes (which are not part of it).
    pub quoted: bool,
}

/// A FORMAT setting: the text as written and, unless it is an index-time routing value such
/// as `nullQueue`, its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// The value as written.
    pub text: String,
    /// The `name::value` items, in order; empty for a routing FORMAT of an index-time
    /// transform.
    pub items: Vec<FormatItem>,
}

impl Format {
    /// Parses `name::value` items separated by blanks (a double-quoted value may hold blanks).
    pub fn parse(text: &str) -> Result<Format, Problem> {
        let mut items = Vec::new();
        for token in format_tokens(text) {
            let Some((name, value)) = token.split_once("::") else {
                return Err(Problem::BadFormat(token));
            };
            let (value, quoted) = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => (inner, true),
                None => (value, false),
            };
            items.push(FormatItem {
                name: Template::parse(name),
                value: Template::parse(value),
                quoted,
            });
        }
        Ok(Format {
            text: text.to_owned(),
            items,
        })
    }
}

/// Splits FORMAT text at blanks outside double quotes (quotes kept).
fn format_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            if !token.is_empty() {
                out.push(std::mem::take(&mut token));
            }
        } else {
            token.push(c);
        }
    }
    if !token.is_empty() {
        out.push(token);
    }
    out
}

/// A regex or delimiter extraction (`REPORT-`, or `TRANSFORMS-` at index time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    /// The stanza name.
    pub name: String,
    /// Where the stanza header was written.
    pub origin: Origin,
    /// `REGEX`, as written (no `(?ms)` is added to transforms).
    pub regex: Option<String>,
    /// `FORMAT`.
    pub format: Option<Format>,
    /// `SOURCE_KEY`: the field read (`None` means `_raw`).
    pub source_key: Option<String>,
    /// `DEST_KEY`: set only for index-time transforms (`MetaData:Source`, `queue`, …).
    pub dest_key: Option<String>,
    /// `MV_ADD` (default false).
    pub mv_add: bool,
    /// `CLEAN_KEYS` (default true).
    pub clean_keys: bool,
    /// `KEEP_EMPTY_VALS` (default false).
    pub keep_empty_vals: bool,
    /// `REPEAT_MATCH` (default false; meaningful at index time).
    pub repeat_match: bool,
    /// `DELIMS`, as written.
    pub delims: Option<String>,
    /// `FIELDS`, for delimiter extractions.
    pub fields: Vec<String>,
    /// Settings not interpreted here (`LOOKAHEAD`, `WRITE_META`, `CAN_OPTIMIZE`, …).
    pub other: Vec<Setting>,
}

/// How a lookup match field is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// `WILDCARD(<field>)`: `*` in the table matches any text.
    Wildcard,
    /// `CIDR(<field>)`: the table holds CIDR ranges.
    Cidr,
    /// `EXACT(<field>)`: the default.
    Exact,
}

/// Where a lookup's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupSource {
    /// A CSV file in a `lookups/` directory.
    File {
        /// The file name.
        filename: String,
        /// cimhunt's `supplied_at_run_time = true`: the user provides the file when running
        /// (see `Profile::supply_lookup`); it is not in the tables.
        supplied_at_run_time: bool,
    },
    /// A scripted lookup (`external_cmd`), which cimhunt cannot run.
    External {
        /// The command.
        command: String,
    },
    /// A KV store collection, which cimhunt cannot read.
    KvStore {
        /// The collection.
        collection: String,
    },
}

/// A lookup definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupDef {
    /// The stanza name (what `LOOKUP-` settings refer to).
    pub name: String,
    /// Where the stanza header was written.
    pub origin: Origin,
    /// Where the rows come from.
    pub source: LookupSource,
    /// `match_type` entries: fields not listed match exactly.
    pub match_types: Vec<(MatchKind, String)>,
    /// `min_matches` (default 0).
    pub min_matches: u32,
    /// `max_matches`, if set (see [`LookupDef::max_matches`]).
    pub max_matches_setting: Option<u32>,
    /// `default_match`.
    pub default_match: Option<String>,
    /// `case_sensitive_match` (default true).
    pub case_sensitive_match: bool,
    /// Settings not interpreted here (`reverse_lookup_honor_case_sensitive_match`, …).
    pub other: Vec<Setting>,
}

impl LookupDef {
    /// `max_matches`, or Splunk's default for a lookup without `time_field`: 100.
    pub fn max_matches(&self) -> u32 {
        self.max_matches_setting.unwrap_or(100)
    }

    /// How a match field is compared.
    pub fn match_kind(&self, field: &str) -> MatchKind {
        self.match_types
            .iter()
            .find(|(_, f)| f == field)
            .map_or(MatchKind::Exact, |(k, _)| *k)
    }

    /// The CSV file name, if the lookup is file-based.
    pub fn filename(&self) -> Option<&str> {
        match &self.source {
            LookupSource::File { filename, .. } => Some(filename),
            _ => None,
        }
    }
}

/// A transforms.conf stanza, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transform {
    /// A regex or delimiter extraction.
    Extraction(Extraction),
    /// A lookup definition.
    Lookup(LookupDef),
}

impl Transform {
    /// Types one stanza.
    pub fn from_stanza(stanza: &Stanza) -> Result<Transform, TableError> {
        let is_lookup = ["filename", "external_cmd", "collection", "external_type"]
            .iter()
            .any(|k| stanza.get(k).is_some());
        if is_lookup {
            lookup_def(stanza).map(Transform::Lookup)
        } else {
            extraction(stanza).map(Transform::Extraction)
        }
    }

    /// The stanza name.
    pub fn name(&self) -> &str {
        match self {
            Transform::Extraction(e) => &e.name,
            Transform::Lookup(l) => &l.name,
        }
    }
}

fn extraction(stanza: &Stanza) -> Result<Extraction, TableError> {
    let at = At(stanza);
    let mut out = Extraction {
        name: stanza.name().to_owned(),
        origin: stanza.origin().clone(),
        regex: None,
        format: None,
        source_key: None,
        dest_key: None,
        mv_add: at.boolean("MV_ADD")?.unwrap_or(false),
        clean_keys: at.boolean("CLEAN_KEYS")?.unwrap_or(true),
        keep_empty_vals: at.boolean("KEEP_EMPTY_VALS")?.unwrap_or(false),
        repeat_match: at.boolean("REPEAT_MATCH")?.unwrap_or(false),
        delims: None,
        fields: Vec::new(),
        other: Vec::new(),
    };
    for s in stanza.settings() {
        let value = s.value().to_owned();
        match s.key() {
            "REGEX" => out.regex = Some(value),
            "SOURCE_KEY" => out.source_key = Some(value),
            "DEST_KEY" => out.dest_key = Some(value),
            "DELIMS" => out.delims = Some(value),
            "FIELDS" => out.fields = words(&value),
            "FORMAT" | "MV_ADD" | "CLEAN_KEYS" | "KEEP_EMPTY_VALS" | "REPEAT_MATCH" => {}
            _ => out.other.push(s.clone()),
        }
    }
    if let Some(s) = stanza.get("FORMAT") {
        out.format = Some(match Format::parse(s.value()) {
            Ok(format) => format,
            // An index-time FORMAT may be a routing value (`nullQueue`), not items.
            Err(_) if out.dest_key.is_some() => Format {
                text: s.value().to_owned(),
                items: Vec::new(),
            },
            Err(problem) => return Err(at.setting(s, problem)),
        });
    }
    if out.regex.is_none() && out.delims.is_none() {
        return Err(at.stanza(Problem::MissingKey("REGEX".to_owned())));
    }
    Ok(out)
}

fn lookup_def(stanza: &Stanza) -> Result<LookupDef, TableError> {
    let at = At(stanza);
    let source = if let Some(filename) = stanza.value("filename") {
        LookupSource::File {
            filename: filename.to_owned(),
            supplied_at_run_time: at.boolean("supplied_at_run_time")?.unwrap_or(false),
        }
    } else if let Some(command) = stanza.value("external_cmd") {
        LookupSource::External {
            command: command.to_owned(),
        }
    } else {
        LookupSource::KvStore {
            collection: stanza
                .value("collection")
                .unwrap_or(stanza.name())
                .to_owned(),
        }
    };
    let mut match_types = Vec::new();
    if let Some(s) = stanza.get("match_type") {
        for item in words(s.value()) {
            let parsed = item
                .strip_suffix(')')
                .and_then(|i| i.split_once('('))
                .and_then(|(kind, field)| {
                    let kind = match kind.trim().to_ascii_uppercase().as_str() {
                        "WILDCARD" => MatchKind::Wildcard,
                        "CIDR" => MatchKind::Cidr,
                        "EXACT" => MatchKind::Exact,
                        _ => return None,
                    };
                    Some((kind, field.trim().to_owned()))
                });
            match parsed {
                Some(m) => match_types.push(m),
                None => return Err(at.setting(s, Problem::BadMatchType(item))),
            }
        }
    }
    let known = [
        "filename",
        "supplied_at_run_time",
        "external_cmd",
        "collection",
        "match_type",
        "min_matches",
        "max_matches",
        "default_match",
        "case_sensitive_match",
    ];
    Ok(LookupDef {
        name: stanza.name().to_owned(),
        origin: stanza.origin().clone(),
        source,
        match_types,
        min_matches: at.number("min_matches")?.unwrap_or(0),
        max_matches_setting: at.number("max_matches")?,
        default_match: stanza.value("default_match").map(str::to_owned),
        case_sensitive_match: at.boolean("case_sensitive_match")?.unwrap_or(true),
        other: stanza
            .settings()
            .iter()
            .filter(|s| !known.contains(&s.key()))
            .cloned()
            .collect(),
    })
}

/// All transforms of a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transforms {
    list: Vec<Transform>,
    index: HashMap<String, usize>,
}

impl Transforms {
    /// Types every stanza of a (layered) transforms configuration.
    pub fn from_conf(conf: &Conf) -> Result<Transforms, TableError> {
        let list: Vec<Transform> = conf
            .stanzas()
            .iter()
            .map(Transform::from_stanza)
            .collect::<Result<_, _>>()?;
        let index = index_by(&list, Transform::name);
        Ok(Transforms { list, index })
    }

    /// Every transform, in the order the stanzas first appeared.
    pub fn all(&self) -> &[Transform] {
        &self.list
    }

    /// The stanza with this name.
    pub fn get(&self, name: &str) -> Option<&Transform> {
        self.index.get(name).map(|&i| &self.list[i])
    }

    /// The extraction with this name.
    pub fn extraction(&self, name: &str) -> Option<&Extraction> {
        match self.get(name)? {
            Transform::Extraction(e) => Some(e),
            Transform::Lookup(_) => None,
        }
    }

    /// The lookup definition with this name.
    pub fn lookup(&self, name: &str) -> Option<&LookupDef> {
        match self.get(name)? {
            Transform::Lookup(l) => Some(l),
            Transform::Extraction(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(text: &str) -> Transform {
        let conf = Conf::parse("transforms.conf", text).unwrap();
        Transform::from_stanza(&conf.stanzas()[0]).unwrap()
    }

    fn extraction(text: &str) -> Extraction {
        match transform(text) {
            Transform::Extraction(e) => e,
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn format_items_of_every_shape_the_add_ons_use() {
        use Piece::*;
        let f = Format::parse("$1::$2").unwrap();
        assert_eq!(f.items[0].name.as_group(), Some(1));
        assert_eq!(f.items[0].value.as_group(), Some(2));
        let f = Format::parse("src_user::\"$1\"").unwrap();
        assert_eq!(f.items[0].name.as_text(), Some("src_user"));
        assert_eq!(f.items[0].value.as_group(), Some(1));
        assert!(f.items[0].quoted);
        let f = Format::parse("object_file_path::$1 object_file_name::$2").unwrap();
        assert_eq!(f.items.len(), 2);
        assert_eq!(f.items[1].value.as_group(), Some(2));
        let f = Format::parse("source::XmlWinEventLog:$1").unwrap();
        assert_eq!(
            f.items[0].value,
            Template(vec![Text("XmlWinEventLog:".into()), Group(1)])
        );
        let f = Format::parse("a::\"x y $1\" b::c$").unwrap();
        assert_eq!(
            f.items[0].value,
            Template(vec![Text("x y ".into()), Group(1)])
        );
        assert_eq!(f.items[1].value.as_text(), Some("c$"));
        assert_eq!(
            Template::parse("$x$12y").0,
            [Text("$x".into()), Group(12), Text("y".into())]
        );
        assert_eq!(
            Format::parse("nullQueue"),
            Err(Problem::BadFormat("nullQueue".into()))
        );
    }

    #[test]
    fn extraction_settings_and_defaults() {
        let e = extraction(
            "[eventdata_xml_data]\n# comment\nSOURCE_KEY = EventData_Xml\n\
             REGEX = <(?:\\w+)\\sName='([^>]*)'\\/?>([^<]*)(?:<\\/\\1>)?\nFORMAT = $1::$2\nMV_ADD = 1\n",
        );
        assert_eq!(e.source_key.as_deref(), Some("EventData_Xml"));
        assert!(e.mv_add && e.clean_keys && !e.keep_empty_vals && !e.repeat_match);
        assert_eq!(e.format.unwrap().items.len(), 1);
        let e = extraction(
            "[x]\nREGEX = (?<a>.)\nREPEAT_MATCH = true\nMV_ADD = true\nCLEAN_KEYS = false\n",
        );
        assert!(e.repeat_match && e.mv_add && !e.clean_keys && e.format.is_none());
    }

    #[test]
    fn index_time_routing_format_is_kept_as_text() {
        let e = extraction("[x]\nREGEX = .\nDEST_KEY = queue\nFORMAT = nullQueue\n");
        let f = e.format.unwrap();
        assert_eq!(f.text, "nullQueue");
        assert!(f.items.is_empty());
    }

    #[test]
    fn bad_extractions_are_errors_naming_the_stanza() {
        let conf = Conf::parse("t.conf", "[x]\nREGEX = (.)\nFORMAT = nope\n").unwrap();
        let e = Transform::from_stanza(&conf.stanzas()[0])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "t.conf:3: [x] FORMAT: FORMAT item \"nope\" is not `<name>::<value>`"
        );
        let conf = Conf::parse("t.conf", "[x]\nFORMAT = a::$1\n").unwrap();
        let e = Transform::from_stanza(&conf.stanzas()[0])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.conf:1: [x]: missing `REGEX`");
        let conf = Conf::parse("t.conf", "[x]\nREGEX = (.)\nMV_ADD = sometimes\n").unwrap();
        assert!(Transform::from_stanza(&conf.stanzas()[0]).is_err());
    }

    #[test]
    fn lookup_definitions() {
        let Transform::Lookup(l) = transform(
            "[cim_dns_reply_code_lookup]\nfilename             = cim_dns_reply_codes2.csv\n\
             min_matches          = 1\ndefault_match        = unknown\ncase_sensitive_match = false\n\
             reverse_lookup_honor_case_sensitive_match = false\nmatch_type = WILDCARD(domain), CIDR(ip)\n",
        ) else {
            panic!()
        };
        assert_eq!(l.filename(), Some("cim_dns_reply_codes2.csv"));
        assert_eq!((l.min_matches, l.max_matches()), (1, 100));
        assert_eq!(l.default_match.as_deref(), Some("unknown"));
        assert!(!l.case_sensitive_match);
        assert_eq!(l.match_kind("domain"), MatchKind::Wildcard);
        assert_eq!(l.match_kind("ip"), MatchKind::Cidr);
        assert_eq!(l.match_kind("other"), MatchKind::Exact);
        assert_eq!(
            l.other[0].key(),
            "reverse_lookup_honor_case_sensitive_match"
        );
        let Transform::Lookup(l) =
            transform("[a]\nfilename=a.csv\nmax_matches=1\nsupplied_at_run_time = true\n")
        else {
            panic!()
        };
        assert_eq!(l.max_matches(), 1);
        assert!(matches!(
            l.source,
            LookupSource::File {
                supplied_at_run_time: true,
                ..
            }
        ));
        let conf = Conf::parse("t.conf", "[a]\nfilename = a.csv\nmatch_type = FUZZY(x)\n").unwrap();
        assert!(Transform::from_stanza(&conf.stanzas()[0]).is_err());
    }
}
