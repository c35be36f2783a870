// The page's one uploader, typed by the demo's generated router: every hook and component
// below is checked against the routes' inputs and server data by `tsc`.

import { generateReactHelpers } from "@uplift/client/react";
import type { UploadRouter } from "@generated/router";

/** The name sent as `x-user` (the toy auth's header); empty: the sign-in cookie is used. */
let actAs = "";

export function setActAs(name: string): void {
  actAs = name.trim();
}

/** The `x-user` header when a name is set, for the page's own calls too (the activity list). */
export function actAsHeaders(): Record<string, string> {
  return actAs ? { "x-user": actAs } : {};
}

/**
 * `?direct=1`: every file declares its SHA-256, so a server storing in a bucket lets it go
 * straight there (in parallel parts above the server's threshold) instead of over tus.
 */
const direct = typeof window !== "undefined" && new URLSearchParams(window.location.search).get("direct") === "1";

export const { uploader, useUpload, useServerData, useFiles, UploadButton, UploadDropzone } = generateReactHelpers<UploadRouter>({
  url: "/api/uploads",
  // Read at each call, so changing the field takes effect at the next upload.
  headers: actAsHeaders,
  ...(direct ? { sha256: true, tus: false as const } : {}),
});

/** Tells the activity list that a hook may have run. */
export function activityChanged(): void {
  window.dispatchEvent(new Event("uplift-demo:activity"));
}
