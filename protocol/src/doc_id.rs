//! Document ids: 16 bytes shaped as a UUID v4, written as base58check, URL form `automerge:<id>`.

use core::fmt;
use core::str::FromStr;

/// The identity of one Automerge document, as automerge-repo spells it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

/// Why a string is not a document id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Not base58check, or the checksum does not match (usually a typo or a truncated link).
    #[error("not a document id (base58check decoding failed: {0})")]
    Encoding(String),
    /// Decoded fine but is not 16 bytes long.
    #[error("a document id is 16 bytes, this one is {0}")]
    Length(usize),
}

const URL_PREFIX: &str = "automerge:";

impl DocumentId {
    /// Makes a new id from 16 random bytes supplied by the caller (this crate never draws
    /// randomness itself). The UUID version and variant bits are set, because the JavaScript
    /// client rejects ids without them.
    pub fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        DocumentId(bytes)
    }

    /// Wraps raw bytes exactly as given (for ids received from elsewhere).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        DocumentId(bytes)
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The `automerge:<id>` URL form.
    pub fn url(&self) -> String {
        format!("{URL_PREFIX}{self}")
    }
}

thread_local! {
    /// The id last written or read, with its text. A relay passing an edit on writes the same id
    /// into a message for every reader and reads it back from each acknowledgement; each time
    /// costs base58 and two SHA-256 runs, about as much as the rest of the message's encoding.
    /// Shared rather than borrowed while it is written, so that a writer that formats another id
    /// meanwhile finds the cache free.
    static LAST: std::cell::RefCell<Option<(DocumentId, std::rc::Rc<str>)>> = const { std::cell::RefCell::new(None) };
}

impl DocumentId {
    fn encode(&self) -> String {
        let mut checked = [0u8; 20];
        checked[..16].copy_from_slice(&self.0);
        checked[16..].copy_from_slice(&check_bytes(&self.0));
        bs58::encode(checked).into_string()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = LAST.with_borrow(|last| last.as_ref().filter(|(id, _)| id == self).map(|(_, text)| text.clone()));
        let text = cached.unwrap_or_else(|| {
            let text: std::rc::Rc<str> = self.encode().into();
            LAST.set(Some((*self, text.clone())));
            text
        });
        f.write_str(&text)
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = ParseError;

    /// Accepts the bare id and the `automerge:` URL form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix(URL_PREFIX).unwrap_or(s);
        // Anything longer than a few dozen characters cannot be 16 bytes; refuse before decoding.
        if s.len() > 64 {
            return Err(ParseError::Encoding("too long".into()));
        }
        if let Some(id) = LAST.with_borrow(|last| last.as_ref().filter(|(_, text)| **text == *s).map(|(id, _)| *id)) {
            return Ok(id);
        }
        let bytes = bs58::decode(s).into_vec().map_err(|e| ParseError::Encoding(e.to_string()))?;
        let Some((payload, check)) = bytes.split_last_chunk::<4>() else {
            return Err(ParseError::Encoding("too short for its check bytes".into()));
        };
        if *check != check_bytes(payload) {
            return Err(ParseError::Encoding("the check bytes do not match: a character is wrong".into()));
        }
        let arr: [u8; 16] = payload.try_into().map_err(|_| ParseError::Length(payload.len()))?;
        let id = DocumentId(arr);
        LAST.set(Some((id, s.into())));
        Ok(id)
    }
}

/// Base58check's four check bytes: the start of SHA-256 applied twice. Written here with the
/// SHA-256 that Automerge already brings, rather than through the base58 crate's own, so that the
/// app carries one SHA-256.
fn check_bytes(payload: &[u8]) -> [u8; 4] {
    use sha2::{Digest, Sha256};
    let twice = Sha256::digest(Sha256::digest(payload));
    [twice[0], twice[1], twice[2], twice[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_base58check_as_automerge_repo_writes_them() {
        // The string base58check (the base58 crate's own, and automerge-repo's) makes of these bytes.
        assert_eq!(DocumentId([7u8; 16]).to_string(), "6gMHXjsZ5cxdn4qSbgGYYY8CnKK");
        assert_eq!("6gMHXjsZ5cxdn4qSbgGYYY8CnKK".parse::<DocumentId>(), Ok(DocumentId([7u8; 16])));
    }

    #[test]
    fn round_trips_and_accepts_urls() {
        let id = DocumentId::from_random_bytes([0xab; 16]);
        assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        assert_eq!(id.url().parse::<DocumentId>(), Ok(id));
        assert_eq!(id.as_bytes()[6] >> 4, 4, "UUID version 4");
        assert_eq!(id.as_bytes()[8] >> 6, 0b10, "RFC 4122 variant");
    }

    /// A writer that formats and parses other ids while an id is written to it.
    struct Nosy(String);

    impl fmt::Write for Nosy {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let other = DocumentId([9u8; 16]).to_string();
            assert_eq!(other.parse::<DocumentId>(), Ok(DocumentId([9u8; 16])));
            self.0.push_str(s);
            Ok(())
        }
    }

    /// The remembered text of the last id is not held while an id is written: a writer that
    /// formats or parses other ids meanwhile works, and every id still reads as itself.
    #[test]
    fn an_id_is_written_right_while_the_writer_formats_others() {
        use std::fmt::Write as _;
        let id = DocumentId([7u8; 16]);
        for _ in 0..2 {
            let mut w = Nosy(String::new());
            write!(w, "{id}").unwrap();
            assert_eq!(w.0, "6gMHXjsZ5cxdn4qSbgGYYY8CnKK");
        }
        assert_eq!(DocumentId([9u8; 16]).to_string().parse::<DocumentId>(), Ok(DocumentId([9u8; 16])));
    }

    #[test]
    fn rejects_typos_and_wrong_lengths() {
        let s = DocumentId::from_random_bytes([1; 16]).to_string();
        let mut typo = s.clone().into_bytes();
        typo[3] = if typo[3] == b'2' { b'3' } else { b'2' };
        assert!(matches!(String::from_utf8(typo).unwrap().parse::<DocumentId>(), Err(ParseError::Encoding(_))));
        let mut short = vec![1u8; 8];
        short.extend(check_bytes(&short));
        let short = bs58::encode(short).into_string();
        assert_eq!(short.parse::<DocumentId>(), Err(ParseError::Length(8)));
        assert!("".parse::<DocumentId>().is_err());
    }
}
