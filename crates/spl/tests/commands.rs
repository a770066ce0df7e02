//! Conformance of each command: input rows → output rows, from the examples of the command's
//! page in Splunk's Search Reference (named in each test), and the traps the issue lists.
//! Plans run as the engine runs them (`common::execute`: streaming commands per row, the
//! aggregation merged from two partial states, then the post commands and subsearches).

mod common;

use cimhunt_spl::lookup::{ColumnMatch, LookupTable};
use cimhunt_spl::{ExecCtx, ExecError, Limits, Row, Sym, Value};
use common::{TestCatalog, execute, mv, plan, rows, run, run_with, show};

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

// ---------------------------------------------------------------- stats

/// Search Reference, "stats", example "Count the number of events by HTTP status and host".
#[test]
fn stats_counts_by_fields_in_by_order_sorted_by_group() {
    let events = rows(&[
        &[("status", "404"), ("host", "www1")],
        &[("status", "200"), ("host", "www2")],
        &[("status", "200"), ("host", "www1")],
        &[("status", "200"), ("host", "www1")],
    ]);
    let out = run("search * | stats count by status, host", &events);
    assert_eq!(
        show(&out),
        s(&[
            "status=200 host=www1 count=2",
            "status=200 host=www2 count=1",
            "status=404 host=www1 count=1",
        ])
    );
}

/// Search Reference, "stats": `dc`, `values` (distinct, lexicographic), `list` (input order,
/// repeats kept), `min`/`max` (numeric when numbers), `sum`/`avg`, `range`, `stdev`.
#[test]
fn stats_functions_and_their_output_names() {
    let events = rows(&[
        &[("user", "bob"), ("n", "10"), ("_time", "1700000003")],
        &[("user", "Al"), ("n", "9"), ("_time", "1700000002")],
        &[("user", "bob"), ("n", "2"), ("_time", "1700000001")],
    ]);
    let out = run(
        "search * | stats dc(user) values(user) as users list(user) min(n) max(n) sum(n) \
         avg(n) range(n) stdev(n) earliest(user) latest(user) first(user) last(user)",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&[
            "dc(user)=2 users=Al|bob list(user)=bob|Al|bob min(n)=2 max(n)=10 sum(n)=21 \
             avg(n)=7 range(n)=8 stdev(n)=4.358898943540674 earliest(user)=bob latest(user)=bob \
             first(user)=bob last(user)=bob"
        ])
    );
}

/// Trap: `values` sorts lexicographically, so `10` comes before `9` and upper case before
/// lower case (Search Reference, "values": "The order of the values is lexicographical").
#[test]
fn values_ordering_is_lexicographic() {
    let events = rows(&[&[("x", "9")], &[("x", "b")], &[("x", "10")], &[("x", "B")]]);
    let out = run("search * | stats values(x) as v", &events);
    assert_eq!(show(&out), s(&["v=10|9|B|b"]));
}

/// Trap: `stats` over no rows: one row with `count` 0 without a by-clause, no row with one.
#[test]
fn stats_on_an_empty_input() {
    let out = run(
        "search nothing=here | stats count dc(x) as d values(x) as v",
        &rows(&[&[("a", "1")]]),
    );
    assert_eq!(show(&out), s(&["count=0 d=0 v="]));
    let out = run(
        "search nothing=here | stats count by a",
        &rows(&[&[("a", "1")]]),
    );
    assert!(out.is_empty());
}

/// Search Reference, "stats": a null by-field leaves the event out; a multivalued one counts
/// it in each of its values' groups.
#[test]
fn stats_by_null_and_multivalued_fields() {
    let events = vec![
        Row::from_texts(&[("a", "1")]),
        Row::from_texts(&[("b", "2")]),
        mv(Row::new(), "a", &["1", "2"]),
    ];
    let out = run("search * | stats count by a", &events);
    assert_eq!(show(&out), s(&["a=1 count=2", "a=2 count=1"]));
}

