//! The documents the benchmark syncs: a directory of contact-point-like entries, built the way an
//! import builds them (one transaction, batch-created objects), and a document with a long edit
//! history for the reconnect measurement.

use anyhow::Result;
use contactpoint_protocol::automerge::transaction::Transactable;
use contactpoint_protocol::automerge::{Automerge, ObjType, ROOT, ReadDoc, ScalarValue, hydrate};

const MUNICIPALITIES: [(&str, &str); 8] = [
    ("091", "Helsinki"),
    ("049", "Espoo"),
    ("837", "Tampere"),
    ("564", "Oulu"),
    ("853", "Turku"),
    ("179", "Jyväskylä"),
    ("297", "Kuopio"),
    ("398", "Lahti"),
];

const KINDS: [&str; 5] = ["health-centre", "social-services", "police", "crisis-line", "library"];

fn text(s: impl Into<String>) -> hydrate::Value {
    hydrate::Value::Scalar(ScalarValue::Str(s.into().into()))
}

/// One entry, varied by its number so that the document does not compress unrealistically.
fn entry(i: usize) -> hydrate::Value {
    let (code, town) = MUNICIPALITIES[i % MUNICIPALITIES.len()];
    let kind = KINDS[i % KINDS.len()];
    let fields: Vec<(&str, hydrate::Value)> = vec![
        ("name", text(format!("{town} {kind} {i}"))),
        ("kind", text(kind)),
        ("municipality", text(code)),
        ("street", text(format!("Esimerkkikatu {}", 1 + i % 97))),
        ("postalCode", text(format!("{:05}", 100 + (i * 37) % 99_000))),
        ("phone", text(format!("+358 40 {:03} {:04}", i % 1000, (i * 7919) % 10_000))),
        ("email", text(format!("palvelu{i}@{}.example", town.to_lowercase()))),
        ("hours", text(if i.is_multiple_of(3) { "Mon–Fri 8–16" } else { "Mon–Thu 9–15, Fri 9–13" })),
        ("lat", hydrate::Value::Scalar(ScalarValue::F64(60.0 + (i % 500) as f64 / 100.0))),
        ("lon", hydrate::Value::Scalar(ScalarValue::F64(22.0 + (i % 800) as f64 / 100.0))),
        ("updatedAt", hydrate::Value::Scalar(ScalarValue::Int(1_750_000_000_000 + i as i64))),
    ];
    let map: std::collections::HashMap<&str, hydrate::Value> = fields.into_iter().collect();
    hydrate::Value::from(map)
}

/// A directory of `n` entries under `entries`, plus a `seq` counter, in one change.
pub fn directory(n: usize) -> Result<Automerge> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "seq", 0_i64)?;
    let entries = tx.put_object(ROOT, "entries", ObjType::Map)?;
    for i in 0..n {
        tx.batch_create_object(&entries, format!("cp-{i:05}"), &entry(i), false)?;
    }
    tx.commit();
    Ok(doc)
}

/// A directory of `entries` entries edited `changes` times afterwards, one commit per edit, the
/// way a document looks after months of use.
pub fn with_history(entries: usize, changes: usize) -> Result<Automerge> {
    let mut doc = directory(entries)?;
    for c in 0..changes {
        edit(&mut doc, c as i64 + 1)?;
    }
    Ok(doc)
}

/// One user action: bump `seq` and change one entry's phone number, as one commit.
pub fn edit(doc: &mut Automerge, seq: i64) -> Result<()> {
    let entries = doc.get(ROOT, "entries")?.map(|(_, id)| id);
    let mut tx = doc.transaction();
    tx.put(ROOT, "seq", seq)?;
    if let Some(entries) = entries {
        let n = tx.length(&entries).max(1);
        let key = format!("cp-{:05}", seq as usize % n);
        if let Some((_, e)) = tx.get(&entries, key.as_str())? {
            tx.put(&e, "phone", format!("+358 50 {:03} {:04}", seq % 1000, seq % 10_000))?;
        }
    }
    tx.commit();
    Ok(())
}

/// The document's `seq` counter.
pub fn seq(doc: &Automerge) -> i64 {
    match doc.get(ROOT, "seq") {
        Ok(Some((v, _))) => v.as_i64().unwrap_or(-1),
        _ => -1,
    }
}
