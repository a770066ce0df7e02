//! The key filter (`cimhunt_spl::KeyFilter`): filters after an aggregation decided when a group
//! would start. It must never change a row: every plan run by the shared runner is run with and
//! without it (`common::execute`); these tests pin which filters it takes, and check random
//! pipelines against the run without it.

mod common;

use cimhunt_spl::lookup::LookupTable;
use cimhunt_spl::{ExecCtx, Groups, KeyFilter, Plan};
use common::{TestCatalog, execute, execute_keyed, plan_with, rows, show};
use proptest::prelude::*;

fn catalog() -> TestCatalog {
    TestCatalog::new().with_lookup(
        "system_files",
        LookupTable::new(
            "system_files",
            vec!["filename".into(), "systemFile".into()],
            vec![
                vec!["svchost.exe".into(), "true".into()],
                vec!["lsass.exe".into(), "true".into()],
            ],
        )
        .with_case_sensitive(false)
        .with_matches(1, 100, Some("false".into())),
    )
}

fn compiled(search: &str) -> Plan {
    plan_with(search, &catalog()).unwrap_or_else(|e| panic!("{search}: {e}"))
}

/// What the key filter runs, as `explain` shows each command.
fn filter_of(search: &str) -> Option<Vec<String>> {
    KeyFilter::new(&compiled(search)).map(|k| k.commands().iter().map(|c| c.to_string()).collect())
}

fn processes() -> Vec<cimhunt_spl::Row> {
    rows(&[
        &[
            ("process_name", "svchost.exe"),
            ("dest", "a"),
            ("_time", "10"),
        ],
        &[
            ("process_name", "SVCHOST.EXE"),
            ("dest", "b"),
            ("_time", "11"),
        ],
        &[("process_name", "evil.exe"), ("dest", "a"), ("_time", "12")],
        &[("process_name", "calc.exe"), ("dest", "c"), ("_time", "13")],
        &[
            ("process_name", "lsass.exe"),
            ("dest", "c"),
            ("_time", "14"),
        ],
    ])
}

const ESCU: &str = "| tstats count min(_time) as firstTime max(_time) as lastTime \
    from datamodel=Endpoint.Processes by Processes.dest Processes.process_name \
    | `drop_dm_object_name(Processes)` | convert ctime(firstTime) \
    | lookup system_files filename as process_name OUTPUT systemFile | search systemFile=true";

#[test]
fn escu_lookup_then_search_on_by_fields_is_decided_by_the_key() {
    let filter = filter_of(ESCU).expect("a key filter");
    assert_eq!(filter.len(), 4, "{filter:?}");
    assert!(filter[0].starts_with("rename"), "{filter:?}");
    assert!(filter[3].starts_with("search"), "{filter:?}");
    let p = compiled(ESCU);
    let out = execute(&p, &processes(), &ExecCtx::default()).unwrap();
    assert_eq!(
        show(&out)
            .iter()
            .map(|r| r.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        [
            "dest=a process_name=svchost.exe",
            "dest=b process_name=SVCHOST.EXE",
            "dest=c process_name=lsass.exe"
        ]
    );
}

/// How many groups `events` start under the plan's aggregation: with its key filter, and
/// without.
fn groups_started(p: &Plan, events: &[cimhunt_spl::Row]) -> (usize, usize) {
    let cimhunt_spl::Aggregation::Stats(spec) = &p.aggregation else {
        panic!("the plan aggregates")
    };
    let filter = KeyFilter::new(p);
    let ctx = ExecCtx::default();
    let (mut with, mut without) = (Groups::new(), Groups::new());
    for e in events {
        with.add_kept(spec, e, &ctx, filter.as_ref());
        without.add(spec, e, &ctx);
    }
    (with.len(), without.len())
}

#[test]
fn groups_the_filter_drops_are_never_kept() {
    assert_eq!(groups_started(&compiled(ESCU), &processes()), (3, 5));
}

/// A record that counts how often each field is read.
struct Counting {
    row: cimhunt_spl::Row,
    reads: std::cell::RefCell<std::collections::HashMap<cimhunt_spl::Sym, usize>>,
}

impl cimhunt_spl::Record for Counting {
    fn value(&self, field: cimhunt_spl::Sym) -> cimhunt_spl::value::Value<'_> {
        *self.reads.borrow_mut().entry(field).or_default() += 1;
        cimhunt_spl::Record::value(&self.row, field)
    }
}

