// The JavaScript side of the interoperability tests: the official automerge-repo client with its
// WebSocket adapter, driven from the command line by the Rust tests in tests/e2e/interop.rs.
//
//   node interop.mjs create <wsUrl>                      create a document, wait until the relay has it
//   node interop.mjs read   <wsUrl> <automergeUrl>       find a document and print its content
//   node interop.mjs write  <wsUrl> <automergeUrl> <key> <value>
//                                                        change a document, wait for the relay's verdict;
//                                                        <key> is a root key or a JSON Pointer such as
//                                                        /contact_points/<id>/phones/0/number
//   node interop.mjs reconnect <readerWsUrl> <writerWsUrl> <automergeUrl> <key> <value> <memory|DIR>
//                                                        a reader syncs the document and goes away; a writer
//                                                        that connects for the purpose sets <key> (a root key)
//                                                        to <value>; the reader comes back and catches up.
//                                                        "memory": the same repo reconnects; DIR: the repo
//                                                        keeps its documents and sync states in DIR and is
//                                                        started afresh, as an app that was closed. Reports
//                                                        the reader's bytes on the wire while catching up.
//   node interop.mjs push   <wsUrl> <automergeUrl> <key> <value>
//                                                        the same, and also send the change's bytes in a
//                                                        hand-made sync message, as a client does whose
//                                                        Automerge ignores the relay's read-only flag
//   node interop.mjs erased <wsUrl> <automergeUrl> <indexUrl>
//                                                        hold a document and the index, print {"ready": true},
//                                                        then wait until the relay says the document is
//                                                        unavailable and the index lists the document that
//                                                        replaces it; report that document's content and the
//                                                        number of changes in its history
//
// Each run prints exactly one JSON line on stdout: {"ok": true, ...} on success, or
// {"ok": false, "error": "..."} with exit code 1. Every wait is bounded by INTEROP_TIMEOUT_MS
// (default 15000), so a relay that never answers fails the run instead of hanging the test.

import * as A from "@automerge/automerge"
import { Repo, encodeHeads } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { cbor } from "@automerge/automerge-repo/slim"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 15000)

/** Prints the one result line and exits. */
function finish(result, code) {
  // Documents may hold integers that Automerge gives JavaScript as BigInt, which JSON lacks.
  const json = JSON.stringify(result, (_, v) =>
    typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v,
  )
  process.stdout.write(json + "\n", () => process.exit(code))
}

function fail(message) {
  finish({ ok: false, error: message }, 1)
}

// The adapter throws socket errors other than "connection refused" from an event listener (an
// HTTP 401 answer to the upgrade, for example); report them as a failed run, not a stack trace.
process.on("uncaughtException", e => fail(`uncaught: ${e?.message ?? e}`))
process.on("unhandledRejection", e => fail(`unhandled rejection: ${e?.message ?? e}`))

