//! Which detections run on which schedule, and the shared record of each schedule's progress.
//!
//! ES runs every ESCU detection as a scheduled search; the scheduling itself (cron times, the
//! `earliest_time`/`latest_time` window, anchoring, catching up missed periods in order) is
//! `cimhunt serve`'s [`cimhunt_serve::schedule::Scheduler`], reused as is. What the cluster adds:
//! detections with the same schedule form one [`Group`], reduced together (their windows are
//! the same, so the partial states of a window are read once for all of them), and each group's
//! last committed window lives in the state bucket (`window.<group>`), advanced by
//! compare-and-set, so that any worker can take over the schedule where another left it.
//!
//! Each detection's schedule comes from its content ([`ClusterJob::schedules`]: its
//! `deployment.scheduling`, else contentctl's default for its type; see `docs/serve.md`,
//! "Scheduling"), the same rule `cimhunt serve` follows. Every detection of the checked-out
//! ESCU content gets the hourly default, so there it makes one group.

use cimhunt_serve::{DetectionId, ScheduledDetection};
use serde::{Deserialize, Serialize};

use crate::job::ClusterJob;
use crate::publish::short_hash;

/// Detections that share a schedule.
#[derive(Debug, Clone)]
pub struct Group {
    /// `g` and a hash of the schedule.
    pub id: String,
    /// The schedule (its `id` is the group's).
    pub schedule: ScheduledDetection,
    /// Indexes of the job's detections.
    pub members: Vec<usize>,
}

/// The groups of a job.
pub fn groups(job: &ClusterJob) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (d, s) in job.schedules().iter().enumerate() {
        let s = s.clone();
        let key = format!(
            "{}|{}|{}",
            s.cron_schedule,
            s.earliest.text(),
            s.latest.text()
        );
        match out.iter_mut().find(|g| {
            g.schedule.cron_schedule == s.cron_schedule
                && g.schedule.earliest == s.earliest
                && g.schedule.latest == s.latest
        }) {
            Some(g) => g.members.push(d),
            None => {
                let id = format!("g{}", &short_hash(key.as_bytes())[..8]);
                out.push(Group {
                    schedule: ScheduledDetection {
                        id: DetectionId::new(id.clone()),
                        ..s
                    },
                    id,
                    members: vec![d],
                });
            }
        }
    }
    out
}

/// A group's progress as kept in the state bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRecord {
    /// The cron schedule.
    pub cron: String,
    /// `earliest_time`.
    pub earliest: String,
    /// `latest_time`.
    pub latest: String,
    /// The scheduled time of the last committed window (epoch seconds).
    pub last: i64,
    /// Its window's end (epoch seconds): partial states before it are no longer needed.
    pub last_latest: Option<i64>,
    /// The clock the reducers run on (`wall`, `events`).
    pub clock: String,
}

/// The state-bucket key of a group's record.
pub fn window_key(group: &str) -> String {
    format!("window.{group}")
}

/// The state-bucket key of the events clock.
pub const CLOCK_KEY: &str = "clock";

/// The events clock: the first and last time buckets (start, epoch seconds) that received a
/// live event matching a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventClock {
    /// The earliest bucket.
    pub min: i64,
    /// The latest bucket.
    pub max: i64,
}

impl EventClock {
    /// Both clocks' span.
    pub fn merge(self, other: EventClock) -> EventClock {
        EventClock {
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use cimhunt_engine::{Job, Options};
    use cimhunt_model::Model;
    use cimhunt_spl::{MacroSet, compile};

    use super::*;

    fn cluster_job(yamls: &[&str]) -> Result<ClusterJob, crate::ClusterError> {
        let model = Arc::new(Model::escu().unwrap());
        let mut b = Job::builder(Arc::clone(&model));
        let mut detections = Vec::new();
        for y in yamls {
            let d = cimhunt_content::parse_detection(y, Path::new("d.yml")).unwrap();
            let c = compile(&d.search, &MacroSet::new(), model.as_ref()).unwrap();
            b = b.detection(d.name.clone(), c.plan, &c.expanded);
            detections.push(d);
        }
        ClusterJob::new(
            Arc::new(b.build().unwrap()),
            detections,
            Options::default(),
            "t",
        )
    }

    #[test]
    fn groups_follow_each_detections_schedule_from_its_content() {
        let job = cluster_job(&[
            "name: A\ntype: TTP\nsearch: 'index=main a'\n",
            "name: B\ntype: TTP\nsearch: 'index=main b'\ndeployment:\n  scheduling:\n    cron_schedule: '*/15 * * * *'\n    earliest_time: -20m@m\n    latest_time: -5m@m\n",
            "name: C\ntype: Anomaly\nsearch: 'index=main c'\n",
        ])
        .unwrap();
        let g = groups(&job);
        assert_eq!(g.len(), 2, "{g:?}");
        let hourly = g.iter().find(|g| g.schedule.cron_schedule == "0 * * * *");
        assert_eq!(hourly.map(|g| g.members.clone()), Some(vec![0, 2]));
        let own = g.iter().find(|g| g.members == [1]).unwrap();
        assert_eq!(own.schedule.cron_schedule, "*/15 * * * *");
        assert_eq!(own.schedule.earliest.text(), "-20m@m");
        assert_eq!(own.schedule.latest.text(), "-5m@m");
    }

    #[test]
    fn a_detection_whose_schedule_does_not_parse_is_refused_by_name() {
        let e = cluster_job(&[
            "name: Bad\nsearch: 'index=main a'\ndeployment:\n  scheduling:\n    cron_schedule: 'every hour'\n",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("detection `Bad`"), "{e}");
    }
}
