// Measures type-ahead search in the browser build's wasm client, run by Node: every keystroke of
// each query (two characters on) over the documents given, after one warm-up that builds the index.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [glue, wasm, dir, queries] = process.argv.slice(2);
const { initSync, Client } = await import(pathToFileURL(glue).href);
initSync({ module: readFileSync(wasm) });
const client = new Client("bench-search", "bench-search");
for (const f of readdirSync(dir)) {
  if (f.endsWith(".bin")) client.openDoc(f.slice(0, -4), readFileSync(join(dir, f)), undefined);
}
let t = performance.now();
client.search("warm", "", "fi");
const build_ms = performance.now() - t;
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.round((xs.length - 1) * p))];
const all = [];
const out = {};
for (const q of queries.split(",")) {
  const times = [];
  for (let round = 0; round < 20; round++) {
    for (let k = 2; k <= q.length; k++) {
      t = performance.now();
      client.search(q.slice(0, k), "", "fi");
      times.push((performance.now() - t) * 1000);
    }
  }
  times.sort((a, b) => a - b);
  all.push(...times);
  out[q] = { p50_us: pct(times, 0.5), p95_us: pct(times, 0.95) };
}
all.sort((a, b) => a - b);
console.log(JSON.stringify({ index_build_ms: build_ms, p50_us: pct(all, 0.5), p95_us: pct(all, 0.95), queries: out }));
