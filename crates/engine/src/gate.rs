//! Gating: which detections need evaluating for a decoded event.
//!
//! With hundreds of detections, evaluating every where-clause on every event costs far more
//! than decoding it. A detection's value literals ([`ValueLiterals`]) are
//! clauses of alternatives, each alternative text that a matching event holds in a given field. One
//! case-insensitive multi-pattern pass per field finds every literal an event holds; a
//! detection is evaluated only when each of its clauses has an alternative present (and
//! detections with no literal at all are always evaluated). The work per event is proportional
//! to the literals found, not to the number of detections.
//!
//! A field's value may cost an evaluation (an add-on's `action` or `file_path`), so the fields
//! are looked at in the order that decides most clauses first (`source`, `EventCode`), and a
//! field is skipped once every detection with a clause on it has a clause that was decided
//! without a literal present: its value could select nothing. Which later fields are needed
//! after the first few is remembered by those fields' values ([`PREFIX`], `Plans`), so events
//! of the same kind do not each ask it field by field.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use cimhunt_spl::search::{Literal, ValueLiterals};
use cimhunt_spl::{Record, Sym};
use hashbrown::HashMap;
use hashbrown::hash_map::EntryRef;
use rayon::prelude::*;

/// Decides per event which detections can match.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Detections evaluated on every event (no literal could be proven).
    always: Vec<usize>,
    /// One automaton per field that some literal comes from.
    fields: Vec<FieldGate>,
    /// For each clause, the detection it belongs to.
    clause_detection: Vec<usize>,
    /// For each detection, how many clauses must have a literal present.
    clauses_needed: Vec<u32>,
    /// For each field (in `fields`' order), the clauses whose last field it is: once it has
    /// been looked at, a clause of these without a literal present rules its detection out.
    completes: Vec<Vec<u32>>,
    /// For each field, the gated detections with a clause on it: when every one of them is
    /// ruled out, the field's value is not even computed.
    field_detections: Vec<Vec<u32>>,
}

/// The literals required in one field, and which clauses each one satisfies.
#[derive(Debug, Clone)]
struct FieldGate {
    field: Sym,
    automaton: AhoCorasick,
    /// For each literal of the automaton, the clauses it is an alternative of.
    clauses: Vec<Vec<usize>>,
}

/// A worker's reusable state for gating. Marks are stamped with an event counter, so nothing
/// needs clearing between events.
#[derive(Debug, Default)]
pub struct GateScratch {
    stamp: u32,
    clause_stamp: Vec<u32>,
    detection_stamp: Vec<u32>,
    satisfied: Vec<u32>,
    /// The detections selected for the current event, each once.
    selected: Vec<u32>,
    /// Per gated field, the clauses each recently seen value satisfies.
    memos: Vec<Memo>,
    /// The clauses the value being looked at satisfies.
    found: Vec<u32>,
    /// Per detection, stamped when it is ruled out for this event.
    dead_stamp: Vec<u32>,
    /// The fields to look at after the first ones, by the first ones' values ([`Plans`]).
    plans: Plans,
    /// The first fields' values of the event being looked at, encoded.
    key: Vec<u8>,
}

/// How many of the first fields (in the gate's order) decide which of the others are looked at,
/// remembered by their values ([`Plans`]).
const PREFIX: usize = 3;

/// Remembers, by the values of a gate's first [`PREFIX`] fields (`source`, `EventCode` and the
/// like: few distinct values), which later fields some detection still in the running has a
/// clause on. Asking that of each field for each event meant scanning its detections, the
/// gate's largest cost; events of the same kind now share the answer. When the first fields'
/// values rarely repeat, it stops remembering and each event is asked field by field.
#[derive(Debug, Default)]
struct Plans {
    map: HashMap<Box<[u8]>, Box<[u32]>>,
    /// Whether the next of the first fields is needed, by the values of those before it.
    needs: HashMap<Box<[u8]>, bool>,
    rate: HitRate,
}

/// The rule both memos keep to: after 8,192 lookups, remember only while at least one lookup
/// in four hit (what was remembered is dropped then either way).
#[derive(Debug, Default)]
struct HitRate {
    lookups: u32,
    hits: u32,
    off: bool,
}

