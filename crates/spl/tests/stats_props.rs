//! The algebraic law the engine relies on: aggregating events in partial states (one per worker,
//! machine or time bucket) and merging them, in any split and any order, gives exactly the rows
//! of one pass over all events, for every `stats` function.

use cimhunt_spl::{AggCall, AggFunc, AggSpec, ByField, ExecCtx, Groups, NullBy, Row, Sym, Value};
use proptest::prelude::*;

const FUNCS: &[AggFunc] = &[
    AggFunc::Count,
    AggFunc::DistinctCount,
    AggFunc::Min,
    AggFunc::Max,
    AggFunc::Values,
    AggFunc::Earliest,
    AggFunc::Latest,
    AggFunc::Sum,
    AggFunc::Avg,
    AggFunc::List,
    AggFunc::First,
    AggFunc::Last,
    AggFunc::Range,
    AggFunc::Stdev,
    AggFunc::Varp,
];

fn spec(by_g: bool) -> AggSpec {
    let mut calls = vec![AggCall::new(AggFunc::Count, None, Sym::new("count"))];
    for (i, f) in FUNCS.iter().enumerate() {
        calls.push(AggCall::new(
            *f,
            Some(Sym::new("v")),
            Sym::new(&format!("f{i}")),
        ));
    }
    calls.push(AggCall::new(
        AggFunc::Min,
        Some(Sym::new("_time")),
        Sym::new("firstTime"),
    ));
    let by = if by_g {
        vec![ByField {
            field: Sym::new("g"),
            output: Sym::new("g"),
            span_secs: None,
        }]
    } else {
        Vec::new()
    };
    AggSpec {
        calls,
        by,
        null_by: NullBy::Drop,
    }
}

fn value() -> impl Strategy<Value = Option<Vec<String>>> {
    let one = prop_oneof![
        (-1000i32..1000).prop_map(|n| n.to_string()),
        (-1000i32..1000, 0u8..100).prop_map(|(a, b)| format!("{a}.{b:02}")),
        "[a-dA-D]{1,3}",
        Just("0.1".to_owned()),
        Just("1e300".to_owned()),
    ];
    prop::option::of(prop::collection::vec(one, 1..3))
}

fn event() -> impl Strategy<Value = Row> {
    (
        prop::option::of(prop::sample::select(vec!["x", "y", "z"])),
        value(),
        prop::option::of(1_700_000_000i64..1_700_000_020),
    )
        .prop_map(|(g, v, t)| {
            let mut row = Row::new();
            if let Some(g) = g {
                row.set(Sym::new("g"), Value::from_field(g));
            }
            if let Some(v) = v {
                row.set(Sym::new("v"), Value::from_fields(v));
            }
            if let Some(t) = t {
                row.set(Sym::new("_time"), Value::from_field(t.to_string()));
            }
            row
        })
}

fn one_pass(spec: &AggSpec, events: &[Row]) -> Vec<Row> {
    let ctx = ExecCtx::default();
    let mut g = Groups::new();
    for e in events {
        g.add(spec, e, &ctx);
    }
    g.into_rows(spec)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn merged_partial_states_equal_one_pass(
        events in prop::collection::vec(event(), 0..40),
        cuts in prop::collection::vec(0usize..40, 0..4),
        order in prop::collection::vec(any::<u32>(), 5),
        by_g in any::<bool>(),
    ) {
        let spec = spec(by_g);
        let whole = one_pass(&spec, &events);
        // Split the events at the cuts, aggregate each part, merge the parts in a shuffled order.
        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(events.len())).collect();
        bounds.push(0);
        bounds.push(events.len());
        bounds.sort_unstable();
        let ctx = ExecCtx::default();
        let mut parts: Vec<(u32, Groups)> = bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let mut g = Groups::new();
                for e in &events[w[0]..w[1]] {
                    g.add(&spec, e, &ctx);
                }
                (order.get(i).copied().unwrap_or(0), g)
            })
            .collect();
        parts.sort_by_key(|(k, _)| *k);
        let mut merged = Groups::new();
        for (_, g) in parts {
            merged.merge(&spec, g).expect("same spec");
        }
        prop_assert_eq!(merged.into_rows(&spec), whole);
    }

    #[test]
    fn the_order_events_arrive_in_does_not_matter(
        mut events in prop::collection::vec(event(), 0..30),
        by_g in any::<bool>(),
    ) {
        let spec = spec(by_g);
        let forward = one_pass(&spec, &events);
        events.reverse();
        prop_assert_eq!(one_pass(&spec, &events), forward);
    }
}

/// `stats count by g h`, with nulls in `g` or `h` treated as `null_by` says.
fn count_by_g_h(null_by: NullBy) -> AggSpec {
    AggSpec {
        calls: vec![AggCall::new(AggFunc::Count, None, Sym::new("count"))],
        by: ["g", "h"]
            .iter()
            .map(|f| ByField {
                field: Sym::new(f),
                output: Sym::new(f),
                span_secs: None,
            })
            .collect(),
        null_by,
    }
}

