// @ts-check
// Service worker: precaches the app (all but the modules loaded on demand) so that it starts with no network, answers every
// request from the cache first, and switches versions only when the page asks it to, so that a
// page never runs half old and half new. The build replaces the two placeholders below.

const VERSION = "__VERSION__";
/** @type {string[]} */
// @ts-expect-error: a placeholder, not a name; the build writes the list of files here.
const ASSETS = __ASSETS__;
const CACHE = `contactpoint-${VERSION}`;
const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

worker.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)));
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
  // A module loaded on demand (the accessibility statement, the administration) is kept once
  // fetched, so that it opens offline afterwards; its hashed name changes with its content.
  const keep = /\/js\/[\w-]+\.[0-9a-f]+\.js$/.test(url.pathname);
  event.respondWith(
    caches.open(CACHE).then((c) =>
      c.match(req).then(
        (r) =>
          r ||
          fetch(req).then((res) => {
            if (keep && res.ok) c.put(req, res.clone());
            return res;
          }),
      ),
    ),
  );
});