#[test]
fn a_group_remembered_as_dropped_is_left_out_before_its_other_by_fields_are_read() {
    // ESCU's filter reads the process name alone: once `evil.exe` is known to be dropped,
    // its events are left out by that value, their hosts (or any calculated by-field) unread.
    let p = compiled(ESCU);
    let cimhunt_spl::Aggregation::Stats(spec) = &p.aggregation else {
        panic!("the plan aggregates")
    };
    let filter = KeyFilter::new(&p).expect("a key filter");
    let ctx = ExecCtx::default();
    let dest = cimhunt_spl::Sym::new("dest");
    let event = |name: &str, host: usize| Counting {
        row: cimhunt_spl::Row::from_texts(&[
            ("process_name", name),
            ("dest", &format!("h{host}")),
            ("_time", "10"),
        ]),
        reads: Default::default(),
    };
    let mut groups = Groups::new();
    let mut dest_reads = Vec::new();
    for host in 0..20 {
        for name in ["evil.exe", "svchost.exe"] {
            let e = event(name, host);
            groups.add_kept(spec, &e, &ctx, Some(&filter));
            let reads = e.reads.borrow().get(&dest).copied().unwrap_or(0);
            dest_reads.push((name, reads));
        }
    }
    // Every svchost.exe host is a group; evil.exe's host was read for its first event only.
    assert_eq!(groups.len(), 20);
    let evil: Vec<usize> = dest_reads
        .iter()
        .filter(|(n, _)| *n == "evil.exe")
        .map(|&(_, r)| r)
        .collect();
    assert!(evil[0] > 0, "{evil:?}");
    assert!(evil[1..].iter().all(|&r| r == 0), "{evil:?}");
    assert!(
        dest_reads
            .iter()
            .filter(|(n, _)| *n == "svchost.exe")
            .all(|&(_, r)| r > 0)
    );
}

/// ESCU's `Common Ransomware Extensions`, with a search for the lookup: every file is grouped
/// by name, host and hour, then regrouped by host and extension, and only the extensions of
/// ransomware are kept.
const REGROUPED: &str = "| tstats count values(Filesystem.file_path) as file_path \
    from datamodel=Endpoint.Filesystem by Filesystem.file_name Filesystem.dest \
    | rename Filesystem.* as * | rex field=file_name \"(?<file_extension>\\.[^\\.]+)$\" \
    | stats dc(file_name) as file_count values(file_path) as file_path by dest file_extension \
    | search file_extension=.locky OR file_extension=.crypt | where file_count > 1";

fn files() -> Vec<cimhunt_spl::Row> {
    let mut out = Vec::new();
    for (i, name) in [
        "a.locky", "b.locky", "c.txt", "d.docx", "e.crypt", "f", "g.txt",
    ]
    .iter()
    .enumerate()
    {
        for dest in ["h1", "h2"] {
            let path = format!("C:\\u{i}\\{name}");
            out.push(cimhunt_spl::Row::from_texts(&[
                ("file_name", name),
                ("dest", dest),
                ("file_path", &path),
            ]));
        }
    }
    out
}

