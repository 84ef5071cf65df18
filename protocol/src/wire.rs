//! The automerge-repo v1 wire messages and their CBOR encoding.
//!
//! One message is one CBOR map per binary WebSocket frame. Keys are text. The decoder is
//! deliberately tolerant in the ways the JavaScript implementation requires (unknown keys are
//! skipped, integers may arrive as floats, `undefined` or `null` stand for an absent optional
//! field, byte strings may carry the typed-array tag 64) and strict in every way that matters for
//! safety: it never panics, it rejects a message whose required fields are missing or of the wrong
//! type, and it reports which field was wrong.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::doc_id::DocumentId;
use crate::refusal::{MAX_ISSUES, Reason, Refusal, RefusedIssue};

/// The only protocol version this implementation speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// A peer id as sent on the wire (`senderId` / `targetId`). Opaque text chosen by each peer.
pub type PeerId = String;

/// Metadata a peer advertises in its handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// A stable identifier of the peer's storage. Peers that have one persist their sync state
    /// for each other, which is what makes reconnecting cheap.
    pub storage_id: Option<String>,
    /// An ephemeral peer keeps nothing between sessions.
    pub is_ephemeral: bool,
}

/// One automerge-repo v1 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Client → server handshake.
    Join {
        /// The joining peer.
        sender_id: PeerId,
        /// Protocol versions the peer can speak; absent on the wire means `["1"]`.
        supported_protocol_versions: Vec<String>,
        /// What the peer says about its storage.
        metadata: Option<PeerMetadata>,
    },
    /// Server → client handshake answer.
    Peer {
        /// The answering server.
        sender_id: PeerId,
        /// The client the answer is for.
        target_id: PeerId,
        /// Always `"1"` here.
        selected_protocol_version: String,
        /// What the server says about its storage.
        metadata: Option<PeerMetadata>,
    },
    /// A problem; after most, the sender closes the connection.
    Error {
        /// Human-readable reason.
        message: String,
        /// The same as data, when the sender gives it (`reason`, `documentId`, `issues`,
        /// `problems`: keys other automerge-repo clients ignore).
        refusal: Option<Box<Refusal>>,
    },
    /// "I do not have this document": a sync message from a peer with no copy.
    Request(DocMessage),
    /// An Automerge sync message for one document.
    Sync(DocMessage),
    /// The sender does not have the document and cannot get it.
    DocUnavailable {
        /// Who says so.
        sender_id: PeerId,
        /// Whom it is said to.
        target_id: PeerId,
        /// Which document.
        document_id: DocumentId,
    },
    /// Application-level data that is not stored (presence, cursors).
    Ephemeral {
        /// Who sent it.
        sender_id: PeerId,
        /// Whom it is for.
        target_id: PeerId,
        /// Sequence number within the session.
        count: u64,
        /// The sending session.
        session_id: String,
        /// Which document it is about.
        document_id: DocumentId,
        /// Opaque payload.
        data: Vec<u8>,
    },
    /// The peer is going away.
    Leave {
        /// Who leaves.
        sender_id: PeerId,
    },
    /// A known message type this implementation does not act on
    /// (`remote-subscription-change`, `remote-heads-changed`).
    Ignored {
        /// The `type` field as received.
        kind: String,
        /// The sender, when the message named one.
        sender_id: Option<PeerId>,
    },
}

/// The fields shared by `request` and `sync`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocMessage {
    /// Who sent it.
    pub sender_id: PeerId,
    /// Whom it is for.
    pub target_id: PeerId,
    /// Which document.
    pub document_id: DocumentId,
    /// An encoded Automerge sync message.
    pub data: Vec<u8>,
}

