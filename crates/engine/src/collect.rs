//! Merging states that arrive from elsewhere, within the run's state budget.
//!
//! A cluster's batch run (`hunt --nats`) receives every detection's partial states from its
//! workers, message after message, and merges them into the states a local run would have
//! finished with. Held whole, they grow with the input: the whole library's states over a few
//! GiB of a fleet's events are hundreds of MiB. A [`Collector`] merges them as a local run's
//! workers do and, after each message, writes the largest states beyond [`SpillOptions`]'s
//! budget to the same kind of temporary file; [`Collector::finish`] hands over [`Finals`],
//! which merge each detection's parts back as it is finished, so the rows are the same.
//!
//! Key design decision: detections that share a plan share one state here too. A partial
//! arrives once per plan; it is merged once, into the state of the first detection with that
//! plan, and the others get a copy of the merged state (and read its parts on disk) when the
//! collector finishes, as a local run gives detections whose state it shared.

use std::collections::HashMap;
use std::sync::Arc;

use crate::job::Job;
use crate::spill::{Finals, SpillFile, SpillOptions, SpillReport};
use crate::state::{State, StateError};

/// Every detection's state, merged from parts as they arrive; see the module documentation.
#[derive(Debug)]
pub struct Collector {
    states: Vec<State>,
    /// Whose state a detection's parts are merged into: its own, or the first detection with
    /// its plan.
    owner: Vec<usize>,
    spill: Option<Arc<SpillFile>>,
}

impl Collector {
    /// Empty states for `job`'s detections; with `spill`, states beyond its budget go to disk.
    pub fn new(job: &Job, spill: Option<&SpillOptions>) -> Collector {
        let n = job.detections().len();
        Collector {
            states: job
                .detections()
                .iter()
                .map(|d| State::new(d.agg().is_some()))
                .collect(),
            owner: (0..n).collect(),
            spill: spill.map(|s| Arc::new(SpillFile::new(s, 1))),
        }
    }

    /// Among `members` (detections of the job), those with the same plan share one state:
    /// parts given for any of them are merged once, into the state of the first in the job's
    /// order, and the others get a copy of it at the end.
    pub fn share_plans(&mut self, job: &Job, members: &[usize]) {
        let mut members = members.to_vec();
        members.sort_unstable();
        let mut first: HashMap<&str, usize> = HashMap::new();
        for d in members {
            let o = *first.entry(job.detections()[d].fingerprint()).or_insert(d);
            self.owner[d] = o;
        }
    }

    /// Merges a part of detection `d`'s state (of every detection sharing its plan). A part
    /// decoded from a message counts what it adds as it is merged ([`State::approx_bytes`]).
    pub fn merge(&mut self, job: &Job, d: usize, part: State) -> Result<(), StateError> {
        let o = self.owner[d];
        self.states[o].merge(job.detections()[o].agg(), part)
    }

    /// After a message: when the states held take more than the budget, writes the largest
    /// out until they take half of it. A state that cannot be written stays in memory, and
    /// nothing more is written (the report says why).
    pub fn relieve(&mut self, job: &Job) {
        let Some(spill) = &self.spill else {
            return;
        };
        let sizes = self.states.iter().map(State::approx_bytes).collect();
        let states = &mut self.states;
        spill.relieve_largest(sizes, |d| {
            let empty = State::new(job.detections()[d].agg().is_some());
            let state = std::mem::replace(&mut states[d], empty);
            let written = spill.write(d, 0, &state);
            if !written {
                states[d] = state;
            }
            written
        });
    }

    /// What was written to disk so far.
    pub fn spill_report(&self) -> SpillReport {
        self.spill.as_ref().map(|s| s.report()).unwrap_or_default()
    }

