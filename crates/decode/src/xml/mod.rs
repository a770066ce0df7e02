//! The XmlWinEventLog decoder: a hand-written, zero-copy scanner for one `<Event>` element.
//!
//! It tokenises start tags (with their attributes), end tags, empty-element tags, text, comments,
//! processing instructions and CDATA with `memchr`, keeps a fixed-size stack of open elements, and
//! rejects malformed markup. Values are slices of the record, entities and all: an element's value
//! is the raw text between its start and end tags, which is what Splunk's add-ons extract with
//! their regular expressions (`ADDON_FIELDS.md` §1.3). Every child of `System` is kept with all
//! its attributes; `UserData` is kept as its inner markup, and the `<Event>` element as the
//! event's `raw` text.

use std::borrow::Cow;

use memchr::{memchr, memmem};

use crate::render::to_windows_rendering;
use crate::repair::escape_invalid_utf8;
use crate::{DecodeError, DecodeErrorKind, SystemElement, WinEvent};

mod roles;

use roles::{Role, role_of};

/// How deeply elements may nest. Windows events use 4 or 5 levels; the bound keeps the stack a
/// fixed array and bad input from costing more than it should.
const MAX_DEPTH: usize = 40;

/// Decodes one `<Event>` element; see [`crate::decode_xml`].
///
/// A record that is not valid UTF-8 is decoded from a copy whose invalid bytes are escaped
/// (`crate::repair`): its values are owned, it has no `raw`, and `repairs` counts the bytes.
pub(crate) fn decode(record: &[u8]) -> Result<WinEvent<'_>, DecodeError> {
    let mut event = decode_text(record)?;
    if event.raw.is_some_and(|raw| raw.starts_with(EVTX_RENDERING)) {
        to_windows_rendering(&mut event);
    }
    Ok(event)
}

/// How the evtx crate (so evtx_dump `-o xml`) opens an event. Windows' rendering, whatever
/// writes it out (Splunk's forwarder, `wevtutil qe /f:xml`, .NET's `ToXml()`), single-quotes
/// the namespace.
const EVTX_RENDERING: &str = "<Event xmlns=\"";

/// Decodes the record's text as it is (repaired when it is not UTF-8).
pub(crate) fn decode_text(record: &[u8]) -> Result<WinEvent<'_>, DecodeError> {
    match std::str::from_utf8(record) {
        Ok(src) => Scanner::new(src).run(),
        Err(_) => {
            let (text, repairs) = escape_invalid_utf8(record);
            let prefix = format!("after escaping {repairs} bytes that are not UTF-8: ");
            let event = Scanner::new(&text)
                .run()
                .map_err(|e| e.within(DecodeErrorKind::Xml, &prefix))?;
            let mut event = event.into_owned();
            event.repairs = repairs;
            Ok(event)
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Frame<'a> {
    name: &'a str,
    /// Where the element's start tag begins (its `<`).
    start: usize,
    /// Where the element's content starts (just after its start tag).
    content: usize,
    role: Role,
    has_child: bool,
    /// For a `Data` element, its `Name` attribute (`""` when it has none).
    data_name: &'a str,
}

const NO_FRAME: Frame<'static> = Frame {
    name: "",
    start: 0,
    content: 0,
    role: Role::Skip,
    has_child: false,
    data_name: "",
};

struct Scanner<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    event: WinEvent<'a>,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The bytes that may appear in an element or attribute name: all but whitespace and the
/// markup characters that end a name. Any other byte (UTF-8 included) is allowed.
const NAME_BYTES: [bool; 256] = {
    let mut table = [true; 256];
    let mut i = 0;
    let ends = b" \t\r\n/><='\"";
    while i < ends.len() {
        table[ends[i] as usize] = false;
        i += 1;
    }
    table
};

impl<'a> Scanner<'a> {
    fn new(src: &'a str) -> Self {
        Scanner {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            event: WinEvent::default(),
        }
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// `src[from..to]`; the positions are always those of ASCII bytes, so this cannot fail on
    /// any input, but it is checked rather than indexed all the same.
    fn slice(&self, from: usize, to: usize) -> Result<&'a str, DecodeError> {
        self.src.get(from..to).ok_or_else(|| {
            DecodeError::at("internal error: value not on a character boundary", from)
        })
    }

    /// A short excerpt of the input at `at`, for messages.
    fn found(&self, at: usize) -> String {
        match self.src.get(at..) {
            None | Some("") => "end of record".to_owned(),
            Some(rest) => {
                let excerpt: String = rest.chars().take(20).collect();
                format!("`{excerpt}`")
            }
        }
    }

