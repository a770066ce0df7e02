//! `props.conf` stanzas as typed search-time operations: which events a stanza applies to, and
//! its `EXTRACT-`, `REPORT-`, `FIELDALIAS-`, `EVAL-` and `LOOKUP-` classes, each list in the
//! ASCII order of its class names.
//!
//! Splunk's rules that shape these types (ADDON_FIELDS.md 1.2, from `props.conf.spec` and the
//! search-time operation sequence page):
//! - Order of operations: `EXTRACT-`, `REPORT-`, `KV_MODE`, `FIELDALIAS-`, `EVAL-`, `LOOKUP-`,
//!   then event types and tags. Within one stanza, extractions run in the ASCII order of their
//!   class names, so each list here is sorted that way (byte order: `0…` < `A…` < `a…`).
//! - An `EXTRACT-` regex gets `(?ms)` prepended; `<regex> in <field>` applies it to a field.
//! - `FIELDALIAS-` pairs: `AS` replaces an existing destination (and removes it when the source
//!   is missing); `ASNEW` keeps an existing destination.
//! - `EVAL-` expressions run as if in parallel: each reads the values from before any `EVAL-`.
//!   The text is kept exactly as written; the `cimhunt-spl` crate parses it.
//! - `LOOKUP-`: `OUTPUTNEW` writes only fields that do not exist yet; `OUTPUT` overwrites, and
//!   clears its outputs when the input fields exist but no row matches.
//! - A `[source::…]` stanza's setting overrides a sourcetype stanza's setting with the same key;
//!   different keys all apply. (How the interpreter merges the stanzas that match one event is
//!   its business; this module keeps them apart.)
//! - A class whose value is empty disables the same class of a lower layer: layering happens on
//!   the `.conf` text (`Conf::layer`), and empty classes are then dropped here.

use std::collections::HashMap;

use crate::conf::{Conf, Origin, Setting, Stanza};

use super::error::{Problem, TableError};
use super::text::{At, comma_list, index_by, words};

/// Which events a props stanza applies to, from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PropsMatch {
    /// `[<sourcetype>]`: events of exactly this sourcetype (case-sensitive).
    Sourcetype(String),
    /// `[source::<pattern>]`: events whose source matches the pattern (Splunk's `...`, `*`
    /// and `(a|b)` syntax, kept as written; case-sensitive).
    Source(String),
    /// `[host::<pattern>]`: events whose host matches the pattern (case-insensitive).
    Host(String),
    /// `[rule::<name>]` or `[delayedrule::<name>]`: sourcetype classification rules.
    Rule(String),
    /// A name containing `::` with none of the prefixes above, such as
    /// `(?::){0}XmlWinEventLog:*`: an unofficial idiom for a sourcetype wildcard \[I\] (a
    /// Windows add-on comment says such stanzas "apply on sources AND sourcetypes").
    Pattern(String),
    /// `[default]`: settings for every stanza.
    Default,
}

impl PropsMatch {
    /// The match a stanza name describes.
    pub fn from_stanza_name(name: &str) -> PropsMatch {
        if name == crate::conf::DEFAULT_STANZA {
            return PropsMatch::Default;
        }
        let Some((prefix, rest)) = name.split_once("::") else {
            return PropsMatch::Sourcetype(name.to_owned());
        };
        match prefix {
            "source" => PropsMatch::Source(rest.to_owned()),
            "host" => PropsMatch::Host(rest.to_owned()),
            "rule" | "delayedrule" => PropsMatch::Rule(rest.to_owned()),
            _ => PropsMatch::Pattern(name.to_owned()),
        }
    }
}

/// An `EXTRACT-<class> = <regex> [in <field>]` inline extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extract {
    /// The class name after `EXTRACT-`.
    pub class: String,
    /// The regex as written (Splunk prepends `(?ms)`; the interpreter must too).
    pub regex: String,
    /// The field the regex reads, when written `<regex> in <field>`; `_raw` otherwise.
    pub source_field: Option<String>,
    /// Where it was written.
    pub origin: Origin,
}

/// A `REPORT-<class>` or `TRANSFORMS-<class>` list of transforms.conf stanza names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformList {
    /// The class name.
    pub class: String,
    /// The transforms, in the order written (the first one to extract a field wins \[I\]).
    pub transforms: Vec<String>,
    /// Where it was written.
    pub origin: Origin,
}

