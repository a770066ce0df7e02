//! The fields of the `Processes` dataset and what cimhunt knows about where their values come from.

/// How a field's value relates to the bytes of the record it was normalized from.
///
/// The detection compiler uses this to decide which literals a matching record must contain, so
/// that records without them are skipped before they are decoded. The promise of
/// [`FieldOrigin::RawText`]: every run of *plain* characters (ASCII letters, digits and punctuation
/// other than `\ " & < > ;`, and never whitespace) that occurs in the value, outside XML entity
/// references such as `&amp;`, also occurs in the raw record, up to ASCII case: as text in
/// XmlWinEventLog and JSON, as UTF-16LE or ANSI text in an EVTX chunk. The one exception is the
/// data model's `unknown` fill, which no record needs to contain. Other origins promise nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOrigin {
    /// The value is a source text value, or pieces of source text values joined by whitespace or
    /// double quotes (the 4688 command-line rebuild), or a piece of one (a basename, a user
    /// without its domain).
    RawText,
    /// The value is rendered from binary data or rewritten (ids, GUIDs, constants, lookups).
    Derived,
}

macro_rules! fields {
    ($($variant:ident => $name:literal, $origin:ident;)*) => {
        /// A field of the CIM `Endpoint.Processes` dataset (CIM 5.0.1 and the 6.x additions), plus
        /// the `host`, `source` and `sourcetype` every dataset inherits.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Field {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Field {
            /// Every field, in declaration order (alphabetical, inherited fields last).
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The field's name without the `Processes.` prefix.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }

            /// Where this field's value comes from; see [`FieldOrigin`].
            pub const fn origin(self) -> FieldOrigin {
                match self {
                    $(Field::$variant => FieldOrigin::$origin,)*
                }
            }

            fn from_bare_name(name: &str) -> Option<Field> {
                match name {
                    $($name => Some(Field::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

fields! {
    Action => "action", Derived;
    CimEntityZone => "cim_entity_zone", Derived;
    CpuLoadPercent => "cpu_load_percent", Derived;
    Dest => "dest", Derived;
    DestBunit => "dest_bunit", Derived;
    DestCategory => "dest_category", Derived;
    DestIsExpected => "dest_is_expected", Derived;
    DestPriority => "dest_priority", Derived;
    DestRequiresAv => "dest_requires_av", Derived;
    DestShouldTimesync => "dest_should_timesync", Derived;
    DestShouldUpdate => "dest_should_update", Derived;
    LoadedFile => "loaded_file", Derived;
    MemUsed => "mem_used", Derived;
    OriginalFileName => "original_file_name", RawText;
    Os => "os", Derived;
    ParentProcess => "parent_process", RawText;
    ParentProcessExec => "parent_process_exec", RawText;
    ParentProcessGuid => "parent_process_guid", Derived;
    ParentProcessHash => "parent_process_hash", Derived;
    ParentProcessId => "parent_process_id", Derived;
    ParentProcessName => "parent_process_name", RawText;
    ParentProcessPath => "parent_process_path", RawText;
    ParentUser => "parent_user", Derived;
    Process => "process", RawText;
    ProcessCurrentDirectory => "process_current_directory", RawText;
    ProcessExec => "process_exec", RawText;
    ProcessGuid => "process_guid", Derived;
    ProcessHash => "process_hash", Derived;
    ProcessId => "process_id", Derived;
    ProcessIntegrityLevel => "process_integrity_level", Derived;
    ProcessName => "process_name", RawText;
    ProcessPath => "process_path", RawText;
    Tag => "tag", Derived;
    User => "user", RawText;
    UserBunit => "user_bunit", Derived;
    UserCategory => "user_category", Derived;
    UserId => "user_id", Derived;
    UserPriority => "user_priority", Derived;
    VendorProduct => "vendor_product", Derived;
    Host => "host", Derived;
    Source => "source", Derived;
    Sourcetype => "sourcetype", Derived;
}

/// Number of [`Field`]s; the length of an event's slot array.
pub(crate) const FIELD_COUNT: usize = Field::ALL.len();

impl Field {
    /// The dataset prefix searches use in front of field names.
    pub const DATASET_PREFIX: &'static str = "Processes.";

    /// Resolves a field name as a search writes it: `Processes.process_name` and `process_name`
    /// name the same field. Field names are case-sensitive, as in Splunk.
    pub fn from_name(name: &str) -> Option<Field> {
        let bare = name.strip_prefix(Self::DATASET_PREFIX).unwrap_or(name);
        Self::from_bare_name(bare)
    }

    /// The field's position in an event's slot array.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips_through_its_name() {
        for (i, &field) in Field::ALL.iter().enumerate() {
            assert_eq!(field.index(), i);
            assert_eq!(Field::from_name(field.name()), Some(field));
            let prefixed = format!("Processes.{}", field.name());
            assert_eq!(Field::from_name(&prefixed), Some(field));
        }
    }

    #[test]
    fn field_names_are_case_sensitive() {
        assert_eq!(Field::from_name("Processes.Process_Name"), None);
        assert_eq!(Field::from_name("PROCESS"), None);
        assert_eq!(Field::from_name("Processes.xml"), None);
    }
}

/// Splits a literal into the runs of plain characters that [`FieldOrigin::RawText`] promises to
/// find in the raw record: XML entity references (`&amp;`, `&#39;`) and every character that is
/// not plain (whitespace, controls, non-ASCII, `\ " & < > ;`) separate runs and are dropped.
pub fn plain_runs(literal: &str) -> impl Iterator<Item = &str> {
    let bytes = literal.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() {
            // Skip separators, including whole entity references.
            if bytes[pos] == b'&' {
                let end = entity_end(bytes, pos);
                pos = end;
                continue;
            }
            if !is_plain(bytes[pos]) {
                pos += 1;
                continue;
            }
            let start = pos;
            while pos < bytes.len() && is_plain(bytes[pos]) {
                pos += 1;
            }
            return Some(&literal[start..pos]);
        }
        None
    })
}

/// Whether a byte is a plain character in the sense of [`FieldOrigin::RawText`].
pub const fn is_plain(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'\\' | b'"' | b'&' | b'<' | b'>' | b';')
}

/// The end of an entity reference starting with `&` at `pos` (`&name;`, `&#123;`, `&#x1F;`), or
/// `pos + 1` when no well-formed reference starts there.
fn entity_end(bytes: &[u8], pos: usize) -> usize {
    let mut i = pos + 1;
    while i < bytes.len() && i - pos <= 10 && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'#')
    {
        i += 1;
    }
    if i > pos + 1 && bytes.get(i) == Some(&b';') {
        i + 1
    } else {
        pos + 1
    }
}

#[cfg(test)]
mod plain_tests {
    use super::plain_runs;

    fn runs(s: &str) -> Vec<&str> {
        plain_runs(s).collect()
    }

    #[test]
    fn entities_and_specials_split_runs() {
        assert_eq!(runs("msiexec.exe"), ["msiexec.exe"]);
        assert_eq!(runs("2&gt;&amp;1"), ["2", "1"]);
        assert_eq!(runs(r"\Windows\Temp\ x"), ["Windows", "Temp", "x"]);
        assert_eq!(runs("http://"), ["http://"]);
        assert_eq!(runs("a&b;c"), ["a", "c"]);
        assert_eq!(runs("a & b"), ["a", "b"]);
        assert_eq!(runs("\"/i http"), ["/i", "http"]);
        assert_eq!(runs("café"), ["caf"]);
        assert!(runs("").is_empty());
    }
}
