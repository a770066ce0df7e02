//! The effective risk-based-alerting configuration of a detection (spec 7.2).
//!
//! A 5.x detection states it in its `rba:` block. A 4.x detection states observables in `tags`,
//! which contentctl 4.x translates; this module repeats that translation.
//!
//! Score decision: for a 4.x detection the score is always `round(confidence × impact / 100)`,
//! rounded half to even like Python's `round`, because contentctl 4.x computes it that way and
//! never reads `tags.risk_score` (in ESCU the two disagree for a handful of detections, and
//! Splunk uses the computed value). `tags.risk_score` is used only when `confidence` or
//! `impact` is missing.

use crate::detection::{Detection, Observable};

/// The risk configuration Splunk would run the detection with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskConfig {
    /// The risk message, with `$field$` tokens.
    pub message: String,
    /// Risk objects, in the order the YAML lists them.
    pub risk_objects: Vec<RiskObject>,
    /// Threat objects, in the order the YAML lists them.
    pub threat_objects: Vec<ThreatObject>,
}

/// A result field whose value receives risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskObject {
    /// The result field, e.g. `dest`.
    pub field: String,
    /// `user`, `system` or `other`.
    pub kind: RiskObjectKind,
    /// The score each risk event for this object carries.
    pub score: u32,
}

/// The type of a risk object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RiskObjectKind {
    /// A user account.
    User,
    /// A host or address.
    System,
    /// Anything else.
    Other,
}

impl RiskObjectKind {
    /// The Splunk spelling: `user`, `system`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskObjectKind::User => "user",
            RiskObjectKind::System => "system",
            RiskObjectKind::Other => "other",
        }
    }

    /// Parses a 5.x `rba.risk_objects[].type`; an unknown type is `other`.
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "user" => RiskObjectKind::User,
            "system" => RiskObjectKind::System,
            _ => RiskObjectKind::Other,
        }
    }
}

impl std::fmt::Display for RiskObjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A result field recorded on risk events as a threat object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreatObject {
    /// The result field, e.g. `process_name`.
    pub field: String,
    /// The threat-object type, e.g. `process` (4.x) or `process_name` (5.x).
    pub kind: String,
}

/// Notable-event severity, derived from the risk score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Score 0–20.
    Informational,
    /// Score 21–40.
    Low,
    /// Score 41–60.
    Medium,
    /// Score 61–80.
    High,
    /// Score 81 and above.
    Critical,
}

impl Severity {
    /// The severity contentctl assigns to a risk score.
    pub fn from_score(score: u32) -> Self {
        match score {
            0..=20 => Severity::Informational,
            21..=40 => Severity::Low,
            41..=60 => Severity::Medium,
            61..=80 => Severity::High,
            _ => Severity::Critical,
        }
    }

    /// The Splunk spelling: `informational`, `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `round(confidence × impact / 100)` with Python's round-half-to-even, as contentctl 4.x.
pub fn v4_risk_score(confidence: u32, impact: u32) -> u32 {
    let product = f64::from(confidence) * f64::from(impact) / 100.0;
    // Both inputs are u32, so the result is finite and non-negative; the cast saturates.
    product.round_ties_even() as u32
}

impl Detection {
    /// The score of the detection's risk objects. 5.x: the highest object score (0 without risk
    /// objects). 4.x: `round(confidence × impact / 100)`, or `tags.risk_score` (rounded) when
    /// confidence or impact is missing, else 0. See the module documentation.
    pub fn risk_score(&self) -> u32 {
        if let Some(rba) = &self.rba {
            return rba
                .risk_objects
                .iter()
                .map(|o| o.score.unwrap_or(0))
                .max()
                .unwrap_or(0);
        }
        match (self.tags.confidence, self.tags.impact) {
            (Some(c), Some(i)) => v4_risk_score(c, i),
            _ => match self.tags.risk_score {
                Some(s) if s > 0.0 => s.round_ties_even().min(f64::from(u32::MAX)) as u32,
                _ => 0,
            },
        }
    }

    /// The notable-event severity for [`Detection::risk_score`].
    pub fn severity(&self) -> Severity {
        Severity::from_score(self.risk_score())
    }

    /// The effective risk configuration: the `rba:` block when present, else the translation
    /// of `tags.observable` that contentctl 4.x makes.
    pub fn rba(&self) -> RiskConfig {
        if let Some(rba) = &self.rba {
            return RiskConfig {
                message: rba.message.clone(),
                risk_objects: rba
                    .risk_objects
                    .iter()
                    .map(|o| RiskObject {
                        field: o.field.clone(),
                        kind: RiskObjectKind::parse(&o.kind),
                        score: o.score.unwrap_or(0),
                    })
                    .collect(),
                threat_objects: rba
                    .threat_objects
                    .iter()
                    .map(|o| ThreatObject {
                        field: o.field.clone(),
                        kind: o.kind.clone(),
                    })
                    .collect(),
            };
        }
        let score = self.risk_score();
        let mut risk_objects = Vec::new();
        let mut threat_objects = Vec::new();
        for observable in &self.tags.observable {
            match translate_observable(observable, score) {
                Translated::Risk(r) => risk_objects.push(r),
                Translated::Threat(t) => threat_objects.push(t),
            }
        }
        RiskConfig {
            message: self.tags.message.clone(),
            risk_objects,
            threat_objects,
        }
    }
}

enum Translated {
    Risk(RiskObject),
    Threat(ThreatObject),
}

/// contentctl 4.x's observable translation (`detection_abstract.py`, `risk`): a Victim of a
/// user or system type is a risk object of that kind; otherwise an Attacker is a threat object;
/// anything else is an `other` risk object. Types and roles compare case-insensitively.
fn translate_observable(o: &Observable, score: u32) -> Translated {
    let kind = o.kind.trim().to_ascii_lowercase();
    let has_role = |role: &str| o.role.iter().any(|r| r.trim().eq_ignore_ascii_case(role));
    let risk = |kind| {
        Translated::Risk(RiskObject {
            field: o.name.clone(),
            kind,
            score,
        })
    };
    let victim = has_role("victim");
    if victim && matches!(kind.as_str(), "user" | "username" | "email address") {
        return risk(RiskObjectKind::User);
    }
    if victim
        && matches!(
            kind.as_str(),
            "hostname" | "endpoint" | "device" | "ip address"
        )
    {
        return risk(RiskObjectKind::System);
    }
    if has_role("attacker") {
        let threat = if matches!(kind.as_str(), "process" | "process name") {
            "process".to_owned()
        } else if kind.starts_with("file") {
            "file_name".to_owned()
        } else if kind.starts_with("url") {
            "url".to_owned()
        } else if kind == "ip address" {
            "ip_address".to_owned()
        } else {
            kind
        };
        return Translated::Threat(ThreatObject {
            field: o.name.clone(),
            kind: threat,
        });
    }
    risk(RiskObjectKind::Other)
}