/// Why a frame could not be understood. Messages name the field so that a log line is enough to
/// find the faulty peer's bug.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes are not well-formed CBOR of the expected shape.
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// The top-level item is not a map.
    #[error("a message must be a CBOR map")]
    NotAMap,
    /// A required field is absent.
    #[error("message of type \"{}\" lacks the field \"{field}\"", kind.escape_debug())]
    Missing {
        /// Message type.
        kind: String,
        /// Missing field.
        field: &'static str,
    },
    /// A field has the wrong type or an impossible value.
    #[error("field \"{}\" is invalid: {reason}", field.escape_debug())]
    Invalid {
        /// Offending field.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// The `type` field names no message this protocol knows.
    #[error("unknown message type \"{}\"", .0.escape_debug())]
    UnknownType(String),
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> Self {
        DecodeError::Malformed(e.to_string())
    }
}

/// A decoded CBOR value restricted to what the protocol's fields can hold.
#[derive(Debug, Clone)]
enum Field {
    Absent,
    Text(String),
    Bytes(Vec<u8>),
    Uint(u64),
    Bool(bool),
    TextList(Vec<String>),
    Metadata(PeerMetadata),
    Issues(Vec<RefusedIssue>),
    Other,
}

impl Message {
    /// Decodes one frame.
    pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
        let mut d = Decoder::new(frame);
        let fields = read_top_map(&mut d)?;
        if d.position() != frame.len() {
            return Err(DecodeError::Malformed("trailing bytes after the message".into()));
        }
        Fields(fields).into_message()
    }

    /// Encodes the message as one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing into a Vec cannot fail; the results are checked by the infallible writer.
        let r = encode_into(self, &mut e);
        debug_assert!(r.is_ok());
        e.into_writer()
    }

    /// The message's `type` field.
    pub fn kind(&self) -> &str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Error { .. } => "error",
            Message::Request(_) => "request",
            Message::Sync(_) => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral { .. } => "ephemeral",
            Message::Leave { .. } => "leave",
            Message::Ignored { kind, .. } => kind,
        }
    }

    /// The `senderId`, for every message type that carries one.
    pub fn sender_id(&self) -> Option<&str> {
        match self {
            Message::Join { sender_id, .. }
            | Message::Peer { sender_id, .. }
            | Message::DocUnavailable { sender_id, .. }
            | Message::Ephemeral { sender_id, .. }
            | Message::Leave { sender_id } => Some(sender_id),
            Message::Request(m) | Message::Sync(m) => Some(&m.sender_id),
            Message::Ignored { sender_id, .. } => sender_id.as_deref(),
            Message::Error { .. } => None,
        }
    }

    /// The `targetId`, for every message type that carries one.
    pub fn target_id(&self) -> Option<&str> {
        match self {
            Message::Peer { target_id, .. }
            | Message::DocUnavailable { target_id, .. }
            | Message::Ephemeral { target_id, .. } => Some(target_id),
            Message::Request(m) | Message::Sync(m) => Some(&m.target_id),
            _ => None,
        }
    }
}

type Enc = Encoder<Vec<u8>>;
type EncResult = Result<(), minicbor::encode::Error<core::convert::Infallible>>;

/// `isEphemeral` is written only when true: both ends read a missing flag as false, and every
/// handshake is a few bytes shorter for it.
fn encode_metadata(e: &mut Enc, m: &PeerMetadata) -> EncResult {
    let n = u64::from(m.storage_id.is_some()) + u64::from(m.is_ephemeral);
    e.map(n)?;
    if let Some(s) = &m.storage_id {
        e.str("storageId")?.str(s)?;
    }
    if m.is_ephemeral {
        e.str("isEphemeral")?.bool(true)?;
    }
    Ok(())
}

fn encode_doc_message(e: &mut Enc, kind: &str, m: &DocMessage) -> EncResult {
    e.map(5)?;
    e.str("type")?.str(kind)?;
    e.str("senderId")?.str(&m.sender_id)?;
    e.str("targetId")?.str(&m.target_id)?;
    e.str("documentId")?.str(&m.document_id.to_string())?;
    e.str("data")?.bytes(&m.data)?;
    Ok(())
}

