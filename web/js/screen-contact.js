// @ts-check
// A contact point on its own page: its details, for its editors the conflicting values to
// choose between and the way to retire or restore it.

import { content, errorText, h, show } from "./dom.js";
import { fieldLabel, issuesText, setField } from "./forms.js";
import { language, t } from "./i18n.js";
import { route } from "./routes.js";
import { homeScreen } from "./screen-home.js";
import { client, state, sync } from "./state.js";
import { savedLocally } from "./status.js";
import { nowLocal, today } from "./time.js";
import { canEdit, contactCard, contactText, shareButton } from "./widgets.js";

/** @typedef {import("./wasm.js").Contact} Contact */
/** @typedef {import("./wasm.js").Effect} Effect */
/** @typedef {import("./wasm.js").Issue} Issue */

/**
 * Fields two editors changed concurrently, with a button to keep each value. Automerge shows
 * the same value everywhere until someone chooses; choosing writes that value once more.
 * @param {string} id
 */
function conflictSection(id) {
  // A field holding a nested map or list is not offered: only text is written back.
  const conflicts = client()
    .contactConflicts(id)
    .flatMap((c) => {
      const values = c.values.flatMap((v) => (v.kind === "text" ? [v.text] : []));
      return values.length === c.values.length ? [{ ...c, values }] : [];
    });
  if (!conflicts.length) return null;
  const report = h("p", { class: "error", role: "alert" });
  return h(
    "section",
    { class: "conflicts", "data-testid": "conflicts", "aria-labelledby": "conflicts-h" },
    h("h2", { id: "conflicts-h" }, t("conflict_title")),
    h("p", {}, t("conflict_text")),
    conflicts.map((c) =>
      h(
        "div",
        { "data-testid": "conflict", "data-field": c.field },
        h("h3", {}, fieldLabel(c)),
        h(
          "ul",
          { class: "list" },
          c.values.map((v, i) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "choice", "data-value": v, onclick: () => setField(id, c.field, v, report) && route() },
                `${t("keep")}: `,
                h("span", { dir: "auto" }, v),
                i === 0 ? h("span", { class: "hint" }, ` (${t("shown_now")})`) : null,
              ),
            ),
          ),
        ),
      ),
    ),
    report,
  );
}

/**
 * @param {string} id
 * @returns {void}
 */
export function contactScreen(id) {
  const c = client().contact(id, state.settings.municipality || "", language(), today(), nowLocal());
  if (!c) return homeScreen();
  const editable = canEdit(id);
  show(
    c.name.text,
    editable
      ? h(
          "p",
          { class: "row" },
          h("a", { class: "button secondary", href: `#/edit/${encodeURIComponent(id)}` }, t("edit")),
          h("a", { class: "button secondary", href: `#/history/${encodeURIComponent(id)}` }, t("history")),
        )
      : null,
    editable ? conflictSection(id) : null,
    c.retired ? h("p", { class: "badge stale", "data-testid": "retired" }, `${t("retired_on")} ${c.retired}`) : null,
    contactCard(c),
    c.description ? content("p", c.description) : null,
    c.email ? h("p", {}, `${t("email")}: `, h("a", { href: `mailto:${c.email}` }, c.email)) : null,
    c.url ? h("p", {}, h("a", { href: c.url, rel: "noopener" }, t("website"))) : null,
    c.verified_at ? h("p", { class: "hint" }, `${t("verified")}: ${c.verified_at}`) : null,
    shareButton({ title: c.name.text, text: contactText(c), url: `${location.origin}${location.pathname}#/contact/${encodeURIComponent(id)}` }),
    editable ? retireButton(id, c) : null,
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}

/**
 * Retiring keeps the entry in its document (readers no longer see it); restoring brings it back.
 * @param {string} id
 * @param {Contact} c
 */
function retireButton(id, c) {
  const report = h("p", { class: "error", role: "alert" });
  /** @param {() => Effect[]} f */
  const act = (f) => {
    try {
      sync().applyLocal(f());
      savedLocally();
      route();
    } catch (e) {
      const issues = /** @type {{ issues?: Issue[] }} */ (e || {}).issues;
      report.textContent = issues ? issuesText(issues) : errorText(e);
    }
  };
  const button = c.retired
    ? h("button", { type: "button", "data-testid": "restore-contact", onclick: () => act(() => client().restoreContact(id)) }, t("restore_contact"))
    : h(
        "button",
        {
          type: "button",
          class: "secondary",
          "data-testid": "retire-contact",
          onclick: () => confirm(t("retire_confirm")) && act(() => client().retireContact(id, today())),
        },
        t("retire_contact"),
      );
  return h("div", {}, h("p", {}, button), report);
}
