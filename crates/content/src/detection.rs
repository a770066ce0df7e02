//! The typed model of an ESCU detection YAML file.
//!
//! The model is permissive: keys it does not know are ignored, everything but `name` and
//! `search` is optional, `null` values read as empty, and a single string is accepted where a
//! list of strings is expected. Field names follow the YAML keys; the YAML key `type` is
//! `kind` here.

use std::path::PathBuf;

use serde::Deserialize;

use crate::de;

/// One ESCU detection (`detections/**/*.yml`), in the 4.x format (`tags.observable`) or the 5.x
/// format (`rba:` block).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Detection {
    /// Display name, e.g. `Windows MSIExec Remote Download`.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// The detection's UUID.
    #[serde(deserialize_with = "de::string")]
    pub id: String,
    /// Content version number.
    #[serde(deserialize_with = "de::opt_u32")]
    pub version: Option<u32>,
    /// Date of the last change, `YYYY-MM-DD` as written.
    #[serde(deserialize_with = "de::string")]
    pub date: String,
    /// Author line.
    #[serde(deserialize_with = "de::string")]
    pub author: String,
    /// The YAML `type`: `TTP`, `Anomaly`, `Hunting`, `Correlation`, ...
    #[serde(rename = "type", deserialize_with = "de::string")]
    pub kind: String,
    /// `production`, `experimental`, `deprecated`, ...
    #[serde(deserialize_with = "de::string")]
    pub status: String,
    /// Free-text description.
    #[serde(deserialize_with = "de::string")]
    pub description: String,
    /// The SPL search, with macros unexpanded.
    #[serde(deserialize_with = "de::string")]
    pub search: String,
    /// Data source names (`Sysmon EventID 1`, ...).
    #[serde(deserialize_with = "de::strings")]
    pub data_source: Vec<String>,
    /// Deployment guidance.
    #[serde(deserialize_with = "de::string")]
    pub how_to_implement: String,
    /// Known false positives, free text.
    #[serde(deserialize_with = "de::string")]
    pub known_false_positives: String,
    /// Reference URLs.
    #[serde(deserialize_with = "de::strings")]
    pub references: Vec<String>,
    /// Drill-down searches for the notable event.
    #[serde(deserialize_with = "de::list")]
    pub drilldown_searches: Vec<DrilldownSearch>,
    /// The `tags:` block (4.x risk configuration lives here).
    #[serde(deserialize_with = "tags")]
    pub tags: Tags,
    /// The 5.x `rba:` block, when present.
    pub rba: Option<RbaBlock>,
    /// The `deployment:` block older content carries (its `scheduling`), when it is a
    /// mapping; see [`Detection::schedule`].
    #[serde(deserialize_with = "crate::schedule::deployment")]
    pub deployment: Option<crate::schedule::Deployment>,
    /// contentctl unit tests: attack data to replay.
    #[serde(deserialize_with = "de::list")]
    pub tests: Vec<DetectionTest>,
    /// The file the detection was loaded from; `None` for the embedded default.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

fn tags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Tags, D::Error> {
    Ok(Option::<Tags>::deserialize(d)?.unwrap_or_default())
}

/// The `tags:` block of a detection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Tags {
    /// Analytic stories the detection belongs to.
    #[serde(deserialize_with = "de::strings")]
    pub analytic_story: Vec<String>,
    /// Asset type, e.g. `Endpoint`.
    #[serde(deserialize_with = "de::string")]
    pub asset_type: String,
    /// 4.x confidence, 0–100.
    #[serde(deserialize_with = "de::opt_u32")]
    pub confidence: Option<u32>,
    /// 4.x impact, 0–100.
    #[serde(deserialize_with = "de::opt_u32")]
    pub impact: Option<u32>,
    /// 4.x risk message with `$field$` tokens.
    #[serde(deserialize_with = "de::string")]
    pub message: String,
    /// ATT&CK technique ids, e.g. `T1218.007`.
    #[serde(deserialize_with = "de::strings")]
    pub mitre_attack_id: Vec<String>,
    /// 4.x observables (risk and threat objects).
    #[serde(deserialize_with = "de::list")]
    pub observable: Vec<Observable>,
    /// Products the detection ships for.
    #[serde(deserialize_with = "de::strings")]
    pub product: Vec<String>,
    /// Fields the search needs.
    #[serde(deserialize_with = "de::strings")]
    pub required_fields: Vec<String>,
    /// The risk score as written in the file. contentctl 4.x ignores it and computes
    /// `round(confidence × impact / 100)`; see [`Detection::risk_score`].
    #[serde(deserialize_with = "de::opt_f64")]
    pub risk_score: Option<f64>,
    /// `endpoint`, `network`, `threat`, `identity`, `access`, `audit`, `cloud`.
    #[serde(deserialize_with = "de::string")]
    pub security_domain: String,
    /// CVE ids (the key is also accepted as `CVE`).
    #[serde(alias = "CVE", deserialize_with = "de::strings")]
    pub cve: Vec<String>,
    /// Atomic Red Team test GUIDs.
    #[serde(deserialize_with = "de::strings")]
    pub atomic_guid: Vec<String>,
}

