//! Dead fields left out of plans (`cimhunt_spl::live`): what is left out, and what is kept.
//! Every search run here through `common::run` also runs with nothing left out, and must give
//! the same rows.

mod common;

use cimhunt_spl::{Aggregation, Plan};
use common::{plan, rows, run, show};

/// The output names of a plan's aggregates.
fn aggregates(p: &Plan) -> Vec<String> {
    match &p.aggregation {
        Aggregation::Stats(spec) => spec.calls.iter().map(|c| c.output.to_string()).collect(),
        Aggregation::Collect => Vec::new(),
    }
}

/// The names of a plan's commands after merging.
fn post(p: &Plan) -> Vec<&'static str> {
    p.post.iter().map(|c| c.name()).collect()
}

fn processes() -> Vec<cimhunt_spl::Row> {
    rows(&[
        &[
            ("dest", "ws-1"),
            ("user", "a"),
            ("process", "cmd.exe /c whoami"),
            ("_time", "1700000000"),
        ],
        &[
            ("dest", "ws-1"),
            ("user", "a"),
            ("process", "cmd.exe /c whoami"),
            ("_time", "1700000100"),
        ],
        &[
            ("dest", "ws-1"),
            ("user", "b"),
            (
                "process",
                "powershell.exe -enc AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
            ("_time", "1700000200"),
        ],
        &[
            ("dest", "ws-2"),
            ("user", "c"),
            ("process", "notepad.exe"),
            ("_time", "1700000300"),
        ],
    ])
}

/// `Unusually Long Command Line`'s shape: a `stats` after the `tstats` reads neither the count
/// nor the formatted times.
const LONG_COMMAND_LINE: &str = "| tstats count min(_time) as firstTime max(_time) as lastTime \
    from datamodel=Endpoint.Processes by Processes.user Processes.dest Processes.process \
    | `drop_dm_object_name(Processes)` | convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime) \
    | convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(lastTime) | eval processlen=len(process) \
    | eventstats avg(processlen) as avg by dest \
    | stats max(processlen) as maxlen values(avg) as avgperhost by dest, user, process";

#[test]
fn what_a_later_stats_does_not_read_is_left_out() {
    let p = plan(LONG_COMMAND_LINE);
    assert_eq!(aggregates(&p), Vec::<String>::new());
    assert_eq!(post(&p), ["rename", "eval", "eventstats", "stats"]);
    assert_eq!(
        p.left_out,
        [
            "aggregate count",
            "aggregate firstTime",
            "aggregate lastTime",
            "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(firstTime)",
            "convert timeformat=\"%Y-%m-%dT%H:%M:%S\" ctime(lastTime)",
        ]
    );
    let out = run(LONG_COMMAND_LINE, &processes());
    assert_eq!(out.len(), 3);
}

#[test]
fn an_aggregate_read_under_its_new_name_is_kept() {
    // `firstTime` is read after the renames, as `first_seen`; `count` is not.
    let search = "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes \
        by Processes.dest | rename Processes.* as * | rename *Time as *_seen \
        | eval first=first_seen | stats min(first) as first by dest";
    let p = plan(search);
    assert_eq!(aggregates(&p), ["firstTime"]);
    let out = run(search, &processes());
    assert_eq!(
        show(&out),
        ["dest=ws-1 first=1700000000", "dest=ws-2 first=1700000300"]
    );
}

#[test]
fn rows_that_are_returned_keep_every_field() {
    let search = "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes \
        by Processes.dest | `drop_dm_object_name(Processes)` \
        | convert timeformat=\"%Y\" ctime(firstTime) | eval unused=1";
    let p = plan(search);
    assert_eq!(aggregates(&p), ["count", "firstTime"]);
    assert_eq!(post(&p), ["rename", "convert", "eval"]);
    run(search, &processes());
}

#[test]
fn a_conversion_whose_format_could_fail_is_kept_though_nothing_reads_it() {
    let search = "| tstats min(_time) as firstTime from datamodel=Endpoint.Processes \
        by Processes.dest | convert timeformat=\"%Q\" ctime(firstTime) | stats count by Processes.dest";
    assert_eq!(post(&plan(search)), ["convert", "stats"]);
    let search = search.replace("%Q", "%d/%m/%Y %H:%M:%S");
    assert_eq!(post(&plan(&search)), ["stats"]);
}

#[test]
fn a_rename_of_many_names_onto_one_keeps_every_field() {
    let search = "| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes \
        by Processes.dest Processes.user | rename Processes.* as x | stats count by x";
    assert_eq!(aggregates(&plan(search)), ["count", "firstTime"]);
    run(search, &processes());
}

#[test]
fn a_search_before_a_stats_keeps_its_eval_and_drops_the_unread_one() {
    let search = "search * | eval long=len(process) | eval shout=upper(process) \
        | stats max(long) as longest by dest";
    let p = plan(search);
    let streaming: Vec<&str> = p.streaming.iter().map(|c| c.name()).collect();
    assert_eq!(streaming, ["eval"]);
    assert_eq!(p.left_out, ["eval shout=upper(process)"]);
    let out = run(search, &processes());
    assert_eq!(show(&out), ["dest=ws-1 longest=88", "dest=ws-2 longest=11"]);
}

#[test]
fn an_eval_naming_its_target_by_a_field_value_is_refused_rather_than_misread() {
    // `eval {name}=…` sets the field that `name`'s value names, known only per row: cimhunt
    // reports it unsupported instead of setting a field literally named `{name}` (which the
    // dead-field walk would also have misjudged). A quoted name is a literal name.
    let err = common::plan_with(
        "| tstats count from datamodel=Endpoint.Processes by Processes.dest \
         | eval {Processes.dest}=1",
        &common::TestCatalog::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.unsupported_label(),
        Some("eval destination named by a field's value (`{field}`)")
    );
    let search = "search * | eval '{x}'=1 | eval y='{x}'+1";
    assert_eq!(
        show(&run(search, &rows(&[&[("x", "a")]]))),
        ["x=a {x}=1 y=2"]
    );
}

#[test]
fn an_eval_of_the_time_before_collected_rows_is_left_out_since_their_order_is_the_events() {
    // Collected rows are put newest first by their events' times (the engine's `OrderKey`),
    // as Splunk returns events; an `eval _time=…` changes a field, not that order, so when no
    // command after it reads `_time`, it is left out.
    let events = rows(&[
        &[
            ("x", "a"),
            ("y", "first"),
            ("t", "1700000000"),
            ("_time", "1700000500"),
        ],
        &[
            ("x", "a"),
            ("y", "second"),
            ("t", "1700000900"),
            ("_time", "1700000100"),
        ],
    ]);
    let search = "search * | eval _time=t | dedup x | stats values(y) as y by x";
    let p = plan(search);
    assert!(p.streaming.is_empty());
    assert_eq!(p.left_out, ["eval _time=t"]);
    assert_eq!(show(&run(search, &events)), ["x=a y=first"]);
}

/// The AD detections' shape (`Windows AD Replication Request Initiated by User Account`): a
/// `map` in an `appendpipe`, whose superset of 4624 events collects rows for a `stats` that
/// reads a few fields. Regression: the superset's rows carried every field of every 4624
/// event (a tenth of the whole library's time on the mixed corpus, computing each event's
/// search-time fields for rows nobody read); now they carry what the `stats` reads, what the
/// template's first command reads, and `_time`.
#[test]
fn a_map_superset_carries_only_what_is_read_after_the_map() {
    use cimhunt_spl::Sym;
    use cimhunt_spl::live::Live;
    let search = "kind=a | stats count by TargetLogonId, user \
        | appendpipe [| map search=\"search EventCode=4624 TargetLogonId=$TargetLogonId$\" \
        | fields - dest] | stats values(src_ip) as src_ip values(user) as user by TargetLogonId";
    let p = plan(search);
    let reads = p.subsearch_reads(&Live::All);
    let names = |l: &Live| match l {
        Live::All => vec!["*".to_owned()],
        Live::Only(f) => {
            let mut v: Vec<String> = f.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        }
    };
    assert_eq!(
        names(&reads[0]),
        ["EventCode", "TargetLogonId", "_time", "src_ip", "user"]
    );
    let projection = p.subsearches[0].projection_for(&reads[0]).unwrap();
    assert!(projection.contains(&Sym::new("src_ip")));
    assert!(!projection.contains(&Sym::new("LogonType")));
    // What reads the detection's own rows is everything: its superset then carries all.
    let whole = plan(
        "kind=a | table TargetLogonId | appendpipe [| map \
         search=\"search EventCode=4624 TargetLogonId=$TargetLogonId$\"]",
    );
    assert_eq!(whole.subsearch_reads(&Live::All), [Live::All]);
    let events = rows(&[
        &[("kind", "a"), ("TargetLogonId", "0x1"), ("user", "u1")],
        &[
            ("EventCode", "4624"),
            ("TargetLogonId", "0x1"),
            ("src_ip", "10.0.0.1"),
            ("user", "u9"),
            ("LogonType", "3"),
            ("dest", "dc-1"),
        ],
        &[
            ("EventCode", "4624"),
            ("TargetLogonId", "0x3"),
            ("src_ip", "10.0.0.3"),
        ],
    ]);
    let out = run(search, &events);
    assert_eq!(show(&out), ["TargetLogonId=0x1 src_ip=10.0.0.1 user=u1|u9"]);
}

/// Collected rows carry what the commands after merging read: a `dedup` then a `table` read
/// three fields, so the events carry those and `_time`, not every field.
#[test]
fn collected_rows_carry_what_the_commands_after_merging_read() {
    use cimhunt_spl::Sym;
    let p = plan("kind=a | dedup user | table user, host");
    let fields = p.projection().unwrap();
    let names: Vec<&str> = fields.iter().map(|s| s.as_str()).collect();
    assert_eq!(names.len(), 3);
    for f in ["_time", "user", "host"] {
        assert!(fields.contains(&Sym::new(f)), "{f} in {names:?}");
    }
    // Rows shown whole keep every field.
    assert_eq!(plan("kind=a | dedup user").projection(), None);
}

/// Regression: `transaction` read every field, so `Suspicious Ticket Granting Ticket Request`
/// collected whole events (`_raw` too) for a `table` of six fields: its rows carry what is
/// live after it and what it groups by, not every field, and give the same rows.
#[test]
fn a_transaction_reads_what_is_live_after_it_and_what_it_groups_by() {
    use cimhunt_spl::Sym;
    let search = "kind=a | eval account=coalesce(new, user) \
        | transaction account startswith=(EventCode=4781) endswith=(EventCode=4768 \"ticket\") \
        | eval short=if(duration<2, \"yes\", \"no\") | table _time, host, account, short";
    let p = plan(search);
    let fields = p.projection().unwrap();
    let mut names: Vec<&str> = fields.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // `_raw` for the keyword, `duration` kept as a name the rows may hold.
    assert_eq!(
        names,
        [
            "EventCode",
            "_raw",
            "_time",
            "duration",
            "host",
            "new",
            "user"
        ]
    );
    assert!(!fields.contains(&Sym::new("noise")));
    let events = rows(&[
        &[
            ("kind", "a"),
            ("_time", "100"),
            ("EventCode", "4781"),
            ("new", "pc$"),
            ("host", "dc1"),
            ("noise", "x"),
            ("_raw", "rename"),
        ],
        &[
            ("kind", "a"),
            ("_time", "101"),
            ("EventCode", "4768"),
            ("user", "pc$"),
            ("host", "dc1"),
            ("noise", "y"),
            ("_raw", "ticket"),
        ],
        &[
            ("kind", "a"),
            ("_time", "200"),
            ("EventCode", "4768"),
            ("user", "other"),
            ("host", "dc2"),
            ("_raw", "ticket"),
        ],
    ]);
    let out = run(search, &events);
    assert_eq!(show(&out), ["_time=100 host=dc1 account=pc$ short=yes"]);
}
