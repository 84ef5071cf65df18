// @ts-check
// Form helpers the app's own screens share: the rules' issues as text, field paths in an
// editor's words, the language picker, and one field written as one change. The edit form's
// fields and their error lines are in edit-form.js, loaded with the editing screens.

import { h } from "./dom.js";
import { LANGS, issueText, language, setLanguage, t } from "./i18n.js";
import { client, sync } from "./state.js";
import { savedLocally } from "./status.js";

/** @typedef {import("./wasm.js").Issue} Issue */
/** @typedef {import("./wasm.js").FormResult} FormResult */

/**
 * The rules' issues in the current language, one after another.
 * @param {Issue[]} issues
 */
export function issuesText(issues) {
  return issues.map(issueText).join(" ");
}

/**
 * A contact point's field as an editor reads it, from the label the wasm client gives with the
 * field ({word, n, detail}: "Phone 2", "Name (fi)"); a label-less value saved by an older
 * version shows its field as it is.
 * @param {{ field: string, label?: import("./wasm.js").FieldLabel }} item
 */
export function fieldLabel(item) {
  const l = item.label;
  if (!l) return item.field;
  if (!l.word) return l.detail;
  return `${t(l.word)}${l.n ? ` ${l.n}` : ""}${l.detail ? ` (${l.detail})` : ""}`;
}

/**
 * Applies a change the rules accepted, or shows their issues in `report`; whether it applied.
 * @param {FormResult} res
 * @param {HTMLElement} report
 */
export function applied(res, report) {
  if (!res.ok) {
    report.textContent = issuesText(res.issues);
    return false;
  }
  sync().applyLocal(res.effects);
  savedLocally();
  return true;
}

/**
 * Writes one field (a restored or a chosen value) as one change.
 * @param {string} id
 * @param {string} field
 * @param {string | null} value
 * @param {HTMLElement} report
 */
export function setField(id, field, value, report) {
  return applied(client().setContactField(id, field, value === null ? undefined : value), report);
}

/**
 * A language picker whose change sets the app's language and then calls `then(lang)`.
 * @param {string} id
 * @param {(lang: string) => void} then
 */
export function languageSelect(id, then) {
  /** @type {Record<string, string>} */
  const names = { fi: "suomi", sv: "svenska", en: "English" };
  const select = h(
    "select",
    { id },
    LANGS.map((l) => h("option", { value: l, lang: l, selected: l === language() }, names[l])),
  );
  select.addEventListener("change", () => {
    setLanguage(select.value);
    then(select.value);
  });
  return select;
}
