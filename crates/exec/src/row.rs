//! Result rows: ordered columns of values, as a search's results table holds them.

use std::fmt;

use cimhunt_spl::{FieldRef, FieldValues};

/// One value in a result row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    /// No value.
    Null,
    /// Text (every field value is text in SPL).
    Text(String),
    /// A number produced by an aggregation (`count`, `dc`), kept as its canonical text.
    Number(String),
    /// A multi-value field (`values(x)`).
    Multi(Vec<String>),
}

impl Value {
    /// The values as text: none for null, one for text and numbers, several for multi-values.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&str>, &[String]) = match self {
            Value::Null => (None, &[]),
            Value::Text(s) | Value::Number(s) => (Some(s.as_str()), &[]),
            Value::Multi(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().map(String::as_str))
    }

    /// The first (or only) value as text.
    pub fn first(&self) -> Option<&str> {
        self.texts().next()
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Display for Value {
    /// Values joined by newlines for multi-values, as Splunk's table shows them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Text(s) | Value::Number(s) => f.write_str(s),
            Value::Multi(v) => f.write_str(&v.join("\n")),
        }
    }
}

/// A result row: columns in order, each with a name and a value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    cells: Vec<(String, Value)>,
}

impl Row {
    /// An empty row.
    pub fn new() -> Self {
        Self::default()
    }

    /// A row of text columns, in order (a later column of the same name replaces an earlier one).
    pub fn from_texts(cells: &[(&str, &str)]) -> Self {
        cells
            .iter()
            .map(|(n, v)| (n.to_string(), Value::Text(v.to_string())))
            .collect()
    }

    /// Appends a column, or replaces the value of an existing column of that name in place.
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        match self.cells.iter_mut().find(|(n, _)| *n == name) {
            Some(cell) => cell.1 = value,
            None => self.cells.push((name, value)),
        }
    }

    /// The value of a column; `None` when the row has no such column.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.cells.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The columns in order.
    pub fn cells(&self) -> &[(String, Value)] {
        &self.cells
    }

    /// The column names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.cells.iter().map(|(n, _)| n.as_str())
    }

    pub(crate) fn cells_mut(&mut self) -> &mut Vec<(String, Value)> {
        &mut self.cells
    }
}

impl FromIterator<(String, Value)> for Row {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut row = Row::new();
        for (n, v) in iter {
            row.set(n, v);
        }
        row
    }
}

impl FieldValues for Row {
    fn values<'s>(&'s self, field: &FieldRef) -> impl Iterator<Item = &'s str> + 's {
        let name: &str = match field {
            FieldRef::Named(n) => n,
            FieldRef::Cim(f) => f.name(),
            FieldRef::Time => "_time",
        };
        self.get(name).into_iter().flat_map(Value::texts)
    }
}
