// The wire types, generated from the server's Rust types into `./generated/` (`cargo xtask
// codegen` writes them; a test fails when they are stale). This module only re-exports them, so
// that the rest of the client names one place; nothing here is written by hand.

export type {
  Acl,
  ContentDisposition,
  ErrorBody,
  ErrorCode,
  FileDeclaration,
  FileEnvelope,
  FileKind,
  FileObject,
  FileTypeConfig,
  MultipartPlan,
  PartsRequest,
  PartsResponse,
  PartUrl,
  PostForm,
  PrepareRequest,
  PrepareResponse,
  PreparedUpload,
  RouteInfo,
  RoutesResponse,
  SignedPost,
  SignedPut,
  UploadResult,
  UploadStatus,
  UploadToken,
  UploadedPart,
  UploadedFile as StoredFile,
} from "./generated/protocol.js";
