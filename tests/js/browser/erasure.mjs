// Browser test: the app follows an erasure. It signs in and syncs, and its IndexedDB holds the
// values about to be erased (the check is shown to find them); the Rust test erases the contact
// point with `contactpoint admin erase`; the app, still connected, deletes its copy of the old
// document and takes the new one, and afterwards no stored chunk holds the values (each
// document loaded with Automerge, every change decoded, every raw chunk searched).
//
// node erasure.mjs --url http://127.0.0.1:PORT/ --code INVITE --doc OLD_ID --needles '["…", …]'
// Steps: "synced" (then the Rust test erases).

import * as A from "@automerge/automerge"
import { args, check, finish, launchPersistent, lastSynced, need, run, signIn, step, waitSyncedAfter, WAIT_MS } from "./common.mjs"

// Everything the app has stored: chunks per document, and the documents with a sync state.
async function stored(page) {
  return page.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open("contactpoint")
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const tx = db.transaction(["chunks", "sync"])
    const all = (req) => new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const [rows, synced] = await Promise.all([all(tx.objectStore("chunks").getAll()), all(tx.objectStore("sync").getAllKeys())])
    db.close()
    return { chunks: rows.map((r) => ({ doc: r.doc, bytes: Array.from(new Uint8Array(r.bytes)) })), synced }
  })
}

// JSON for documents and changes, which may hold integers as BigInt.
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x))

// The operations' values of a change, in order: text written character by character reads whole.
function changeText(change) {
  const decoded = A.decodeChange(change)
  return decoded.ops.map((op) => (typeof op.value === "string" ? op.value : "")).join("") + json(decoded)
}

// Where the needles occur in what the app stored.
function scan({ chunks, synced }, needles) {
  const hits = []
  const byDoc = new Map()
  for (const c of chunks) {
    const bytes = Uint8Array.from(c.bytes)
    const raw = Buffer.from(bytes).toString("latin1") + Buffer.from(bytes).toString("utf8")
    for (const n of needles) if (raw.includes(n)) hits.push(`a raw chunk of ${c.doc} holds ${n}`)
    byDoc.set(c.doc, [...(byDoc.get(c.doc) || []), bytes])
  }
  for (const [doc, parts] of byDoc) {
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of parts) {
      bytes.set(p, at)
      at += p.length
    }
    const loaded = A.load(bytes)
    const state = json(loaded)
    for (const n of needles) if (state.includes(n)) hits.push(`document ${doc} holds ${n}`)
    for (const change of A.getAllChanges(loaded)) {
      const text = changeText(change)
      for (const n of needles) if (text.includes(n)) hits.push(`a change of ${doc} holds ${n}`)
    }
  }
  return { docs: [...byDoc.keys()], synced, hits }
}

run(async () => {
  const a = args()
  need(a, "url", "code", "doc", "needles")
  const needles = JSON.parse(a.needles)
  const { context, page } = await launchPersistent({ locale: "en-GB" })

  await signIn(page, a.url, a.code)
  const never = await lastSynced(page)
  await waitSyncedAfter(page, never)
  const before = scan(await stored(page), needles)
  check(before.docs.includes(a.doc), `the app did not store ${a.doc}: ${before.docs}`)
  check(needles.every((n) => before.hits.some((h) => h.includes(n))), `the check does not find the values before: ${JSON.stringify(before.hits)}`)
  await step("synced", { docs: before.docs.length, hits: before.hits.length })

  // The relay erases while the app is connected: it deletes the old copy by itself and stores
  // the new document, with its sync state once the relay has acknowledged everything.
  const deadline = Date.now() + WAIT_MS
  const done = (s) => !s.docs.includes(a.doc) && !s.synced.includes(a.doc) && s.synced.some((d) => !before.docs.includes(d))
  let after = scan(await stored(page), needles)
  while (!done(after)) {
    check(Date.now() < deadline, `after ${WAIT_MS} ms the app stores ${JSON.stringify(after.docs)} with sync states for ${JSON.stringify(after.synced)}`)
    await page.waitForTimeout(200)
    after = scan(await stored(page), needles)
  }
  const discarded = await page.evaluate(() => new Promise((resolve) => {
    const req = indexedDB.open("contactpoint")
    req.onsuccess = () => {
      const r = req.result.transaction("settings").objectStore("settings").get("discarded")
      r.onsuccess = () => resolve(JSON.stringify(r.result || []))
    }
  }))
  await context.close()
  finish({ docs: after.docs, synced: after.synced, hits: after.hits, discarded })
})
