// @ts-check
// The connection to the relay: one WebSocket carrying every document, reconnecting with
// exponential back-off, and syncing on start, when the browser comes back online, when the app
// becomes visible and on a slow timer. The wasm client decides what to send and store.
//
// A browser cannot read why a WebSocket upgrade was refused, so when a connection ends before
// the relay greeted it, or the relay ended it, the app asks /api/v0/session whether this
// device's token still works. Only a device revoked or a user disabled by an administrator
// (`revoked`, `disabled`) stops syncing and is reported (`onRemoved`); a token the relay does
// not know, or a question that fails, changes nothing.

const MIN_DELAY = 1000;
const MAX_DELAY = 60000;
const SLOW_TIMER = 5 * 60 * 1000;
const QUIET = 400;

/** @typedef {import("./wasm.js").Effect} Effect */
/** @typedef {import("./wasm.js").Discarded} Discarded */
/** @typedef {import("./wasm.js").Explained} Explained */
/** @typedef {import("./store.js").Stored} Stored */

/**
 * What /api/v0/session says about a working token: the user's role and areas as they are now,
 * and the areas' members-only documents the user may read.
 * @typedef {{ role: import("./state.js").RoleName, areas: string[], members_only_documents: { id: string, area: string }[] }} Session
 */

/**
 * What the app does when something happens on the connection.
 * @typedef {{
 *   onChange: (doc: string) => void,
 *   onStatus: (state: string, at?: string) => void,
 *   onRefused: (message: string, doc: string | null, explained: Explained) => void,
 *   onSyncFailed: (doc: string, reason: string, retrying: boolean) => void,
 *   onStoreError: (e: any) => void,
 *   onRemoved: (reason: string) => void,
 *   onReenter: (values: Discarded[]) => void,
 *   onSession: (session: Session) => void,
 * }} Hooks
 */

