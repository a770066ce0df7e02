//! When Enterprise Security runs a detection: its saved search's `cron_schedule`,
//! `dispatch.earliest_time` and `dispatch.latest_time`.
//!
//! contentctl writes them into `savedsearches.conf` from the detection's deployment
//! (`contentctl/output/templates/savedsearches_detections.j2`: `cron_schedule =
//! {{ detection.deployment.scheduling.cron_schedule }}`, and the same for `earliest_time` and
//! `latest_time`). A detection's deployment is, in order:
//! 1. its own `deployment:` block with a `scheduling:` mapping, as older ESCU detection YAMLs
//!    carried (`deployment: { scheduling: { cron_schedule, earliest_time, latest_time } }`);
//!    a key it leaves out falls back to 2;
//! 2. contentctl's default deployment for the detection's `type`
//!    (`contentctl/templates/deployments/escu_default_configuration_<type>.yml`): `Baseline`
//!    runs daily at 00:10 (`10 0 * * *`) over `-1450m@m` to `-10m@m`; `TTP`, `Anomaly`,
//!    `Hunting`, `Correlation` and anything else hourly at minute 0 (`0 * * * *`) over
//!    `-70m@m` to `-10m@m`.
//!
//! The ESCU checkout this project is tested against has no `deployment:` block in any
//! detection and no `deployments/` directory, so every detection there gets 2.

use serde::Deserialize;

use crate::de;
use crate::detection::Detection;

/// ESCU's default `cron_schedule` for detections: hourly at minute 0.
pub const ESCU_CRON: &str = "0 * * * *";
/// ESCU's default `earliest_time`.
pub const ESCU_EARLIEST: &str = "-70m@m";
/// ESCU's default `latest_time`.
pub const ESCU_LATEST: &str = "-10m@m";

/// A detection YAML's `deployment:` block (older content).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Deployment {
    /// Its `scheduling:` mapping.
    pub scheduling: Option<Scheduling>,
}

/// A `deployment:` value: a mapping is read, anything else (a name, `null`) is ignored, as the
/// permissive model ignores what it does not know.
pub(crate) fn deployment<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Deployment>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        Block(Deployment),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Option::<Lenient>::deserialize(d)? {
        Some(Lenient::Block(b)) => Some(b),
        Some(Lenient::Other(_)) | None => None,
    })
}

/// A `deployment.scheduling` mapping; each key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Scheduling {
    /// `cron_schedule`.
    #[serde(deserialize_with = "de::opt_string")]
    pub cron_schedule: Option<String>,
    /// `earliest_time`.
    #[serde(deserialize_with = "de::opt_string")]
    pub earliest_time: Option<String>,
    /// `latest_time`.
    #[serde(deserialize_with = "de::opt_string")]
    pub latest_time: Option<String>,
}

/// Where a detection's schedule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScheduleOrigin {
    /// Its own `deployment.scheduling` (completed from the type's default where it is partial).
    Detection,
    /// contentctl's default deployment for its type.
    TypeDefault,
}

/// A detection's schedule, as `savedsearches.conf` would hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// `cron_schedule`: a 5-field cron expression.
    pub cron_schedule: String,
    /// `dispatch.earliest_time`: a relative time modifier.
    pub earliest_time: String,
    /// `dispatch.latest_time`: a relative time modifier.
    pub latest_time: String,
    /// Where it came from.
    pub origin: ScheduleOrigin,
}

impl Schedule {
    /// contentctl's default deployment's schedule for a detection `type`.
    pub fn type_default(kind: &str) -> Schedule {
        let (cron, earliest, latest) = if kind.eq_ignore_ascii_case("baseline") {
            ("10 0 * * *", "-1450m@m", "-10m@m")
        } else {
            (ESCU_CRON, ESCU_EARLIEST, ESCU_LATEST)
        };
        Schedule {
            cron_schedule: cron.to_owned(),
            earliest_time: earliest.to_owned(),
            latest_time: latest.to_owned(),
            origin: ScheduleOrigin::TypeDefault,
        }
    }
}

impl Detection {
    /// The detection's schedule (see the module documentation for the rule).
    pub fn schedule(&self) -> Schedule {
        let mut s = Schedule::type_default(&self.kind);
        let Some(own) = self.deployment.as_ref().and_then(|d| d.scheduling.as_ref()) else {
            return s;
        };
        fn nonempty(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        for (slot, v) in [
            (&mut s.cron_schedule, nonempty(&own.cron_schedule)),
            (&mut s.earliest_time, nonempty(&own.earliest_time)),
            (&mut s.latest_time, nonempty(&own.latest_time)),
        ] {
            if let Some(v) = v {
                *slot = v.to_owned();
                s.origin = ScheduleOrigin::Detection;
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_detection;
    use std::path::Path;

    fn detection(extra: &str) -> Detection {
        let yaml = format!("name: D\nsearch: '| tstats count'\ntype: TTP\n{extra}");
        parse_detection(&yaml, Path::new("d.yml")).unwrap()
    }

    #[test]
    fn a_detections_own_scheduling_gives_its_schedule() {
        let d = detection(
            "deployment:\n  scheduling:\n    cron_schedule: '*/15 * * * *'\n    earliest_time: -20m@m\n    latest_time: -5m@m\n",
        );
        let s = d.schedule();
        assert_eq!(
            (
                s.cron_schedule.as_str(),
                s.earliest_time.as_str(),
                s.latest_time.as_str()
            ),
            ("*/15 * * * *", "-20m@m", "-5m@m")
        );
        assert_eq!(s.origin, ScheduleOrigin::Detection);
        // A partial block keeps the type's default for what it leaves out.
        let d = detection("deployment:\n  scheduling:\n    earliest_time: -1d@d\n");
        let s = d.schedule();
        assert_eq!(
            (
                s.cron_schedule.as_str(),
                s.earliest_time.as_str(),
                s.latest_time.as_str()
            ),
            (ESCU_CRON, "-1d@d", ESCU_LATEST)
        );
    }

    #[test]
    fn without_scheduling_the_types_default_deployment_applies() {
        let s = detection("").schedule();
        assert_eq!(s, Schedule::type_default("TTP"));
        assert_eq!(s.cron_schedule, ESCU_CRON);
        assert_eq!(s.origin, ScheduleOrigin::TypeDefault);
        assert_eq!(detection("deployment: ESCU Default\n").schedule(), s);
        let b = Schedule::type_default("Baseline");
        assert_eq!(
            (b.cron_schedule.as_str(), b.earliest_time.as_str()),
            ("10 0 * * *", "-1450m@m")
        );
    }
}
