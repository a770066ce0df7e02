//! States shared by detections that aggregate the same events the same way.
//!
//! A job built with [`cimhunt_engine::JobBuilder::share_states`] evaluates one detection of
//! each such set (its *source*) and none of the others: their buckets in the engine stay empty.
//! ESCU's UAC-bypass and registry detections that `join` a process subsearch run the same
//! hidden subsearch, grouping every process the same way; shared, one state is aggregated
//! instead of one per detection, and held and spilled once.
//!
//! A window takes its detections' buckets out of the engine. For a detection that shares, the
//! window takes the source's buckets, and what it took (a *delta*: every event that reached
//! those buckets since the last take by any of the set) is also owed to each other detection of
//! the set: it waits in their queues until their next windows, which take the deltas owed plus
//! a delta of their own. So each detection receives every event of its buckets exactly once,
//! as a take of its own buckets would give them, whatever the detections' schedules.
//!
//! Key design decision: a delta is merged once, by the first window that needs it, and held
//! encoded and compressed until the last detection owed it has decoded its copy: the parts a
//! source spilled to disk are decoded once for the whole set, and between windows the delta
//! takes the space of its compressed encoding, not that of a merged state (ESCU's UAC-bypass
//! subsearch is tens of MiB merged).

use std::sync::{Arc, Mutex, OnceLock};

use cimhunt_engine::{
    Engine, Job, Keep, Partial, State, StateError, TakenParts, lend, merge_by_bucket,
};

/// How hard a delta held for other windows is compressed: the fastest level. ESCU's shared
/// subsearch states encode to 0.1 to 7 MB each on the bench's replay (16 MB held at once
/// uncompressed, while each detection's own state used to wait on disk).
const ZSTD_LEVEL: i32 = 1;

/// How many deltas may wait for one detection. Past that they are merged into one, so that
/// what waits for a detection whose windows are rarer than the others' of its set (a daily
/// search beside hourly ones) is bounded by its groups, as its own state would be, and not by
/// how many windows the others ran.
const MAX_OWED: usize = 16;

/// Which detections share a state, and the deltas each is owed. See the module documentation.
#[derive(Debug)]
pub(crate) struct Sharing {
    /// Per detection: the detection whose buckets hold its events (itself, when it shares none).
    source: Vec<usize>,
    /// Per source: every detection whose events it holds, itself included (one when none
    /// shares it).
    sharers: Vec<Vec<usize>>,
    /// Per detection: deltas other detections' windows took that it has not received.
    owed: Vec<Mutex<Vec<Arc<Delta>>>>,
}

/// Merged buckets, each encoded ([`Partial::encode`]) and compressed.
type Packed = Vec<(i64, Vec<u8>)>;

/// Buckets taken out of the engine once for a set of detections.
#[derive(Debug)]
pub(crate) struct Delta {
    /// The state's size when taken ([`TakenParts::bytes`]).
    bytes: u64,
    /// The fingerprint of the source's plan, for encoding the merged buckets.
    fingerprint: String,
    parts: Mutex<Option<TakenParts>>,
    /// The merged buckets, encoded and compressed: held so until the last detection owed them
    /// takes them.
    encoded: OnceLock<Result<Packed, String>>,
}

impl Delta {
    /// The parts merged: by the first caller, the others waiting for it.
    fn merged(&self) -> Result<Vec<(i64, State)>, String> {
        let parts = self.parts.lock().unwrap_or_else(|e| e.into_inner()).take();
        match parts {
            Some(p) => p.merge().map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        }
    }

    /// The merged buckets for one detection: the window that merges them keeps what it merged
    /// (and encodes it for the others); the others decode a copy.
    fn mine(
        &self,
        filtered: &dyn Fn(i64) -> bool,
        keep: Option<Keep<'_>>,
    ) -> Result<Vec<(i64, State)>, String> {
        let mut merged_here = None;
        let encoded = self.encoded.get_or_init(|| {
            let merged = self.merged()?;
            let encoded = pack(&self.fingerprint, &merged)?;
            merged_here = Some(merged);
            Ok(encoded)
        });
        match merged_here {
            Some(merged) => Ok(merged),
            None => self.decoded(encoded, filtered, keep),
        }
    }

    /// A copy of the merged buckets, from their encoding; in the buckets `filtered` says yes
    /// to, only the groups `keep` says yes to (the others dropped as they are decoded).
    fn decoded(
        &self,
        encoded: &Result<Packed, String>,
        filtered: &dyn Fn(i64) -> bool,
        mut keep: Option<Keep<'_>>,
    ) -> Result<Vec<(i64, State)>, String> {
        let mut out = Vec::new();
        for (b, packed) in encoded.as_ref().map_err(Clone::clone)? {
            let plain = zstd::stream::decode_all(packed.as_slice())
                .map_err(|e| format!("a shared state could not be decompressed: {e}"))?;
            let partial = match lend(&mut keep).filter(|_| filtered(*b)) {
                Some(keep) => Partial::decode_keeping(&plain, &self.fingerprint, keep),
                None => Partial::decode(&plain, &self.fingerprint),
            };
            out.push((*b, partial.map_err(|e| e.to_string())?.state));
        }
        Ok(out)
    }
}

/// What a window took for one detection: its own buckets, or the deltas it was owed.
#[derive(Debug)]
pub(crate) enum Taken {
    Own(TakenParts),
    Shared(Vec<Arc<Delta>>),
}

