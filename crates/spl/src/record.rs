//! What expressions read: a [`Record`] is anything with named fields — an event's search-time
//! fields, a data-model dataset's view of an event, a result row.

use crate::sym::Sym;
use crate::value::Value;

/// A source of field values for search and eval expressions.
///
/// `value` returns [`Value::Null`] for a field the record does not have. Event fields arrive as
/// text and are typed by [`Value::from_field`]; `_time` is a number (epoch seconds), `_raw` a
/// string.
pub trait Record {
    /// The value of a field.
    fn value(&self, field: Sym) -> Value<'_>;
}

impl<R: Record + ?Sized> Record for &R {
    fn value(&self, field: Sym) -> Value<'_> {
        (**self).value(field)
    }
}
