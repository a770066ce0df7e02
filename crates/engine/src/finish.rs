//! Turning every detection's merged state into result rows, on several threads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use cimhunt_exec::{ExecError, ExecOptions, Executor, Groups, Row};
use cimhunt_spl::Plan;

/// One detection's result rows, or why they could not be produced.
pub type Rows = Result<Vec<Row>, ExecError>;

/// The result rows of every plan from its merged state, in plan order. Detections are spread
/// over `threads` threads; each detection's rows are built by one thread, so the rows do not
/// depend on the thread count.
pub fn finish_all(
    plans: &[Plan],
    groups: Vec<Groups>,
    options: &ExecOptions,
    threads: usize,
) -> Vec<Rows> {
    let work: Vec<Mutex<Option<Groups>>> =
        groups.into_iter().map(|g| Mutex::new(Some(g))).collect();
    let next = AtomicUsize::new(0);
    let finish_some = || {
        let mut done: Vec<(usize, Rows)> = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(plan) = plans.get(i) else { break };
            let groups = work
                .get(i)
                .and_then(|slot| slot.lock().ok().and_then(|mut g| g.take()))
                .unwrap_or_default();
            done.push((i, Executor::new(plan).finish(groups, options)));
        }
        done
    };
    let mut done: Vec<(usize, Rows)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.clamp(1, plans.len().max(1)))
            .map(|_| scope.spawn(finish_some))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, rows)| rows).collect()
}
