//! The mixed benchmark corpus: a deterministic `XmlWinEventLog` file (one `<Event>` per line,
//! as Splunk exports the sourcetype; PowerShell script blocks and some Security lists keep
//! their line breaks inside the value, so those events span lines) with the event types ESCU's
//! Windows library reads, in the proportions a fleet writes them ([`kind`]), shaped after the
//! shared corpus's real events ([`templates`]), from a fleet of thousands of hosts ([`fleet`]),
//! with planted true positives and near misses for a few dozen detections ([`planted`]).
//!
//! Key decisions:
//! - **Deterministic**: one seeded generator drives everything; the same seed, size and template
//!   corpus give the same bytes. The fleet is drawn from its own fork of the generator.
//! - **Memory-flat**: events are written as they are made, through a 1 MiB buffer; only the
//!   templates (a few hundred real events) and the fleet stay in memory.
//! - **Exact manifest**: every written event is checked against every planted detection, and
//!   the manifest counts what the checks find; background events that would satisfy one are
//!   drawn again (counted as `redrawn`, which the tests require to be zero).
//! - Planted events come at fixed slots (a true positive every [`Options::plant_every`] events,
//!   500 by default, and a near miss half-way between), taking the detections in turn, so that
//!   every detection has plants in a corpus of 64 MiB and their number grows with the size.

pub mod draft;
pub mod fill;
pub mod fleet;
pub mod kind;
pub mod manifest;
pub mod planted;
pub mod rng;
pub mod spl;
pub mod templates;
pub mod vocab;

#[cfg(test)]
mod tests;

use std::io::{self, Write};

use draft::{Draft, Fields};
use fill::Env;
use fleet::Fleet;
use kind::Kind;
use manifest::MixedManifest;
use planted::{DETECTIONS, Plant};
use rng::Rng;
use templates::Templates;
use vocab::Ctx;

/// The longest `ScriptBlockText` of one 4104 event; longer script blocks are split over
/// several events sharing a `ScriptBlockId`, as PowerShell does (inferred from the shared
/// corpus, whose longest value is about 20,400 characters).
pub const SCRIPT_PART: usize = 20_000;
/// 2026-11-18T00:00:00Z in 100-ns ticks since 1970: the corpus's first event.
const START: i64 = 1_794_960_000 * 10_000_000;
/// The mean gap between events (1 ms: a fleet of 2,000 hosts writes about a thousand events
/// per second).
const MEAN_GAP: u64 = 10_000;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub seed: u64,
    /// Stop once this many bytes are written (the last event is complete).
    pub bytes: u64,
    pub hosts: usize,
    /// A true positive every this many events (and a near miss half-way between).
    pub plant_every: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 0x00C1_3A47_1D1E,
            bytes: 1 << 30,
            hosts: 2_000,
            plant_every: 500,
        }
    }
}

/// What one slot of the corpus holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Background,
    TruePositive(usize),
    NearMiss(usize),
}

