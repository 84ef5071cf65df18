// Checks the app's date in Finland without the time-zone data (`todayByRule` in web/js/time.js,
// which a cold start uses to check the home screen's snapshot) against the date the time-zone
// data gives (`finnishDate`, Intl with Europe/Helsinki), at every half hour from 2000 to 2060,
// so every change between summer and winter time is crossed. Prints one JSON line.
//
// node finnish-date.mjs

import { finnishDate, todayByRule } from "../../web/js/time.js";

let checked = 0;
const differ = [];
for (let ms = Date.UTC(2000, 0, 1); ms < Date.UTC(2060, 0, 1); ms += 30 * 60_000) {
  const at = new Date(ms);
  checked += 1;
  if (todayByRule(at) !== finnishDate(at)) differ.push(`${at.toISOString()}: ${todayByRule(at)} by the rule, ${finnishDate(at)} by the data`);
}
console.log(JSON.stringify({ ok: differ.length === 0, checked, differ: differ.length, first: differ.slice(0, 5) }));
