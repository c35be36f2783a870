// `createUploader`: prepare → PUT each file (with progress, retries, a concurrency limit) →
// result, typed by the app's generated router type.

import { checkFiles } from "./checks.js";
import { abortError, STATUS_OF_CODE, UploadError } from "./errors.js";
import { createLimiter, linkSignals, type Limiter } from "./limiter.js";
import { ProgressTracker, safely, type UploadProgress } from "./progress.js";
import type {
  FileDeclaration,
  PreparedUpload,
  PrepareRequest,
  PrepareResponse,
  RoutesResponse,
  UploadResult,
} from "./protocol.js";
import { backoffDelay, isRetryable, retryPolicy, sleep, withRetry, type RetryOptions, type RetryPolicy } from "./retry.js";
import { defaultTransport, parseAnswer, put, requestJson, type FetchLike, type TransportKind } from "./transport.js";
import { TusFile, tusSettings, type TusOptions } from "./tus.js";
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
   */
  waitForServerData<K extends Slug<R>>(
    slug: K,
    file: { key: string },
    options?: { signal?: AbortSignal; headers?: HeadersOption },
  ): Promise<HookServerDataOf<R, K>>;
}

const PAUSED = Symbol("paused");

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

function declare(file: FileInput, index: number): FileDeclaration {
  const decl = {
    name: file.name || (index === 0 ? "blob" : `blob-${index + 1}`),
    size: file.size,
    type: file.type || "application/octet-stream",
  } as FileDeclaration;
  if (typeof file.lastModified === "number") (decl as { lastModified?: number }).lastModified = file.lastModified;
  return decl;
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

  /** Polls a status URL until the completion hook has answered. */
  async function untilDone(statusUrl: string, headers: Record<string, string>, signal?: AbortSignal): Promise<UploadResult> {
    let interval = 200;
    for (;;) {
      const st = await withRetry(policy, signal, () =>
        requestJson<UploadResult>(fetchFn, "GET", statusUrl, headers, undefined, signal),
      );
      if (st.status === "complete") return st;
      if (st.status === "failed" || st.status === "expired") throw failureOf(st);
      await sleep(interval, signal);
      interval = Math.min(2000, Math.round(interval * 1.5));
    }
  }

  function failureOf(st: UploadResult): UploadError {
    if (st.error) return UploadError.fromBody(st.error, STATUS_OF_CODE[st.error.code] ?? 500);
    if (st.status === "expired") return new UploadError("EXPIRED", "the upload URL has expired", { status: 410 });
    return new UploadError("INTERNAL", `the upload ended as ${st.status}`, { status: 500 });
  }

  function createUpload<K extends Slug<R>>(slug: K, opts: UploadOptions<R, K>): UploadHandle<ServerDataOf<R, K>> {
    type SD = ServerDataOf<R, K>;
    const cancelCtl = new AbortController();
    const link = linkSignals(opts.signal, cancelCtl.signal);
    const signal = link.signal;
    let paused = false;
    let pauseCtl = new AbortController();
    let resumeWaiters: Array<() => void> = [];

    const gate = (): Promise<void> => {
      if (signal.aborted) return Promise.reject(abortError(signal));
      if (!paused) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const onAbort = () => reject(abortError(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        resumeWaiters.push(() => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    };

    const run = async (): Promise<UploadedFile<SD>[]> => {
      const files = Array.from(opts.files as ArrayLike<FileInput>);
      const decls = files.map(declare);
      const input = (opts as { input?: unknown }).input;
      const checks = opts.clientChecks ?? options.clientChecks ?? true;
      if (checks) checkFiles(await oneRoute(slug, signal, opts.headers), decls);

      const progress = new ProgressTracker(decls, opts.onProgress);
      let first: unknown;
      const fail = (error: unknown) => {
        if (first !== undefined) return;
        first = error;
        if (!signal.aborted) cancelCtl.abort(error);
      };
      const slugUrl = `${base}/${encodeURIComponent(slug)}`;
      const prepare = async (files: FileDeclaration[]): Promise<PrepareResponse> => {
        const body = { files, input } as PrepareRequest;
        const headers = await headersFor(opts.headers);
        const res = await withRetry(policy, signal, () =>
          requestJson<PrepareResponse>(fetchFn, "POST", slugUrl, headers, body, signal),
        );
        if (res.files.length !== files.length) {
          throw new UploadError("INTERNAL", `prepared ${res.files.length} files for ${files.length}`, { status: 500 });
        }
        return res;
      };
      const tus = tusSettings(options.tus, opts.tus);
      const overTus = decls.map((d) => d.size > 0 && d.size >= tus.threshold);
      const small = decls.flatMap((d, i) => (overTus[i] ? [] : [i]));
      // No file at all is the server's to refuse (TOO_FEW_FILES), as without tus.
      const preparedSmall =
        small.length > 0 || decls.length === 0 ? await prepare(small.map((i) => decls[i]!)) : undefined;
      const preparedOf = (i: number): PreparedUpload => preparedSmall!.files[small.indexOf(i)]!;
      const awaits = preparedSmall?.awaitServerData ?? (await oneRoute(slug, signal, opts.headers)).awaitServerData;

      const finish = async (i: number, result: UploadResult, statusUrl: string): Promise<UploadedFile<SD>> => {
        let done = result;
        if (done.status === "failed" || done.status === "expired") throw failureOf(done);
        if (awaits && done.status !== "complete") {
          progress.state(i, "completing");
          done = await untilDone(statusUrl, await headersFor(opts.headers), signal);
        }
        if (!done.file) {
          throw new UploadError("INTERNAL", "the server answered without the stored file", { status: 500 });
        }
        const file = { ...done.file, serverData: (awaits ? (done.serverData ?? null) : null) as SD };
        progress.state(i, "complete");
        return file;
      };

      /**
       * After an interrupted or failed attempt: the file may be stored after all (its answer was
       * lost), its URL may be unused (reuse it), or the key is spent (prepare the file again).
       */
      type Recovered = { done: UploadedFile<SD> } | { target: PreparedUpload };
      const recover = async (i: number, target: PreparedUpload, cause: unknown): Promise<Recovered> => {
        const headers = await headersFor(opts.headers);
        let st: UploadResult | undefined;
        try {
          st = await withRetry(policy, signal, () =>
            requestJson<UploadResult>(fetchFn, "GET", target.statusUrl, headers, undefined, signal),
          );
        } catch (error) {
          if (signal.aborted) throw abortError(signal);
          if (isRetryable(error)) throw cause;
        }
        switch (st?.status) {
          case "pending":
            return { target };
          case "complete":
          case "completing":
            return { done: await finish(i, st, target.statusUrl) };
          case "failed":
            // The server refused the bytes for a reason that a new attempt would meet again.
            if (st.error && st.error.code !== "SIZE_MISMATCH" && st.error.code !== "INTERNAL") throw failureOf(st);
            break;
          default:
            break;
        }
        try {
          return { target: (await prepare([decls[i]!])).files[0]! };
        } catch (error) {
          if (signal.aborted) throw abortError(signal);
          // e.g. a route whose minimum count a single file cannot meet: report the first failure.
          throw cause instanceof UploadError ? cause : error;
        }
      };

      /** A large file over tus: paused and resumed in place, never started over. */
      const runTusFile = async (i: number): Promise<UploadedFile<SD>> => {
        let begun = false;
        const t = new TusFile({
          endpoint: `${slugUrl}/tus`,
          slug,
          file: files[i]!,
          decl: decls[i]!,
          input,
          settings: tus,
          policy,
          headers: () => headersFor(opts.headers),
          onProgress: (n) => progress.bytes(i, n),
          onKey: (key) => {
            if (begun) return;
            begun = true;
            safely(() => opts.onUploadBegin?.({ index: i, name: decls[i]!.name, key }));
          },
        });
        for (;;) {
          await gate();
          const release = await limiter.acquire(signal);
          if (paused) {
            release();
            continue;
          }
          progress.state(i, "uploading");
          let outcome;
          try {
            outcome = await t.run(pauseCtl.signal, signal);
          } catch (e) {
            release();
            throw e instanceof UploadError && e.code !== "ABORTED" ? e.withFileIndex(i) : e;
          }
          release();
          if (outcome === "done") break;
          progress.state(i, "pending");
        }
        progress.bytes(i, files[i]!.size);
        const statusUrl = `${base}/files/${encodeURIComponent(t.finalKey())}`;
        const headers = await headersFor(opts.headers);
        // The bytes are in: wait until the server has stored the file (its record names it).
        let st: UploadResult;
        let interval = 100;
        for (;;) {
          st = await withRetry(policy, signal, () =>
            requestJson<UploadResult>(fetchFn, "GET", statusUrl, headers, undefined, signal),
          );
          if (st.file || (st.status !== "pending" && st.status !== "completing")) break;
          await sleep(interval, signal);
          interval = Math.min(1000, interval * 2);
        }
        return await finish(i, st, statusUrl);
      };

      const runFile = async (i: number): Promise<UploadedFile<SD>> => {
        if (overTus[i]) return runTusFile(i);
        let target = preparedOf(i);
        let retries = 0;
        let begun = false;
        let needsRecovery: unknown = undefined;
        for (;;) {
          await gate();
          if (needsRecovery !== undefined) {
            const r = await recover(i, target, needsRecovery);
            needsRecovery = undefined;
            if ("done" in r) return r.done;
            target = r.target;
            continue;
          }
          const release = await limiter.acquire(signal);
          if (paused) {
            release();
            continue;
          }
          const pauseSignal = pauseCtl.signal;
          const attempt = linkSignals(signal, pauseSignal);
          let error: unknown;
          let result: UploadResult | undefined;
          try {
            if (!begun) {
              begun = true;
              safely(() => opts.onUploadBegin?.({ index: i, name: target.name, key: target.key }));
            }
            progress.state(i, "uploading");
            const answer = await put(transport, fetchFn, {
              url: target.uploadUrl,
              method: target.method || "PUT",
              headers: target.headers as Record<string, string>,
              body: files[i]!,
              signal: attempt.signal,
              onProgress: (n) => progress.bytes(i, n),
            });
            result = parseAnswer<UploadResult>(answer);
          } catch (e) {
            error = e;
          } finally {
            attempt.dispose();
          }
          if (result) {
            release();
            progress.bytes(i, files[i]!.size);
            return await finish(i, result, target.statusUrl);
          }
          if (signal.aborted) {
            release();
            throw abortError(signal);
          }
          if (pauseSignal.aborted && error instanceof UploadError && error.code === "ABORTED") {
            release();
            progress.state(i, "pending");
            needsRecovery = error;
            continue;
          }
          if (!isRetryable(error) || retries >= policy.retries) {
            const final = error instanceof UploadError ? error.withFileIndex(i) : error;
            // Cancel the other files before this slot goes to one of them.
            fail(final);
            release();
            throw final;
          }
          release();
          retries++;
          progress.state(i, "pending");
          await sleep(backoffDelay(policy, retries), signal);
          needsRecovery = error;
        }
      };

      // Every file runs; the first failure cancels the others (they reject with that same
      // error), and the upload settles only once nothing is in flight any more.
      const results: Array<UploadedFile<SD>> = new Array(files.length);
      const settled = await Promise.allSettled(
        files.map((_, i) =>
          runFile(i).then(
            (file) => {
              results[i] = file;
              safely(() => opts.onFileComplete?.(file, i));
            },
            (error: unknown) => {
              progress.state(i, "failed");
              // Whatever failed while handling file i is about file i (cancellations aside).
              const e = error instanceof UploadError && error.code !== "ABORTED" ? error.withFileIndex(i) : error;
              fail(e);
              throw e;
            },
          ),
        ),
      );
      if (settled.some((s) => s.status === "rejected")) throw first;
      return results;
    };

    const promise = run()
      .catch((error: unknown) => {
        if (error instanceof UploadError) throw error;
        if (signal.aborted) throw abortError(signal);
        throw new UploadError("INTERNAL", error instanceof Error ? error.message : String(error), { cause: error });
      })
      .finally(() => link.dispose());

    return {
      promise,
      cancel(reason?: string) {
        cancelCtl.abort(new UploadError("ABORTED", reason ?? "the upload was cancelled"));
      },
      pause() {
        if (paused || signal.aborted) return;
        paused = true;
        pauseCtl.abort(PAUSED);
      },
      resume() {
        if (!paused) return;
        paused = false;
        pauseCtl = new AbortController();
        const waiters = resumeWaiters;
        resumeWaiters = [];
        waiters.forEach((w) => w());
      },
      get paused() {
        return paused;
      },
    };
  }

  return {
    createUpload,
    upload(slug, opts) {
      return createUpload(slug, opts).promise;
    },
    routeConfig(slug?: string): Promise<never> {
      return (slug === undefined ? allRoutes() : oneRoute(slug)) as Promise<never>;
    },
    async waitForServerData(_slug, file, opts = {}) {
      const headers = await headersFor(opts.headers);
      const done = await untilDone(`${base}/files/${encodeURIComponent(file.key)}`, headers, opts.signal);
      return done.serverData as never;
    },
  };
}

export type { Limiter, RetryPolicy };