fn encode_into(msg: &Message, e: &mut Enc) -> EncResult {
    match msg {
        Message::Join { sender_id, supported_protocol_versions, metadata } => {
            e.map(3 + u64::from(metadata.is_some()))?;
            e.str("type")?.str("join")?;
            e.str("senderId")?.str(sender_id)?;
            e.str("supportedProtocolVersions")?.array(supported_protocol_versions.len() as u64)?;
            for v in supported_protocol_versions {
                e.str(v)?;
            }
            if let Some(m) = metadata {
                e.str("peerMetadata")?;
                encode_metadata(e, m)?;
            }
        }
        Message::Peer { sender_id, target_id, selected_protocol_version, metadata } => {
            e.map(4 + u64::from(metadata.is_some()))?;
            e.str("type")?.str("peer")?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("selectedProtocolVersion")?.str(selected_protocol_version)?;
            if let Some(m) = metadata {
                e.str("peerMetadata")?;
                encode_metadata(e, m)?;
            }
        }
        Message::Error { message, refusal } => {
            let Some(r) = refusal else {
                e.map(2)?;
                e.str("type")?.str("error")?;
                e.str("message")?.str(message)?;
                return Ok(());
            };
            // `problems` goes out whenever it is not zero, issues or not: a message read back
            // must be the message written (the wire fuzzer found a count without its issues).
            let problems = r.problems.max(r.issues.len() as u64);
            let extra =
                1 + u64::from(r.document_id.is_some()) + u64::from(!r.issues.is_empty()) + u64::from(problems > 0);
            e.map(2 + extra)?;
            e.str("type")?.str("error")?;
            e.str("message")?.str(message)?;
            e.str("reason")?.str(r.reason.as_str())?;
            if let Some(id) = &r.document_id {
                e.str("documentId")?.str(&id.to_string())?;
            }
            if !r.issues.is_empty() {
                e.str("issues")?.array(r.issues.len() as u64)?;
                for issue in &r.issues {
                    e.map(3)?;
                    e.str("path")?.str(&issue.path)?;
                    e.str("code")?.str(&issue.code)?;
                    e.str("params")?.map(issue.params.len() as u64)?;
                    for (k, v) in &issue.params {
                        e.str(k)?.str(v)?;
                    }
                }
            }
            if problems > 0 {
                e.str("problems")?.u64(problems)?;
            }
        }
        Message::Request(m) => encode_doc_message(e, "request", m)?,
        Message::Sync(m) => encode_doc_message(e, "sync", m)?,
        Message::DocUnavailable { sender_id, target_id, document_id } => {
            e.map(4)?;
            e.str("type")?.str("doc-unavailable")?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("documentId")?.str(&document_id.to_string())?;
        }
        Message::Ephemeral { sender_id, target_id, count, session_id, document_id, data } => {
            e.map(7)?;
            e.str("type")?.str("ephemeral")?;
            e.str("senderId")?.str(sender_id)?;
            e.str("targetId")?.str(target_id)?;
            e.str("count")?.u64(*count)?;
            e.str("sessionId")?.str(session_id)?;
            e.str("documentId")?.str(&document_id.to_string())?;
            e.str("data")?.bytes(data)?;
        }
        Message::Leave { sender_id } => {
            e.map(2)?;
            e.str("type")?.str("leave")?;
            e.str("senderId")?.str(sender_id)?;
        }
        Message::Ignored { kind, sender_id } => {
            e.map(1 + u64::from(sender_id.is_some()))?;
            e.str("type")?.str(kind)?;
            if let Some(s) = sender_id {
                e.str("senderId")?.str(s)?;
            }
        }
    }
    Ok(())
}