/// How a field alias treats an existing destination field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasMode {
    /// `AS`: replace it (and remove it when the source field is missing).
    As,
    /// `ASNEW`: keep it.
    AsNew,
}

/// One `<from> AS|ASNEW <to>` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasPair {
    /// The source field.
    pub from: String,
    /// The alias.
    pub to: String,
    /// `AS` or `ASNEW`.
    pub mode: AliasMode,
}

/// A `FIELDALIAS-<class>` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAlias {
    /// The class name.
    pub class: String,
    /// The pairs, in the order written.
    pub pairs: Vec<AliasPair>,
    /// Where it was written.
    pub origin: Origin,
}

/// An `EVAL-<field> = <expression>` calculated field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eval {
    /// The field it sets (the class name).
    pub field: String,
    /// The expression exactly as written, line breaks of continuations included. String
    /// literal escapes (ADDON_FIELDS.md 1.9) are for the expression parser to apply.
    pub expression: String,
    /// Where it was written.
    pub origin: Origin,
}

/// A lookup field and the event field it corresponds to (`<lookup_field> AS <event_field>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMap {
    /// The column in the lookup table.
    pub lookup_field: String,
    /// The field in the event.
    pub event_field: String,
}

/// `OUTPUT` or `OUTPUTNEW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Overwrite outputs; clear them when the inputs exist but nothing matches.
    Output,
    /// Write only outputs that do not exist yet.
    OutputNew,
}

/// A `LOOKUP-<class>` automatic lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoLookup {
    /// The class name.
    pub class: String,
    /// The lookup definition: a transforms.conf stanza name.
    pub lookup: String,
    /// The match fields, in order.
    pub inputs: Vec<FieldMap>,
    /// `OUTPUT` or `OUTPUTNEW`, with its fields; `None` when the setting names no outputs
    /// (then every column that is not an input is an output, written as `OUTPUT` would).
    pub output: Option<(OutputMode, Vec<FieldMap>)>,
    /// Where it was written.
    pub origin: Origin,
}

/// A `KV_MODE` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KvMode {
    /// `none`: no automatic key/value extraction.
    None,
    /// `auto`
    Auto,
    /// `auto_escaped`
    AutoEscaped,
    /// `multi` (or `multi:<tag>`)
    Multi,
    /// `json`
    Json,
    /// `xml`
    Xml,
}

/// Timestamp settings (index time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeSettings {
    /// `TIME_PREFIX`: a regex the timestamp follows.
    pub prefix: Option<String>,
    /// `TIME_FORMAT`: a strptime format (`%3N` is milliseconds).
    pub format: Option<String>,
    /// `TZ`: the zone of timestamps without one.
    pub zone: Option<String>,
    /// `MAX_TIMESTAMP_LOOKAHEAD`: characters after the prefix to look at.
    pub max_lookahead: Option<u32>,
}

/// One props.conf stanza, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropsStanza {
    name: String,
    origin: Origin,
    matcher: PropsMatch,
    extracts: Vec<Extract>,
    reports: Vec<TransformList>,
    index_transforms: Vec<TransformList>,
    aliases: Vec<FieldAlias>,
    evals: Vec<Eval>,
    lookups: Vec<AutoLookup>,
    kv_mode: Option<KvMode>,
    time: TimeSettings,
    rename: Option<String>,
    other: Vec<Setting>,
}

impl PropsStanza {
    /// Types one stanza.
    pub fn from_stanza(stanza: &Stanza) -> Result<PropsStanza, TableError> {
        let at = At(stanza);
        let mut out = PropsStanza {
            name: stanza.name().to_owned(),
            origin: stanza.origin().clone(),
            matcher: PropsMatch::from_stanza_name(stanza.name()),
            extracts: Vec::new(),
            reports: Vec::new(),
            index_transforms: Vec::new(),
            aliases: Vec::new(),
            evals: Vec::new(),
            lookups: Vec::new(),
            kv_mode: None,
            time: TimeSettings::default(),
            rename: None,
            other: Vec::new(),
        };
        for setting in stanza.settings() {
            out.add(at, setting)?;
        }
        out.extracts.sort_by(|a, b| a.class.cmp(&b.class));
        out.reports.sort_by(|a, b| a.class.cmp(&b.class));
        out.index_transforms.sort_by(|a, b| a.class.cmp(&b.class));
        out.aliases.sort_by(|a, b| a.class.cmp(&b.class));
        out.evals.sort_by(|a, b| a.field.cmp(&b.field));
        out.lookups.sort_by(|a, b| a.class.cmp(&b.class));
        Ok(out)
    }

