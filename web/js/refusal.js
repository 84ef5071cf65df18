// @ts-check
// A refusal from the relay, in the editor's words and language. When it names a document, that
// document is held (not sent) until the editor resets it; the refused values are kept to be
// entered again.

import { h, main } from "./dom.js";
import { t, tm } from "./i18n.js";
import { route } from "./routes.js";
import { changed, client, state, sync } from "./state.js";

/** @typedef {import("./wasm.js").Explained} Explained */

/**
 * The relay's refusal from its code (`explained`, made by the wasm client): the rule's message
 * without the document id and the internal path, which stay available under "details".
 * @param {Explained} e
 */
function refusalText(e) {
  const text = tm(e.code, e.params, e.message);
  return e.more ? `${text} ${t("more_problems").replace("{n}", String(e.more))}` : text;
}

/**
 * @param {string} message
 * @param {string | null} doc
 * @param {Explained} explained
 */
export function showRefusal(message, doc, explained) {
  let el = document.getElementById("refusal");
  if (!el) {
    el = h("section", { id: "refusal", class: "refusal", role: "alert", "aria-labelledby": "refusal-h" });
    main.before(el);
  }
  // Parts left out are null: replaceChildren would print them.
  el.replaceChildren(
    ...[
      h("h2", { id: "refusal-h" }, t("refused")),
      h("p", { dir: "auto", "data-testid": "refusal-message" }, refusalText(explained)),
      refusalText(explained) !== message ? h("details", {}, h("summary", {}, t("details")), h("p", { class: "hint", dir: "ltr" }, message)) : null,
      doc ? h("p", {}, t("refused_held")) : null,
      doc ? h("p", {}, h("button", { type: "button", "data-testid": "reset-doc", onclick: () => resetDoc(doc) }, t("reset_doc"))) : null,
    ].filter((x) => x !== null),
  );
}

/** @param {string} doc */
async function resetDoc(doc) {
  const { store, settings } = state;
  const res = client().resetDoc(doc);
  const at = new Date().toISOString();
  const kept = ((await store.getSetting("discarded")) || []).concat(res.discarded.map((d) => ({ ...d, at })));
  await store.setSetting("discarded", kept);
  settings.discarded = kept;
  sync().applyLocal(res.effects);
  const el = document.getElementById("refusal");
  if (el) el.remove();
  changed();
  sync().now();
  location.hash = "#/discarded";
  route();
}
