// @ts-check
// The screens loaded when first opened, not on a first visit: the administration (it needs the
// relay anyway), the accessibility statement, the printable contact sheet and the install hint
// are needed now and then; the editing screens only by editors, whose app loads them at start.
// The service worker keeps each once fetched, and across updates. Each is lent what it needs of
// the app (the editing screens import it, lent.js); its words join the catalogue when it loads.
// This module stays next to them (web/js), since the paths it names them by are the built
// files' too.

import { content, errorText, h, main, show } from "./dom.js";
import { addMessages, addWords, language, t } from "./i18n.js";
import { maintains } from "./permissions.js";
import { homeScreen } from "./screen-home.js";
import { client, state } from "./state.js";
import { finnishDate, today } from "./time.js";

/**
 * The screen a module failed to load for: the network is the usual cause.
 * @param {string} title
 * @returns {(e: unknown) => void}
 */
function failed(title) {
  return (e) => show(t(title), h("p", { class: "error", role: "alert" }, `${t("no_network")} (${errorText(e)})`));
}

/** @type {Map<string, { loading: Promise<any> | null, failures: number }>} */
const modules = new Map();

/**
 * A module loaded on demand, by its URL, loaded once. A browser keeps a failed import's failure
 * for the page's life, so a load tried again after one (the network was down) asks for the file
 * under another query, which the service worker and the relay ignore.
 * @param {URL} url
 * @returns {Promise<any>}
 */
function importOnDemand(url) {
  const entry = modules.get(url.href) ?? { loading: null, failures: 0 };
  modules.set(url.href, entry);
  if (entry.loading) return entry.loading;
  const asked = new URL(url);
  if (entry.failures) asked.searchParams.set("try", String(entry.failures));
  const loading = import(asked.href);
  entry.loading = loading;
  loading.catch(() => {
    entry.loading = null;
    entry.failures += 1;
  });
  return loading;
}

/**
 * A module of ours beside this one, by its source name (the build rewrites it to the built
 * file's).
 * @param {string} name
 */
const beside = (name) => new URL(name, import.meta.url);

/** @typedef {typeof import("./editing.js")} Editing */

/**
 * The editing screens (editing.js), their words and messages added to the catalogue. Its built
 * name is in the page (the module imports the bundle, so the bundle cannot name it).
 * @returns {Promise<Editing>}
 */
export function loadEditing() {
  const name = document.querySelector('meta[name="editing-module"]')?.getAttribute("content");
  if (!name) return Promise.reject(new Error("the page names no editing module"));
  return importOnDemand(new URL(name, document.baseURI)).then((/** @type {Editing} */ m) => {
    addWords(m.WORDS);
    addMessages(m.MESSAGES);
    return m;
  });
}

/**
 * Draws an editing screen once the editing screens are loaded, unless the person has gone to
 * another screen meanwhile; `title` (a word of the app's own) heads the message when they
 * cannot be loaded. What the screen itself throws is the caller's.
 * @param {string} title
 * @param {(m: Editing) => unknown} draw
 */
export function editingScreen(title, draw) {
  const at = location.hash;
  const here = () => location.hash === at;
  return loadEditing().then(
    (m) => (here() ? draw(m) : undefined),
    (e) => (here() ? failed(title)(e) : undefined),
  );
}

/** The accessibility statement (statement.js), for anyone, signed in or not. */
export function accessibilityScreen() {
  const ctx = {
    h,
    show,
    t,
    settings: state.settings,
    saveSetting: (/** @type {string} */ k, /** @type {unknown} */ v) => (state.settings.token ? state.store.setSetting(k, v) : Promise.resolve()),
  };
  return importOnDemand(beside("./statement.js"))
    .then((/** @type {typeof import("./statement.js")} */ m) => {
      addWords(m.WORDS);
      return m.statementScreen(ctx);
    })
    .catch(failed("a11y_title"));
}

/**
 * A municipality's printable contact sheet (print.js), printed at a desk now and then.
 * @param {string} code
 */
export function printScreen(code) {
  const ctx = { h, show, t, content, client: client(), settings: state.settings, language, today, finnishDate, home: homeScreen };
  return importOnDemand(beside("./print.js"))
    .then((/** @type {typeof import("./print.js")} */ m) => {
      addWords(m.WORDS);
      return m.printScreen(code, ctx);
    })
    .catch(failed("print_sheet"));
}

/**
 * The administration screens (admin.js).
 * @param {string} page
 */
export function adminScreen(page) {
  const ctx = { h, show, t, language, token: () => state.settings.token, user: () => state.settings.user, maintains: () => maintains(state.settings.user) };
  return importOnDemand(beside("./admin.js"))
    .then((/** @type {typeof import("./admin.js")} */ m) => {
      addWords(m.WORDS);
      return m.adminScreen(page, ctx);
    })
    .catch(failed("admin_title"));
}

// The hint to install the app, shown once (install-hint.js): on the browser's install offer
// (`beforeinstallprompt`), or on iOS Safari, which has none. The module is loaded only when the
// hint is to be shown.
/** @type {any} */
let installOffer = null;

/**
 * The browser offered to install the app (`beforeinstallprompt`).
 * @param {Event} e
 */
export function offerInstall(e) {
  installOffer = e;
  installHint();
}

export function installHint() {
  const { settings } = state;
  if (!settings.token || settings.installHintDone || matchMedia("(display-mode: standalone)").matches || /** @type {any} */ (navigator).standalone) return;
  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent) && !/CriOS|FxiOS|EdgiOS/.test(navigator.userAgent);
  if (!installOffer && !ios) return;
  const ctx = {
    h,
    t,
    main,
    offer: () => installOffer,
    taken: () => (installOffer = null),
    done: () => ((settings.installHintDone = true), state.store.setSetting("installHintDone", true)),
  };
  importOnDemand(beside("./install-hint.js"))
    .then((/** @type {typeof import("./install-hint.js")} */ m) => {
      addWords(m.WORDS);
      m.installHint(ctx);
    })
    .catch(() => {});
}
