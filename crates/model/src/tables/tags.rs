//! `tags.conf`: tags given to events by event type (`[eventtype=ms-sysmon-regmod]`) or by a
//! field value (`[app=win%3Alocal]`). Each setting is `<tag> = enabled|disabled`.
//!
//! The value in a stanza name is percent-encoded (the Windows add-on writes `win%3Alocal` for
//! the value `win:local` that its `windows_apps.csv` lookup produces) \[I\]; it is decoded here.
//! A later layer's `<tag> = disabled` removes a tag an earlier layer enabled (the layering is
//! per key, `Conf::layer`).

use crate::conf::{Conf, Origin};

use super::error::{Problem, TableError};
use super::text::{At, percent_decode};

/// The tags of one `[<field>=<value>]` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagStanza {
    /// The field (`eventtype`, `app`, …).
    pub field: String,
    /// The value, percent-decoded.
    pub value: String,
    /// The tags, in the order written, with whether each is enabled.
    pub tags: Vec<(String, bool)>,
    /// Where the stanza header was written.
    pub origin: Origin,
}

impl TagStanza {
    /// The enabled tags.
    pub fn enabled(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .filter(|(_, on)| *on)
            .map(|(t, _)| t.as_str())
    }
}

/// All tags of a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    list: Vec<TagStanza>,
}

impl Tags {
    /// Types every stanza of a (layered) tags configuration.
    pub fn from_conf(conf: &Conf) -> Result<Tags, TableError> {
        let mut list = Vec::new();
        for stanza in conf.stanzas() {
            let at = At(stanza);
            let (field, raw) = stanza
                .name()
                .split_once('=')
                .ok_or_else(|| at.stanza(Problem::BadTagStanza))?;
            let value = percent_decode(raw)
                .ok_or_else(|| at.stanza(Problem::BadPercentEncoding(raw.to_owned())))?;
            let mut tags = Vec::new();
            for s in stanza.settings() {
                let on = match s.value().to_ascii_lowercase().as_str() {
                    "enabled" => true,
                    "disabled" => false,
                    _ => return Err(at.setting(s, Problem::BadTagState(s.value().to_owned()))),
                };
                tags.push((s.key().to_owned(), on));
            }
            list.push(TagStanza {
                field: field.to_owned(),
                value,
                tags,
                origin: stanza.origin().clone(),
            });
        }
        Ok(Tags { list })
    }

    /// Every stanza.
    pub fn all(&self) -> &[TagStanza] {
        &self.list
    }

    /// The stanza for this field and (decoded) value.
    pub fn get(&self, field: &str, value: &str) -> Option<&TagStanza> {
        self.list
            .iter()
            .find(|t| t.field == field && t.value == value)
    }

    /// The enabled tags of an event type.
    pub fn for_event_type<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.get("eventtype", name)
            .into_iter()
            .flat_map(TagStanza::enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_and_field_value_stanzas() {
        let mut conf = Conf::parse(
            "tags.conf",
            "[eventtype=ms-sysmon-dns]\nnetwork = enabled\nresolution = enabled\ndns = enabled\n\
             [app=win%3Alocal]\nlocal = enabled\n",
        )
        .unwrap();
        conf.layer(
            Conf::parse("over.conf", "[eventtype=ms-sysmon-dns]\ndns = disabled\n").unwrap(),
        );
        let tags = Tags::from_conf(&conf).unwrap();
        let dns: Vec<&str> = tags.for_event_type("ms-sysmon-dns").collect();
        assert_eq!(dns, ["network", "resolution"]);
        assert_eq!(
            tags.get("app", "win:local").unwrap().tags,
            [("local".into(), true)]
        );
        assert_eq!(tags.for_event_type("nope").count(), 0);
    }

    #[test]
    fn bad_stanzas_and_states_are_errors() {
        let conf = Conf::parse("tags.conf", "[noequals]\na = enabled\n").unwrap();
        assert!(Tags::from_conf(&conf).is_err());
        let conf = Conf::parse("tags.conf", "[a=b]\nx = on\n").unwrap();
        let e = Tags::from_conf(&conf).unwrap_err().to_string();
        assert_eq!(
            e,
            "tags.conf:2: [a=b] x: a tag is `enabled` or `disabled`, found \"on\""
        );
    }
}