impl HitRate {
    /// Counts a lookup; true when the memo must start over (the decision was just made).
    fn lookup(&mut self) -> bool {
        self.lookups += 1;
        if self.lookups == 8192 {
            self.off = self.hits < 2048;
            return true;
        }
        false
    }
}

/// Plans remembered per gate before the memo starts over.
const PLANS_CAPACITY: usize = 1024;

/// Remembers, for one field, which clauses a value satisfies. Process names, parent names and
/// paths repeat endlessly, so most lookups hit and skip the search; a field whose values rarely
/// repeat (command lines with ids in them) stops being memoized.
#[derive(Debug, Default)]
struct Memo {
    map: HashMap<String, Box<[u32]>>,
    rate: HitRate,
}

/// Values remembered per field before the memo starts over. 4,096 held ~5 MiB per worker over
/// the library's fields and ran no faster than 1,024 on the 128 MiB mixed corpus.
const MEMO_CAPACITY: usize = 1024;

impl Memo {
    /// The clauses `value` satisfies: remembered, or found with `search` (and remembered).
    fn clauses<'m>(
        &'m mut self,
        value: &str,
        found: &'m mut Vec<u32>,
        search: impl FnOnce(&mut Vec<u32>),
    ) -> &'m [u32] {
        if self.rate.off {
            found.clear();
            search(found);
            return found;
        }
        if self.rate.lookup() {
            self.map = HashMap::new();
        }
        if self.map.len() >= MEMO_CAPACITY && !self.map.contains_key(value) {
            self.map.clear();
        }
        // One hash and one comparison of the value when it is remembered (most lookups).
        match self.map.entry_ref(value) {
            EntryRef::Occupied(known) => {
                self.rate.hits += 1;
                known.into_mut()
            }
            EntryRef::Vacant(room) => {
                found.clear();
                search(found);
                room.insert(found.as_slice().into())
            }
        }
    }
}

