//! Loading search macros: ESCU `macros/*.yml` files and Splunk `macros.conf` files.
//!
//! Every loaded [`Macro`] has `origin` set to the file's path text, so a message about a macro
//! can say where its definition came from.

mod conf;
mod yaml;

use std::fs;
use std::path::{Path, PathBuf};

use cimhunt_spl::Macro;
use rayon::prelude::*;

use crate::error::ContentError;
use crate::load::{has_yaml_extension, read_text};

pub use conf::parse_macros_conf;
pub use yaml::parse_macro_yaml;

/// Loads an ESCU-style macro YAML file: one mapping with `name`, `definition`, optional
/// `arguments` and `description`, or a sequence of such mappings.
pub fn load_macro_yaml(path: &Path) -> Result<Vec<Macro>, ContentError> {
    parse_macro_yaml(&read_text(path)?, path)
}

/// Loads a Splunk `macros.conf` file (see [`parse_macros_conf`]).
pub fn load_macros_conf(path: &Path) -> Result<Vec<Macro>, ContentError> {
    parse_macros_conf(&read_text(path)?, path)
}

/// Loads a macro file of either format: `.conf` is `macros.conf`, `.yml`/`.yaml` is YAML; any
/// other name is recognised by its content (a first `[stanza]` line means `macros.conf`).
pub fn load_macro_file(path: &Path) -> Result<Vec<Macro>, ContentError> {
    if has_conf_extension(path) {
        return load_macros_conf(path);
    }
    if has_yaml_extension(path) {
        return load_macro_yaml(path);
    }
    let text = read_text(path)?;
    match sniff(&text) {
        Some(Format::Conf) => parse_macros_conf(&text, path),
        Some(Format::Yaml) => parse_macro_yaml(&text, path),
        None => Err(ContentError::UnknownMacroFormat {
            path: path.to_path_buf(),
        }),
    }
}

enum Format {
    Conf,
    Yaml,
}

/// Looks at the first line that is not blank or a `#` comment.
fn sniff(text: &str) -> Option<Format> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    if line.starts_with('[') && line.ends_with(']') && !line.contains(['{', ',', '"', '\'']) {
        Some(Format::Conf)
    } else if line.starts_with('-') || line.starts_with('[') || line.contains(':') {
        Some(Format::Yaml)
    } else {
        None
    }
}

/// Loads macros from a path given by the user (`--macros`): a file of either format
/// ([`load_macro_file`]), or a directory, whose `*.yml`, `*.yaml` and `*.conf` files (walked
/// with the project's policy, in name order) are loaded in that order, later definitions
/// winning.
pub fn load_macro_path(path: &Path) -> Result<Vec<Macro>, ContentError> {
    let meta = fs::metadata(path).map_err(|e| ContentError::io(path, e))?;
    if !meta.is_dir() {
        return load_macro_file(path);
    }
    let files = crate::walk::files_under(path, |p| has_yaml_extension(p) || has_conf_extension(p))?;
    let mut macros = Vec::new();
    for file in files {
        macros.extend(load_macro_file(&file)?);
    }
    Ok(macros)
}

fn has_conf_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("conf"))
}

/// Loads every `*.yml`/`*.yaml` file directly inside `dir` (a content checkout's `macros/`),
/// in file-name order.
pub fn load_macros_dir(dir: &Path) -> Result<Vec<Macro>, ContentError> {
    let entries = fs::read_dir(dir).map_err(|e| ContentError::io(dir, e))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ContentError::io(dir, e))?;
        let path = entry.path();
        if has_yaml_extension(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    // Parsed on every core; the first error in name order is the one reported.
    let parsed: Vec<_> = files.par_iter().map(|f| load_macro_yaml(f)).collect();
    let mut macros = Vec::new();
    for m in parsed {
        macros.extend(m?);
    }
    Ok(macros)
}

/// Splits a macro name written with its arity, `name(2)`, into `("name", Some(2))`; a plain
/// name gives `None`. `Err` with a reason for a malformed `(...)` suffix.
pub(crate) fn split_arity(text: &str) -> Result<(&str, Option<usize>), String> {
    let text = text.trim();
    let Some(open) = text.find('(') else {
        return Ok((text, None));
    };
    let name = text[..open].trim_end();
    let rest = &text[open + 1..];
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| format!("`{text}`: expected `name` or `name(<number of arguments>)`"))?;
    let arity = inner
        .trim()
        .parse::<usize>()
        .map_err(|_| format!("`{text}`: the arity in parentheses must be a number"))?;
    if name.is_empty() {
        return Err(format!("`{text}`: the macro name is empty"));
    }
    Ok((name, Some(arity)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_arity_accepts_plain_and_counted_names() {
        assert_eq!(split_arity("foo"), Ok(("foo", None)));
        assert_eq!(split_arity(" foo(2) "), Ok(("foo", Some(2))));
        assert!(split_arity("foo(x)").is_err());
        assert!(split_arity("foo(1").is_err());
        assert!(split_arity("(1)").is_err());
    }

    #[test]
    fn sniff_tells_conf_from_yaml() {
        assert!(matches!(
            sniff("# c\n\n[m]\ndefinition = x\n"),
            Some(Format::Conf)
        ));
        assert!(matches!(
            sniff("name: m\ndefinition: x\n"),
            Some(Format::Yaml)
        ));
        assert!(matches!(sniff("- name: m\n"), Some(Format::Yaml)));
        assert!(sniff("hello world").is_none());
        assert!(sniff("").is_none());
    }
}
