// @ts-check
// DOM helpers: an element builder that sets document text only as text, the screen's frame, and
// texts picked from a multilingual field with their language marked.

import { language, t } from "./i18n.js";

/** @typedef {import("./wasm.js").Text} Text */
/** @typedef {Node | string | number | null | undefined | false} Child */

export const main = /** @type {HTMLElement} */ (document.getElementById("main"));
export const statusEl = /** @type {HTMLElement} */ (document.getElementById("status"));

/**
 * A tiny element builder: h("p", {class: "x"}, "text", child…). Text is always set as text,
 * never as HTML, so content from documents cannot inject markup.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * Shows a screen: its title and content.
 * @param {string} title
 * @param {...(Child | Child[])} content
 */
export function show(title, ...content) {
  // Screens pass null for parts they leave out; replaceChildren would print those as "null".
  const parts = /** @type {(Node | string)[]} */ (content.flat().filter((c) => c !== null && c !== undefined && c !== false));
  main.replaceChildren(h("h1", {}, title), ...parts);
  document.title = `${title} · ${t("app_name")}`;
  // Move focus for screen readers without scrolling the header and status out of view.
  main.focus({ preventScroll: true });
  scrollTo(0, 0);
}

/**
 * A failure's message for the person: an error's message, else the value as text.
 * @param {unknown} e
 */
export function errorText(e) {
  return String(e && /** @type {Error} */ (e).message ? /** @type {Error} */ (e).message : e);
}

/**
 * Text picked from a multilingual field, with its language and direction marked.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Text | null | undefined} v
 * @param {Record<string, any>} [attrs]
 */
export function content(tag, v, attrs = {}) {
  if (!v) return null;
  const el = h(tag, { ...attrs, lang: v.lang, dir: v.rtl ? "rtl" : "auto" }, v.text);
  if (v.lang !== language()) el.append(" ", h("span", { class: "lang-note" }, `(${langNote(v.lang)})`));
  return el;
}

/**
 * "(in Swedish)": the language a text is shown in when the person's own is missing.
 * @param {string} lang
 */
function langNote(lang) {
  const key = `in_lang_${lang}`;
  return t(key) === key ? `${t("shown_in")} ${lang}` : t(key);
}

/** Resolves once the browser has had a chance to paint (or soon, in a hidden tab). */
export function painted() {
  return new Promise((r) => {
    requestAnimationFrame(() => setTimeout(r, 0));
    setTimeout(r, 100);
  });
}