impl Gate {
    /// The gate for detections with these requirements, in order.
    pub fn new<'a>(requirements: impl IntoIterator<Item = &'a ValueLiterals>) -> Gate {
        let mut always = Vec::new();
        // (field, literal texts, clauses per literal, each text's place) being built.
        type Building = (Sym, Vec<String>, Vec<Vec<usize>>, HashMap<String, usize>);
        let mut by_field: Vec<Building> = Vec::new();
        let mut clause_detection = Vec::new();
        let mut clauses_needed = Vec::new();
        // For each clause, the fields (building slots) its alternatives are in.
        let mut clause_slots: Vec<Vec<usize>> = Vec::new();
        for (d, req) in requirements.into_iter().enumerate() {
            let clauses = cheap_clauses(req);
            clauses_needed.push(clauses.len() as u32);
            if clauses.is_empty() {
                always.push(d);
            }
            for clause in clauses {
                let id = clause_detection.len();
                clause_detection.push(d);
                let mut slots = Vec::new();
                for literal in clause {
                    let slot = match by_field.iter().position(|b| b.0 == literal.field) {
                        Some(at) => at,
                        None => {
                            by_field.push((literal.field, Vec::new(), Vec::new(), HashMap::new()));
                            by_field.len() - 1
                        }
                    };
                    if !slots.contains(&slot) {
                        slots.push(slot);
                    }
                    let (_, texts, owners, places) = &mut by_field[slot];
                    let text = literal.text.to_ascii_lowercase();
                    match places.get(&text) {
                        Some(&at) if owners[at].last() != Some(&id) => owners[at].push(id),
                        Some(_) => {}
                        None => {
                            places.insert(text.clone(), texts.len());
                            texts.push(text);
                            owners.push(vec![id]);
                        }
                    }
                }
                clause_slots.push(slots);
            }
        }
        // The fields' searches are built on every core (thousands of literals for the
        // process names and command lines of the whole library), in the fields' order.
        let built: Vec<_> = by_field
            .into_par_iter()
            .map(|(field, texts, clauses, _)| (field, automaton(&texts), clauses))
            .collect();
        let mut by_slot: Vec<Option<FieldGate>> = Vec::with_capacity(built.len());
        for (field, automaton, clauses) in built {
            match automaton {
                Some(automaton) => by_slot.push(Some(FieldGate {
                    field,
                    automaton,
                    clauses,
                })),
                None => {
                    // Too many literals to build a search for: evaluate their detections always.
                    let gated = clauses.iter().flatten().map(|&c| clause_detection[c]);
                    always.extend(gated);
                    by_slot.push(None);
                }
            }
        }
        always.sort_unstable();
        always.dedup();
        // A detection evaluated always must not be selected a second time by its clauses.
        for &d in &always {
            clauses_needed[d] = u32::MAX;
        }
        let gated = |c: usize| clauses_needed[clause_detection[c]] != u32::MAX;
        let order = field_order(&by_slot, &clause_slots, &gated);
        let mut position = vec![u32::MAX; by_slot.len()];
        for (j, &slot) in order.iter().enumerate() {
            position[slot] = j as u32;
        }
        let mut completes = vec![Vec::new(); order.len()];
        let mut field_detections: Vec<Vec<u32>> = vec![Vec::new(); order.len()];
        for (c, slots) in clause_slots.iter().enumerate() {
            if !gated(c) {
                continue;
            }
            // A gated detection's clauses are on fields that have a search (those without
            // one made their detections always evaluated).
            let at: Vec<usize> = slots.iter().map(|&s| position[s] as usize).collect();
            if let Some(&last) = at.iter().max() {
                completes[last].push(c as u32);
            }
            let d = clause_detection[c] as u32;
            for j in at {
                if field_detections[j].last() != Some(&d) {
                    field_detections[j].push(d);
                }
            }
        }
        // `order` holds exactly the slots with a search.
        let fields = order
            .iter()
            .filter_map(|&slot| by_slot[slot].take())
            .collect();
        Gate {
            always,
            fields,
            clause_detection,
            clauses_needed,
            completes,
            field_detections,
        }
    }

    /// Collects in `scratch` the detections that can match `event`; read them with
    /// [`GateScratch::selected`].
    pub fn select(&self, event: &dyn Record, scratch: &mut GateScratch) {
        scratch.begin(
            self.clause_detection.len(),
            self.clauses_needed.len(),
            self.fields.len(),
        );
        let stamp = scratch.stamp;
        scratch.selected.clear();
        scratch
            .selected
            .extend(self.always.iter().map(|&d| d as u32));
        let GateScratch {
            memos,
            found,
            dead_stamp,
            plans,
            key,
            ..
        } = scratch;
        let mut marks = Marks {
            stamp,
            clause_stamp: &mut scratch.clause_stamp,
            detection_stamp: &mut scratch.detection_stamp,
            satisfied: &mut scratch.satisfied,
            selected: &mut scratch.selected,
        };
        // Fields most clauses are decided by come first (`field_order`): once every detection
        // with a clause on a later field is ruled out, its value is not computed at all (an
        // add-on field such as `action` costs an evaluation per event).
        let mut look = |j: usize, key: Option<&mut Vec<u8>>, marks: &mut Marks<'_>| {
            let g = &self.fields[j];
            let value = event.value(g.field);
            let mut key = key;
            for value in value.texts() {
                let value: &str = &value;
                if let Some(key) = key.as_deref_mut() {
                    key.extend_from_slice(&(value.len() as u32).to_le_bytes());
                    key.extend_from_slice(value.as_bytes());
                }
                let clauses = memos[j].clauses(value, found, |out| g.search(value, out));
                for &clause in clauses {
                    marks.satisfy(clause as usize, self);
                }
            }
        };
        let needed = |j: usize, dead_stamp: &[u32]| {
            self.field_detections[j]
                .iter()
                .any(|&d| dead_stamp[d as usize] != stamp)
        };
        let rule_out = |j: usize, marks: &Marks<'_>, dead_stamp: &mut [u32]| {
            for &c in &self.completes[j] {
                let c = c as usize;
                if marks.clause_stamp[c] != stamp {
                    // Decided and without a literal present: its detection cannot match.
                    dead_stamp[self.clause_detection[c]] = stamp;
                }
            }
        };
        let prefix = PREFIX.min(self.fields.len());
        key.clear();
        // Ruling out after a field looked at only serves to choose the fields after it
        // (`needed`), and each pass marks a clause for each of the hundreds of detections the
        // field decides. The choices are remembered by the values looked at so far, like the
        // plan: the passes run only when a choice is not (or nothing is remembered).
        let remember = !plans.rate.off;
        let mut pending: [bool; PREFIX] = [false; PREFIX];
        let flush = |pending: &mut [bool; PREFIX], marks: &Marks<'_>, dead_stamp: &mut [u32]| {
            for (j, p) in pending.iter_mut().enumerate() {
                if std::mem::take(p) {
                    rule_out(j, marks, dead_stamp);
                }
            }
        };
        for j in 0..prefix {
            let known = if remember && j > 0 {
                plans.needs.get(key.as_slice()).copied()
            } else {
                None
            };
            let need = match known {
                Some(need) => need,
                None => {
                    flush(&mut pending, &marks, dead_stamp);
                    let need = needed(j, dead_stamp);
                    if remember && j > 0 {
                        if plans.needs.len() >= PLANS_CAPACITY {
                            plans.needs.clear();
                        }
                        plans.needs.insert(key.as_slice().into(), need);
                    }
                    need
                }
            };
            if need {
                look(j, Some(key), &mut marks);
                if let Some(p) = pending.get_mut(j) {
                    *p = true;
                }
            }
            // Each field's values end with a length no value has.
            key.extend_from_slice(&u32::MAX.to_le_bytes());
        }
        if plans.rate.off {
            flush(&mut pending, &marks, dead_stamp);
            for j in prefix..self.fields.len() {
                if needed(j, dead_stamp) {
                    look(j, None, &mut marks);
                    rule_out(j, &marks, dead_stamp);
                }
            }
            return;
        }
        if plans.rate.lookup() {
            plans.map = HashMap::new();
            plans.needs = HashMap::new();
        }
        if let Some(plan) = plans.map.get(key.as_slice()) {
            plans.rate.hits += 1;
            for &j in plan.iter() {
                look(j as usize, None, &mut marks);
            }
            return;
        }
        flush(&mut pending, &marks, dead_stamp);
        // The later fields a detection still in the running after the first ones has a clause
        // on: the others could select nothing, whatever their values.
        let plan: Box<[u32]> = (prefix..self.fields.len())
            .filter(|&j| needed(j, dead_stamp))
            .map(|j| j as u32)
            .collect();
        for &j in plan.iter() {
            look(j as usize, None, &mut marks);
        }
        if plans.map.len() >= PLANS_CAPACITY {
            plans.map.clear();
        }
        plans.map.insert(key.as_slice().into(), plan);
    }
}

