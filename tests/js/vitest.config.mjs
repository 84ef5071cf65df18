// vitest settings for the acceptance suite (acceptance.test.mjs), which tests/e2e/acceptance.rs
// runs against a relay process.

import { defineConfig } from "vitest/config"

// What the WebSocket library throws when a socket is closed while it is still connecting.
const CLOSED_WHILE_CONNECTING = "WebSocket was closed before the connection was established"

export default defineConfig({
  test: {
    include: ["acceptance.test.mjs"],
    // Each test's waits are the suite's own; this only bounds a test that would hang.
    testTimeout: 20000,
    onUnhandledError(error) {
      // "should support reconnecting after disconnect" disconnects one adapter as soon as the
      // other has met its peer, when the first one's socket may still be connecting; the
      // WebSocket library then reports that on a socket the adapter no longer listens to. That
      // is between the test and the library, whatever the server, so it alone is not counted.
      return error?.message !== CLOSED_WHILE_CONNECTING
    },
  },
})
