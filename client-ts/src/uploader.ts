// `createUploader`: the typed front of the client. It holds what an uploader's uploads share
// (options, route configs, headers, the concurrency limit) and starts one session per upload
// (`session.ts`: prepare → send → await the server's data, with pause/resume/cancel).

import { UploadError } from "./errors.js";
import { filesApi, type FilesApi } from "./files.js";
import { createLimiter, type Limiter } from "./limiter.js";
import { DEFAULT_STATUS_TIMEOUT, failureOf, pollStatus } from "./poll.js";
import type { UploadProgress } from "./progress.js";
import type { RoutesResponse } from "./protocol.js";
import { retryPolicy, withRetry, type RetryOptions, type RetryPolicy } from "./retry.js";
import { startSession, type PartsStorage, type SessionContext } from "./session.js";
import { defaultTransport, requestJson, type FetchLike, type TransportKind } from "./transport.js";
import type { TusOptions } from "./tus.js";
import type {
  FileInput,
  HeadersOption,
  HookServerDataOf,
  InputArg,
  InputOf,
  RouteConfig,
  RouterShape,
  RoutesOption,
  ServerDataOf,
  Slug,
  StatusRef,
  UploadedFile,
} from "./types.js";

/** Options of {@link createUploader}. */
export interface UploaderOptions {
  /** The Uplift base URL, e.g. `/api/uploads` in a browser or `http://127.0.0.1:8080/api/uploads`. */
  url: string | URL;
  /** Sent with every call to the API (config, prepare, status), not with the signed PUT. */
  headers?: HeadersOption;
  /** The `fetch` to use (default: the global one). Also sends the bytes when `transport` is `fetch`. */
  fetch?: FetchLike;
  /** Retries on network errors and 5xx answers, never on 4xx. Default: 3, from 300 ms doubling to 5 s. */
  retries?: number | RetryOptions;
  /** Files sent at once, across every upload of this uploader. Default 3. */
  concurrency?: number;
  /** How bytes are sent: `xhr` (default in browsers: upload progress) or `fetch` (default elsewhere). */
  transport?: TransportKind;
  /**
   * Route configs to check files against, e.g. the generated `routeConfig`; by default they are
   * fetched once from `GET {url}`.
   */
  routes?: RoutesOption;
  /** Check files against the route config before any request (default `true`). */
  clientChecks?: boolean;
  /**
   * Compute each file's SHA-256 before preparing it and declare it (default `false`). Files
   * sent in one PUT are read once for it (up to the tus threshold, 32 MiB by default). The
   * server then checks the bytes against it, and a server storing in an S3 bucket lets such
   * files go straight to the bucket (`completeUrl`): their bytes never pass through it. Large
   * files (above the server's `direct_multipart_threshold`, 64 MiB by default) then go in
   * parallel parts, paused, resumed and cancelled like the rest — when they do not go over
   * tus (`tus: false`, or a `tus.threshold` above them). The file is read whole for its hash.
   */
  sha256?: boolean;
  /**
   * Where the plans of large files sent straight to the bucket in parts (see `sha256`) are
   * remembered, so that after a page reload the same file, route and input go on with the
   * parts the bucket already has instead of starting over. Default: `localStorage` where there
   * is one (browsers); `false`: never.
   */
  partsStorage?: PartsStorage | false;
  /**
   * How long to wait, in ms, for the server to finish a file whose bytes are in (its record,
   * and the completion hook's answer on routes that await it), and in `waitForServerData`,
   * before giving up with `STATUS_TIMEOUT`. The status is polled with backoff (100 ms doubling
   * to 2 s). Default 5 minutes.
   */
  statusTimeout?: number;
  /**
   * Large files go over tus 1.0 (resumable, chunked, optionally in parallel parts) instead of
   * one PUT: files of at least `threshold` bytes (default 32 MiB). `false`: never.
   */
  tus?: TusOptions | false;
}

/** What one file's upload begins with. */
export interface UploadBeginInfo {
  /** The file's position in `files`. */
  index: number;
  /** Its name after the server's sanitizing (and any rename by the middleware). */
  name: string;
  /** Its storage key. */
  key: string;
}