/// The order fields are looked at in: those that decide most clauses first. A clause is
/// decided once every field it has an alternative in has been looked at, so each clause of a
/// gated detection counts for each of its fields, divided by how many it has; ties keep the
/// order fields first appeared in. Any order selects the same detections; this one lets the
/// cheap, decisive fields (`source`, `EventCode`) rule detections out before costly ones
/// (`action`, an add-on evaluation) are computed for them.
fn field_order(
    by_slot: &[Option<FieldGate>],
    clause_slots: &[Vec<usize>],
    gated: &dyn Fn(usize) -> bool,
) -> Vec<usize> {
    let mut score = vec![0f64; by_slot.len()];
    for (c, slots) in clause_slots.iter().enumerate() {
        if !gated(c) {
            continue;
        }
        for &s in slots {
            score[s] += 1.0 / slots.len() as f64;
        }
    }
    let mut order: Vec<usize> = (0..by_slot.len())
        .filter(|&s| by_slot[s].is_some())
        .collect();
    order.sort_by(|a, b| score[*b].total_cmp(&score[*a]).then(a.cmp(b)));
    order
}

impl FieldGate {
    /// Appends the clauses `value` satisfies (each once) to `out`.
    fn search(&self, value: &str, out: &mut Vec<u32>) {
        // Patterns compare Unicode-lowercased text; a few non-ASCII characters (the Kelvin
        // sign, dotted capital I) lowercase to ASCII letters, so search those values lowercased.
        let lowered;
        let value = if value.is_ascii() {
            value
        } else {
            lowered = value.to_lowercase();
            &lowered
        };
        // Most values hold no literal at all: `is_match` says so faster than an overlapping
        // search.
        if !self.automaton.is_match(value) {
            return;
        }
        for m in self.automaton.find_overlapping_iter(value) {
            for &clause in &self.clauses[m.pattern().as_usize()] {
                let clause = clause as u32;
                if !out.contains(&clause) {
                    out.push(clause);
                }
            }
        }
    }
}