    fn add(&mut self, at: At<'_>, setting: &Setting) -> Result<(), TableError> {
        let (key, value) = (setting.key(), setting.value());
        let origin = setting.origin().clone();
        let class = |prefix: &str| key.strip_prefix(prefix).map(str::to_owned);
        if let Some(class) = class("EXTRACT-") {
            if !value.is_empty() {
                let (regex, source_field) = split_extract(value);
                self.extracts.push(Extract {
                    class,
                    regex,
                    source_field,
                    origin,
                });
            }
        } else if let Some(class) = class("REPORT-") {
            let transforms = comma_list(value);
            if !transforms.is_empty() {
                self.reports.push(TransformList {
                    class,
                    transforms,
                    origin,
                });
            }
        } else if let Some(class) = class("TRANSFORMS-") {
            let transforms = comma_list(value);
            if !transforms.is_empty() {
                self.index_transforms.push(TransformList {
                    class,
                    transforms,
                    origin,
                });
            }
        } else if let Some(class) = class("FIELDALIAS-") {
            if !value.is_empty() {
                let pairs = parse_aliases(value)
                    .ok_or_else(|| at.setting(setting, Problem::BadAlias(value.to_owned())))?;
                self.aliases.push(FieldAlias {
                    class,
                    pairs,
                    origin,
                });
            }
        } else if let Some(field) = class("EVAL-") {
            if !value.is_empty() {
                self.evals.push(Eval {
                    field,
                    expression: value.to_owned(),
                    origin,
                });
            }
        } else if let Some(class) = class("LOOKUP-") {
            if !value.is_empty() {
                let (lookup, inputs, output) = parse_lookup(value)
                    .map_err(|why| at.setting(setting, Problem::BadLookup(why)))?;
                self.lookups.push(AutoLookup {
                    class,
                    lookup,
                    inputs,
                    output,
                    origin,
                });
            }
        } else {
            match key {
                "KV_MODE" => {
                    self.kv_mode = Some(parse_kv_mode(value).ok_or_else(|| {
                        at.setting(setting, Problem::UnknownKvMode(value.into()))
                    })?);
                }
                "TIME_PREFIX" => self.time.prefix = Some(value.to_owned()),
                "TIME_FORMAT" => self.time.format = Some(value.to_owned()),
                "TZ" => self.time.zone = Some(value.to_owned()),
                "MAX_TIMESTAMP_LOOKAHEAD" => self.time.max_lookahead = at.number(key)?,
                "rename" => self.rename = Some(value.to_owned()),
                _ => self.other.push(setting.clone()),
            }
        }
        Ok(())
    }

    /// The stanza name, as written between the brackets.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the stanza header was first written.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Which events the stanza applies to.
    pub fn matcher(&self) -> &PropsMatch {
        &self.matcher
    }

    /// `EXTRACT-` classes, in ASCII order of class name.
    pub fn extracts(&self) -> &[Extract] {
        &self.extracts
    }

    /// `REPORT-` classes, in ASCII order of class name.
    pub fn reports(&self) -> &[TransformList] {
        &self.reports
    }

    /// `TRANSFORMS-` classes (index time: source, sourcetype and host rewrites), in ASCII
    /// order of class name.
    pub fn index_transforms(&self) -> &[TransformList] {
        &self.index_transforms
    }

    /// `FIELDALIAS-` classes, in ASCII order of class name.
    pub fn aliases(&self) -> &[FieldAlias] {
        &self.aliases
    }

    /// `EVAL-` settings, in ASCII order of field name (they run as if in parallel).
    pub fn evals(&self) -> &[Eval] {
        &self.evals
    }

    /// `LOOKUP-` classes, in ASCII order of class name (the order among lookups writing the
    /// same field is undocumented, ADDON_FIELDS.md 4 #2 \[U\]).
    pub fn lookups(&self) -> &[AutoLookup] {
        &self.lookups
    }

