//! Tests of the mixed corpus that need the shared EVTX corpus (`$CIMHUNT_SHARED`, else
//! `../shared` next to the workspace), as the workspace's other corpus tests do.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use cimhunt_decode::{WinEvent, decode_xml};

use super::draft::{Draft, Fields};
use super::fill::{self, Env};
use super::fleet::Fleet;
use super::kind::Kind;
use super::planted::{self, DETECTIONS, Plant};
use super::rng::Rng;
use super::templates::Templates;
use super::vocab::{Ctx, powershell::Script};
use super::{Options, generate};

fn shared() -> PathBuf {
    let dir = std::env::var_os("CIMHUNT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.is_dir(),
        "{} not found: these tests need ../shared (or CIMHUNT_SHARED)",
        dir.display()
    );
    dir
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| Templates::load(&shared().join("corpus/evtx")).expect("templates"))
}

fn corpus(seed: u64, bytes: u64) -> (Vec<u8>, super::manifest::MixedManifest) {
    let mut out = Vec::new();
    // Plants every 40 events, so that a few MiB hold some of every detection.
    let options = Options {
        seed,
        bytes,
        hosts: 2_000,
        plant_every: 40,
    };
    let m = generate(&mut out, templates(), &options).expect("generate");
    (out, m)
}

/// A decoded event of a generated corpus.
struct Decoded<'a>(Kind, WinEvent<'a>);

impl Fields for Decoded<'_> {
    fn kind(&self) -> Kind {
        self.0
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.1.data(name)
    }
}

/// Every event of a corpus, decoded with cimhunt's own XML decoder.
fn decode_all(bytes: &[u8]) -> Vec<Decoded<'_>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    assert!(text.ends_with("</Event>\n"));
    text.split_inclusive("</Event>\n")
        .enumerate()
        .map(|(i, record)| {
            let event = decode_xml(record.as_bytes())
                .unwrap_or_else(|e| panic!("event {}: {e}\n{record}", i + 1));
            let kind = Kind::of(
                event.channel().unwrap_or_default(),
                event.event_id_number().unwrap_or_default(),
            )
            .unwrap_or_else(|| panic!("event {}: not a corpus event type", i + 1));
            Decoded(kind, event)
        })
        .collect()
}

#[test]
fn same_seed_and_size_give_the_same_bytes() {
    let (a, ma) = corpus(42, 2 << 20);
    let (b, mb) = corpus(42, 2 << 20);
    assert!(a == b, "two runs with one seed differ");
    assert_eq!(ma, mb);
    let (c, _) = corpus(43, 2 << 20);
    assert!(a != c, "another seed gives the same corpus");
}

#[test]
fn a_larger_corpus_starts_with_the_smaller_one() {
    // The size only decides where generation stops.
    let (small, _) = corpus(42, 2 << 20);
    let (large, _) = corpus(42, 3 << 20);
    assert!(large.len() > small.len());
    assert!(large.starts_with(&small));
}

#[test]
fn manifest_matches_the_corpus() {
    let (bytes, m) = corpus(7, 6 << 20);
    assert_eq!(m.bytes, bytes.len() as u64);
    assert_eq!(
        m.redrawn, 0,
        "background events matched a planted detection"
    );
    let events = decode_all(&bytes);
    assert_eq!(events.len() as u64, m.events);
    for kind in Kind::ALL {
        let n = events.iter().filter(|e| e.0 == kind).count() as u64;
        assert_eq!(n, m.count(kind), "{}", kind.label());
        assert!(n > 0, "no {} event", kind.label());
    }
    for (i, d) in DETECTIONS.iter().enumerate() {
        let matching = events.iter().filter(|e| (d.matches)(*e)).count() as u64;
        let c = &m.detections[i];
        assert_eq!(c.name, d.name);
        assert_eq!(matching, c.matching, "{}", d.name);
        assert!(c.planted > 0, "{}: nothing planted", d.name);
        assert!(c.near_misses > 0, "{}: no near miss", d.name);
        assert!(c.matching >= c.planted, "{}", d.name);
    }
    // Events that satisfy no planted detection but whose count differs from the plants would
    // mean background hits: the sum of plants covers every match.
    let matched: u64 = events
        .iter()
        .filter(|e| planted::matching(*e).next().is_some())
        .count() as u64;
    let planted: u64 = m.detections.iter().map(|d| d.planted).sum();
    assert_eq!(
        matched, planted,
        "events matching a planted detection but not planted"
    );
}

#[test]
fn every_plant_matches_its_detection_and_no_near_miss_matches_any() {
    let mut rng = Rng::new(3);
    let fleet = Fleet::new(&mut rng.fork(), 200);
    let mut serial = 0;
    let mut script = Script::default();
    for (i, d) in DETECTIONS.iter().enumerate() {
        for n in 0..6u64 {
            for near in [false, true] {
                let kind = d.kinds[(n % d.kinds.len() as u64) as usize];
                let template = rng.pick(templates().of(kind));
                let mut draft = Draft::new(kind, template);
                let host = fleet.host_for(kind, &mut rng);
                let user = fleet.user_on(host, &mut rng);
                draft.host = host;
                draft.time = 1_794_960_000 * 10_000_000;
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
                let hits: Vec<usize> = planted::matching(&draft).collect();
                if near {
                    assert!(hits.is_empty(), "{} near miss {n} matches {hits:?}", d.name);
                } else {
                    assert!(hits.contains(&i), "{} plant {n} does not match", d.name);
                }
            }
        }
    }
}

#[test]
fn background_never_queries_a_3cx_indicator() {
    let list = std::fs::read_to_string(
        shared().join("content/security_content/lookups/3cx_ioc_domains.csv"),
    )
    .expect("3CX lookup");
    let domains: HashSet<String> = list
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(str::to_ascii_lowercase)
        .collect();
    assert!(domains.len() > 10);
    let (bytes, _) = corpus(11, 4 << 20);
    let three_cx = DETECTIONS
        .iter()
        .position(|d| d.name.starts_with("3CX"))
        .unwrap();
    for e in decode_all(&bytes) {
        let Some(name) = e.get("QueryName") else {
            continue;
        };
        let planted = (DETECTIONS[three_cx].matches)(&e);
        assert_eq!(
            domains.contains(&name.to_ascii_lowercase()),
            planted,
            "{name}"
        );
    }
}

#[test]
fn fleet_cardinality_is_high() {
    let (bytes, m) = corpus(5, 4 << 20);
    let events = decode_all(&bytes);
    let hosts: HashSet<&str> = events.iter().filter_map(|e| e.1.computer()).collect();
    assert!(hosts.len() > 1_000, "{} hosts", hosts.len());
    let starts: Vec<&Decoded<'_>> = events.iter().filter(|e| e.0 == Kind::Sysmon1).collect();
    let commands: HashSet<&str> = starts.iter().filter_map(|e| e.get("CommandLine")).collect();
    let guids: HashSet<&str> = starts.iter().filter_map(|e| e.get("ProcessGuid")).collect();
    assert!(
        commands.len() * 2 > starts.len(),
        "{} of {}",
        commands.len(),
        starts.len()
    );
    assert_eq!(guids.len(), starts.len(), "process GUIDs repeat");
    // Times increase.
    let times: Vec<&str> = events.iter().filter_map(|e| e.1.system_time()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // Some script blocks are long and split.
    assert!(m.count(Kind::PowerShell4104) > 0);
    assert!(
        events
            .iter()
            .any(|e| e.0 == Kind::PowerShell4104 && e.get("MessageTotal") != Some("1")),
        "no split script block"
    );
}
