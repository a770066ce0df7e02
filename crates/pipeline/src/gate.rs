//! Gating: which detections need evaluating for a decoded event.
//!
//! With hundreds of detections, evaluating every where-clause on every event costs far more
//! than decoding it. A detection's required literals ([`RequiredLiterals`]) are clauses of
//! alternatives, each alternative text that a matching event holds in a given field. One
//! case-insensitive multi-pattern pass per field finds every literal an event holds; a
//! detection is evaluated only when each of its clauses has an alternative present (and
//! detections with no literal at all are always evaluated). The work per event is proportional
//! to the literals found, not to the number of detections.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use cimhunt_cim::{CimEvent, Field};
use cimhunt_spl::RequiredLiterals;

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
}

/// The literals required in one field, and which clauses each one satisfies.
#[derive(Debug, Clone)]
struct FieldGate {
    field: Field,
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
    candidate: Vec<u32>,
}

impl Gate {
    /// The gate for detections with these requirements, in order.
    pub fn new<'a>(requirements: impl IntoIterator<Item = &'a RequiredLiterals>) -> Gate {
        let mut always = Vec::new();
        // (field, literal texts, clauses per literal) being built.
        let mut by_field: Vec<(Field, Vec<String>, Vec<Vec<usize>>)> = Vec::new();
        let mut clause_detection = Vec::new();
        let mut clauses_needed = Vec::new();
        for (d, req) in requirements.into_iter().enumerate() {
            let clauses: Vec<_> = req.clauses.iter().filter(|c| !c.is_empty()).collect();
            clauses_needed.push(clauses.len() as u32);
            if clauses.is_empty() {
                always.push(d);
            }
            for clause in clauses {
                let id = clause_detection.len();
                clause_detection.push(d);
                for literal in clause {
                    let slot = match by_field.iter().position(|(f, _, _)| *f == literal.field) {
                        Some(at) => at,
                        None => {
                            by_field.push((literal.field, Vec::new(), Vec::new()));
                            by_field.len() - 1
                        }
                    };
                    let (_, texts, owners) = &mut by_field[slot];
                    let text = literal.text.to_ascii_lowercase();
                    match texts.iter().position(|t| *t == text) {
                        Some(at) if owners[at].last() != Some(&id) => owners[at].push(id),
                        Some(_) => {}
                        None => {
                            texts.push(text);
                            owners.push(vec![id]);
                        }
                    }
                }
            }
        }
        let fields = by_field
            .into_iter()
            .map(|(field, texts, clauses)| FieldGate {
                field,
                automaton: AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&texts)
                    .expect("literal patterns always build"),
                clauses,
            })
            .collect();
        Gate {
            always,
            fields,
            clause_detection,
            clauses_needed,
        }
    }

    /// Marks in `scratch` the detections that can match `event`; read them with
    /// [`GateScratch::is_candidate`].
    pub fn select(&self, event: &CimEvent<'_>, scratch: &mut GateScratch) {
        scratch.begin(self.clause_detection.len(), self.clauses_needed.len());
        let stamp = scratch.stamp;
        for &d in &self.always {
            scratch.candidate[d] = stamp;
        }
        for g in &self.fields {
            for value in event.values(g.field) {
                for m in g.automaton.find_overlapping_iter(value) {
                    for &clause in &g.clauses[m.pattern().as_usize()] {
                        if scratch.clause_stamp[clause] == stamp {
                            continue;
                        }
                        scratch.clause_stamp[clause] = stamp;
                        let d = self.clause_detection[clause];
                        if scratch.detection_stamp[d] != stamp {
                            scratch.detection_stamp[d] = stamp;
                            scratch.satisfied[d] = 0;
                        }
                        scratch.satisfied[d] += 1;
                        if scratch.satisfied[d] == self.clauses_needed[d] {
                            scratch.candidate[d] = stamp;
                        }
                    }
                }
            }
        }
    }
}

impl GateScratch {
    /// Starts a new event: a fresh stamp, buffers sized for the gate.
    fn begin(&mut self, clauses: usize, detections: usize) {
        if self.clause_stamp.len() != clauses || self.candidate.len() != detections {
            *self = GateScratch {
                stamp: 0,
                clause_stamp: vec![0; clauses],
                detection_stamp: vec![0; detections],
                satisfied: vec![0; detections],
                candidate: vec![0; detections],
            };
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            // After 2^32 events the stamps wrap: clear the marks once.
            self.clause_stamp.fill(0);
            self.detection_stamp.fill(0);
            self.candidate.fill(0);
            self.stamp = 1;
        }
    }

    /// Whether detection `i` must be evaluated on the event last passed to [`Gate::select`].
    #[inline]
    pub fn is_candidate(&self, i: usize) -> bool {
        self.candidate.get(i).is_none_or(|&s| s == self.stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cimhunt_spl::Literal;

    /// Requirements whose literals are all in `process`, except those written `field:text`.
    fn req(clauses: &[&[&str]]) -> RequiredLiterals {
        let literal = |s: &&str| match s.split_once(':') {
            Some(("name", t)) => Literal {
                text: t.to_owned(),
                field: Field::ProcessName,
            },
            _ => Literal {
                text: s.to_string(),
                field: Field::Process,
            },
        };
        RequiredLiterals {
            clauses: clauses
                .iter()
                .map(|c| c.iter().map(literal).collect())
                .collect(),
        }
    }

    fn candidates(gate: &Gate, event: &CimEvent<'_>) -> Vec<usize> {
        let mut scratch = GateScratch::default();
        // Select twice: the stamps must not carry marks over from one event to the next.
        let mut empty = CimEvent::new();
        empty.set(Field::Process, "nothing to see");
        gate.select(event, &mut scratch);
        gate.select(&empty, &mut scratch);
        gate.select(event, &mut scratch);
        (0..gate.clauses_needed.len())
            .filter(|&i| scratch.is_candidate(i))
            .collect()
    }

    #[test]
    fn detections_are_selected_when_every_clause_has_a_literal() {
        let gate = Gate::new(&[
            req(&[&["name:msiexec.exe"], &["http://", "https://"]]),
            req(&[&["certutil"]]),
            req(&[]),
            req(&[&["rundll32", "regsvr32"]]),
        ]);
        let mut e = CimEvent::new();
        e.set(Field::ProcessName, "MSIEXEC.EXE");
        e.set(Field::Process, "regsvr32 /s x.dll");
        // Detection 0 lacks a URL: only one of its two clauses is satisfied.
        assert_eq!(candidates(&gate, &e), [2, 3]);
        e.set(Field::Process, "msiexec /i HTTPS://x/a.msi regsvr32");
        assert_eq!(candidates(&gate, &e), [0, 2, 3]);
        let mut other = CimEvent::new();
        other.set(Field::ProcessName, "cmd.exe");
        assert_eq!(candidates(&gate, &other), [2]);
    }

    #[test]
    fn literals_are_looked_for_in_their_own_field_and_every_value() {
        let gate = Gate::new(&[req(&[&["name:msiexec.exe"]])]);
        let mut e = CimEvent::new();
        e.set(Field::Process, "msiexec.exe /i x.msi");
        e.set(Field::ProcessName, "update.exe");
        assert!(
            candidates(&gate, &e).is_empty(),
            "only in process, not in process_name"
        );
        e.push(Field::ProcessName, "MsiExec.exe");
        assert_eq!(candidates(&gate, &e), [0]);
    }
}