/// Search Reference, "stats": `count(eval(…))` counts the events for which the expression is
/// true; `dc(eval(upper(x)))` counts distinct computed values.
#[test]
fn stats_eval_arguments() {
    let events = rows(&[
        &[("EventCode", "4624"), ("user", "a")],
        &[("EventCode", "4625"), ("user", "A")],
        &[("EventCode", "4625"), ("user", "b")],
    ]);
    let out = run(
        "search * | stats count(eval(EventCode=4625)) as failures dc(eval(upper(user))) as users",
        &events,
    );
    assert_eq!(show(&out), s(&["failures=2 users=2"]));
}

/// `stats` after a command that needs every row runs over the rows in order: `first` is the
/// first row.
#[test]
fn stats_after_a_whole_command_runs_over_rows_in_order() {
    let events = rows(&[&[("a", "x"), ("k", "1")], &[("a", "y"), ("k", "1")]]);
    let out = run(
        "search * | sort - a | stats first(a) as f list(a) as l by k",
        &events,
    );
    assert_eq!(show(&out), s(&["k=1 f=y l=y|x"]));
}

/// Search Reference, "stats": "You can use wild card characters in field names" (the
/// stats-agg-term `<stats-func>(<wc-field>) [AS <wc-field>]`). `values(*) as *` is one call per
/// field the rows hold, named by filling the `as` name's `*`; the by-fields and internal fields
/// are not matched [inferred] (docs/spl.md, "stats").
#[test]
fn stats_wildcard_arguments_stand_for_every_field_of_the_rows() {
    let events = rows(&[
        &[
            ("host", "a"),
            ("user", "x"),
            ("n", "1"),
            ("_time", "1700000001"),
        ],
        &[("host", "a"), ("user", "y"), ("src", "s")],
        &[("host", "b"), ("n", "3")],
    ]);
    let out = run("search * | stats values(*) as * by host", &events);
    assert_eq!(
        show(&out),
        s(&["host=a n=1 src=s user=x|y", "host=b n=3 src= user="])
    );
    let out = run("search * | stats max(*) count by host", &events);
    assert_eq!(
        show(&out),
        s(&[
            "host=a max(n)=1 max(src)=s max(user)=y count=2",
            "host=b max(n)=3 max(src)= max(user)= count=1",
        ])
    );
    let out = run("search * | stats latest(u*) as last_u*", &events);
    assert_eq!(show(&out), s(&["last_user=x"]));
}

/// Regression: `values(*)` was read as a field named `*`. After a first aggregation (ESCU's
/// `Windows Known Abused DLL Loaded Suspiciously`) the wildcard `stats` read none of the
/// first one's outputs, so they were left out as dead and the rows lost every field but the
/// by-fields (`user`, a risk object, among them).
#[test]
fn a_wildcard_stats_keeps_what_it_reads_alive() {
    let events = rows(&[
        &[("host", "a"), ("User", "x"), ("_time", "1700000001")],
        &[("host", "a"), ("User", "y"), ("_time", "1700000002")],
    ]);
    let search = "search * | stats count min(_time) as firstTime values(User) as user by host \
                  | stats values(*) as * by host";
    assert!(plan(search).left_out.is_empty());
    let out = run(search, &events);
    assert_eq!(
        show(&out),
        s(&["host=a count=2 firstTime=1700000001 user=x|y"])
    );
}

// ---------------------------------------------------------------- eventstats

/// Search Reference, "eventstats", example "Calculate the overall average duration": every
/// row keeps its fields and gains the aggregate of its group.
#[test]
fn eventstats_adds_group_aggregates_to_each_row() {
    let events = rows(&[
        &[("host", "a"), ("d", "2")],
        &[("host", "a"), ("d", "4")],
        &[("host", "b"), ("d", "10")],
        &[("d", "7")],
    ]);
    let out = run("search * | eventstats avg(d) as avgdur by host", &events);
    assert_eq!(
        show(&out),
        s(&[
            "host=a d=2 avgdur=3",
            "host=a d=4 avgdur=3",
            "host=b d=10 avgdur=10",
            "d=7",
        ])
    );
    let out = run("search * | eventstats max(d) as top", &events);
    assert!(show(&out).iter().all(|r| r.ends_with("top=10")));
}