    /// Every detection's state, as a local run hands them to be finished.
    pub fn finish(mut self) -> Finals {
        for d in 0..self.states.len() {
            let o = self.owner[d];
            if o != d {
                self.states[d] = self.states[o].clone();
            }
        }
        Finals::new(self.states, self.spill, self.owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use cimhunt_spl::{ExecCtx, Row};

    use crate::finish_all;

    const COUNT_BY_USER: &str = "search EventCode=4624 | stats count by user";

    fn job(searches: &[&str]) -> Job {
        let model = Arc::new(cimhunt_model::Model::escu().expect("the default profile"));
        let macros = cimhunt_spl::MacroSet::with_builtins();
        let mut b = Job::builder(Arc::clone(&model));
        for (i, s) in searches.iter().enumerate() {
            let c = cimhunt_spl::compile(s, &macros, model.as_ref()).unwrap();
            b = b.detection(format!("d{i}"), c.plan, &c.expanded);
        }
        b.build().unwrap()
    }

    /// A part of a `stats count by user` state: one event per user named.
    fn part(job: &Job, users: &[String]) -> State {
        let spec = job.detections()[0].agg().unwrap();
        let mut groups = cimhunt_spl::agg::Groups::new();
        let ctx = ExecCtx::default();
        for u in users {
            let row = Row::from_texts(&[("user", u.as_str())]);
            groups.add(spec, &row, &ctx);
        }
        State::Stats(groups)
    }

    fn read_back(state: &State) -> State {
        let bytes = crate::Partial::encode("fp", 0, state);
        crate::Partial::decode(&bytes, "fp").unwrap().state
    }

    fn users(from: usize, n: usize) -> Vec<String> {
        (from..from + n).map(|i| format!("user-{i:05}")).collect()
    }

    /// Regression: `hunt --nats` merged every partial state in memory, so the collecting
    /// process grew with the input while a local run kept to its budget.
    #[test]
    fn states_beyond_the_budget_go_to_disk_and_finish_to_the_same_rows() {
        let job = job(&[COUNT_BY_USER]);
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillOptions {
            dir: dir.path().to_path_buf(),
            budget_bytes: 16 << 10,
        };
        let mut small = Collector::new(&job, Some(&spill));
        let mut whole = Collector::new(&job, None);
        for m in 0..20 {
            // Messages overlap: each user is counted by two of them.
            let part_users = users(m * 100, 200);
            // As a worker's partial arrives: encoded, then read back.
            let p = read_back(&part(&job, &part_users));
            small.merge(&job, 0, p.clone()).unwrap();
            small.relieve(&job);
            whole.merge(&job, 0, p).unwrap();
            whole.relieve(&job);
            let held = small.states[0].approx_bytes();
            assert!(held <= 16 << 10, "{held}");
        }
        assert!(small.spill_report().bytes > 0);
        assert_eq!(whole.spill_report().bytes, 0);
        let ctx = ExecCtx::default();
        let rows = finish_all(&job, small.finish(), &ctx, 1);
        let expected = finish_all(&job, whole.finish(), &ctx, 1);
        let rows = rows.into_iter().next().unwrap().unwrap();
        assert_eq!(rows.len(), 2_100);
        assert_eq!(rows, expected.into_iter().next().unwrap().unwrap());
    }

    /// Detections with one plan: parts are merged once and both get the whole state.
    #[test]
    fn detections_sharing_a_plan_each_get_the_merged_state() {
        let job = job(&[COUNT_BY_USER, COUNT_BY_USER]);
        let dir = tempfile::tempdir().unwrap();
        let spill = SpillOptions {
            dir: dir.path().to_path_buf(),
            budget_bytes: 1,
        };
        let mut c = Collector::new(&job, Some(&spill));
        c.share_plans(&job, &[1, 0]);
        c.merge(&job, 0, read_back(&part(&job, &users(0, 3))))
            .unwrap();
        c.relieve(&job);
        c.merge(&job, 1, read_back(&part(&job, &users(2, 3))))
            .unwrap();
        assert!(c.spill_report().bytes > 0);
        let rows = finish_all(&job, c.finish(), &ExecCtx::default(), 1);
        let counts: Vec<usize> = rows.into_iter().map(|r| r.unwrap().len()).collect();
        assert_eq!(counts, [5, 5]);
    }
}
