//! Results remembered by the values a computation read from a record ([`remembered`]).
//!
//! A computation that reads nothing but its record — an add-on's event type searches over an
//! event — is a function of the values the record gives it. Which fields it reads depends only
//! on the values it has read so far: the Sysmon add-on's event types read `EventCode` and
//! nothing else; a Security event type reads `EventCode`, then `Object_Type` and `ObjectType`
//! only for code 4670. So a remembered result is a path in a tree: each node names the next
//! field the computation read, each edge is a value that field had, and a leaf holds the
//! result. Following the path for another record reads the fields a fresh computation would, in
//! the same order, and ends at the result it would give, because a record gives the same value
//! each time a field is read. A field read again adds nothing to a path.
//!
//! Key design decision: the tree is keyed by the values actually read, not by every field the
//! computation could read. Reading fields that a record's path never needs, to make a key,
//! could cost more than the computation.
//!
//! Bounds, per thread: at most [`MAX_EDGES`] edges and about [`MAX_BYTES`] of keys, after which
//! everything remembered is dropped and remembering starts again; a value read longer than
//! [`MAX_VALUE`] bytes ends remembering for that computation. A computation whose results are
//! seldom found again stops being remembered on that thread once it has missed [`PROBATION`]
//! times with fewer hits than misses. A computation may also ask not to be remembered (one that
//! hit a limit, whose count must grow on every evaluation).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashMap;

use crate::record::Record;
use crate::sym::Sym;
use crate::value::Value;

/// Edges kept per thread, over every computation.
pub const MAX_EDGES: usize = 1 << 16;
/// Bytes of edge keys kept per thread (approximate).
pub const MAX_BYTES: usize = 8 << 20;
/// The longest value read that a remembered path may hold, in bytes.
pub const MAX_VALUE: usize = 512;
/// Misses a computation may have before its hit rate decides whether it stays remembered.
pub const PROBATION: u64 = 1024;
/// Computations with a tree per thread; past this, every tree is dropped.
const MAX_TREES: usize = 4096;

/// The identity of one computation's remembered results. Each value made is new for the life
/// of the process (so two computations never share results), and it cannot be cloned.
#[derive(Debug)]
pub struct MemoKey(u64);