#[test]
fn a_stats_by_agreeing_fields_is_followed_so_groups_of_other_extensions_never_start() {
    let filter = filter_of(REGROUPED).expect("a key filter");
    assert!(
        filter.iter().any(|c| c.starts_with("stats")),
        "the key filter runs the regrouping stats: {filter:?}"
    );
    assert!(filter.last().unwrap().starts_with("search"), "{filter:?}");
    let p = compiled(REGROUPED);
    // Three ransomware files on two hosts start groups; the other eight do not.
    assert_eq!(groups_started(&p, &files()), (6, 14));
    let out = execute(&p, &files(), &ExecCtx::default()).unwrap();
    assert_eq!(
        show(&out)
            .iter()
            .map(|r| r.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        [
            "dest=h1 file_extension=.locky file_count=2",
            "dest=h2 file_extension=.locky file_count=2"
        ]
    );
}

#[test]
fn a_stats_by_a_field_that_may_differ_ends_the_key_filter() {
    // `v` is an aggregate: a key row has none, so it would fall in no group of `stats … by v`
    // while its group's row falls in one.
    let search = "| tstats count values(Processes.user) as v from datamodel=Endpoint.Processes \
        by Processes.dest | rename Processes.* as * | stats count by v dest | search dest=a";
    assert_eq!(filter_of(search), None);
    // Without `v`, the same stats is followed, and the search decides.
    let search = "| tstats count values(Processes.user) as v from datamodel=Endpoint.Processes \
        by Processes.dest | rename Processes.* as * | stats count by dest | search dest=a";
    let filter = filter_of(search).expect("a key filter");
    assert!(filter.iter().any(|c| c.starts_with("stats")), "{filter:?}");
}

/// Which by-fields decide the verdict, by their position in the aggregation's order.
fn deciding(search: &str) -> Vec<usize> {
    KeyFilter::new(&compiled(search))
        .expect("a key filter")
        .deciding()
        .to_vec()
}

#[test]
fn the_verdict_is_decided_by_the_by_fields_the_filters_read_through_renames_and_lookups() {
    // ESCU's chain: the lookup reads the process name, the search reads what it outputs.
    assert_eq!(deciding(ESCU), [1]);
    let explained = compiled(ESCU).to_string();
    assert!(
        explained.contains("(decided by Processes.process_name alone"),
        "{explained}"
    );
    let by3 = "| tstats count from datamodel=Endpoint.Processes \
        by Processes.dest Processes.user Processes.process_name | rename Processes.* as *";
    assert_eq!(deciding(&format!("{by3} | search user=admin")), [1]);
    assert_eq!(
        deciding(&format!("{by3} | eval x=dest.user | search x=ab")),
        [0, 1]
    );
    assert_eq!(
        deciding(&format!(
            "{by3} | where dest!=user | search process_name=a*"
        )),
        [0, 1, 2]
    );
    // A filter that decides nothing alone (the aggregate) is left out of the key's run, and so
    // of what decides it.
    assert_eq!(
        deciding(&format!("{by3} | where count > 1 | search dest=a")),
        [0]
    );
}

#[test]
fn rex_from_a_by_field_is_decidable_and_from_an_aggregate_is_not() {
    // ESCU's `File with Samsam Extension`: the extension cut from the file name by `rex`.
    let samsam = "| tstats count min(_time) as firstTime from datamodel=Endpoint.Filesystem \
        by Filesystem.file_name | `drop_dm_object_name(Filesystem)` | convert ctime(firstTime) \
        | rex field=file_name \"(?<file_extension>\\.[^\\.]+)$\" \
        | search file_extension=.stubbin OR file_extension=.sophos";
    let filter = filter_of(samsam).expect("a key filter");
    assert!(filter.iter().any(|c| c.starts_with("rex")), "{filter:?}");
    assert_eq!(deciding(samsam), [0]);
    let files = rows(&[
        &[("file_name", "a.sophos"), ("_time", "10")],
        &[("file_name", "b.txt"), ("_time", "11")],
        &[("file_name", "c.stubbin"), ("_time", "12")],
    ]);
    let out = execute(&compiled(samsam), &files, &ExecCtx::default()).unwrap();
    assert_eq!(out.len(), 2);
    // Cut from an aggregate, or into an aggregate's name: the filter cannot be decided.
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Filesystem by Filesystem.file_name \
             | rex field=count \"(?<n>\\d)\" | search n=1"
        ),
        None
    );
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Filesystem by Filesystem.file_name \
             | rex field=Filesystem.file_name \"(?<count>.)\" | search count=a"
        ),
        None
    );
}

#[test]
fn a_filter_on_an_aggregate_is_not_decided_by_the_key() {
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest | where count > 1"
        ),
        None
    );
    // After a filter it cannot decide, a later one on the key still counts.
    let f = filter_of(
        "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
         | where count > 1 | search Processes.dest=a",
    )
    .expect("a key filter");
    assert_eq!(f, ["search Processes.dest=\"a\""]);
}

#[test]
fn an_aggregate_renamed_onto_a_by_field_makes_it_undecidable() {
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | rename count as Processes.dest | search Processes.dest=a"
        ),
        None
    );
}

