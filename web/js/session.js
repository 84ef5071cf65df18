// @ts-check
// The signed-in session: starting from local data before any network, what the relay says about
// this user at each connection, and signing out or being removed, which leave nothing behind.

import { h, main, painted, statusEl } from "./dom.js";
import { language, t } from "./i18n.js";
import { installHint, loadEditing } from "./on-demand.js";
import { maintains } from "./permissions.js";
import { showRefusal } from "./refusal.js";
import { route, routeSoon } from "./routes.js";
import { atHome, forgetHome, homeAsKept } from "./screen-home.js";
import { changed, client, state, sync } from "./state.js";
import { Sync } from "./sync.js";
import { Wasm } from "./wasm.js";

/** @param {number} [bytes] */
function randomId(bytes = 16) {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Deletes everything this device holds: the database (documents, sync states, settings) and
 * any cache of this origin other than the service worker's app shell (`contactpoint-<version>`,
 * the built files only, which hold no one's data).
 */
export async function wipeDevice() {
  if (state.sync) state.sync.stop();
  forgetHome();
  await state.store.wipe();
  // Once the database is deleted every other tab's connection has closed and stopped writing
  // the snapshot; one may have written it in between.
  forgetHome();
  if ("caches" in self) {
    const keys = await caches.keys().catch(() => /** @type {string[]} */ ([]));
    await Promise.all(keys.filter((k) => !k.startsWith("contactpoint-")).map((k) => caches.delete(k).catch(() => false)));
  }
}

/**
 * The relay says an administrator revoked this device or disabled its user: the device keeps
 * nothing. The page reloads from the app shell, so that nothing stays in memory either; why
 * (and in which language) travels in the history entry and the sign-in screen says it.
 * @param {string} reason
 */
async function removed(reason) {
  const lang = language();
  try {
    await wipeDevice();
  } catch (e) {
    // Not reloaded: the next start would find the data, ask again and come back here.
    main.replaceChildren(h("p", { class: "error", role: "alert" }, `${t("wipe_failed")}: ${e && /** @type {Error} */ (e).message ? /** @type {Error} */ (e).message : e}`));
    return;
  }
  history.replaceState({ removed: reason, lang }, "", location.pathname);
  location.reload();
}

/**
 * What the relay says about this user at each connection: role and areas as they are now, and
 * the areas' members-only documents the user may read (the catalogue does not list them). One
 * the user no longer may read is answered "unavailable" and deleted like an erased document.
 * @param {{ role: import("./state.js").RoleName, areas: string[], members_only_documents: { id: string }[] }} session
 */
async function sessionUpdated(session) {
  const { settings } = state;
  const user = { ...(settings.user || {}), role: session.role, areas: session.areas };
  if (JSON.stringify(user) !== JSON.stringify(settings.user)) {
    settings.user = user;
    await state.store.setSetting("user", user);
    editorsScreens();
    routeSoon();
  }
  for (const d of session.members_only_documents) await sync().open(d.id);
}

/** @param {Map<string, any>} [preloaded] */
async function openIndexedDocs(preloaded) {
  for (const id of client().documentIds(state.settings.indexDoc || "")) await sync().open(id, preloaded);
}

/** Refusals shown so far: only the latest is drawn again. */
let refusals = 0;

/**
 * An editor's app loads the editing screens after its first screen, so that they open offline
 * (the service worker keeps them) and the rules' messages are worded wherever they are shown.
 */
function editorsScreens() {
  if (maintains(state.settings.user)) loadEditing().catch(() => {});
}

/**
 * Start-up: local data first, then the network.
 * @param {import("./state.js").Settings} [read] the settings as just read from the store, if they were
 * @param {import("./screen-home.js").Home | null} [early] the snapshot the home screen was drawn
 *   from before the store was open, if it was
 */
export async function start(read, early = null) {
  const { store } = state;
  const settings = (state.settings = read || (await store.settings()));
  changed();
  // Nothing is written before sign-in: a removed device's fresh store stays empty, and a home
  // screen kept from before has no business here.
  if (!settings.token) {
    forgetHome();
    return route();
  }
  if (!settings.storageId) {
    settings.storageId = randomId();
    await store.setSetting("storageId", settings.storageId);
  }
  // A fresh peer id per running instance: two tabs never share one. It travels in every message,
  // so it is short: 64 random bits tell this device's tabs apart and never meet by chance.
  const wasm = (state.client = new Wasm(`tab-${randomId(8)}`, settings.storageId));
  wasm.setAuthor((settings.user || {}).name || "");
  const connection = (state.sync = new Sync(wasm, store, settings.token, {
    onChange: async (doc) => {
      if (state.syncProblem && state.syncProblem.doc === doc) {
        state.syncProblem = null;
        changed();
      }
      if (doc === settings.indexDoc) await openIndexedDocs();
      routeSoon();
    },
    onStatus: (now, at) => {
      state.lastStatus = { state: now, at };
      changed();
    },
    onStoreError: (e) => {
      statusEl.replaceChildren(h("span", { class: "error", role: "alert" }, `${t("store_failed")}: ${e && e.message ? e.message : e}`));
    },
    onRefused: (message, doc, explained) => {
      showRefusal(message, doc, explained);
      changed();
      // The rules' messages are worded with the editing screens: if they were still on the way,
      // the refusal is drawn again once they are here (unless it was dealt with or replaced).
      const n = ++refusals;
      loadEditing().then(
        () => n === refusals && document.getElementById("refusal") && showRefusal(message, doc, explained),
        () => {},
      );
    },
    onSyncFailed: (doc, reason, retrying) => {
      state.syncProblem = { doc, reason, retrying };
      changed();
    },
    onRemoved: (reason) => removed(reason),
    onSession: (session) => sessionUpdated(session),
    onReenter: async (values) => {
      // Edits to a document the relay replaced that could not be moved onto the new one.
      const at = new Date().toISOString();
      const kept = ((await store.getSetting("discarded")) || []).concat(values.map((d) => ({ ...d, at })));
      await store.setSetting("discarded", kept);
      settings.discarded = kept;
      routeSoon();
    },
  }));
  // A home screen drawn from the snapshot stands if the settings agree with it, until the
  // documents are open (below).
  let shown = !!early && early.lang === language() && early.municipality === settings.municipality;
  if (settings.indexDoc) {
    // The home screen needs only the national guidance. Without a snapshot it is shown as soon
    // as the national documents are open; the other documents open after the first paint. Other
    // screens wait for everything.
    const home = settings.municipality && atHome();
    // Everything stored comes out of IndexedDB in one transaction.
    const stored = await store.loadAll();
    performance.mark("cp-read");
    await connection.open(settings.indexDoc, stored);
    if (home && !shown) {
      for (const id of wasm.nationalDocumentIds(settings.indexDoc)) await connection.open(id, stored);
      route();
      performance.mark("cp-drawn");
      shown = true;
      await painted();
    }
    await openIndexedDocs(stored);
    // Copies the index no longer lists (a document the relay erased, left from before the app
    // closed) are opened too: the relay says they are unavailable and the client deletes them.
    for (const id of stored.keys()) await connection.open(id, stored);
    performance.mark("cp-opened");
  }
  // Without stored documents everything arrives by sync and is drawn as it does.
  state.opened = true;
  // A home screen shown early stays as it is when someone is typing a search there, or when it
  // came from the snapshot and the documents show the same (no second drawing moves focus and
  // scroll under the person); a search typed or kept before then runs again on everything. Any
  // other screen is drawn now, from every document.
  const q = shown && atHome() ? document.getElementById("q") : null;
  const typing = !!q && document.activeElement === q;
  if (q && (typing || (early && homeAsKept(early)))) {
    if (/** @type {HTMLInputElement} */ (q).value.trim()) q.dispatchEvent(new Event("input"));
  } else route();
  connection.now();
  installHint();
  editorsScreens();
  // A phone that was offline when it was removed learns it at its first contact.
  connection.checkSession();
}
