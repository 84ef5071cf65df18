// @ts-check
// Service worker: precaches the app (all but the modules loaded on demand) so that it starts with no network, answers every
// request from the cache first, and switches versions only when the page asks it to, so that a
// page never runs half old and half new. The build replaces the three placeholders below.

const VERSION = "__VERSION__";
/** @type {string[]} */
// @ts-expect-error: a placeholder, not a name; the build writes the list of files here.
const ASSETS = __ASSETS__;
/** @type {string[]} */
// @ts-expect-error: a placeholder, not a name; the build writes the modules loaded on demand here.
const ON_DEMAND = __ON_DEMAND__;
const CACHE = `contactpoint-${VERSION}`;
const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/**
 * A built file's name without its hash and extension: `/js/editing.0123456789.js` is `editing`.
 * @param {string} url
 */
function stem(url) {
  const name = new URL(url, location.href).pathname.split("/").pop() || "";
  return name.split(".")[0];
}

/** The paths of the modules loaded on demand, as the fetch handler sees them. */
const onDemandPaths = new Set(ON_DEMAND.map((u) => new URL(u, location.href).pathname));

/**
 * This version's modules loaded on demand that an older version kept (the device used them, an
 * editor's the editing screens): they are precached with the rest, so what opened offline
 * before an update still does after it.
 */
async function usedBefore() {
  const used = new Set();
  for (const key of await caches.keys()) {
    if (!key.startsWith("contactpoint-") || key === CACHE) continue;
    for (const req of await (await caches.open(key)).keys()) used.add(stem(req.url));
  }
  return ON_DEMAND.filter((u) => used.has(stem(u)));
}

worker.addEventListener("install", (event) => {
  event.waitUntil(Promise.all([caches.open(CACHE), usedBefore()]).then(([c, used]) => c.addAll([...ASSETS, ...used])));
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("contactpoint-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => worker.clients.claim()),
  );
});

worker.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") worker.skipWaiting();
});

worker.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== location.origin) return;
  if (url.pathname === "/sync" || url.pathname.startsWith("/api/") || url.pathname === "/healthz") return;
  if (req.mode === "navigate") {
    // Every app route is the same shell, precached as "./": the page's own first fetch of it
    // is still fresh in the HTTP cache, so precaching it costs a revalidation, not the file.
    event.respondWith(
      caches
        .open(CACHE)
        .then((c) => c.match("./"))
        .then((r) => r || fetch(req)),
    );
    return;
  }
  // A module loaded on demand (the editing screens, the accessibility statement, the
  // administration) is kept once fetched, so that it opens offline afterwards. It is kept and
  // found under its path alone: the app asks again under another query after a failed load.
  const keep = onDemandPaths.has(url.pathname);
  const key = keep ? url.origin + url.pathname : req;
  event.respondWith(
    caches.open(CACHE).then((c) =>
      c.match(key).then(
        (r) =>
          r ||
          fetch(req).then((res) => {
            if (keep && res.ok) event.waitUntil(c.put(key, res.clone()));
            return res;
          }),
      ),
    ),
  );
});
