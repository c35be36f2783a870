// The demo page: built into dist/, which the demo server serves at `/` (`cargo xtask demo`
// builds it when needed). `npm run dev` serves it with hot reload and proxies the API to a demo
// server on 127.0.0.1:8080 (`cargo run -p uplift-demo`).
//
// The client package is used from its TypeScript sources (no build step for it), and the
// router type from the checked-in generated files. JSX goes through esbuild's automatic
// runtime; no React plugin is needed.

import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const repo = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));
const demoServer = process.env.UPLIFT_DEMO_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  esbuild: { jsx: "automatic" },
  resolve: {
    alias: [
      { find: /^@uplift\/client$/, replacement: repo("client-ts/src/index.ts") },
      { find: /^@uplift\/client\/react$/, replacement: repo("client-ts/src/react/index.ts") },
      { find: /^@uplift\/client\/react\/styles\.css$/, replacement: repo("client-ts/src/react/styles.css") },
      { find: /^@generated\/(.*)$/, replacement: repo("generated/ts/$1") },
    ],
    dedupe: ["react", "react-dom"],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The main page, and the page built with UploadThing's own components (/uploadthing).
    rollupOptions: {
      input: { main: fileURLToPath(new URL("index.html", import.meta.url)), uploadthing: fileURLToPath(new URL("uploadthing.html", import.meta.url)) },
    },
    target: "es2022",
    sourcemap: true,
  },
  server: {
    proxy: Object.fromEntries(["/api", "/login", "/logout"].map((p) => [p, { target: demoServer }])),
  },
});
