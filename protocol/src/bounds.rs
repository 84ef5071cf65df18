//! Limits on what a peer's sync message may ask of Automerge, checked before Automerge sees it.
//!
//! Automerge trusts the structures inside a sync message: the Bloom filters in `have` decide how
//! much work and memory generating the answer takes (zero bits per entry divides by zero, a huge
//! probe count allocates gigabytes), and a compressed chunk is inflated in full before its
//! checksum is looked at. Everything here is checked on the encoded message, so an oversized
//! structure costs a scan of bytes the peer already sent, never an allocation it chose.
//!
//! The limits are far above anything Automerge itself produces: an honest peer never meets them.

use std::io::Read;

use automerge::sync;

use crate::doc_sync::SyncError;

/// What one sync message may contain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Heads the peer reports (one per concurrent branch; Automerge sends a handful).
    pub max_heads: usize,
    /// Change hashes the peer says it needs.
    pub max_need: usize,
    /// Entries of `have`. Automerge sends at most one.
    pub max_have: usize,
    /// Hashes in one `have` entry's `lastSync`.
    pub max_last_sync: usize,
    /// Bloom filter probes per hash. Automerge uses 7.
    pub max_bloom_probes: u32,
    /// Bloom filter bits per entry. Automerge uses 10.
    pub max_bloom_bits_per_entry: u32,
    /// Entries of `changes` (each may hold several changes back to back).
    pub max_change_entries: usize,
    /// Changes in one message, counted across all entries.
    pub max_changes: usize,
    /// Bytes all compressed data in one message may inflate to, in total.
    pub max_inflated_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_heads: 1024,
            max_need: 65_536,
            max_have: 1,
            max_last_sync: 1024,
            max_bloom_probes: 32,
            max_bloom_bits_per_entry: 64,
            max_change_entries: 65_536,
            max_changes: 262_144,
            max_inflated_bytes: 256 * 1024 * 1024,
        }
    }
}

fn too_much(what: String) -> SyncError {
    SyncError::Bounds(what)
}

/// Checks the parts of a decoded message that steer Automerge's work: counts and Bloom filters.
pub fn check_message(m: &sync::Message, b: &Bounds) -> Result<(), SyncError> {
    if m.heads.len() > b.max_heads {
        return Err(too_much(format!("{} heads (at most {})", m.heads.len(), b.max_heads)));
    }
    if m.need.len() > b.max_need {
        return Err(too_much(format!("{} needed changes (at most {})", m.need.len(), b.max_need)));
    }
    if m.have.len() > b.max_have {
        return Err(too_much(format!("{} have entries (at most {})", m.have.len(), b.max_have)));
    }
    for have in &m.have {
        if have.last_sync.len() > b.max_last_sync {
            return Err(too_much(format!("{} lastSync hashes (at most {})", have.last_sync.len(), b.max_last_sync)));
        }
        check_bloom(&have.bloom.to_bytes(), b)?;
    }
    if m.changes.len() > b.max_change_entries {
        return Err(too_much(format!("{} change entries (at most {})", m.changes.len(), b.max_change_entries)));
    }
    Ok(())
}

/// A Bloom filter's encoding: nothing (empty), or entries, bits per entry and probes as LEB128,
/// then the bits. The parts Automerge divides by and allocates from must be sane.
fn check_bloom(bytes: &[u8], b: &Bounds) -> Result<(), SyncError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut rest = bytes;
    let entries = uleb(&mut rest).ok_or_else(|| SyncError::Decode("unreadable Bloom filter".into()))?;
    let bits_per_entry = uleb(&mut rest).ok_or_else(|| SyncError::Decode("unreadable Bloom filter".into()))?;
    let probes = uleb(&mut rest).ok_or_else(|| SyncError::Decode("unreadable Bloom filter".into()))?;
    if entries == 0 {
        // Automerge never probes an empty filter.
        return Ok(());
    }
    if bits_per_entry == 0 || bits_per_entry > u64::from(b.max_bloom_bits_per_entry) {
        return Err(too_much(format!(
            "a Bloom filter with {bits_per_entry} bits per entry (1 to {})",
            b.max_bloom_bits_per_entry
        )));
    }
    if probes == 0 || probes > u64::from(b.max_bloom_probes) {
        return Err(too_much(format!("a Bloom filter with {probes} probes (1 to {})", b.max_bloom_probes)));
    }
    // The bits must be there: Automerge takes ceil(entries × bits / 8) bytes, and a filter whose
    // bits are missing would be probed modulo zero.
    let needed = entries.saturating_mul(bits_per_entry).div_ceil(8);
    if rest.is_empty() || (rest.len() as u64) < needed {
        return Err(SyncError::Decode("a Bloom filter is shorter than its header says".into()));
    }
    Ok(())
}