/// The per-event marks of [`GateScratch`], borrowed apart from its memos.
struct Marks<'s> {
    stamp: u32,
    clause_stamp: &'s mut [u32],
    detection_stamp: &'s mut [u32],
    satisfied: &'s mut [u32],
    selected: &'s mut Vec<u32>,
}

impl Marks<'_> {
    /// Notes that an event satisfies `clause`; its detection becomes a candidate once all of
    /// its clauses are.
    fn satisfy(&mut self, clause: usize, gate: &Gate) {
        let stamp = self.stamp;
        if self.clause_stamp[clause] == stamp {
            return;
        }
        self.clause_stamp[clause] = stamp;
        let d = gate.clause_detection[clause];
        if self.detection_stamp[d] != stamp {
            self.detection_stamp[d] = stamp;
            self.satisfied[d] = 0;
        }
        self.satisfied[d] += 1;
        if self.satisfied[d] == gate.clauses_needed[d] {
            self.selected.push(d as u32);
        }
    }
}

/// The case-insensitive overlapping search for a field's literals: a contiguous NFA, else the
/// crate's default automaton. For the whole endpoint library's 117 gated fields, DFAs took
/// 9.3 MB (2.4 MB for the registry paths alone) and contiguous NFAs 0.8 MB; the library ran no
/// slower over the EVTX or the 128 MiB mixed corpus, since most values are answered by the
/// memo or rejected by `is_match`.
fn automaton(texts: &[String]) -> Option<AhoCorasick> {
    let build = |kind| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(texts)
            .ok()
    };
    build(Some(AhoCorasickKind::ContiguousNFA)).or_else(|| build(None))
}

/// The clauses to gate a detection on. Each clause alone is a necessary condition, so any
/// subset is sound; searching long command lines costs most, so clauses on command lines are
/// used only when a detection has no clause on shorter fields (names, paths, users) that is
/// selective. A clause with a short literal (`EventCode=7` gives `7`) is selective on a short
/// field, whose values are short too, and is always used there; on a long field it would be
/// found in nearly every value, and is not used.
fn cheap_clauses(req: &ValueLiterals) -> Vec<&Vec<Literal>> {
    let on_command_line = |c: &Vec<Literal>| c.iter().any(|l| is_long(l.field));
    let short = |l: &Literal| l.text.len() < SELECTIVE_LITERAL;
    let short_literal = |c: &Vec<Literal>| c.iter().any(short);
    let short_on_long = |c: &Vec<Literal>| c.iter().any(|l| short(l) && is_long(l.field));
    let clauses: Vec<_> = req
        .clauses
        .iter()
        .filter(|c| !c.is_empty() && !short_on_long(c))
        .collect();
    let selective_short = clauses
        .iter()
        .any(|c| !on_command_line(c) && !short_literal(c));
    if selective_short {
        clauses
            .into_iter()
            .filter(|c| !on_command_line(c))
            .collect()
    } else {
        clauses
    }
}

/// Literals shorter than this are found in most long values.
const SELECTIVE_LITERAL: usize = 3;

/// Fields whose values are long text (command lines, script blocks), costly to search.
fn is_long(field: Sym) -> bool {
    matches!(
        field.as_str(),
        "process"
            | "parent_process"
            | "CommandLine"
            | "ParentCommandLine"
            | "ScriptBlockText"
            | "_raw"
            | "Processes.process"
            | "Processes.parent_process"
    )
}

impl GateScratch {
    /// Starts a new event: a fresh stamp, buffers sized for the gate.
    fn begin(&mut self, clauses: usize, detections: usize, fields: usize) {
        if self.clause_stamp.len() != clauses
            || self.satisfied.len() != detections
            || self.memos.len() != fields
        {
            *self = GateScratch {
                stamp: 0,
                clause_stamp: vec![0; clauses],
                detection_stamp: vec![0; detections],
                satisfied: vec![0; detections],
                selected: Vec::new(),
                memos: (0..fields).map(|_| Memo::default()).collect(),
                found: Vec::new(),
                plans: Plans::default(),
                key: Vec::new(),
                dead_stamp: vec![0; detections],
            };
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // After 2^32 events the stamps wrap: clear the marks once.
            self.clause_stamp.fill(0);
            self.detection_stamp.fill(0);
            self.dead_stamp.fill(0);
            self.stamp = 1;
        }
    }

