//! A segmented, append-only log of checksummed records: the storage under both the event
//! journal and the output spool.
//!
//! Each record is framed as `[len: u32 LE][crc32: u32 LE][seq: u64 LE][payload]`, the CRC
//! covering the sequence number and the payload. Segments are files named after the sequence
//! number of their first record (`00000000000000000042.log`), so sequence numbers survive the
//! deletion of every old record: the newest segment is never deleted.
//!
//! Key design decision: a crash can leave only the *end* of the newest segment torn (records
//! are appended, and a group is synced before anyone is told about it), so on open a bad frame
//! at the end of the newest segment is cut off; a bad frame anywhere else is corruption and an
//! error naming the file and offset.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

const HEADER: usize = 16;
/// Records larger than this are refused on write and treated as corruption on read.
pub const MAX_RECORD: usize = 1 << 30;

/// Why a log could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// An I/O error on a log file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A damaged record that is not a torn tail.
    #[error("{path}: damaged record at byte {offset}: {reason}")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A record too large to frame.
    #[error("a record of {0} bytes is larger than the log allows")]
    TooLarge(usize),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// An open log, positioned at its end.
#[derive(Debug)]
pub struct SegmentLog {
    dir: PathBuf,
    /// First sequence number and path of every segment, oldest first; the last is `current`.
    segments: Vec<(u64, PathBuf)>,
    current: File,
    current_len: u64,
    next_seq: u64,
    segment_bytes: u64,
    fsync: bool,
}

impl SegmentLog {
    /// Opens (or creates) the log in `dir`, calling `visit(seq, payload)` for every record in
    /// order, and cuts a torn tail off the newest segment.
    pub fn open(
        dir: &Path,
        segment_bytes: u64,
        fsync: bool,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<SegmentLog, LogError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut segments = list_segments(dir)?;
        let mut next_seq = segments.first().map_or(0, |s| s.0);
        let count = segments.len();
        let mut tail_len = 0;
        for (i, (first, path)) in segments.iter().enumerate() {
            let last = i + 1 == count;
            if *first < next_seq {
                return Err(LogError::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    reason: format!("segment starts at {first}, before sequence {next_seq}"),
                });
            }
            next_seq = *first;
            let good = read_segment(path, last, &mut next_seq, &mut visit)?;
            if last {
                tail_len = good;
            }
        }
        let (current, current_len) = if let Some((_, path)) = segments.last() {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io_err(path))?;
            file.set_len(tail_len).map_err(io_err(path))?;
            let mut file = file;
            seek_end(&mut file, path)?;
            (file, tail_len)
        } else {
            let path = segment_path(dir, next_seq);
            let file = create_segment(dir, &path)?;
            segments.push((next_seq, path));
            (file, 0)
        };
        Ok(SegmentLog {
            dir: dir.to_owned(),
            segments,
            current,
            current_len,
            next_seq,
            segment_bytes: segment_bytes.max(HEADER as u64),
            fsync,
        })
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends records (one group), syncs them to disk when the log was opened with `fsync`,
    /// and returns the sequence number of the first.
    pub fn append<P: AsRef<[u8]>>(&mut self, payloads: &[P]) -> Result<u64, LogError> {
        if self.current_len >= self.segment_bytes {
            self.rotate()?;
        }
        let first = self.next_seq;
        if let Some(p) = payloads.iter().find(|p| p.as_ref().len() > MAX_RECORD) {
            return Err(LogError::TooLarge(p.as_ref().len()));
        }
        let path = self.current_path().to_owned();
        let written = match write_frames(&mut self.current, first, payloads) {
            Ok(n) => n,
            Err(e) => {
                // Leave no half-written group behind: later appends must not follow garbage.
                let _ = self.current.set_len(self.current_len);
                let _ = seek_end(&mut self.current, &path);
                return Err(io_err(&path)(e));
            }
        };
        if self.fsync {
            self.current.sync_data().map_err(io_err(&path))?;
        }
        self.current_len += written;
        self.next_seq += payloads.len() as u64;
        Ok(first)
    }

    /// Appends one record whose payload `write` produces, without holding the payload: it is
    /// written twice, first to measure its length and checksum (for the frame's header), then
    /// to the segment through a small buffer. `write` must produce the same bytes both times.
    /// Returns its sequence number.
    pub fn append_with(
        &mut self,
        write: impl Fn(&mut dyn Write) -> io::Result<()>,
    ) -> Result<u64, LogError> {
        if self.current_len >= self.segment_bytes {
            self.rotate()?;
        }
        let seq = self.next_seq;
        let path = self.current_path().to_owned();
        let mut measure = Measured::new(io::sink(), seq);
        write(&mut measure).map_err(io_err(&path))?;
        let (len, crc) = measure.finish();
        if len > MAX_RECORD as u64 {
            return Err(LogError::TooLarge(len as usize));
        }
        let mut head = Vec::with_capacity(HEADER);
        frame_header(&mut head, seq, len as u32, crc);
        let wrote = (|| {
            let mut out = io::BufWriter::with_capacity(64 << 10, &mut self.current);
            out.write_all(&head)?;
            let mut again = Measured::new(&mut out, seq);
            write(&mut again)?;
            if again.finish() != (len, crc) {
                return Err(io::Error::other(
                    "a record's payload changed between measuring and writing it",
                ));
            }
            out.flush()
        })();
        if let Err(e) = wrote {
            let _ = self.current.set_len(self.current_len);
            let _ = seek_end(&mut self.current, &path);
            return Err(io_err(&path)(e));
        }
        if self.fsync {
            self.current.sync_data().map_err(io_err(&path))?;
        }
        self.current_len += (HEADER as u64) + len;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Deletes every segment all of whose records have a sequence number below `seq`. The
    /// newest segment is always kept.
    pub fn remove_before(&mut self, seq: u64) -> Result<usize, LogError> {
        let mut removed = 0;
        while self.segments.len() > 1 && self.segments[1].0 <= seq {
            let (_, path) = self.segments.remove(0);
            fs::remove_file(&path).map_err(io_err(&path))?;
            removed += 1;
        }
        Ok(removed)
    }

    fn current_path(&self) -> &Path {
        &self.segments.last().expect("a log always has a segment").1
    }

    fn rotate(&mut self) -> Result<(), LogError> {
        let path = segment_path(&self.dir, self.next_seq);
        self.current = create_segment(&self.dir, &path)?;
        self.current_len = 0;
        self.segments.push((self.next_seq, path));
        Ok(())
    }
}

