// Bundled by demo.spec.mjs (esbuild) and injected into the demo page: Uppy (`@uppy/core` +
// `@uppy/tus`), unmodified, uploading to a file route's tus endpoint.

import Uppy from "@uppy/core";
import Tus from "@uppy/tus";

/** Uploads `size` bytes of an MP4 to `endpoint`; resolves with the upload URL and the SHA-256 sent. */
window.uploadWithUppy = async (endpoint, user, size, caption) => {
  const bytes = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  bytes.set([0, 0, 0, 0x18, ...new TextEncoder().encode("ftypisom"), 0, 0, 2, 0, ...new TextEncoder().encode("isomiso2")]);
  const sha = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const uppy = new Uppy({ autoProceed: false }).use(Tus, {
    endpoint,
    headers: { "x-user": user },
    chunkSize: 1024 * 1024,
    retryDelays: [0, 500],
  });
  uppy.addFile({
    name: "uppy.mp4",
    type: "video/mp4",
    data: new Blob([bytes], { type: "video/mp4" }),
    meta: { input: JSON.stringify({ caption }) },
  });
  const result = await uppy.upload();
  if (!result || result.failed?.length) {
    throw new Error(`Uppy: ${result?.failed?.map((f) => String(f.error)).join("; ") ?? "no result"}`);
  }
  return { uploadURL: result.successful[0].uploadURL, sha };
};
