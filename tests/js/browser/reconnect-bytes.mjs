// Browser test: what a reconnect costs the app on the wire. A reader signs in and syncs every
// document; the app's link to the relay is cut; the Rust test edits one contact point through the
// relay; the link comes back and every WebSocket message of the reconnect is counted, as the page
// sends and receives it, per document.
//
// node reconnect-bytes.mjs --url http://127.0.0.1:PORT/ --code INVITE
// Steps: "cut" (the link is down: edit now). The result has the bytes of the handshake, of each
// document's messages, and in all.

import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo/slim";
import { args, finish, lastSynced, launchPersistent, need, relayLink, run, signIn, step, waitOffline, waitServiceWorkerActive, waitSyncedAfter, WAIT_MS } from "./common.mjs";

// Nothing more is exchanged once no message has passed for this long.
const QUIET_MS = 1500;

run(async () => {
  const a = args();
  need(a, "url", "code");
  const { context, page } = await launchPersistent({ locale: "en-GB" });

  // Every message of the app's link passes through here, so it can be counted and cut.
  let frames = [];
  let lastFrameAt = Date.now();
  const link = await relayLink(context, {
    onMessage: (dir, message) => {
      const bytes = Buffer.from(message);
      let decoded = {};
      try {
        decoded = cbor.decode(new Uint8Array(bytes));
      } catch {}
      // What a large sync message carries: chunk types (0 document, 1 change, 2 compressed) and sizes.
      let chunks;
      if (decoded.type === "sync" && bytes.length > 1024) {
        try {
          chunks = A.decodeSyncMessage(decoded.data).changes.map((c) => `${c[8]}:${c.length}`).join(",");
        } catch {}
      }
      frames.push({ dir, bytes: bytes.length, type: decoded.type, doc: decoded.documentId, chunks });
      lastFrameAt = Date.now();
    },
  });
  const quiet = async () => {
    const until = Date.now() + WAIT_MS;
    while (Date.now() - lastFrameAt < QUIET_MS) {
      if (Date.now() > until) throw new Error("the link never went quiet");
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await signIn(page, a.url, a.code);
  const first = await waitSyncedAfter(page, await lastSynced(page));
  await waitServiceWorkerActive(page);
  await quiet();
  const initial = frames.reduce((n, f) => n + f.bytes, 0);

  // The link goes down; the relay stays up and takes an edit from another device.
  await link.cut();
  await waitOffline(page);
  await step("cut");

  // The link comes back: only what passes from now on counts.
  frames = [];
  await link.restore();
  await waitSyncedAfter(page, first, 2 * WAIT_MS);
  await quiet();

  const perDoc = {};
  let handshake = 0;
  for (const f of frames) {
    if (f.doc) perDoc[f.doc] = (perDoc[f.doc] || 0) + f.bytes;
    else handshake += f.bytes;
  }
  // The browser is closed before the result, as in the other scripts: one still running when the
  // process exits has made it exit with a failure status now and then.
  await context.close();
  finish({
    initial,
    total: frames.reduce((n, f) => n + f.bytes, 0),
    handshake,
    perDoc,
    messages: frames.map((f) => `${f.dir}${f.type}:${f.bytes}${f.chunks ? ` [${f.chunks}]` : ""}`),
  });
});
