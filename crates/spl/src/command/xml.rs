//! A small walk over an XML text for `xmlkv` and `spath`: the text of every element that has no
//! child element, and every attribute, with the path of element names that leads to it.
//! Bounded: at most [`MAX_DEPTH`] levels and [`MAX_ITEMS`] items; malformed XML ends the walk
//! with what was found before it.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// Deepest element nesting walked.
pub(crate) const MAX_DEPTH: usize = 64;
/// Most items reported for one text.
pub(crate) const MAX_ITEMS: usize = 10_000;

/// An element's text or an attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// The element names from the outermost one to the element.
    pub(crate) path: Vec<String>,
    /// For an attribute: its name.
    pub(crate) attribute: Option<String>,
    /// The text (unescaped, surrounding white space removed) or attribute value.
    pub(crate) value: String,
}

struct Open {
    name: String,
    text: String,
    has_child: bool,
}

/// The leaf texts and attributes of `xml`, in document order (a leaf's text when its element
/// ends).
pub(crate) fn walk(xml: &str) -> Vec<Item> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut out = Vec::new();
    let path = |stack: &[Open]| stack.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
    loop {
        if out.len() >= MAX_ITEMS {
            break;
        }
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) => break,
        };
        match event {
            Event::Start(e) | Event::Empty(e) if stack.len() >= MAX_DEPTH => {
                let _ = e;
                break;
            }
            Event::Start(e) => {
                if let Some(top) = stack.last_mut() {
                    top.has_child = true;
                }
                let name = e.name().as_ref().to_owned();
                stack.push(Open {
                    name,
                    text: String::new(),
                    has_child: false,
                });
                let p = path(&stack);
                attributes(&e, &p, &mut out);
            }
            Event::Empty(e) => {
                if let Some(top) = stack.last_mut() {
                    top.has_child = true;
                }
                let mut p = path(&stack);
                p.push(e.name().as_ref().to_owned());
                attributes(&e, &p, &mut out);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(t.as_ref());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(c.as_ref());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => top.text.push(c),
                        _ => {
                            let entity = format!("&{};", r.as_ref());
                            match quick_xml::escape::unescape(&entity) {
                                Ok(u) => top.text.push_str(&u),
                                Err(_) => top.text.push_str(&entity),
                            }
                        }
                    }
                }
            }
            Event::End(_) => {
                let p = path(&stack);
                let Some(open) = stack.pop() else { break };
                if !open.has_child {
                    out.push(Item {
                        path: p,
                        attribute: None,
                        value: open.text.trim().to_owned(),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// An element's attributes as items at `path` (a value that does not unescape is kept as
/// written).
fn attributes(e: &BytesStart<'_>, path: &[String], out: &mut Vec<Item>) {
    for a in e.attributes().flatten() {
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_else(|_| a.value.clone().into_owned());
        out.push(Item {
            path: path.to_vec(),
            attribute: Some(a.key.as_ref().to_owned()),
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_and_attributes_with_their_paths() {
        let items = walk(
            "<RuleAndFileData xmlns='x'><PolicyName>EXE</PolicyName><Empty Id='7'/>\
             <FilePath>C:\\a &amp; b</FilePath></RuleAndFileData>",
        );
        let leaf = |name: &str| {
            items
                .iter()
                .find(|i| i.attribute.is_none() && i.path.last().is_some_and(|n| n == name))
                .map(|i| i.value.clone())
        };
        assert_eq!(leaf("PolicyName").as_deref(), Some("EXE"));
        assert_eq!(leaf("FilePath").as_deref(), Some("C:\\a & b"));
        assert!(
            items
                .iter()
                .any(|i| i.attribute.as_deref() == Some("xmlns") && i.path == ["RuleAndFileData"])
        );
        // An empty element's attribute sits at the element's own path.
        let id = items.iter().find(|i| i.attribute.as_deref() == Some("Id"));
        assert_eq!(
            id.map(|i| (i.path.join("/"), i.value.as_str())),
            Some(("RuleAndFileData/Empty".to_owned(), "7"))
        );
    }

    #[test]
    fn malformed_xml_keeps_what_came_before() {
        let items = walk("<a><b>1</b><c>2</d>");
        assert_eq!(items[0].value, "1");
        assert!(walk("not xml").is_empty());
    }
}