#[test]
fn a_by_field_renamed_over_an_aggregate_of_the_same_name_is_decidable() {
    // ESCU writes `values(Processes.process) as process … by Processes.process | rename
    // Processes.* as *`: the renamed by-field displaces the aggregate in both rows.
    let search = "| tstats values(Processes.dest) as process_name from datamodel=Endpoint.Processes \
        by Processes.process_name | rename Processes.* as * | search process_name=evil.exe";
    assert!(filter_of(search).is_some());
    let out = execute(&compiled(search), &processes(), &ExecCtx::default()).unwrap();
    assert_eq!(show(&out), ["process_name=evil.exe"]);
}

#[test]
fn eval_from_the_key_is_decidable_and_from_an_aggregate_is_not() {
    assert!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | eval d=upper('Processes.dest') | where d=\"A\""
        )
        .is_some()
    );
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | eval d=count | where d=1"
        ),
        None
    );
}

#[test]
fn nothing_after_a_command_that_needs_every_row_or_the_time() {
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | dedup count | search Processes.dest=a"
        ),
        None
    );
    assert_eq!(
        filter_of(
            "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
             | where relative_time(now(), \"-1d\") > 0 | search Processes.dest=a"
        ),
        None
    );
}

#[test]
fn an_inner_join_on_by_fields_is_decided_at_finish_and_not_before() {
    let search = "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
        Processes.process_name | rename Processes.* as * \
        | join process_name [| tstats count from datamodel=Endpoint.Processes \
        where Processes.dest=c by Processes.process_name | rename Processes.* as *] \
        | table dest process_name";
    let p = compiled(search);
    assert!(
        KeyFilter::new(&p).is_none(),
        "a join needs the subsearch's rows"
    );
    let at_finish = KeyFilter::at_finish(&p).expect("decided at finish");
    let names: Vec<&str> = at_finish.commands().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["rename", "join"]);
    // Only the join's key decides: the other by-fields' values are not copied into key rows.
    assert_eq!(at_finish.deciding(), [1]);
    let out = execute(&p, &processes(), &ExecCtx::default()).unwrap();
    assert_eq!(
        show(&out),
        [
            "dest=c process_name=calc.exe",
            "dest=c process_name=lsass.exe"
        ]
    );
    // A left join keeps every row: nothing to decide.
    assert!(
        KeyFilter::at_finish(&compiled(
            &search.replace("join process_name", "join type=left process_name")
        ))
        .is_none()
    );
}

/// An inner join whose subsearch gave no rows keeps no group, whatever its key, so a state
/// need not be read back at all (`KeyFilter::keeps_none`). Before the rows are at hand, or
/// with one row, it cannot be said; a left join drops nothing.
#[test]
fn an_inner_join_with_an_empty_subsearch_keeps_no_group() {
    let search = "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
        Processes.process_name | rename Processes.* as * \
        | join process_name [| tstats count from datamodel=Endpoint.Processes \
        where Processes.dest=c by Processes.process_name | rename Processes.* as *]";
    let f = KeyFilter::at_finish(&compiled(search)).expect("decided at finish");
    let ctx = ExecCtx::default().with_subsearch_slots(1);
    assert!(!f.keeps_none(&ctx), "the subsearch's rows are not at hand");
    ctx.provide_subsearch(0, Vec::new());
    assert!(f.keeps_none(&ctx));
    let one = ExecCtx::default().with_subsearch_slots(1);
    one.provide_subsearch(0, rows(&[&[("process_name", "calc.exe")]]));
    assert!(!f.keeps_none(&one));
    // The same join, type=left, over the same empty subsearch.
    let left = compiled(&search.replace("join process_name", "join type=left process_name"));
    let join = left
        .post
        .iter()
        .find(|c| c.name() == "join")
        .expect("a join");
    assert!(!join.drops_every_row(&ctx));
}

