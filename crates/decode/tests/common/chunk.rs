//! Builds small, valid EVTX chunks for tests: records whose BinXML is a plain element tree (no
//! templates), with typed values, so that the EVTX path can be tested without `../shared`.

use cimhunt_decode::EVTX_CHUNK_SIZE;

/// A typed BinXML value.
#[derive(Debug, Clone)]
pub enum Value {
    Str(&'static str),
    U16(u16),
    U32(u32),
    U64(u64),
    Guid([u8; 16]),
    HexInt32(u32),
    HexInt64(u64),
    /// Revision 1, the authority, then the sub-authorities.
    Sid(u64, Vec<u32>),
    FileTime(u64),
}

/// An element: name, attributes, children.
#[derive(Debug, Clone)]
pub enum Node {
    Element(&'static str, Vec<(&'static str, Value)>, Vec<Node>),
    Text(Value),
}

/// `Node::Element` with no attributes.
pub fn el(name: &'static str, children: Vec<Node>) -> Node {
    Node::Element(name, Vec::new(), children)
}

/// An element holding one value.
pub fn leaf(name: &'static str, value: Value) -> Node {
    Node::Element(name, Vec::new(), vec![Node::Text(value)])
}

/// `<Data Name='name'>value</Data>`, or `<Data Name='name'/>` for `None`.
pub fn data(name: &'static str, value: Option<Value>) -> Node {
    let children = value.map(Node::Text).into_iter().collect();
    Node::Element("Data", vec![("Name", Value::Str(name))], children)
}

/// A chunk under construction.
pub struct ChunkBuilder {
    bytes: Vec<u8>,
    names: Vec<(&'static str, u32)>,
    first_id: Option<u64>,
    last_id: u64,
    last_record: u32,
}

const HEADER_SIZE: usize = 512;

impl Default for ChunkBuilder {
    fn default() -> Self {
        ChunkBuilder {
            bytes: vec![0; HEADER_SIZE],
            names: Vec::new(),
            first_id: None,
            last_id: 0,
            last_record: HEADER_SIZE as u32,
        }
    }
}

impl ChunkBuilder {
    /// Appends a record holding `root` as its event.
    pub fn record(&mut self, id: u64, filetime: u64, root: &Node) -> &mut Self {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b"\x2a\x2a\x00\x00");
        self.bytes.extend_from_slice(&[0; 4]); // size, set below
        self.bytes.extend_from_slice(&id.to_le_bytes());
        self.bytes.extend_from_slice(&filetime.to_le_bytes());
        self.bytes.extend_from_slice(&[0x0f, 1, 1, 0]); // fragment header
        self.node(root);
        self.bytes.push(0x00); // end of stream
        let size = (self.bytes.len() - start + 4) as u32;
        self.bytes.extend_from_slice(&size.to_le_bytes());
        self.bytes[start + 4..start + 8].copy_from_slice(&size.to_le_bytes());
        self.first_id.get_or_insert(id);
        self.last_id = id;
        self.last_record = start as u32;
        self
    }