/// `g`, `h` and `count` of each row, as text.
fn keyed_counts(rows: &[Row]) -> Vec<String> {
    let text = |r: &Row, f: &str| {
        r.get(Sym::new(f))
            .and_then(|v| v.first_text().map(|t| t.into_owned()))
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {} {}", text(r, "g"), text(r, "h"), text(r, "count")))
        .collect();
    out.sort();
    out
}

#[test]
fn a_null_by_field_is_filled_or_drops_the_record_beside_single_and_multivalued_ones() {
    let events: Vec<Row> = [
        vec![("g", vec!["x"])],
        vec![("g", vec!["x", "y"])],
        vec![("h", vec!["1"])],
        vec![("g", vec!["x"]), ("h", vec!["1", "2"])],
        vec![("g", vec!["x"]), ("h", vec!["1"])],
    ]
    .into_iter()
    .map(|fields| {
        let mut row = Row::new();
        for (f, vs) in fields {
            row.set(Sym::new(f), Value::from_fields(vs));
        }
        row
    })
    .collect();
    let filled = count_by_g_h(NullBy::Fill("NULL".to_owned()));
    assert_eq!(
        keyed_counts(&one_pass(&filled, &events)),
        ["NULL 1 1", "x 1 2", "x 2 1", "x NULL 2", "y NULL 1"]
    );
    let dropped = count_by_g_h(NullBy::Drop);
    assert_eq!(
        keyed_counts(&one_pass(&dropped, &events)),
        ["x 1 2", "x 2 1"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// States move to disk and between machines as postcard: read back, they are the same
    /// state and give the same rows.
    #[test]
    fn a_state_written_and_read_back_is_the_same_state(
        events in prop::collection::vec(event(), 0..40),
        by_g in any::<bool>(),
    ) {
        let spec = spec(by_g);
        let ctx = ExecCtx::default();
        let mut g = Groups::new();
        for e in &events {
            g.add(&spec, e, &ctx);
        }
        let bytes = postcard::to_allocvec(&g).expect("encodes");
        let back: Groups = postcard::from_bytes(&bytes).expect("decodes");
        prop_assert_eq!(&back, &g);
        prop_assert_eq!(back.into_rows(&spec), g.into_rows(&spec));
    }

    /// A damaged or hostile state is an error, never a panic.
    #[test]
    fn any_bytes_read_as_a_state_give_a_state_or_an_error(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = postcard::from_bytes::<Groups>(&bytes);
    }
}

#[test]
fn keys_of_several_values_empty_and_unicode_ones_come_back_from_disk() {
    let spec = count_by_g_h(NullBy::Fill(String::new()));
    let ctx = ExecCtx::default();
    let mut g = Groups::new();
    for (a, b) in [("Straße", "日本"), ("x", ""), ("", "y"), ("x", "")] {
        let mut row = Row::new();
        row.set(Sym::new("g"), Value::from_field(a));
        if !b.is_empty() {
            row.set(Sym::new("h"), Value::from_field(b));
        }
        g.add(&spec, &row, &ctx);
    }
    let back: Groups =
        postcard::from_bytes(&postcard::to_allocvec(&g).expect("encodes")).expect("decodes");
    assert_eq!(
        keyed_counts(&back.into_rows(&spec)),
        [" y 1", "Straße 日本 1", "x  2"]
    );
}

/// Regression: a state read back counts its size from zero, and merging it added nothing to
/// the estimate, so a process merging workers' partials (`hunt --nats`) saw states of no size
/// and kept them all in memory. Merged parts now count what they add.
#[test]
fn parts_read_back_count_what_they_add_as_they_are_merged() {
    let spec = spec(true);
    let ctx = ExecCtx::default();
    let events: Vec<Row> = (0..400)
        .map(|i| {
            let mut row = Row::new();
            row.set(
                Sym::new("g"),
                Value::from_field(format!("group-{}", i % 50)),
            );
            row.set(
                Sym::new("v"),
                Value::from_field(format!("value {i} of many")),
            );
            row.set(
                Sym::new("_time"),
                Value::from_field((1_700_000_000 + i).to_string()),
            );
            row
        })
        .collect();
    let mut whole = Groups::new();
    for e in &events {
        whole.add(&spec, e, &ctx);
    }
    let mut merged = Groups::new();
    let mut estimates = Vec::new();
    for chunk in events.chunks(100) {
        let mut part = Groups::new();
        for e in chunk {
            part.add(&spec, e, &ctx);
        }
        let back: Groups =
            postcard::from_bytes(&postcard::to_allocvec(&part).expect("encodes")).expect("decodes");
        merged.merge(&spec, back).expect("merges");
        estimates.push(merged.approx_bytes());
    }
    // Every part holds the same 50 groups, so after the first the table does not grow: what
    // the estimate gains is the new distinct values each part brings.
    assert!(estimates.windows(2).all(|w| w[1] > w[0]), "{estimates:?}");
    let (got, want) = (merged.approx_bytes(), whole.approx_bytes());
    assert!(got >= want / 2 && got <= want * 2, "{got} against {want}");
    assert_eq!(merged.into_rows(&spec), whole.into_rows(&spec));
}

/// Regression: a state holds its groups' accumulators back to back, so merging into it groups
/// of another width would have misplaced every later group's; both states must be of `spec`.
#[test]
fn a_state_of_another_aggregation_is_refused_on_either_side_of_a_merge() {
    let ctx = ExecCtx::default();
    let wide = spec(true);
    let mut narrow = spec(true);
    narrow.calls.truncate(1);
    let mut row = Row::new();
    row.set(Sym::new("g"), Value::from_field("a".to_owned()));
    let mut mine = Groups::new();
    mine.add(&wide, &row, &ctx);
    row.set(Sym::new("g"), Value::from_field("b".to_owned()));
    let mut theirs = Groups::new();
    theirs.add(&narrow, &row, &ctx);
    // The incoming state is of `narrow`, this one of `wide`.
    assert!(mine.clone().merge(&narrow, theirs.clone()).is_err());
    assert!(mine.merge(&wide, theirs).is_err());
}