/// The segments in `dir`, first sequence number and path, oldest first.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, LogError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".log") else {
            continue;
        };
        if let Ok(first) = stem.parse::<u64>() {
            segments.push((first, entry.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Reads record `seq` of the log in `dir` back (while a [`SegmentLog`] may be appending to it):
/// its payload, or `None` when the log does not hold it (removed, or not yet written). The
/// records before it in its segment are skipped by their headers, not read.
pub fn read_record(dir: &Path, seq: u64) -> Result<Option<Vec<u8>>, LogError> {
    let segments = list_segments(dir)?;
    let Some((_, path)) = segments.iter().rev().find(|(first, _)| *first <= seq) else {
        return Ok(None);
    };
    let file = match File::open(path) {
        Ok(f) => f,
        // Removed since it was listed: the record is gone.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut reader = BufReader::with_capacity(64 << 10, file);
    let mut offset = 0u64;
    loop {
        let mut header = [0u8; HEADER];
        if read_full(&mut reader, &mut header).map_err(io_err(path))? < HEADER {
            return Ok(None);
        }
        let (len, crc, at) = parse_header(&header);
        let corrupt = |reason: String| LogError::Corrupt {
            path: path.clone(),
            offset,
            reason,
        };
        if len > MAX_RECORD {
            return Err(corrupt(format!("record length {len} is too large")));
        }
        if at > seq {
            return Ok(None);
        }
        if at < seq {
            reader.seek_relative(len as i64).map_err(io_err(path))?;
            offset += (HEADER + len) as u64;
            continue;
        }
        let mut payload = vec![0; len];
        if read_full(&mut reader, &mut payload).map_err(io_err(path))? < len {
            return Err(corrupt(format!("record {seq} is torn")));
        }
        if checksum(seq, &payload) != crc {
            return Err(corrupt(format!("record {seq}: checksum mismatch")));
        }
        return Ok(Some(payload));
    }
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.log"))
}

fn create_segment(dir: &Path, path: &Path) -> Result<File, LogError> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    crate::fsutil::sync_dir(dir).map_err(io_err(dir))?;
    Ok(file)
}

fn seek_end(file: &mut File, path: &Path) -> Result<(), LogError> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
    Ok(())
}

/// A writer that passes what it is given on to `inner` and keeps its length and checksum
/// (the checksum starting with the record's sequence number, as the frame's does).
struct Measured<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Measured<W> {
    fn new(inner: W, seq: u64) -> Measured<W> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&seq.to_le_bytes());
        Measured { inner, crc, len: 0 }
    }

    /// Length and checksum of what was written.
    fn finish(self) -> (u64, u32) {
        (self.len, self.crc.finalize())
    }
}

impl<W: Write> Write for Measured<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A payload at least this large is written from where it is, not copied into the group's
/// buffer first (a window's output spool record can be tens of MiB).
const COPY_BELOW: usize = 64 << 10;