/** Resolves with `promise`, or rejects after the timeout with a message naming what was awaited. */
function bounded(promise, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Resolves once `test()` holds, re-checking whenever `emitter` emits `event`. */
function until(emitter, event, test, what) {
  return bounded(
    new Promise(resolve => {
      if (test()) return resolve()
      const check = () => {
        if (test()) {
          emitter.off(event, check)
          resolve()
        }
      }
      emitter.on(event, check)
    }),
    what,
  )
}

/**
 * The stock adapter, observed: it records the types of the messages it sends and receives, counts
 * the changes its sync messages carry, and keeps the relay's `error` messages, which the stock
 * adapter only writes to its debug log.
 */
class ObservedAdapter extends WebSocketClientAdapter {
  sent = []
  received = []
  errors = []
  changesSent = 0
  unavailable = []
  /** Bytes of WebSocket payload in each direction, as the adapter encodes and receives them, and
   * each message's size in order (">" sent, "<" received). */
  bytesSent = 0
  bytesReceived = 0
  sizes = []
  #errorListeners = new Set()

  send(message) {
    this.sent.push(message.type)
    const size = cbor.encode(message).byteLength
    this.bytesSent += size
    this.sizes.push(`>${message.type}:${size}:${message.data?.byteLength ?? 0}`)
    if ((message.type === "sync" || message.type === "request") && message.data) {
      this.changesSent += A.decodeSyncMessage(message.data).changes.length
    }
    super.send(message)
  }

  receiveMessage(bytes) {
    this.bytesReceived += bytes.byteLength
    this.sizes.push(`<${bytes.byteLength}`)
    let message
    try {
      message = cbor.decode(new Uint8Array(bytes))
    } catch {
      message = { type: "undecodable" }
    }
    this.received.push(message.type)
    if (message.type === "sync" && message.data) {
      // What a sync message spends its bytes on, for a failure message that says where they went.
      const m = A.decodeSyncMessage(message.data)
      const have = JSON.stringify(m.have.map(h => [h.lastSync.length, h.bloom.byteLength]))
      this.sizes.push(`data ${message.data.byteLength} heads ${m.heads.length} need ${m.need.length} have ${have} changes ${m.changes.map(c => c.byteLength)}`)
    }
    if (message.type === "doc-unavailable") this.unavailable.push(String(message.documentId))
    if (message.type === "error") {
      this.errors.push(String(message.message))
      for (const l of this.#errorListeners) l()
    }
    super.receiveMessage(bytes)
  }

  onRelayError(listener) {
    this.#errorListeners.add(listener)
  }
}

/** A repo with one WebSocket connection and a peer id unique to this process. */
async function connect(wsUrl, mode, storageDir) {
  const adapter = new ObservedAdapter(wsUrl)
  // A reconnecting reader uses the client's own peer ids, so that its bytes are a real client's.
  const peerId = mode === "reader" ? undefined : `interop-js-${mode}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`
  const storage = storageDir ? new NodeFSStorageAdapter(storageDir) : undefined
  const repo = new Repo({ network: [adapter], peerId, storage })
  const relay = await bounded(
    new Promise(resolve => repo.networkSubsystem.once("peer", p => resolve(p))),
    "the relay's `peer` answer to `join`",
  )
  return { repo, adapter, peerId: repo.peerId, relayPeerId: relay.peerId, relayStorageId: relay.peerMetadata?.storageId }
}

/** Whether the relay has told us (through its sync messages) that its heads are `heads`. */
function relayHas(handle, relayStorageId, heads) {
  const theirs = handle.getSyncInfo(relayStorageId)?.lastHeads
  return !!theirs && theirs.length === heads.length && heads.every(h => theirs.includes(h))
}

function report(conn, extra) {
  return {
    ok: true,
    peerId: conn.peerId,
    relayPeerId: conn.relayPeerId,
    relayStorageId: conn.relayStorageId ?? null,
    sent: conn.adapter.sent,
    received: conn.adapter.received,
    relayErrors: conn.adapter.errors,
    changesSent: conn.adapter.changesSent,
    ...extra,
  }
}

async function create(wsUrl) {
  const conn = await connect(wsUrl, "create")
  if (!conn.relayStorageId) throw new Error("the relay did not advertise a storageId")
  const handle = conn.repo.create({
    title: "Opening hours of the municipal office",
    phone: "+41 31 000 00 00",
    languages: ["de", "fr"],
    kind: "contact-point",
  })
  await handle.whenReady()
  // The relay's sync state for us carries its heads; once they equal ours it stored the document.
  await until(handle, "remote-heads", () => relayHas(handle, conn.relayStorageId, handle.heads()), "the relay to hold the new document")
  return report(conn, { url: handle.url, documentId: handle.documentId, heads: handle.heads(), doc: handle.doc() })
}

async function read(wsUrl, url) {
  const conn = await connect(wsUrl, "read")
  const handle = await bounded(conn.repo.find(url), `the document ${url}`)
  return report(conn, { url: handle.url, heads: handle.heads(), doc: handle.doc() })
}

/** Sets `value` at `key`: a root key, or a JSON Pointer (RFC 6901) into maps and lists. */
function setAt(d, key, value) {
  if (!key.startsWith("/")) {
    d[key] = value
    return
  }
  const path = key
    .slice(1)
    .split("/")
    .map(s => s.replaceAll("~1", "/").replaceAll("~0", "~"))
  const step = (target, segment) => (Array.isArray(target) ? Number(segment) : segment)
  let target = d
  for (const segment of path.slice(0, -1)) {
    target = target[step(target, segment)]
    if (target === undefined || target === null) throw new Error(`nothing at ${segment} of ${key}`)
  }
  target[step(target, path.at(-1))] = value
}

async function write(wsUrl, url, key, value, push) {
  const conn = await connect(wsUrl, push ? "push" : "write")
  const handle = await bounded(conn.repo.find(url), `the document ${url}`)
  const before = handle.heads()
  const errorSeen = new Promise(resolve => conn.adapter.onRelayError(resolve))
  let doc
  if (push) {
    // The official client sends a read-only peer its heads but not its changes (its Automerge
    // honours the relay's read-only flag). This sends the change itself, from a copy the repo
    // does not know, so that the relay's verdict can only be about this one message.
    doc = A.change(A.clone(handle.doc()), d => setAt(d, key, value))
    const data = A.encodeSyncMessage({ heads: A.getHeads(doc), need: [], have: [], changes: [A.getLastLocalChange(doc)] })
    conn.adapter.send({ type: "sync", senderId: conn.peerId, targetId: conn.relayPeerId, documentId: handle.documentId, data })
  } else {
    handle.change(d => setAt(d, key, value))
    doc = handle.doc()
  }
  const after = encodeHeads(A.getHeads(doc))
  // The relay either accepts the change (its heads become ours) or refuses it with an `error`.
  await bounded(
    Promise.race([errorSeen, until(handle, "remote-heads", () => relayHas(handle, conn.relayStorageId, after), "the relay's heads")]),
    "the relay to accept or refuse the change",
  )
  return report(conn, {
    url: handle.url,
    headsBefore: before,
    headsAfter: after,
    relayHeads: handle.getSyncInfo(conn.relayStorageId)?.lastHeads ?? null,
    accepted: relayHas(handle, conn.relayStorageId, after),
    doc,
  })
}

/** Resolves once the relay's heads equal the handle's (both sides have everything). */
function synced(conn, handle, what) {
  return until(handle, "remote-heads", () => relayHas(handle, conn.relayStorageId, handle.heads()), what)
}

async function reconnect(readerUrl, writerUrl, url, key, value, where) {
  const dir = where === "memory" ? undefined : where
  let reader = await connect(readerUrl, "reader", dir)
  let handle = await bounded(reader.repo.find(url), `the document ${url}`)
  await synced(reader, handle, "the reader's first sync")
  const initial = { sent: reader.adapter.bytesSent, received: reader.adapter.bytesReceived }
  // The reader goes away: its connection closes, or the whole app with its storage.
  if (dir) await reader.repo.shutdown()
  else reader.repo.networkSubsystem.removeNetworkAdapter(reader.adapter)

  const writer = await connect(writerUrl, "writer")
  const written = await bounded(writer.repo.find(url), `the writer's copy of ${url}`)
  await synced(writer, written, "the writer's first sync")
  written.change(d => setAt(d, key, value))
  await synced(writer, written, "the relay to take the writer's edit")
  const editHeads = written.heads()
  await writer.repo.shutdown()

  // The reader comes back and catches up; only these bytes count.
  if (dir) {
    reader = await connect(readerUrl, "reader", dir)
    handle = await bounded(reader.repo.find(url), `the stored document ${url}`)
  } else {
    const adapter = new ObservedAdapter(readerUrl)
    const peer = new Promise(resolve => reader.repo.networkSubsystem.once("peer", resolve))
    reader.repo.networkSubsystem.addNetworkAdapter(adapter)
    reader.adapter = adapter
    await bounded(peer, "the relay's `peer` answer after reconnecting")
  }
  await until(handle, "change", () => handle.doc()?.[key] === value, "the reader to receive the edit")
  await synced(reader, handle, "the reader's catch-up to settle")
  // Anything still in flight once both sides agree counts too.
  await new Promise(resolve => setTimeout(resolve, 300))
  const result = report(reader, {
    initial,
    bytesSent: reader.adapter.bytesSent,
    bytesReceived: reader.adapter.bytesReceived,
    sizes: reader.adapter.sizes,
    editHeads,
    heads: handle.heads(),
    value: handle.doc()?.[key] ?? null,
  })
  await reader.repo.shutdown()
  return result
}

/** The id (`replaces` in the index) of the document that took the place of `documentId`. */
function replacementOf(index, documentId) {
  for (const [id, entry] of Object.entries(index?.documents ?? {})) {
    // Strings that are not text come back as objects (ImmutableString): compare their text.
    if ([...(entry.replaces ?? [])].some(r => String(r) === documentId)) return id
  }
  return null
}

async function erased(wsUrl, url, indexUrl) {
  const conn = await connect(wsUrl, "erased")
  const handle = await bounded(conn.repo.find(url), `the document ${url}`)
  const index = await bounded(conn.repo.find(indexUrl), `the index ${indexUrl}`)
  await synced(conn, handle, "the document's first sync")
  await synced(conn, index, "the index's first sync")
  const before = Object.keys(handle.doc()?.contact_points ?? {}).length
  // A line of its own, before the result line, so that the test erases only after this.
  process.stdout.write(JSON.stringify({ ready: true }) + "\n")
  const told = () => conn.adapter.unavailable.includes(handle.documentId)
  await bounded(
    new Promise(resolve => {
      const timer = setInterval(() => {
        if (told()) {
          clearInterval(timer)
          resolve()
        }
      }, 20)
    }),
    "the relay to say the document is unavailable",
  )
  await until(index, "change", () => !!replacementOf(index.doc(), handle.documentId), "the index to name the replacement").catch(e => {
    throw new Error(`${e.message}; received ${conn.adapter.received.join(",")}; index ${JSON.stringify(Object.entries(index.doc()?.documents ?? {}).map(([k, v]) => [k, v.replaces]))}; doc ${handle.documentId}`)
  })
  const next = replacementOf(index.doc(), handle.documentId)
  const replacement = await bounded(conn.repo.find(`automerge:${next}`), `the replacement ${next}`)
  await synced(conn, replacement, "the replacement's first sync")
  const result = report(conn, {
    contactsBefore: before,
    replacement: next,
    unavailable: conn.adapter.unavailable,
    doc: replacement.doc(),
    changes: A.getAllChanges(replacement.doc()).length,
    listed: Object.keys(index.doc().documents).includes(handle.documentId),
  })
  await conn.repo.shutdown()
  return result
}

const [mode, wsUrl, ...rest] = process.argv.slice(2)
try {
  let result
  if (mode === "create" && wsUrl) result = await create(wsUrl)
  else if (mode === "read" && wsUrl && rest.length === 1) result = await read(wsUrl, rest[0])
  else if (mode === "write" && wsUrl && rest.length === 3) result = await write(wsUrl, ...rest, false)
  else if (mode === "push" && wsUrl && rest.length === 3) result = await write(wsUrl, ...rest, true)
  else if (mode === "reconnect" && wsUrl && rest.length === 5) result = await reconnect(wsUrl, ...rest)
  else if (mode === "erased" && wsUrl && rest.length === 2) result = await erased(wsUrl, ...rest)
  else throw new Error("usage: interop.mjs create <wsUrl> | read <wsUrl> <url> | (write|push) <wsUrl> <url> <key> <value> | reconnect <readerWsUrl> <writerWsUrl> <url> <key> <value> <memory|DIR> | erased <wsUrl> <url> <indexUrl>")
  finish(result, 0)
} catch (e) {
  fail(e?.message ?? String(e))
}