    /// The detections to evaluate on the event last passed to [`Gate::select`], each once, in
    /// no particular order.
    #[inline]
    pub fn selected(&self) -> &[u32] {
        &self.selected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::req;
    use cimhunt_spl::Row;

    #[test]
    fn a_field_with_hundreds_of_literals_is_searched_in_little_memory() {
        // Regression: each field's search was a DFA; the library's registry paths (195
        // literals) took 2.4 MB, its 117 fields 9.3 MB, held for the whole run.
        let texts: Vec<String> = (0..200)
            .map(|i| format!("\\software\\vendor{i}\\currentversion\\run\\key{i}"))
            .collect();
        let a = automaton(&texts).expect("builds");
        assert!(a.memory_usage() < 256 * 1024, "{} bytes", a.memory_usage());
        let hay = "HKLM\\SOFTWARE\\Vendor17\\CurrentVersion\\Run\\key17";
        let found: Vec<usize> = a
            .find_overlapping_iter(hay)
            .map(|m| m.pattern().as_usize())
            .collect();
        assert_eq!(found, [17]);
    }

    fn candidates(gate: &Gate, event: &Row) -> Vec<usize> {
        let mut scratch = GateScratch::default();
        // Select twice: the stamps must not carry marks over from one event to the next.
        let empty = Row::from_texts(&[("process", "nothing to see")]);
        gate.select(event, &mut scratch);
        gate.select(&empty, &mut scratch);
        gate.select(event, &mut scratch);
        let mut selected: Vec<usize> = scratch.selected().iter().map(|&d| d as usize).collect();
        selected.sort_unstable();
        selected
    }

    #[test]
    fn detections_are_selected_when_every_clause_has_a_literal() {
        let gate = Gate::new(&[
            req(&[&["certutil"], &["-urlcache", "-decode"]]),
            req(&[&["rundll32", "regsvr32"]]),
            req(&[]),
        ]);
        // Detection 0 lacks `-urlcache`/`-decode`: one of its two clauses is satisfied.
        let e = Row::from_texts(&[("process", "certutil -f x.cer")]);
        assert_eq!(candidates(&gate, &e), [2]);
        let e = Row::from_texts(&[("process", "CertUtil -URLCache -f http://x/a")]);
        assert_eq!(candidates(&gate, &e), [0, 2]);
        let e = Row::from_texts(&[("process", "regsvr32 /s x.dll")]);
        assert_eq!(candidates(&gate, &e), [1, 2]);
    }

    #[test]
    fn command_line_clauses_are_skipped_when_a_name_clause_exists() {
        let gate = Gate::new(&[req(&[&["name:msiexec.exe"], &["http://", "https://"]])]);
        let e = Row::from_texts(&[
            ("process_name", "MSIEXEC.EXE"),
            ("process", "msiexec /i C:\\a.msi"),
        ]);
        // Only the name is searched: the event is evaluated (and fails the filter there).
        assert_eq!(candidates(&gate, &e), [0]);
        let e = Row::from_texts(&[
            ("process_name", "cmd.exe"),
            ("process", "cmd /c msiexec /i http://x"),
        ]);
        assert!(candidates(&gate, &e).is_empty());
    }

    #[test]
    fn a_short_literal_gates_on_a_short_field_and_not_on_a_long_one() {
        // `EventCode=7`-like: a one-character literal on a short field is used, and does not
        // stand in for the selective clause on the command line.
        let gate = Gate::new(&[req(&[&["name:7"], &["http://"]])]);
        let event = |name: &str, process: &str| {
            Row::from_texts(&[("process_name", name), ("process", process)])
        };
        assert_eq!(candidates(&gate, &event("7", "x http://y")), [0]);
        assert!(candidates(&gate, &event("8", "x http://y")).is_empty());
        assert!(candidates(&gate, &event("7", "x y")).is_empty());
        // A short literal on a long field would be in most values: not gated on at all.
        let gate = Gate::new(&[req(&[&["-e"]])]);
        assert_eq!(candidates(&gate, &event("cmd.exe", "cmd /c dir")), [0]);
        // A clause whose short literal is on a short field (an `OR` of a code and a command
        // line) is used.
        let gate = Gate::new(&[req(&[&["name:7", "http://"]])]);
        assert!(candidates(&gate, &event("8", "x y")).is_empty());
        assert_eq!(candidates(&gate, &event("8", "x http://y")), [0]);
    }

    #[test]
    fn non_ascii_letters_that_lowercase_to_ascii_are_found() {
        let gate = Gate::new(&[req(&[&["kill"]])]);
        // U+212A KELVIN SIGN lowercases to `k`: `*kill*` matches this value.
        let e = Row::from_texts(&[("process", "\u{212A}ILL.exe")]);
        assert_eq!(candidates(&gate, &e), [0]);
    }

    /// Requirements whose literals are written `field=text`.
    fn on(clauses: &[&[&str]]) -> ValueLiterals {
        ValueLiterals {
            clauses: clauses
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|l| {
                            let (field, text) = l.split_once('=').expect("field=text");
                            cimhunt_spl::search::Literal {
                                text: text.to_owned(),
                                field: Sym::new(field),
                                evtx_safe: true,
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// A record that notes which fields were asked for.
    struct Asked<'r>(&'r Row, std::cell::RefCell<Vec<Sym>>);

    impl Record for Asked<'_> {
        fn value(&self, field: Sym) -> cimhunt_spl::Value<'_> {
            self.1.borrow_mut().push(field);
            self.0.value(field)
        }
    }

    /// Regression: the raw searches' gate computed each of its 90 fields for every event,
    /// add-on fields such as `action` among them, though the detections with a clause on them
    /// were already ruled out by the event's `EventCode`.
    #[test]
    fn a_field_no_detection_still_in_the_running_needs_is_not_computed() {
        let gate = Gate::new(&[
            on(&[&["EventCode=4688"], &["action=blocked"]]),
            on(&[&["EventCode=4688"], &["status=failure"]]),
            on(&[&["EventCode=1"], &["process_name=whoami.exe"]]),
        ]);
        let event = Row::from_texts(&[("EventCode", "1"), ("process_name", "WHOAMI.EXE")]);
        let asked = Asked(&event, Default::default());
        let mut scratch = GateScratch::default();
        gate.select(&asked, &mut scratch);
        assert_eq!(scratch.selected(), [2]);
        let asked: Vec<&str> = asked.1.borrow().iter().map(|f| f.as_str()).collect();
        assert_eq!(asked, ["EventCode", "process_name"]);
        let event = Row::from_texts(&[("EventCode", "4688"), ("action", "blocked")]);
        assert_eq!(candidates(&gate, &event), [0]);
    }

    /// The first fields rule detections out only when a choice of the fields after them is not
    /// remembered; an event that finds the choices and the plan remembered asks for the same
    /// fields.
    #[test]
    fn a_remembered_plan_asks_for_the_same_fields_as_the_event_that_made_it() {
        let gate = Gate::new(&[
            on(&[
                &["EventCode=1"],
                &["source=sysmon"],
                &["user=admin"],
                &["dest=dc"],
            ]),
            on(&[&["EventCode=1"], &["source=sysmon"]]),
        ]);
        let cells = [
            ("EventCode", "1"),
            ("source", "sysmon"),
            ("user", "guest"),
            ("dest", "dc"),
        ];
        // Another code rules both detections out at once: nothing after it is asked for.
        let other = [
            ("EventCode", "2"),
            ("source", "sysmon"),
            ("user", "admin"),
            ("dest", "dc"),
        ];
        let mut scratch = GateScratch::default();
        for _ in 0..2 {
            let event = Row::from_texts(&cells);
            let asked = Asked(&event, Default::default());
            gate.select(&asked, &mut scratch);
            assert_eq!(scratch.selected(), [1]);
            let asked: Vec<&str> = asked.1.borrow().iter().map(|f| f.as_str()).collect();
            // `user` rules the first detection out: its `dest` is never needed.
            assert_eq!(asked, ["EventCode", "source", "user"]);
            let event = Row::from_texts(&other);
            let asked = Asked(&event, Default::default());
            gate.select(&asked, &mut scratch);
            assert!(scratch.selected().is_empty());
            let asked: Vec<&str> = asked.1.borrow().iter().map(|f| f.as_str()).collect();
            assert_eq!(asked, ["EventCode"]);
        }
        assert_eq!(
            scratch.plans.map.len(),
            2,
            "the later events used the plans"
        );
    }

    /// When the first fields' values rarely repeat, the gate stops remembering plans and asks
    /// field by field: the same detections, and still no needless field.
    #[test]
    fn a_gate_whose_first_fields_never_repeat_still_skips_fields() {
        let gate = Gate::new(&[
            on(&[&["EventCode=4688"], &["action=blocked"]]),
            on(&[&["EventCode=1"], &["process_name=whoami.exe"]]),
            on(&[&["EventCode=11"], &["user=admin"]]),
            on(&[&["EventCode=13"], &["dest=dc"]]),
        ]);
        let mut scratch = GateScratch::default();
        for i in 0..9000 {
            // Letters only: no value holds a literal (the literals are digits).
            let code: String = format!("{i:05}")
                .bytes()
                .map(|b| char::from(b'a' + (b - b'0')))
                .collect();
            let e = Row::from_texts(&[("EventCode", &code), ("user", "admin")]);
            gate.select(&e, &mut scratch);
            assert!(scratch.selected().is_empty());
        }
        assert!(scratch.plans.rate.off, "plans still remembered");
        let event = Row::from_texts(&[("EventCode", "1"), ("process_name", "WHOAMI.EXE")]);
        let asked = Asked(&event, Default::default());
        gate.select(&asked, &mut scratch);
        assert_eq!(scratch.selected(), [1]);
        let asked: Vec<&str> = asked.1.borrow().iter().map(|f| f.as_str()).collect();
        assert_eq!(asked, ["EventCode", "process_name"]);
        let event = Row::from_texts(&[("EventCode", "4688"), ("action", "blocked")]);
        gate.select(&event, &mut scratch);
        assert_eq!(scratch.selected(), [0]);
    }

    /// Whatever fields are skipped, a detection is selected exactly when each of its clauses
    /// has a literal present (or it has none): checked against that rule on pseudo-random
    /// requirements and events.
    #[test]
    fn skipping_fields_selects_exactly_the_detections_whose_clauses_all_hold() {
        let fields = ["EventCode", "source", "action", "user", "dest"];
        let texts = ["1", "4688", "sysmon", "security", "blocked", "admin", "dc"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..200 {
            let mut reqs: Vec<Vec<Vec<(usize, usize)>>> = Vec::new();
            for _ in 0..1 + next(6) {
                let clauses = (0..next(4))
                    .map(|_| (0..1 + next(3)).map(|_| (next(5), next(7))).collect())
                    .collect();
                reqs.push(clauses);
            }
            let written: Vec<Vec<Vec<String>>> = reqs
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| {
                            c.iter()
                                .map(|&(f, t)| format!("{}={}", fields[f], texts[t]))
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let lits: Vec<ValueLiterals> = written
                .iter()
                .map(|r| {
                    let clauses: Vec<Vec<&str>> = r
                        .iter()
                        .map(|c| c.iter().map(String::as_str).collect())
                        .collect();
                    let refs: Vec<&[&str]> = clauses.iter().map(Vec::as_slice).collect();
                    on(&refs)
                })
                .collect();
            let gate = Gate::new(&lits);
            for _ in 0..20 {
                let mut cells: Vec<(&str, &str)> = Vec::new();
                for f in fields {
                    if next(3) > 0 {
                        cells.push((f, texts[next(7)]));
                    }
                }
                let event = Row::from_texts(&cells);
                let expected: Vec<usize> = (0..reqs.len())
                    .filter(|&d| {
                        reqs[d].iter().all(|c| {
                            c.iter().any(|&(f, t)| {
                                cells
                                    .iter()
                                    .any(|&(n, v)| n == fields[f] && v.contains(texts[t]))
                            })
                        })
                    })
                    .collect();
                assert_eq!(
                    candidates(&gate, &event),
                    expected,
                    "{written:?} on {cells:?}"
                );
            }
        }
    }

    #[test]
    fn literals_are_looked_for_in_their_own_field_and_every_value() {
        let gate = Gate::new(&[req(&[&["name:msiexec.exe"]])]);
        let mut e = Row::from_texts(&[
            ("process", "msiexec.exe /i x.msi"),
            ("process_name", "update.exe"),
        ]);
        assert!(
            candidates(&gate, &e).is_empty(),
            "only in process, not in process_name"
        );
        e.set(
            Sym::new("process_name"),
            cimhunt_spl::Value::from_fields(["update.exe", "MsiExec.exe"]).into_owned(),
        );
        assert_eq!(candidates(&gate, &e), [0]);
    }
}
