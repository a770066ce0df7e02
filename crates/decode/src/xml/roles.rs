//! What each element of an event is to the decoder, from its name and its parent's role.

/// What an open element is to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Event,
    System,
    /// `Provider`, `TimeCreated`, `Security`: attributes wanted.
    Provider,
    TimeCreated,
    Security,
    EventId,
    Version,
    Keywords,
    RecordId,
    Channel,
    Computer,
    EventData,
    /// A `Data` element; its `Name` attribute is kept in its frame's `data_name`.
    Data,
    UserData,
    /// The one child of `UserData` (e.g. `EventXML`).
    UserDataRoot,
    /// An element below `UserData`'s child: collected when it turns out to be a leaf.
    UserLeaf,
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
        Some(Role::System) => match name {
            "Provider" => Role::Provider,
            "TimeCreated" => Role::TimeCreated,
            "Security" => Role::Security,
            "EventID" => Role::EventId,
            "Version" => Role::Version,
            "Keywords" => Role::Keywords,
            "EventRecordID" => Role::RecordId,
            "Channel" => Role::Channel,
            "Computer" => Role::Computer,
            _ => Role::Skip,
        },
        Some(Role::EventData) if name == "Data" => Role::Data,
        Some(Role::UserData) => Role::UserDataRoot,
        Some(Role::UserDataRoot | Role::UserLeaf) => Role::UserLeaf,
        _ => Role::Skip,
    }
}
