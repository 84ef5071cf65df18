// @ts-check
// An entry's changes, newest first: who, when, the previous value, and a button that writes the
// previous value back as a new change.

import { canEdit, client, contactScreen, fieldLabel, formatTime, h, homeScreen, language, nowLocal, setField, show, state, statusSays, t, today } from "./lent.js";

/** @typedef {{ hash: string, user: string, at: string }} Author A change's author as the relay authenticated them. */
/** @typedef {import("./wasm.js").HistoryEntry} HistoryEntry */

/**
 * Who made each change of a document, as the relay authenticated it: fetched when online,
 * otherwise the copy saved on this device.
 * @param {string} doc
 * @returns {Promise<{ byHash: Map<string, Author>, fresh: boolean }>}
 */
async function authorsOf(doc) {
  const key = `authors:${doc}`;
  const { store } = state;
  try {
    const res = await fetch(`/api/v0/authors/${encodeURIComponent(doc)}`, { headers: { authorization: `Bearer ${state.settings.token}` } });
    if (res.ok) {
      /** @type {{ changes: Author[] }} */
      const { changes } = await res.json();
      await store.setSetting(key, changes);
      return { byHash: new Map(changes.map((c) => [c.hash, c])), fresh: true };
    }
  } catch (e) {
    // Offline: fall back to the saved copy below.
  }
  /** @type {Author[]} */
  const saved = (await store.getSetting(key)) || [];
  return { byHash: new Map(saved.map((c) => [c.hash, c])), fresh: false };
}

/**
 * @param {string} id
 * @returns {Promise<void>}
 */
export async function historyScreen(id) {
  if (!canEdit(id)) return contactScreen(id);
  const c = client().contact(id, state.settings.municipality || "", language(), today(), nowLocal());
  const entries = client().contactHistory(id);
  const scope = client().contactScope(id);
  if (!c || !entries || !scope) return homeScreen();
  const authors = await authorsOf(scope[0]);
  // The screen may have been left while the names were fetched.
  if (location.hash !== `#/history/${encodeURIComponent(id)}`) return;
  const report = h("p", { class: "error", role: "alert" });
  /** @param {HistoryEntry} e */
  const who = (e) => {
    const a = authors.byHash.get(e.hash);
    if (a) return { name: a.user, when: formatTime(Date.parse(a.at)), confirmed: true };
    return { name: e.message || t("unknown_author"), when: e.time ? formatTime(e.time * 1000) : "", confirmed: false };
  };
  const items = entries.map((e) => {
    const w = who(e);
    const by = h("span", { "data-testid": "author" }, w.name);
    const note = w.confirmed ? null : h("span", { class: "hint" }, ` (${t("unconfirmed")})`);
    if (e.changes.every((f) => f.before === null)) {
      return h("li", { "data-testid": "history-entry" }, h("p", {}, `${t("created_by")} `, by, note, ` · ${w.when}`));
    }
    return h(
      "li",
      { "data-testid": "history-entry" },
      e.changes.map((f) =>
        h(
          "div",
          { class: "change", "data-field": f.field },
          h("p", {}, h("strong", {}, fieldLabel(f)), ` ${t("changed_by")} `, by.cloneNode(true), note ? note.cloneNode(true) : null, ` · ${w.when}`),
          h("p", {}, `${t("previous_value")}: `, h("span", { dir: "auto", "data-testid": "before" }, f.before ?? t("no_value"))),
          h("p", {}, `${t("new_value")}: `, h("span", { dir: "auto", "data-testid": "after" }, f.after ?? t("no_value"))),
          h(
            "p",
            {},
            h(
              "button",
              {
                type: "button",
                class: "secondary",
                "data-testid": "restore",
                onclick: () => {
                  if (setField(id, f.field, f.before, report)) {
                    statusSays(h("span", { role: "status" }, t("restored")));
                    location.hash = `#/contact/${encodeURIComponent(id)}`;
                  }
                },
              },
              t("restore"),
            ),
          ),
        ),
      ),
    );
  });
  show(
    `${t("history_of")}: ${c.name.text}`,
    authors.fresh ? null : h("p", { class: "hint" }, t("authors_offline")),
    report,
    items.length ? h("ol", { class: "list history" }, items) : h("p", {}, t("history_empty")),
    h("p", {}, h("a", { class: "button secondary", href: `#/contact/${encodeURIComponent(id)}` }, t("back"))),
  );
}
