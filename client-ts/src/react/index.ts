// `@uplift/client/react`: a typed hook and ready components for an app's file routes.
//
// ```tsx
// import type { UploadRouter } from "./generated/router";
// import { generateReactHelpers } from "@uplift/client/react";
// import "@uplift/client/react/styles.css"; // optional default look
//
// export const { useUpload, UploadButton, UploadDropzone } =
//   generateReactHelpers<UploadRouter>({ url: "/api/uploads" });
//
// <UploadButton slug="profilePicture" onComplete={([file]) => setAvatar(file.serverData.url)} />
// ```

import { createUploader, type Uploader, type UploaderOptions } from "../uploader.js";
import type { RouterShape } from "../types.js";
import { makeComponents } from "./components.js";
import { makeUseFiles } from "./use-files.js";
import { makeUseServerData, makeUseUpload } from "./use-upload.js";

/** Options of {@link generateReactHelpers}: the uploader's options, or an uploader already made. */
export type ReactHelpersOptions<R extends RouterShape<R>> = UploaderOptions | { uploader: Uploader<R> };

/**
 * Binds the hooks and components to an app's router type and one uploader (one route-config
 * fetch and one concurrency limit for the whole page).
 */
export function generateReactHelpers<R extends RouterShape<R>>(options: ReactHelpersOptions<R>) {
  const uploader = "uploader" in options ? options.uploader : createUploader<R>(options);
  const useUpload = makeUseUpload(uploader);
  const useServerData = makeUseServerData(uploader);
  const useFiles = makeUseFiles(uploader);
  const { UploadButton, UploadDropzone } = makeComponents<R>(useUpload);
  return { uploader, useUpload, useServerData, useFiles, UploadButton, UploadDropzone };
}

export { describeRoute, formatBytes, inputAttributes, maxFilesOf } from "./describe.js";
export { makeUseServerData, makeUseUpload, useRouteConfig } from "./use-upload.js";
export type {
  ServerDataState,
  StartUploadArgs,
  UploadStatus,
  UseUploadOptions,
  UseUploadResult,
} from "./use-upload.js";
export { makeUseFiles } from "./use-files.js";
export type { UseFilesResult } from "./use-files.js";
export { makeComponents } from "./components.js";
export type {
  UploadClassNames,
  UploadComponentProps,
  UploadContent,
  UploadMode,
  UploadRenderState,
} from "./components.js";