    /// `KV_MODE`, if set.
    pub fn kv_mode(&self) -> Option<KvMode> {
        self.kv_mode
    }

    /// Timestamp settings.
    pub fn time(&self) -> &TimeSettings {
        &self.time
    }

    /// `rename`: the sourcetype this one is shown as at search time.
    pub fn rename(&self) -> Option<&str> {
        self.rename.as_deref()
    }

    /// Settings this module does not interpret (`SEDCMD-`, line breaking, …), kept as read.
    pub fn other(&self) -> &[Setting] {
        &self.other
    }
}

/// All props stanzas of a profile, in the order they first appeared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    stanzas: Vec<PropsStanza>,
    index: HashMap<String, usize>,
}

impl Props {
    /// Types every stanza of a (layered) props configuration.
    pub fn from_conf(conf: &Conf) -> Result<Props, TableError> {
        let stanzas: Vec<PropsStanza> = conf
            .stanzas()
            .iter()
            .map(PropsStanza::from_stanza)
            .collect::<Result<_, _>>()?;
        let index = index_by(&stanzas, |s| &s.name);
        Ok(Props { stanzas, index })
    }

    /// Every stanza.
    pub fn stanzas(&self) -> &[PropsStanza] {
        &self.stanzas
    }

    /// The stanza with exactly this name (`source::XmlWinEventLog:Security`, `xmlwineventlog`).
    pub fn get(&self, name: &str) -> Option<&PropsStanza> {
        self.index.get(name).map(|&i| &self.stanzas[i])
    }
}

/// `<regex> in <field>` → (regex, Some(field)); otherwise the whole value.
fn split_extract(value: &str) -> (String, Option<String>) {
    if let Some((regex, field)) = value.rsplit_once(" in ") {
        let field = field.trim();
        let is_field = !field.is_empty()
            && field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
        if is_field && !regex.trim().is_empty() {
            return (regex.to_owned(), Some(field.to_owned()));
        }
    }
    (value.to_owned(), None)
}

fn parse_aliases(value: &str) -> Option<Vec<AliasPair>> {
    let words = words(value);
    if words.is_empty() || !words.len().is_multiple_of(3) {
        return None;
    }
    words
        .chunks(3)
        .map(|w| {
            let mode = if w[1].eq_ignore_ascii_case("AS") {
                AliasMode::As
            } else if w[1].eq_ignore_ascii_case("ASNEW") {
                AliasMode::AsNew
            } else {
                return None;
            };
            Some(AliasPair {
                from: w[0].clone(),
                to: w[2].clone(),
                mode,
            })
        })
        .collect()
}

type LookupParts = (String, Vec<FieldMap>, Option<(OutputMode, Vec<FieldMap>)>);

fn parse_lookup(value: &str) -> Result<LookupParts, String> {
    let words = words(value);
    let (table, rest) = words
        .split_first()
        .ok_or_else(|| "the value is empty".to_owned())?;
    let is_output =
        |w: &str| w.eq_ignore_ascii_case("OUTPUT") || w.eq_ignore_ascii_case("OUTPUTNEW");
    let split = rest.iter().position(|w| is_output(w)).unwrap_or(rest.len());
    let inputs = field_maps(&rest[..split])?;
    if inputs.is_empty() {
        return Err("no input field".to_owned());
    }
    let output = match rest.get(split) {
        None => None,
        Some(keyword) => {
            let mode = if keyword.eq_ignore_ascii_case("OUTPUT") {
                OutputMode::Output
            } else {
                OutputMode::OutputNew
            };
            let fields = field_maps(&rest[split + 1..])?;
            if fields.is_empty() {
                return Err(format!("no field after {keyword}"));
            }
            Some((mode, fields))
        }
    };
    Ok((table.clone(), inputs, output))
}

/// `a`, `a AS b`, … → field maps (lookup field first, event field second).
fn field_maps(words: &[String]) -> Result<Vec<FieldMap>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let field = &words[i];
        if field.eq_ignore_ascii_case("AS") {
            return Err("`AS` without a field before it".to_owned());
        }
        if words
            .get(i + 1)
            .is_some_and(|w| w.eq_ignore_ascii_case("AS"))
        {
            let event = words
                .get(i + 2)
                .ok_or_else(|| format!("`{field} AS` without a field after it"))?;
            out.push(FieldMap {
                lookup_field: field.clone(),
                event_field: event.clone(),
            });
            i += 3;
        } else {
            out.push(FieldMap {
                lookup_field: field.clone(),
                event_field: field.clone(),
            });
            i += 1;
        }
    }
    Ok(out)
}

