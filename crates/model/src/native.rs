//! The Windows add-on's generic XML extraction, done natively from the decoded event.
//!
//! The `[xmlwineventlog]` stanza (ADDON_FIELDS 1.3) extracts fields with regular expressions
//! over `_raw`: `system_props_xml_kv` (`<(\w*)>([^<]*)<\/\1>` over the `System` block),
//! `system_props_xml_attributes` (every `name='value'` in `System`, quotes kept),
//! `eventdata_xml_data` (`<(?:\w+)\sName='([^>]*)'\/?>([^<]*)…` over `EventData`),
//! `EventID_as_EventCode`/`EventID2_as_EventCode`, `EventRecordID_as_RecordNumber`, and the
//! `*_xml_block` transforms that cut the blocks themselves. The decoder has already found every
//! element those regular expressions would find, so the same fields are read from its
//! [`WinEvent`] instead of running the expressions on every event; this module states, for each
//! transform, what the regular expression yields and implements exactly that:
//!
//! - `system_props_xml_kv`: a `System` child with no attributes and text content gives a field
//!   named after the element, valued with its text; an element with attributes (`<EventID
//!   Qualifiers='…'>`) or no text (`<Correlation/>`) gives none; repeated names add values
//!   (`MV_ADD = 1`).
//! - `system_props_xml_attributes`: every attribute of every `System` child gives a field named
//!   after the attribute, valued with the attribute **including its quotes**, as Windows
//!   renders them (`'S-1-5-18'`), ADDON_FIELDS 1.3.
//! - `eventdata_xml_data`: every `EventData/Data` with a `Name` gives a field of that name;
//!   `Data` without a name gives none.
//! - Empty values are dropped (`KEEP_EMPTY_VALS = false`), and names go through `CLEAN_KEYS`
//!   (non-alphanumeric characters become `_`; leading digits and underscores are dropped).
//! - `EventCode` is the `EventID` text (the first transform reads the `EventID` field, the
//!   second the element itself; the second's value is discarded when the first gave one).
//! - `RecordNumber` is `EventRecordID`.
//! - The blocks (`System_Props_Xml`, `EventData_Xml`, `UserData_Xml`, `RenderingInfo_Xml`,
//!   `DebugData_Xml`) are the inner text of those elements in `_raw`, cut on request.
//! - `rendering_info_xml_data` runs the `system_props_xml_kv` rule over `RenderingInfo`, which
//!   only XmlWinEventLog text forwarded with rendered messages has.

use std::borrow::Cow;

use cimhunt_decode::WinEvent;
use cimhunt_spl::Sym;

/// The transforms this module implements, by the names the tables give them.
pub(crate) const NATIVE_TRANSFORMS: &[&str] = &[
    "system_xml_block",
    "eventdata_xml_block",
    "userdata_xml_block",
    "debugdata_xml_block",
    "renderinginfo_xml_block",
    "system_props_xml_kv",
    "system_props_xml_attributes",
    "eventdata_xml_data",
    "rendering_info_xml_data",
    "EventID_as_EventCode",
    "EventID2_as_EventCode",
    "EventRecordID_as_RecordNumber",
];

/// The blocks the `*_xml_block` transforms cut, by field name and element name.
pub(crate) const BLOCKS: &[(&str, &str)] = &[
    ("System_Props_Xml", "System"),
    ("EventData_Xml", "EventData"),
    ("UserData_Xml", "UserData"),
    ("RenderingInfo_Xml", "RenderingInfo"),
    ("DebugData_Xml", "DebugData"),
];

/// Decides which field names to keep: the symbol to file a field under, or `None` to skip it.
pub(crate) trait Keep {
    fn keep(&self, name: &str) -> Option<Sym>;
}

/// Appends the generic fields of a Windows event to `out`.
pub(crate) fn windows_fields<'a>(
    win: &'a WinEvent<'a>,
    keep: &dyn Keep,
    out: &mut Vec<(Sym, Cow<'a, str>)>,
) {
    // Room for every field the event could give, so the list is not regrown field by field.
    let attrs: usize = win.system.iter().map(|el| el.attrs.len()).sum();
    out.reserve(win.system.len() + attrs + win.data.len() + 2);
    // system_props_xml_kv
    for el in &win.system {
        if !el.attrs.is_empty() {
            continue;
        }
        let Some(text) = el.text.as_deref().filter(|t| !t.is_empty()) else {
            continue;
        };
        if !el.name.bytes().all(is_word) {
            continue;
        }
        if let Some(sym) = keep.keep(&el.name) {
            out.push((sym, Cow::Borrowed(text)));
        }
    }
    // system_props_xml_attributes
    for el in &win.system {
        for (name, value) in &el.attrs {
            if let Some(sym) = keep_clean(keep, name) {
                let mut quoted = String::with_capacity(value.len() + 2);
                quoted.push('\'');
                quoted.push_str(value);
                quoted.push('\'');
                out.push((sym, Cow::Owned(quoted)));
            }
        }
    }
    // eventdata_xml_data
    for (name, value) in &win.data {
        if name.is_empty() || value.is_empty() {
            continue;
        }
        if let Some(sym) = keep_clean(keep, name) {
            out.push((sym, Cow::Borrowed(value.as_ref())));
        }
    }
    // EventID_as_EventCode / EventID2_as_EventCode
    if let Some(id) = win.event_id().filter(|t| !t.is_empty())
        && let Some(sym) = keep.keep("EventCode")
    {
        out.push((sym, Cow::Borrowed(id)));
    }
    // EventRecordID_as_RecordNumber
    if let Some(id) = win.record_id().filter(|t| !t.is_empty())
        && let Some(sym) = keep.keep("RecordNumber")
    {
        out.push((sym, Cow::Borrowed(id)));
    }
}