// ---------------------------------------------------------------- where / eval

/// Trap: `where` compares case-sensitively and without wildcards (an eval expression), while
/// `search` compares case-insensitively with `*` wildcards (Search Reference, "where").
#[test]
fn where_is_case_sensitive_search_is_not() {
    let events = rows(&[&[("host", "CheckIt")], &[("host", "checkit")]]);
    assert_eq!(
        show(&run("search * | where host=\"CheckIt\"", &events)),
        s(&["host=CheckIt"])
    );
    assert_eq!(run("search * | search host=checkit", &events).len(), 2);
    assert_eq!(run("search * | search host=check*", &events).len(), 2);
    assert!(run("search * | where host=\"check*\"", &events).is_empty());
}

/// Trap: `like` uses `%` and `_` (Search Reference, "where": `where like(ipaddress, "198.%")`).
#[test]
fn where_like_uses_percent_and_underscore() {
    let events = rows(&[
        &[("ip", "198.51.100.1")],
        &[("ip", "10.0.0.1")],
        &[("ip", "1985")],
    ]);
    assert_eq!(
        show(&run("search * | where like(ip, \"198.%\")", &events)),
        s(&["ip=198.51.100.1"])
    );
    assert_eq!(
        show(&run("search * | where ip LIKE \"198_\"", &events)),
        s(&["ip=1985"])
    );
}

/// Trap: arithmetic with a null field is null, and a comparison with null is not true.
#[test]
fn null_arithmetic_and_comparisons() {
    let events = rows(&[&[("a", "5")], &[("a", "5"), ("b", "1")]]);
    let out = run("search * | eval c=a+b | where isnull(c) OR c > 5", &events);
    assert_eq!(show(&out), s(&["a=5", "a=5 b=1 c=6"]));
    assert!(run("search * | where b > 0 AND b < 0", &events).is_empty());
}

/// Trap: a multivalued field in a comparison is true when one of its values is (Search
/// Manual, "About multivalue fields"); `mvcount` counts the values.
#[test]
fn multivalue_comparison_matches_any_value() {
    let events = vec![
        mv(Row::new(), "x", &["a", "b"]),
        mv(Row::new(), "x", &["c"]),
    ];
    let out = run("search * | where x=\"b\"", &events);
    assert_eq!(show(&out), s(&["x=a|b"]));
    let out = run("search * | eval n=mvcount(x) | where n > 1", &events);
    assert_eq!(out.len(), 1);
}

/// Search Reference, "eval": assignments run in order, each seeing the ones before it; a
/// number given as a string reads back as a number; a null result removes the field.
#[test]
fn eval_assigns_in_order_and_null_removes() {
    let events = rows(&[&[("distance", "10"), ("time", "4"), ("gone", "x")]]);
    let out = run(
        "search * | eval velocity=distance/time, double=velocity*2, s=\"10\", gone=null() \
         | where s > 9",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&["distance=10 time=4 velocity=2.5 double=5 s=10"])
    );
}

/// Search Reference, "eval", example with `case`.
#[test]
fn eval_case_example() {
    let events = rows(&[
        &[("error", "404")],
        &[("error", "500")],
        &[("error", "301")],
    ]);
    let out = run(
        "search * | eval error_msg = case(error == 404, \"Not found\", error == 500, \
         \"Internal Server Error\", error == 200, \"OK\")",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&[
            "error=404 error_msg=Not found",
            "error=500 error_msg=Internal Server Error",
            "error=301",
        ])
    );
}

// ---------------------------------------------------------------- join

fn join_events() -> Vec<Row> {
    rows(&[
        &[("kind", "left"), ("id", "1"), ("l", "a")],
        &[("kind", "left"), ("id", "2"), ("l", "b")],
        &[("kind", "left"), ("id", "3"), ("l", "c")],
        &[("kind", "right"), ("id", "1"), ("r", "x")],
        &[("kind", "right"), ("id", "1"), ("r", "y")],
        &[("kind", "right"), ("id", "2"), ("r", "z"), ("l", "B")],
    ])
}