impl Taken {
    /// The buckets taken, merged (a bucket may come more than once when deltas were owed).
    /// With `keep`, the buckets `filtered` says yes to need only the groups `keep` says yes to,
    /// and the others are dropped as they are decoded where the parts are read back: a delta
    /// merged here for the other detections of its set is kept whole (they need all of it).
    pub(crate) fn merge(
        self,
        filtered: impl Fn(i64) -> bool,
        keep: Option<Keep<'_>>,
    ) -> Result<Vec<(i64, State)>, String> {
        match (self, keep) {
            (Taken::Own(parts), keep) => parts
                .merge_keeping(filtered, keep)
                .map_err(|e| e.to_string()),
            (Taken::Shared(deltas), mut keep) => {
                let mut out = Vec::new();
                for delta in deltas {
                    let buckets = match Arc::try_unwrap(delta) {
                        // Owed to nobody else: merged here, unless it already was.
                        Ok(delta) => match delta.encoded.get() {
                            None => delta.merged()?,
                            Some(encoded) => delta.decoded(encoded, &filtered, lend(&mut keep))?,
                        },
                        Err(delta) => delta.mine(&filtered, lend(&mut keep))?,
                    };
                    out.extend(buckets);
                }
                Ok(out)
            }
        }
    }
}

impl Sharing {
    pub(crate) fn new(job: &Job) -> Sharing {
        let all = job.detections().len();
        let source: Vec<usize> = (0..all).map(|d| job.alias_of(d).unwrap_or(d)).collect();
        let mut sharers: Vec<Vec<usize>> = vec![Vec::new(); all];
        for (d, &s) in source.iter().enumerate() {
            sharers[s].push(d);
        }
        Sharing {
            source,
            sharers,
            owed: (0..all).map(|_| Mutex::new(Vec::new())).collect(),
        }
    }

    /// The detections whose buckets hold the events of `detections`, each once.
    pub(crate) fn sources(&self, detections: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = detections.iter().map(|&d| self.source[d]).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Takes detection `x`'s buckets before `latest` out of `engine` (for a detection that
    /// shares: the source's, owing them to the others of its set, with what `x` was owed).
    /// Called while events are held back, as [`Engine::take_parts`] is.
    pub(crate) fn take(&self, engine: &Engine, x: usize, latest: i64) -> Result<Taken, StateError> {
        let source = self.source[x];
        let parts = engine.take_parts(source, i64::MIN, latest)?;
        let set = &self.sharers[source];
        if set.len() < 2 {
            return Ok(Taken::Own(parts));
        }
        let delta = Arc::new(Delta {
            bytes: parts.bytes(),
            fingerprint: engine.job().detections()[source].fingerprint().to_owned(),
            parts: Mutex::new(Some(parts)),
            encoded: OnceLock::new(),
        });
        for &other in set.iter().filter(|&&d| d != x) {
            let mut owed = lock(&self.owed[other]);
            owed.push(Arc::clone(&delta));
            if owed.len() > MAX_OWED {
                // Rare (a detection whose windows are rarer than its set's), so done here,
                // while events are held back. Left as they are if they cannot be merged: the
                // window will say why.
                if let Ok(one) = compacted(engine, source, &owed) {
                    *owed = vec![one];
                }
            }
        }
        let mut mine = std::mem::take(&mut *lock(&self.owed[x]));
        mine.push(delta);
        Ok(Taken::Shared(mine))
    }

    /// Deltas waiting for windows still to run.
    pub(crate) fn owed(&self) -> usize {
        self.owed.iter().map(|o| lock(o).len()).sum()
    }

    /// The size of the state owed to `detections` (each delta's size when it was taken): a
    /// window taking it holds that much beside what it takes from the engine.
    pub(crate) fn owed_bytes(&self, detections: &[usize]) -> u64 {
        detections
            .iter()
            .map(|&d| lock(&self.owed[d]).iter().map(|x| x.bytes).sum::<u64>())
            .sum()
    }
}

/// `deltas` of `source`'s state merged into one, held encoded and compressed.
fn compacted(engine: &Engine, source: usize, deltas: &[Arc<Delta>]) -> Result<Arc<Delta>, String> {
    let det = &engine.job().detections()[source];
    let taken = Taken::Shared(deltas.to_vec()).merge(|_| false, None)?;
    let merged = merge_by_bucket(det, taken.into_iter().map(Ok)).map_err(|e| e.to_string())?;
    let fingerprint = det.fingerprint().to_owned();
    let bytes = merged.iter().map(|(_, s)| s.approx_bytes() as u64).sum();
    let packed = pack(&fingerprint, &merged)?;
    Ok(Arc::new(Delta {
        bytes,
        fingerprint,
        parts: Mutex::new(None),
        encoded: OnceLock::from(Ok(packed)),
    }))
}

/// Buckets encoded and compressed.
fn pack(fingerprint: &str, buckets: &[(i64, State)]) -> Result<Packed, String> {
    buckets
        .iter()
        .map(|(b, s)| {
            let plain = Partial::encode(fingerprint, *b, s);
            zstd::stream::encode_all(plain.as_slice(), ZSTD_LEVEL)
                .map(|packed| (*b, packed))
                .map_err(|e| format!("a shared state could not be compressed: {e}"))
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
