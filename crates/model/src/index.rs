//! A hash index over a lookup table's match columns, for automatic lookups whose inputs are all
//! matched exactly (the add-ons' lookups by `EventCode`, `Keywords`, `signature_id` …).
//!
//! [`cimhunt_spl::lookup::LookupTable::find`] compares every row; an event computing a dozen
//! lookups over tables of hundreds of rows spent a sixth of its time there. The index gives the
//! same answer — the matching rows in file order, at most `max_matches` of them, empty cells
//! left out, the `default_match` value when fewer than `min_matches` matched — by looking the
//! event's values up instead. Case-insensitive tables key on the lower-cased text, which is
//! what their comparison amounts to.

use hashbrown::HashMap;
use std::sync::Arc;

use cimhunt_spl::lookup::LookupTable;

use crate::tables::{LookupDef, MatchKind};

/// The index of one table for one list of input columns.
#[derive(Debug)]
pub(crate) struct LookupIndex {
    table: Arc<LookupTable>,
    rows: HashMap<Vec<String>, Vec<usize>>,
    case_sensitive: bool,
    min: usize,
    max: usize,
    default: Option<String>,
}

impl LookupIndex {
    /// An index of `table` on `columns`, unless a column is matched by wildcard or CIDR.
    pub(crate) fn new(
        table: &Arc<LookupTable>,
        def: &LookupDef,
        columns: &[usize],
    ) -> Option<Self> {
        let names = table.columns();
        let inexact = def.match_types.iter().any(|(kind, col)| {
            *kind != MatchKind::Exact && columns.iter().any(|&c| names.get(c) == Some(col))
        });
        if inexact {
            return None;
        }
        let case_sensitive = def.case_sensitive_match;
        let mut rows: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
        for r in 0..table.len() {
            let key: Option<Vec<String>> = columns
                .iter()
                .map(|&c| table.cell(r, c).map(|cell| normalize(cell, case_sensitive)))
                .collect();
            if let Some(key) = key {
                rows.entry(key).or_default().push(r);
            }
        }
        Some(LookupIndex {
            table: Arc::clone(table),
            rows,
            case_sensitive,
            min: def.min_matches as usize,
            max: def.max_matches() as usize,
            default: def.default_match.clone(),
        })
    }

    /// The output columns' values for the input values (in the index's column order), as
    /// `LookupTable::find` gives them.
    pub(crate) fn find(&self, values: &[&str], outputs: &[usize]) -> Option<Vec<Vec<String>>> {
        let key: Vec<String> = values
            .iter()
            .map(|v| normalize(v, self.case_sensitive))
            .collect();
        let mut out: Vec<Vec<String>> = vec![Vec::new(); outputs.len()];
        let hits = self.rows.get(&key).map_or(&[][..], Vec::as_slice);
        let matched = hits.len().min(self.max);
        for &r in &hits[..matched] {
            for (slot, &c) in out.iter_mut().zip(outputs) {
                if let Some(cell) = self.table.cell(r, c).filter(|c| !c.is_empty()) {
                    slot.push(cell.to_owned());
                }
            }
        }
        if matched < self.min
            && let Some(d) = &self.default
        {
            for slot in out.iter_mut() {
                for _ in matched..self.min {
                    slot.push(d.clone());
                }
            }
            return Some(out);
        }
        (matched > 0).then_some(out)
    }
}

fn normalize(text: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        text.to_owned()
    } else {
        text.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use crate::Model;

    /// Every automatic lookup of the Windows and Sysmon programs answers as the table's own
    /// search does, for every key of the table, the same keys in other cases, and a miss.
    #[test]
    fn the_index_answers_as_the_table_scan() {
        let model = Model::escu().unwrap();
        let mut checked = 0;
        for source in [
            "Security",
            "System",
            "Application",
            "Microsoft-Windows-Sysmon/Operational",
        ] {
            let p = model.program(crate::XML_SOURCETYPE, &format!("XmlWinEventLog:{source}"));
            for l in &p.lookups {
                let Some(index) = &l.index else { continue };
                let cols: Vec<usize> = l.outputs.iter().map(|(c, _)| *c).collect();
                let mut keys: Vec<Vec<String>> = (0..l.table.len())
                    .map(|r| {
                        l.inputs
                            .iter()
                            .map(|(c, _)| l.table.cell(r, *c).unwrap_or_default().to_owned())
                            .collect()
                    })
                    .collect();
                let more: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| k.iter().map(|v| v.to_uppercase()).collect())
                    .collect();
                keys.extend(more);
                keys.push(
                    l.inputs
                        .iter()
                        .map(|_| "no such value".to_owned())
                        .collect(),
                );
                for key in keys {
                    let values: Vec<&str> = key.iter().map(String::as_str).collect();
                    let ins: Vec<(usize, &str)> = l
                        .inputs
                        .iter()
                        .map(|(c, _)| *c)
                        .zip(values.iter().copied())
                        .collect();
                    assert_eq!(
                        index.find(&values, &cols),
                        l.table.find(&ins, &cols),
                        "{} {key:?}",
                        l.name
                    );
                    checked += 1;
                }
            }
        }
        // The tables hold only the lookup rows the specification gives (about 50 keys).
        assert!(checked > 100, "{checked}");
    }
}
