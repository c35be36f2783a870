import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    environment: "node",
    // The demo server is shared; tests in one file run in order, files in parallel.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The first run builds the demo with cargo.
    teardownTimeout: 20_000,
  },
});
