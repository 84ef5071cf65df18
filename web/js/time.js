// @ts-check
// Dates and times as the app shows and passes them: the civil date in Finland, the local weekday
// and time for "open now", and ages in words.

import { language, t } from "./i18n.js";

// The civil date in Finland, where the directory's dates are meant: the UTC date would give
// entries checked between midnight and 02:00 (03:00 in summer) yesterday's date.
export const FINNISH_DATE = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Helsinki", year: "numeric", month: "2-digit", day: "2-digit" });

export function today() {
  return FINNISH_DATE.format(new Date());
}

/** Local weekday and time, for "open now": the wasm side never reads a clock. */
export function nowLocal() {
  const d = new Date();
  const days = ["su", "mo", "tu", "we", "th", "fr", "sa"];
  return `${days[d.getDay()]} ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/** @param {number | string} ms */
export function formatTime(ms) {
  return new Date(ms).toLocaleString(language() === "en" ? "en-GB" : language());
}

/**
 * How long ago `at` was, in the current language: "just now", "5 minutes ago", "2 hours ago".
 * @param {string} at
 */
export function age(at) {
  const minutes = Math.floor(Math.max(0, Date.now() - new Date(at).getTime()) / 60_000);
  if (minutes < 1) return t("just_now");
  const rtf = new Intl.RelativeTimeFormat(language(), { numeric: "always" });
  if (minutes < 60) return rtf.format(-minutes, "minute");
  if (minutes < 24 * 60) return rtf.format(-Math.floor(minutes / 60), "hour");
  return rtf.format(-Math.floor(minutes / (24 * 60)), "day");
}