/// Reads the outer map, keeping only the keys the protocol defines.
fn read_top_map(d: &mut Decoder<'_>) -> Result<Vec<(String, Field)>, DecodeError> {
    let len = match d.datatype()? {
        Type::Map => d.map()?,
        Type::MapIndef => d.map()?,
        _ => return Err(DecodeError::NotAMap),
    };
    let mut out = Vec::new();
    let mut i = 0u64;
    loop {
        match len {
            Some(n) if i == n => break,
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                break;
            }
            _ => {}
        }
        i += 1;
        if !matches!(d.datatype()?, Type::String | Type::StringIndef) {
            // Non-text keys are not part of the protocol: skip key and value.
            d.skip()?;
            d.skip()?;
            continue;
        }
        let key = read_text(d)?;
        let value = match key.as_str() {
            "type"
            | "senderId"
            | "targetId"
            | "documentId"
            | "message"
            | "sessionId"
            | "selectedProtocolVersion"
            | "reason" => read_field(d, &key)?,
            "data" => read_field(d, &key)?,
            "count" | "problems" => read_field(d, &key)?,
            "issues" => read_issues(d)?,
            "supportedProtocolVersions" => read_text_list(d, &key)?,
            "peerMetadata" => read_metadata(d)?,
            _ => {
                d.skip()?;
                continue;
            }
        };
        out.push((key, value));
    }
    Ok(out)
}

fn read_text(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    match d.datatype()? {
        Type::String => Ok(d.str()?.to_owned()),
        Type::StringIndef => {
            let mut s = String::new();
            for part in d.str_iter()? {
                s.push_str(part?);
            }
            Ok(s)
        }
        t => Err(DecodeError::Malformed(format!("expected text, found {t}"))),
    }
}

fn read_bytes(d: &mut Decoder<'_>) -> Result<Vec<u8>, minicbor::decode::Error> {
    match d.datatype()? {
        Type::BytesIndef => {
            let mut v = Vec::new();
            for part in d.bytes_iter()? {
                v.extend_from_slice(part?);
            }
            Ok(v)
        }
        _ => Ok(d.bytes()?.to_vec()),
    }
}

/// Reads a scalar field value; anything of an unexpected kind becomes `Field::Other` so that the
/// message-level check can name the field.
fn read_field(d: &mut Decoder<'_>, key: &str) -> Result<Field, DecodeError> {
    let f = match d.datatype()? {
        Type::Null | Type::Undefined => {
            d.skip()?;
            Field::Absent
        }
        Type::String | Type::StringIndef => Field::Text(read_text(d)?),
        Type::Bytes | Type::BytesIndef => Field::Bytes(read_bytes(d)?),
        Type::Tag => {
            // cbor-x may tag a Uint8Array (tag 64); accept the tag around a byte string.
            d.tag()?;
            match d.datatype()? {
                Type::Bytes | Type::BytesIndef => Field::Bytes(read_bytes(d)?),
                _ => {
                    d.skip()?;
                    Field::Other
                }
            }
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Field::Uint(d.u64()?),
        Type::F16 | Type::F32 | Type::F64 => {
            let x = match d.datatype()? {
                Type::F16 => f64::from(d.f16()?),
                Type::F32 => f64::from(d.f32()?),
                _ => d.f64()?,
            };
            if x.fract() == 0.0 && x >= 0.0 && x <= u64::MAX as f64 {
                Field::Uint(x as u64)
            } else {
                return Err(DecodeError::Invalid {
                    field: key.to_owned(),
                    reason: format!("{x} is not a whole non-negative number"),
                });
            }
        }
        Type::Bool => Field::Bool(d.bool()?),
        _ => {
            d.skip()?;
            Field::Other
        }
    };
    Ok(f)
}

fn read_text_list(d: &mut Decoder<'_>, key: &str) -> Result<Field, DecodeError> {
    match d.datatype()? {
        Type::Null | Type::Undefined => {
            d.skip()?;
            return Ok(Field::Absent);
        }
        Type::Array | Type::ArrayIndef => {}
        _ => {
            d.skip()?;
            return Err(DecodeError::Invalid { field: key.to_owned(), reason: "expected an array of text".into() });
        }
    }
    let len = d.array()?;
    let mut out = Vec::new();
    let mut i = 0u64;
    loop {
        match len {
            Some(n) if i == n => break,
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                break;
            }
            _ => {}
        }
        i += 1;
        match d.datatype()? {
            Type::String | Type::StringIndef => out.push(read_text(d)?),
            _ => {
                // A non-text version can never be "1"; skip it.
                d.skip()?;
            }
        }
    }
    Ok(Field::TextList(out))
}