/// Reads one unsigned LEB128 number of at most 64 bits.
fn uleb(input: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, byte) in input.iter().enumerate().take(10) {
        let part = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if shift == 63 && part > 1 {
            return None;
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Some(value);
        }
    }
    None
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;

/// Whether `bytes` begin with a whole-document chunk (rather than changes).
pub fn is_document_chunk(bytes: &[u8]) -> bool {
    bytes.len() > 8 && bytes[..4] == MAGIC && bytes[8] == DOCUMENT
}

/// What the chunks of one message held, once checked, with what parsing them gave: applying
/// them and storing what they added need not parse or encode them again.
#[derive(Debug, Default)]
pub struct ChunkSummary {
    /// Change chunks (plain or compressed).
    pub changes: usize,
    /// Whole-document chunks.
    pub documents: usize,
    /// Each change chunk's hash and bytes as they came, in order.
    pub change_chunks: Vec<(automerge::ChangeHash, Vec<u8>)>,
    /// The document, loaded, when the message's changes are one whole-document chunk and
    /// nothing else (how a peer is sent everything).
    pub document: Option<automerge::Automerge>,
}

/// Checks every chunk of a message's `changes`: each entry is one or more complete chunks back to
/// back (Automerge concatenates the changes a peer lacks into one entry), each with the Automerge
/// header, a known type, a length that fits, data that parses and a checksum that matches.
/// Compressed data is inflated with a cap shared by the whole message, before anything else
/// inflates it.
pub fn check_chunks<'a>(entries: impl IntoIterator<Item = &'a [u8]>, b: &Bounds) -> Result<ChunkSummary, SyncError> {
    let mut summary = ChunkSummary::default();
    let mut inflate_budget = b.max_inflated_bytes;
    for entry in entries {
        let mut rest = entry;
        if rest.is_empty() {
            return Err(SyncError::Apply("an empty change entry".into()));
        }
        while !rest.is_empty() {
            let (chunk, after) = split_chunk(rest)?;
            rest = after;
            match chunk.kind {
                DOCUMENT => {
                    check_document_columns(chunk.data, &mut inflate_budget)?;
                    let doc = parse_guarded("document", || {
                        automerge::Automerge::load_with_options(
                            chunk.whole,
                            automerge::LoadOptions::new().on_partial_load(automerge::OnPartialLoad::Error),
                        )
                        .map_err(|e| e.to_string())
                    })?;
                    summary.documents += 1;
                    summary.document = Some(doc);
                }
                CHANGE | COMPRESSED_CHANGE => {
                    if chunk.kind == COMPRESSED_CHANGE {
                        inflate_capped(chunk.data, &mut inflate_budget)?;
                    }
                    let change = parse_guarded("change", || {
                        automerge::Change::try_from(chunk.whole).map_err(|e| e.to_string())
                    })?;
                    summary.changes += 1;
                    summary.change_chunks.push((change.hash(), chunk.whole.to_vec()));
                }
                t => return Err(SyncError::Apply(format!("unknown chunk type {t}"))),
            }
            if summary.changes + summary.documents > b.max_changes {
                return Err(too_much(format!("more than {} changes in one message", b.max_changes)));
            }
        }
    }
    if summary.documents != 1 || summary.changes != 0 {
        summary.document = None;
    }
    Ok(summary)
}

struct RawChunk<'a> {
    kind: u8,
    /// The chunk from its magic bytes to the end of its data.
    whole: &'a [u8],
    /// The data after the header.
    data: &'a [u8],
}

/// Runs one of Automerge's parsers on peer data; a panic inside it is a corrupt chunk.
fn parse_guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, SyncError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(parsed)) => Ok(parsed),
        Ok(Err(e)) => Err(SyncError::Apply(format!("corrupt {what} chunk: {e}"))),
        Err(_) => Err(SyncError::Apply(format!("corrupt {what} chunk: the engine could not parse it"))),
    }
}

/// Splits the first chunk off `input`: magic, checksum, type, LEB128 length, data.
fn split_chunk(input: &[u8]) -> Result<(RawChunk<'_>, &[u8]), SyncError> {
    if input.len() < 10 || input[..4] != MAGIC {
        return Err(SyncError::Apply("a change chunk lacks the Automerge header".into()));
    }
    let kind = input[8];
    let mut rest = &input[9..];
    let len = uleb(&mut rest).ok_or_else(|| SyncError::Apply("a chunk's length does not read".into()))?;
    let header_len = input.len() - rest.len();
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= rest.len())
        .ok_or_else(|| SyncError::Apply(format!("a chunk says it holds {len} bytes but only {} follow", rest.len())))?;
    let end = header_len + len;
    Ok((RawChunk { kind, whole: &input[..end], data: &input[header_len..end] }, &input[end..]))
}

