// Browser test: what a phone downloads to install the app on its first visit. A fresh profile
// opens the app and waits until the service worker is active, which it becomes only once its
// precache is complete. Every response of the page and of the service worker is collected with
// its status, its Content-Encoding and the bytes that came over the network (the DevTools
// protocol's Network.loadingFinished encodedDataLength, headers included; Playwright attaches
// to the service worker as soon as it starts and reports its fetches too; the worker's own
// script, fetched before it started, comes with its headers only, and the Rust test adds its
// body). The Rust test asserts on the list.
//
// node install.mjs --url http://127.0.0.1:PORT/

import { WAIT_MS, args, check, finish, launchPersistent, need, run, waitServiceWorkerActive } from "./common.mjs";

run(async () => {
  const a = args();
  need(a, "url");
  const { context, page } = await launchPersistent({ locale: "en-GB" });

  // Every request, from its start to its end; a request that fails is reported as such.
  const responses = [];
  const pending = new Set();
  let settled = null;
  const maybeSettled = () => {
    if (pending.size === 0 && settled) settled();
  };
  context.on("request", (req) => pending.add(req));
  const done = async (req, failure) => {
    try {
      const resp = failure ? null : await req.response();
      const sizes = failure ? null : await req.sizes();
      const headers = resp ? await resp.allHeaders() : {};
      responses.push({
        url: req.url(),
        from: req.serviceWorker() ? "service-worker" : "page",
        type: req.resourceType(),
        status: resp ? resp.status() : 0,
        encoding: headers["content-encoding"] || null,
        // encodedDataLength, which Playwright splits into the headers and the body as received
        // (the body less than 0 when the HTTP cache answered: nothing came over the network).
        // No body is an answer from the HTTP cache or a revalidation (304).
        bytes: sizes ? sizes.responseHeadersSize + sizes.responseBodySize : 0,
        body: sizes ? Math.max(0, sizes.responseBodySize) : 0,
        failure: failure || null,
      });
    } finally {
      pending.delete(req);
      maybeSettled();
    }
  };
  context.on("requestfinished", (req) => done(req, null));
  context.on("requestfailed", (req) => done(req, req.failure()?.errorText || "failed"));

  await page.goto(a.url);
  await page.locator("#code").waitFor();
  await waitServiceWorkerActive(page);
  // The worker is active once its precache fetches are done; their events may still be on the
  // way, so wait (bounded) until no request is left open.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`requests still open: ${[...pending].map((r) => r.url()).join(", ")}`)), WAIT_MS);
    settled = () => {
      clearTimeout(timer);
      resolve();
    };
    maybeSettled();
  });
  const precached = await page.evaluate(async () => {
    const keys = await caches.keys();
    const cache = await caches.open(keys[0]);
    return (await cache.keys()).map((r) => r.url);
  });
  check(precached.length > 0, "the service worker precached nothing");
  await context.close();
  finish({ responses, precached });
});
