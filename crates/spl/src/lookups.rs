//! The lookup tables a deployment provides, by name: what `lookup <name>` and
//! `inputlookup <name>` find.
//!
//! A table is found by its lookup definition's name (the `transforms.conf` stanza, or an ESCU
//! lookup's `name`), or by its file name (`inputlookup linux_tool_discovery_process.csv`), as
//! Splunk resolves `<lookup-table-name>` (Search Reference, "lookup": "Can be either the name of
//! a CSV file … or the name of a stanza in the transforms.conf file").

use std::collections::HashMap;
use std::sync::Arc;

use crate::lookup::LookupTable;

/// Lookup tables by definition name and by file name.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    by_name: HashMap<String, Arc<LookupTable>>,
    by_file: HashMap<String, Arc<LookupTable>>,
}

impl Lookups {
    /// No tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a table under its definition name and, when it has one, its file name; a later
    /// table of the same name replaces an earlier one (a user's `--lookups` over ESCU's).
    pub fn insert(&mut self, name: &str, file: Option<&str>, table: LookupTable) {
        let table = Arc::new(table);
        if let Some(file) = file {
            self.by_file.insert(file.to_owned(), Arc::clone(&table));
        }
        self.by_name.insert(name.to_owned(), table);
    }

    /// The table of a definition name or file name.
    pub fn get(&self, name: &str) -> Option<Arc<LookupTable>> {
        self.by_name
            .get(name)
            .or_else(|| self.by_file.get(name))
            .cloned()
    }

    /// How many definitions.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The definition names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_name.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_found_by_definition_or_file_name() {
        let mut l = Lookups::new();
        let t = LookupTable::new("a", vec!["x".into()], vec![vec!["1".into()]]);
        l.insert("a", Some("a_2024.csv"), t);
        assert!(l.get("a").is_some());
        assert!(l.get("a_2024.csv").is_some());
        assert!(l.get("b").is_none());
        assert_eq!(l.names(), ["a"]);
    }
}