/// Iterates over the entries of a map or the items of an array, definite or not, calling `each`
/// for every one (which must consume it: a key and its value, or an item).
fn for_each_entry(
    d: &mut Decoder<'_>,
    len: Option<u64>,
    mut each: impl FnMut(&mut Decoder<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut i = 0u64;
    loop {
        match len {
            Some(n) if i == n => return Ok(()),
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                return Ok(());
            }
            _ => {}
        }
        i += 1;
        each(d)?;
    }
}

/// An `error`'s `issues`: maps of `path`, `code` and `params` (text to text). Anything of another
/// shape is skipped rather than refused, since an `error` is read to be shown; at most
/// [`MAX_ISSUES`] are kept.
fn read_issues(d: &mut Decoder<'_>) -> Result<Field, DecodeError> {
    let len = match d.datatype()? {
        Type::Array | Type::ArrayIndef => d.array()?,
        _ => {
            d.skip()?;
            return Ok(Field::Other);
        }
    };
    let mut out = Vec::new();
    for_each_entry(d, len, |d| {
        let len = match d.datatype()? {
            Type::Map | Type::MapIndef => d.map()?,
            _ => {
                d.skip()?;
                return Ok(());
            }
        };
        let mut issue = RefusedIssue::default();
        for_each_entry(d, len, |d| {
            let key = match d.datatype()? {
                Type::String | Type::StringIndef => read_text(d)?,
                _ => {
                    d.skip()?;
                    d.skip()?;
                    return Ok(());
                }
            };
            match (key.as_str(), d.datatype()?) {
                ("path", Type::String | Type::StringIndef) => issue.path = read_text(d)?,
                ("code", Type::String | Type::StringIndef) => issue.code = read_text(d)?,
                ("params", Type::Map | Type::MapIndef) => {
                    let len = d.map()?;
                    for_each_entry(d, len, |d| {
                        let k = match d.datatype()? {
                            Type::String | Type::StringIndef => read_text(d)?,
                            _ => {
                                d.skip()?;
                                d.skip()?;
                                return Ok(());
                            }
                        };
                        match d.datatype()? {
                            Type::String | Type::StringIndef => {
                                let v = read_text(d)?;
                                issue.params.insert(k, v);
                            }
                            _ => d.skip()?,
                        }
                        Ok(())
                    })?;
                }
                _ => d.skip()?,
            }
            Ok(())
        })?;
        if out.len() < MAX_ISSUES {
            out.push(issue);
        }
        Ok(())
    })?;
    Ok(Field::Issues(out))
}

fn read_metadata(d: &mut Decoder<'_>) -> Result<Field, DecodeError> {
    let len = match d.datatype()? {
        Type::Map | Type::MapIndef => d.map()?,
        _ => {
            d.skip()?;
            return Ok(Field::Absent);
        }
    };
    let mut meta = PeerMetadata::default();
    let mut i = 0u64;
    loop {
        match len {
            Some(n) if i == n => break,
            None if d.datatype()? == Type::Break => {
                d.skip()?;
                break;
            }
            _ => {}
        }
        i += 1;
        if !matches!(d.datatype()?, Type::String | Type::StringIndef) {
            d.skip()?;
            d.skip()?;
            continue;
        }
        let key = read_text(d)?;
        match (key.as_str(), read_field(d, &key)?) {
            ("storageId", Field::Text(s)) => meta.storage_id = Some(s),
            ("isEphemeral", Field::Bool(b)) => meta.is_ephemeral = b,
            _ => {}
        }
    }
    Ok(Field::Metadata(meta))
}

struct Fields(Vec<(String, Field)>);

impl Fields {
    fn get(&self, key: &str) -> &Field {
        // The last occurrence wins, as in a JavaScript object.
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or(&Field::Absent)
    }