/// Writes the frames of `payloads`, numbered from `first`: small ones gathered into one
/// buffer (the journal appends many small requests at once), a large one written from its own
/// bytes after its header. Returns the bytes written.
fn write_frames<P: AsRef<[u8]>>(out: &mut File, first: u64, payloads: &[P]) -> io::Result<u64> {
    let small: usize = payloads
        .iter()
        .map(|p| p.as_ref().len())
        .filter(|&n| n < COPY_BELOW)
        .map(|n| n + HEADER)
        .sum();
    let mut buf = Vec::with_capacity(small.min(16 << 20));
    let mut written = 0u64;
    for (i, payload) in payloads.iter().enumerate() {
        let payload = payload.as_ref();
        header(&mut buf, first + i as u64, payload);
        if payload.len() < COPY_BELOW {
            buf.extend_from_slice(payload);
        } else {
            out.write_all(&buf)?;
            out.write_all(payload)?;
            written += (buf.len() + payload.len()) as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    Ok(written + buf.len() as u64)
}

fn header(buf: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    frame_header(buf, seq, payload.len() as u32, checksum(seq, payload));
}

/// A record's checksum: of its sequence number and payload.
fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&seq.to_le_bytes());
    crc.update(payload);
    crc.finalize()
}

/// A frame header's payload length, checksum and sequence number.
fn parse_header(header: &[u8; HEADER]) -> (usize, u32, u64) {
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    (len, crc, seq)
}

/// `[len: u32 LE][crc32: u32 LE][seq: u64 LE]`.
fn frame_header(buf: &mut Vec<u8>, seq: u64, len: u32, crc: u32) {
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.extend_from_slice(&seq.to_le_bytes());
}

