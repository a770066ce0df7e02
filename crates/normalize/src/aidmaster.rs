//! The CrowdStrike `aid` → host name inventory (`aidmaster`), from CSV or JSON lines.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// Host names of CrowdStrike sensors, keyed by agent id (`aid`).
#[derive(Debug, Clone, Default)]
pub struct AidMaster {
    names: HashMap<String, String>,
}

/// Why an inventory file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AidMasterError(pub String);

impl fmt::Display for AidMasterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AidMasterError {}

impl AidMaster {
    /// Reads an inventory file: CSV with a header naming `aid` and `ComputerName` columns, or JSON
    /// lines of objects with those keys (chosen by the first non-blank character).
    pub fn load(path: &Path) -> Result<AidMaster, AidMasterError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AidMasterError(format!("{}: cannot read: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| AidMasterError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses inventory text (see [`AidMaster::load`]).
    pub fn parse(text: &str) -> Result<AidMaster, AidMasterError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim_start().starts_with('{') {
            parse_json_lines(text)
        } else {
            parse_csv(text)
        }
    }

    /// Adds or replaces one entry.
    pub fn insert(&mut self, aid: impl Into<String>, computer_name: impl Into<String>) {
        self.names.insert(aid.into(), computer_name.into());
    }

    /// The host name of a sensor.
    pub fn computer_name(&self, aid: &str) -> Option<&str> {
        self.names
            .get(aid)
            .map(String::as_str)
            .filter(|n| !n.is_empty())
    }

    /// Number of sensors known.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no sensor is known.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

fn parse_json_lines(text: &str) -> Result<AidMaster, AidMasterError> {
    let mut map = AidMaster::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let decoded = cimhunt_decode::decode_json(line.as_bytes())
            .map_err(|e| AidMasterError(format!("line {}: {e}", i + 1)))?;
        let cimhunt_decode::Decoded::Flat(flat) = decoded else {
            return Err(AidMasterError(format!("line {}: not an aid record", i + 1)));
        };
        match (flat.get("aid"), flat.get("ComputerName")) {
            (Some(aid), Some(name)) => map.insert(aid, name),
            _ => {
                let msg = format!("line {}: needs \"aid\" and \"ComputerName\"", i + 1);
                return Err(AidMasterError(msg));
            }
        }
    }
    Ok(map)
}

fn parse_csv(text: &str) -> Result<AidMaster, AidMasterError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines
        .next()
        .ok_or_else(|| AidMasterError("empty file".to_owned()))?;
    let header = split_csv_line(header);
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(aid_col), Some(name_col)) = (column("aid"), column("ComputerName")) else {
        return Err(AidMasterError(
            "header must name `aid` and `ComputerName` columns".into(),
        ));
    };
    let mut map = AidMaster::default();
    for (i, line) in lines {
        let cells = split_csv_line(line);
        match (cells.get(aid_col), cells.get(name_col)) {
            (Some(aid), Some(name)) => map.insert(aid.as_str(), name.as_str()),
            _ => return Err(AidMasterError(format!("line {}: too few columns", i + 1))),
        }
    }
    Ok(map)
}

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_extra_columns() {
        let text = "cid,aid,ComputerName\r\nc1,abc,\"WIN-HOST1\"\r\nc1,def,\"SRV, \"\"2\"\"\"\r\n";
        let m = AidMaster::parse(text).unwrap();
        assert_eq!(m.computer_name("abc"), Some("WIN-HOST1"));
        assert_eq!(m.computer_name("def"), Some("SRV, \"2\""));
        assert_eq!(m.computer_name("zzz"), None);
    }

    #[test]
    fn csv_without_the_columns_is_an_error() {
        assert!(AidMaster::parse("a,b\n1,2\n").is_err());
        assert!(AidMaster::parse("").is_err());
    }
}
