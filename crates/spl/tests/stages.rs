//! The commands after merging run in stages (`cimhunt_spl::pipeline`): streaming commands on a
//! few rows at a time, `stats` and `eventstats` taking rows one at a time, any other command
//! over every row. Every search the tests run through `common::run` is also run in stages of
//! two rows and must give the same rows; these tests pin what the stages themselves promise.

mod common;

use cimhunt_spl::command::Limits;
use cimhunt_spl::pipeline::run_post;
use std::sync::Arc;

use cimhunt_spl::{ExecCtx, ExecError, Row, RowSpill};
use common::{mv, plan, rows, run, show};

/// Rows of several hosts with command lines of known lengths, some with a multivalued field.
fn processes() -> Vec<Row> {
    let mut out = Vec::new();
    for i in 0..40 {
        let host = format!("ws-{}", i % 3);
        let cmd = format!("cmd.exe /c {}", "x".repeat(i % 7));
        let mut row = Row::from_texts(&[
            ("dest", &host),
            ("user", if i % 2 == 0 { "a" } else { "b" }),
            ("process", &cmd),
            ("_time", &(1_700_000_000 + i).to_string()),
        ]);
        if i % 5 == 0 {
            row = mv(row, "tags", &["t1", "7"]);
        }
        out.push(row);
    }
    out
}

/// The shape of `Unusually Long Command Line`: `eventstats` over every row, then `stats` again.
#[test]
fn eventstats_then_stats_give_each_group_its_hosts_figures() {
    let search = "| tstats count from datamodel=Endpoint.Processes \
        by Processes.dest Processes.user Processes.process | rename Processes.* as * \
        | eval processlen=len(process) \
        | eventstats avg(processlen) as avg max(processlen) as top by dest \
        | stats max(processlen) as maxlen values(avg) as avgperhost values(top) as top \
          by dest, user, process \
        | where maxlen >= top";
    let out = run(search, &processes());
    // Row i has host i % 3, user a or b as i is even or odd, and 11 + i % 7 characters; each
    // host's average is over its distinct (user, command line) groups, not its events. The
    // longest (17) is reached by every host and user but ws-2's b (i = 41 would be the first).
    let long = "cmd.exe /c xxxxxx";
    assert_eq!(
        show(&out),
        [
            format!("dest=ws-0 user=a process={long} maxlen=17 avgperhost=14 top=17"),
            format!("dest=ws-0 user=b process={long} maxlen=17 avgperhost=14 top=17"),
            format!(
                "dest=ws-1 user=a process={long} maxlen=17 avgperhost=13.846153846153847 top=17"
            ),
            format!(
                "dest=ws-1 user=b process={long} maxlen=17 avgperhost=13.846153846153847 top=17"
            ),
            format!(
                "dest=ws-2 user=a process={long} maxlen=17 avgperhost=13.76923076923077 top=17"
            ),
        ]
    );
}

/// An aggregate that is null for a group removes the field of that name from its rows, and the
/// rows keep their order and every other field (multivalues and read numbers included).
#[test]
fn rows_held_by_eventstats_come_back_whole_and_in_order() {
    let events = rows(&[
        &[("host", "a"), ("n", "1.50"), ("x", "old")],
        &[("host", "b"), ("n", "2")],
        &[("host", "a"), ("n", "007"), ("x", "older")],
        &[("host", "b"), ("n", "3"), ("y", "kept")],
    ]);
    let mut events = events;
    events[1] = mv(events[1].clone(), "mvf", &["p", "q"]);
    let out = run(
        "search * | eventstats count as x by host | eventstats max(missing) as y",
        &events,
    );
    assert_eq!(
        show(&out),
        [
            "host=a n=1.50 x=2",
            "host=b n=2 mvf=p|q x=2",
            "host=a n=007 x=2",
            "host=b n=3 x=2",
        ]
    );
}

/// A command that needs every row is announced before it runs, with the rows it would get;
/// told no, it does not run.
#[test]
fn a_command_over_every_row_is_asked_for_first_and_may_be_skipped() {
    let p = plan("search * | dedup host | eval seen=1");
    let events = rows(&[&[("host", "a")], &[("host", "a")], &[("host", "b")]]);
    let ctx = ExecCtx::default();
    let mut asked = Vec::new();
    let out = run_post(
        Box::new(events.clone().into_iter().map(Ok)),
        &p.post,
        &ctx,
        1,
        &mut |i, rows: &[Row]| {
            asked.push((p.post[i].name(), rows.len()));
            Ok(false)
        },
    )
    .unwrap();
    assert_eq!(asked, [("dedup", 3)]);
    assert_eq!(
        show(&out),
        ["host=a seen=1", "host=a seen=1", "host=b seen=1"]
    );

    let mut asked = Vec::new();
    run_post(
        Box::new(std::iter::empty()),
        &p.post,
        &ctx,
        1,
        &mut |i, rows: &[Row]| {
            asked.push((p.post[i].name(), rows.len()));
            Ok(true)
        },
    )
    .unwrap();
    assert_eq!(asked, [("dedup", 0)]);
}

