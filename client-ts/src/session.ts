// One upload session (`createUpload`): check → prepare → send each file (one PUT, or tus for
// large files) → await the server's data, under one pause/resume/cancel control. Every status
// wait goes through the one poller (`poll.ts`).

import { checkBucketAnswer } from "./bucket.js";
import { checkFiles } from "./checks.js";
import { abortError, UploadError } from "./errors.js";
import { linkSignals, type Limiter } from "./limiter.js";
import { failureOf, isSettled, pollStatus } from "./poll.js";
import { ProgressTracker, safely } from "./progress.js";
import { abortParts, sendParts } from "./parts.js";
import type {
  FileDeclaration,
  MultipartPlan,
  PreparedUpload,
  PrepareRequest,
  PrepareResponse,
  UploadResult,
} from "./protocol.js";
import { backoffDelay, isRetryable, sleep, withRetry, type RetryPolicy } from "./retry.js";
import { parseAnswer, put, requestJson, type FetchLike, type TransportKind } from "./transport.js";
import { TusFile } from "./tus-file.js";
import { tusSettings, type TusOptions } from "./tus.js";
import type { FileInput, HeadersOption, RouteConfig, UploadedFile } from "./types.js";
import type { BaseUploadOptions, UploadHandle } from "./uploader.js";

/** What a session needs from its uploader. */
export interface SessionContext {
  /** The base URL, without a trailing slash. */
  base: string;
  fetch: FetchLike;
  policy: RetryPolicy;
  limiter: Limiter;
  transport: TransportKind;
  tus: TusOptions | false | undefined;
  clientChecks: boolean | undefined;
  /** Declare each PUT file's SHA-256 (see `UploaderOptions.sha256`). */
  sha256: boolean;
  /** Where plans of files sent in parts are remembered across reloads (`UploaderOptions.partsStorage`). */
  partsStorage: PartsStorage | undefined;
  statusTimeout: number;
  /** The uploader's headers with `extra` over them. */
  headersFor(extra?: HeadersOption): Promise<Record<string, string>>;
  /** One route's config (fetched once per uploader). */
  route(slug: string, signal?: AbortSignal, extra?: HeadersOption): Promise<RouteConfig>;
}

const PAUSED = Symbol("paused");

/**
 * Pause, resume and cancel of one session. `signal` fires on cancel (or the caller's signal);
 * `pauseSignal` fires on pause and is renewed on resume; `gate()` waits while paused.
 */
class Controls {
  private readonly cancelCtl = new AbortController();
  private readonly link: { signal: AbortSignal; dispose: () => void };
  private pauseCtl = new AbortController();
  private waiters: Array<() => void> = [];
  paused = false;

  constructor(external: AbortSignal | undefined) {
    this.link = linkSignals(external, this.cancelCtl.signal);
  }

  get signal(): AbortSignal {
    return this.link.signal;
  }

  get pauseSignal(): AbortSignal {
    return this.pauseCtl.signal;
  }

  gate(): Promise<void> {
    const signal = this.signal;
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }

  cancel(reason: unknown): void {
    this.cancelCtl.abort(reason);
  }

