// @ts-check
// Form helpers: labelled fields with their own error lines, the rules' issues shown under the
// fields they name, field paths in an editor's words, the language picker, and one field written
// as one change.

import { h } from "./dom.js";
import { LANGS, issueText, language, setLanguage, t } from "./i18n.js";
import { client, sync } from "./state.js";
import { savedLocally } from "./status.js";

/** @typedef {import("./wasm.js").Issue} Issue */
/** @typedef {import("./wasm.js").FormResult} FormResult */

/**
 * A field of a form as `showIssues` marks it: the key issues name, the input that takes focus
 * and the element holding the label, the input and the error line.
 * @typedef {{ key: string, input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, el: HTMLElement }} Field
 */

/**
 * A labelled input with its own error line below it; issues from the wasm side name the `key`.
 * @param {string} key
 * @param {string} label
 * @param {string | null | undefined} value
 * @param {Record<string, any>} [attrs]
 */
export function formField(key, label, value, attrs = {}) {
  const input = h("input", { id: `f-${key}`, name: key, value: value || "", "aria-describedby": `e-${key}`, ...attrs });
  return { key, input, el: h("div", {}, h("label", { for: `f-${key}` }, label), input, h("p", { class: "error", id: `e-${key}` })) };
}

/**
 * A labelled text area with its own error line, shaped like `formField`; the text is in `lang`.
 * @param {string} key
 * @param {string} label
 * @param {string | null | undefined} value
 * @param {string} lang
 */
export function textField(key, label, value, lang) {
  const input = h("textarea", { id: `f-${key}`, name: key, rows: 3, lang, dir: "auto", "aria-describedby": `e-${key}` }, value || "");
  return { key, input, el: h("div", {}, h("label", { for: `f-${key}` }, label), input, h("p", { class: "error", id: `e-${key}` })) };
}

/**
 * The error line of a field.
 * @param {Field} f
 */
function errorLine(f) {
  return /** @type {HTMLElement} */ (f.el.querySelector(".error"));
}

/**
 * Clears the marks a previous attempt left on the form's fields.
 * @param {Field[]} fields
 * @param {HTMLElement} summary
 */
export function clearIssues(fields, summary) {
  for (const f of fields) {
    f.input.removeAttribute("aria-invalid");
    errorLine(f).textContent = "";
  }
  summary.textContent = "";
}

/**
 * Shows each issue under its field (or `fallback`) and moves focus to the first marked field.
 * Issues about the whole entry (no field of its own) are shown in the summary.
 * @param {Issue[]} issues
 * @param {Field[]} fields
 * @param {Field} fallback
 * @param {HTMLElement} summary
 */
export function showIssues(issues, fields, fallback, summary) {
  /** @type {string[]} */
  const general = [];
  for (const issue of issues) {
    const f = fields.find((x) => x.key === issue.field);
    if (!f) {
      general.push(issueText(issue));
      continue;
    }
    f.input.setAttribute("aria-invalid", "true");
    errorLine(f).textContent = issueText(issue);
  }
  summary.textContent = [t("fix_errors"), ...general].join(" ");
  (fields.find((x) => x.input.getAttribute("aria-invalid")) || fallback).input.focus();
}

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
 * A time input's value for the wasm side: a time the browser could not read (only the hour
 * typed, say) is passed on as text that is not a time, so the rules' message is shown for it.
 * @param {HTMLInputElement} input
 */
export function timeValue(input) {
  return input.value || (input.validity.badInput ? "--:--" : "");
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
