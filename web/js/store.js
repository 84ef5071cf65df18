// @ts-check
// Local persistence in IndexedDB: document chunks, sync states and settings. Everything the app
// needs to work offline lives here; signing out deletes the whole database.

const DB_NAME = "contactpoint";
const DB_VERSION = 1;

/**
 * @template T
 * @param {IDBRequest<T>} req
 * @returns {Promise<T>}
 */
function promisify(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** @param {IDBTransaction} tx @returns {Promise<void>} */
function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

/** @typedef {{ bytes: Uint8Array, chunks: number, state: Uint8Array | undefined }} Stored A document's stored bytes, chunk count and sync state. */

export class Store {
  static async open() {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      const chunks = db.createObjectStore("chunks", { autoIncrement: true });
      chunks.createIndex("doc", "doc");
      db.createObjectStore("sync");
      db.createObjectStore("settings");
    };
    const db = await promisify(req);
    const store = new Store(db);
    // Another tab deleting the database (signing out, a removed device) must not wait for this
    // one: this connection gives way. The browser closes it by force when the site's data is
    // cleared.
    db.onversionchange = () => {
      db.close();
      store.closed = true;
    };
    db.onclose = () => {
      store.closed = true;
    };
    return store;
  }

  /** @param {IDBDatabase} db */
  constructor(db) {
    this.db = db;
    // Closed for good: the database was deleted here, or another tab deleted or upgraded it, or
    // the browser cleared it.
    this.closed = false;
  }

  /** @param {string} key @returns {Promise<any>} */
  async getSetting(key) {
    return promisify(this.db.transaction("settings").objectStore("settings").get(key));
  }

  /** @param {string} key @param {unknown} value */
  async setSetting(key, value) {
    const tx = this.db.transaction("settings", "readwrite");
    tx.objectStore("settings").put(value, key);
    return done(tx);
  }

  /** Every setting by key. @returns {Promise<import("./state.js").Settings>} */
  async settings() {
    const tx = this.db.transaction("settings");
    const store = tx.objectStore("settings");
    const [keys, values] = await Promise.all([promisify(store.getAllKeys()), promisify(store.getAll())]);
    return Object.fromEntries(keys.map((k, i) => [String(k), values[i]]));
  }

  // All stored chunks of a document, concatenated in the order they were stored.
  /** @param {string} doc */
  async loadDoc(doc) {
    /** @type {{ bytes: ArrayBuffer }[]} */
    const rows = await promisify(this.db.transaction("chunks").objectStore("chunks").index("doc").getAll(doc));
    const total = rows.reduce((n, r) => n + r.bytes.byteLength, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const r of rows) {
      out.set(new Uint8Array(r.bytes), at);
      at += r.bytes.byteLength;
    }
    return { bytes: out, chunks: rows.length };
  }

  // Every stored document at once, for a cold start: one transaction instead of two requests per
  // document. Chunks come back in the order they were stored (their keys increase), so each
  // document's bytes are concatenated exactly as `loadDoc` does it. Returns a Map from document
  // id to {bytes, chunks, state}.
  /** @returns {Promise<Map<string, Stored>>} */
  async loadAll() {
    const tx = this.db.transaction(["chunks", "sync"]);
    const sync = tx.objectStore("sync");
    const [rows, ids, states] = await Promise.all([promisify(tx.objectStore("chunks").getAll()), promisify(sync.getAllKeys()), promisify(sync.getAll())]);
    /** @type {Map<string, ArrayBuffer[]>} */
    const parts = new Map();
    for (const r of rows) {
      const p = parts.get(r.doc);
      if (p) p.push(r.bytes);
      else parts.set(r.doc, [r.bytes]);
    }
    /** @type {Map<string, Stored>} */
    const out = new Map();
    for (const [doc, chunks] of parts) {
      const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
      let at = 0;
      for (const c of chunks) {
        bytes.set(new Uint8Array(c), at);
        at += c.byteLength;
      }
      out.set(doc, { bytes, chunks: chunks.length, state: undefined });
    }
    ids.forEach((doc, i) => {
      const d = out.get(/** @type {string} */ (doc));
      if (d) d.state = new Uint8Array(states[i]);
    });
    return out;
  }

  /** @param {string} doc @param {Uint8Array} bytes */
  async append(doc, bytes) {
    const tx = this.db.transaction("chunks", "readwrite");
    tx.objectStore("chunks").add({ doc, bytes: bytes.slice().buffer });
    return done(tx);
  }

  // Replaces every chunk of a document with one snapshot, atomically.
  /** @param {string} doc @param {Uint8Array} snapshot */
  async compact(doc, snapshot) {
    const tx = this.db.transaction("chunks", "readwrite");
    const store = tx.objectStore("chunks");
    const keys = await promisify(store.index("doc").getAllKeys(doc));
    for (const k of keys) store.delete(k);
    store.add({ doc, bytes: snapshot.slice().buffer });
    return done(tx);
  }

  /** @param {string} doc */
  async syncState(doc) {
    const v = await promisify(this.db.transaction("sync").objectStore("sync").get(doc));
    return v ? new Uint8Array(v) : undefined;
  }

  /** @param {[string, Uint8Array][]} entries */
  async setSyncStates(entries) {
    const tx = this.db.transaction("sync", "readwrite");
    for (const [doc, bytes] of entries) tx.objectStore("sync").put(bytes.slice().buffer, doc);
    return done(tx);
  }

  // A document the relay erased: its chunks and sync state go, in one transaction.
  /** @param {string} doc */
  async deleteDoc(doc) {
    const tx = this.db.transaction(["chunks", "sync"], "readwrite");
    const chunks = tx.objectStore("chunks");
    const keys = await promisify(chunks.index("doc").getAllKeys(doc));
    for (const k of keys) chunks.delete(k);
    tx.objectStore("sync").delete(doc);
    return done(tx);
  }

  // Signing out: nothing of this device's data may remain.
  async wipe() {
    this.closed = true;
    this.db.close();
    await promisify(indexedDB.deleteDatabase(DB_NAME));
  }
}
