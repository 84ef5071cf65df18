// @ts-check
// The status line under the header: whether the app is up to date with the relay, how long ago
// it last synced, a change waiting on this device, a held document, a document that could not be
// read and a sync that failed. It redraws whenever the state says it changed.

import { h, statusEl } from "./dom.js";
import { t } from "./i18n.js";
import { changed, state, subscribe } from "./state.js";
import { age, formatTime } from "./time.js";

function renderStatus() {
  const { settings } = state;
  // Before sign-in there is nothing to sync, so nothing to say about it.
  if (!settings.token) return statusEl.replaceChildren();
  const { state: now, at } = state.lastStatus;
  if (at) settings.lastSynced = at;
  const label = now === "online" ? t("online") : now === "offline" ? t("offline") : t(now);
  // "Up to date" means the relay confirmed every local change, so nothing waits any more.
  if (now === "online") state.waitingLocal = false;
  const parts = [h("span", { class: now === "offline" ? "offline" : "" }, label), " · ", lastSyncedEl()];
  if (state.waitingLocal) parts.push(h("span", { "data-testid": "waiting" }, ` · ${t("saved_offline")}`));
  // A document the relay refused is not sent until reset: say so rather than "Updating…" alone.
  if (state.client && state.client.heldDocs().length) parts.push(h("span", { class: "error", "data-testid": "held" }, ` · ${t("held_status")}`));
  // A document the app could not read keeps its last readable copy on screen: say so, with why.
  const unreadable = state.client ? state.client.unreadableDocs() : [];
  if (unreadable.length) {
    const reasons = unreadable.map((u) => u.reason).join("; ");
    const what = t(unreadable.every((u) => u.kept) ? "unreadable_kept" : "unreadable_missing");
    parts.push(h("span", { class: "error", role: "status", "data-testid": "unreadable", title: reasons }, ` · ${what} (${reasons})`));
  }
  const problem = state.syncProblem;
  if (problem) {
    const what = t(problem.retrying ? "sync_failed_retrying" : "sync_failed_waiting");
    parts.push(h("span", { class: "error", role: "status", "data-testid": "sync-problem", title: problem.reason }, ` · ${what} (${problem.reason})`));
  }
  statusEl.replaceChildren(...parts);
}

subscribe(renderStatus);

// "last synced 5 minutes ago": the age in words, the time itself in `data-at` (RFC 3339) and
// as the tooltip. An age changes with the clock, so `tickAge` keeps it current.
function lastSyncedEl() {
  const at = state.settings.lastSynced;
  if (!at) return h("span", { "data-testid": "last-synced", "data-at": "" }, t("never_synced"));
  return h("span", { "data-testid": "last-synced", "data-at": String(at), title: formatTime(at) }, `${t("last_synced")} ${age(at)}`);
}

/** Redraws the age when its words change (at most once a minute in the first hour). */
export function tickAge() {
  const el = statusEl.querySelector("[data-testid=last-synced]");
  const at = state.settings.lastSynced;
  if (!el || !at) return;
  const text = `${t("last_synced")} ${age(at)}`;
  if (el.textContent !== text) el.textContent = text;
}

/**
 * After a local change: while the relay is out of reach, the status line keeps saying that the
 * change waits on this device until the relay confirms it.
 */
export function savedLocally() {
  if (state.client && !state.client.isConnected()) state.waitingLocal = true;
  changed();
}

/**
 * Says something in the status line until it is next drawn.
 * @param {Node} el
 */
export function statusSays(el) {
  statusEl.replaceChildren(el);
}
