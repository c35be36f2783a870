// The two generators must agree: the types openapi-typescript derives from generated/openapi.json
// and the types ts-rs wrote to generated/ts are assignable to and from each other — for every
// demo route's input and server data, and for every protocol type. `tsc` fails on any drift.
// (`.openapi/openapi.d.ts` is written by `cargo xtask test` just before this is checked.)

import type { components } from "./.openapi/openapi.js";
import type { UploadRouter } from "../generated/ts/router.js";
import type * as Protocol from "../generated/ts/protocol.js";

type Schemas = components["schemas"];

/** `true` when each type is assignable to the other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

type Slug = keyof UploadRouter & string;

/** Per route: [input agrees, server data agrees]. A missing schema is an error in itself. */
type RouteAgreement = {
  [K in Slug]: [
    Mutual<UploadRouter[K]["input"], Schemas[`${Capitalize<K>}Input`]>,
    Mutual<UploadRouter[K]["serverData"], Schemas[`${Capitalize<K>}ServerData`]>,
  ];
};
type Disagreeing = { [K in Slug]: RouteAgreement[K] extends [true, true] ? never : K }[Slug];
export type RoutesAgree = Assert<[Disagreeing] extends [never] ? true : false>;

/** Every wire type both generators describe, by name. */
type ProtocolTypes = {
  Acl: Protocol.Acl;
  ContentDisposition: Protocol.ContentDisposition;
  ErrorBody: Protocol.ErrorBody;
  ErrorCode: Protocol.ErrorCode;
  ErrorResponse: Protocol.ErrorResponse;
  FileDeclaration: Protocol.FileDeclaration;
  FileTypeConfig: Protocol.FileTypeConfig;
  MultipartResponse: Protocol.MultipartResponse;
  MultipartPlan: Protocol.MultipartPlan;
  PartUrl: Protocol.PartUrl;
  PartsRequest: Protocol.PartsRequest;
  PartsResponse: Protocol.PartsResponse;
  UploadedPart: Protocol.UploadedPart;
  NoInput: Protocol.NoInput;
  PrepareRequest: Protocol.PrepareRequest;
  PrepareResponse: Protocol.PrepareResponse;
  PreparedUpload: Protocol.PreparedUpload;
  RouteInfo: Protocol.RouteInfo;
  RoutesResponse: Protocol.RoutesResponse;
  UploadResult: Protocol.UploadResult;
  UploadStatus: Protocol.UploadStatus;
  UploadedFile: Protocol.UploadedFile;
  SignedPut: Protocol.SignedPut;
  SignedPost: Protocol.SignedPost;
  PostForm: Protocol.PostForm;
  UploadToken: Protocol.UploadToken;
  FileEnvelope: Protocol.FileEnvelope;
  FileObject: Protocol.FileObject;
  FileKind: Protocol.FileKind;
  Meta: Protocol.Meta;
  Links: Protocol.Links;
};
type ProtocolName = keyof ProtocolTypes;
type ProtocolDisagreeing = {
  [N in ProtocolName]: Mutual<ProtocolTypes[N], Schemas[N]> extends true ? never : N;
}[ProtocolName];
export type ProtocolAgrees = Assert<[ProtocolDisagreeing] extends [never] ? true : false>;