impl Default for MemoKey {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        MemoKey(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// One computation's remembered results on this thread.
#[derive(Default)]
struct Tree {
    /// Node 0 is the root; empty until the first result is remembered.
    nodes: Vec<Step>,
    hits: u64,
    misses: u64,
    /// Seldom hit, or found inconsistent: computed every time from now on.
    off: bool,
}

enum Step {
    /// The next field read.
    Read(Sym),
    /// The result.
    Leaf(Box<dyn Any>),
}

#[derive(Default)]
struct Memos {
    trees: HashMap<u64, Tree>,
    /// (computation, node, value read) → the node the edge leads to.
    edges: HashMap<Box<[u8]>, u32>,
    bytes: usize,
    /// Scratch for an edge's key.
    key: Vec<u8>,
}

thread_local! {
    static MEMOS: RefCell<Memos> = RefCell::new(Memos::default());
}

/// What following the remembered path for a record found.
enum Walk<T> {
    Hit(T),
    /// Not remembered: compute, and remember unless `off`.
    Miss {
        off: bool,
    },
}

/// `compute(rec)`'s result, remembered per thread under `key` by the values it read. `compute`
/// must read nothing but the record it is given (no clock, no state that changes between
/// calls), and gives its result with whether it may be remembered.
pub fn remembered<T: Clone + 'static>(
    key: &MemoKey,
    rec: &dyn Record,
    compute: &dyn Fn(&dyn Record) -> (T, bool),
) -> T {
    let id = key.0;
    // No borrow of the memo is held while the record is read or the computation runs: a
    // record's field may itself be computed by a remembered computation.
    let off = match walk::<T>(id, rec) {
        Walk::Hit(v) => return v,
        Walk::Miss { off } => off,
    };
    if off {
        return compute(rec).0;
    }
    let recording = Recording {
        rec,
        reads: RefCell::new(Vec::new()),
        too_long: Cell::new(false),
    };
    let (result, keep) = compute(&recording);
    if !keep || recording.too_long.get() {
        return result;
    }
    let reads = recording.reads.into_inner();
    MEMOS.with_borrow_mut(|m| m.remember(id, &reads, Box::new(result.clone())));
    result
}

fn walk<T: Clone + 'static>(id: u64, rec: &dyn Record) -> Walk<T> {
    let mut node = 0u32;
    loop {
        let field = MEMOS.with_borrow_mut(|m| {
            let Some(tree) = m.trees.get_mut(&id) else {
                return Err(Walk::Miss { off: false });
            };
            if tree.off {
                return Err(Walk::Miss { off: true });
            }
            match tree.nodes.get(node as usize) {
                Some(Step::Read(f)) => Ok(*f),
                Some(Step::Leaf(v)) => match v.downcast_ref::<T>() {
                    Some(v) => {
                        tree.hits += 1;
                        Err(Walk::Hit(v.clone()))
                    }
                    None => Err(Walk::Miss { off: true }),
                },
                None => Err(Walk::Miss { off: false }),
            }
        });
        let field = match field {
            Ok(f) => f,
            Err(done) => return done,
        };
        let value = rec.value(field);
        let next = MEMOS.with_borrow_mut(|m| {
            let Memos { edges, key, .. } = m;
            key.clear();
            key.extend_from_slice(&id.to_le_bytes());
            key.extend_from_slice(&node.to_le_bytes());
            encode(key, &value);
            edges.get(key.as_slice()).copied()
        });
        match next {
            Some(child) => node = child,
            None => return Walk::Miss { off: false },
        }
    }
}

impl Memos {
    fn remember(&mut self, id: u64, reads: &[(Sym, Vec<u8>)], result: Box<dyn Any>) {
        if self.edges.len() >= MAX_EDGES || self.bytes >= MAX_BYTES {
            self.edges.clear();
            self.bytes = 0;
            for tree in self.trees.values_mut() {
                tree.nodes.clear();
            }
        }
        if self.trees.len() >= MAX_TREES && !self.trees.contains_key(&id) {
            self.trees.clear();
            self.edges.clear();
            self.bytes = 0;
        }
        let tree = self.trees.entry(id).or_default();
        tree.misses += 1;
        if tree.misses >= PROBATION && tree.hits < tree.misses {
            tree.give_up();
            return;
        }
        let mut result = Some(result);
        let mut step = |i: usize| match reads.get(i) {
            Some((f, _)) => Some(Step::Read(*f)),
            None => result.take().map(Step::Leaf),
        };
        if tree.nodes.is_empty() {
            match step(0) {
                Some(s) => tree.nodes.push(s),
                None => return,
            }
        }
        let mut node = 0u32;
        for (i, (field, value)) in reads.iter().enumerate() {
            match tree.nodes.get(node as usize) {
                Some(Step::Read(f)) if f == field => {}
                // The same values read led elsewhere: the computation is not what the memo
                // assumes. Never remember it again on this thread.
                _ => {
                    tree.give_up();
                    return;
                }
            }
            self.key.clear();
            self.key.extend_from_slice(&id.to_le_bytes());
            self.key.extend_from_slice(&node.to_le_bytes());
            self.key.extend_from_slice(value);
            if let Some(&child) = self.edges.get(self.key.as_slice()) {
                node = child;
                continue;
            }
            let (Ok(child), Some(next)) = (u32::try_from(tree.nodes.len()), step(i + 1)) else {
                return;
            };
            self.bytes += self.key.len() + 32;
            tree.nodes.push(next);
            self.edges.insert(self.key.as_slice().into(), child);
            node = child;
        }
        if !matches!(tree.nodes.get(node as usize), Some(Step::Leaf(_))) {
            tree.give_up();
        }
    }
}