fn parse_kv_mode(value: &str) -> Option<KvMode> {
    let v = value.trim().to_ascii_lowercase();
    Some(match v.as_str() {
        "none" => KvMode::None,
        "auto" => KvMode::Auto,
        "auto_escaped" => KvMode::AutoEscaped,
        "json" => KvMode::Json,
        "xml" => KvMode::Xml,
        "multi" => KvMode::Multi,
        _ if v.starts_with("multi:") => KvMode::Multi,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza(text: &str) -> PropsStanza {
        let conf = Conf::parse("props.conf", text).unwrap();
        PropsStanza::from_stanza(&conf.stanzas()[0]).unwrap()
    }

    fn error(text: &str) -> String {
        let conf = Conf::parse("props.conf", text).unwrap();
        PropsStanza::from_stanza(&conf.stanzas()[0])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn stanza_names_give_the_match_kind() {
        use PropsMatch::*;
        let m = PropsMatch::from_stanza_name;
        assert_eq!(m("xmlwineventlog"), Sourcetype("xmlwineventlog".into()));
        assert_eq!(
            m("XmlWinEventLog:Security"),
            Sourcetype("XmlWinEventLog:Security".into())
        );
        assert_eq!(
            m("source::XmlWinEventLog:Security"),
            Source("XmlWinEventLog:Security".into())
        );
        assert_eq!(
            m("host::WinEventLogForwardHost"),
            Host("WinEventLogForwardHost".into())
        );
        assert_eq!(
            m("(?::){0}XmlWinEventLog:*"),
            Pattern("(?::){0}XmlWinEventLog:*".into())
        );
        assert_eq!(m("default"), Default);
    }

    #[test]
    fn classes_are_in_ascii_order_of_their_names() {
        let s = stanza(
            "[x]\nREPORT-file = f\nREPORT-0xml_kv = k\nREPORT-EventCode = e\nREPORT-0xml_block = b\n\
             EVAL-b = 1\nEVAL-B = 2\nEVAL-a = 3\n",
        );
        let classes: Vec<&str> = s.reports().iter().map(|r| r.class.as_str()).collect();
        assert_eq!(classes, ["0xml_block", "0xml_kv", "EventCode", "file"]);
        let evals: Vec<&str> = s.evals().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(evals, ["B", "a", "b"]);
    }

    #[test]
    fn report_lists_keep_order_across_continuations() {
        let s = stanza("[x]\nREPORT-sysmon = a,b,  \\\nc, d\n");
        assert_eq!(s.reports()[0].transforms, ["a", "b", "c", "d"]);
    }

    #[test]
    fn field_aliases_parse_into_pairs() {
        let s = stanza(
            "[x]\nFIELDALIAS-dvc = host AS dvc_nt_host,Computer AS dvc\n\
             FIELDALIAS-u = UserID  AS user_id\nFIELDALIAS-c = TaskCategory as category\n\
             FIELDALIAS-n = updateTitle ASNEW signature\n",
        );
        let pairs: Vec<(&str, &str, AliasMode)> = s
            .aliases()
            .iter()
            .flat_map(|a| &a.pairs)
            .map(|p| (p.from.as_str(), p.to.as_str(), p.mode))
            .collect();
        assert_eq!(
            pairs,
            [
                ("TaskCategory", "category", AliasMode::As),
                ("host", "dvc_nt_host", AliasMode::As),
                ("Computer", "dvc", AliasMode::As),
                ("updateTitle", "signature", AliasMode::AsNew),
                ("UserID", "user_id", AliasMode::As),
            ]
        );
    }

    #[test]
    fn bad_aliases_are_errors_naming_the_line() {
        let e = error("[x]\n\nFIELDALIAS-a = a AS\n");
        assert!(
            e.starts_with("props.conf:3: [x] FIELDALIAS-a: expected"),
            "{e}"
        );
        assert!(error("[x]\nFIELDALIAS-a = a TO b\n").contains("FIELDALIAS-a"));
    }

    #[test]
    fn lookups_parse_inputs_outputs_and_as() {
        let s = stanza(
            "[x]\nLOOKUP-a = xmlsecurity_lookup EventCode, Error_Code OUTPUTNEW action, action as status\n\
             LOOKUP-b = windows_action_lookup Type AS Keywords OUTPUTNEW action, action AS status\n\
             LOOKUP-c = eventcode EventCode OUTPUTNEW EventDescription EventDescription AS signature\n\
             LOOKUP-d = sysmon-record_type-lookup record_type OUTPUT record_type_name AS record_type\n\
             LOOKUP-e = all_columns key\n",
        );
        let l = s.lookups();
        let maps = |m: &[FieldMap]| -> Vec<(String, String)> {
            m.iter()
                .map(|f| (f.lookup_field.clone(), f.event_field.clone()))
                .collect()
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(l[0].lookup, "xmlsecurity_lookup");
        assert_eq!(
            maps(&l[0].inputs),
            [
                pair("EventCode", "EventCode"),
                pair("Error_Code", "Error_Code")
            ]
        );
        let (mode, out) = l[0].output.as_ref().unwrap();
        assert_eq!(*mode, OutputMode::OutputNew);
        assert_eq!(
            maps(out),
            [pair("action", "action"), pair("action", "status")]
        );
        assert_eq!(maps(&l[1].inputs), [pair("Type", "Keywords")]);
        let (_, out) = l[2].output.as_ref().unwrap();
        assert_eq!(
            maps(out),
            [
                pair("EventDescription", "EventDescription"),
                pair("EventDescription", "signature")
            ]
        );
        let (mode, out) = l[3].output.as_ref().unwrap();
        assert_eq!(*mode, OutputMode::Output);
        assert_eq!(maps(out), [pair("record_type_name", "record_type")]);
        assert_eq!(l[4].output, None);
    }

    #[test]
    fn malformed_lookups_are_errors() {
        for bad in [
            "LOOKUP-a = t OUTPUT x",
            "LOOKUP-a = t a OUTPUTNEW",
            "LOOKUP-a = t a AS",
            "LOOKUP-a = t AS b",
        ] {
            let e = error(&format!("[x]\n{bad}\n"));
            assert!(e.contains("LOOKUP-a: expected `<lookup>"), "{bad}: {e}");
        }
    }

    #[test]
    fn extract_in_field_and_time_settings() {
        let s = stanza(
            "[x]\nEXTRACT-a = (?<f>\\d+) in Hashes\nEXTRACT-b = <Data Name='DestPort'>(?<dest_port>[^<]+)<\\/Data>\n\
             TIME_PREFIX = <Data Name='UtcTime'>\nTIME_FORMAT = %Y-%m-%d %H:%M:%S.%3N\nTZ = UTC\n\
             MAX_TIMESTAMP_LOOKAHEAD = 128\nKV_MODE = none\nrename = xmlwineventlog\nSHOULD_LINEMERGE = false\n",
        );
        assert_eq!(s.extracts()[0].regex, "(?<f>\\d+)");
        assert_eq!(s.extracts()[0].source_field.as_deref(), Some("Hashes"));
        assert_eq!(s.extracts()[1].source_field, None);
        assert_eq!(s.time().prefix.as_deref(), Some("<Data Name='UtcTime'>"));
        assert_eq!(s.time().zone.as_deref(), Some("UTC"));
        assert_eq!(s.time().max_lookahead, Some(128));
        assert_eq!(s.kv_mode(), Some(KvMode::None));
        assert_eq!(s.rename(), Some("xmlwineventlog"));
        assert_eq!(s.other()[0].key(), "SHOULD_LINEMERGE");
        assert!(error("[x]\nKV_MODE = yaml\n").contains("unknown KV_MODE"));
    }

    #[test]
    fn an_empty_class_disables_the_lower_layer() {
        let mut conf =
            Conf::parse("a.conf", "[x]\nREPORT-MESSAGE = wel-message\nEVAL-a = 1\n").unwrap();
        conf.layer(Conf::parse("b.conf", "[x]\nREPORT-MESSAGE =\nEVAL-a =\n").unwrap());
        let s = PropsStanza::from_stanza(&conf.stanzas()[0]).unwrap();
        assert!(s.reports().is_empty());
        assert!(s.evals().is_empty());
    }
}
