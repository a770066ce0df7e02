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
//! Key design decision: a delta is not merged for the set. The first window that needs it
//! encodes and compresses its parts one at a time ([`TakenParts::into_encoded`]), and they wait
//! so until the last detection owed them has read them; each window (the first too) decodes
//! the parts and merges them itself, keeping in the buckets no later window reads only the
//! groups its `join` can reach. ESCU's UAC-bypass and registry detections group every process
//! by its GUID under a `join` whose subsearch rarely finds anything: merged for the set, the
//! delta was the service's largest state (120 MiB of resident set over the bench's 1 GiB
//! replay); read part by part with a filter, each window holds the groups its subsearch
//! reaches. A process's GUID is in one part, so the parts hold about what the merged state
//! would, and each window decodes about as much as it decoded from a merged copy. With a spill
//! folder (`--spill-dir`) the packed parts wait in an unlinked file there rather than in
//! memory (30 MiB at that replay's peak).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cimhunt_engine::{
    Detection, Engine, Job, Keep, State, StateError, TakenParts, decode_parts_keeping, lend,
};
use cimhunt_spl::RowSpill;

/// How hard a delta held for other windows is compressed: the fastest level. ESCU's shared
/// subsearch states encode to 0.1 to 7 MB each on the bench's replay (16 MB held at once
/// uncompressed, while each detection's own state used to wait on disk).
const ZSTD_LEVEL: i32 = 1;

/// How many deltas may wait for one detection. Past that they are merged into one, so that
/// what waits for a detection whose windows are rarer than the others' of its set (a daily
/// search beside hourly ones) is bounded by its groups, as its own state would be, and not by
/// how many windows the others ran.
const MAX_OWED: usize = 16;

/// How many deltas may wait in files at once (a file each); past that they wait in memory.
/// Detections of a set that run on one schedule keep about one delta each alive, so this is
/// reached only when many sets' deltas wait for rarer windows, and keeps a long-running service
/// far from the limit on open files.
const MAX_DELTA_FILES: usize = 64;

/// The folder packed deltas wait in, and how many files they hold open there.
#[derive(Debug, Clone)]
struct DeltaFiles {
    spill: Arc<RowSpill>,
    open: Arc<AtomicUsize>,
}

impl DeltaFiles {
    /// A new file, unless [`MAX_DELTA_FILES`] are open or the folder cannot be written.
    fn file(&self) -> Option<(File, OpenFile)> {
        let slot = OpenFile(Arc::clone(&self.open));
        if self.open.fetch_add(1, Ordering::AcqRel) >= MAX_DELTA_FILES {
            return None;
        }
        self.spill.file().map(|f| (f, slot))
    }
}

/// One of the files [`DeltaFiles`] counts, given back when dropped.
#[derive(Debug)]
struct OpenFile(Arc<AtomicUsize>);

impl Drop for OpenFile {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

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
    /// Where packed deltas wait, when given.
    files: Option<DeltaFiles>,
}

/// A delta's parts, each encoded ([`TakenParts::into_encoded`]) and compressed: in a file of
/// their own when one could be written, else in memory.
#[derive(Debug, Default)]
struct Packed {
    parts: Vec<(i64, Place)>,
    file: Option<(Mutex<File>, OpenFile)>,
}

/// Where a packed part is.
#[derive(Debug)]
enum Place {
    Held(Vec<u8>),
    /// Its offset and length in the delta's file.
    OnDisk(u64, u64),
}

impl Packed {
    /// Part `i` as it was packed.
    fn read(&self, i: usize) -> Result<std::borrow::Cow<'_, [u8]>, String> {
        let failed = |e: std::io::Error| format!("reading a shared state back from disk: {e}");
        match &self.parts[i].1 {
            Place::Held(bytes) => Ok(std::borrow::Cow::Borrowed(bytes)),
            Place::OnDisk(start, len) => {
                let Some((file, _)) = &self.file else {
                    return Err("a shared state's file is gone".into());
                };
                let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                let mut buf = vec![0; usize::try_from(*len).map_err(|e| e.to_string())?];
                file.seek(SeekFrom::Start(*start)).map_err(failed)?;
                file.read_exact(&mut buf).map_err(failed)?;
                Ok(std::borrow::Cow::Owned(buf))
            }
        }
    }
}

/// Buckets taken out of the engine once for a set of detections.
#[derive(Debug)]
pub(crate) struct Delta {
    /// The state's size when taken ([`TakenParts::bytes`]).
    bytes: u64,
    parts: Mutex<Option<TakenParts>>,
    /// Where the packed parts go, when given.
    files: Option<DeltaFiles>,
    /// The parts encoded and compressed: held so until the last detection owed them reads
    /// them.
    packed: OnceLock<Result<Packed, String>>,
}

