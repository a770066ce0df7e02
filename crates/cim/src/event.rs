//! One process event as the data model presents it to a search.

use std::borrow::Cow;

use crate::field::{FIELD_COUNT, Field};
use crate::time::Timestamp;

/// A process event in the CIM `Endpoint.Processes` dataset.
///
/// Each field holds zero values (null), one value, or several (a multi-value field). Values
/// borrow from the record buffer where the normalizer could take them verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CimEvent<'a> {
    /// `_time`; `None` when the source carried no readable time.
    pub time: Option<Timestamp>,
    slots: [Option<Cow<'a, str>>; FIELD_COUNT],
    /// Second and later values of multi-value fields, in the order they were added.
    more: Vec<(Field, Cow<'a, str>)>,
}

impl Default for CimEvent<'_> {
    fn default() -> Self {
        CimEvent {
            time: None,
            slots: std::array::from_fn(|_| None),
            more: Vec::new(),
        }
    }
}

impl<'a> CimEvent<'a> {
    /// An event with no fields set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The field's first value, or `None` when it is null.
    #[inline]
    pub fn get(&self, field: Field) -> Option<&str> {
        self.slots[field.index()].as_deref()
    }

    /// All values of the field, first value first; empty when null.
    #[inline]
    pub fn values(&self, field: Field) -> Values<'_, 'a> {
        Values {
            first: self.slots[field.index()].as_deref(),
            field,
            more: &self.more,
            pos: 0,
        }
    }

    /// Whether the field has more than one value.
    pub fn is_multivalued(&self, field: Field) -> bool {
        self.slots[field.index()].is_some() && self.more.iter().any(|(f, _)| *f == field)
    }

    /// Sets the field to a single value, replacing whatever it held.
    #[inline]
    pub fn set(&mut self, field: Field, value: impl Into<Cow<'a, str>>) {
        let slot = &mut self.slots[field.index()];
        if slot.is_some() && !self.more.is_empty() {
            self.more.retain(|(f, _)| *f != field);
        }
        *slot = Some(value.into());
    }

    /// Sets the field unless `value` is `None`.
    #[inline]
    pub fn set_opt(&mut self, field: Field, value: Option<impl Into<Cow<'a, str>>>) {
        if let Some(v) = value {
            self.set(field, v);
        }
    }

    /// Adds a value to the field, making it multi-valued if it already had one.
    pub fn push(&mut self, field: Field, value: impl Into<Cow<'a, str>>) {
        let slot = &mut self.slots[field.index()];
        if slot.is_none() {
            *slot = Some(value.into());
        } else {
            self.more.push((field, value.into()));
        }
    }

    /// Makes the field null.
    pub fn clear(&mut self, field: Field) {
        if self.slots[field.index()].take().is_some() && !self.more.is_empty() {
            self.more.retain(|(f, _)| *f != field);
        }
    }

    /// Whether the field is null or holds only empty strings (the data model's test
    /// `isnull(x) OR x=""`).
    pub fn is_null_or_empty(&self, field: Field) -> bool {
        self.values(field).all(str::is_empty)
    }

    /// The fields that hold a value, in [`Field`] order.
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        Field::ALL
            .iter()
            .copied()
            .filter(|f| self.slots[f.index()].is_some())
    }

    /// Copies every borrowed value, detaching the event from its record buffer.
    pub fn into_owned(self) -> CimEvent<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        CimEvent {
            time: self.time,
            slots: self.slots.map(|s| s.map(own)),
            more: self.more.into_iter().map(|(f, v)| (f, own(v))).collect(),
        }
    }
}

/// Iterator over the values of one field; see [`CimEvent::values`].
#[derive(Debug, Clone)]
pub struct Values<'e, 'a> {
    first: Option<&'e str>,
    field: Field,
    more: &'e [(Field, Cow<'a, str>)],
    pos: usize,
}

impl<'e> Iterator for Values<'e, '_> {
    type Item = &'e str;

    #[inline]
    fn next(&mut self) -> Option<&'e str> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if self.pos == 0 && self.more.is_empty() {
            return None;
        }
        while let Some((f, v)) = self.more.get(self.pos) {
            self.pos += 1;
            if *f == self.field {
                return Some(v);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_values() {
        let mut e = CimEvent::new();
        assert_eq!(e.get(Field::ProcessName), None);
        assert!(e.is_null_or_empty(Field::ProcessName));
        e.push(Field::ProcessName, "a.exe");
        e.push(Field::Process, "x");
        e.push(Field::ProcessName, "msiexec.exe");
        assert_eq!(
            e.values(Field::ProcessName).collect::<Vec<_>>(),
            ["a.exe", "msiexec.exe"]
        );
        assert!(e.is_multivalued(Field::ProcessName));
        assert!(!e.is_multivalued(Field::Process));
        e.set(Field::ProcessName, "b.exe");
        assert_eq!(e.values(Field::ProcessName).collect::<Vec<_>>(), ["b.exe"]);
        e.clear(Field::Process);
        assert_eq!(e.fields().collect::<Vec<_>>(), [Field::ProcessName]);
    }

    #[test]
    fn empty_string_counts_as_null_for_the_data_model() {
        let mut e = CimEvent::new();
        e.set(Field::User, "");
        assert!(e.is_null_or_empty(Field::User));
        e.push(Field::User, "x");
        assert!(!e.is_null_or_empty(Field::User));
    }
}