    fn run(mut self) -> Result<WinEvent<'a>, DecodeError> {
        if self.src.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        let mut stack = [NO_FRAME; MAX_DEPTH];
        let mut depth = 0usize;
        let mut root_done = false;
        loop {
            let Some(lt) = memchr(b'<', self.bytes.get(self.pos..).unwrap_or_default()) else {
                return self.finish_at_end(depth, &stack, root_done);
            };
            let lt = self.pos + lt;
            if depth == 0 {
                self.expect_only_space(self.pos, lt, root_done)?;
            }
            match self.byte(lt + 1) {
                Some(b'/') => {
                    let (name, end) = self.end_tag(lt)?;
                    let Some(top) = depth.checked_sub(1).and_then(|d| stack.get(d)) else {
                        return Err(DecodeError::at(
                            format!("unexpected `</{name}>`: no element is open"),
                            lt,
                        ));
                    };
                    if top.name != name {
                        return Err(DecodeError::at(
                            format!("expected `</{}>`, found `</{name}>`", top.name),
                            lt,
                        ));
                    }
                    let frame = *top;
                    let value = self.slice(frame.content, lt)?;
                    self.close(&frame, Some(value), end)?;
                    depth -= 1;
                    root_done |= depth == 0;
                    self.pos = end;
                }
                Some(b'?') => self.pos = self.skip_past(lt + 2, b"?>", "processing instruction")?,
                Some(b'!') => self.markup_declaration(lt, depth)?,
                Some(_) => {
                    if root_done {
                        return Err(DecodeError::at(
                            format!("unexpected element after `</Event>`: {}", self.found(lt)),
                            lt,
                        ));
                    }
                    let parent = depth.checked_sub(1).and_then(|d| stack.get_mut(d));
                    let parent_role = parent.map(|p| {
                        p.has_child = true;
                        p.role
                    });
                    let (frame, empty) = self.start_tag(lt, parent_role)?;
                    if empty {
                        self.close(&frame, None, self.pos)?;
                        root_done |= depth == 0;
                    } else {
                        let Some(slot) = stack.get_mut(depth) else {
                            return Err(DecodeError::at(
                                format!("elements nested deeper than {MAX_DEPTH} levels"),
                                lt,
                            ));
                        };
                        *slot = frame;
                        depth += 1;
                        if frame.role == Role::EventData {
                            self.data_run();
                        }
                    }
                }
                None => {
                    return Err(DecodeError::at(
                        "expected markup after `<`, found end of record",
                        lt,
                    ));
                }
            }
        }
    }

    /// End of input: fine after the root element, an error anywhere else.
    fn finish_at_end(
        mut self,
        depth: usize,
        stack: &[Frame<'a>],
        root_done: bool,
    ) -> Result<WinEvent<'a>, DecodeError> {
        let end = self.bytes.len();
        if let Some(open) = depth.checked_sub(1).and_then(|d| stack.get(d)) {
            return Err(DecodeError::at(
                format!("expected `</{}>`, found end of record", open.name),
                end,
            ));
        }
        self.expect_only_space(self.pos, end, root_done)?;
        if !root_done {
            return Err(DecodeError::at(
                "expected `<Event`, found end of record",
                end,
            ));
        }
        Ok(std::mem::take(&mut self.event))
    }

    /// Outside the root element only whitespace may appear between markup.
    fn expect_only_space(
        &self,
        from: usize,
        to: usize,
        root_done: bool,
    ) -> Result<(), DecodeError> {
        let text = self.bytes.get(from..to).unwrap_or_default();
        match text.iter().position(|b| !is_space(*b)) {
            None => Ok(()),
            Some(i) if root_done => Err(DecodeError::at(
                format!("unexpected text after `</Event>`: {}", self.found(from + i)),
                from + i,
            )),
            Some(i) => Err(DecodeError::at(
                format!("expected `<Event`, found {}", self.found(from + i)),
                from + i,
            )),
        }
    }

    /// Position just past the next `terminator` at or after `from`.
    fn skip_past(&self, from: usize, terminator: &[u8], what: &str) -> Result<usize, DecodeError> {
        let rest = self.bytes.get(from..).unwrap_or_default();
        match memmem::find(rest, terminator) {
            Some(i) => Ok(from + i + terminator.len()),
            None => Err(DecodeError::at(
                format!(
                    "unterminated {what}: expected `{}`, found end of record",
                    String::from_utf8_lossy(terminator)
                ),
                from.saturating_sub(2),
            )),
        }
    }

    /// `<!--…-->` anywhere; `<![CDATA[…]]>` inside the root. Anything else (`<!DOCTYPE`) is
    /// not part of an event.
    fn markup_declaration(&mut self, lt: usize, depth: usize) -> Result<(), DecodeError> {
        let rest = self.bytes.get(lt..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            self.pos = self.skip_past(lt + 4, b"-->", "comment")?;
        } else if depth > 0 && rest.starts_with(b"<![CDATA[") {
            self.pos = self.skip_past(lt + 9, b"]]>", "CDATA section")?;
        } else {
            return Err(DecodeError::at(
                format!(
                    "expected an element, comment or CDATA section, found {}",
                    self.found(lt)
                ),
                lt,
            ));
        }
        Ok(())
    }

    /// Reads a name starting at `from`; returns it and where it ends. `context` says what was
    /// expected, for the error when there is no name.
    fn name(
        &self,
        from: usize,
        context: impl FnOnce() -> String,
    ) -> Result<(&'a str, usize), DecodeError> {
        let rest = self.bytes.get(from..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|b| !NAME_BYTES[usize::from(*b)])
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(DecodeError::at(
                format!("expected {}, found {}", context(), self.found(from)),
                from,
            ));
        }
        Ok((self.slice(from, from + len)?, from + len))
    }

    /// `</name>` at `lt`: the name and the position after `>`.
    fn end_tag(&self, lt: usize) -> Result<(&'a str, usize), DecodeError> {
        let (name, mut at) = self.name(lt + 2, || "an element name after `</`".to_owned())?;
        while self.byte(at).is_some_and(is_space) {
            at += 1;
        }
        if self.byte(at) != Some(b'>') {
            return Err(DecodeError::at(
                format!("expected `>` to close `</{name}`, found {}", self.found(at)),
                at,
            ));
        }
        Ok((name, at + 1))
    }

    /// A start or empty-element tag at `lt`, whose parent has `parent` as role (`None` for the
    /// root). Reads the attributes the role needs and returns the new frame and whether the tag
    /// was empty (`/>`).
    fn start_tag(
        &mut self,
        lt: usize,
        parent: Option<Role>,
    ) -> Result<(Frame<'a>, bool), DecodeError> {
        let (name, mut at) = self.name(lt + 1, || "an element name after `<`".to_owned())?;
        let role = role_of(parent, name);
        let mut frame = Frame {
            name,
            start: lt,
            content: 0,
            role,
            has_child: false,
            data_name: "",
        };
        if role == Role::Skip && parent.is_none() {
            return Err(DecodeError::at(
                format!("expected root element `Event`, found `<{name}>`"),
                lt,
            ));
        }
        match role {
            // Room for Windows' 14 or so `System` children, taken once.
            Role::System => self.event.system.reserve(16),
            Role::SystemChild => self.event.system.push(SystemElement {
                name: Cow::Borrowed(name),
                attrs: Vec::new(),
                text: None,
            }),
            _ => {}
        }
        loop {
            let before = at;
            while self.byte(at).is_some_and(is_space) {
                at += 1;
            }
            match self.byte(at) {
                Some(b'>') => {
                    self.pos = at + 1;
                    frame.content = self.pos;
                    return Ok((frame, false));
                }
                Some(b'/') => {
                    if self.byte(at + 1) != Some(b'>') {
                        return Err(DecodeError::at(
                            format!("expected `/>` in `<{name}>` tag, found {}", self.found(at)),
                            at,
                        ));
                    }
                    self.pos = at + 2;
                    frame.content = self.pos;
                    return Ok((frame, true));
                }
                None => {
                    return Err(DecodeError::at(
                        format!("unterminated `<{name}` tag: expected `>`, found end of record"),
                        lt,
                    ));
                }
                Some(_) if at == before => {
                    return Err(DecodeError::at(
                        format!(
                            "expected whitespace, `>` or `/>` in `<{name}>` tag, found {}",
                            self.found(at)
                        ),
                        at,
                    ));
                }
                Some(_) => {
                    let (attr, value, next) = self.attribute(at, name)?;
                    self.attribute_value(&mut frame, attr, value);
                    at = next;
                }
            }
        }
    }

    /// `name = 'value'` (or double quotes) at `at`: the name, the raw value and where it ends.
    fn attribute(&self, at: usize, tag: &str) -> Result<(&'a str, &'a str, usize), DecodeError> {
        let context = || format!("an attribute name, `>` or `/>` in `<{tag}>` tag");
        let (attr, mut at) = self.name(at, context)?;
        while self.byte(at).is_some_and(is_space) {
            at += 1;
        }
        if self.byte(at) != Some(b'=') {
            return Err(DecodeError::at(
                format!(
                    "expected `=` after attribute `{attr}`, found {}",
                    self.found(at)
                ),
                at,
            ));
        }
        at += 1;
        while self.byte(at).is_some_and(is_space) {
            at += 1;
        }
        let quote = match self.byte(at) {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(DecodeError::at(
                    format!(
                        "expected a quoted value for attribute `{attr}`, found {}",
                        self.found(at)
                    ),
                    at,
                ));
            }
        };
        let start = at + 1;
        let rest = self.bytes.get(start..).unwrap_or_default();
        let Some(len) = memchr(quote, rest) else {
            return Err(DecodeError::at(
                format!(
                    "unterminated value of attribute `{attr}`: expected `{}`",
                    quote as char
                ),
                at,
            ));
        };
        let raw = rest.get(..len).unwrap_or_default();
        if let Some(i) = memchr(b'<', raw) {
            return Err(DecodeError::at(
                format!("`<` inside the value of attribute `{attr}` (unterminated value?)"),
                start + i,
            ));
        }
        Ok((attr, self.slice(start, start + len)?, start + len + 1))
    }

    /// The fast path through `EventData`: consumes consecutive `<Data Name='X'>value</Data>`
    /// elements of exactly that shape (whitespace between them allowed), which is nearly all of
    /// a Windows event, without the general tokenizer's bookkeeping. It stops at the first byte
    /// that is not of that shape and leaves it to the general loop, so what it accepts and what
    /// it rejects are the same as without it.
    fn data_run(&mut self) {
        // Room for a typical event's pairs, taken only once the event turns out to have them.
        self.event.data.reserve(32);
        let bytes = self.bytes;
        loop {
            let mut at = self.pos;
            while bytes.get(at).copied().is_some_and(is_space) {
                at += 1;
            }
            let Some(rest) = bytes.get(at..) else { return };
            let quote = match rest.get(..12) {
                Some(
                    [
                        b'<',
                        b'D',
                        b'a',
                        b't',
                        b'a',
                        b' ',
                        b'N',
                        b'a',
                        b'm',
                        b'e',
                        b'=',
                        q,
                    ],
                ) => *q,
                _ => return,
            };
            if quote != b'\'' && quote != b'"' {
                return;
            }
            let name_start = at + 12;
            let Some(name_len) = bytes.get(name_start..).and_then(|r| memchr(quote, r)) else {
                return;
            };
            let name_end = name_start + name_len;
            let value_start = name_end + 2;
            let Some(name) = bytes.get(name_start..name_end) else {
                return;
            };
            if memchr(b'<', name).is_some() || bytes.get(name_end + 1) != Some(&b'>') {
                return;
            }
            let Some(value_len) = bytes.get(value_start..).and_then(|r| memchr(b'<', r)) else {
                return;
            };
            let value_end = value_start + value_len;
            if !bytes
                .get(value_end..)
                .is_some_and(|r| r.starts_with(b"</Data>"))
            {
                return;
            }
            let (Ok(name), Ok(value)) = (
                self.slice(name_start, name_end),
                self.slice(value_start, value_end),
            ) else {
                return;
            };
            self.event
                .data
                .push((Cow::Borrowed(name), Cow::Borrowed(value)));
            self.pos = value_end + b"</Data>".len();
        }
    }

    /// Keeps the attributes the decoder wants: all of a `System` child's, a `Data` element's
    /// `Name`.
    fn attribute_value(&mut self, frame: &mut Frame<'a>, attr: &'a str, value: &'a str) {
        match (frame.role, attr) {
            (Role::SystemChild, _) => {
                if let Some(element) = self.event.system.last_mut() {
                    if element.attrs.is_empty() {
                        // Most have one or two (`Provider` three): no room for four.
                        element.attrs.reserve_exact(2);
                    }
                    element
                        .attrs
                        .push((Cow::Borrowed(attr), Cow::Borrowed(value)));
                }
            }
            (Role::Data, "Name") if frame.data_name.is_empty() => frame.data_name = value,
            (Role::EventData, _) => self
                .event
                .event_data_attrs
                .push((Cow::Borrowed(attr), Cow::Borrowed(value))),
            _ => {}
        }
    }

    /// An element ends: `value` is its raw content (`None` for an empty-element tag), `end`
    /// the position just after its end tag.
    fn close(
        &mut self,
        frame: &Frame<'a>,
        value: Option<&'a str>,
        end: usize,
    ) -> Result<(), DecodeError> {
        let raw = match frame.role {
            Role::Event => Some(self.slice(frame.start, end)?),
            _ => None,
        };
        let event = &mut self.event;
        match frame.role {
            Role::Event => event.raw = raw,
            Role::SystemChild => {
                if let Some(element) = event.system.last_mut()
                    && !frame.has_child
                {
                    element.text = value.map(Cow::Borrowed);
                }
            }
            Role::Data => event.data.push((
                Cow::Borrowed(frame.data_name),
                Cow::Borrowed(value.unwrap_or("")),
            )),
            Role::Binary => set_once(&mut event.binary, value.unwrap_or("")),
            Role::UserData => set_once(&mut event.user_data_xml, value.unwrap_or("")),
            Role::System | Role::EventData | Role::Skip => {}
        }
        Ok(())
    }
}

fn set_once<'a>(slot: &mut Option<Cow<'a, str>>, value: &'a str) {
    if slot.is_none() {
        *slot = Some(Cow::Borrowed(value));
    }
}