impl Delta {
    /// The parts packed: by the first caller, the others waiting for it.
    fn packed(&self) -> Result<&Packed, String> {
        self.packed
            .get_or_init(|| {
                let parts = self.parts.lock().unwrap_or_else(|e| e.into_inner()).take();
                parts.map_or_else(|| Ok(Packed::default()), |p| pack(p, self.files.as_ref()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// Packed parts decompressed and decoded one at a time, each given to `f`: in the buckets
/// `filtered` says yes to, only the groups `keep` says yes to (the others dropped as each part
/// is decoded).
fn each_packed(
    packed: &Packed,
    filtered: &dyn Fn(i64) -> bool,
    keep: Option<Keep<'_>>,
    f: &mut dyn FnMut(i64, State) -> Result<(), String>,
) -> Result<(), String> {
    let parts = packed.parts.iter().enumerate().map(|(i, (b, _))| {
        let z = packed.read(i).map_err(StateError::Decode)?;
        zstd::stream::decode_all(z.as_ref())
            .map(|plain| (*b, plain))
            .map_err(|e| {
                StateError::Decode(format!("a shared state could not be decompressed: {e}"))
            })
    });
    for part in decode_parts_keeping(parts, filtered, keep) {
        let (b, state) = part.map_err(|e| e.to_string())?;
        f(b, state)?;
    }
    Ok(())
}

/// Parts taken from the engine, one at a time.
fn each_taken(
    parts: TakenParts,
    filtered: &dyn Fn(i64) -> bool,
    keep: Option<Keep<'_>>,
    f: &mut dyn FnMut(i64, State) -> Result<(), String>,
) -> Result<(), String> {
    for part in parts.into_parts_keeping(filtered, keep) {
        let (b, state) = part.map_err(|e| e.to_string())?;
        f(b, state)?;
    }
    Ok(())
}

/// What a window took for one detection: its own buckets, or the deltas it was owed.
#[derive(Debug)]
pub(crate) enum Taken {
    Own(TakenParts),
    Shared(Vec<Arc<Delta>>),
}

impl Taken {
    /// About how many bytes the taken state is: its parts' estimate ([`TakenParts::bytes`]),
    /// or each shared delta's when it was taken.
    pub(crate) fn bytes(&self) -> u64 {
        match self {
            Taken::Own(parts) => parts.bytes(),
            Taken::Shared(deltas) => deltas.iter().map(|d| d.bytes).sum(),
        }
    }

    /// The parts taken, one at a time and not merged (a bucket may come several times), each
    /// given to `f`: in the buckets `filtered` says yes to, only the groups `keep` says yes to,
    /// the others dropped as each part is decoded. A delta packed for the other detections of
    /// its set stays whole for them.
    pub(crate) fn for_each_part(
        self,
        filtered: impl Fn(i64) -> bool,
        mut keep: Option<Keep<'_>>,
        f: &mut dyn FnMut(i64, State) -> Result<(), String>,
    ) -> Result<(), String> {
        let deltas = match self {
            Taken::Own(parts) => return each_taken(parts, &filtered, keep, f),
            Taken::Shared(deltas) => deltas,
        };
        for delta in deltas {
            match Arc::try_unwrap(delta) {
                // Owed to nobody else: read from its parts, unless it was packed already.
                Ok(delta) => match delta.packed.into_inner() {
                    Some(packed) => each_packed(&packed?, &filtered, lend(&mut keep), f)?,
                    None => {
                        if let Some(parts) =
                            delta.parts.into_inner().unwrap_or_else(|e| e.into_inner())
                        {
                            each_taken(parts, &filtered, lend(&mut keep), f)?;
                        }
                    }
                },
                Err(delta) => each_packed(delta.packed()?, &filtered, lend(&mut keep), f)?,
            }
        }
        Ok(())
    }

    /// The buckets taken, each merged whole.
    fn merged(self, detection: &Detection) -> Result<Vec<(i64, State)>, String> {
        let mut by_bucket: BTreeMap<i64, State> = BTreeMap::new();
        self.for_each_part(|_| false, None, &mut |b, state| {
            match by_bucket.get_mut(&b) {
                Some(mine) => mine
                    .merge(detection.agg(), state)
                    .map_err(|e| e.to_string())?,
                None => {
                    by_bucket.insert(b, state);
                }
            }
            Ok(())
        })?;
        Ok(by_bucket.into_iter().collect())
    }
}

impl Sharing {
    /// Packed deltas wait in files of `spill`'s folder, when given.
    pub(crate) fn new(job: &Job, spill: Option<Arc<RowSpill>>) -> Sharing {
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
            files: spill.map(|spill| DeltaFiles {
                spill,
                open: Arc::new(AtomicUsize::new(0)),
            }),
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
            parts: Mutex::new(Some(parts)),
            files: self.files.clone(),
            packed: OnceLock::new(),
        });
        for &other in set.iter().filter(|&&d| d != x) {
            let mut owed = lock(&self.owed[other]);
            owed.push(Arc::clone(&delta));
            if owed.len() > MAX_OWED {
                // Rare (a detection whose windows are rarer than its set's), so done here,
                // while events are held back. Left as they are if they cannot be merged: the
                // window will say why.
                if let Ok(one) = compacted(engine, source, &owed, self.files.as_ref()) {
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
fn compacted(
    engine: &Engine,
    source: usize,
    deltas: &[Arc<Delta>],
    files: Option<&DeltaFiles>,
) -> Result<Arc<Delta>, String> {
    let job = Arc::clone(engine.job());
    let det = &job.detections()[source];
    let merged = Taken::Shared(deltas.to_vec()).merged(det)?;
    let bytes = merged.iter().map(|(_, s)| s.approx_bytes() as u64).sum();
    let packed = pack(
        TakenParts::from_states(Arc::clone(&job), source, merged),
        files,
    )?;
    Ok(Arc::new(Delta {
        bytes,
        parts: Mutex::new(None),
        files: None,
        packed: OnceLock::from(Ok(packed)),
    }))
}

/// Parts encoded and compressed, one at a time, each appended to a file of the folder `files`
/// gives, when it gives one (once a write fails, this part and the rest stay in memory, and the
/// folder's spill stops writing).
fn pack(parts: TakenParts, files: Option<&DeltaFiles>) -> Result<Packed, String> {
    let file = files.and_then(DeltaFiles::file);
    let spill = files.map(|f| f.spill.as_ref());
    let mut writing = file.is_some();
    let mut written = 0u64;
    let mut packed = Vec::new();
    for part in parts.into_encoded() {
        let (b, plain) = part.map_err(|e| e.to_string())?;
        let z = zstd::stream::encode_all(plain.as_slice(), ZSTD_LEVEL)
            .map_err(|e| format!("a shared state could not be compressed: {e}"))?;
        drop(plain);
        let place = match (file.as_ref().filter(|_| writing), spill) {
            (Some((f, _)), Some(spill)) => match (&*f).write_all(&z) {
                Ok(()) => {
                    spill.wrote(z.len() as u64);
                    written += z.len() as u64;
                    Place::OnDisk(written - z.len() as u64, z.len() as u64)
                }
                Err(e) => {
                    spill.fail(format!("a shared state: {e}"));
                    writing = false;
                    Place::Held(z)
                }
            },
            _ => Place::Held(z),
        };
        packed.push((b, place));
    }
    // A file written to until a write failed still holds the parts written before.
    let on_disk = packed.iter().any(|(_, p)| matches!(p, Place::OnDisk(..)));
    Ok(Packed {
        parts: packed,
        file: file
            .filter(|_| on_disk)
            .map(|(f, slot)| (Mutex::new(f), slot)),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use cimhunt_model::Model;
    use cimhunt_spl::{ExecCtx, Groups, MacroSet, Row};

    use super::*;
    use cimhunt_engine::merge_by_bucket;

    /// What a window reads of `taken`, merged by bucket.
    fn read(
        job: &Job,
        taken: Taken,
        filtered: impl Fn(i64) -> bool,
        keep: Option<Keep<'_>>,
    ) -> Vec<(i64, State)> {
        let mut parts = Vec::new();
        taken
            .for_each_part(filtered, keep, &mut |b, s| {
                parts.push((b, s));
                Ok(())
            })
            .unwrap();
        merge_by_bucket(&job.detections()[0], parts.into_iter().map(Ok)).unwrap()
    }

    fn job() -> Arc<Job> {
        let model = Arc::new(Model::escu().unwrap());
        let c = cimhunt_spl::compile(
            "index=main | stats count by message",
            &MacroSet::new(),
            model.as_ref(),
        )
        .unwrap();
        Arc::new(
            Job::builder(model)
                .detection("d", c.plan, &c.expanded)
                .build()
                .unwrap(),
        )
    }

    /// One event per message.
    fn state(job: &Job, messages: &[&str]) -> State {
        let spec = job.detections()[0].agg().unwrap();
        let mut groups = Groups::new();
        for m in messages {
            groups.add(
                spec,
                &Row::from_texts(&[("message", m)]),
                &ExecCtx::default(),
            );
        }
        State::Stats(groups)
    }

    fn delta(job: &Arc<Job>, parts: Vec<(i64, State)>, files: Option<DeltaFiles>) -> Arc<Delta> {
        let parts = TakenParts::from_states(Arc::clone(job), 0, parts);
        Arc::new(Delta {
            bytes: parts.bytes(),
            parts: Mutex::new(Some(parts)),
            files,
            packed: OnceLock::new(),
        })
    }

    fn parts(job: &Job) -> Vec<(i64, State)> {
        vec![
            (0, state(job, &["a", "b"])),
            (0, state(job, &["b", "c"])),
            (HOUR, state(job, &["b", "d"])),
        ]
    }

    /// Keeps the group of message `b`.
    fn only_b(keys: &cimhunt_spl::Keys<'_>) -> Vec<bool> {
        keys.iter().map(|mut k| k.next() == Some("b")).collect()
    }

    #[test]
    fn the_first_reader_of_a_delta_keeps_only_what_its_filter_keeps_and_later_ones_get_it_all() {
        let job = job();
        let parts = parts(&job);
        let det = &job.detections()[0];
        let whole = merge_by_bucket(det, parts.iter().cloned().map(Ok)).unwrap();
        let first = delta(&job, parts, None);
        let later = Arc::clone(&first);
        // The first window filters bucket 0 only (a later window still reads bucket HOUR).
        let mut keep = only_b;
        let mine = read(
            &job,
            Taken::Shared(vec![first]),
            |b| b == 0,
            Some(&mut keep),
        );
        let mut expected = whole.clone();
        expected[0].1.retain_keys(&mut only_b);
        assert_eq!(mine, expected);
        let State::Stats(groups) = &mine[0].1 else {
            panic!("a stats state")
        };
        assert_eq!(groups.len(), 1, "bucket 0 holds b's group only");
        // The delta was packed whole: the last window owed it reads every group.
        let theirs = read(&job, Taken::Shared(vec![later]), |_| false, None);
        assert_eq!(theirs, whole);
    }

    #[test]
    fn a_packed_delta_waits_on_disk_and_every_reader_reads_it_back() {
        let job = job();
        let parts = parts(&job);
        let whole = merge_by_bucket(&job.detections()[0], parts.iter().cloned().map(Ok)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spill = Arc::new(RowSpill::new(dir.path().to_owned(), 1 << 20));
        let files = DeltaFiles {
            spill: Arc::clone(&spill),
            open: Arc::new(AtomicUsize::new(0)),
        };
        let first = delta(&job, parts, Some(files.clone()));
        let later = Arc::clone(&first);
        let packed = first.packed().unwrap();
        assert!(
            packed
                .parts
                .iter()
                .all(|(_, p)| matches!(p, Place::OnDisk(..))),
            "every part went to the file"
        );
        let on_disk: u64 = packed
            .parts
            .iter()
            .map(|(_, p)| match p {
                Place::OnDisk(_, len) => *len,
                Place::Held(_) => 0,
            })
            .sum();
        assert_eq!(spill.written_bytes(), on_disk);
        // Unlinked: nothing is left in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mine = read(&job, Taken::Shared(vec![first]), |_| false, None);
        let theirs = read(&job, Taken::Shared(vec![later]), |_| false, None);
        assert_eq!(mine, whole);
        assert_eq!(theirs, whole);
        // The file was given back with the delta.
        assert_eq!(files.open.load(Ordering::Acquire), 0);
    }

    #[test]
    fn past_the_open_files_bound_deltas_wait_in_memory() {
        let job = job();
        let dir = tempfile::tempdir().unwrap();
        let files = DeltaFiles {
            spill: Arc::new(RowSpill::new(dir.path().to_owned(), 1 << 20)),
            open: Arc::new(AtomicUsize::new(MAX_DELTA_FILES)),
        };
        let d = delta(&job, parts(&job), Some(files.clone()));
        let packed = d.packed().unwrap();
        assert!(packed.file.is_none());
        assert!(
            packed
                .parts
                .iter()
                .all(|(_, p)| matches!(p, Place::Held(_)))
        );
        drop(d);
        assert_eq!(files.open.load(Ordering::Acquire), MAX_DELTA_FILES);
    }

    const HOUR: i64 = 3600;
}
