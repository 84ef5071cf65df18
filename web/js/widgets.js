// @ts-check
// Parts several screens show: a contact's card with its maintainer, and the Share button.

import { content, h } from "./dom.js";
import { language, t } from "./i18n.js";
import { maintains, mayEditContact } from "./permissions.js";
import { client, state } from "./state.js";

/** @typedef {import("./wasm.js").Contact} Contact */

/**
 * Whether this user may change this contact (the check the Edit button uses, which mirrors the
 * relay's).
 * @param {string} id
 */
export function canEdit(id) {
  return mayEditContact(state.settings.user, client().contactScope(id));
}

// Document titles by area key (`national`, `municipality:092`, `restricted:…`) in the current
// language, read once per screen drawn: `forgetTitles` clears it.
/** @type {{ lang: string, byKey: Map<string, string> } | null} */
let documentTitles = null;

/** Forgets the document titles read for the last screen (the router calls it for each). */
export function forgetTitles() {
  documentTitles = null;
}

/** @param {string} key */
function documentTitle(key) {
  if (!documentTitles || documentTitles.lang !== language()) {
    documentTitles = {
      lang: language(),
      byKey: new Map(
        client()
          .areaDocuments(language())
          .map((d) => [d.area, d.title]),
      ),
    };
  }
  return documentTitles.byKey.get(key) || (key === "national" ? t("maintainer_national") : key);
}

/**
 * For editors and administrators: whether they may change this contact, and if not, whose
 * document holds it. Readers change nothing, so they see neither.
 * @param {string} id
 */
function maintainerNote(id) {
  if (!maintains(state.settings.user)) return null;
  if (canEdit(id)) return h("span", { class: "badge mine", "data-testid": "may-edit" }, t("you_may_edit"));
  const scope = client().contactScope(id);
  if (!scope) return null;
  return h("span", { class: "hint maintainer", "data-testid": "maintainer" }, `${t("maintained_by")}: ${documentTitle(scope[1])}`);
}

/** @param {Contact} c */
export function contactCard(c) {
  return h(
    "div",
    { class: "contact", "data-testid": "contact" },
    h(
      "div",
      {},
      maintainerNote(c.id),
      c.example ? h("span", { class: "badge example" }, t("example")) : null,
      c.stale ? h("span", { class: "badge stale" }, t("stale")) : null,
      c.members_only != null
        ? h("span", { class: "badge members", "data-testid": "members-only" }, c.members_only ? `${t("members_only")}: ${c.members_only}` : t("members_only"))
        : null,
    ),
    h("strong", {}, h("a", { href: `#/contact/${encodeURIComponent(c.id)}` }, content("span", c.name))),
    c.organisation ? content("div", c.organisation) : null,
    c.phones.map((p) =>
      h(
        "div",
        { class: "phone" },
        h("a", { class: "tel", href: `tel:${p.number.replace(/[^+\d]/g, "")}`, dir: "ltr" }, p.number),
        p.description ? content("span", p.description, { class: "hint" }) : null,
      ),
    ),
    c.open_now === true ? h("span", { class: "badge open" }, t("open_now")) : null,
    c.open_now === false ? h("span", { class: "badge closed" }, t("closed_now")) : null,
    c.hours.length ? h("div", { class: "hint" }, c.hours.join(" · ")) : null,
    c.languages.length ? h("div", { class: "hint" }, `${t("languages")}: ${c.languages.join(", ")}`) : null,
    c.why ? h("p", { class: "why" }, `${t("why_contact")}: ${c.why}`) : null,
  );
}

/**
 * A Share button: the system's share sheet where there is one (Web Share API), else the text
 * and link copied to the clipboard, with a message in the person's language; where copying is
 * refused too, the text is shown to select by hand.
 * @param {{ title: string, text: string, url: string }} what
 */
export function shareButton(what) {
  const note = h("p", { class: "share-note", role: "status", "data-testid": "share-note" });
  const share = async () => {
    note.replaceChildren();
    if (navigator.share) {
      try {
        await navigator.share(what);
        return;
      } catch (e) {
        // Closing the share sheet is a choice, not a failure; anything else falls back to a copy.
        if (e && /** @type {Error} */ (e).name === "AbortError") return;
      }
    }
    const full = `${what.text}\n${what.url}`;
    try {
      await navigator.clipboard.writeText(full);
      note.textContent = t("copied");
    } catch {
      note.replaceChildren(t("copy_failed"), h("textarea", { readonly: true, rows: 4, "aria-label": t("share"), "data-testid": "share-text" }, full));
    }
  };
  return h("div", { class: "share no-print" }, h("button", { type: "button", class: "secondary", "data-testid": "share", onclick: share }, t("share")), note);
}

/**
 * A contact as plain text to share: name, organisation, numbers, e-mail and web address.
 * @param {Contact} c
 */
export function contactText(c) {
  return [c.name.text, c.organisation && c.organisation.text, ...c.phones.map((p) => `${t("phone")}: ${p.number}`), c.email && `${t("email")}: ${c.email}`, c.url]
    .filter(Boolean)
    .join("\n");
}
