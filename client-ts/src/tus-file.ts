// Large files over tus 1.0 (resumable, chunked, optionally in parallel parts), through
// tus-js-client against the route's tus endpoint `POST {base}/{slug}/tus`. The route's input
// goes as the `input` metadata (JSON); the upload's key comes back in `Uplift-Key` (or is the
// last path segment of the upload URL), and the stored file and server data are read from the
// status URL the server names in `Uplift-Status-Url` (it carries the token a private file's
// status needs), like any other upload's.
//
// tus-js-client is an optional peer dependency: it is imported (dynamically) when the first
// file goes over tus, and an upload that needs it without it rejects with `TUS_UNAVAILABLE`.
// Only its types are imported statically; this module is internal (none of its types reach
// the package's public ones).

import type { DetailedError, FileReader, HttpRequest, Upload } from "tus-js-client";

import { abortError, errorFromResponse, networkError, UploadError } from "./errors.js";
import type { FileDeclaration } from "./protocol.js";
import { backoffDelay, type RetryPolicy } from "./retry.js";
import type { TusSettings } from "./tus.js";
import type { FileInput } from "./types.js";

type TusModule = typeof import("tus-js-client");
let tusModule: Promise<TusModule> | undefined;

/** tus-js-client, imported once on first use; `TUS_UNAVAILABLE` when it is not installed. */
export function loadTus(): Promise<TusModule> {
  if (!tusModule) {
    const p = tusFrom(() => import("tus-js-client"));
    tusModule = p;
    // A failure is not remembered: installing it and trying again works without a reload.
    p.catch(() => {
      if (tusModule === p) tusModule = undefined;
    });
  }
  return tusModule;
}

/** The module `load` gives, checked; a failure to load it becomes `TUS_UNAVAILABLE`. */
export async function tusFrom(load: () => Promise<unknown>): Promise<TusModule> {
  let mod: unknown;
  try {
    mod = await load();
  } catch (cause) {
    const detail = cause instanceof Error && cause.message ? ` (${cause.message})` : "";
    throw new UploadError(
      "TUS_UNAVAILABLE",
      "this file goes over tus (it has at least `tus.threshold` bytes), which needs the optional peer " +
        "dependency tus-js-client: install it (`npm install tus-js-client`), or set `tus: false` to " +
        `send every file in one PUT${detail}`,
      { cause },
    );
  }
  // Its Node build is CommonJS: `Upload` is a named export, or a property of the default one.
  const m = mod as Partial<TusModule> & { default?: Partial<TusModule> };
  const Upload = m.Upload ?? m.default?.Upload;
  if (typeof Upload !== "function") {
    throw new UploadError("TUS_UNAVAILABLE", "the module imported as tus-js-client has no `Upload` class");
  }
  return { ...m, Upload } as TusModule;
}

function isBrowser(): boolean {
  return typeof window === "object" && typeof document === "object";
}

const NodeBuffer = (globalThis as { Buffer?: { from(bytes: ArrayBuffer): Uint8Array } }).Buffer;

/** Reads a `Blob` slice by slice in Node, where tus-js-client's own reader takes only Buffers and streams. */
const blobReader: FileReader = {
  async openFile(input: Blob | Uint8Array) {
    // A part of a parallel upload arrives as the bytes a slice of the whole file gave.
    if (!(input instanceof Blob)) input = new Blob([input as Uint8Array<ArrayBuffer>]);
    return {
      size: input.size,
      async slice(start: number, end: number) {
        const stop = Math.min(end, input.size);
        const bytes = await input.slice(start, stop).arrayBuffer();
        const value = Object.assign(NodeBuffer ? NodeBuffer.from(bytes) : new Uint8Array(bytes), {
          // tus-js-client counts a slice by its `size`.
          size: bytes.byteLength,
        });
        return { value, done: stop >= input.size };
      },
      close() {},
    };
  },
};

/** What a tus transfer needs from the uploader. */
export interface TusTransfer {
  endpoint: string;
  slug: string;
  file: FileInput;
  decl: FileDeclaration;
  input: unknown;
  settings: TusSettings;
  policy: RetryPolicy;
  /** The API headers (e.g. auth), asked for at each request. */
  headers: () => Promise<Record<string, string>>;
  onProgress: (sent: number) => void;
  /** The upload resource exists: its key is known. */
  onKey: (key: string) => void;
}

/** Outcome of one run of a transfer: done, or stopped by a pause. */
export type TusRun = "done" | "paused";

/**
 * One file's tus upload, run in stretches: `run(pause)` sends until the file is complete or
 * `pause` aborts (the server keeps the bytes; the next `run` goes on from its offset); `cancel`
 * stops it and deletes the upload on the server.
 */
export class TusFile {
  private upload: Upload | undefined;
  private started = false;
  private settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  key: string | undefined;
  /** The `Uplift-Status-Url` of the last answer naming the upload (the final one, for parallel parts). */
  private status: string | undefined;
  /** The `Uplift-Server-Data` header of the final PATCH (base64url JSON), if any. */
  serverDataHeader: string | undefined;