  pause(): void {
    if (this.paused || this.signal.aborted) return;
    this.paused = true;
    this.pauseCtl.abort(PAUSED);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.pauseCtl = new AbortController();
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  dispose(): void {
    this.link.dispose();
  }
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

/** Starts one upload of `files` to route `slug`; see `Uploader.createUpload`. */
export function startSession<SD>(
  ctx: SessionContext,
  slug: string,
  opts: BaseUploadOptions<SD>,
  input: unknown,
): UploadHandle<SD> {
  const controls = new Controls(opts.signal);
  const signal = controls.signal;

  const run = async (): Promise<UploadedFile<SD>[]> => {
    const files = Array.from(opts.files as ArrayLike<FileInput>);
    const decls = files.map(declare);
    const checks = opts.clientChecks ?? ctx.clientChecks ?? true;
    if (checks) checkFiles(await ctx.route(slug, signal, opts.headers), decls);

    const progress = new ProgressTracker(decls, opts.onProgress);
    let first: unknown;
    const fail = (error: unknown) => {
      if (first !== undefined) return;
      first = error;
      if (!signal.aborted) controls.cancel(error);
    };
    const headers = () => ctx.headersFor(opts.headers);
    const slugUrl = `${ctx.base}/${encodeURIComponent(slug)}`;

    // Prepare: the files that take one PUT, all at once (tus files are created over tus).
    const prepare = async (files: FileDeclaration[]): Promise<PrepareResponse> => {
      const body = { files, input } as PrepareRequest;
      const h = await headers();
      const res = await withRetry(ctx.policy, signal, () =>
        requestJson<PrepareResponse>(ctx.fetch, "POST", slugUrl, h, body, signal),
      );
      if (res.files.length !== files.length) {
        throw new UploadError("INTERNAL", `prepared ${res.files.length} files for ${files.length}`, { status: 500 });
      }
      return res;
    };
    const tus = tusSettings(ctx.tus, opts.tus);
    const overTus = decls.map((d) => d.size > 0 && d.size >= tus.threshold);
    const small = decls.flatMap((d, i) => (overTus[i] ? [] : [i]));
    // No file at all is the server's to refuse (TOO_FEW_FILES), as without tus.
    if (ctx.sha256) {
      for (const i of small) {
        (decls[i] as { sha256?: string }).sha256 = await sha256Hex(files[i]!, signal);
      }
    }
    // Large files this browser began to send in parts before a reload go on from where they
    // were (their plan was remembered); the others are prepared.
    const remembered = new Map<number, PreparedUpload>();
    const fingerprints = new Map<number, string>();
    if (ctx.partsStorage) {
      for (const i of small) {
        if (!decls[i]!.sha256) continue;
        const fp = partsFingerprint(ctx.base, slug, decls[i]!, input);
        fingerprints.set(i, fp);
        const target = await recall(ctx.partsStorage, fp, async (statusUrl) => {
          const st = await requestJson<UploadResult>(ctx.fetch, "GET", statusUrl, await headers(), undefined, signal).catch(
            () => undefined,
          );
          return st?.status === "pending";
        });
        if (target) remembered.set(i, target);
      }
    }
    const toPrepare = small.filter((i) => !remembered.has(i));
    const preparedSmall =
      toPrepare.length > 0 || decls.length === 0 ? await prepare(toPrepare.map((i) => decls[i]!)) : undefined;
    const preparedOf = (i: number): PreparedUpload => remembered.get(i) ?? preparedSmall!.files[toPrepare.indexOf(i)]!;
    const remember = async (i: number, target: PreparedUpload | undefined) => {
      const fp = fingerprints.get(i);
      if (!ctx.partsStorage || fp === undefined) return;
      await safelyAsync(() =>
        target ? ctx.partsStorage!.setItem(fp, JSON.stringify(target)) : ctx.partsStorage!.removeItem(fp),
      );
    };
    for (const i of toPrepare) {
      const target = preparedOf(i);
      if (target.multipart) await remember(i, target);
    }
    const awaits = preparedSmall?.awaitServerData ?? (await ctx.route(slug, signal, opts.headers)).awaitServerData;

    // Await the server's data: what the upload resolves with for file i.
    const poll = async (url: string, until: (st: UploadResult) => boolean) =>
      pollStatus({
        fetch: ctx.fetch,
        policy: ctx.policy,
        url,
        headers: await headers(),
        signal,
        until,
        settings: { timeout: ctx.statusTimeout },
      });
    const finish = async (i: number, result: UploadResult, statusUrl: string): Promise<UploadedFile<SD>> => {
      let done = result;
      if (awaits && !isSettled(done)) {
        progress.state(i, "completing");
        done = await poll(statusUrl, isSettled);
      }
      if (done.status === "failed" || done.status === "expired") throw failureOf(done);
      if (!done.file) {
        throw new UploadError("INTERNAL", "the server answered without the stored file", { status: 500 });
      }
      const file = { ...done.file, serverData: (awaits ? (done.serverData ?? null) : null) as SD, statusUrl };
      progress.state(i, "complete");
      return file;
    };

    /**
     * Completes a file sent straight to the bucket, retried. A retry that finds the upload
     * already taken (409 `CONFLICT`: an earlier attempt reached the server and its answer was
     * lost) reads the status instead, which `finish` follows to the end.
     */
    const completeDirect = async (url: string, statusUrl: string, abort: AbortSignal): Promise<UploadResult> => {
      const h = await headers();
      let attempts = 0;
      try {
        return await withRetry(ctx.policy, abort, () => {
          attempts++;
          return requestJson<UploadResult>(ctx.fetch, "POST", url, h, undefined, abort);
        });
      } catch (error) {
        if (attempts < 2 || !(error instanceof UploadError) || error.code !== "CONFLICT") throw error;
        const st = await withRetry(ctx.policy, abort, () =>
          requestJson<UploadResult>(ctx.fetch, "GET", statusUrl, h, undefined, abort),
        );
        if (st.status === "pending" || st.status === "uploading") throw error;
        return st;
      }
    };

    /**
     * After an interrupted or failed PUT: the file may be stored after all (its answer was
     * lost), its URL may be unused (reuse it), or the key is spent (prepare the file again).
     */
    type Recovered = { done: UploadedFile<SD> } | { target: PreparedUpload };
    const recover = async (i: number, target: PreparedUpload, cause: unknown): Promise<Recovered> => {
      const h = await headers();
      let st: UploadResult | undefined;
      try {
        st = await withRetry(ctx.policy, signal, () =>
          requestJson<UploadResult>(ctx.fetch, "GET", target.statusUrl, h, undefined, signal),
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

    /** Send, over tus: paused and resumed in place, never started over. */
    const sendTus = async (i: number): Promise<UploadedFile<SD>> => {
      let begun = false;
      const t = new TusFile({
        endpoint: `${slugUrl}/tus`,
        slug,
        file: files[i]!,
        decl: decls[i]!,
        input,
        settings: tus,
        policy: ctx.policy,
        headers,
        onProgress: (n) => progress.bytes(i, n),
        onKey: (key) => {
          if (begun) return;
          begun = true;
          safely(() => opts.onUploadBegin?.({ index: i, name: decls[i]!.name, key }));
        },
      });
      for (;;) {
        await controls.gate();
        const release = await ctx.limiter.acquire(signal);
        if (controls.paused) {
          release();
          continue;
        }
        progress.state(i, "uploading");
        let outcome;
        try {
          outcome = await t.run(controls.pauseSignal, signal);
        } catch (e) {
          release();
          throw e instanceof UploadError && e.code !== "ABORTED" ? e.withFileIndex(i) : e;
        }
        release();
        if (outcome === "done") break;
        progress.state(i, "pending");
      }
      progress.bytes(i, files[i]!.size);
      // The status URL the server named the upload with (`Uplift-Status-Url`): its token opens
      // a private file's status.
      const statusUrl = t.statusUrl();
      // The bytes are in: wait until the server has stored the file (its record names it), and
      // on a route that awaits its hook, until the hook has answered.
      if (awaits) progress.state(i, "completing");
      const st = await poll(statusUrl, (st) => isSettled(st) || (!awaits && st.file != null));
      return await finish(i, st, statusUrl);
    };

    /**
     * Send a large file straight to the bucket in parts (prepare answered with a `multipart`
     * plan): parts in parallel, each retried; a pause drops the parts in flight and the resume
     * sends only those the bucket lacks; a cancel aborts the bucket's upload.
     */
    const sendMultipart = async (i: number, target: PreparedUpload, plan: MultipartPlan): Promise<UploadedFile<SD>> => {
      safely(() => opts.onUploadBegin?.({ index: i, name: target.name, key: target.key }));
      // A plan remembered from before a reload: ask the bucket what it has first.
      const resumed = remembered.has(i);
      try {
        for (let run = 0; ; run++) {
          await controls.gate();
          const release = await ctx.limiter.acquire(signal);
          if (controls.paused) {
            release();
            continue;
          }
          progress.state(i, "uploading");
          let outcome: "done" | "paused";
          try {
            outcome = await sendParts({
              plan,
              file: files[i]!,
              fetch: ctx.fetch,
              transport: ctx.transport,
              policy: ctx.policy,
              headers,
              signal,
              pauseSignal: controls.pauseSignal,
              resume: run > 0 || resumed,
              onProgress: (n) => progress.bytes(i, n),
            });
          } finally {
            release();
          }
          if (outcome === "done") break;
          progress.state(i, "pending");
        }
        progress.bytes(i, files[i]!.size);
        const result = await completeDirect(plan.completeUrl, target.statusUrl, signal);
        await remember(i, undefined);
        return await finish(i, result, target.statusUrl);
      } catch (error) {
        await remember(i, undefined);
        if (signal.aborted) {
          await abortParts(plan, ctx.fetch, await headers());
          throw abortError(signal);
        }
        throw error;
      }
    };

    /** Send, in one PUT: retried (after asking the status) and started over after a pause. */
    const sendPut = async (i: number): Promise<UploadedFile<SD>> => {
      let target = preparedOf(i);
      if (target.multipart) return sendMultipart(i, target, target.multipart);
      let retries = 0;
      let begun = false;
      let needsRecovery: unknown = undefined;
      for (;;) {
        await controls.gate();
        if (needsRecovery !== undefined) {
          const r = await recover(i, target, needsRecovery);
          needsRecovery = undefined;
          if ("done" in r) return r.done;
          target = r.target;
          continue;
        }
        const release = await ctx.limiter.acquire(signal);
        if (controls.paused) {
          release();
          continue;
        }
        const pauseSignal = controls.pauseSignal;
        const attempt = linkSignals(signal, pauseSignal);
        let error: unknown;
        let result: UploadResult | undefined;
        try {
          if (!begun) {
            begun = true;
            safely(() => opts.onUploadBegin?.({ index: i, name: target.name, key: target.key }));
          }
          progress.state(i, "uploading");
          const answer = await put(ctx.transport, ctx.fetch, {
            url: target.uploadUrl,
            method: target.method || "PUT",
            headers: target.headers as Record<string, string>,
            body: files[i]!,
            signal: attempt.signal,
            onProgress: (n) => progress.bytes(i, n),
          });
          if (target.completeUrl) {
            // The bytes went to the storage bucket: its answer is not ours. Then the server
            // checks what arrived and answers as its own upload URL would.
            checkBucketAnswer(answer, "put");
            result = await completeDirect(target.completeUrl, target.statusUrl, attempt.signal);
          } else {
            result = parseAnswer<UploadResult>(answer);
          }
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
        if (!isRetryable(error) || retries >= ctx.policy.retries) {
          const final = error instanceof UploadError ? error.withFileIndex(i) : error;
          // Cancel the other files before this slot goes to one of them.
          fail(final);
          release();
          throw final;
        }
        release();
        retries++;
        progress.state(i, "pending");
        await sleep(backoffDelay(ctx.policy, retries), signal);
        needsRecovery = error;
      }
    };

    // Every file runs; the first failure cancels the others (they reject with that same
    // error), and the upload settles only once nothing is in flight any more.
    const results: Array<UploadedFile<SD>> = new Array(files.length);
    const settled = await Promise.allSettled(
      files.map((_, i) =>
        (overTus[i] ? sendTus(i) : sendPut(i)).then(
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
    .finally(() => controls.dispose());

  return {
    promise,
    cancel(reason?: string) {
      controls.cancel(new UploadError("ABORTED", reason ?? "the upload was cancelled"));
    },
    pause: () => controls.pause(),
    resume: () => controls.resume(),
    get paused() {
      return controls.paused;
    },
  };
}

/**
 * Where plans of large files sent in parts are remembered between page loads (by file, route
 * and input), so that an upload a reload interrupted goes on with the parts the bucket has.
 * `localStorage` fits; values are JSON strings.
 */
export interface PartsStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** The storage key of a file's plan. */
function partsFingerprint(base: string, slug: string, decl: FileDeclaration, input: unknown): string {
  const lastModified = (decl as { lastModified?: number }).lastModified ?? "";
  return ["uplift-parts", base, slug, decl.name, decl.size, lastModified, decl.sha256, JSON.stringify(input ?? null)].join("::");
}

/** A remembered plan that can still be used: not expiring within a minute, and `pending`. */
async function recall(
  storage: PartsStorage,
  fingerprint: string,
  pending: (statusUrl: string) => Promise<boolean>,
): Promise<PreparedUpload | undefined> {
  let target: PreparedUpload | undefined;
  try {
    const raw = await storage.getItem(fingerprint);
    target = raw ? (JSON.parse(raw) as PreparedUpload) : undefined;
  } catch {
    target = undefined;
  }
  if (!target?.multipart || target.expiresAt < Date.now() + 60_000 || !(await pending(target.statusUrl))) {
    if (target) await safelyAsync(() => storage.removeItem(fingerprint));
    return undefined;
  }
  return target;
}

async function safelyAsync(f: () => void | Promise<void>): Promise<void> {
  try {
    await f();
  } catch {
    // A full or unavailable storage only costs the resume after a reload.
  }
}

/** Lowercase hex SHA-256 of a file (read whole: the files sent in one PUT). */
async function sha256Hex(file: FileInput, signal: AbortSignal): Promise<string> {
  if (signal.aborted) throw abortError(signal);
  const digest = await crypto.subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