/** Options of one upload, besides `input` (see {@link UploadOptions}). */
export interface BaseUploadOptions<SD> {
  /** The files: an array of `File`/`Blob`, or a `FileList`. */
  files: Iterable<FileInput> | ArrayLike<FileInput>;
  /** Byte-weighted progress of every file and in total; never goes backwards. */
  onProgress?: (progress: UploadProgress) => void;
  /** Cancels everything in flight; the promise rejects with code `ABORTED`. */
  signal?: AbortSignal;
  /** Added to (and overriding) the uploader's headers for this upload's API calls. */
  headers?: HeadersOption;
  /** Called when a file's bytes start to go out (once per file, retries included). */
  onUploadBegin?: (file: UploadBeginInfo) => void;
  /** Called as each file completes, before the whole upload resolves. */
  onFileComplete?: (file: UploadedFile<SD>, index: number) => void;
  /** Check files against the route config before any request (default: the uploader's setting). */
  clientChecks?: boolean;
  /** Overrides the uploader's `tus` options for this upload. */
  tus?: TusOptions | false;
}

/** The options of `upload(slug, …)`: `input` is required exactly when the route's input has required fields. */
export type UploadOptions<R extends RouterShape<R>, K extends keyof R> = BaseUploadOptions<ServerDataOf<R, K>> &
  InputArg<InputOf<R, K>>;

/** A running upload that can be paused, resumed and cancelled. */
export interface UploadHandle<SD> {
  /** Resolves with the files in the order given, or rejects with an {@link UploadError}. */
  readonly promise: Promise<UploadedFile<SD>[]>;
  /** Cancels everything in flight; the promise rejects with code `ABORTED`. */
  cancel(reason?: string): void;
  /**
   * Stops sending: files in flight are interrupted and no new file starts. Files going over tus
   * go on from the server's offset on resume; a file sent in one PUT starts over.
   */
  pause(): void;
  /** Goes on after {@link pause}. */
  resume(): void;
  readonly paused: boolean;
}

/** What {@link createUploader} returns. */
export interface Uploader<R extends RouterShape<R>> {
  /** Uploads files to a route; resolves with them, each with the route's `serverData`. */
  upload<K extends Slug<R>>(slug: K, options: UploadOptions<R, K>): Promise<UploadedFile<ServerDataOf<R, K>>[]>;
  /** As `upload`, with `pause`, `resume` and `cancel`. */
  createUpload<K extends Slug<R>>(slug: K, options: UploadOptions<R, K>): UploadHandle<ServerDataOf<R, K>>;
  /** Every route's config, as the server tells it (or as given in `routes`). */
  routeConfig(): Promise<RouteConfig[]>;
  /** One route's config; rejects with `NOT_FOUND` for an unknown slug. */
  routeConfig<K extends Slug<R>>(slug: K): Promise<RouteConfig>;
  /**
   * Waits for the completion hook's answer of an uploaded file (for routes that do not await
   * it in the upload), polling its status; rejects with the hook's error if it failed.
   * `file` is the file `upload` resolved with, or anything carrying its `statusUrl` (the URL
   * with the token that proves you uploaded it: a private file's status needs it).
   */
  waitForServerData<K extends Slug<R>>(
    slug: K,
    file: StatusRef,
    options?: { signal?: AbortSignal; headers?: HeadersOption },
  ): Promise<HookServerDataOf<R, K>>;
  /**
   * The stored files the caller may manage: list, rename, make public or private, delete
   * (a server whose router calls `manage_files`; elsewhere these calls answer 404/405).
   */
  readonly files: FilesApi<Slug<R>>;
}

function toRouteList(routes: RoutesOption): RouteConfig[] {
  if (isList(routes)) return [...routes];
  const r = routes as { routes?: unknown };
  if (isList(r.routes)) return [...r.routes];
  return Object.values(routes as Readonly<Record<string, RouteConfig>>);
}

function isList(value: unknown): value is ReadonlyArray<RouteConfig> {
  return Array.isArray(value);
}