/// One post command of the random pipelines, over by-fields `a`, `b` and aggregates `count`,
/// `v` (values of `c`). The `stats … by` among them regroup rows, which the key filter may
/// follow as groups start when their by-fields agree.
fn command() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "rename a as x",
        "rename count as a",
        "rename v as b",
        "rename b as v",
        "rename * as f_*",
        "rename f_* as *",
        "eval a=lower(a)",
        "eval b=count",
        "eval x=a.\"-\".b",
        "eval a=if(isnull(v), a, \"none\")",
        "lookup system_files filename as a OUTPUT systemFile",
        "lookup system_files filename as v OUTPUT systemFile",
        "where systemFile=\"true\"",
        "search a=s*",
        "search a=01*",
        "search x=*-*",
        "where count > 1",
        "search b=y OR v=1",
        "where b=1",
        "eval x=v",
        "rex field=a \"(?<x>s.)\"",
        "rex field=a \"(?<b>^q)\"",
        "rex field=v \"(?<x>.)\"",
        "rex field=b \"(?<count>.)\"",
        "rex field=a mode=sed \"s/s/q/g\"",
        "rex field=count mode=sed \"s/1/a/\"",
        "table a b count v x systemFile",
        "fields - b",
        "convert ctime(count) as a",
        "dedup a",
        "join a [search a=s* | stats count as n by a]",
        "join b [search c=1 | stats count as n by b | rename n as count]",
        "join type=left a [search a=s* | stats count as n by a]",
        "join [search a=q | stats count as n by a]",
        "sort - count",
        "stats count as n by a",
        "stats sum(count) as count values(b) as v by a",
        "stats count by b x",
        "stats count by v",
        "stats dc(b) as b by a",
        "stats count",
        "eval m=split(a, \".\")",
        "stats count by m b",
    ])
}

fn event() -> impl Strategy<Value = (String, String, String)> {
    let a = prop::sample::select(vec!["svchost.exe", "SVCHOST.exe", "lsass.exe", "s1", "q"]);
    let b = prop::sample::select(vec!["y", "z", "1"]);
    let c = prop::sample::select(vec!["1", "2", "svchost.exe"]);
    (a, b, c).prop_map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_pipelines_give_the_same_rows_with_and_without_the_key_filter(
        commands in prop::collection::vec(command(), 1..6),
        events in prop::collection::vec(event(), 0..12),
    ) {
        let search = format!(
            "a=* | stats count values(c) as v by a b | {}",
            commands.join(" | ")
        );
        let p = compiled(&search);
        let events: Vec<_> = events
            .iter()
            .map(|(a, b, c)| cimhunt_spl::Row::from_texts(&[("a", a), ("b", b), ("c", c)]))
            .collect();
        let ctx = ExecCtx::default();
        let with = execute_keyed(&p, &events, &ctx, true).map(|r| show(&r));
        let without = execute_keyed(&p, &events, &ctx, false).map(|r| show(&r));
        prop_assert_eq!(with, without, "{}", search);
    }
}

#[test]
fn retain_keys_asks_in_slices_and_keeps_exactly_the_groups_said_yes_to() {
    let p = compiled(
        "| tstats count from datamodel=Endpoint.Processes by Processes.dest Processes.process_name",
    );
    let cimhunt_spl::Aggregation::Stats(spec) = &p.aggregation else {
        panic!("tstats aggregates")
    };
    let ctx = ExecCtx::default();
    let n = cimhunt_spl::RETAIN_CHUNK + 1_234;
    let mut groups = Groups::new();
    for i in 0..n {
        let dest = format!("host-{i}");
        let e = rows(&[&[("process_name", "cmd.exe"), ("dest", dest.as_str())]]);
        groups.add(spec, &e[0], &ctx);
    }
    assert_eq!(groups.len(), n);
    let mut slices = Vec::new();
    groups.retain_keys(|keys| {
        slices.push(keys.len());
        keys.iter()
            .map(|mut k| {
                let dest = k.next().unwrap();
                dest.trim_start_matches("host-").parse::<usize>().unwrap() % 3 == 0
            })
            .collect()
    });
    assert_eq!(slices, [cimhunt_spl::RETAIN_CHUNK, 1_234]);
    let rows = groups.into_rows(spec);
    assert_eq!(rows.len(), n.div_ceil(3));
    assert!(rows.iter().all(|r| {
        let dest = r
            .get(cimhunt_spl::Sym::new("Processes.dest"))
            .unwrap()
            .to_string();
        dest.trim_start_matches("host-").parse::<usize>().unwrap() % 3 == 0
    }));
}