/// Trap: `join` with duplicate keys on the right joins each left row with the first match only
/// (`max=1`), or with all of them (`max=0`); the right row's fields overwrite (Search
/// Reference, "join").
#[test]
fn join_with_duplicate_keys_and_max() {
    let e = join_events();
    let base = "kind=left | table id l | join id [search kind=right | table id r l]";
    assert_eq!(show(&run(base, &e)), s(&["id=1 l=a r=x", "id=2 l=B r=z"]));
    let out = run(&base.replace("join id", "join max=0 id"), &e);
    assert_eq!(
        show(&out),
        s(&["id=1 l=a r=x", "id=1 l=a r=y", "id=2 l=B r=z"])
    );
    let out = run(
        &base.replace("join id", "join type=left overwrite=false id"),
        &e,
    );
    assert_eq!(show(&out), s(&["id=1 l=a r=x", "id=2 l=b r=z", "id=3 l=c"]));
}

/// Regression (the join key in one buffer): with two join fields, `a`+`bc` and `ab`+`c` are
/// different keys though their texts run together the same, and a row missing a join field
/// (or holding an empty one) matches only a row with the same empty value, never a missing one.
#[test]
fn join_on_two_fields_matches_whole_values_only() {
    let e = rows(&[
        &[("kind", "left"), ("x", "a"), ("y", "bc"), ("l", "1")],
        &[("kind", "left"), ("x", "ab"), ("y", "c"), ("l", "2")],
        &[("kind", "left"), ("x", "q"), ("l", "3")],
        &[("kind", "left"), ("x", "e"), ("y", ""), ("l", "4")],
        &[("kind", "right"), ("x", "ab"), ("y", "c"), ("r", "m")],
        &[("kind", "right"), ("x", "q"), ("r", "n")],
        &[("kind", "right"), ("x", "e"), ("y", ""), ("r", "o")],
    ]);
    let out = run(
        "kind=left | table x y l | join x y [search kind=right | table x y r]",
        &e,
    );
    assert_eq!(show(&out), s(&["x=ab y=c l=2 r=m", "x=e y= l=4 r=o"]));
}

/// A subsearch result larger than join's limit is cut, with a warning (Search Reference,
/// "join": "A maximum of 50,000 rows in the right-side dataset can be joined").
#[test]
fn join_uses_at_most_50000_subsearch_rows_and_says_so() {
    let p = plan("kind=left | join id [search kind=right]");
    let mut many = vec![Row::from_texts(&[("kind", "left"), ("id", "50001")])];
    for i in 0..50_001 {
        many.push(Row::from_texts(&[
            ("kind", "right"),
            ("id", &i.to_string()),
        ]));
    }
    let ctx = ExecCtx::default();
    let out = execute(&p, &many, &ctx).unwrap();
    assert!(
        out.is_empty(),
        "row 50,001 of the subsearch is beyond the limit"
    );
    let warnings = ctx.take_warnings();
    assert!(warnings.iter().any(|w| w.contains("50000")), "{warnings:?}");
}

// ---------------------------------------------------------------- subsearch terms

/// Search Manual, "About subsearches": the subsearch's rows become `(f=v AND g=w) OR …`.
#[test]
fn subsearch_terms_filter_by_the_subsearch_rows() {
    let events = rows(&[
        &[("kind", "proc"), ("process_id", "10"), ("dest", "h1")],
        &[("kind", "proc"), ("process_id", "11"), ("dest", "h1")],
        &[
            ("kind", "child"),
            ("parent_process_id", "11"),
            ("dest", "H1"),
        ],
    ]);
    let out = run(
        "kind=proc | search [search kind=child | rename parent_process_id as process_id \
         | table process_id dest]",
        &events,
    );
    assert_eq!(show(&out), s(&["kind=proc process_id=11 dest=h1"]));
    // No subsearch row: the term matches nothing.
    assert!(
        run(
            "kind=proc | search [search kind=none | table dest]",
            &events
        )
        .is_empty()
    );
}

// ---------------------------------------------------------------- lookup

