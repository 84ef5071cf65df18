// Browser test: the app converges whatever happens to its link, for one fixed schedule. A reader
// signs in and syncs; then, round after round, the link to the relay is cut or restored at
// random (seeded) while the Rust test edits contact points through the relay, some with
// descriptions over 100 KB. At the end the link is restored and the heads of every document the
// app stored in IndexedDB are read back and returned, for the test to compare with the relay's.
//
// node convergence.mjs --url http://127.0.0.1:PORT/ --code INVITE --rounds N --seed S
// Steps: "round-<i>" for each round (the test edits, then says go).

import * as A from "@automerge/automerge";
import { args, finish, lastSynced, launchPersistent, need, relayLink, run, signIn, step, waitSyncedAfter, WAIT_MS } from "./common.mjs";

const QUIET_MS = 2000;

// mulberry32: a small seeded generator, so the schedule of cuts is the same every run.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

run(async () => {
  const a = args();
  need(a, "url", "code", "rounds", "seed");
  const random = generator(Number(a.seed));
  const { context, page } = await launchPersistent({ locale: "sv-FI" });

  let cut = false;
  let lastFrameAt = Date.now();
  const link = await relayLink(context, {
    onMessage: () => {
      lastFrameAt = Date.now();
    },
  });
  const setLink = async (up) => {
    cut = !up;
    await (up ? link.restore() : link.cut());
  };

  await signIn(page, a.url, a.code);
  await waitSyncedAfter(page, await lastSynced(page));
  const cuts = [];
  for (let i = 0; i < Number(a.rounds); i++) {
    const r = random();
    if (!cut && r < 0.4) await setLink(false);
    else if (cut && r < 0.7) await setLink(true);
    cuts.push(cut);
    await step(`round-${i}`, { linked: !cut });
  }

  // Back online for good: wait for a completed sync and for the link to go quiet.
  const before = await lastSynced(page);
  const wasCut = cut;
  await setLink(true);
  if (wasCut) await waitSyncedAfter(page, before, 2 * WAIT_MS);
  const until = Date.now() + 3 * WAIT_MS;
  while (Date.now() - lastFrameAt < QUIET_MS) {
    if (Date.now() > until) throw new Error("the link never went quiet");
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = await page.locator("#status").textContent();

  // What the phone holds: every stored chunk, per document, loaded as the app loads it.
  const rows = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open("contactpoint");
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const get = req.result.transaction("chunks").objectStore("chunks").getAll();
          get.onerror = () => reject(get.error);
          get.onsuccess = () => resolve(get.result.map((r) => [r.doc, Array.from(new Uint8Array(r.bytes))]));
        };
      }),
  );
  const chunks = new Map();
  for (const [doc, bytes] of rows) chunks.set(doc, [...(chunks.get(doc) || []), ...bytes]);
  const heads = {};
  for (const [doc, bytes] of chunks) heads[doc] = A.getHeads(A.load(new Uint8Array(bytes))).sort();
  // The browser is closed before the result, as in the other scripts: one still running when the
  // process exits has made it exit with a failure status now and then.
  await context.close();
  finish({ heads, cuts, status });
});
