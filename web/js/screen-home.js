// @ts-check
// The home screen: the guidance topics, search across Finland and the links an editor needs;
// and the browse screen, every role's contacts for the municipality.

import { content, h, show } from "./dom.js";
import { language, t } from "./i18n.js";
import { hasAreas, reviewAreas } from "./permissions.js";
import { client, state } from "./state.js";
import { nowLocal, today } from "./time.js";
import { contactCard } from "./widgets.js";

/** @typedef {import("./wasm.js").Topic} Topic */

// The home screen's topics from the last time they were drawn from the documents, kept in the
// settings ({lang, day, topics}), so that a cold start shows the home screen before any document
// is open. `earlyTopics` is set only for that first drawing.
/** @type {Topic[] | null} */
let earlyTopics = null;

/**
 * Draws with the topics kept from last time instead of the documents' (a cold start).
 * @param {Topic[]} topics
 * @param {() => void} draw
 */
export function withEarlyTopics(topics, draw) {
  earlyTopics = topics;
  try {
    draw();
  } finally {
    earlyTopics = null;
  }
}

function homeTopics() {
  if (earlyTopics) return earlyTopics;
  const { settings } = state;
  const topics = client().topics(language(), today());
  const fresh = { lang: language(), day: today(), topics };
  if (JSON.stringify(settings.homeTopics) !== JSON.stringify(fresh)) {
    settings.homeTopics = fresh;
    state.store.setSetting("homeTopics", fresh).catch(() => {});
  }
  return topics;
}

export function homeScreen() {
  const { settings } = state;
  const municipality = settings.municipality || "";
  const muni = client().municipality(municipality, language());
  const topics = homeTopics();
  const q = h("input", { id: "q", type: "search", autocomplete: "off", "aria-describedby": "q-hint" });
  const results = h("ul", { class: "list", "aria-live": "polite" });
  const kept = history.state && history.state.q;
  q.addEventListener("input", () => {
    // The query is kept in the page's history entry, so Back from a result brings it back.
    history.replaceState({ ...(history.state || {}), q: q.value }, "");
    if (!q.value.trim()) return results.replaceChildren();
    // Search covers all of Finland, the home municipality's services first: a professional may
    // need a contact elsewhere too.
    const hits = client().search(q.value, municipality, language());
    results.replaceChildren(...(hits.length ? hits.map((x) => h("li", {}, h("a", { href: x.href }, h("strong", {}, x.title), x.subtitle))) : [h("li", {}, t("no_results"))]));
  });
  const discarded = settings.discarded || [];
  show(
    t("what_worries"),
    h("p", {}, `${t("municipality")}: `, h("a", { href: "#/municipality" }, muni.name)),
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
    hasAreas(reviewAreas(settings.user))
      ? h("p", { class: "row" }, h("a", { href: "#/review" }, t("review_queue")), h("a", { href: "#/add" }, t("add_contact")), h("a", { href: "#/retired" }, t("retired_list")))
      : null,
    discarded.length ? h("p", {}, h("a", { href: "#/discarded" }, `${t("discarded")} (${discarded.length})`)) : null,
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