fn users_table() -> LookupTable {
    LookupTable::new(
        "usertogroup",
        vec!["user".into(), "group".into()],
        vec![
            vec!["amy".into(), "admins".into()],
            vec!["bob".into(), "users".into()],
            vec!["bob".into(), "staff".into()],
        ],
    )
}

/// Search Reference, "lookup", example `lookup usertogroup user as local_user OUTPUT group as
/// user_group`; several matches make a multivalue; `OUTPUT` clears on no match, `OUTPUTNEW`
/// keeps what the row has.
#[test]
fn lookup_output_and_outputnew() {
    let catalog = TestCatalog::new().with_lookup("usertogroup", users_table());
    let events = rows(&[
        &[("local_user", "amy")],
        &[("local_user", "bob"), ("user_group", "old")],
        &[("local_user", "zed"), ("user_group", "old")],
        &[("other", "x"), ("user_group", "kept")],
    ]);
    let out = run_with(
        "search * | lookup usertogroup user as local_user OUTPUT group as user_group",
        &events,
        &catalog,
    );
    assert_eq!(
        show(&out),
        s(&[
            "local_user=amy user_group=admins",
            "local_user=bob user_group=users|staff",
            "local_user=zed",
            "other=x user_group=kept",
        ])
    );
    let out = run_with(
        "search * | lookup usertogroup user as local_user OUTPUTNEW group as user_group",
        &events,
        &catalog,
    );
    assert_eq!(
        show(&out)[..3],
        s(&[
            "local_user=amy user_group=admins",
            "local_user=bob user_group=old",
            "local_user=zed user_group=old",
        ])
    );
}

/// transforms.conf settings: a case-insensitive WILDCARD column with `min_matches=1` and
/// `default_match` (ESCU's `remote_access_software` shape); without OUTPUT every other column.
#[test]
fn lookup_wildcards_case_and_default_match() {
    let table = LookupTable::new(
        "remote",
        vec![
            "remote_utility".into(),
            "isutility".into(),
            "category".into(),
        ],
        vec![vec!["anydesk*.exe".into(), "TRUE".into(), "RMM".into()]],
    )
    .with_match("remote_utility", ColumnMatch::Wildcard)
    .with_case_sensitive(false)
    .with_matches(1, 1, Some("false".into()));
    let catalog = TestCatalog::new().with_lookup("remote", table);
    let events = rows(&[
        &[("process_name", "AnyDesk64.EXE")],
        &[("process_name", "calc.exe")],
    ]);
    let out = run_with(
        "search * | lookup remote remote_utility AS process_name",
        &events,
        &catalog,
    );
    assert_eq!(
        show(&out),
        s(&[
            "process_name=AnyDesk64.EXE isutility=TRUE category=RMM",
            "process_name=calc.exe isutility=false category=false",
        ])
    );
}

/// A lookup column that does not exist is an error when the search is compiled.
#[test]
fn lookup_of_a_missing_column_is_a_compile_error() {
    let catalog = TestCatalog::new().with_lookup("usertogroup", users_table());
    let e =
        common::plan_with("search * | lookup usertogroup nope OUTPUT group", &catalog).unwrap_err();
    assert_eq!(e.message(), "lookup `usertogroup` has no column `nope`");
}

/// Search Reference, "inputlookup": a table's rows, empty cells left out.
#[test]
fn inputlookup_gives_the_table_rows() {
    let catalog = TestCatalog::new().with_lookup("usertogroup", users_table());
    let out = run_with("| inputlookup usertogroup where group=s*", &[], &catalog);
    assert_eq!(show(&out), s(&["user=bob group=staff"]));
}

// ---------------------------------------------------------------- rex / regex

/// Search Reference, "rex", example "Extract email values using regular expressions".
#[test]
fn rex_named_groups_from_raw() {
    let events = rows(&[&[("_raw", "From: <a@x.org> To: <b@y.org>")]]);
    let out = run(
        "search * | rex \"From: <(?<from>.*)> To: <(?<to>.*)>\" | table from to",
        &events,
    );
    assert_eq!(show(&out), s(&["from=a@x.org to=b@y.org"]));
}

