//! The directory benchmark: search latency over 10,000 generated contact points (natively, and
//! in the browser build's wasm run by Node), resolution for every municipality and role, and the
//! size and load time of all of Finland's documents at the sample-data scale and at ten times it,
//! and the relay's check of a write to an area document as the document grows.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use contactpoint_directory::model::{ContactPoint, Directory, Phone, PhoneKind, ROLES};
use contactpoint_directory::store::{read_directory, write_directory};
use contactpoint_directory::text::LocalizedText;
use contactpoint_directory::validate::{Place, validate_document_at};
use contactpoint_directory::{Area, Localities, SearchIndex, ids, resolve, seed};
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;

const TODAY: &str = "2026-11-24";
const QUERIES: &[&str] =
    &["helsinki", "helsingfors", "ankkuri", "lastensuojelu", "poliisi", "hame", "sosiaali", "turku", "vaasa", "exit"];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// 10,000 contact points spread over every municipality, one document per municipality.
fn generated(count: usize) -> Vec<Directory> {
    let l = Localities::get();
    let mut docs: Vec<Directory> = l
        .municipalities
        .iter()
        .map(|m| {
            Directory::for_area(
                Area::Municipality(m.code.clone()),
                LocalizedText::fi_sv_en(&m.name_fi, &m.name_sv, &m.name_en),
            )
        })
        .collect();
    for i in 0..count {
        let m = &l.municipalities[i % l.municipalities.len()];
        let role = ROLES[i % ROLES.len()];
        let label = |lang| contactpoint_directory::model::role_label(role, lang).unwrap_or(role);
        let c = ContactPoint {
            id: ids::stable_id("bench-contact", &i.to_string()),
            name: LocalizedText::fi_sv_en(
                &format!("{} {} {i}", label("fi"), m.name_fi),
                &format!("{} {} {i}", label("sv"), m.name_sv),
                &format!("{} {} {i}", label("en"), m.name_en),
            ),
            roles: vec![role.to_owned()],
            phones: vec![Phone {
                number: format!("+358 0 000 {:04}", i % 10_000),
                kind: PhoneKind::Voice,
                description: LocalizedText::new(),
            }],
            areas: vec![Area::Municipality(m.code.clone())],
            example: true,
            ..ContactPoint::default()
        };
        docs[i % l.municipalities.len()].contact_points.insert(c.id.clone(), c);
    }
    docs
}

/// The sample data with every area document's contact points repeated `times` times.
fn scaled_seed(times: usize) -> Result<Vec<Directory>> {
    let mut dirs = seed::directories(TODAY).map_err(|e| anyhow::anyhow!("{e}"))?;
    for d in dirs.iter_mut().filter(|d| !d.is_national()) {
        let originals: Vec<ContactPoint> = d.contact_points.values().cloned().collect();
        for k in 1..times {
            for c in &originals {
                let mut copy = c.clone();
                copy.id = ids::stable_id("bench-copy", &format!("{}-{k}", c.id));
                d.contact_points.insert(copy.id.clone(), copy);
            }
        }
    }
    Ok(dirs)
}

fn to_doc(d: &Directory) -> Result<Automerge> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    write_directory(&mut tx, d).map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit();
    Ok(doc)
}

fn size_and_load(label: &str, dirs: &[Directory]) -> Result<serde_json::Value> {
    let saved: Vec<Vec<u8>> = dirs.iter().map(|d| to_doc(d).map(|d| d.save())).collect::<Result<_>>()?;
    let bytes: usize = saved.iter().map(Vec::len).sum();
    let contacts: usize = dirs.iter().map(|d| d.contact_points.len()).sum();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for s in &saved {
            let doc = Automerge::load(s)?;
            read_directory(&doc).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{label:<28} {:>4} documents {contacts:>6} contacts {:>9.1} KB saved   load + read all: {:.1} ms (median of 5)",
        saved.len(),
        bytes as f64 / 1024.0,
        median.as_secs_f64() * 1e3
    );
    Ok(
        serde_json::json!({ "documents": saved.len(), "contacts": contacts, "bytes": bytes, "load_ms": median.as_secs_f64() * 1e3 }),
    )
}

/// What the relay runs on every accepted write to an area document, whatever the write: the whole
/// document's check against the rules and the national document (the problems it had before come
/// from the last accepted write). Timed on the largest sample area grown to each size.
fn write_check(sizes: &[usize]) -> Result<serde_json::Value> {
    let dirs = seed::directories(TODAY).map_err(|e| anyhow::anyhow!("{e}"))?;
    let national = dirs.iter().find(|d| d.is_national()).context("the sample data has no national document")?;
    let area = dirs
        .iter()
        .filter(|d| !d.is_national())
        .max_by_key(|d| d.contact_points.len())
        .context("the sample data has no area document")?;
    let place = Place::Area(area.area.clone().context("an area document without its area")?);
    let originals: Vec<ContactPoint> = area.contact_points.values().cloned().collect();
    let mut out = serde_json::Map::new();
    for &n in sizes {
        let mut d = area.clone();
        for (k, c) in originals.iter().cycle().enumerate().take(n.saturating_sub(originals.len())) {
            let mut copy = c.clone();
            copy.id = ids::stable_id("bench-check", &format!("{}-{k}", c.id));
            d.contact_points.insert(copy.id.clone(), copy);
        }
        let doc = to_doc(&d)?;
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(validate_document_at(&doc, Some(national), &place));
                t.elapsed()
            })
            .collect();
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "the relay's check of a write to an area document of {:>6} contact points: {:.1} ms (median of 5)",
            d.contact_points.len(),
            median.as_secs_f64() * 1e3
        );
        out.insert(d.contact_points.len().to_string(), serde_json::json!({ "ms": median.as_secs_f64() * 1e3 }));
    }
    Ok(serde_json::Value::Object(out))
}

