// @ts-check
// The edit form's fields: labelled inputs with their own error lines, the rules' issues shown
// under the fields they name, and a time input's value as the rules read it. Part of the editing
// screens (editing.js): it reaches the app's modules through lent.js.

import { h, issueText, t } from "./lent.js";

/** @typedef {import("./wasm.js").Issue} Issue */

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
 * A time input's value for the wasm side: a time the browser could not read (only the hour
 * typed, say) is passed on as text that is not a time, so the rules' message is shown for it.
 * @param {HTMLInputElement} input
 */
export function timeValue(input) {
  return input.value || (input.validity.badInput ? "--:--" : "");
}