/// Reads one segment; returns the length of its good prefix.
fn read_segment(
    path: &Path,
    is_last: bool,
    next_seq: &mut u64,
    visit: &mut impl FnMut(u64, &[u8]) -> Result<(), LogError>,
) -> Result<u64, LogError> {
    let file = File::open(path).map_err(io_err(path))?;
    let total = file.metadata().map_err(io_err(path))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut offset = 0u64;
    let mut payload = Vec::new();
    loop {
        let mut header = [0u8; HEADER];
        let bad = |reason: String| -> Result<u64, LogError> {
            if is_last {
                Ok(offset)
            } else {
                Err(LogError::Corrupt {
                    path: path.to_owned(),
                    offset,
                    reason,
                })
            }
        };
        match read_full(&mut reader, &mut header).map_err(io_err(path))? {
            0 => return Ok(offset),
            n if n < HEADER => return bad("torn record header".into()),
            _ => {}
        }
        let (len, crc, seq) = parse_header(&header);
        if len > MAX_RECORD || offset + (HEADER + len) as u64 > total {
            return bad(format!("record length {len} runs past the end"));
        }
        payload.resize(len, 0);
        if read_full(&mut reader, &mut payload).map_err(io_err(path))? < len {
            return bad("torn record".into());
        }
        if checksum(seq, &payload) != crc {
            return bad("checksum mismatch".into());
        }
        if seq != *next_seq {
            return Err(LogError::Corrupt {
                path: path.to_owned(),
                offset,
                reason: format!("sequence {seq} where {next_seq} was expected"),
            });
        }
        visit(seq, &payload)?;
        *next_seq += 1;
        offset += (HEADER + len) as u64;
    }
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(dir: &Path, bytes: u64) -> (SegmentLog, Vec<(u64, Vec<u8>)>) {
        let mut seen = Vec::new();
        let log = SegmentLog::open(dir, bytes, false, |s, p| {
            seen.push((s, p.to_vec()));
            Ok(())
        })
        .unwrap();
        (log, seen)
    }

    #[test]
    fn a_record_is_read_back_by_its_number_from_any_segment_while_the_log_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 64);
        for i in 0..20u8 {
            log.append(&[vec![i; 30 + usize::from(i)]]).unwrap();
        }
        // Small segments: the records are spread over several files.
        assert!(fs::read_dir(dir.path()).unwrap().count() > 3);
        for i in 0..20u8 {
            let got = read_record(dir.path(), u64::from(i)).unwrap();
            assert_eq!(got, Some(vec![i; 30 + usize::from(i)]), "record {i}");
        }
        assert_eq!(
            read_record(dir.path(), 20).unwrap(),
            None,
            "not yet written"
        );
        log.remove_before(10).unwrap();
        assert_eq!(read_record(dir.path(), 3).unwrap(), None, "removed");
        assert_eq!(read_record(dir.path(), 15).unwrap(), Some(vec![15; 45]));
        // A damaged payload is an error naming the file, not another record's bytes.
        drop(log);
        let (first, path) = list_segments(dir.path()).unwrap().pop().unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let at = HEADER + 3;
        bytes[at] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let err = read_record(dir.path(), first).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn records_survive_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, seen) = collect(dir.path(), 64);
        assert!(seen.is_empty());
        assert_eq!(log.append(&[b"a".as_slice(), b"bb"]).unwrap(), 0);
        for i in 0..20u8 {
            log.append(&[vec![i; 30]]).unwrap();
        }
        drop(log);
        let (log, seen) = collect(dir.path(), 64);
        assert_eq!(seen.len(), 22);
        assert_eq!(seen[1], (1, b"bb".to_vec()));
        assert_eq!(seen[21], (21, vec![19; 30]));
        assert_eq!(log.next_seq(), 22);
        assert!(log.segments.len() > 2, "small segments rotate");
    }

    #[test]
    fn large_records_written_from_their_own_bytes_keep_their_place_in_a_group() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 1 << 30);
        let large = |b: u8| vec![b; COPY_BELOW + 7];
        let group = [
            b"small".to_vec(),
            large(1),
            large(2),
            b"tiny".to_vec(),
            Vec::new(),
            large(3),
        ];
        assert_eq!(log.append(&group).unwrap(), 0);
        log.append(&[b"after".as_slice()]).unwrap();
        let len = log.current_len;
        drop(log);
        let on_disk = fs::metadata(segment_path(dir.path(), 0)).unwrap().len();
        assert_eq!(len, on_disk, "the length kept is the bytes written");
        let (log, seen) = collect(dir.path(), 1 << 30);
        let mut expected: Vec<(u64, Vec<u8>)> = group
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as u64, p))
            .collect();
        expected.push((6, b"after".to_vec()));
        assert_eq!(seen, expected);
        assert_eq!(log.next_seq(), 7);
    }

    #[test]
    fn a_record_written_as_it_is_made_reads_back_like_one_appended_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 1 << 30);
        log.append(&[b"first".as_slice()]).unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let seq = log
            .append_with(|w| {
                for piece in big.chunks(1000) {
                    w.write_all(piece)?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(seq, 1);
        log.append(&[b"last".as_slice()]).unwrap();
        let len = log.current_len;
        drop(log);
        assert_eq!(
            fs::metadata(segment_path(dir.path(), 0)).unwrap().len(),
            len
        );
        let (_, seen) = collect(dir.path(), 1 << 30);
        assert_eq!(
            seen,
            [(0, b"first".to_vec()), (1, big), (2, b"last".to_vec())]
        );
    }

    #[test]
    fn a_record_that_changes_between_measuring_and_writing_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 1 << 30);
        log.append(&[b"kept".as_slice()]).unwrap();
        let calls = std::cell::Cell::new(0u8);
        let err = log
            .append_with(|w| {
                calls.set(calls.get() + 1);
                w.write_all(&[calls.get(); 100])
            })
            .unwrap_err();
        assert!(err.to_string().contains("changed"), "{err}");
        log.append(&[b"next".as_slice()]).unwrap();
        drop(log);
        let (log, seen) = collect(dir.path(), 1 << 30);
        assert_eq!(seen, [(0, b"kept".to_vec()), (1, b"next".to_vec())]);
        assert_eq!(log.next_seq(), 2);
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 1 << 20);
        log.append(&[b"one", b"two"]).unwrap();
        let path = log.current_path().to_owned();
        drop(log);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let (mut log, seen) = collect(dir.path(), 1 << 20);
        assert_eq!(seen.len(), 2);
        log.append(&[b"three"]).unwrap();
        drop(log);
        let (_, seen) = collect(dir.path(), 1 << 20);
        assert_eq!(seen.last().unwrap(), &(2, b"three".to_vec()));
    }

    #[test]
    fn damage_in_an_old_segment_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 16);
        log.append(&[b"first-record"]).unwrap();
        log.append(&[b"second-record"]).unwrap();
        let first = log.segments[0].1.clone();
        drop(log);
        let mut bytes = fs::read(&first).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xff;
        fs::write(&first, bytes).unwrap();
        let err = SegmentLog::open(dir.path(), 16, false, |_, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
        assert!(err.to_string().contains(".log"), "{err}");
    }

    #[test]
    fn removing_old_segments_keeps_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path(), 16);
        for _ in 0..5 {
            log.append(&[b"0123456789abcdef"]).unwrap();
        }
        assert_eq!(log.remove_before(5).unwrap(), 4);
        drop(log);
        let (mut log, seen) = collect(dir.path(), 16);
        assert_eq!(seen, vec![(4, b"0123456789abcdef".to_vec())]);
        assert_eq!(log.append(&[b"x"]).unwrap(), 5);
        log.remove_before(u64::MAX).unwrap();
        drop(log);
        let (log, _) = collect(dir.path(), 16);
        assert_eq!(log.next_seq(), 6, "the newest segment keeps the numbering");
    }
}
