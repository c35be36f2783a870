// The wire types, generated from the server's Rust types (`cargo xtask codegen`). This module
// only re-exports them, so that the rest of the client names one place; nothing here is
// written by hand.

export type {
  Acl,
  ContentDisposition,
  ErrorBody,
  ErrorCode,
  FileDeclaration,
  FileTypeConfig,
  PrepareRequest,
  PrepareResponse,
  PreparedUpload,
  RouteInfo,
  RoutesResponse,
  UploadResult,
  UploadStatus,
  UploadedFile as StoredFile,
} from "../../generated/ts/protocol.js";
