//! What each element of an event is to the decoder, from its name and its parent's role.

/// What an open element is to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Event,
    System,
    /// A child of `System`: kept whole (name, attributes, text) as a `SystemElement`.
    SystemChild,
    EventData,
    /// A `Data` element; its `Name` attribute is kept in its frame's `data_name`.
    Data,
    /// `EventData/Binary`.
    Binary,
    /// `UserData`: its inner markup is kept as written.
    UserData,
    /// Anything else: checked for well-formedness, not collected.
    Skip,
}

/// The role of an element called `name` whose parent has the role `parent`.
pub(super) fn role_of(parent: Option<Role>, name: &str) -> Role {
    match parent {
        None if name == "Event" => Role::Event,
        Some(Role::Event) => match name {
            "System" => Role::System,
            "EventData" => Role::EventData,
            "UserData" => Role::UserData,
            _ => Role::Skip,
        },
        Some(Role::System) => Role::SystemChild,
        Some(Role::EventData) => match name {
            "Data" => Role::Data,
            "Binary" => Role::Binary,
            _ => Role::Skip,
        },
        _ => Role::Skip,
    }
}
