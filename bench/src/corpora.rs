//! The benchmark's corpora on disk: generated once under the output folder, each with its
//! manifest next to it (`FILE.manifest`), and reused while the manifest's byte count matches
//! the file (an interrupted generation is redone).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::corpus::{Manifest, generate};
use crate::mixed::manifest::MixedManifest;
use crate::mixed::templates::{LoadStats, TemplateError, Templates};
use crate::mixed::{self, Options};

/// Why a corpus could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Templates(#[from] TemplateError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `corpus.log` → `corpus.manifest`.
pub fn manifest_path(corpus: &Path) -> PathBuf {
    corpus.with_extension("manifest")
}

/// Writes the process corpus and its manifest.
pub fn generate_process(path: &Path, mib: u64) -> Result<Manifest, CorpusError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_error(path))?);
    let m = generate(&mut out, mib << 20).map_err(io_error(path))?;
    out.flush().map_err(io_error(path))?;
    let text = format!(
        "{} {} {} {}\n",
        m.events, m.bytes, m.true_positives, m.near_misses
    );
    let manifest = manifest_path(path);
    fs::write(&manifest, text).map_err(io_error(&manifest))?;
    Ok(m)
}

/// The process corpus's manifest, if the corpus is complete.
pub fn read_process(corpus: &Path) -> Option<Manifest> {
    let text = fs::read_to_string(manifest_path(corpus)).ok()?;
    let n: Vec<u64> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let [events, bytes, true_positives, near_misses] = n[..] else {
        return None;
    };
    let size = fs::metadata(corpus).ok()?.len();
    (size == bytes).then_some(Manifest {
        events,
        bytes,
        true_positives,
        near_misses,
    })
}

/// Writes the mixed corpus (templates from the EVTX files under `evtx`) and its manifest;
/// what reading the templates met.
pub fn generate_mixed(
    path: &Path,
    evtx: &Path,
    options: &Options,
) -> Result<(MixedManifest, LoadStats), CorpusError> {
    let templates = Templates::load(evtx)?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    // The manifest goes first, so that a corpus without its manifest is never taken as whole.
    let manifest = manifest_path(path);
    let _ = fs::remove_file(&manifest);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_error(path))?);
    let m = mixed::generate(&mut out, &templates, options).map_err(io_error(path))?;
    out.flush().map_err(io_error(path))?;
    fs::write(&manifest, m.to_text()).map_err(io_error(&manifest))?;
    Ok((m, templates.stats()))
}

/// The mixed corpus's manifest, if the corpus is complete.
pub fn read_mixed(corpus: &Path) -> Option<MixedManifest> {
    let text = fs::read_to_string(manifest_path(corpus)).ok()?;
    let m = MixedManifest::parse(&text).ok()?;
    let size = fs::metadata(corpus).ok()?.len();
    (size == m.bytes).then_some(m)
}
