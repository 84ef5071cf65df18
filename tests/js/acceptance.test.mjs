// automerge-repo's own acceptance tests for network adapters, run with three official WebSocket
// client adapters pointed at one running relay, so that three peers sync, broadcast and reconnect
// through it. Started by tests/e2e/acceptance.rs, which starts the relay, passes the three
// adapters' URLs (each with a device token) in ACCEPTANCE_RELAY_URLS as a JSON list, chooses
// which of the suite's tests apply to a relay, and checks the report.

// The suite imports the slim build of automerge-repo, which expects Automerge's wasm to be
// initialised already: the full entry point does that when imported.
import "@automerge/automerge-repo"
import { BrowserWebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { runNetworkAdapterTests } from "@automerge/automerge-repo/helpers/tests/network-adapter-tests.js"

const urls = JSON.parse(process.env.ACCEPTANCE_RELAY_URLS ?? "[]")
if (!Array.isArray(urls) || urls.length !== 3) {
  throw new Error("ACCEPTANCE_RELAY_URLS must be a JSON list of three ws:// URLs (tests/e2e/acceptance.rs sets it)")
}

runNetworkAdapterTests(async () => {
  // Fresh adapters for every test; the suite connects the ones it uses through its repos.
  const adapters = urls.map(url => new BrowserWebSocketClientAdapter(url))
  // An adapter the test never connected has no socket, and its disconnect() would throw.
  const teardown = () => {
    for (const adapter of adapters) if (adapter.socket) adapter.disconnect()
  }
  return { adapters, teardown }
}, "Contact Point relay")