/// Search Reference, "rex", example with `mode=sed`; and `max_match` giving multivalues.
#[test]
fn rex_sed_and_max_match() {
    let events = rows(&[&[("ccnumber", "1234-5678-9012-3456"), ("l", "a1b22c333")]]);
    let out = run(
        "search * | rex field=ccnumber mode=sed \"s/(\\d{4}-){3}/XXXX-XXXX-XXXX-/g\" \
         | rex field=l max_match=0 \"(?<d>\\d+)\" | rex field=l \"(?<first>\\d+)\"",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&["ccnumber=XXXX-XXXX-XXXX-3456 l=a1b22c333 d=1|22|333 first=1"])
    );
}

/// Trap: `rex` on a missing field, or with no match, leaves the row as it is.
#[test]
fn rex_on_a_missing_field_changes_nothing() {
    let events = rows(&[&[("a", "x"), ("n", "old")]]);
    let out = run(
        "search * | rex field=missing \"(?<n>.*)\" | rex field=a \"(?<n>\\d)\"",
        &events,
    );
    assert_eq!(show(&out), s(&["a=x n=old"]));
}

/// Search Reference, "regex": `=` keeps matching rows, `!=` removes them.
#[test]
fn regex_keeps_or_removes() {
    let events = rows(&[
        &[("ip", "10.1.2.3")],
        &[("ip", "192.168.1.1")],
        &[("x", "1")],
    ]);
    let keep = run("search * | regex ip=\"^10\\.\"", &events);
    assert_eq!(show(&keep), s(&["ip=10.1.2.3"]));
    let drop = run("search * | regex ip!=\"^10\\.\"", &events);
    assert_eq!(show(&drop), s(&["ip=192.168.1.1", "x=1"]));
}

// ---------------------------------------------------------------- bin

/// Search Reference, "bin": `_time` to the start of its span.
#[test]
fn bin_time_spans() {
    let events = rows(&[&[("_time", "1700000123.5")], &[("_time", "1700000299")]]);
    let out = run(
        "search * | bucket span=5m _time | stats count by _time",
        &events,
    );
    assert_eq!(show(&out), s(&["_time=1700000100 count=2"]));
    let out = run("search * | bin _time span=30s | table _time", &events);
    assert_eq!(show(&out), s(&["_time=1700000100", "_time=1700000280"]));
}

// ---------------------------------------------------------------- xmlkv / spath

/// Search Reference, "xmlkv": `<foo>bar</foo>` gives `foo=bar`.
#[test]
fn xmlkv_extracts_leaf_elements() {
    let events = rows(&[&[(
        "Message",
        "<Task><Command>cmd.exe</Command><Arguments>/c x</Arguments><Hidden>true</Hidden></Task>",
    )]]);
    let out = run(
        "search * | xmlkv Message | table Command Arguments Hidden",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&["Command=cmd.exe Arguments=/c x Hidden=true"])
    );
}

/// Search Reference, "spath": XML paths from the outermost element, attributes as `{@name}`,
/// repeated paths as multivalues; JSON paths with `{}` for arrays.
#[test]
fn spath_xml_and_json_paths() {
    let events = rows(&[
        &[(
            "x",
            "<RuleAndFileData xmlns='u'><PolicyName>EXE</PolicyName><F>a</F><F>b</F></RuleAndFileData>",
        )],
        &[("x", "{\"a\":{\"b\":[1,2]},\"c\":\"d\"}")],
    ]);
    let out = run(
        "search * | spath input=x | rename RuleAndFileData.* as * | fields - x",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&[
            "RuleAndFileData{@xmlns}=u PolicyName=EXE F=a|b",
            "a.b{}=1|2 c=d"
        ])
    );
}

// ---------------------------------------------------------------- dedup / sort / head

