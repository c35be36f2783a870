// What the page uses of the client packages, in one place.
export { deleteObject, listObjects, UploadError, uploadWithToken } from "@uplift/client";
export type { FileObject, UploadedFile, UploadProgress, UploadToken } from "@uplift/client";
export { formatBytes } from "@uplift/client/react";