    fn text(&self, kind: &str, key: &'static str) -> Result<String, DecodeError> {
        match self.get(key) {
            Field::Text(s) => Ok(s.clone()),
            Field::Absent => Err(DecodeError::Missing { kind: kind.to_owned(), field: key }),
            _ => Err(DecodeError::Invalid { field: key.to_owned(), reason: "expected text".into() }),
        }
    }

    fn opt_text(&self, key: &'static str) -> Option<String> {
        match self.get(key) {
            Field::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn bytes(&self, kind: &str, key: &'static str) -> Result<Vec<u8>, DecodeError> {
        match self.get(key) {
            Field::Bytes(b) => Ok(b.clone()),
            Field::Absent => Err(DecodeError::Missing { kind: kind.to_owned(), field: key }),
            _ => Err(DecodeError::Invalid { field: key.to_owned(), reason: "expected a byte string".into() }),
        }
    }

    fn document_id(&self, kind: &str) -> Result<DocumentId, DecodeError> {
        let s = self.text(kind, "documentId")?;
        s.parse().map_err(|e: crate::doc_id::ParseError| DecodeError::Invalid {
            field: "documentId".into(),
            reason: e.to_string(),
        })
    }

    fn doc_message(&self, kind: &str) -> Result<DocMessage, DecodeError> {
        Ok(DocMessage {
            sender_id: self.text(kind, "senderId")?,
            target_id: self.text(kind, "targetId")?,
            document_id: self.document_id(kind)?,
            data: self.bytes(kind, "data")?,
        })
    }

    fn metadata(&self) -> Option<PeerMetadata> {
        match self.get("peerMetadata") {
            Field::Metadata(m) => Some(m.clone()),
            _ => None,
        }
    }

    /// An `error`'s fields beyond its text: present when it names a `reason`. A document id that
    /// does not read is left out rather than failing the message.
    fn refusal(&self) -> Option<Box<Refusal>> {
        let reason = Reason::parse(&self.opt_text("reason")?);
        let issues = match self.get("issues") {
            Field::Issues(v) => v.clone(),
            _ => Vec::new(),
        };
        let problems = match self.get("problems") {
            Field::Uint(n) => (*n).max(issues.len() as u64),
            _ => issues.len() as u64,
        };
        Some(Box::new(Refusal {
            reason,
            document_id: self.opt_text("documentId").and_then(|s| s.parse().ok()),
            issues,
            problems,
        }))
    }

    fn into_message(self) -> Result<Message, DecodeError> {
        let kind = match self.get("type") {
            Field::Text(s) => s.clone(),
            Field::Absent => {
                return Err(DecodeError::Missing { kind: String::new(), field: "type" });
            }
            _ => {
                return Err(DecodeError::Invalid { field: "type".into(), reason: "expected text".into() });
            }
        };
        let k = kind.as_str();
        Ok(match k {
            "join" => Message::Join {
                sender_id: self.text(k, "senderId")?,
                supported_protocol_versions: match self.get("supportedProtocolVersions") {
                    Field::TextList(v) => v.clone(),
                    _ => vec![PROTOCOL_VERSION.to_owned()],
                },
                metadata: self.metadata(),
            },
            "peer" => Message::Peer {
                sender_id: self.text(k, "senderId")?,
                target_id: self.text(k, "targetId")?,
                selected_protocol_version: self
                    .opt_text("selectedProtocolVersion")
                    .unwrap_or_else(|| PROTOCOL_VERSION.to_owned()),
                metadata: self.metadata(),
            },
            "error" => {
                Message::Error { message: self.opt_text("message").unwrap_or_default(), refusal: self.refusal() }
            }
            "request" => Message::Request(self.doc_message(k)?),
            "sync" => Message::Sync(self.doc_message(k)?),
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: self.text(k, "senderId")?,
                target_id: self.text(k, "targetId")?,
                document_id: self.document_id(k)?,
            },
            "ephemeral" => Message::Ephemeral {
                sender_id: self.text(k, "senderId")?,
                target_id: self.text(k, "targetId")?,
                count: match self.get("count") {
                    Field::Uint(n) => *n,
                    _ => 0,
                },
                session_id: self.opt_text("sessionId").unwrap_or_default(),
                document_id: self.document_id(k)?,
                data: self.bytes(k, "data")?,
            },
            "leave" => Message::Leave { sender_id: self.text(k, "senderId")? },
            "remote-subscription-change" | "remote-heads-changed" => {
                Message::Ignored { kind: kind.clone(), sender_id: self.opt_text("senderId") }
            }
            _ => return Err(DecodeError::UnknownType(kind)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn doc() -> DocumentId {
        DocumentId::from_random_bytes([7; 16])
    }

    #[test]
    fn every_message_round_trips() {
        let dm = DocMessage { sender_id: "a".into(), target_id: "b".into(), document_id: doc(), data: vec![1, 2, 3] };
        let all = vec![
            Message::Join {
                sender_id: "a".into(),
                supported_protocol_versions: vec!["1".into()],
                metadata: Some(PeerMetadata { storage_id: Some("s".into()), is_ephemeral: false }),
            },
            Message::Peer {
                sender_id: "b".into(),
                target_id: "a".into(),
                selected_protocol_version: "1".into(),
                metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: true }),
            },
            Message::Error { message: "no".into(), refusal: None },
            Message::Error { message: "no".into(), refusal: Some(Box::new(Refusal::new(Reason::TooSlow))) },
            Message::Error {
                message: "refused".into(),
                refusal: Some(Box::new(Refusal::new(Reason::Invalid).about(doc()).with_issues([
                    RefusedIssue {
                        path: "contact_points.c1.phones[0].number".into(),
                        code: "phone_format".into(),
                        params: BTreeMap::new(),
                    },
                    RefusedIssue {
                        path: "cards.k".into(),
                        code: "override_locked_step".into(),
                        params: [("card".to_owned(), "c".to_owned()), ("step".to_owned(), "s".to_owned())].into(),
                    },
                ]))),
            },
            Message::Request(dm.clone()),
            Message::Sync(dm),
            Message::DocUnavailable { sender_id: "b".into(), target_id: "a".into(), document_id: doc() },
            Message::Ephemeral {
                sender_id: "a".into(),
                target_id: "b".into(),
                count: 9,
                session_id: "x".into(),
                document_id: doc(),
                data: vec![0],
            },
            Message::Leave { sender_id: "a".into() },
            Message::Ignored { kind: "remote-heads-changed".into(), sender_id: Some("a".into()) },
        ];
        for m in all {
            assert_eq!(Message::decode(&m.encode()), Ok(m));
        }
    }

    /// Builds a frame the way cbor-x might: floats for integers, undefined, unknown keys,
    /// tagged bytes.
    #[test]
    fn tolerant_of_javascript_encodings() {
        let mut e = Encoder::new(Vec::new());
        e.map(8).unwrap();
        e.str("type").unwrap().str("ephemeral").unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("count").unwrap().f64(3.0).unwrap();
        e.str("sessionId").unwrap().undefined().unwrap();
        e.str("documentId").unwrap().str(&doc().to_string()).unwrap();
        e.str("data").unwrap().tag(minicbor::data::Tag::new(64)).unwrap().bytes(&[5]).unwrap();
        e.str("someFutureField").unwrap().array(1).unwrap().map(0).unwrap();
        let m = Message::decode(&e.into_writer()).unwrap();
        assert_eq!(
            m,
            Message::Ephemeral {
                sender_id: "a".into(),
                target_id: "b".into(),
                count: 3,
                session_id: String::new(),
                document_id: doc(),
                data: vec![5]
            }
        );
    }

    /// An `error` with only `type` and `message`, as an older relay or another implementation
    /// sends it, reads as text with no refusal; one with the fields reads them back.
    #[test]
    fn errors_with_and_without_their_fields() {
        let mut e = Encoder::new(Vec::new());
        e.map(2)
            .unwrap()
            .str("type")
            .unwrap()
            .str("error")
            .unwrap()
            .str("message")
            .unwrap()
            .str("document x: no")
            .unwrap();
        assert_eq!(
            Message::decode(&e.into_writer()),
            Ok(Message::Error { message: "document x: no".into(), refusal: None })
        );

        // Written by hand with indefinite lengths, an unknown reason and key, a document id that
        // does not read, an issue of the wrong shape and a parameter that is not text.
        let mut e = Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("type").unwrap().str("error").unwrap();
        e.str("message").unwrap().str("m").unwrap();
        e.str("reason").unwrap().str("a_future_reason").unwrap();
        e.str("documentId").unwrap().str("not-an-id").unwrap();
        e.str("someFutureField").unwrap().u8(1).unwrap();
        e.str("issues").unwrap().begin_array().unwrap();
        e.u8(7).unwrap();
        e.begin_map().unwrap();
        e.str("code").unwrap().str("role").unwrap();
        e.str("params").unwrap().map(2).unwrap();
        e.str("value").unwrap().str("x").unwrap();
        e.str("n").unwrap().u8(3).unwrap();
        e.str("future").unwrap().bool(true).unwrap();
        e.end().unwrap();
        e.end().unwrap();
        e.str("problems").unwrap().f64(4.0).unwrap();
        e.end().unwrap();
        let Ok(Message::Error { message, refusal: Some(r) }) = Message::decode(&e.into_writer()) else {
            panic!("not read as an error with a refusal");
        };
        assert_eq!(message, "m");
        assert_eq!((r.reason, r.document_id, r.problems), (Reason::Other, None, 4));
        assert_eq!(
            r.issues,
            vec![RefusedIssue {
                path: String::new(),
                code: "role".into(),
                params: [("value".into(), "x".into())].into()
            }]
        );

        // A refusal with more issues than are carried counts them all.
        let many = (0..MAX_ISSUES + 5).map(|i| RefusedIssue { path: format!("p{i}"), ..Default::default() });
        let m = Message::Error {
            message: "m".into(),
            refusal: Some(Box::new(Refusal::new(Reason::Invalid).with_issues(many))),
        };
        let Ok(Message::Error { refusal: Some(r), .. }) = Message::decode(&m.encode()) else { panic!("no refusal") };
        assert_eq!((r.issues.len(), r.problems), (MAX_ISSUES, MAX_ISSUES as u64 + 5));
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), reason);
        }
    }