fn keep_clean(keep: &dyn Keep, name: &str) -> Option<Sym> {
    if is_clean(name) {
        keep.keep(name)
    } else {
        keep.keep(&clean_key(name))
    }
}

const fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_clean(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !matches!(b[0], b'0'..=b'9' | b'_')
}

/// `CLEAN_KEYS` (transforms.conf.spec): every character that is not a letter or digit becomes
/// `_`, then leading underscores and digits are dropped.
pub(crate) fn clean_key(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    replaced
        .trim_start_matches(|c: char| c == '_' || c.is_ascii_digit())
        .to_owned()
}

/// The inner text of the first `<name …>…</name>` element in `raw` (the `*_xml_block`
/// transforms: `(?ms)<Name(?:\s+[^>]+)?>(.*?)<\/Name>`).
pub(crate) fn block<'r>(raw: &'r str, name: &str) -> Option<&'r str> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    // memchr's searcher, not `str::find`: this runs over whole events for every row collected.
    let find = |hay: &str, needle: &str| memchr::memmem::find(hay.as_bytes(), needle.as_bytes());
    let mut from = 0;
    while let Some(i) = find(raw.get(from..)?, &open) {
        let at = from + i + open.len();
        let rest = raw.get(at..)?;
        // The element name must end here: `>` or white space before attributes.
        let ok = match rest.as_bytes().first() {
            Some(b'>') => true,
            Some(c) if c.is_ascii_whitespace() => true,
            _ => false,
        };
        if ok {
            let gt = rest.find('>')?;
            if rest.as_bytes().get(gt.wrapping_sub(1)) == Some(&b'/') && gt > 0 {
                // `<Name/>` has no `(.*?)</Name>` unless one follows later; keep looking.
                from = at;
                continue;
            }
            let content = at + gt + 1;
            let end = find(raw.get(content..)?, &close)?;
            return raw.get(content..content + end);
        }
        from = at;
    }
    None
}

/// `rendering_info_xml_data`: `<(\w*)>([^<]*)<\/\1>` pairs in a block, in order, empty values
/// dropped.
pub(crate) fn simple_elements(block: &str) -> Vec<(&str, &str)> {
    let b = block.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(lt) = block.get(i..).and_then(|s| s.find('<')) {
        let start = i + lt + 1;
        let mut j = start;
        while j < b.len() && is_word(b[j]) {
            j += 1;
        }
        if b.get(j) != Some(&b'>') {
            i = start;
            continue;
        }
        let name = &block[start..j];
        let text_start = j + 1;
        let text_len = block[text_start..]
            .find('<')
            .unwrap_or(block.len() - text_start);
        let text = &block[text_start..text_start + text_len];
        let close = format!("</{name}>");
        if block[text_start + text_len..].starts_with(&close) {
            if !text.is_empty() {
                out.push((name, text));
            }
            i = text_start + text_len + close.len();
        } else {
            i = text_start;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keys_as_the_spec_says() {
        assert_eq!(clean_key("Param 1"), "Param_1");
        assert_eq!(clean_key("1_x-y"), "x_y");
        assert_eq!(clean_key("__a"), "a");
        assert!(is_clean("ProcessId"));
        assert!(!is_clean("Process Id"));
        assert!(!is_clean("_x"));
    }

    #[test]
    fn blocks_are_cut_like_the_regular_expressions() {
        let raw = "<Event><System><EventID>1</EventID></System><EventData Name='x'><Data Name='A'>v</Data></EventData></Event>";
        assert_eq!(block(raw, "System"), Some("<EventID>1</EventID>"));
        assert_eq!(block(raw, "EventData"), Some("<Data Name='A'>v</Data>"));
        assert_eq!(block(raw, "UserData"), None);
        assert_eq!(block("<Systemx>a</Systemx>", "System"), None);
        assert_eq!(
            block("<UserData/><UserData>x</UserData>", "UserData"),
            Some("x")
        );
    }

    #[test]
    fn simple_elements_skip_attributes_children_and_empties() {
        let b = "<Message>hi</Message><Level>Information</Level><Keywords><Keyword>Audit Success</Keyword></Keywords><Task></Task><X a='1'>no</X>";
        assert_eq!(
            simple_elements(b),
            [
                ("Message", "hi"),
                ("Level", "Information"),
                ("Keyword", "Audit Success")
            ]
        );
    }
}