/// Search Reference, "dedup": the first row of each value; rows without the field removed
/// unless `keepempty=true`; `dedup 2` keeps two.
#[test]
fn dedup_keeps_first_rows() {
    let events = rows(&[
        &[("source", "a"), ("n", "1")],
        &[("source", "b"), ("n", "2")],
        &[("source", "a"), ("n", "3")],
        &[("n", "4")],
        &[("source", "a"), ("n", "5")],
    ]);
    assert_eq!(
        show(&run("search * | dedup source | table n", &events)),
        s(&["n=1", "n=2"])
    );
    assert_eq!(
        show(&run(
            "search * | dedup 2 source keepempty=true | table n",
            &events
        )),
        s(&["n=1", "n=2", "n=3", "n=4"])
    );
}

/// Search Reference, "sort": numbers as numbers, `-` descending, stable; `head`.
#[test]
fn sort_and_head() {
    let events = rows(&[
        &[("c", "9")],
        &[("c", "10")],
        &[("c", "x")],
        &[("c", "100")],
    ]);
    assert_eq!(
        show(&run("search * | sort - c", &events)),
        s(&["c=x", "c=100", "c=10", "c=9"])
    );
    assert_eq!(
        show(&run("search * | sort c | head 2", &events)),
        s(&["c=9", "c=10"])
    );
}

// ---------------------------------------------------------------- transaction

/// Search Reference, "transaction": events grouped by a field with `startswith`/`endswith`,
/// `duration` and `eventcount` added, evicted transactions left out.
#[test]
fn transaction_with_start_and_end() {
    let events = rows(&[
        &[
            ("Task", "t1"),
            ("EventCode", "4699"),
            ("_time", "1700000020"),
            ("who", "b"),
        ],
        &[
            ("Task", "t1"),
            ("EventCode", "4698"),
            ("_time", "1700000000"),
            ("who", "a"),
        ],
        &[
            ("Task", "t2"),
            ("EventCode", "4698"),
            ("_time", "1700000000"),
        ],
        &[
            ("Task", "t3"),
            ("EventCode", "4699"),
            ("_time", "1700000000"),
        ],
    ]);
    let out = run(
        "search * | transaction Task startswith=(EventCode=4698) endswith=(EventCode=4699) \
         | table Task duration eventcount who EventCode",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&["Task=t1 duration=20 eventcount=2 who=a|b EventCode=4698|4699"])
    );
}

/// `maxspan` and `maxpause` split a group.
#[test]
fn transaction_maxspan_splits() {
    let events = rows(&[
        &[("u", "x"), ("_time", "0")],
        &[("u", "x"), ("_time", "100")],
        &[("u", "x"), ("_time", "1000")],
    ]);
    let out = run(
        "search * | transaction u maxspan=5m | table eventcount",
        &events,
    );
    assert_eq!(show(&out), s(&["eventcount=1", "eventcount=2"]));
}

// ---------------------------------------------------------------- fillnull / replace / mv

/// Search Reference, "fillnull": without fields, every field some row has; default `0`.
#[test]
fn fillnull_fills_fields_other_rows_have() {
    let events = rows(&[&[("a", "1")], &[("b", "2")]]);
    assert_eq!(
        show(&run("search * | fillnull", &events)),
        s(&["a=1 b=0", "b=2 a=0"])
    );
    assert_eq!(
        show(&run("search * | fillnull value=NULL c", &events)),
        s(&["a=1 c=NULL", "b=2 c=NULL"])
    );
}

/// Search Reference, "replace": `replace *localhost WITH localhost IN host`, exact values.
#[test]
fn replace_values_with_wildcards() {
    let events = rows(&[
        &[("host", "mail.localhost")],
        &[("host", "localhost2")],
        &[("msg_level", "0")],
    ]);
    let out = run(
        "search * | replace *localhost WITH localhost IN host | replace 0 WITH Critical",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&["host=localhost", "host=localhost2", "msg_level=Critical"])
    );
}

/// Search Reference, "mvexpand" and "makemv".
#[test]
fn mvexpand_and_makemv() {
    let events = rows(&[&[("senders", "a@x,b@y"), ("k", "1")]]);
    let out = run(
        "search * | makemv delim=\",\" senders | mvexpand senders",
        &events,
    );
    assert_eq!(show(&out), s(&["senders=a@x k=1", "senders=b@y k=1"]));
    let out = run("search * | makemv tokenizer=\"([^,]+),?\" senders", &events);
    assert_eq!(show(&out), s(&["senders=a@x|b@y k=1"]));
}