/// Writes a mixed corpus to `out` and returns its manifest.
pub fn generate(
    out: &mut dyn Write,
    templates: &Templates,
    options: &Options,
) -> io::Result<MixedManifest> {
    let mut rng = Rng::new(options.seed);
    let mut fleet = Fleet::new(&mut rng.fork(), options.hosts);
    let mut m = MixedManifest::new(options.seed, fleet.hosts.len() as u64);
    m.plant_every = options.plant_every;
    let weights: Vec<u64> = Kind::ALL.iter().map(|k| k.weight()).collect();
    let mut buf = String::with_capacity(2 << 20);
    let mut time = START;
    let mut serial = 0u64;
    let mut script = vocab::powershell::Script::default();
    let mut draft = Draft::new(Kind::Sysmon1, &templates.of(Kind::Sysmon1)[0]);
    let mut planted = vec![0u64; DETECTIONS.len()];
    let mut missed = vec![0u64; DETECTIONS.len()];
    let (mut next_tp, mut next_nm) = (0usize, 0usize);
    let mut slot_no = 0u64;
    let mut hits = Vec::new();
    while m.bytes + (buf.len() as u64) < options.bytes {
        slot_no += 1;
        let every = options.plant_every.max(2);
        let slot = match slot_no % every {
            0 => {
                next_tp = (next_tp + 1) % DETECTIONS.len();
                Slot::TruePositive((next_tp + DETECTIONS.len() - 1) % DETECTIONS.len())
            }
            s if s == every / 2 => {
                next_nm = (next_nm + 1) % DETECTIONS.len();
                Slot::NearMiss((next_nm + DETECTIONS.len() - 1) % DETECTIONS.len())
            }
            _ => Slot::Background,
        };
        time += 1 + rng.below(2 * MEAN_GAP) as i64;
        loop {
            let kind = match slot {
                Slot::Background => Kind::ALL[rng.weighted(weights.iter().copied())],
                Slot::TruePositive(i) => {
                    let k = DETECTIONS[i].kinds;
                    k[(planted[i] % k.len() as u64) as usize]
                }
                Slot::NearMiss(i) => {
                    let k = DETECTIONS[i].kinds;
                    k[(missed[i] % k.len() as u64) as usize]
                }
            };
            let host = fleet.host_for(kind, &mut rng);
            let user = fleet.user_on(host, &mut rng);
            let template = rng.pick(templates.of(kind));
            draft.reset(kind, template);
            draft.host = host;
            draft.time = time;
            {
                let mut env = Env {
                    ctx: Ctx {
                        fleet: &fleet,
                        host: &fleet.hosts[host],
                        user: &fleet.users[user],
                    },
                    rng: &mut rng,
                    serial: &mut serial,
                    script: &mut script,
                };
                fill::background(&mut draft, &mut env);
                let mut plant = |i: usize, n: u64, near: bool| {
                    let d = &DETECTIONS[i];
                    let mut p = Plant {
                        d: &mut draft,
                        env: &mut env,
                        n,
                    };
                    if near {
                        (d.near_miss)(&mut p);
                    } else {
                        (d.plant)(&mut p);
                    }
                };
                match slot {
                    Slot::Background => {}
                    Slot::TruePositive(i) => plant(i, planted[i], false),
                    Slot::NearMiss(i) => plant(i, missed[i], true),
                }
            }
            hits.clear();
            hits.extend(planted::matching(&draft));
            if slot == Slot::Background && !hits.is_empty() {
                m.redrawn += 1;
                continue;
            }
            match slot {
                Slot::Background => {}
                Slot::TruePositive(i) => {
                    debug_assert!(
                        hits.contains(&i),
                        "{}: plant does not match",
                        DETECTIONS[i].name
                    );
                    planted[i] += 1;
                }
                Slot::NearMiss(i) => {
                    debug_assert!(
                        hits.is_empty(),
                        "{}: near miss matches {hits:?}",
                        DETECTIONS[i].name
                    );
                    missed[i] += 1;
                }
            }
            write_event(&mut draft, &mut fleet, &mut m, &mut buf, &hits);
            // The parts of a long script block took a tick each.
            time = time.max(draft.time);
            break;
        }
        if buf.len() >= 1 << 20 {
            m.bytes += buf.len() as u64;
            out.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    m.bytes += buf.len() as u64;
    out.write_all(buf.as_bytes())?;
    for (i, c) in m.detections.iter_mut().enumerate() {
        c.planted = planted[i];
        c.near_misses = missed[i];
    }
    Ok(m)
}

/// Renders the draft (split into several events when it is a long script block), counting
/// each written event and the planted detections it satisfies (`hits` for the whole draft,
/// checked again per part when it is split).
fn write_event(
    draft: &mut Draft<'_>,
    fleet: &mut Fleet,
    m: &mut MixedManifest,
    buf: &mut String,
    hits: &[usize],
) {
    let kind = draft.kind;
    let host = draft.host;
    let long_script = kind == Kind::PowerShell4104
        && draft
            .get("ScriptBlockText")
            .is_some_and(|t| t.len() > SCRIPT_PART);
    let parts: Vec<String> = if long_script {
        let text = draft.get("ScriptBlockText").unwrap_or_default();
        vocab::powershell::parts(text, SCRIPT_PART)
            .into_iter()
            .map(str::to_owned)
            .collect()
    } else {
        Vec::new()
    };
    let total = parts.len().max(1);
    for i in 0..total {
        if let Some(part) = parts.get(i) {
            draft.set("ScriptBlockText", part);
            draft.set("MessageNumber", &(i + 1).to_string());
            draft.set("MessageTotal", &total.to_string());
            draft.time += 1;
        }
        draft.record_id = fleet.hosts[host].next_record(kind);
        draft.render(&fleet.hosts[host].fqdn, buf);
        m.events += 1;
        if let Some((_, n)) = m.kinds.iter_mut().find(|(k, _)| *k == kind) {
            *n += 1;
        }
        if long_script {
            for d in planted::matching(draft) {
                m.detections[d].matching += 1;
            }
        } else {
            for &d in hits {
                m.detections[d].matching += 1;
            }
        }
    }
}