    #[test]
    fn join_without_versions_means_version_one() {
        let mut e = Encoder::new(Vec::new());
        e.map(2).unwrap().str("type").unwrap().str("join").unwrap().str("senderId").unwrap().str("p").unwrap();
        match Message::decode(&e.into_writer()).unwrap() {
            Message::Join { supported_protocol_versions, .. } => assert_eq!(supported_protocol_versions, vec!["1"]),
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(Message::decode(&[0x01]), Err(DecodeError::NotAMap));
        assert!(matches!(Message::decode(&[0xa1]), Err(DecodeError::Malformed(_))));
        let mut e = Encoder::new(Vec::new());
        e.map(1).unwrap().str("type").unwrap().str("teleport").unwrap();
        assert_eq!(Message::decode(&e.into_writer()), Err(DecodeError::UnknownType("teleport".into())));
        let mut e = Encoder::new(Vec::new());
        e.map(2).unwrap().str("type").unwrap().str("sync").unwrap().str("senderId").unwrap().str("a").unwrap();
        assert_eq!(
            Message::decode(&e.into_writer()),
            Err(DecodeError::Missing { kind: "sync".into(), field: "targetId" })
        );
        let mut e = Encoder::new(Vec::new());
        e.map(5).unwrap();
        e.str("type").unwrap().str("sync").unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("documentId").unwrap().str("not-an-id").unwrap();
        e.str("data").unwrap().bytes(&[]).unwrap();
        assert!(
            matches!(Message::decode(&e.into_writer()), Err(DecodeError::Invalid { field, .. }) if field == "documentId")
        );
    }
}