/// Runs the directory benchmark and returns its figures.
pub fn run(quick: bool) -> Result<serde_json::Value> {
    println!("\n== directory: search, resolution, size ==");
    let count = if quick { 2_000 } else { 10_000 };
    let docs = generated(count);
    let t = Instant::now();
    let index = SearchIndex::build(&docs);
    println!("search index over {count} contact points built in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let rounds = if quick { 50 } else { 200 };
    let mut search = serde_json::Map::new();
    println!("{:<14} {:>12} {:>12} {:>12} {:>12}", "query", "p50", "p95", "p50 (091)", "p95 (091)");
    for q in QUERIES {
        let mut all = Vec::with_capacity(rounds);
        let mut filtered = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            // Type-ahead: every prefix of the query, as a person types it.
            let t = Instant::now();
            std::hint::black_box(index.search(q, None, 20));
            all.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(index.search(q, Some("091"), 20));
            filtered.push(t.elapsed());
        }
        all.sort();
        filtered.sort();
        println!(
            "{q:<14} {:>12} {:>12} {:>12} {:>12}",
            micros(percentile(&all, 0.5)),
            micros(percentile(&all, 0.95)),
            micros(percentile(&filtered, 0.5)),
            micros(percentile(&filtered, 0.95))
        );
        search.insert(
            (*q).to_owned(),
            serde_json::json!({ "p50_us": percentile(&all, 0.5).as_secs_f64() * 1e6, "p95_us": percentile(&all, 0.95).as_secs_f64() * 1e6 }),
        );
    }

    let seed_dirs = seed::directories(TODAY).map_err(|e| anyhow::anyhow!("{e}"))?;
    let l = Localities::get();
    let t = Instant::now();
    let mut found = 0usize;
    for m in &l.municipalities {
        for r in ROLES {
            found += resolve(&seed_dirs, &m.code, r).len();
        }
    }
    let took = t.elapsed();
    let calls = l.municipalities.len() * ROLES.len();
    println!(
        "resolution: {calls} (municipality, role) pairs over the sample data in {:.1} ms ({} per call, {found} matches)",
        took.as_secs_f64() * 1e3,
        micros(took / calls as u32)
    );

    let seed_scale = size_and_load("all of Finland, sample", &seed_dirs)?;
    let ten = size_and_load("all of Finland, 10×", &scaled_seed(10)?)?;
    let check = write_check(if quick { &[100, 1_000] } else { &[100, 1_000, 10_000] })?;
    let wasm = wasm_search(&docs)?;
    Ok(serde_json::json!({
        "search_native": search,
        "resolution_ms": took.as_secs_f64() * 1e3,
        "resolution_calls": calls,
        "seed": seed_scale,
        "seed_10x": ten,
        "write_check": check,
        "search_wasm": wasm,
    }))
}

/// Search latency in the browser build's wasm, run by Node over the same generated documents.
fn wasm_search(docs: &[Directory]) -> Result<serde_json::Value> {
    // The built app bundles the bindings into its own module; the build's staging directory
    // keeps them apart, beside the same optimised wasm the app ships.
    let staging = crate::web::staging_dir();
    let (glue, wasm) = (staging.join("contactpoint.js"), staging.join("contactpoint_bg.opt.wasm"));
    if !glue.is_file() || !wasm.is_file() {
        println!("search in wasm: skipped, the web app is not built (run cargo xtask web first)");
        return Ok(serde_json::Value::Null);
    }
    let dir = Path::new("target/bench/directory-docs");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let mut list = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let id = DocumentId::from_random_bytes(ids::stable_bytes("bench-doc", &i.to_string())).to_string();
        std::fs::write(dir.join(format!("{id}.bin")), to_doc(d)?.save())?;
        list.push(id);
    }
    let out = Command::new("node")
        .arg("xtask/bench-search.mjs")
        .arg(std::fs::canonicalize(&glue)?)
        .arg(std::fs::canonicalize(&wasm)?)
        .arg(std::fs::canonicalize(dir)?)
        .arg(QUERIES.join(","))
        .output()
        .context("could not run node")?;
    if !out.status.success() {
        bail!("the wasm search benchmark failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    println!("search in wasm (Node, the browser build), per keystroke over {} documents:", list.len());
    println!("{:<14} {:>12} {:>12}", "query", "p50", "p95");
    if let Some(m) = v["queries"].as_object() {
        for (q, r) in m {
            println!(
                "{q:<14} {:>9.1} µs {:>9.1} µs",
                r["p50_us"].as_f64().unwrap_or(0.0),
                r["p95_us"].as_f64().unwrap_or(0.0)
            );
        }
    }
    println!(
        "all keystrokes: p50 {:.1} µs, p95 {:.1} µs",
        v["p50_us"].as_f64().unwrap_or(0.0),
        v["p95_us"].as_f64().unwrap_or(0.0)
    );
    Ok(v)
}