/// A 4.x observable: a result field with its entity type and roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Observable {
    /// The result field, e.g. `dest`.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// The YAML `type`: `User`, `Hostname`, `Process Name`, ...
    #[serde(rename = "type", deserialize_with = "de::string")]
    pub kind: String,
    /// `Victim` (a risk object), `Attacker` (a threat object), ...
    #[serde(deserialize_with = "de::strings")]
    pub role: Vec<String>,
}

/// The 5.x `rba:` block.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct RbaBlock {
    /// Risk message with `$field$` tokens.
    #[serde(deserialize_with = "de::string")]
    pub message: String,
    /// Risk objects.
    #[serde(deserialize_with = "de::list")]
    pub risk_objects: Vec<RbaRiskObject>,
    /// Threat objects.
    #[serde(deserialize_with = "de::list")]
    pub threat_objects: Vec<RbaThreatObject>,
}

/// A risk object of an `rba:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RbaRiskObject {
    /// The result field.
    #[serde(deserialize_with = "de::string")]
    pub field: String,
    /// The YAML `type`: `user`, `system` or `other`.
    #[serde(rename = "type", deserialize_with = "de::string")]
    pub kind: String,
    /// The risk score given to this object.
    #[serde(deserialize_with = "de::opt_u32")]
    pub score: Option<u32>,
}

/// A threat object of an `rba:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RbaThreatObject {
    /// The result field.
    #[serde(deserialize_with = "de::string")]
    pub field: String,
    /// The YAML `type`, e.g. `process_name`.
    #[serde(rename = "type", deserialize_with = "de::string")]
    pub kind: String,
}

/// One `drilldown_searches` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DrilldownSearch {
    /// Title shown in Enterprise Security.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// The search, with `$field$` and `%original_detection_search%` placeholders.
    #[serde(deserialize_with = "de::string")]
    pub search: String,
    /// Earliest time, usually `$info_min_time$`.
    #[serde(deserialize_with = "de::string")]
    pub earliest_offset: String,
    /// Latest time, usually `$info_max_time$`.
    #[serde(deserialize_with = "de::string")]
    pub latest_offset: String,
}

/// One contentctl test of a detection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct DetectionTest {
    /// Test name, e.g. `True Positive Test`.
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// The data to replay.
    #[serde(deserialize_with = "de::list")]
    pub attack_data: Vec<AttackData>,
}

/// One attack-data file of a test. `update_timestamp` is accepted and ignored (spec 8.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct AttackData {
    /// URL or local path of the data file.
    #[serde(deserialize_with = "de::string")]
    pub data: String,
    /// Splunk `source` to replay with.
    #[serde(deserialize_with = "de::string")]
    pub source: String,
    /// Splunk `sourcetype` to replay with.
    #[serde(deserialize_with = "de::string")]
    pub sourcetype: String,
    /// Index to replay into instead of the test index.
    #[serde(deserialize_with = "de::opt_string")]
    pub custom_index: Option<String>,
    /// `host` to replay with.
    #[serde(deserialize_with = "de::opt_string")]
    pub host: Option<String>,
}

impl Detection {
    /// The filter macro contentctl generates for the detection and requires its search to call:
    /// the detection's `name` lower-cased, with spaces, `-`, `.` and `/` replaced by `_`, then
    /// `_filter` (contentctl `SecurityContentObject_Abstract.contentNameToFileName`, used by
    /// `Detection_Abstract.getDetectionMacros` and `validate_presence_of_filter_macro`). It
    /// follows the name, not the file: a detection copied to another file name keeps its filter
    /// macro. contentctl also requires the file name to be the same derivation of the name, so in
    /// ESCU the two agree.
    pub fn filter_macro_name(&self) -> String {
        let mut slug = String::with_capacity(self.name.len() + 7);
        for c in self.name.chars() {
            if matches!(c, ' ' | '-' | '.' | '/') {
                slug.push('_');
            } else {
                slug.extend(c.to_lowercase());
            }
        }
        slug.push_str("_filter");
        slug
    }

    /// The filter macro the search calls: the last `` `name_filter` `` invocation (without
    /// arguments) in the search as written, if any. Found from each `` _filter` `` back to the
    /// opening backtick, so backticks inside string literals elsewhere in the search (ESCU has
    /// `split(process,"`")`) do not mislead it.
    pub fn filter_macro_called(&self) -> Option<&str> {
        let search = self.search.as_str();
        search
            .rmatch_indices("_filter`")
            .filter_map(|(at, _)| {
                let open = search[..at].rfind('`')?;
                let name = &search[open + 1..at + "_filter".len()];
                let plain = name.len() > "_filter".len()
                    && !name.contains(|c: char| c.is_whitespace() || c == '(' || c == '"');
                plain.then_some(name)
            })
            .next()
    }

    /// The saved-search name contentctl gives the detection: `ESCU - <name> - Rule`.
    pub fn search_name(&self) -> String {
        format!("ESCU - {} - Rule", self.name)
    }
}
