// @ts-check
// The app's state in one place: the store, the wasm client, the connection, the settings read
// from the store, and what the status line says. Whoever changes what the status line shows
// calls `changed()`; the status line subscribes.

/** @typedef {import("./store.js").Store} Store */
/** @typedef {import("./wasm.js").Wasm} Wasm */
/** @typedef {import("./sync.js").Sync} Sync */
/** @typedef {import("./wasm.js").Discarded} Discarded */

/** @typedef {"reader" | "editor" | "admin"} RoleName */
/** @typedef {{ name?: string, role?: RoleName, areas?: string[] }} User The signed-in user as the relay described them. */

/**
 * What the store's settings hold (every key optional: nothing is written before sign-in).
 * @typedef {{
 *   token?: string, lang?: string, user?: User, indexDoc?: string, storageId?: string,
 *   municipality?: string, lastSynced?: string, installHintDone?: boolean, discarded?: Discarded[],
 *   feedback?: string | null,
 * }} Settings
 */

export const state = {
  /** @type {Store} */
  store: /** @type {any} */ (null),
  /** @type {Wasm | null} */
  client: null,
  /** @type {Sync | null} */
  sync: null,
  /** @type {Settings} */
  settings: {},
  /** @type {{ state: string, at: string | undefined }} */
  lastStatus: { state: "offline", at: undefined },
  // Start-up has opened every stored document (or there were none): screens drawn before this
  // may lack some, and the home screen's snapshot is kept only from after it.
  opened: false,
  // A local change was saved while the relay was out of reach and has not been confirmed yet.
  waitingLocal: false,
  /**
   * A document whose data from the relay could not be applied, until data for it applies again.
   * @type {{ doc: string, reason: string, retrying: boolean } | null}
   */
  syncProblem: null,
};

/** The wasm client, which exists once signed in: screens that need it run only then. */
export function client() {
  if (!state.client) throw new Error("not signed in");
  return state.client;
}

/** The connection, which exists once signed in. */
export function sync() {
  if (!state.sync) throw new Error("not signed in");
  return state.sync;
}

/** @type {(() => void)[]} */
const listeners = [];

/**
 * Calls `listener` whenever the state changes in a way shown outside the screen.
 * @param {() => void} listener
 */
export function subscribe(listener) {
  listeners.push(listener);
}

/** Tells the subscribers that the state changed. */
export function changed() {
  for (const l of listeners) l();
}