/// Inflates raw deflate data, failing as soon as the output would exceed what is left of the
/// budget; the output is thrown away.
fn inflate_capped(data: &[u8], budget: &mut usize) -> Result<(), SyncError> {
    let mut decoder = flate2::bufread::DeflateDecoder::new(data).take(*budget as u64 + 1);
    let n = std::io::copy(&mut decoder, &mut std::io::sink())
        .map_err(|_| SyncError::Apply("compressed data does not inflate".into()))?;
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > *budget {
        return Err(too_much("compressed data that inflates past the relay's limit".into()));
    }
    *budget -= n;
    Ok(())
}

/// A document chunk's columns may each be deflated; inflate those with the cap before Automerge
/// inflates them without one. Layout: actors, heads, change column metadata, op column metadata,
/// then the change columns' data and the op columns' data in that order.
fn check_document_columns(data: &[u8], budget: &mut usize) -> Result<(), SyncError> {
    let bad = || SyncError::Apply("corrupt document chunk: its header does not read".into());
    let mut rest = data;
    let actors = uleb(&mut rest).ok_or_else(bad)?;
    for _ in 0..actors {
        let len = usize::try_from(uleb(&mut rest).ok_or_else(bad)?).map_err(|_| bad())?;
        rest = rest.get(len..).ok_or_else(bad)?;
    }
    let heads = usize::try_from(uleb(&mut rest).ok_or_else(bad)?).map_err(|_| bad())?;
    rest = rest.get(heads.checked_mul(32).ok_or_else(bad)?..).ok_or_else(bad)?;
    let mut columns: Vec<(bool, usize)> = Vec::new();
    for _ in 0..2 {
        let count = uleb(&mut rest).ok_or_else(bad)?;
        for _ in 0..count {
            let spec = uleb(&mut rest).ok_or_else(bad)?;
            let len = usize::try_from(uleb(&mut rest).ok_or_else(bad)?).map_err(|_| bad())?;
            if len > data.len() {
                return Err(bad());
            }
            columns.push((spec & 0b1000 != 0, len));
        }
    }
    for (deflated, len) in columns {
        let column = rest.get(..len).ok_or_else(bad)?;
        rest = &rest[len..];
        if deflated {
            inflate_capped(column, budget)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bloom(entries: u64, bits: u64, probes: u64, body: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for mut v in [entries, bits, probes] {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        out.extend(std::iter::repeat_n(0xffu8, body));
        out
    }

    #[test]
    fn degenerate_bloom_filters_are_refused() {
        let b = Bounds::default();
        assert!(check_bloom(&[], &b).is_ok());
        assert!(check_bloom(&bloom(3, 10, 7, 4), &b).is_ok());
        assert!(matches!(check_bloom(&bloom(1, 0, 7, 0), &b), Err(SyncError::Bounds(_))));
        assert!(matches!(check_bloom(&bloom(1, 10, u32::MAX as u64, 2), &b), Err(SyncError::Bounds(_))));
        assert!(matches!(check_bloom(&bloom(1, 10, 0, 2), &b), Err(SyncError::Bounds(_))));
        assert!(matches!(check_bloom(&bloom(100, 10, 7, 2), &b), Err(SyncError::Decode(_))));
        assert!(matches!(check_bloom(&[0x80], &b), Err(SyncError::Decode(_))));
    }

    #[test]
    fn leb128_reads_and_refuses_overflow() {
        let mut input: &[u8] = &[0xe5, 0x8e, 0x26, 0x01];
        assert_eq!(uleb(&mut input), Some(624_485));
        assert_eq!(input, &[0x01]);
        let mut too_long: &[u8] = &[0xff; 11];
        assert_eq!(uleb(&mut too_long), None);
    }

    #[test]
    fn a_deflate_bomb_is_refused_while_inflating() {
        use std::io::Write;
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 4 * 1024 * 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        let mut budget = 1024 * 1024;
        assert!(matches!(inflate_capped(&bomb, &mut budget), Err(SyncError::Bounds(_))));
        let mut budget = 8 * 1024 * 1024;
        inflate_capped(&bomb, &mut budget).unwrap();
        assert_eq!(budget, 4 * 1024 * 1024, "what inflated is taken from the budget");
    }
}
