//! ATT&CK tactics, kill-chain phases and the correlation-search annotations (spec 7.2, 7.4).
//!
//! The technique → tactics table is `embedded/attack_tactics.tsv`, compiled in. A sub-technique
//! (`T1218.007`) uses its own line when there is one, else its parent's (`T1218`).

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::detection::Detection;

const ATTACK_TSV: &str = include_str!("../embedded/attack_tactics.tsv");

static ATTACK_TABLE: LazyLock<HashMap<&'static str, Vec<&'static str>>> =
    LazyLock::new(|| parse_table(ATTACK_TSV));

/// Parses `<id> TAB <tactic>|<tactic>` lines; comments, blank and malformed lines are skipped
/// (a test checks the embedded file has no malformed lines).
fn parse_table(text: &'static str) -> HashMap<&'static str, Vec<&'static str>> {
    text.lines()
        .filter_map(parse_line)
        .collect::<HashMap<_, _>>()
}

fn parse_line(line: &'static str) -> Option<(&'static str, Vec<&'static str>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (id, tactics) = line.split_once('\t')?;
    let tactics: Vec<&str> = tactics
        .split('|')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    (!tactics.is_empty()).then_some((id.trim(), tactics))
}

/// The ATT&CK tactics of a technique id (`T1218.007` or `T1218`, case-insensitive): the
/// sub-technique's own entry if the table has one, else its parent's. `None` for an unknown id.
pub fn tactics_for(technique: &str) -> Option<&'static [&'static str]> {
    let id = technique.trim().to_ascii_uppercase();
    if let Some(t) = ATTACK_TABLE.get(id.as_str()) {
        return Some(t);
    }
    let (parent, _) = id.split_once('.')?;
    ATTACK_TABLE.get(parent).map(Vec::as_slice)
}

/// The Lockheed Martin kill-chain phase contentctl assigns to an ATT&CK tactic
/// (case-insensitive). The newer tactic names `Stealth` and `Defense Impairment` map like
/// `Defense Evasion` (spec 7.4).
pub fn kill_chain_phase(tactic: &str) -> Option<&'static str> {
    let phase = match tactic.trim().to_ascii_lowercase().as_str() {
        "reconnaissance" => "Reconnaissance",
        "resource development" => "Weaponization",
        "initial access" => "Delivery",
        "execution" | "persistence" => "Installation",
        "privilege escalation"
        | "defense evasion"
        | "stealth"
        | "defense impairment"
        | "credential access"
        | "discovery"
        | "lateral movement"
        | "collection" => "Exploitation",
        "command and control" => "Command and Control",
        "exfiltration" | "impact" => "Actions on Objectives",
        _ => return None,
    };
    Some(phase)
}

/// The `action.correlationsearch.annotations` contentctl writes for a detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotations {
    /// Technique ids as written in `tags.mitre_attack_id`.
    pub mitre_attack: Vec<String>,
    /// Tactics of those techniques, de-duplicated and sorted.
    pub mitre_tactics: Vec<String>,
    /// Kill-chain phases of those tactics, de-duplicated and sorted.
    pub kill_chain_phases: Vec<String>,
    /// `["CIS 13"]` for the `network` security domain, else `["CIS 10"]`.
    pub cis20: Vec<String>,
    /// `["DE.CM"]` for a TTP, else `["DE.AE"]`.
    pub nist: Vec<String>,
    /// The analytic stories.
    pub analytic_story: Vec<String>,
    /// 4.x confidence, when the detection has one.
    pub confidence: Option<u32>,
    /// 4.x impact, when the detection has one.
    pub impact: Option<u32>,
    /// The detection type (`TTP`, `Anomaly`, ...).
    pub kind: String,
}

impl Detection {
    /// The correlation-search annotations (spec 7.2, 7.4).
    pub fn annotations(&self) -> Annotations {
        let mut tactics: Vec<String> = self
            .tags
            .mitre_attack_id
            .iter()
            .filter_map(|id| tactics_for(id))
            .flatten()
            .map(|t| (*t).to_owned())
            .collect();
        tactics.sort();
        tactics.dedup();
        let mut phases: Vec<String> = tactics
            .iter()
            .filter_map(|t| kill_chain_phase(t))
            .map(str::to_owned)
            .collect();
        phases.sort();
        phases.dedup();
        let network = self
            .tags
            .security_domain
            .trim()
            .eq_ignore_ascii_case("network");
        let ttp = self.kind.trim().eq_ignore_ascii_case("ttp");
        Annotations {
            mitre_attack: self.tags.mitre_attack_id.clone(),
            mitre_tactics: tactics,
            kill_chain_phases: phases,
            cis20: vec![if network { "CIS 13" } else { "CIS 10" }.to_owned()],
            nist: vec![if ttp { "DE.CM" } else { "DE.AE" }.to_owned()],
            analytic_story: self.tags.analytic_story.clone(),
            confidence: self.tags.confidence,
            impact: self.tags.impact,
            kind: self.kind.clone(),
        }
    }

    /// Technique ids in `tags.mitre_attack_id` that the ATT&CK table does not know.
    pub fn unknown_attack_ids(&self) -> Vec<&str> {
        self.tags
            .mitre_attack_id
            .iter()
            .map(String::as_str)
            .filter(|id| tactics_for(id).is_none())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_table_line_is_well_formed() {
        for (n, line) in ATTACK_TSV.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (id, tactics) =
                parse_line(line).unwrap_or_else(|| panic!("line {} is malformed: {line:?}", n + 1));
            assert!(
                id.starts_with('T') && id[1..].split('.').all(|p| p.parse::<u32>().is_ok()),
                "line {}: bad technique id {id:?}",
                n + 1
            );
            for t in tactics {
                assert!(
                    kill_chain_phase(t).is_some(),
                    "line {}: unknown tactic {t:?}",
                    n + 1
                );
            }
        }
    }

    #[test]
    fn sub_technique_falls_back_to_parent_tactics() {
        assert_eq!(tactics_for("T1218.007"), Some(&["Defense Evasion"][..]));
        assert_eq!(tactics_for("t1218"), Some(&["Defense Evasion"][..]));
        assert_eq!(tactics_for("T9999.001"), None);
        assert_eq!(tactics_for("not-an-id"), None);
    }

    #[test]
    fn multi_tactic_technique_yields_all_kill_chain_phases() {
        let mut d = Detection::default();
        d.tags.mitre_attack_id = vec!["T1053.005".into(), "T1059.001".into()];
        let a = d.annotations();
        assert_eq!(
            a.mitre_tactics,
            ["Execution", "Persistence", "Privilege Escalation"]
        );
        assert_eq!(a.kill_chain_phases, ["Exploitation", "Installation"]);
        assert_eq!(a.nist, ["DE.AE"]);
        assert_eq!(a.cis20, ["CIS 10"]);
    }

    #[test]
    fn network_domain_maps_to_cis_13() {
        let mut d = Detection::default();
        d.tags.security_domain = "network".into();
        d.kind = "TTP".into();
        let a = d.annotations();
        assert_eq!(a.cis20, ["CIS 13"]);
        assert_eq!(a.nist, ["DE.CM"]);
    }

    #[test]
    fn unknown_technique_is_reported_and_contributes_no_tactic() {
        let mut d = Detection::default();
        d.tags.mitre_attack_id = vec!["T1218.007".into(), "T0000".into()];
        assert_eq!(d.unknown_attack_ids(), ["T0000"]);
        assert_eq!(d.annotations().mitre_tactics, ["Defense Evasion"]);
    }
}