/// `stats` taking its rows one at a time checks its limits as it does over every row.
#[test]
fn stats_taking_rows_one_at_a_time_keeps_its_group_limit() {
    let p = plan("search * | dedup n | stats count by n");
    let events: Vec<Row> = (0..5)
        .map(|i| Row::from_texts(&[("n", &i.to_string())]))
        .collect();
    let ctx = ExecCtx::default().with_limits(Limits {
        max_groups: 3,
        ..Limits::default()
    });
    let staged = run_post(
        Box::new(events.clone().into_iter().map(Ok)),
        &p.post,
        &ctx,
        2,
        &mut |_, _| Ok(true),
    );
    let mut whole = events;
    let whole = p
        .post
        .iter()
        .try_for_each(|c| c.run(&mut whole, &ctx))
        .map(|()| whole);
    assert!(
        matches!(
            &staged,
            Err(ExecError::Limit {
                command: "stats",
                ..
            })
        ),
        "{staged:?}"
    );
    assert_eq!(
        staged.map_err(|e| e.to_string()),
        whole.map_err(|e| e.to_string())
    );
}

/// `stats` over rows and `eventstats`, holding what is beyond their budget on disk: the rows
/// of memory, in order (numbers as numbers), with `first`, `last` and `list` keeping the rows'
/// order across runs, more runs than are merged at once, and the group limit counted over the
/// merged groups; a folder that cannot be written keeps everything in memory and says why.
#[test]
fn stats_over_rows_held_on_disk_give_the_rows_held_in_memory() {
    let p = plan(
        "search * | eventstats count as per_host by host \
         | stats count first(i) as first last(i) as last list(i) as list values(host) as hosts \
           dc(i) as distinct max(per_host) as per_host by n",
    );
    // 300 rows of 70 groups; each group's rows are far apart, so they fall in several runs.
    let events: Vec<Row> = (0..300)
        .map(|i| {
            Row::from_texts(&[
                ("n", &(i % 70).to_string()),
                ("i", &i.to_string()),
                ("host", &format!("ws-{}", i % 4)),
            ])
        })
        .collect();
    let staged = |ctx: &ExecCtx| {
        run_post(
            Box::new(events.clone().into_iter().map(Ok)),
            &p.post,
            ctx,
            7,
            &mut |_, _| Ok(true),
        )
        .map(|r| show(&r))
        .map_err(|e| e.to_string())
    };
    let memory = staged(&ExecCtx::default());
    let rows = memory.clone().unwrap();
    assert_eq!(rows.len(), 70);
    assert!(
        rows[9].starts_with("n=9 count=5 first=9 last=289 list=9|79|149|219|289"),
        "{}",
        rows[9]
    );
    assert!(
        rows[10].starts_with("n=10 "),
        "numbers in numeric order: {}",
        rows[10]
    );

    let spill = Arc::new(RowSpill::new(std::env::temp_dir(), 1));
    let ctx = ExecCtx::default().with_row_spill(spill.clone());
    assert_eq!(staged(&ctx), memory);
    // Every group went to disk, and was read back, more than once when runs were merged.
    assert!(
        spill.written_bytes() > 300 * 20,
        "{} bytes",
        spill.written_bytes()
    );
    assert_eq!(spill.failure(), None);

    let limited = ctx.clone().with_limits(Limits {
        max_groups: 69,
        ..Limits::default()
    });
    let err = staged(&limited).unwrap_err();
    assert!(err.contains("stats") && err.contains("max_groups"), "{err}");

    let gone = tempfile::tempdir().unwrap().path().join("gone");
    let failing = Arc::new(RowSpill::new(gone, 1));
    assert_eq!(
        staged(&ExecCtx::default().with_row_spill(failing.clone())),
        memory
    );
    assert!(failing.failure().is_some_and(|f| f.contains("gone")));
    assert_eq!(failing.written_bytes(), 0);
}
