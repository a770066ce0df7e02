//! The mixed corpus's manifest, written next to it (`FILE.manifest`): what was generated, how
//! many events of each type, and per planted detection how many true positives and near misses
//! were planted and how many events of the corpus satisfy it. A later test reads it to check
//! that cimhunt finds every planted event.
//!
//! Format: UTF-8 text, one fact per line, fields separated by tabs; lines starting with `#` are
//! comments:
//!
//! ```text
//! seed        <n>
//! hosts       <n>
//! plant_every <n>
//! events      <n>
//! bytes       <n>
//! redrawn     <n>
//! kind        <sysmon:1 | security:4624 | …>  <events>
//! detection   <name>  <file under detections/endpoint>  <data model or macro>  <planted>  <near misses>  <matching events>
//! ```
//!
//! (shown with spaces; the file has one tab between fields)

use std::fmt::Write;

use super::kind::Kind;
use super::planted::DETECTIONS;

/// Per planted detection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectionCounts {
    pub name: String,
    pub file: String,
    pub source: String,
    /// True positives planted for it.
    pub planted: u64,
    /// Near misses planted for it.
    pub near_misses: u64,
    /// Events of the corpus that satisfy its search (its own plants, and those of detections
    /// whose plants it also matches).
    pub matching: u64,
}

/// What a mixed corpus holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MixedManifest {
    pub seed: u64,
    pub hosts: u64,
    /// A true positive every this many events.
    pub plant_every: u64,
    pub events: u64,
    pub bytes: u64,
    /// Background events drawn again because they satisfied a planted detection.
    pub redrawn: u64,
    /// Events per type, in [`Kind::ALL`] order.
    pub kinds: Vec<(Kind, u64)>,
    pub detections: Vec<DetectionCounts>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {message}")]
pub struct ManifestError {
    pub line: usize,
    pub message: String,
}

impl MixedManifest {
    /// An empty manifest listing every kind and planted detection.
    pub fn new(seed: u64, hosts: u64) -> MixedManifest {
        MixedManifest {
            seed,
            hosts,
            kinds: Kind::ALL.iter().map(|&k| (k, 0)).collect(),
            detections: DETECTIONS
                .iter()
                .map(|d| DetectionCounts {
                    name: d.name.to_owned(),
                    file: d.file.to_owned(),
                    source: d.source.to_owned(),
                    ..DetectionCounts::default()
                })
                .collect(),
            ..MixedManifest::default()
        }
    }

    /// Events of one type.
    pub fn count(&self, kind: Kind) -> u64 {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// Sysmon 1 plus Security 4688: what `cimhunt events` prints.
    pub fn process_starts(&self) -> u64 {
        self.count(Kind::Sysmon1) + self.count(Kind::Security4688)
    }

    /// The manifest as text.
    pub fn to_text(&self) -> String {
        let mut s = String::from(
            "# cimhunt-bench mixed corpus manifest: one fact per line, tab-separated\n",
        );
        let _ = writeln!(s, "seed\t{}", self.seed);
        let _ = writeln!(s, "hosts\t{}", self.hosts);
        let _ = writeln!(s, "plant_every\t{}", self.plant_every);
        let _ = writeln!(s, "events\t{}", self.events);
        let _ = writeln!(s, "bytes\t{}", self.bytes);
        let _ = writeln!(s, "redrawn\t{}", self.redrawn);
        for (k, n) in &self.kinds {
            let _ = writeln!(s, "kind\t{}\t{n}", k.label());
        }
        s.push_str("# detection\tname\tfile\tsource\tplanted\tnear misses\tmatching events\n");
        for d in &self.detections {
            let _ = writeln!(
                s,
                "detection\t{}\t{}\t{}\t{}\t{}\t{}",
                d.name, d.file, d.source, d.planted, d.near_misses, d.matching
            );
        }
        s
    }

    /// Reads a manifest written by [`Self::to_text`].
    pub fn parse(text: &str) -> Result<MixedManifest, ManifestError> {
        let mut m = MixedManifest::default();
        for (i, line) in text.lines().enumerate() {
            let error = |message: &str| ManifestError {
                line: i + 1,
                message: message.to_owned(),
            };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let number = |j: usize| -> Result<u64, ManifestError> {
                fields
                    .get(j)
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| error(&format!("field {} is not a number", j + 1)))
            };
            match fields[0] {
                "seed" => m.seed = number(1)?,
                "hosts" => m.hosts = number(1)?,
                "plant_every" => m.plant_every = number(1)?,
                "events" => m.events = number(1)?,
                "bytes" => m.bytes = number(1)?,
                "redrawn" => m.redrawn = number(1)?,
                "kind" => {
                    let kind = fields
                        .get(1)
                        .and_then(|l| Kind::from_label(l))
                        .ok_or_else(|| error("unknown event type"))?;
                    m.kinds.push((kind, number(2)?));
                }
                "detection" if fields.len() == 7 => m.detections.push(DetectionCounts {
                    name: fields[1].to_owned(),
                    file: fields[2].to_owned(),
                    source: fields[3].to_owned(),
                    planted: number(4)?,
                    near_misses: number(5)?,
                    matching: number(6)?,
                }),
                other => return Err(error(&format!("unexpected line `{other}`"))),
            }
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let mut m = MixedManifest::new(7, 2_000);
        m.events = 12;
        m.bytes = 3_456;
        m.kinds[0].1 = 5;
        m.detections[1].planted = 2;
        m.detections[1].matching = 3;
        assert_eq!(MixedManifest::parse(&m.to_text()), Ok(m));
    }

    #[test]
    fn bad_lines_are_named() {
        let e = MixedManifest::parse("seed\t1\nevents\tmany\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