  constructor(private readonly t: TusTransfer) {}

  /** The tus-js-client upload, made on the first run (which imports tus-js-client). */
  private async made(): Promise<Upload> {
    if (this.upload) return this.upload;
    const { Upload } = await loadTus();
    const t = this.t;
    const metadata: Record<string, string> = { filename: t.decl.name, filetype: t.decl.type };
    if (t.input !== undefined) metadata.input = JSON.stringify(t.input);
    // Each part of a parallel upload is authorized by the route like a whole file.
    const fingerprint = [
      "uplift",
      t.slug,
      t.decl.name,
      t.decl.type,
      t.decl.size,
      t.file.lastModified ?? "",
      t.endpoint,
      JSON.stringify(t.input ?? null),
    ].join("|");
    const retryDelays = Array.from({ length: t.policy.retries }, (_, k) => backoffDelay(t.policy, k + 1));
    const upload: Upload = new Upload(t.file, {
      endpoint: t.endpoint,
      metadata,
      metadataForPartialUploads: metadata,
      chunkSize: t.settings.chunkSize,
      parallelUploads: t.settings.parallelUploads,
      retryDelays,
      storeFingerprintForResuming: t.settings.resumable,
      removeFingerprintOnSuccess: true,
      fingerprint: () => Promise.resolve(fingerprint),
      ...(t.settings.urlStorage ? { urlStorage: t.settings.urlStorage } : {}),
      ...(isBrowser() ? {} : { fileReader: blobReader }),
      onBeforeRequest: async (req: HttpRequest) => {
        for (const [k, v] of Object.entries(await t.headers())) req.setHeader(k, v);
      },
      onAfterResponse: (_req, res) => {
        const key = res.getHeader("Uplift-Key");
        if (key) this.noteKey(key);
        const status = res.getHeader("Uplift-Status-Url");
        if (status) this.status = status;
        const sd = res.getHeader("Uplift-Server-Data");
        if (sd) this.serverDataHeader = sd;
      },
      onUploadUrlAvailable: () => {
        if (upload.url && t.settings.parallelUploads <= 1) this.noteKey(keyOfUrl(upload.url));
      },
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onProgress: (sent) => t.onProgress(sent),
      onSuccess: () => this.settle?.resolve(),
      onError: (e) => this.settle?.reject(toUploadError(e)),
    });
    this.upload = upload;
    return upload;
  }

  private noteKey(key: string): void {
    if (this.key === key) return;
    this.key = key;
    this.t.onKey(key);
  }

  /** Sends until done (resolves `"done"`), paused (`"paused"`), or failed/cancelled (rejects). */
  async run(pause: AbortSignal, cancel: AbortSignal): Promise<TusRun> {
    if (cancel.aborted) throw abortError(cancel);
    if (pause.aborted) return "paused";
    const upload = await this.made();
    if (cancel.aborted) throw abortError(cancel);
    if (pause.aborted) return "paused";
    if (!this.started) {
      this.started = true;
      if (this.t.settings.resumable) {
        const previous = await upload.findPreviousUploads().catch(() => []);
        previous.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
        if (previous[0]) upload.resumeFromPreviousUpload(previous[0]);
      }
    }
    return new Promise<TusRun>((resolve, reject) => {
      const cleanup = () => {
        pause.removeEventListener("abort", onPause);
        cancel.removeEventListener("abort", onCancel);
        this.settle = undefined;
      };
      const onPause = () => {
        cleanup();
        upload.abort(false).then(
          () => resolve("paused"),
          () => resolve("paused"),
        );
      };
      const onCancel = () => {
        cleanup();
        // Stop and delete the upload on the server (and forget it); the caller is told at once.
        upload.abort(true).catch(() => {});
        reject(abortError(cancel));
      };
      this.settle = {
        resolve: () => {
          cleanup();
          resolve("done");
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      pause.addEventListener("abort", onPause, { once: true });
      cancel.addEventListener("abort", onCancel, { once: true });
      upload.start();
    });
  }

  /**
   * The upload's status URL, as the server named it in `Uplift-Status-Url` (its token opens a
   * private file's status; nothing else can stand in for it).
   */
  statusUrl(): string {
    if (this.status) return this.status;
    throw new UploadError(
      "INTERNAL",
      "the tus upload finished without an `Uplift-Status-Url` header; if the API is on another origin, " +
        "its CORS answers must expose it (`Access-Control-Expose-Headers`)",
      { status: 500 },
    );
  }
}

function keyOfUrl(url: string): string {
  const path = new URL(url, isBrowser() ? window.location.href : "http://localhost/").pathname;
  // The last segment is `{key}.{capability}` (keys have no dots).
  const id = decodeURIComponent(path.split("/").filter(Boolean).pop() ?? "");
  const dot = id.indexOf(".");
  return dot > 0 ? id.slice(0, dot) : id;
}

function toUploadError(e: Error | DetailedError): UploadError {
  if (e instanceof UploadError) return e;
  const res = (e as DetailedError).originalResponse;
  if (res) return errorFromResponse(res.getStatus(), res.getBody() ?? "");
  return networkError(e);
}
