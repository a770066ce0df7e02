//! A window's state for one member of a detection's tree, merged a part at a time.
//!
//! Key design decision: the merged groups beyond the spill budget go to runs on disk, sorted in
//! the rows' order, as a batch run's finishing does ([`cimhunt_spl::agg::Runs`]); finishing
//! makes the rows by merging the runs and what stayed in memory. A `join`'s subsearch that
//! groups every process of the window (`Process Creating LNK file in Suspicious Location`) was
//! held whole while its rows were made (heaptrack: 42 MiB at the 1 GiB replay's peak).

use std::sync::Arc;

use cimhunt_engine::{Detection, State, TreeState};
use cimhunt_spl::RowSpill;
use cimhunt_spl::agg::Runs;

/// A member's state, merged a part at a time; with a spill folder, merged groups beyond its
/// budget go to runs on disk.
pub(crate) struct Merging<'a> {
    det: &'a Detection,
    state: Option<State>,
    spill: Option<&'a Arc<RowSpill>>,
    runs: Option<Runs>,
}

impl<'a> Merging<'a> {
    pub(crate) fn new(det: &'a Detection, spill: Option<&'a Arc<RowSpill>>) -> Merging<'a> {
        Merging {
            det,
            state: None,
            spill,
            runs: None,
        }
    }

    pub(crate) fn add(&mut self, part: State) -> Result<(), String> {
        let state = match &mut self.state {
            None => self.state.insert(part),
            Some(state) => {
                state
                    .merge(self.det.agg(), part)
                    .map_err(|e| e.to_string())?;
                state
            }
        };
        if let (State::Stats(groups), Some(spec), Some(spill)) = (state, self.det.agg(), self.spill)
        {
            self.runs
                .get_or_insert_with(|| Runs::new(Arc::clone(spill)))
                .relieve(groups, spec);
        }
        Ok(())
    }

    /// The groups in memory, and the runs when some were written.
    pub(crate) fn finish(self) -> TreeState {
        let state = self
            .state
            .unwrap_or_else(|| State::new(self.det.agg().is_some()));
        (state, self.runs.filter(|r| !r.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use cimhunt_model::Model;
    use cimhunt_spl::{ExecCtx, Groups, Limits, MacroSet, Row};

    use super::*;

    fn job() -> cimhunt_engine::Job {
        let model = Arc::new(Model::escu().unwrap());
        let search = "index=main | stats count by message";
        let c = cimhunt_spl::compile(search, &MacroSet::new(), model.as_ref()).unwrap();
        cimhunt_engine::Job::builder(model)
            .detection("d", c.plan, &c.expanded)
            .build()
            .unwrap()
    }

    /// A part of `n` messages from `from` on, one event each.
    fn part(det: &Detection, from: usize, n: usize) -> State {
        let spec = det.agg().unwrap();
        let mut groups = Groups::new();
        for i in from..from + n {
            let row = Row::from_texts(&[("message", format!("m{i:04}").as_str())]);
            groups.add(spec, &row, &ExecCtx::default());
        }
        State::Stats(groups)
    }

    fn rows(det: &Detection, (state, runs): TreeState) -> Vec<Row> {
        let spec = det.agg().unwrap();
        match (state, runs) {
            (State::Stats(groups), Some(runs)) => runs
                .into_rows(groups, spec, &Limits::default(), "stats")
                .collect::<Result<_, _>>()
                .unwrap(),
            (state, _) => state.into_ordered_rows(Some(spec)).collect(),
        }
    }

    #[test]
    fn groups_beyond_the_budget_go_to_runs_and_make_the_rows_of_a_whole_merge() {
        let job = job();
        let det = &job.detections()[0];
        // Overlapping parts, so that merging adds counts as well as groups.
        let parts = || (0..6).map(|k| part(det, k * 150, 300));
        let mut whole = Merging::new(det, None);
        for p in parts() {
            whole.add(p).unwrap();
        }
        let whole = whole.finish();
        assert!(whole.1.is_none());
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(RowSpill::new(dir.path().to_owned(), 16 << 10));
        let mut bounded = Merging::new(det, Some(&spill));
        for p in parts() {
            bounded.add(p).unwrap();
        }
        let bounded = bounded.finish();
        assert!(bounded.1.is_some(), "runs were written");
        assert!(spill.written_bytes() > 0);
        let State::Stats(held) = &bounded.0 else {
            panic!("a stats state")
        };
        let State::Stats(all) = &whole.0 else {
            panic!("a stats state")
        };
        assert!(held.len() < all.len(), "fewer groups stayed in memory");
        let expected = rows(det, whole);
        assert_eq!(expected.len(), 1_050);
        assert_eq!(rows(det, bounded), expected);
    }
}