    /// The 64 KiB chunk.
    pub fn finish(&self) -> Vec<u8> {
        let mut chunk = self.bytes.clone();
        let free_space = chunk.len() as u32;
        chunk.resize(EVTX_CHUNK_SIZE, 0);
        chunk[..8].copy_from_slice(b"ElfChnk\0");
        let first = self.first_id.unwrap_or(1);
        for (at, v) in [
            (8, first),
            (16, self.last_id),
            (24, first),
            (32, self.last_id),
        ] {
            chunk[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        chunk[40..44].copy_from_slice(&128u32.to_le_bytes());
        chunk[44..48].copy_from_slice(&self.last_record.to_le_bytes());
        chunk[48..52].copy_from_slice(&free_space.to_le_bytes());
        chunk
    }

    fn name(&mut self, name: &'static str) {
        if let Some(&(_, offset)) = self.names.iter().find(|(n, _)| *n == name) {
            self.bytes.extend_from_slice(&offset.to_le_bytes());
            return;
        }
        let offset = (self.bytes.len() + 4) as u32;
        self.names.push((name, offset));
        self.bytes.extend_from_slice(&offset.to_le_bytes());
        self.bytes.extend_from_slice(&[0; 6]); // next string, hash
        let units: Vec<u16> = name.encode_utf16().collect();
        self.bytes
            .extend_from_slice(&(units.len() as u16).to_le_bytes());
        units
            .iter()
            .for_each(|u| self.bytes.extend_from_slice(&u.to_le_bytes()));
        self.bytes.extend_from_slice(&[0, 0]);
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Text(value) => self.value(value),
            Node::Element(name, attrs, children) => {
                self.bytes.push(if attrs.is_empty() { 0x01 } else { 0x41 });
                self.bytes.extend_from_slice(&[0; 4]); // data size (not read)
                self.name(name);
                if !attrs.is_empty() {
                    self.bytes.extend_from_slice(&[0; 4]); // attribute list size (not read)
                    for (i, (attr, value)) in attrs.iter().enumerate() {
                        self.bytes
                            .push(if i + 1 < attrs.len() { 0x46 } else { 0x06 });
                        self.name(attr);
                        self.value(value);
                    }
                }
                if children.is_empty() {
                    self.bytes.push(0x03);
                } else {
                    self.bytes.push(0x02);
                    children.iter().for_each(|c| self.node(c));
                    self.bytes.push(0x04);
                }
            }
        }
    }

    fn value(&mut self, value: &Value) {
        self.bytes.push(0x05);
        let b = &mut self.bytes;
        match value {
            Value::Str(s) => {
                b.push(0x01);
                let units: Vec<u16> = s.encode_utf16().collect();
                b.extend_from_slice(&(units.len() as u16).to_le_bytes());
                units
                    .iter()
                    .for_each(|u| b.extend_from_slice(&u.to_le_bytes()));
            }
            Value::U16(v) => {
                b.push(0x06);
                b.extend_from_slice(&v.to_le_bytes());
            }
            Value::U32(v) => {
                b.push(0x08);
                b.extend_from_slice(&v.to_le_bytes());
            }
            Value::U64(v) => {
                b.push(0x0a);
                b.extend_from_slice(&v.to_le_bytes());
            }
            Value::Guid(g) => {
                b.push(0x0f);
                b.extend_from_slice(g);
            }
            Value::FileTime(v) => {
                b.push(0x11);
                b.extend_from_slice(&v.to_le_bytes());
            }
            Value::Sid(authority, subs) => {
                b.push(0x13);
                b.extend_from_slice(&[1, subs.len() as u8]);
                b.extend_from_slice(&authority.to_be_bytes()[2..]);
                subs.iter()
                    .for_each(|s| b.extend_from_slice(&s.to_le_bytes()));
            }
            Value::HexInt32(v) => {
                b.push(0x14);
                b.extend_from_slice(&v.to_le_bytes());
            }
            Value::HexInt64(v) => {
                b.push(0x15);
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

/// A Sysmon-like process-creation event with typed values: GUIDs, HexInt, SID, FILETIME, and
/// text with markup characters, quotes, CR LF and a trailing space.
pub fn sysmon_like_event(record_id: u64) -> Node {
    // {4A1B2C3D-5E6F-7081-92A3-B4C5D6E7F809}: data1-3 little-endian, as GUIDs are stored.
    let guid = [
        0x3D, 0x2C, 0x1B, 0x4A, 0x6F, 0x5E, 0x81, 0x70, 0x92, 0xA3, 0xB4, 0xC5, 0xD6, 0xE7, 0xF8,
        0x09,
    ];
    let system = el(
        "System",
        vec![
            Node::Element(
                "Provider",
                vec![("Name", Value::Str("Microsoft-Windows-Sysmon"))],
                vec![],
            ),
            leaf("EventID", Value::U16(1)),
            leaf("Keywords", Value::HexInt64(0x8000_0000_0000_0000)),
            Node::Element(
                "TimeCreated",
                vec![("SystemTime", Value::FileTime(133_540_000_000_000_000))],
                vec![],
            ),
            leaf("EventRecordID", Value::U64(record_id)),
            leaf(
                "Channel",
                Value::Str("Microsoft-Windows-Sysmon/Operational"),
            ),
            leaf("Computer", Value::Str("ws-07.corp.example")),
            Node::Element(
                "Security",
                vec![("UserID", Value::Sid(5, vec![18]))],
                vec![],
            ),
        ],
    );
    let event_data = el(
        "EventData",
        vec![
            data("ProcessGuid", Some(Value::Guid(guid))),
            data("ProcessId", Some(Value::U32(6120))),
            data(
                "CommandLine",
                Some(Value::Str("cmd /c \"a && b\" > o.txt 2>&1 <'x'\r\n ")),
            ),
            data(
                "Product",
                Some(Value::Str("Microsoft® Windows® Ютилита 记事本")),
            ),
            data("NewProcessId", Some(Value::HexInt64(0xf84))),
            data("LogonId", Some(Value::HexInt32(0x3e7))),
            data("Empty", None),
        ],
    );
    el("Event", vec![system, event_data])
}
