// @tus/server (Node) with its FileStore in DIR, on 127.0.0.1: the peer `cargo xtask bench`
// measures tus uploads against. Prints `listening on http://127.0.0.1:PORT`; tus at `/files`.
//
//   node bench/tus-node-server.mjs DIR

import http from "node:http";

import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node bench/tus-node-server.mjs DIR");
  process.exit(2);
}
const tus = new Server({ path: "/files", datastore: new FileStore({ directory: dir }) });
const server = http.createServer((req, res) => tus.handle(req, res));
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
