//! What expressions read: a [`Record`] is anything with named fields — an event's search-time
//! fields, a data-model dataset's view of an event, a result row.

use std::sync::OnceLock;

use crate::sym::Sym;
use crate::time::Timestamp;
use crate::value::Value;

/// A source of field values for search and eval expressions.
///
/// `value` returns [`Value::Null`] for a field the record does not have. Event fields arrive as
/// text and are typed by [`Value::from_field`]; `_time` is a number (epoch seconds), `_raw` a
/// string.
pub trait Record {
    /// The value of a field.
    fn value(&self, field: Sym) -> Value<'_>;

    /// `_time` read as a time: its text is epoch seconds with the source's digits. A record
    /// may remember it (an event is aggregated by many detections); it must give what
    /// [`read_time`] gives for its `_time` value.
    fn time(&self) -> Option<Timestamp> {
        read_time(&self.value(time_sym()))
    }
}

impl<R: Record + ?Sized> Record for &R {
    fn value(&self, field: Sym) -> Value<'_> {
        (**self).value(field)
    }

    fn time(&self) -> Option<Timestamp> {
        (**self).time()
    }
}

/// The symbol of `_time`.
pub fn time_sym() -> Sym {
    static TIME: OnceLock<Sym> = OnceLock::new();
    *TIME.get_or_init(|| Sym::new("_time"))
}

/// The time a `_time` value reads as: its first value, as epoch seconds.
pub fn read_time(v: &Value<'_>) -> Option<Timestamp> {
    let text = v.first_text()?;
    Timestamp::parse_epoch_secs(text.trim()).ok()
}
