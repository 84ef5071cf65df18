// @ts-check
// The app: boots from local data before any network, signs in with an invite code, and shows
// what to do and whom to call. Routes live in the URL hash so that the back button works and
// nothing about the answers chosen is ever stored. The screens, the route table and the state
// live in the modules imported here (ARCHITECTURE.md lists them); this one starts them.

import { errorText, h, main } from "./dom.js";
import { pickLanguage, setLanguage } from "./i18n.js";
import { offerInstall } from "./on-demand.js";
import { route } from "./routes.js";
import { atHome, forgetHome, homeScreen, keptHome } from "./screen-home.js";
import { start } from "./session.js";
import { changed, state } from "./state.js";
import { tickAge } from "./status.js";
import { Store } from "./store.js";
import { loadWasm } from "./wasm.js";

// The editing screens, loaded on demand, import what the app lends them from this bundle.
export * from "./lent.js";

function watchForUpdates() {
  if (!("serviceWorker" in navigator)) return;
  const banner = /** @type {HTMLElement} */ (document.getElementById("update"));
  const reload = /** @type {HTMLElement} */ (document.getElementById("update-reload"));
  // Reload only when the person accepted an update; the first installation also changes the
  // controller (clients.claim) and must not reload a page someone is using.
  let accepted = false;
  /** @param {ServiceWorker} worker */
  const offer = (worker) => {
    banner.hidden = false;
    reload.onclick = () => {
      accepted = true;
      worker.postMessage("skip-waiting");
    };
  };
  // Only a page already running under a service worker can be out of date; on the very first
  // visit the worker installs silently.
  const controlled = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.register("./sw.js").then((reg) => {
    if (!controlled) return;
    if (reg.waiting) offer(reg.waiting);
    reg.addEventListener("updatefound", () => {
      const w = /** @type {ServiceWorker} */ (reg.installing);
      w.addEventListener("statechange", () => {
        if (w.state === "installed") offer(w);
      });
    });
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (accepted) location.reload();
  });
}

async function boot() {
  // Marks of the start-up's steps, which `cargo xtask bench web` reads to say where a cold
  // start's time goes.
  performance.mark("cp-boot");
  // The wasm is fetched and compiled while IndexedDB opens and the settings are read: neither
  // waits for the other, and the settings are read once, for the language and for `start`.
  const wasm = loadWasm().then(() => performance.mark("cp-wasm"));
  const opened = Store.open().then(async (store) => {
    performance.mark("cp-store");
    const settings = await store.settings();
    performance.mark("cp-settings");
    return { store, settings };
  });
  // A cold start on the home screen draws it at once from the snapshot kept the last time it
  // was drawn (today, signed in), without waiting for either; start-up checks it against the
  // documents once they are open.
  let early = atHome() ? keptHome() : null;
  if (early) {
    try {
      setLanguage(early.lang);
      homeScreen(early);
      performance.mark("cp-drawn");
    } catch {
      // A snapshot this build cannot draw is dropped; the documents draw the screen.
      forgetHome();
      early = null;
    }
  }
  const [{ store, settings }] = await Promise.all([opened, wasm]);
  state.store = store;
  // After a removal the store is new and empty; the language travelled in the history entry.
  setLanguage(pickLanguage(settings.lang || (history.state && history.state.lang)));
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
  addEventListener("hashchange", route);
  addEventListener("beforeinstallprompt", (e) => {
    e.preventDefault();
    offerInstall(e);
  });
  watchForUpdates();
  changed();
  setInterval(tickAge, 15_000);
  await start(settings, early);
}

boot().catch((e) => {
  main.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(e)));
});
