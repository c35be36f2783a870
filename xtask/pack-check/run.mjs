// Run with Node in the scratch project: the installed tarball imports and works without a
// bundler, without tus-js-client (an optional peer) and without React.

import assert from "node:assert/strict";
import { checkFiles, createUploader, normalizeMime, UploadError } from "@uplift/client";

assert.equal(normalizeMime("Text/Plain; charset=UTF-8"), "text/plain");

const route = {
  slug: "avatar",
  awaitServerData: false,
  types: [
    {
      type: "image",
      mime: "image/*",
      maxFileSize: 10,
      maxFileCount: 1,
      minFileCount: 1,
      contentDisposition: "inline",
      acl: "public-read",
    },
  ],
};
checkFiles(route, [{ name: "a.png", size: 10, type: "image/png" }]);
assert.throws(
  () => checkFiles(route, [{ name: "a.png", size: 11, type: "image/png" }]),
  (e) => e instanceof UploadError && e.code === "TOO_LARGE",
);

// A file over tus needs tus-js-client, which this project did not install: the upload says so
// with its own code, and nothing was sent.
const calls = [];
const up = createUploader({
  url: "http://127.0.0.1:9/api/uploads",
  routes: [route],
  clientChecks: false,
  retries: 0,
  tus: { threshold: 1 },
  fetch: (url) => {
    calls.push(String(url));
    return Promise.reject(new Error("no request was expected"));
  },
});
const err = await up.upload("avatar", { files: [new Blob(["big"], { type: "image/png" })] }).then(
  () => assert.fail("the upload should need tus-js-client"),
  (e) => e,
);
assert.ok(err instanceof UploadError, String(err));
assert.equal(err.code, "TUS_UNAVAILABLE", err.message);
assert.match(err.message, /tus-js-client/);
assert.deepEqual(calls, []);

console.log("@uplift/client: the packed package imports and runs in a plain Node ESM project");