/// Search Reference, "appendpipe": the subpipeline's rows are appended.
#[test]
fn appendpipe_appends_a_summary() {
    let events = rows(&[&[("a", "1")], &[("a", "2")]]);
    let out = run("search * | appendpipe [| stats count]", &events);
    assert_eq!(show(&out), s(&["a=1", "a=2", "count=2"]));
}

/// Search Reference, "addtotals": the sum of a row's numeric fields.
#[test]
fn addtotals_sums_fields() {
    let events = rows(&[&[("a", "1"), ("b", "2.5"), ("c", "x")]]);
    let out = run("search * | addtotals fieldname=Score a, b, c", &events);
    assert_eq!(show(&out), s(&["a=1 b=2.5 c=x Score=3.5"]));
}

// ---------------------------------------------------------------- budgets

/// Budgets are errors naming the limit, never silent truncation.
#[test]
fn budgets_fail_with_the_limit_named() {
    let events: Vec<Row> = (0..20)
        .map(|i| Row::from_texts(&[("g", &i.to_string()), ("v", &i.to_string())]))
        .collect();
    let ctx = ExecCtx::default().with_limits(Limits {
        max_groups: 10,
        ..Limits::default()
    });
    let err = execute(&plan("search * | stats count by g"), &events, &ctx).unwrap_err();
    assert!(
        matches!(&err, ExecError::Limit { message, .. } if message.contains("10 groups")),
        "{err}"
    );
    let ctx = ExecCtx::default().with_limits(Limits {
        max_values: 5,
        ..Limits::default()
    });
    let err = execute(&plan("search * | stats values(v)"), &events, &ctx).unwrap_err();
    assert!(err.to_string().contains("max_values"), "{err}");
    let ctx = ExecCtx::default().with_limits(Limits {
        max_rows: 15,
        ..Limits::default()
    });
    let values: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let many = vec![mv(Row::new(), "m", &values)];
    let err = execute(&plan("search * | mvexpand m"), &many, &ctx).unwrap_err();
    assert!(err.to_string().contains("max_rows"), "{err}");
}

#[test]
fn field_values_read_back_typed() {
    let events = rows(&[&[("a", "007")]]);
    let out = run("search * | eval b=a+1 | where a=7", &events);
    assert_eq!(
        out[0].get(Sym::new("b")).map(Value::to_string).as_deref(),
        Some("8")
    );
}

// ---------------------------------------------------------------- map

/// Search Reference, "map": the search runs once per input row with `$field$` replaced by the
/// row's value (ESCU's `appendpipe [| map search="… TargetLogonId=$TargetLogonId$"]`).
#[test]
fn map_runs_the_search_per_row_with_tokens_replaced() {
    let events = rows(&[
        &[("kind", "a"), ("TargetLogonId", "0x1"), ("user", "u1")],
        &[("kind", "a"), ("TargetLogonId", "0x2"), ("user", "u2")],
        &[
            ("EventCode", "4624"),
            ("TargetLogonId", "0x1"),
            ("src_ip", "10.0.0.1"),
        ],
        &[
            ("EventCode", "4624"),
            ("TargetLogonId", "0x3"),
            ("src_ip", "10.0.0.3"),
        ],
    ]);
    let out = run(
        "kind=a | table TargetLogonId user | appendpipe [| map \
         search=\"search EventCode=4624 TargetLogonId=$TargetLogonId$ | fields - EventCode\"]",
        &events,
    );
    assert_eq!(
        show(&out),
        s(&[
            "TargetLogonId=0x1 user=u1",
            "TargetLogonId=0x2 user=u2",
            "TargetLogonId=0x1 src_ip=10.0.0.1",
        ])
    );
    let e = common::plan_with(
        "kind=a | map search=\"search x=1 | where y=$y$\"",
        &TestCatalog::new(),
    )
    .unwrap_err();
    assert_eq!(
        e.unsupported_label(),
        Some("map with $field$ tokens after its search's first command")
    );
}
