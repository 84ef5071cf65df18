// @ts-check
// Dates and times as the app shows and passes them: the civil date in Finland, the local weekday
// and time for "open now", and ages in words.

import { language, t } from "./i18n.js";

// The civil date in Finland, where the directory's dates are meant: the UTC date would give
// entries checked between midnight and 02:00 (03:00 in summer) yesterday's date. The formatter
// is made when first needed: with its time zone's data it costs a cold start about 25 ms (100 ms
// at CPU ×4), which the home screen drawn from its snapshot does not wait for.
/** @type {Intl.DateTimeFormat | null} */
let finnishDates = null;

/**
 * A moment's date in Finland, `YYYY-MM-DD`.
 * @param {Date} at
 */
export function finnishDate(at) {
  finnishDates ??= new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Helsinki", year: "numeric", month: "2-digit", day: "2-digit" });
  return finnishDates.format(at);
}

export function today() {
  return finnishDate(new Date());
}

/**
 * Today's date in Finland by the EU's summer-time rule (UTC+3 from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October, UTC+2 otherwise), without the
 * time-zone data: only for checking the home screen's snapshot, which the documents check again
 * moments later: a change of the rule could at worst, for an hour around midnight, make a start
 * wait for the documents or show the day before's snapshot for a moment.
 * @param {Date} [at]
 */
export function todayByRule(at = new Date()) {
  const y = at.getUTCFullYear();
  // 01:00 UTC on the last Sunday of a month (0-based): day 0 of the next one is its last day.
  const lastSunday = (/** @type {number} */ month) => {
    const d = new Date(Date.UTC(y, month + 1, 0, 1));
    return d.getTime() - d.getUTCDay() * 86_400_000;
  };
  const ms = at.getTime();
  const offset = ms >= lastSunday(2) && ms < lastSunday(9) ? 3 : 2;
  return new Date(ms + offset * 3_600_000).toISOString().slice(0, 10);
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