impl Tree {
    fn give_up(&mut self) {
        self.off = true;
        self.nodes = Vec::new();
    }
}

/// Appends an encoding of `value` that no other value shares: its kind, then its contents
/// (a multivalue's values each with their length).
fn encode(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Num(n) => {
            out.push(2);
            out.extend_from_slice(&n.get().to_bits().to_le_bytes());
            match n.source_text() {
                Some(t) => {
                    out.push(1);
                    out.extend_from_slice(t.as_bytes());
                }
                None => out.push(0),
            }
        }
        Value::Str(s) => {
            out.push(3);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Multi(vs) => {
            out.push(4);
            for v in vs {
                let mut one = Vec::new();
                encode(&mut one, v);
                out.extend_from_slice(&(one.len() as u64).to_le_bytes());
                out.extend_from_slice(&one);
            }
        }
    }
}

/// A record that notes each field read the first time, with its value encoded.
struct Recording<'a> {
    rec: &'a dyn Record,
    reads: RefCell<Vec<(Sym, Vec<u8>)>>,
    too_long: Cell<bool>,
}

impl Record for Recording<'_> {
    fn value(&self, field: Sym) -> Value<'_> {
        let value = self.rec.value(field);
        let mut reads = self.reads.borrow_mut();
        if !reads.iter().any(|(f, _)| *f == field) {
            let mut encoded = Vec::new();
            encode(&mut encoded, &value);
            if encoded.len() > MAX_VALUE {
                self.too_long.set(true);
            }
            reads.push((field, encoded));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalCtx, EvalExpr};
    use crate::time::Timestamp;

    /// A record with fixed values that notes the fields read.
    struct Rec {
        values: Vec<(Sym, Value<'static>)>,
        reads: RefCell<Vec<Sym>>,
    }

    impl Rec {
        fn new(values: &[(&str, Value<'static>)]) -> Rec {
            Rec {
                values: values
                    .iter()
                    .map(|(k, v)| (Sym::new(k), v.clone()))
                    .collect(),
                reads: RefCell::new(Vec::new()),
            }
        }

        fn read(&self) -> Vec<&'static str> {
            self.reads.borrow().iter().map(|s| s.as_str()).collect()
        }
    }

    impl Record for Rec {
        fn value(&self, field: Sym) -> Value<'_> {
            self.reads.borrow_mut().push(field);
            self.values
                .iter()
                .find(|(k, _)| *k == field)
                .map_or(Value::Null, |(_, v)| v.borrowed())
        }
    }

    fn ctx() -> EvalCtx {
        EvalCtx::new(Timestamp::from_nanos(0, 0))
    }

    /// An eval expression as a remembered computation.
    fn eval_remembered(key: &MemoKey, e: &EvalExpr, rec: &dyn Record) -> Value<'static> {
        remembered(key, rec, &|r| (e.eval(r, &ctx()).into_owned(), true))
    }

    /// A small deterministic generator, so that a failure reproduces.
    struct Lcg(u64);
    impl Lcg {
        fn pick<T: Clone>(&mut self, from: &[T]) -> T {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            from[((self.0 >> 33) % from.len() as u64) as usize].clone()
        }
    }

    #[test]
    fn a_remembered_result_is_the_result_of_a_fresh_computation() {
        let exprs = [
            r#"case(EventCode IN ("1","7"), replace(Image,"(.*\\\)(?=.*(\.\w*)$|(\w+)$)",""), EventCode="8", lower(Image), true(), coalesce(User, "none"))"#,
            r#"if(isnull(User), "x", mvindex(split(User, "\\"), -1))"#,
            r#"EventCode + 1"#,
            r#"len(Image) . "/" . EventCode"#,
            r#"tonumber(EventCode) > 5"#,
            r#"coalesce(User, Image, EventCode)"#,
            r#"mvcount(Tags) . ":" . mvjoin(Tags, ",")"#,
            r#"case(Tags="a", 1, Tags="b", 2)"#,
        ];
        let exprs: Vec<(MemoKey, EvalExpr)> = exprs
            .iter()
            .map(|e| (MemoKey::default(), EvalExpr::parse(e).unwrap()))
            .collect();
        let codes = [
            Value::from_field("1"),
            Value::from_field("7"),
            Value::from_field("8"),
            Value::from_field("07"),
            Value::str("8"),
            Value::num(8.0),
            Value::Null,
        ];
        let images = [
            Value::from_field(r"C:\Windows\System32\cmd.exe"),
            Value::from_field(r"C:\Tools\NC64"),
            Value::from_field(r"C:\a\b c\"),
            Value::from_field(""),
            Value::Null,
        ];
        let users = [
            Value::from_field(r"CORP\alice"),
            Value::from_field("SYSTEM"),
            Value::Null,
        ];
        let tags = [
            Value::multi(vec![Value::str("a"), Value::str("b")]),
            Value::multi(vec![Value::str("a,b")]),
            Value::multi(vec![Value::str("b"), Value::str("a")]),
            Value::str("a"),
            Value::Null,
        ];
        let mut rng = Lcg(7);
        for _ in 0..4000 {
            let rec = Rec::new(&[
                ("EventCode", rng.pick(&codes)),
                ("Image", rng.pick(&images)),
                ("User", rng.pick(&users)),
                ("Tags", rng.pick(&tags)),
            ]);
            for (key, e) in &exprs {
                let fresh = e.eval(&rec, &ctx()).into_owned();
                let memo = eval_remembered(key, e, &rec);
                assert_eq!(
                    format!("{memo:?}"),
                    format!("{fresh:?}"),
                    "{e:?} on {:?}",
                    rec.values
                );
            }
        }
    }

    #[test]
    fn a_remembered_result_reads_only_the_fields_its_path_read() {
        let e =
            EvalExpr::parse(r#"case(EventCode="1", Image, EventCode="7", ImageLoaded)"#).unwrap();
        let key = MemoKey::default();
        let rec = || {
            Rec::new(&[
                ("EventCode", Value::from_field("1")),
                ("Image", Value::from_field(r"C:\x.exe")),
                ("ImageLoaded", Value::from_field(r"C:\y.dll")),
            ])
        };
        assert_eq!(eval_remembered(&key, &e, &rec()).to_string(), r"C:\x.exe");
        let second = rec();
        assert_eq!(eval_remembered(&key, &e, &second).to_string(), r"C:\x.exe");
        // The first computation's path, each field once: `ImageLoaded` is not read.
        assert_eq!(second.read(), ["EventCode", "Image"]);
    }

    #[test]
    fn a_remembered_result_is_not_computed_again_and_keys_do_not_share() {
        let computed = Cell::new(0);
        let f = Sym::new("memo_test_f");
        let rec = |v: &str| Rec::new(&[("memo_test_f", Value::from_field(v.to_owned()))]);
        let (first, second) = (MemoKey::default(), MemoKey::default());
        let computed = &computed;
        let compute = |suffix: &'static str| {
            move |r: &dyn Record| {
                computed.set(computed.get() + 1);
                (format!("{}{suffix}", r.value(f)), true)
            }
        };
        let (one, two) = (compute("1"), compute("2"));
        for v in ["a", "b", "a", "a", "b"] {
            assert_eq!(remembered(&first, &rec(v), &one), format!("{v}1"));
            assert_eq!(remembered(&second, &rec(v), &two), format!("{v}2"));
        }
        assert_eq!(computed.get(), 4);
    }

    #[test]
    fn a_result_asked_not_to_be_kept_is_computed_each_time() {
        let computed = Cell::new(0);
        let key = MemoKey::default();
        let rec = Rec::new(&[("x", Value::from_field("1"))]);
        for _ in 0..3 {
            let out = remembered(&key, &rec, &|r| {
                computed.set(computed.get() + 1);
                (r.value(Sym::new("x")).to_string(), false)
            });
            assert_eq!(out, "1");
        }
        assert_eq!(computed.get(), 3);
        // An eval that hit the backtracking limit asks so: its count grows on every event.
        let e = EvalExpr::parse(r#"match(x, "^(\w+\s?)*\1$")"#).unwrap();
        let hostile = Rec::new(&[("x", Value::from_field(format!("{}b", "a".repeat(40))))]);
        for _ in 0..3 {
            let v = remembered(&key, &hostile, &|r| {
                let before = e.limit_hits();
                let v = e.eval(r, &ctx()).into_owned();
                (v, e.limit_hits() == before)
            });
            assert!(v.is_null());
        }
        assert_eq!(e.limit_hits(), 3);
    }

    #[test]
    fn a_computation_seldom_found_again_stops_being_remembered() {
        let e = EvalExpr::parse("x . \"!\"").unwrap();
        let key = MemoKey::default();
        let n = PROBATION as usize + 10;
        for i in 0..n {
            let rec = Rec::new(&[("x", Value::from_field(format!("guid-{i}")))]);
            assert_eq!(
                eval_remembered(&key, &e, &rec).to_string(),
                format!("guid-{i}!")
            );
        }
        let (off, nodes) = MEMOS.with_borrow(|m| {
            let t = &m.trees[&key.0];
            (t.off, t.nodes.len())
        });
        assert!(off);
        assert_eq!(nodes, 0);
        // Values that repeat keep theirs.
        let key = MemoKey::default();
        for i in 0..n * 2 {
            let rec = Rec::new(&[("x", Value::from_field(format!("host-{}", i % 7)))]);
            eval_remembered(&key, &e, &rec);
        }
        let (off, hits) = MEMOS.with_borrow(|m| {
            let t = &m.trees[&key.0];
            (t.off, t.hits)
        });
        assert!(!off);
        assert_eq!(hits, (n * 2 - 7) as u64);
    }

    #[test]
    fn a_long_value_read_is_not_remembered() {
        let e = EvalExpr::parse("len(x)").unwrap();
        let key = MemoKey::default();
        let rec = Rec::new(&[("x", Value::from_field("a".repeat(MAX_VALUE + 1)))]);
        for _ in 0..3 {
            assert_eq!(
                eval_remembered(&key, &e, &rec).to_string(),
                (MAX_VALUE + 1).to_string()
            );
        }
        let nodes = MEMOS.with_borrow(|m| m.trees.get(&key.0).map_or(0, |t| t.nodes.len()));
        assert_eq!(nodes, 0);
    }

    #[test]
    fn a_field_computed_by_a_remembered_computation_can_be_read_by_another() {
        // A record whose field is itself remembered: the memo is not borrowed while a record is
        // read.
        struct Layered<'a> {
            inner: &'a Rec,
            name: &'a EvalExpr,
            key: &'a MemoKey,
        }
        impl Record for Layered<'_> {
            fn value(&self, field: Sym) -> Value<'_> {
                if field.as_str() == "process_name" {
                    return eval_remembered(self.key, self.name, self.inner);
                }
                self.inner.value(field)
            }
        }
        let name = EvalExpr::parse(r#"replace(Image, "^.*\\\\", "")"#).unwrap();
        let upper = EvalExpr::parse("upper(process_name)").unwrap();
        let (name_key, upper_key) = (MemoKey::default(), MemoKey::default());
        for _ in 0..3 {
            let inner = Rec::new(&[("Image", Value::from_field(r"C:\w\cmd.exe"))]);
            let rec = Layered {
                inner: &inner,
                name: &name,
                key: &name_key,
            };
            assert_eq!(
                eval_remembered(&upper_key, &upper, &rec).to_string(),
                "CMD.EXE"
            );
        }
    }
}
