// The types that tie the client to an app's router: the generated `UploadRouter` names, per
// route slug, its input, its server data and whether the upload waits for that server data.

import type { FileTypeConfig, RouteInfo, StoredFile } from "./protocol.js";

/** What the client needs to know about one route, as the generated router type gives it. */
export interface RouteShape {
  input: unknown;
  serverData: unknown;
  awaitServerData: boolean;
}

/**
 * The shape of a generated router type: `{ [slug]: { input; serverData; awaitServerData; … } }`.
 * Use as `R extends RouterShape<R>` so that interfaces and type aliases both fit.
 */
export type RouterShape<R = Record<string, RouteShape>> = { [K in keyof R]: RouteShape };

/** The route slugs of a router. */
export type Slug<R> = Extract<keyof R, string>;

/** The typed input of a route. */
export type InputOf<R extends RouterShape<R>, K extends keyof R> = R[K]["input"];

/**
 * What `upload` resolves `serverData` to: the route's server data where the upload waits for
 * it (`awaitServerData: true`), `null` where it does not (it arrives later at the status URL;
 * see `waitForServerData`).
 */
export type ServerDataOf<R extends RouterShape<R>, K extends keyof R> = [R[K]["awaitServerData"]] extends [true]
  ? R[K]["serverData"]
  : [R[K]["awaitServerData"]] extends [false]
    ? null
    : R[K]["serverData"] | null;

/** The route's server data as its completion hook returns it (what the status URL shows). */
export type HookServerDataOf<R extends RouterShape<R>, K extends keyof R> = R[K]["serverData"];

/**
 * The `input` property of the upload options: required when the route's input has required
 * fields, optional when it has none or the route takes no input.
 */
export type InputArg<I> = [I] extends [never]
  ? { input?: undefined }
  : [I] extends [null | undefined | void]
    ? { input?: I | undefined }
    : {} extends I
      ? { input?: I | undefined }
      : undefined extends I
        ? { input?: I }
        : { input: I };

/** A stored file as `upload` resolves it, with the route's server data. */
export type UploadedFile<SD = unknown> = StoredFile & {
  /** The completion hook's answer on routes that await it; `null` on the others. */
  serverData: SD;
  /**
   * The file's status URL as the server handed it to this upload: `{base}/files/{key}?token=…`.
   * The token proves you uploaded the file; a private file's status is not readable without it
   * (404). Give it, or the whole file, to `waitForServerData`; keep it as you would the file.
   */
  statusUrl: string;
};

/** What `waitForServerData` needs of a file: the status URL its upload was answered with. */
export type StatusRef = Pick<UploadedFile, "statusUrl">;

/** Anything with bytes: a browser `File`, or a `Blob` (Node 20 has both) with an optional name. */
export type FileInput = Blob & { readonly name?: string; readonly lastModified?: number };

/** Headers as a record, a `Headers` object or pairs; or a function giving them (e.g. a fresh token). */
export type HeadersOption = HeadersInit | (() => HeadersInit | Promise<HeadersInit>);

/**
 * What the client checks files against: a route's config as `GET {base}` serves it, or as the
 * generated `routeConfig` constant spells it (read-only, without the input schema).
 */
export type RouteRules = {
  readonly [P in "slug" | "awaitServerData" | "maxTotalFileCount" | "maxTotalSize"]: RouteInfo[P];
} & { readonly types: ReadonlyArray<Readonly<FileTypeConfig>> };

/** A route's config as `routeConfig()` gives it: the rules, and the input's JSON Schema when the server sent it. */
export type RouteConfig = RouteRules & { readonly inputSchema?: RouteInfo["inputSchema"] };

/** Route configs given to the uploader instead of fetched: a list, `GET {base}`'s answer, or the generated `routeConfig` constant. */
export type RoutesOption =
  | ReadonlyArray<RouteConfig>
  | { readonly routes: ReadonlyArray<RouteConfig> }
  | Readonly<Record<string, RouteConfig>>;
