//! The detections to run and the effective macro set.

use std::path::PathBuf;

use cimhunt_spl::{Lookups, Macro, MacroSet};

use crate::detection::Detection;
use crate::embedded::{default_detection, embedded_macros, generated_filter_macro};
use crate::error::ContentError;
use crate::load::{load_detection, load_detections};
use crate::lookups::load_lookups;
use crate::macros::{load_macro_path, load_macros_dir};

/// Where content comes from (the CLI's `--content`, detection paths and `--macros`).
#[derive(Debug, Clone, Default)]
pub struct ContentOptions {
    /// A content checkout (`--content DIR`): its `macros/` are loaded.
    pub content_dir: Option<PathBuf>,
    /// Detection files or directories to run. Empty: the embedded default.
    pub detections: Vec<PathBuf>,
    /// Macro overrides (`--macros PATH`, repeatable), in the order given: `.conf` or YAML files,
    /// or directories of them.
    pub macro_files: Vec<PathBuf>,
}

/// Detections plus the macros their searches are expanded with.
#[derive(Debug)]
pub struct ContentSet {
    /// The detections, in load order (directories: sorted by path).
    pub detections: Vec<Detection>,
    /// The effective macros (see [`ContentSet::load`] for the layering).
    pub macros: MacroSet,
    /// Detection files that could not be loaded (missing, bad YAML, not a detection), whether
    /// named explicitly or found in a directory; the other detections still load.
    pub skipped: Vec<ContentError>,
    /// The lookup tables searches may name: the content's `lookups/` (with a user's directory
    /// on top, [`ContentSet::with_lookups_dir`]).
    pub lookups: Lookups,
    /// Lookup definitions or files that could not be read (the other tables still load).
    pub lookup_problems: Vec<ContentError>,
    /// The content's `lookups/` directory, when it has one.
    content_lookups: Option<PathBuf>,
}

/// The CIM built-in macros (`drop_dm_object_name`, ...), the bottom layer of every set.
pub fn builtin_macros() -> MacroSet {
    MacroSet::with_builtins()
}

impl ContentSet {
    /// The built-in default detection with the built-in, generated and embedded macros
    /// (layers 1–3 of [`ContentSet::load`]); the same as loading with default options.
    pub fn embedded() -> Self {
        let detection = default_detection();
        let macros = base_macros(std::slice::from_ref(&detection));
        ContentSet {
            detections: vec![detection],
            macros,
            skipped: Vec::new(),
            lookups: Lookups::new(),
            lookup_problems: Vec::new(),
            content_lookups: None,
        }
    }

    /// Loads detections and macros. Macro layers, later winning on the same name and arity:
    ///
    /// 1. the CIM built-ins ([`builtin_macros`]);
    /// 2. a `search *` filter macro for every detection (contentctl generates these when the
    ///    content has none);
    /// 3. the embedded ESCU macros (so a single detection file runs without a checkout);
    /// 4. `content_dir/macros/*.yml`, when the directory has a `macros/` folder;
    /// 5. each file of `macro_files`, in order (a directory's files in name order).
    ///
    /// Lookups: the content directory's `lookups/`.
    ///
    /// Detections: the `detections` paths when given, else the embedded default. A detection
    /// that fails to load is recorded in `skipped`; only a bad content directory or macro file
    /// fails the whole load.
    pub fn load(options: &ContentOptions) -> Result<Self, ContentError> {
        if let Some(dir) = &options.content_dir
            && !dir.is_dir()
        {
            return Err(ContentError::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "content directory not found (expected a checkout with detections/ and macros/)",
                ),
            ));
        }
        let content_lookups = options
            .content_dir
            .as_ref()
            .map(|d| d.join("lookups"))
            .filter(|d| d.is_dir());
        // The detections, the content's macros and its lookups are read at once: each is
        // spread over the cores where it can be, and the lookups' largest table is one file.
        let ((detections, skipped), (content_macros, lookups)) = rayon::join(
            || load_detection_paths(&options.detections),
            || {
                let macro_dir = options.content_dir.as_ref().map(|d| d.join("macros"));
                let macros = match macro_dir.filter(|d| d.is_dir()) {
                    Some(d) => load_macros_dir(&d),
                    None => Ok(Vec::new()),
                };
                (macros, load_lookups(content_lookups.as_deref(), None))
            },
        );
        let mut macros = base_macros(&detections);
        insert_all(&mut macros, content_macros?);
        for path in &options.macro_files {
            insert_all(&mut macros, load_macro_path(path)?);
        }
        let (lookups, lookup_problems) = lookups?;
        Ok(ContentSet {
            detections,
            macros,
            skipped,
            lookups,
            lookup_problems,
            content_lookups,
        })
    }

    /// The same content with a user's directory of lookup tables on top of the content's
    /// (`--lookups DIR`): its definitions replace the content's of the same name, and its CSV
    /// files replace the rows of the definitions that name them (see [`crate::load_lookups`]).
    pub fn with_lookups_dir(mut self, dir: &std::path::Path) -> Result<Self, ContentError> {
        let (lookups, problems) = load_lookups(self.content_lookups.as_deref(), Some(dir))?;
        self.lookups = lookups;
        self.lookup_problems = problems;
        Ok(self)
    }

    /// Where the macro with this name and arity was defined (`Macro::origin`).
    pub fn macro_origin(&self, name: &str, arity: usize) -> Option<&str> {
        self.macros.get(name, arity).map(|m| m.origin.as_str())
    }
}

/// The detections at `paths` (files, or directories searched for them), or the embedded default
/// when there are none, and the failures.
fn load_detection_paths(paths: &[PathBuf]) -> (Vec<Detection>, Vec<ContentError>) {
    let mut detections = Vec::new();
    let mut skipped = Vec::new();
    if paths.is_empty() {
        detections.push(default_detection());
    }
    for path in paths {
        if path.is_dir() {
            match load_detections(path) {
                Ok((found, failed)) => {
                    detections.extend(found);
                    skipped.extend(failed);
                }
                Err(e) => skipped.push(e),
            }
        } else {
            match load_detection(path) {
                Ok(d) => detections.push(d),
                Err(e) => skipped.push(e),
            }
        }
    }
    (detections, skipped)
}

/// Layers 1–3: built-ins, generated filter macros, embedded ESCU macros.
pub(crate) fn base_macros(detections: &[Detection]) -> MacroSet {
    let mut macros = builtin_macros();
    for d in detections {
        macros.insert(generated_filter_macro(d));
    }
    insert_all(&mut macros, embedded_macros());
    macros
}

fn insert_all(set: &mut MacroSet, macros: Vec<Macro>) {
    for m in macros {
        set.insert(m);
    }
}
