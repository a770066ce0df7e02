//! Reading CIM events through the field references a plan uses.

use std::borrow::Cow;

use cimhunt_cim::CimEvent;
use cimhunt_spl::{FieldRef, FieldValues};

/// The values of a field of an event: the stored values of a CIM field, `_time` as epoch
/// seconds, nothing for a name the dataset does not have.
pub(crate) fn event_values<'e>(
    event: &'e CimEvent<'_>,
    field: &FieldRef,
) -> impl Iterator<Item = Cow<'e, str>> {
    let (stored, time) = match field {
        FieldRef::Cim(f) => (Some(event.values(*f)), None),
        FieldRef::Time => (None, event.time.map(|t| t.epoch_text())),
        FieldRef::Named(_) => (None, None),
    };
    stored
        .into_iter()
        .flatten()
        .map(Cow::Borrowed)
        .chain(time.map(Cow::Owned))
}

/// An event seen through [`FieldValues`], for evaluating where-clauses.
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'e, 'a>(pub &'e CimEvent<'a>);

impl FieldValues for EventFields<'_, '_> {
    #[inline]
    fn values<'s>(&'s self, field: &FieldRef) -> impl Iterator<Item = &'s str> + 's {
        // `_time` is not text in an event; where-clauses compare CIM fields only.
        let stored = match field {
            FieldRef::Cim(f) => Some(self.0.values(*f)),
            FieldRef::Time | FieldRef::Named(_) => None,
        };
        stored.into_iter().flatten()
    }
}
