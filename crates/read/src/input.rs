//! Inputs: what they are called, how they are opened, and how command-line paths expand into
//! them.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sniff::Stream;
use crate::{ReadError, ReadErrorKind};

/// What an input is called in messages: a path, `-` for standard input, or a given name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputName {
    /// A file.
    Path(PathBuf),
    /// Standard input, shown as `-`.
    Stdin,
    /// Bytes from elsewhere (an embedded sample, a network request), shown as the name.
    Named(String),
}

impl fmt::Display for InputName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputName::Path(p) => write!(f, "{}", p.display()),
            InputName::Stdin => f.write_str("-"),
            InputName::Named(n) => f.write_str(n),
        }
    }
}

/// One input to read: a name and a way to open a byte stream.
pub struct Input {
    /// How messages name this input.
    pub name: Arc<InputName>,
    /// False for files found by walking a directory: a caller may treat their unknown format as
    /// "not event data" rather than as an error.
    pub explicit: bool,
    source: InputSource,
}

enum InputSource {
    Path(PathBuf),
    Stdin,
    Reader(Stream),
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .field("explicit", &self.explicit)
            .finish_non_exhaustive()
    }
}

impl Input {
    /// A file.
    pub fn path(path: impl Into<PathBuf>) -> Input {
        let path = path.into();
        Input {
            name: Arc::new(InputName::Path(path.clone())),
            explicit: true,
            source: InputSource::Path(path),
        }
    }

    /// Standard input.
    pub fn stdin() -> Input {
        Input {
            name: Arc::new(InputName::Stdin),
            explicit: true,
            source: InputSource::Stdin,
        }
    }

    /// Any byte stream, e.g. bytes embedded in the binary or a request body.
    pub fn reader(name: impl Into<String>, reader: Box<dyn io::Read + Send>) -> Input {
        Input {
            name: Arc::new(InputName::Named(name.into())),
            explicit: true,
            source: InputSource::Reader(reader),
        }
    }

    /// Opens the byte stream.
    pub(crate) fn open(self) -> (Arc<InputName>, io::Result<Stream>) {
        let stream: io::Result<Stream> = match self.source {
            InputSource::Path(p) => fs::File::open(p).map(|f| Box::new(f) as Stream),
            InputSource::Stdin => Ok(Box::new(io::stdin())),
            InputSource::Reader(r) => Ok(r),
        };
        (self.name, stream)
    }
}

/// Expands command-line paths into inputs: files as given, directories walked recursively in
/// sorted order (following no symlinked directories), `-` as standard input. Paths that do not
/// exist or cannot be listed become errors; walking goes on.
///
/// A path given explicitly is taken as a file unless it is a directory, so named pipes and
/// `/dev/stdin`-like paths work. Inside a walked directory only regular files (and symbolic
/// links to regular files) are taken.
pub fn expand_paths(paths: &[impl AsRef<Path>]) -> (Vec<Input>, Vec<ReadError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            inputs.push(Input::stdin());
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::path(path)),
            Err(e) => errors.push(io_error(path, e)),
        }
    }
    (inputs, errors)
}

fn io_error(path: &Path, e: io::Error) -> ReadError {
    ReadError {
        input: Arc::new(InputName::Path(path.to_path_buf())),
        at: None,
        kind: ReadErrorKind::io(e),
    }
}

/// Walks a directory depth-first, each directory's entries in name order.
fn walk(root: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<ReadError>) {
    // A stack of directory listings, each reversed so that `pop` yields the next in order.
    let mut stack: Vec<Vec<PathBuf>> = Vec::new();
    if let Some(listing) = list(root, errors) {
        stack.push(listing);
    }
    while let Some(top) = stack.last_mut() {
        let Some(path) = top.pop() else {
            stack.pop();
            continue;
        };
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                errors.push(io_error(&path, e));
                continue;
            }
        };
        let kind = meta.file_type();
        if kind.is_dir() {
            if let Some(listing) = list(&path, errors) {
                stack.push(listing);
            }
        } else if kind.is_file()
            || (kind.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()))
        {
            let mut input = Input::path(path);
            input.explicit = false;
            inputs.push(input);
        }
    }
}

/// A directory's entries, sorted by name and reversed.
fn list(dir: &Path, errors: &mut Vec<ReadError>) -> Option<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(io_error(dir, e));
            return None;
        }
    };
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(e) => errors.push(io_error(dir, e)),
        }
    }
    paths.sort_by(|a, b| b.file_name().cmp(&a.file_name()));
    Some(paths)
}
