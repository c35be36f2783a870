export { createUploader } from "./uploader.js";
export type {
  BaseUploadOptions,
  UploadBeginInfo,
  Uploader,
  UploaderOptions,
  UploadHandle,
  UploadOptions,
  PartsStorage,
} from "./uploader.js";
export type { FilesApi, FilesCallOptions, FilesQuery } from "./files.js";
export { deleteObject, listObjects, uploadToSignedPost, uploadToSignedPut, uploadWithToken } from "./signed.js";
export type { ListObjectsOptions, SignedUploadOptions, SignedUploadProgress, TokenUploadOptions } from "./signed.js";
export { UploadError, codeForStatus, STATUS_OF_CODE } from "./errors.js";
export type { ClientErrorCode, UploadErrorCode, UploadErrorInit } from "./errors.js";
export { acceptOf, checkFiles, normalizeMime, patternMatches, patternOf, ruleFor } from "./checks.js";
export type { FileProgress, FileUploadState, UploadProgress } from "./progress.js";
export { isRetryable } from "./retry.js";
export { DEFAULT_TUS_CHUNK_SIZE, DEFAULT_TUS_THRESHOLD } from "./tus.js";
export type { TusOptions, TusPreviousUpload, TusUrlStorage } from "./tus.js";
export type { RetryOptions } from "./retry.js";
export type { FetchLike, TransportKind } from "./transport.js";
export type {
  FileInput,
  HeadersOption,
  HookServerDataOf,
  InputArg,
  InputOf,
  RouteConfig,
  RouteRules,
  RoutesOption,
  RouterShape,
  RouteShape,
  ServerDataOf,
  Slug,
  StatusRef,
  UploadedFile,
} from "./types.js";
export type * from "./protocol.js";
