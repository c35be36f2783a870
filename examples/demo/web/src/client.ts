// What the page uses of the client packages, in one place.
export { UploadError } from "@uplift/client";
export type { UploadedFile, UploadProgress } from "@uplift/client";
export { formatBytes } from "@uplift/client/react";