export class Sync {
  /**
   * @param {import("./wasm.js").Wasm} client the wasm client
   * @param {import("./store.js").Store} store
   * @param {string} token the device's token
   * @param {Hooks} hooks
   */
  constructor(client, store, token, hooks) {
    this.client = client;
    this.store = store;
    this.token = token;
    this.hooks = hooks;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.delay = MIN_DELAY;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retry = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.quietTimer = undefined;
    /** @type {Set<string>} */
    this.docs = new Set();
    this.stopped = false;
    this.state = "offline";
    /** @type {Promise<unknown>} */
    this.writes = Promise.resolve();
    this.storeFailed = false;
    // The current connection: whether the relay greeted it and whether the relay ended it.
    /** @type {{ greeted: boolean, endedByRelay: boolean } | null} */
    this.link = null;
    /** @type {Promise<string | null> | null} */
    this.checking = null;
    addEventListener("online", () => this.now());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.now();
    });
    setInterval(() => this.now(), SLOW_TIMER);
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/sync?token=${encodeURIComponent(this.token)}`;
  }

  // Connects now unless a connection is open or being opened.
  now() {
    if (this.stopped || (this.ws && this.ws.readyState <= 1)) return;
    clearTimeout(this.retry);
    this.connect();
  }

  connect() {
    this.setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleRetry();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    const link = { greeted: false, endedByRelay: false };
    this.link = link;
    ws.onopen = () => this.apply(this.client.connect());
    ws.onmessage = (ev) => {
      // A connection given up (stopped, replaced) has nothing more to say.
      if (this.ws !== ws) return;
      this.apply(this.client.receive(new Uint8Array(ev.data)));
      this.markQuietLater();
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.link = null;
      this.client.disconnected();
      this.saveSyncStates();
      this.setState("offline");
      this.scheduleRetry();
      // Refused before the relay's greeting (a revoked token gets a 401 the page cannot see),
      // or closed by the relay (a revocation closes the device's connection with an error).
      if (!link.greeted || link.endedByRelay || ev.wasClean) this.checkSession();
    };
    ws.onerror = () => {};
  }

  // Asks the relay whether this device's token still works, when the browser is online; one
  // question at a time. Resolves to the answer's reason when the device was removed.
  checkSession() {
    if (this.stopped || !navigator.onLine) return Promise.resolve(null);
    if (!this.checking) {
      this.checking = sessionStatus(this.token)
        .then(({ removed: reason, session }) => {
          if (reason && !this.stopped) {
            this.stop();
            this.hooks.onRemoved(reason);
          }
          if (session && !this.stopped) this.hooks.onSession(session);
          return reason;
        })
        .finally(() => {
          this.checking = null;
        });
    }
    return this.checking;
  }

  scheduleRetry() {
    if (this.stopped) return;
    const jitter = Math.random() * 0.3 * this.delay;
    this.retry = setTimeout(() => this.connect(), this.delay + jitter);
    this.delay = Math.min(this.delay * 2, MAX_DELAY);
  }

  // Opens a document from local storage; when connected, it is announced to the relay at once.
  // Opens a document from the local store; `preloaded` (from Store.loadAll) saves the store
  // round trips at a cold start. A document not in it has nothing stored yet.
  /** @param {string} doc @param {Map<string, Stored>} [preloaded] */
  async open(doc, preloaded) {
    if (this.docs.has(doc)) return;
    this.docs.add(doc);
    const { bytes, chunks, state } = preloaded
      ? preloaded.get(doc) || { bytes: new Uint8Array(0), chunks: 0, state: undefined }
      : await Promise.all([this.store.loadDoc(doc), this.store.syncState(doc)]).then(([d, s]) => ({ ...d, state: s }));
    this.apply(this.client.openDoc(doc, bytes, state));
    if (chunks > 64) {
      const snapshot = this.client.save(doc);
      if (snapshot) this.queueWrite(() => this.store.compact(doc, snapshot));
    }
  }

  // Applies a local edit's effects (the client returns them from its change functions).
  /** @param {Effect[]} effects */
  applyLocal(effects) {
    this.apply(effects);
  }

  /** @param {Effect[]} effects */
  apply(effects) {
    for (const e of effects) {
      switch (e.kind) {
        case "send":
          if (this.ws && this.ws.readyState === 1) this.ws.send(e.bytes);
          break;
        case "store":
          // Writes are chained so that chunks land in the order they were produced.
          this.queueWrite(() => this.store.append(e.doc, e.bytes));
          break;
        case "connected":
          if (this.link) this.link.greeted = true;
          // What this user may read besides the catalogue (members-only documents) can change
          // between connections; the relay says at each.
          this.checkSession();
          this.delay = MIN_DELAY;
          this.setState("syncing");
          break;
        case "changed":
          this.hooks.onChange(e.doc);
          break;
        case "unavailable":
          this.hooks.onChange(e.doc);
          break;
        case "refused":
          // An error about no document is the relay's word on the whole connection (a
          // revocation, a rotation), which it closes next.
          if (!e.doc && this.link) this.link.endedByRelay = true;
          this.hooks.onRefused(e.message, e.doc, e.explained);
          break;
        case "sync_failed":
          // The relay's data did not apply; the client asked for a fresh copy (or waits).
          this.hooks.onSyncFailed(e.doc, e.reason, e.retrying);
          break;
        case "replace":
          // A reset: everything stored for the document gives way to the relay's state.
          this.queueWrite(() => this.store.compact(e.doc, e.bytes));
          this.hooks.onChange(e.doc);
          break;
        case "closed":
          if (this.link) this.link.endedByRelay = true;
          if (this.ws) this.ws.close();
          break;
        case "open":
          // It replaced a document the relay erased; the client carries edits over once it is here.
          this.open(e.doc);
          break;
        case "erased":
          // The relay erased this document: nothing of it stays on the device.
          this.docs.delete(e.doc);
          this.queueWrite(() => this.store.deleteDoc(e.doc));
          this.hooks.onChange(e.replaced_by || e.doc);
          break;
        case "carried":
          // Edits made here that the relay never had, moved onto the new document; what could
          // not be moved is listed for entering again.
          if (e.reenter.length) this.hooks.onReenter(e.reenter);
          break;
      }
    }
  }

  // Local writes run one after another, in the order they were produced. A failed write is
  // reported and does not stop the ones after it (a rejected chain would drop them silently).
  /** @param {() => Promise<unknown> | undefined} write */
  queueWrite(write) {
    // Once stopped (signed out, removed) the store is being deleted: nothing more is written.
    if (this.stopped) return;
    this.writes = this.writes
      .then(() => (this.stopped ? undefined : write()))
      .catch((e) => {
        if (this.stopped) return;
        this.storeFailed = true;
        this.hooks.onStoreError(e);
      });
  }

  markQuietLater() {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(async () => {
      if (this.stopped || !this.client.isConnected()) return;
      const all = [...this.docs].every((d) => this.client.isAcknowledged(d));
      if (all) {
        await this.writes;
        // Not "up to date" while something could not be saved on this device.
        if (this.storeFailed) return;
        await this.saveSyncStates();
        if (this.stopped) return;
        const at = new Date().toISOString();
        await this.store.setSetting("lastSynced", at);
        this.setState("online", at);
      }
    }, QUIET);
  }

  async saveSyncStates() {
    if (this.stopped) return;
    /** @type {[string, Uint8Array][]} */
    const entries = [];
    for (const d of this.docs) {
      const s = this.client.syncState(d);
      if (s) entries.push([d, s]);
    }
    if (entries.length) await this.store.setSyncStates(entries);
  }

  /** @param {string} state @param {string} [at] */
  setState(state, at) {
    this.state = state;
    this.hooks.onStatus(state, at);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.quietTimer);
    const ws = this.ws;
    this.ws = null;
    this.link = null;
    if (ws) ws.close();
  }
}

// What /api/v0/session says about a device token. `removed` is `revoked` or `disabled` when an
// administrator removed the device or its user, else null (the token works, the relay does not
// know it, or the question itself failed: offline, a proxy's error page, a relay that is
// restarting). `session` is the relay's answer for a working token (the user, and the areas'
// members-only documents the user may read), else null.
/**
 * @param {string} token
 * @returns {Promise<{ removed: string | null, session: Session | null }>}
 */
export async function sessionStatus(token) {
  let res;
  try {
    res = await fetch("/api/v0/session", { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
  } catch {
    return { removed: null, session: null };
  }
  const body = await res.json().catch(() => null);
  if (res.status === 200 && body && Array.isArray(body.members_only_documents)) return { removed: null, session: body };
  if (res.status !== 401 || !body) return { removed: null, session: null };
  return { removed: body.reason === "revoked" || body.reason === "disabled" ? body.reason : null, session: null };
}