async function resolveHeaders(option: HeadersOption | undefined): Promise<Record<string, string>> {
  if (option === undefined) return {};
  const init = typeof option === "function" ? await option() : option;
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/**
 * Creates a typed uploader for an app's router:
 *
 * ```ts
 * import type { UploadRouter } from "./generated/router";
 * const up = createUploader<UploadRouter>({ url: "/api/uploads" });
 * const [file] = await up.upload("mediaPost", { files, input: { caption }, onProgress });
 * ```
 */
export function createUploader<R extends RouterShape<R>>(options: UploaderOptions): Uploader<R> {
  const base = String(options.url).replace(/\/+$/, "");
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const policy = retryPolicy(options.retries);
  const limiter = createLimiter(options.concurrency ?? 3);
  const transport = options.transport ?? defaultTransport();
  const given = options.routes === undefined ? undefined : toRouteList(options.routes);
  let routesPromise: Promise<RouteConfig[]> | undefined = given && Promise.resolve(given);

  const headersFor = async (extra?: HeadersOption) => ({
    ...(await resolveHeaders(options.headers)),
    ...(await resolveHeaders(extra)),
  });

  function allRoutes(signal?: AbortSignal, extra?: HeadersOption): Promise<RouteConfig[]> {
    if (!routesPromise) {
      const p = (async () => {
        const headers = await headersFor(extra);
        const res = await withRetry(policy, signal, () =>
          requestJson<RoutesResponse>(fetchFn, "GET", base, headers, undefined, signal),
        );
        return res.routes;
      })();
      routesPromise = p;
      // A failed fetch is not remembered: the next call asks again.
      p.catch(() => {
        if (routesPromise === p) routesPromise = undefined;
      });
    }
    return routesPromise;
  }

  async function oneRoute(slug: string, signal?: AbortSignal, extra?: HeadersOption): Promise<RouteConfig> {
    const route = (await allRoutes(signal, extra)).find((r) => r.slug === slug);
    if (!route) throw new UploadError("NOT_FOUND", `no file route \`${slug}\``, { status: 404 });
    return route;
  }

  const ctx: SessionContext = {
    base,
    fetch: fetchFn,
    policy,
    limiter,
    transport,
    tus: options.tus,
    clientChecks: options.clientChecks,
    sha256: options.sha256 ?? false,
    partsStorage: options.partsStorage === false ? undefined : (options.partsStorage ?? defaultPartsStorage()),
    statusTimeout: options.statusTimeout ?? DEFAULT_STATUS_TIMEOUT,
    headersFor,
    route: oneRoute,
  };

  function createUpload<K extends Slug<R>>(slug: K, opts: UploadOptions<R, K>): UploadHandle<ServerDataOf<R, K>> {
    return startSession<ServerDataOf<R, K>>(ctx, slug, opts, (opts as { input?: unknown }).input);
  }

  return {
    files: filesApi<Slug<R>>({ base, fetch: fetchFn, policy, headers: () => headersFor() }),
    createUpload,
    upload(slug, opts) {
      return createUpload(slug, opts).promise;
    },
    routeConfig(slug?: string): Promise<never> {
      return (slug === undefined ? allRoutes() : oneRoute(slug)) as Promise<never>;
    },
    async waitForServerData(_slug, file, opts = {}) {
      const done = await pollStatus({
        fetch: fetchFn,
        policy,
        url: file.statusUrl,
        headers: await headersFor(opts.headers),
        signal: opts.signal,
        settings: { timeout: ctx.statusTimeout },
      });
      if (done.status !== "complete") throw failureOf(done);
      return done.serverData as never;
    },
  };
}

/** `localStorage`, where there is one (browsers). */
function defaultPartsStorage(): PartsStorage | undefined {
  try {
    const ls = (globalThis as { localStorage?: PartsStorage }).localStorage;
    return ls ?? undefined;
  } catch {
    // Access denied (e.g. storage disabled for the page).
    return undefined;
  }
}

export type { Limiter, PartsStorage, RetryPolicy };
