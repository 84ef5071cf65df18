// @ts-check
// The home screen: the guidance topics, search across Finland and the links an editor needs;
// and the browse screen, every role's contacts for the municipality.

import { content, h, show } from "./dom.js";
import { language, t } from "./i18n.js";
import { hasAreas, reviewAreas } from "./permissions.js";
import { client, state } from "./state.js";
import { nowLocal, today, todayByRule } from "./time.js";
import { contactCard } from "./widgets.js";

/** @typedef {import("./wasm.js").Topic} Topic */

// What the home screen shows, kept from the last time it was drawn from the open documents so
// that a cold start draws it from this snapshot before IndexedDB or the wasm is ready. It lives
// in localStorage, which is read without waiting, and holds no contact details, nothing
// members-only and no credentials: the language, the date, the municipality and its name, the
// national guidance's topics, whether the editors' links show and how many discarded edits
// wait. Signing out and a removal delete it with the database.
/** @typedef {{ v: number, lang: string, day: string, municipality: string, place: string, topics: Topic[], editor: boolean, discarded: number }} Home */

const FIRST_SCREEN = "contactpoint-first-screen";

/** Whether the URL names the home screen (no page in its hash). */
export function atHome() {
  return /^#?\/?$/.test(location.hash);
}
// The snapshot's shape: one of another shape (an older or newer app) is not drawn.
const FIRST_SCREEN_VERSION = 1;

/** @param {any} t */
function isText(t) {
  return t === null || (typeof t === "object" && typeof t.text === "string" && typeof t.lang === "string");
}

/** @param {any} t */
function isTopic(t) {
  return !!t && typeof t === "object" && typeof t.slug === "string" && isText(t.title) && isText(t.summary);
}

/**
 * The snapshot kept for this language's home screen today, if there is one.
 * @returns {Home | null}
 */
export function keptHome() {
  try {
    const home = JSON.parse(localStorage.getItem(FIRST_SCREEN) || "null");
    if (!home || home.v !== FIRST_SCREEN_VERSION || home.day !== todayByRule()) return null;
    const shaped =
      typeof home.lang === "string" &&
      typeof home.municipality === "string" &&
      typeof home.place === "string" &&
      Array.isArray(home.topics) &&
      home.topics.length > 0 &&
      home.topics.every(isTopic) &&
      typeof home.editor === "boolean" &&
      Number.isInteger(home.discarded);
    return shaped ? home : null;
  } catch {
    // Storage turned off, or a value this version cannot read: the documents draw the screen.
    return null;
  }
}

/** Deletes the snapshot (signing out, a removal). */
export function forgetHome() {
  try {
    localStorage.removeItem(FIRST_SCREEN);
  } catch {
    // Storage turned off: nothing was kept.
  }
}

/** @param {Home} home */
function keepHome(home) {
  // Only a screen drawn once start-up has opened the stored documents is kept (one drawn
  // before, from a fallback, has no topics yet), and a tab whose database was deleted (signed
  // out in another tab, site data cleared) must not write it back.
  if (!state.opened || state.store.closed || !home.topics.length) return;
  const text = JSON.stringify(home);
  try {
    if (localStorage.getItem(FIRST_SCREEN) !== text) localStorage.setItem(FIRST_SCREEN, text);
  } catch {
    // Full or turned off: the next cold start waits for the documents instead.
  }
}

/** The home screen as the documents and settings have it now. @returns {Home} */
function currentHome() {
  const { settings } = state;
  const municipality = settings.municipality || "";
  const home = {
    v: FIRST_SCREEN_VERSION,
    lang: language(),
    day: today(),
    municipality,
    place: client().municipality(municipality, language()).name,
    topics: client().topics(language(), today()),
    editor: hasAreas(reviewAreas(settings.user)),
    discarded: (settings.discarded || []).length,
  };
  keepHome(home);
  return home;
}

/**
 * Whether the documents, now open, show the home screen as `snapshot` did (and keeps theirs).
 * @param {Home} snapshot
 */
export function homeAsKept(snapshot) {
  return JSON.stringify(currentHome()) === JSON.stringify(snapshot);
}

/**
 * The home screen, from the documents, or from the snapshot a cold start found.
 * @param {Home} [snapshot]
 */
export function homeScreen(snapshot) {
  const { municipality, place, topics, editor, discarded } = snapshot || currentHome();
  const q = h("input", { id: "q", type: "search", autocomplete: "off", "aria-describedby": "q-hint" });
  const results = h("ul", { class: "list", "aria-live": "polite" });
  const kept = history.state && history.state.q;
  q.addEventListener("input", () => {
    // The query is kept in the page's history entry, so Back from a result brings it back.
    history.replaceState({ ...(history.state || {}), q: q.value }, "");
    // Before start-up has opened the documents (a home screen drawn from the snapshot) there is
    // nothing to search yet; start-up searches again once they are open.
    if (!q.value.trim() || !state.opened) return results.replaceChildren();
    // Search covers all of Finland, the home municipality's services first: a professional may
    // need a contact elsewhere too.
    const hits = client().search(q.value, municipality, language());
    results.replaceChildren(...(hits.length ? hits.map((x) => h("li", {}, h("a", { href: x.href }, h("strong", {}, x.title), x.subtitle))) : [h("li", {}, t("no_results"))]));
  });
  show(
    t("what_worries"),
    h("p", {}, `${t("municipality")}: `, h("a", { href: "#/municipality" }, place)),
    h(
      "ul",
      { class: "topics list" },
      topics.map((c) =>
        h("li", {}, h("a", { href: `#/card/${encodeURIComponent(c.slug)}` }, h("strong", {}, content("span", c.title)), content("span", c.summary, { class: "summary" }))),
      ),
    ),
    h("h2", {}, h("label", { for: "q" }, t("search"))),
    h("p", { class: "hint", id: "q-hint" }, t("search_hint")),
    q,
    results,
    h(
      "p",
      { class: "row" },
      h("a", { href: "#/browse" }, t("browse")),
      h("a", { href: `#/print/${encodeURIComponent(municipality)}`, "data-testid": "print-link" }, t("print_sheet")),
    ),
    editor
      ? h("p", { class: "row" }, h("a", { href: "#/review" }, t("review_queue")), h("a", { href: "#/add" }, t("add_contact")), h("a", { href: "#/retired" }, t("retired_list")))
      : null,
    discarded ? h("p", {}, h("a", { href: "#/discarded" }, `${t("discarded")} (${discarded})`)) : null,
  );
  if (kept) {
    q.value = kept;
    q.dispatchEvent(new Event("input"));
  }
}

export function browseScreen() {
  const groups = client().browse(state.settings.municipality || "", language(), today(), nowLocal());
  show(
    t("browse"),
    ...groups.map((g) => h("section", {}, h("h2", {}, g.label), g.contacts.map(contactCard))),
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}
